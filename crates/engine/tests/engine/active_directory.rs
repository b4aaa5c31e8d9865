//! Active Directory's specifics, against slapd carrying a small test schema
//! with AD's attributes (`objectGUID`, `uSNChanged`, `userAccountControl`,
//! `sAMAccountName`, `unicodePwd`) and a root entry with
//! `highestCommittedUSN` and `dnsHostName` (see slapd.rs). What only a real
//! AD shows (the server maintaining `uSNChanged` itself, `objectCategory`,
//! password complexity) is listed in docs/directory-connector.md.

use base64::Engine as _;
use provisio_engine::model::{AuthTaskInput, RunStatus, RunTrigger};
use serde_json::{json, Value};

use crate::ldap::{by_uid, directory_templates, params, users};
use crate::slapd::{Slapd, BASE, WRITER};
use crate::support::*;

const AD_USERS: &str = "(objectClass=adUser)";

fn guid(n: u8) -> [u8; 16] {
    // 0xff bytes: never valid UTF-8, so the value arrives as binary, as AD's does.
    [
        n, 0xff, 0x10, 0x20, 0x30, 0xff, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0, n,
    ]
}

fn guid_text(n: u8) -> String {
    let b = guid(n);
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

fn ad_user(server: &Slapd, sam: &str, n: u8, usn: u64, uac: u32) {
    server.add(&format!(
        "dn: cn={sam},ou=people,{BASE}\nobjectClass: inetOrgPerson\nobjectClass: adUser\ncn: {sam}\nsn: {sam}\n\
         sAMAccountName: {sam}\nobjectGUID:: {}\nuSNChanged: {usn}\nuserAccountControl: {uac}\nuserPassword: {sam}-pw\n",
        base64::engine::general_purpose::STANDARD.encode(guid(n))
    ));
}

fn ad_params(server: &Slapd, extra: Value) -> Value {
    let mut p = params(
        server,
        json!({"directory_kind": "active_directory", "user_filter": AD_USERS}),
    );
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

async fn ad_directory(f: &Fixture, server: &Slapd, extra: Value) {
    directory_templates(f).await;
    f.engine
        .create_connector(connector_input(
            &json!({"name": "AD", "type": "ldap", "parameters": ad_params(server, extra),
                    "secret_parameters": ["/bind_password"]})
            .to_string(),
        ))
        .await
        .expect("AD connector created");
}

#[tokio::test]
async fn active_directory_reads_guids_as_text_asks_only_for_higher_usns_and_a_new_server_reads_all() {
    let mut server = Slapd::start_ad(100, "dc1.example.com");
    ad_user(&server, "ann", 1, 90, 512);
    ad_user(&server, "bob", 2, 95, 512);
    let f = fresh().await;
    ad_directory(&f, &server, json!({})).await;
    f.engine
        .create_task(
            "AD",
            task_input(
                &json!({"name": "Users", "usage": "scheduled", "run_type": "incremental", "schedule": "0 0 2 * * *",
                    "object_id_attribute": "objectGUID", "target_template": "directory_user",
                    "target_folder": "directory_users", "task_id_attribute": "taskid",
                    "mappings": [{"source": "objectGUID", "target": "uuid"}, {"source": "sAMAccountName", "target": "uid"},
                                 {"source": "sn", "target": "last_name"}]})
                .to_string(),
            ),
        )
        .await
        .unwrap();
    let run = |f: &Fixture| {
        let engine = f.engine.clone();
        async move {
            let r = engine
                .run_task("AD/Users", RunTrigger::Manual, false)
                .await
                .unwrap();
            assert_eq!(r.status, RunStatus::Succeeded, "{:?} {:?}", r.extract, r.load);
            r
        }
    };
    let first = run(&f).await;
    assert_eq!(first.counts.created, 2);
    let cards = users(&f).await;
    assert_eq!(
        by_uid(&cards, "ann")["uuid"],
        guid_text(1),
        "objectGUID as its canonical text"
    );

    // bob changes and cid arrives above the mark (100); ann changes with a
    // lower number, which only a read that ignores the mark would see.
    server.modify(&format!(
        "dn: cn=bob,ou=people,{BASE}\nchangetype: modify\nreplace: sn\nsn: Bergman\n-\nreplace: uSNChanged\nuSNChanged: 101\n"
    ));
    ad_user(&server, "cid", 3, 102, 512);
    server.modify(&format!(
        "dn: cn=ann,ou=people,{BASE}\nchangetype: modify\nreplace: sn\nsn: Andersson\n"
    ));
    server.set_root(102, "dc1.example.com");
    let second = run(&f).await;
    assert_eq!(
        (
            second.counts.fetched,
            second.counts.created,
            second.counts.updated
        ),
        (2, 1, 1),
        "only uSNChanged > 100"
    );
    let cards = users(&f).await;
    assert_eq!(by_uid(&cards, "bob")["last_name"], "Bergman");
    assert_eq!(by_uid(&cards, "ann")["last_name"], "ann", "not asked for");

    // Another domain controller's numbers mean nothing: everything is read.
    server.set_root(103, "dc2.example.com");
    let third = run(&f).await;
    assert_eq!(third.counts.fetched, 3);
    assert_eq!(by_uid(&users(&f).await, "ann")["last_name"], "Andersson");
}

#[tokio::test]
async fn active_directory_accounts_are_disabled_by_user_account_control_and_a_password_never_travels_in_clear(
) {
    let server = Slapd::start_ad(100, "dc1.example.com");
    ad_user(&server, "ann", 1, 90, 512);
    ad_user(&server, "bob", 2, 91, 514);
    let f = fresh().await;
    ad_directory(
        &f,
        &server,
        json!({"bind_dn": WRITER, "bind_password": server.writer_password}),
    )
    .await;
    f.engine
        .add_template(
            provisio_engine::jsonc::from_str(
                r#"{"code": "ad_account", "name": "AD account", "attributes": [{"code": "dn"}, {"code": "password"}],
                    "folders": [{"code": "ad_accounts"}]}"#,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    for (name, operation, maps) in [
        ("Disable", "disable", vec![("dn", "dn")]),
        ("Enable", "enable", vec![("dn", "dn")]),
        (
            "Reset",
            "reset_password",
            vec![("dn", "dn"), ("password", "password")],
        ),
    ] {
        let mappings: Vec<Value> = maps
            .iter()
            .map(|(t, s)| json!({"target": t, "source": s}))
            .collect();
        f.engine
            .create_task(
                "AD",
                task_input(
                    &json!({"name": name, "usage": "event", "directory_operation": operation,
                        "target_template": "ad_account", "target_folder": "ad_accounts", "mappings": mappings})
                    .to_string(),
                ),
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let ann = format!("cn=ann,ou=people,{BASE}");
    let invoke = |task: &'static str, values: Value| {
        let engine = f.engine.clone();
        async move {
            engine
                .invoke_event(&format!("AD/{task}"), &values, Some("leaver"))
                .await
                .unwrap()
        }
    };
    // Disabling sets the account-disabled bit and keeps the others.
    let r = invoke("Disable", json!({"dn": ann})).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.load);
    assert_eq!(
        server.values(&ann, "userAccountControl"),
        Some(vec!["514".to_string()])
    );
    let r = invoke("Enable", json!({"dn": ann})).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.load);
    assert_eq!(
        server.values(&ann, "userAccountControl"),
        Some(vec!["512".to_string()])
    );

    // AD takes a new password only over an encrypted connection: over plain LDAP it is never sent.
    let r = invoke("Reset", json!({"dn": ann, "password": "N3w-Secret-pw"})).await;
    assert_eq!(r.status, RunStatus::Failed);
    let why = format!("{:?} {:?}", r.extract, r.load);
    assert!(
        why.contains("encrypted connection") && !why.contains("N3w-Secret-pw"),
        "{why}"
    );
    assert_eq!(server.values(&ann, "unicodePwd"), Some(vec![]));

    // An authentication task logs users in by sAMAccountName; bob's disabled bit keeps him out.
    f.engine
        .create_auth_task(
            "AD",
            AuthTaskInput {
                name: Some("Logins".into()),
                realm: Some("corp".into()),
                login_attribute: Some("sAMAccountName".into()),
                ..AuthTaskInput::default()
            },
        )
        .await
        .unwrap();
    let r = f
        .engine
        .run_task("AD/Logins", RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    let accounts: Vec<Value> = f
        .engine
        .datacards("auth_user", Some("auth_users"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| serde_json::to_value(c).unwrap()["data"].clone())
        .collect();
    let enabled = |account: &str| {
        accounts
            .iter()
            .find(|c| c["account"] == account)
            .map(|c| c["enabled"].clone())
    };
    assert_eq!(enabled("ann@corp"), Some(json!("true")));
    assert_eq!(enabled("bob@corp"), Some(json!("false")));
    let verdict = f
        .engine
        .test_login(
            "AD/Logins",
            "bob",
            &provisio_engine::secrets::Sensitive::new("bob-pw".into()),
        )
        .await
        .unwrap();
    assert!(
        !verdict.allowed && verdict.reason.contains("disabled"),
        "{verdict:?}"
    );
    let verdict = f
        .engine
        .test_login(
            "AD/Logins",
            "ann",
            &provisio_engine::secrets::Sensitive::new("ann-pw".into()),
        )
        .await
        .unwrap();
    assert!(verdict.allowed, "{verdict:?}");
}
