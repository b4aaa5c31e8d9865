//! The audit of configuration changes: every change to connectors, tasks,
//! scripts, settings and tokens is recorded with the OS user, the surface
//! and the fields it changed; secrets never appear; the audit is in the
//! store, so a reopened engine still shows it.

use provisio_engine::model::{AuditObject, Surface};
use provisio_engine::Engine;

use crate::support::*;

fn fields(e: &provisio_engine::model::AuditEntry) -> Vec<String> {
    e.changes.iter().map(|c| c.field.clone()).collect()
}

#[tokio::test]
async fn every_configuration_change_is_recorded_with_who_where_and_what_and_never_a_secret() {
    let f = fresh().await;
    let engine = f.engine.clone().with_surface(Surface::Window);
    engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    library_script(&engine, "users.py").await;
    engine
        .create_connector(connector_input(
            r#"{"name": "HR", "type": "python_script", "script": "users.py",
                "parameters": {"base_url": "https://hr.example", "api_token": "tok-very-secret-1"},
                "secret_parameters": ["/api_token"]}"#,
        ))
        .await
        .unwrap();
    engine
        .update_connector(
            "HR",
            connector_input(
                r#"{"parameters": {"base_url": "https://hr2.example", "api_token": "tok-very-secret-2"},
                    "secret_parameters": ["/api_token"]}"#,
            ),
        )
        .await
        .unwrap();
    engine.create_task("HR", daily_task()).await.unwrap();
    let mut changed = daily_task();
    changed.schedule = Some("0 30 3 * * *".into());
    engine.update_task("HR/Daily", changed).await.unwrap();
    engine.copy_task("HR/Daily", Some("Nightly")).await.unwrap();
    engine.remove_task("HR/Nightly", false).await.unwrap();
    let token = engine.create_api_token("flows", &[]).await.unwrap();
    engine.revoke_api_token("flows").await.unwrap();

    // Reopened: the audit is in the store.
    let reopened = Engine::open(f.engine.data_dir()).await.unwrap();
    let all = reopened.audit(None, None, 100).await.unwrap();
    let text = serde_json::to_string(&all).unwrap();
    for secret in ["tok-very-secret-1", "tok-very-secret-2", token.token.as_str()] {
        assert!(!text.contains(secret), "a secret reached the audit: {text}");
    }
    let what: Vec<(AuditObject, &str, &str)> = all
        .iter()
        .rev()
        .map(|e| (e.object, e.name.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        what,
        [
            (AuditObject::Settings, "settings", "update"),
            (AuditObject::Script, "users.py", "add"),
            (AuditObject::Connector, "HR", "create"),
            (AuditObject::Connector, "HR", "update"),
            (AuditObject::Task, "HR/Daily", "create"),
            (AuditObject::Task, "HR/Daily", "update"),
            (AuditObject::Task, "HR/Nightly", "copy"),
            (AuditObject::Task, "HR/Nightly", "remove"),
            (AuditObject::ApiToken, "flows", "create"),
            (AuditObject::ApiToken, "flows", "revoke"),
        ]
    );
    // The account of this process, whatever the environment says.
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap()
        .stdout;
    let me = String::from_utf8(me).unwrap();
    assert!(all
        .iter()
        .all(|e| e.surface == Surface::Window && e.os_user == me.trim()));
    let update = all
        .iter()
        .find(|e| e.object == AuditObject::Connector && e.action == "update")
        .unwrap();
    let base = update
        .changes
        .iter()
        .find(|c| c.field == "parameters.base_url")
        .unwrap_or_else(|| panic!("{:?}", fields(update)));
    assert_eq!(
        (base.from.as_str(), base.to.as_str()),
        (Some("https://hr.example"), Some("https://hr2.example"))
    );
    assert!(
        update
            .changes
            .iter()
            .any(|c| c.field == "parameters/api_token" && c.to == "******** (changed)"),
        "a changed secret is said to have changed: {:?}",
        fields(update)
    );
    let schedule = all
        .iter()
        .find(|e| e.object == AuditObject::Task && e.action == "update")
        .unwrap();
    assert_eq!(fields(schedule), ["schedule"], "only what changed");
    let settings = &all[all.len() - 1];
    assert_eq!(fields(settings), ["environment_type"]);

    // Filters: by text and by date.
    let found = reopened.audit(None, Some("NIGHTLY"), 100).await.unwrap();
    assert_eq!(found.len(), 2);
    assert!(reopened
        .audit(Some("2999-01-01"), None, 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        reopened.audit(Some("2000-01-01"), None, 100).await.unwrap().len(),
        all.len()
    );
}
