//! Authentication tasks against a real OpenLDAP server (see slapd.rs): who
//! may log in is read into the authentication-users template, one card per
//! account; a user who leaves the group is no longer enabled; a login test
//! says allowed or denied with the reason and never repeats the password; a
//! package carries the task but not its realm.

use provisio_engine::model::{AuthTaskInput, ConnectorStatus, RunStatus, RunTrigger};
use provisio_engine::secrets::Sensitive;
use provisio_engine::Engine;
use serde_json::{json, Value};

use crate::ldap::params;
use crate::slapd::{Slapd, BASE};
use crate::support::*;

const STAFF: &str = "cn=staff,ou=groups,dc=example,dc=com";

fn person(server: &Slapd, uid: &str, password: &str) {
    server.add(&format!(
        "dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n\
         userPassword: {password}\n"
    ));
}

fn staff_login(realm: Option<&str>) -> AuthTaskInput {
    AuthTaskInput {
        name: Some("Staff login".into()),
        realm: realm.map(String::from),
        group_dn: Some(STAFF.into()),
        login_attribute: Some("uid".into()),
        ..AuthTaskInput::default()
    }
}

async fn directory(engine: &Engine, server: &Slapd) {
    engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    engine
        .create_connector(connector_input(
            &json!({"name": "Directory", "type": "ldap", "parameters": params(server, json!({})),
                    "secret_parameters": ["/bind_password"]})
            .to_string(),
        ))
        .await
        .expect("directory connector created");
}

async fn accounts(engine: &Engine) -> Vec<Value> {
    engine
        .datacards("auth_user", Some("auth_users"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| serde_json::to_value(c).unwrap()["data"].clone())
        .collect()
}

fn account<'a>(cards: &'a [Value], account: &str) -> &'a Value {
    cards
        .iter()
        .find(|c| c["account"] == account)
        .unwrap_or_else(|| panic!("no card for {account} in {cards:?}"))
}

fn secret(s: &str) -> Sensitive<String> {
    Sensitive::new(s.to_string())
}

#[tokio::test]
async fn an_authentication_task_lists_who_may_log_in_and_tests_a_login_without_repeating_the_password() {
    let server = Slapd::start();
    for uid in ["ann", "bob", "cid", "dan"] {
        person(&server, uid, &format!("{uid}-secret-pw"));
    }
    server.add(&format!(
        "dn: {STAFF}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=ann,ou=people,{BASE}\n\
         member: uid=bob,ou=people,{BASE}\nmember: uid=dan,ou=people,{BASE}\n"
    ));
    // bob is locked by an administrator (OpenLDAP's password policy).
    server.modify(&format!(
        "dn: uid=bob,ou=people,{BASE}\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n"
    ));
    let f = fresh().await;
    directory(&f.engine, &server).await;
    assert_eq!(
        f.engine.secure_access().await.unwrap(),
        ConnectorStatus::None,
        "not configured yet"
    );

    // Enabled without a realm is refused, naming what to set.
    let e = f
        .engine
        .create_auth_task(
            "Directory",
            AuthTaskInput {
                enabled: Some(true),
                ..staff_login(None)
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("realm is missing"), "{e}");
    let task = f
        .engine
        .create_auth_task("Directory", staff_login(Some("corp")))
        .await
        .unwrap();
    assert!(task.enabled && task.schedule.is_some(), "{task:?}");
    assert_eq!(f.engine.list_auth_tasks(None).await.unwrap().len(), 1);

    let run = f
        .engine
        .run_task("Directory/Staff login", RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!(
        run.status,
        RunStatus::Succeeded,
        "{:?} {:?}",
        run.extract,
        run.load
    );
    assert_eq!(
        (run.counts.fetched, run.counts.created),
        (3, 3),
        "staff only: cid is not in the group"
    );
    let cards = accounts(&f.engine).await;
    let ann = account(&cards, "ann@corp");
    assert_eq!(
        (&ann["login"], &ann["realm"], &ann["enabled"]),
        (&json!("ann"), &json!("corp"), &json!("true"))
    );
    assert_eq!(ann["dn"], format!("uid=ann,ou=people,{BASE}"));
    assert_eq!(
        account(&cards, "bob@corp")["enabled"],
        "false",
        "locked in the directory"
    );
    assert!(cards.iter().all(|c| c["login"] != "cid"));
    assert_eq!(f.engine.secure_access().await.unwrap(), ConnectorStatus::Ok);

    // The login test: allowed with the right password, denied with the reason otherwise.
    let yes = f
        .engine
        .test_login("Directory/Staff login", "ann", &secret("ann-secret-pw"))
        .await
        .unwrap();
    assert!(yes.allowed, "{yes:?}");
    assert_eq!(
        yes.dn.as_deref(),
        Some(format!("uid=ann,ou=people,{BASE}").as_str())
    );
    for (login, password, why) in [
        ("ann", "not-anns-password", "refused the password"),
        ("ann", "", "empty password"),
        ("bob", "bob-secret-pw", "disabled"),
        ("cid", "cid-secret-pw", "no user with uid=cid"),
        ("nobody", "whatever-pw", "no user with uid=nobody"),
        // A filter written into the login is a value, not a filter.
        ("*", "whatever-pw", "no user with uid=*"),
    ] {
        let verdict = f
            .engine
            .test_login("Directory/Staff login", login, &secret(password))
            .await
            .unwrap();
        assert!(!verdict.allowed, "{login}: {verdict:?}");
        assert!(verdict.reason.contains(why), "{login}: {verdict:?}");
        if !password.is_empty() {
            assert!(!format!("{verdict:?}").contains(password), "{verdict:?}");
        }
    }

    // ann leaves the group: the next run takes her login away.
    server.modify(&format!(
        "dn: {STAFF}\nchangetype: modify\ndelete: member\nmember: uid=ann,ou=people,{BASE}\n"
    ));
    let after = f
        .engine
        .run_task("Directory/Staff login", RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!((after.counts.fetched, after.counts.removed), (2, 1));
    assert_eq!(
        account(&accounts(&f.engine).await, "ann@corp")["enabled"],
        "false"
    );
    let no = f
        .engine
        .test_login("Directory/Staff login", "ann", &secret("ann-secret-pw"))
        .await
        .unwrap();
    assert!(!no.allowed && no.reason.contains("and group"), "{no:?}");

    // A connector whose own bind fails cannot answer: an error naming the DN, not a verdict.
    let mut broken = params(&server, json!({}));
    broken["bind_password"] = json!("wrong-service-password");
    f.engine
        .update_connector(
            "Directory",
            connector_input(&json!({"parameters": broken}).to_string()),
        )
        .await
        .unwrap();
    let e = f
        .engine
        .test_login("Directory/Staff login", "dan", &secret("dan-secret-pw"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("invalid credentials") && !e.contains("wrong-service-password"),
        "{e}"
    );
    let failed = f
        .engine
        .run_task("Directory/Staff login", RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(f.engine.secure_access().await.unwrap(), ConnectorStatus::Failed);
}

#[tokio::test]
async fn a_package_carries_an_authentication_task_without_its_realm() {
    let server = Slapd::start();
    person(&server, "ann", "ann-secret-pw");
    server.add(&format!(
        "dn: {STAFF}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=ann,ou=people,{BASE}\n"
    ));
    let f = fresh().await;
    directory(&f.engine, &server).await;
    f.engine
        .create_auth_task("Directory", staff_login(Some("corp-test")))
        .await
        .unwrap();
    let pkg = f.dir.path().join("directory.zip");
    let password = secret("correct horse battery staple");
    f.engine.export_package(&pkg, &password, None).await.unwrap();
    let bytes = std::fs::read(&pkg).unwrap();
    assert!(!bytes.windows(9).any(|w| w == b"corp-test"));

    let prod = Engine::open(&f.dir.path().join("prod")).await.unwrap();
    prod.set_settings(&[("environment_type".into(), "prod".into())])
        .await
        .unwrap();
    prod.import_package(&pkg, &password, false).await.unwrap();
    let imported = prod.auth_task("Directory/Staff login").await.unwrap();
    assert_eq!(imported.realm.as_deref(), Some(""));
    assert_eq!(imported.enabled, Some(false));
    assert_eq!(imported.group_dn.as_deref(), Some(STAFF));
    // Run by hand before the realm is set: refused, naming what to set.
    let e = prod
        .run_task("Directory/Staff login", RunTrigger::Manual, false)
        .await
        .map(|r| format!("{:?} {:?}", r.status, r.extract))
        .unwrap_or_else(|e| e.to_string());
    assert!(e.contains("has no realm"), "{e}");

    prod.update_auth_task(
        "Directory/Staff login",
        AuthTaskInput {
            enabled: Some(true),
            ..staff_login(Some("corp"))
        },
    )
    .await
    .unwrap();
    let run = prod
        .run_task("Directory/Staff login", RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.extract);
    assert_eq!(account(&accounts(&prod).await, "ann@corp")["login"], "ann");

    // Importing again keeps the realm set here.
    prod.import_package(&pkg, &password, false).await.unwrap();
    let again = prod.auth_task("Directory/Staff login").await.unwrap();
    assert_eq!(again.realm.as_deref(), Some("corp"));
}
