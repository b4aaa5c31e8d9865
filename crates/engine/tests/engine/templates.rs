use crate::support::*;

#[tokio::test]
async fn the_seeded_template_set_is_there_with_fixed_codes() {
    let f = fresh().await;
    let codes: Vec<String> = f
        .engine
        .templates(None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.code)
        .collect();
    for code in [
        "person",
        "group",
        "workperiod",
        "organization",
        "costcenter",
        "title",
        "admin_task",
        "provisioning_failure",
        "auth_user",
    ] {
        assert!(codes.contains(&code.to_string()), "{code} missing from {codes:?}");
    }
    let person = f.engine.template("person", None).await.unwrap();
    let status = person.attribute("accountStatus").unwrap();
    assert_eq!(
        status.static_values,
        ["1 - Active", "2 - Disabled", "5 - Removed"]
    );
    assert!(person.attribute("groups").unwrap().multi_value);
    assert!(person.attribute("taskid").is_some() && person.attribute("dataSourceType").is_some());
    let folders = f.engine.folders(None).await.unwrap();
    assert!(folders
        .iter()
        .any(|f| f.code == "persons" && f.templates == ["person"]));
}

#[tokio::test]
async fn users_add_templates_and_folders_and_tasks_can_load_into_them() {
    let f = fresh().await;
    let t = f
        .engine
        .add_template(
            provisio_engine::jsonc::from_str(
                r#"{"code": "laptop", "name": "Laptop",
                    "attributes": [{"code": "serial"}, {"code": "owner"}],
                    "folders": [{"code": "laptops", "name": "Laptops"}]}"#,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert!(t.attribute("taskid").is_some());
    connector(&f.engine, "CMDB").await;
    f.engine
        .create_task(
            "CMDB",
            task_input(
                r#"{"name": "Laptops", "schedule": "0 0 * * * *", "object_id_attribute": "sn",
                    "target_template": "laptop", "target_folder": "laptops", "task_id_attribute": "taskid",
                    "mappings": [{"source": "sn", "target": "serial"}]}"#,
            ),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_built_in_template_cannot_be_redefined() {
    let f = fresh().await;
    let e = f
        .engine
        .add_template(
            provisio_engine::jsonc::from_str(
                r#"{"code": "person", "name": "P", "attributes": [{"code": "a"}]}"#,
            )
            .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "code: template 'person' is built in; choose another code"
    );
    let e = f
        .engine
        .add_template(provisio_engine::jsonc::from_str(r#"{"code": "x"}"#).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "missing mandatory fields: name, attributes");
}

#[tokio::test]
async fn only_the_local_target_exists_on_a_new_installation() {
    let f = fresh().await;
    let targets = f.engine.targets().await.unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].name, "local");
    let e = f.engine.templates(Some("acme")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "target: target 'acme' does not exist (known: local)"
    );
}
