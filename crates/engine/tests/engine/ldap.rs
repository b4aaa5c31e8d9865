//! The directory connector against a real OpenLDAP server on 127.0.0.1
//! (see slapd.rs): its parameter block checked at save, users and groups
//! read page by page past the server's size limit, memberships as lists,
//! entries that left the directory marked removed on a full read, only the
//! changed entries read on an incremental one (a cache clear keeps the
//! mark), and a wrong password named without the password.

use provisio_engine::model::{Run, RunMode, RunStatus, RunTrigger};
use serde_json::{json, Value};

use crate::slapd::{Slapd, BASE, READER};
use crate::support::*;

async fn directory_templates(f: &Fixture) {
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

fn params(server: &Slapd, extra: Value) -> Value {
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

async fn users(f: &Fixture) -> Vec<Value> {
    f.engine
        .datacards("directory_user", Some("directory_users"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| serde_json::to_value(c).unwrap()["data"].clone())
        .collect()
}

fn by_uid<'a>(cards: &'a [Value], uid: &str) -> &'a Value {
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
async fn a_directory_connector_block_is_checked_at_save_and_event_tasks_are_refused() {
    let server = Slapd::start();
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
    directory(&f, &server, "full").await;
    let e = f
        .engine
        .create_task(
            "Directory",
            task_input(
                r#"{"name": "Reset", "usage": "event", "target_template": "directory_user",
                "target_folder": "directory_users", "mappings": [{"source": "uid", "target": "uid"}]}"#,
            ),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("event tasks that write to the directory are not available yet"),
        "{e}"
    );
}

#[tokio::test]
async fn start_tls_trusts_the_ca_file_from_the_connector_folder_and_refuses_an_unknown_certificate() {
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
}
