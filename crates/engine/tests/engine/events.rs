//! Read-back event tasks (issue 16): a read task's script hands the values
//! it read back through the SDK; the engine checks them against the task's
//! mappings, returns them, and writes them to a named card in one transaction.

use provisio_engine::api::CardKey;
use provisio_engine::model::{EventOutcomeKind, RunStatus};
use serde_json::json;

use crate::scripted::*;
use crate::support::*;

/// `AD/Lookup`, a read task of the bundled sample event script (which echoes what it gets).
async fn lookup(f: &Fixture, script: &str) {
    f.engine
        .create_connector(connector_input(&format!(
            r#"{{"name": "AD", "type": "python_script", "script": "{script}", "parameters": {{}}}}"#
        )))
        .await
        .unwrap();
    f.engine
        .create_task(
            "AD",
            task_input(
                r#"{"name": "Lookup", "usage": "event", "event_usage": "read",
                    "target_template": "person", "target_folder": "persons",
                    "mappings": [{"source": "sAMAccountName", "target": "employee_id"},
                                 {"source": "displayName", "target": "last_name"}]}"#,
            ),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_read_task_returns_what_its_script_read_and_writes_it_to_the_named_card() {
    let f = fresh().await;
    // A person card to write to, loaded by a scheduled task.
    let load = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        &emitting(r#"[{"id": "jdoe", "name": "Doe", "groups": []}]"#),
        "{}",
        "{}",
    )
    .await;
    run(&f.engine, &load).await;
    lookup(&f, "sample_event.py").await;

    let r = f
        .engine
        .invoke_event(
            "AD/Lookup",
            &json!({"employee_id": "jdoe", "last_name": "Doe-Read"}),
            Some("Lookup flow"),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.outcome),
        (RunStatus::Succeeded, Some(EventOutcomeKind::Completed)),
        "{:?}",
        r.message
    );
    assert_eq!(
        r.returned,
        Some(json!({"employee_id": "jdoe", "last_name": "Doe-Read"}))
    );
    let card = || async {
        f.engine.datacards("person", None, 10).await.unwrap()[0]
            .data
            .clone()
    };
    assert_eq!(card().await["last_name"], "Doe", "no card named: nothing written");

    let key = CardKey {
        attribute: "employee_id".into(),
        key: "jdoe".into(),
    };
    let r = f
        .engine
        .invoke_event_for(
            "AD/Lookup",
            &json!({"employee_id": "jdoe", "last_name": "Doe-Read"}),
            None,
            Some(&key),
        )
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.message);
    assert_eq!(card().await["last_name"], "Doe-Read");
    assert_eq!(f.engine.datacards("person", None, 10).await.unwrap().len(), 1);
    // The card's history names the invocation that wrote it, field by field.
    let id = f.engine.datacards("person", None, 10).await.unwrap()[0].id;
    let history = f.engine.datacard_history(id).await.unwrap();
    assert_eq!(
        (history[0].kind.as_str(), history[0].run_id.as_str()),
        ("update", r.id.as_str())
    );
    assert_eq!(history[0].changes.len(), 1, "{:?}", history[0]);
    assert_eq!(
        (
            history[0].changes[0].from.as_str(),
            history[0].changes[0].to.as_str()
        ),
        (Some("Doe"), Some("Doe-Read"))
    );

    // A card that does not exist is not made up.
    let nobody = CardKey {
        attribute: "employee_id".into(),
        key: "nobody".into(),
    };
    let r = f
        .engine
        .invoke_event_for(
            "AD/Lookup",
            &json!({"employee_id": "nobody"}),
            None,
            Some(&nobody),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.outcome),
        (RunStatus::Failed, Some(EventOutcomeKind::Exception))
    );
    assert_eq!(
        r.message.as_deref(),
        Some("no person card has employee_id = 'nobody'; nothing was written")
    );
    assert_eq!(f.engine.datacards("person", None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn values_the_task_does_not_map_are_refused_and_write_tasks_take_no_card() {
    let f = fresh().await;
    f.engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    let file = f.dir.path().join("odd_reader.py");
    std::fs::write(
        &file,
        "import common_subroutines_efecte_library as sdk\nsdk.return_values({'sAMAccountName': 'x', 'mobile': '123'})\n",
    )
    .unwrap();
    f.engine
        .add_script(&file, provisio_engine::script_library::ScriptKind::Event, None)
        .await
        .unwrap();
    lookup(&f, "odd_reader.py").await;
    let r = f
        .engine
        .invoke_event("AD/Lookup", &json!({}), None)
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(
        r.message.as_deref(),
        Some("the script returned 'mobile', which the task does not map")
    );
    assert_eq!(r.returned, None);

    f.engine
        .create_task(
            "AD",
            task_input(
                r#"{"name": "Disable", "usage": "event", "target_template": "person", "target_folder": "persons",
                    "mappings": [{"source": "sAMAccountName", "target": "employee_id"}]}"#,
            ),
        )
        .await
        .unwrap();
    let key = CardKey {
        attribute: "employee_id".into(),
        key: "x".into(),
    };
    let e = f
        .engine
        .invoke_event_for("AD/Disable", &json!({}), None, Some(&key))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("is a write task"), "{e}");
}

#[tokio::test]
async fn a_read_back_write_leaves_the_card_with_the_task_that_loaded_it() {
    let f = fresh().await;
    let removal = r#"{"removal": {"status_attribute": "accountStatus", "removed_value": "5 - Removed"}}"#;
    let load = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["jdoe", "asmith"]}"#,
        removal,
    )
    .await;
    assert_eq!(run(&f.engine, &load).await.counts.created, 2);
    lookup(&f, "sample_event.py").await;
    let key = CardKey {
        attribute: "employee_id".into(),
        key: "jdoe".into(),
    };
    let r = f
        .engine
        .invoke_event_for(
            "AD/Lookup",
            &json!({"employee_id": "jdoe", "last_name": "Doe-Read"}),
            None,
            Some(&key),
        )
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.message);
    let jdoe = || async {
        f.engine
            .datacards("person", None, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.data["employee_id"] == "jdoe")
            .unwrap()
            .data
    };
    assert_eq!(
        jdoe().await["last_name"],
        "Doe-Read",
        "the read values are written"
    );

    // jdoe leaves HR: the full run that loaded the card still marks it removed.
    f.engine
        .update_connector("HR", set_ids(&["asmith"]))
        .await
        .unwrap();
    let r = run(&f.engine, &load).await;
    assert_eq!(
        (r.status, r.counts.removed),
        (RunStatus::Succeeded, 1),
        "{:?}",
        r.load
    );
    assert_eq!(jdoe().await["accountStatus"], "5 - Removed");
}
