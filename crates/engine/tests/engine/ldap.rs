//! The directory connector against a real OpenLDAP server on 127.0.0.1
//! (see slapd.rs): its parameter block checked at save, users and groups
//! read page by page past the server's size limit, memberships as lists,
//! entries that left the directory marked removed on a full read, only the
//! changed entries read on an incremental one (a cache clear keeps the
//! mark), a wrong password named without the password, and event tasks
//! that create, change, group, verify, lock and delete accounts.

use provisio_engine::model::{Run, RunMode, RunStatus, RunTrigger};
use serde_json::{json, Value};

use crate::slapd::{Slapd, BASE, READER, WRITER};
use crate::support::*;

pub(crate) async fn directory_templates(f: &Fixture) {
    f.engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    for template in [
        r#"{"code": "directory_user", "name": "Directory user", "attributes": [
            {"code": "uuid"}, {"code": "uid"}, {"code": "email"}, {"code": "last_name"},
            {"code": "groups", "multi_value": true}, {"code": "status"}, {"code": "taskid"}],
            "folders": [{"code": "directory_users"}]}"#,
        r#"{"code": "directory_group", "name": "Directory group", "attributes": [
            {"code": "uuid"}, {"code": "name"}, {"code": "members", "multi_value": true}, {"code": "taskid"}],
            "folders": [{"code": "directory_groups"}]}"#,
    ] {
        f.engine
            .add_template(provisio_engine::jsonc::from_str(template).unwrap())
            .await
            .unwrap();
    }
}

pub(crate) fn params(server: &Slapd, extra: Value) -> Value {
    let mut p = json!({
        "url": server.url(),
        "bind_dn": READER,
        "bind_password": server.reader_password,
        "base_dn": BASE,
        "directory_kind": "openldap",
        "page_size": 2,
    });
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

/// A directory connector `Directory` with the users task `Users` (full or incremental).
async fn directory(f: &Fixture, server: &Slapd, run_type: &str) {
    directory_templates(f).await;
    f.engine
        .create_connector(connector_input(
            &json!({"name": "Directory", "type": "ldap", "parameters": params(server, json!({})),
                    "secret_parameters": ["/bind_password"]})
            .to_string(),
        ))
        .await
        .expect("directory connector created");
    f.engine
        .create_task(
            "Directory",
            task_input(
                &json!({"name": "Users", "usage": "scheduled", "run_type": run_type, "schedule": "0 0 2 * * *",
                    "object_id_attribute": "entryUUID", "directory_objects": "users",
                    "target_template": "directory_user", "target_folder": "directory_users",
                    "task_id_attribute": "taskid",
                    "mappings": [{"source": "entryUUID", "target": "uuid"}, {"source": "uid", "target": "uid"},
                                 {"source": "mail", "target": "email"}, {"source": "sn", "target": "last_name"},
                                 {"source": "memberOf", "target": "groups"}],
                    "removal": {"status_attribute": "status", "removed_value": "removed"}})
                .to_string(),
            ),
        )
        .await
        .expect("users task created");
}

async fn run(f: &Fixture, task: &str) -> Run {
    let r = f.engine.run_task(task, RunTrigger::Manual, false).await.unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{:?} {:?}", r.extract, r.load);
    r
}

pub(crate) async fn users(f: &Fixture) -> Vec<Value> {
    f.engine
        .datacards("directory_user", Some("directory_users"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| serde_json::to_value(c).unwrap()["data"].clone())
        .collect()
}

pub(crate) fn by_uid<'a>(cards: &'a [Value], uid: &str) -> &'a Value {
    cards
        .iter()
        .find(|c| c["uid"] == uid)
        .unwrap_or_else(|| panic!("no card for {uid} in {cards:?}"))
}

#[tokio::test]
async fn a_full_read_pages_past_the_size_limit_lists_memberships_and_marks_leavers_removed() {
    let server = Slapd::start();
    for (uid, sn) in [
        ("ann", "Andersson"),
        ("bob", "Berg"),
        ("cid", "Carlsson"),
        ("dan", "Dahl"),
        ("eve", "Ek"),
    ] {
        server.add_user(uid, sn);
    }
    server.add(&format!(
        "dn: cn=admins,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: admins\n\
         member: uid=ann,ou=people,{BASE}\nmember: uid=bob,ou=people,{BASE}\n\n\
         dn: cn=staff,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=ann,ou=people,{BASE}\n"
    ));
    let f = fresh().await;
    directory(&f, &server, "full").await;

    let first = run(&f, "Directory/Users").await;
    // Five people, read two to a page although the reader may see only three per search.
    let blocked =
        std::fs::read_to_string(f.engine.run_dir(&first.id).join("blocked.txt")).unwrap_or_default();
    assert_eq!((first.counts.fetched, first.counts.created), (5, 5), "{blocked}");
    let cards = users(&f).await;
    let ann = by_uid(&cards, "ann");
    assert_eq!(ann["email"], "ann@example.com");
    let mut groups: Vec<String> = serde_json::from_value(ann["groups"].clone()).unwrap();
    groups.sort();
    assert_eq!(
        groups,
        [
            format!("cn=admins,ou=groups,{BASE}"),
            format!("cn=staff,ou=groups,{BASE}")
        ]
    );
    let cid = by_uid(&cards, "cid");
    assert!(
        cid["groups"].as_array().is_none_or(Vec::is_empty),
        "cid belongs to no group: {cid}"
    );
    assert!(
        ann["uuid"].as_str().is_some_and(|u| u.len() == 36),
        "entryUUID as the id: {ann}"
    );

    // A quiet day changes nothing; a leaver is marked removed by the next full read.
    let quiet = run(&f, "Directory/Users").await;
    assert_eq!((quiet.counts.unchanged, quiet.counts.removed), (5, 0));
    server.delete(&format!("uid=dan,ou=people,{BASE}"));
    let after = run(&f, "Directory/Users").await;
    assert_eq!((after.counts.fetched, after.counts.removed), (4, 1));
    assert_eq!(by_uid(&users(&f).await, "dan")["status"], "removed");

    // Groups come from the group filter, with their members as a list.
    f.engine
        .create_task(
            "Directory",
            task_input(
                &json!({"name": "Groups", "usage": "scheduled", "schedule": "0 0 3 * * *", "object_id_attribute": "entryUUID",
                    "directory_objects": "groups", "target_template": "directory_group",
                    "target_folder": "directory_groups", "task_id_attribute": "taskid",
                    "mappings": [{"source": "entryUUID", "target": "uuid"}, {"source": "cn", "target": "name"},
                                 {"source": "member", "target": "members"}]})
                .to_string(),
            ),
        )
        .await
        .unwrap();
    let groups_run = run(&f, "Directory/Groups").await;
    assert_eq!(groups_run.counts.created, 2);
    let cards: Vec<Value> = f
        .engine
        .datacards("directory_group", Some("directory_groups"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| serde_json::to_value(c).unwrap()["data"].clone())
        .collect();
    let admins = cards.iter().find(|c| c["name"] == "admins").unwrap();
    assert_eq!(admins["members"].as_array().map(Vec::len), Some(2), "{admins}");
}

#[tokio::test]
async fn an_incremental_read_asks_only_for_what_changed_and_a_cache_clear_keeps_the_mark() {
    let server = Slapd::start();
    for (uid, sn) in [("ann", "Andersson"), ("bob", "Berg"), ("cid", "Carlsson")] {
        server.add_user(uid, sn);
    }
    let f = fresh().await;
    directory(&f, &server, "incremental").await;
    let first = run(&f, "Directory/Users").await;
    assert_eq!((first.run_type, first.counts.created), (RunMode::Full, 3));

    server.modify(&format!(
        "dn: uid=bob,ou=people,{BASE}\nchangetype: modify\nreplace: sn\nsn: Bergman\n"
    ));
    let second = run(&f, "Directory/Users").await;
    assert_eq!(second.run_type, RunMode::Incremental);
    assert_eq!(
        second.counts.fetched, 1,
        "only the changed entry is read: {:?}",
        second.counts
    );
    assert_eq!(second.counts.updated, 1);
    assert_eq!(by_uid(&users(&f).await, "bob")["last_name"], "Bergman");

    // Clearing the data cache does not lose the mark: the next read stays small.
    f.engine.clear_cache("Directory/Users").await.unwrap();
    server.add_user("dan", "Dahl");
    let third = run(&f, "Directory/Users").await;
    assert_eq!(third.run_type, RunMode::Incremental);
    assert_eq!(
        (third.counts.fetched, third.counts.created),
        (1, 1),
        "{:?}",
        third.counts
    );
    assert_eq!(users(&f).await.len(), 4);
    assert_eq!(
        third.counts.removed, 0,
        "an incremental read never marks removals"
    );
}

#[tokio::test]
async fn a_wrong_password_fails_the_run_naming_the_dn_and_code_but_never_the_password() {
    let server = Slapd::start();
    server.add_user("ann", "Andersson");
    let f = fresh().await;
    directory(&f, &server, "full").await;
    let wrong = "not-the-reader-password-4711";
    f.engine
        .update_connector(
            "Directory",
            connector_input(
                &json!({"parameters": params(&server, json!({"bind_password": wrong})),
                        "secret_parameters": ["/bind_password"]})
                .to_string(),
            ),
        )
        .await
        .unwrap();
    let r = f
        .engine
        .run_task("Directory/Users", RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    let info = r.extract.info.clone().unwrap_or_default();
    assert!(
        info.contains(READER) && info.contains("49") && info.contains("invalid credentials"),
        "{info}"
    );
    let everything = format!(
        "{}\n{}",
        serde_json::to_string(&r).unwrap(),
        f.engine.run_detail_log(&r.id).await.unwrap()
    );
    assert!(!everything.contains(wrong), "the password leaked: {everything}");
}

#[tokio::test]
async fn a_directory_connector_block_is_checked_at_save() {
    let f = fresh().await;
    directory_templates(&f).await;
    let e = f
        .engine
        .create_connector(connector_input(
            &json!({"name": "Bad", "type": "ldap",
                    "parameters": {"url": "http://127.0.0.1", "base_dn": BASE, "page_sise": 5,
                                   "ca_file": "/root/.ssh/id_ed25519"}})
            .to_string(),
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("must start with ldap:// or ldaps://")
            && e.contains("'page_sise' is not a directory connector parameter"),
        "{e}"
    );
}

#[tokio::test]
async fn start_tls_and_ldaps_trust_the_ca_file_from_the_connector_folder_and_refuse_an_unknown_certificate() {
    let server = Slapd::start_tls();
    server.add_user("ann", "Andersson");
    let f = fresh().await;
    directory(&f, &server, "full").await;
    let set = |extra: Value| {
        connector_input(
            &json!({"parameters": params(&server, extra), "secret_parameters": ["/bind_password"]})
                .to_string(),
        )
    };
    // The system's CAs do not know the test CA: the upgrade to TLS fails, nothing is read.
    f.engine
        .update_connector("Directory", set(json!({"start_tls": true})))
        .await
        .unwrap();
    let refused = f
        .engine
        .run_task("Directory/Users", RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!(refused.status, RunStatus::Failed);
    let why = refused.extract.info.clone().unwrap_or_default();
    assert!(
        why.contains("cannot connect") && why.contains("certificate"),
        "{why}"
    );
    assert!(users(&f).await.is_empty());

    // The test CA, put in the connector's folder and named relative to it, is trusted.
    let connector = f.engine.connector("Directory").await.unwrap();
    let folder = f.engine.connector_folder(&connector.id);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("ca.pem"), server.ca_pem()).unwrap();
    f.engine
        .update_connector("Directory", set(json!({"start_tls": true, "ca_file": "ca.pem"})))
        .await
        .unwrap();
    let r = run(&f, "Directory/Users").await;
    assert_eq!(r.counts.created, 1);
    // Test connection shows the certificate the reads trust, and warns of its near end (the test CA signs for 2 days).
    let check = f.engine.test_connector("Directory").await.unwrap();
    let cert = check.certificate.clone().expect("a certificate over StartTLS");
    assert!(
        cert.subject.contains("127.0.0.1") && cert.issuer.contains("Provisio test CA"),
        "{cert:?}"
    );
    assert!((0..=2).contains(&cert.days_left), "{cert:?}");
    assert!(
        check.warnings.iter().any(|w| w.contains("expires on")),
        "{check:?}"
    );

    // LDAPS: TLS from the first byte, the same CA file trusted.
    let mut ldaps = params(&server, json!({"ca_file": "ca.pem"}));
    ldaps["url"] = json!(server.ldaps_url());
    f.engine
        .update_connector(
            "Directory",
            connector_input(
                &json!({"parameters": ldaps, "secret_parameters": ["/bind_password"]}).to_string(),
            ),
        )
        .await
        .unwrap();
    let check = f.engine.test_connector("Directory").await.unwrap();
    assert!(check.tls.starts_with("LDAPS"), "{check:?}");
    assert!(check.certificate.is_some_and(|c| c.subject.contains("127.0.0.1")));
    assert_eq!(run(&f, "Directory/Users").await.counts.unchanged, 1);
}

/// A directory connector that binds as the writer, with the template its event tasks take values from.
async fn writing_directory(f: &Fixture, server: &Slapd) {
    directory_templates(f).await;
    f.engine
        .add_template(
            provisio_engine::jsonc::from_str(
                r#"{"code": "directory_account", "name": "Directory account", "attributes": [
                    {"code": "dn"}, {"code": "uid"}, {"code": "name"}, {"code": "last_name"}, {"code": "email"},
                    {"code": "password"}, {"code": "group"}, {"code": "is_member"},
                    {"code": "groups", "multi_value": true}],
                    "folders": [{"code": "directory_accounts"}]}"#,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    f.engine
        .create_connector(connector_input(
            &json!({"name": "Directory", "type": "ldap",
                    "parameters": params(server, json!({"bind_dn": WRITER, "bind_password": server.writer_password}))})
            .to_string(),
        ))
        .await
        .expect("directory connector created");
}

/// An event task of `Directory` doing `operation`, mapping template attribute → source attribute.
async fn event_task(f: &Fixture, name: &str, operation: &str, maps: &[(&str, &str)]) {
    let reads = operation.starts_with("verify");
    let mappings: Vec<Value> = maps
        .iter()
        .map(|(t, s)| json!({"target": t, "source": s}))
        .collect();
    f.engine
        .create_task(
            "Directory",
            task_input(
                &json!({"name": name, "usage": "event", "event_usage": if reads { "read" } else { "write" },
                    "directory_operation": operation, "target_template": "directory_account",
                    "target_folder": "directory_accounts", "mappings": mappings})
                .to_string(),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

async fn invoke(f: &Fixture, task: &str, values: Value) -> Run {
    f.engine
        .invoke_event(&format!("Directory/{task}"), &values, Some("onboarding"))
        .await
        .unwrap()
}

#[tokio::test]
async fn workflows_create_group_verify_reset_lock_and_delete_directory_accounts() {
    let server = Slapd::start();
    server.add(&format!(
        "dn: cn=staff,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: staff\nmember: {READER}\n"
    ));
    let f = fresh().await;
    writing_directory(&f, &server).await;
    let dn = format!("uid=fay,ou=people,{BASE}");
    let group = format!("cn=staff,ou=groups,{BASE}");
    event_task(
        &f,
        "Create",
        "create_user",
        &[
            ("dn", "dn"),
            ("uid", "uid"),
            ("name", "cn"),
            ("last_name", "sn"),
            ("email", "mail"),
            ("password", "password"),
        ],
    )
    .await;
    event_task(&f, "Join", "add_to_group", &[("dn", "dn"), ("group", "group_dn")]).await;
    event_task(
        &f,
        "Leave",
        "remove_from_group",
        &[("dn", "dn"), ("group", "group_dn")],
    )
    .await;
    event_task(
        &f,
        "Member?",
        "verify_membership",
        &[("dn", "dn"), ("group", "group_dn"), ("is_member", "is_member")],
    )
    .await;
    event_task(
        &f,
        "Verify",
        "verify_user",
        &[("dn", "dn"), ("email", "mail"), ("groups", "memberOf")],
    )
    .await;
    event_task(
        &f,
        "Reset",
        "reset_password",
        &[("dn", "dn"), ("password", "password")],
    )
    .await;
    event_task(&f, "Lock", "disable", &[("dn", "dn")]).await;
    event_task(&f, "Unlock", "enable", &[("dn", "dn")]).await;
    event_task(
        &f,
        "Rename",
        "update_attributes",
        &[("dn", "dn"), ("last_name", "sn")],
    )
    .await;
    event_task(&f, "Remove", "delete", &[("dn", "dn")]).await;

    let first_password = "Fay-first-pw-1";
    let created = invoke(
        &f,
        "Create",
        json!({"dn": dn, "uid": "fay", "name": "Fay F", "last_name": "Fors",
        "email": "fay@example.com", "password": first_password}),
    )
    .await;
    assert_eq!(created.status, RunStatus::Succeeded, "{:?}", created.message);
    assert_eq!(server.values(&dn, "sn"), Some(vec!["Fors".to_string()]));
    assert!(
        server.can_bind(&dn, first_password),
        "the new account logs in with its first password"
    );

    // A second create is the directory's refusal, with the DN and the code.
    let again = invoke(
        &f,
        "Create",
        json!({"dn": dn, "uid": "fay", "name": "Fay F", "last_name": "Fors"}),
    )
    .await;
    assert_eq!(again.status, RunStatus::Failed);
    let why = again.message.clone().unwrap_or_default();
    assert!(
        why.contains(&dn) && why.contains("result code 68 (entry already exists)"),
        "{why}"
    );

    // Memberships: joining twice is still one membership; the user's memberOf shows it.
    for _ in 0..2 {
        let joined = invoke(&f, "Join", json!({"dn": dn, "group": group})).await;
        assert_eq!(joined.status, RunStatus::Succeeded, "{:?}", joined.message);
    }
    assert_eq!(server.values(&dn, "memberOf"), Some(vec![group.clone()]));
    let member = invoke(&f, "Member?", json!({"dn": dn, "group": group})).await;
    assert_eq!(member.returned, Some(json!({"is_member": true})));
    let verified = invoke(&f, "Verify", json!({"dn": dn})).await;
    assert_eq!(
        verified.returned,
        Some(json!({"email": "fay@example.com", "groups": [group]})),
        "{:?}",
        verified.message
    );
    invoke(&f, "Leave", json!({"dn": dn, "group": group})).await;
    let member = invoke(&f, "Member?", json!({"dn": dn, "group": group})).await;
    assert_eq!(member.returned, Some(json!({"is_member": false})));

    // A reset: the new password works, the old one does not, and neither is ever written down.
    let new_password = "Fay-second-pw-2";
    let reset = invoke(&f, "Reset", json!({"dn": dn, "password": new_password})).await;
    assert_eq!(reset.status, RunStatus::Succeeded, "{:?}", reset.message);
    assert!(server.can_bind(&dn, new_password) && !server.can_bind(&dn, first_password));
    let missing = format!("uid=nobody,ou=people,{BASE}");
    let failed = invoke(&f, "Reset", json!({"dn": missing, "password": new_password})).await;
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(failed
        .message
        .as_deref()
        .unwrap_or_default()
        .contains("result code 32 (no such object)"));
    let mut written = String::new();
    for run in [&created, &reset, &failed] {
        written.push_str(&serde_json::to_string(run).unwrap());
        written.push_str(&f.engine.run_detail_log(&run.id).await.unwrap());
        for file in std::fs::read_dir(f.engine.run_dir(&run.id)).unwrap().flatten() {
            written.push_str(&String::from_utf8_lossy(&std::fs::read(file.path()).unwrap()));
        }
    }
    written.push_str(&format!(
        "{:?}",
        f.engine.engine_log(None, None, 10_000).await.unwrap()
    ));
    for pw in [first_password, new_password] {
        assert!(!written.contains(pw), "a password was written down");
    }

    // Locking sets the password policy's lock; unlocking takes it away.
    assert_eq!(
        invoke(&f, "Lock", json!({"dn": dn})).await.status,
        RunStatus::Succeeded
    );
    assert_eq!(
        server.values(&dn, "pwdAccountLockedTime"),
        Some(vec!["000001010000Z".to_string()])
    );
    assert_eq!(
        invoke(&f, "Unlock", json!({"dn": dn})).await.status,
        RunStatus::Succeeded
    );
    assert_eq!(server.values(&dn, "pwdAccountLockedTime"), Some(vec![]));

    assert_eq!(
        invoke(&f, "Rename", json!({"dn": dn, "last_name": "Forsman"}))
            .await
            .status,
        RunStatus::Succeeded
    );
    assert_eq!(server.values(&dn, "sn"), Some(vec!["Forsman".to_string()]));
    assert_eq!(
        invoke(&f, "Remove", json!({"dn": dn})).await.status,
        RunStatus::Succeeded
    );
    assert_eq!(server.values(&dn, "sn"), None, "the entry is gone");
    let gone = invoke(&f, "Verify", json!({"dn": dn})).await;
    assert!(
        gone.message
            .as_deref()
            .unwrap_or_default()
            .contains("there is no entry"),
        "{:?}",
        gone.message
    );
}

#[tokio::test]
async fn a_directory_event_task_must_say_what_it_does_and_map_what_that_needs() {
    let server = Slapd::start();
    let f = fresh().await;
    writing_directory(&f, &server).await;
    let save = |body: Value| {
        let f = &f;
        async move {
            f.engine
                .create_task("Directory", task_input(&body.to_string()))
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let base = json!({"name": "T", "usage": "event", "target_template": "directory_account",
        "target_folder": "directory_accounts", "mappings": [{"target": "dn", "source": "dn"}]});
    let mut none = base.clone();
    none["mappings"] = json!([{"target": "dn", "source": "dn"}]);
    assert!(save(none).await.contains("names what it does"));
    let mut reset = base.clone();
    reset["directory_operation"] = json!("reset_password");
    assert!(save(reset)
        .await
        .contains("reset_password needs the source attributes password mapped"));
    let mut verify = base.clone();
    verify["directory_operation"] = json!("verify_user");
    assert!(save(verify)
        .await
        .contains("verify_user is a read operation: set event_usage to read"));
}

#[tokio::test]
async fn test_connection_counts_what_the_filters_match_and_a_filter_matching_nothing_fails_the_run_with_an_alert(
) {
    let server = Slapd::start();
    server.add_user("ann", "Andersson");
    server.add_user("bob", "Berg");
    server.add(&format!(
        "dn: cn=admins,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: admins\nmember: uid=ann,ou=people,{BASE}\n"
    ));
    let f = fresh().await;
    directory(&f, &server, "full").await;
    let check = f.engine.test_connector("Directory").await.unwrap();
    assert_eq!((check.users, check.groups), (2, 1), "{check:?}");
    assert_eq!((check.bound_as.as_str(), check.tls.as_str()), (READER, "none"));
    assert!(
        check.warnings.iter().any(|w| w.contains("not encrypted")),
        "{check:?}"
    );
    assert_eq!(run(&f, "Directory/Users").await.counts.created, 2);

    let set = |extra: Value| {
        connector_input(
            &json!({"parameters": params(&server, extra), "secret_parameters": ["/bind_password"]})
                .to_string(),
        )
    };
    // A filter that matches nobody: the test warns, the run fails and raises an alert, no card is marked removed.
    f.engine
        .update_connector("Directory", set(json!({"user_filter": "(uid=nobody-here)"})))
        .await
        .unwrap();
    let check = f.engine.test_connector("Directory").await.unwrap();
    assert!(
        check.warnings.iter().any(|w| w.contains("matches no entry")),
        "{check:?}"
    );
    let failed = f
        .engine
        .run_task("Directory/Users", RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    let why = failed.extract.info.clone().unwrap_or_default();
    assert!(
        why.contains("matched no entry under 'dc=example,dc=com'"),
        "{why}"
    );
    assert!(users(&f).await.iter().all(|c| c["status"] != "removed"));
    let alerts = f.engine.alerts(10).await.unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a.task.starts_with("Directory/") && a.message.contains("check base_dn and the filter")),
        "{alerts:?}"
    );

    // A base that does not exist, and a wrong password, are named with what to fix.
    f.engine
        .update_connector(
            "Directory",
            set(json!({"base_dn": "ou=nowhere,dc=example,dc=com"})),
        )
        .await
        .unwrap();
    let e = f
        .engine
        .test_connector("Directory")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("'ou=nowhere,dc=example,dc=com' does not exist"), "{e}");
    f.engine
        .update_connector(
            "Directory",
            set(json!({"bind_password": "not-the-reader-password"})),
        )
        .await
        .unwrap();
    let e = f
        .engine
        .test_connector("Directory")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("check bind_dn and bind_password") && !e.contains("not-the-reader-password"),
        "{e}"
    );
}
