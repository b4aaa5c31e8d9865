use crate::support::*;
use provisio_engine::EngineError;

#[tokio::test]
async fn connector_ids_are_generated_and_names_unique() {
    let f = fresh().await;
    let a = connector(&f.engine, "HR").await;
    let b = connector(&f.engine, "Directory").await;
    assert_ne!(a.id, b.id);
    assert_eq!(a.id.len(), 36);
    let e = f
        .engine
        .create_connector(connector_input(
            r#"{"name": "HR", "type": "python_script", "script": "users.py"}"#,
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, EngineError::AlreadyExists { .. }));
    assert_eq!(
        e.to_string(),
        "connector named 'HR' already exists; choose another name"
    );
    assert_eq!(f.engine.list_connectors().await.unwrap().len(), 2);
}

#[tokio::test]
async fn missing_connector_fields_are_all_listed() {
    let f = fresh().await;
    let e = f
        .engine
        .create_connector(connector_input("{}"))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "missing mandatory fields: name, type");
    let e = f
        .engine
        .create_connector(connector_input(r#"{"name": "X", "type": "python_script"}"#))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "missing mandatory fields: script");
    let e = f
        .engine
        .create_connector(connector_input(r#"{"name": "X", "type": "graph"}"#))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "type: 'graph' is not a connector type; use python_script, hr_file or ldap"
    );
}

#[tokio::test]
async fn jsonc_parameters_are_stored_as_clean_json() {
    let f = fresh().await;
    let c = f
        .engine
        .create_connector(connector_input(
            r#"{ "name": "Files", "type": "hr_file",
                 "parameters": {
                    // where the export lands
                    "file_path": "/data/hr/*.csv",
                    "delimiter": ";", /* default */
                    "data_type": "title", "report_template_code": "admin_task",
                    "report_folder_code": "admin_tasks",
                 },
               }"#,
        ))
        .await
        .unwrap();
    assert_eq!(
        c.parameters,
        serde_json::json!({"file_path": "/data/hr/*.csv", "delimiter": ";", "data_type": "title",
            "report_template_code": "admin_task", "report_folder_code": "admin_tasks"})
    );
    let stored: String = sqlx::query_scalar("SELECT parameters FROM connectors WHERE id = ?")
        .bind(&c.id)
        .fetch_one(f.engine.store().pool())
        .await
        .unwrap();
    assert_eq!(
        stored,
        r#"{"file_path":"/data/hr/*.csv","delimiter":";","data_type":"title","report_template_code":"admin_task","report_folder_code":"admin_tasks"}"#
    );
}

#[tokio::test]
async fn names_and_types_cannot_change() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    let e = f
        .engine
        .update_connector("HR", connector_input(r#"{"name": "HR2"}"#))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "name cannot be changed after creation (it is 'HR')"
    );
    let e = f
        .engine
        .update_connector("HR", connector_input(r#"{"type": "hr_file"}"#))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "type cannot be changed after creation (it is 'python_script')"
    );
    let c = f
        .engine
        .update_connector(
            "HR",
            connector_input(r#"{"name": "HR", "parameters": {"base_url": "https://y.example"}}"#),
        )
        .await
        .unwrap();
    assert_eq!(c.parameters["base_url"], "https://y.example");
}

#[tokio::test]
async fn copy_gives_a_new_id_and_a_new_unique_name_with_the_tasks() {
    let f = fresh().await;
    let c = connector(&f.engine, "HR").await;
    f.engine.create_task("HR", daily_task()).await.unwrap();
    let first = f.engine.copy_connector("HR", None).await.unwrap();
    let second = f.engine.copy_connector("HR", None).await.unwrap();
    assert_eq!(first.name, "HR (copy)");
    assert_eq!(second.name, "HR (copy 2)");
    assert_ne!(first.id, c.id);
    let tasks = f.engine.list_tasks(Some("HR (copy)")).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].name, "Daily");
    let e = f
        .engine
        .copy_connector("HR", Some("HR (copy)"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "connector named 'HR (copy)' already exists; choose another name"
    );
}

#[tokio::test]
async fn removing_a_connector_removes_its_tasks() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    let t = f.engine.create_task("HR", daily_task()).await.unwrap();
    f.engine.remove_connector("HR", false).await.unwrap();
    assert!(f.engine.list_connectors().await.unwrap().is_empty());
    let e = f.engine.task(&t.id).await.unwrap_err();
    assert_eq!(e.to_string(), format!("task '{}' does not exist", t.id));
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(f.engine.store().pool())
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn secret_parameters_live_in_the_keyring_only() {
    let f = fresh().await;
    library_script(&f.engine, "a.py").await;
    let c = f
        .engine
        .create_connector(connector_input(
            r#"{"name": "API", "type": "python_script", "script": "a.py",
                "parameters": {"base_url": "u", "api_token": "tok-4471-UNIQUE", "pin": "9911-UNIQUE"},
                "secret_parameters": ["pin"]}"#,
        ))
        .await
        .expect("keyring available (run under tools/with-keyring.sh)");
    assert_eq!(c.parameters["api_token"], "********");
    assert_eq!(c.parameters["pin"], "********");
    let resolved = f.engine.resolved_parameters("API").await.unwrap();
    assert_eq!(resolved.expose()["api_token"], "tok-4471-UNIQUE");
    assert_eq!(format!("{resolved:?}"), "********");

    // Saving the masked form back keeps the stored secret.
    let shown = serde_json::to_string(&f.engine.connector("API").await.unwrap()).unwrap();
    f.engine
        .update_connector("API", connector_input(&shown))
        .await
        .unwrap();
    assert_eq!(
        f.engine.resolved_parameters("API").await.unwrap().expose()["pin"],
        "9911-UNIQUE"
    );

    // The copy has its own keyring entry with the same values.
    let copy = f.engine.copy_connector("API", None).await.unwrap();
    assert_eq!(
        f.engine.resolved_parameters(&copy.id).await.unwrap().expose()["api_token"],
        "tok-4471-UNIQUE"
    );

    f.engine.close().await;
    for entry in crate::scripted::all_files(f.dir.path()) {
        // A file gone since the listing (SQLite removing its WAL) holds no secret.
        let Ok(bytes) = std::fs::read(&entry) else {
            continue;
        };
        for needle in [&b"tok-4471-UNIQUE"[..], &b"9911-UNIQUE"[..]] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a secret value was written to {}",
                entry.display()
            );
        }
    }
}

#[tokio::test]
async fn removing_a_connector_removes_its_secrets() {
    let f = fresh().await;
    library_script(&f.engine, "a.py").await;
    f.engine
        .create_connector(connector_input(
            r#"{"name": "API", "type": "python_script", "script": "a.py", "parameters": {"password": "p-1"}}"#,
        ))
        .await
        .unwrap();
    let id = f.engine.connector("API").await.unwrap().id;
    f.engine.remove_connector("API", false).await.unwrap();
    // A new connector reusing nothing: the old entry is gone from the keyring.
    let k = provisio_engine::secrets::Keyring::new(
        f.engine
            .store()
            .meta_or_init("installation_id", String::new)
            .await
            .unwrap(),
    );
    assert!(k.connector_secrets(&id).await.unwrap().expose().is_empty());
}

#[tokio::test]
async fn a_connector_can_only_name_a_library_script_of_a_kind_its_tasks_can_use() {
    let f = fresh().await;
    let e = f
        .engine
        .create_connector(connector_input(
            r#"{"name": "API", "type": "python_script", "script": "missing.py", "parameters": {}}"#,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "script: connector 'API' names script 'missing.py', which is not in the script library; add the script first"
    );
    assert_eq!(
        e.remedy(),
        Some(&provisio_engine::error::Remedy::AddScript {
            name: "missing.py".into()
        })
    );
    assert!(
        f.engine.list_connectors().await.unwrap().is_empty(),
        "nothing was saved"
    );

    // A scheduled-only script serves scheduled tasks, not event tasks.
    let file = f.dir.path().join("nightly.py");
    std::fs::write(&file, "pass\n").unwrap();
    f.engine
        .add_script(
            &file,
            provisio_engine::script_library::ScriptKind::Scheduled,
            None,
        )
        .await
        .unwrap();
    f.engine
        .create_connector(connector_input(
            r#"{"name": "API", "type": "python_script", "script": "nightly.py", "parameters": {}}"#,
        ))
        .await
        .unwrap();
    f.engine.create_task("API", daily_task()).await.unwrap();
    let mut event = daily_task();
    event.name = Some("Disable".into());
    event.usage = Some(provisio_engine::model::TaskUsage::Event);
    let e = f.engine.create_task("API", event).await.unwrap_err().to_string();
    assert_eq!(
        e,
        "script: script 'nightly.py' is for scheduled tasks only, and connector 'API' has event tasks"
    );

    // An event-only script cannot replace it while the connector has a scheduled task.
    let file = f.dir.path().join("on_demand.py");
    std::fs::write(&file, "pass\n").unwrap();
    f.engine
        .add_script(&file, provisio_engine::script_library::ScriptKind::Event, None)
        .await
        .unwrap();
    let e = f
        .engine
        .update_connector("API", connector_input(r#"{"script": "on_demand.py"}"#))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("'on_demand.py' is for event tasks only"), "{e}");
    assert_eq!(
        f.engine.connector("API").await.unwrap().script.as_deref(),
        Some("nightly.py")
    );
}
