use crate::support::*;
use provisio_engine::model::TaskUsage;

#[tokio::test]
async fn a_valid_task_is_saved_with_a_generated_id() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    let t = f.engine.create_task("HR", daily_task()).await.unwrap();
    assert_eq!(t.id.len(), 36);
    assert_eq!(t.connector_name, "HR");
    assert_eq!(t.heartbeat_timeout, 300);
    assert_eq!(f.engine.task("HR/Daily").await.unwrap().id, t.id);
    assert_eq!(f.engine.task(&t.id).await.unwrap().timezone, "Europe/Helsinki");
}

#[tokio::test]
async fn a_task_without_target_folder_fails_naming_it() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    let mut input = daily_task();
    input.target_folder = None;
    let e = f.engine.create_task("HR", input).await.unwrap_err();
    assert_eq!(e.to_string(), "missing mandatory fields: target_folder");
}

#[tokio::test]
async fn every_missing_field_is_listed_at_once() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    let e = f.engine.create_task("HR", task_input("{}")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "missing mandatory fields: name, schedule, object_id_attribute, target_template, target_folder, task_id_attribute, mappings"
    );
    let e = f
        .engine
        .create_task("HR", task_input(r#"{"usage": "event", "name": "Disable"}"#))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "missing mandatory fields: target_template, target_folder, mappings"
    );
}

#[tokio::test]
async fn a_mapping_to_an_attribute_the_template_lacks_fails_naming_it() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    let mut input = daily_task();
    input
        .mappings
        .as_mut()
        .unwrap()
        .push(provisio_engine::model::Mapping {
            source: "shoe".into(),
            target: "shoe_size".into(),
        });
    let e = f.engine.create_task("HR", input).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "mappings: attribute 'shoe_size' does not exist in template 'person'"
    );
    assert!(f.engine.list_tasks(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn references_to_the_template_are_checked() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    type Change = Box<dyn Fn(&mut provisio_engine::model::TaskInput)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|t| t.target_folder = Some("groups".into())),
         "target_folder: folder 'groups' does not accept template 'person' (it accepts: group)"),
        (Box::new(|t| t.target_template = Some("people".into())),
         "target_template: template 'people' does not exist in target 'local'"),
        (Box::new(|t| t.target_folder = Some("nowhere".into())),
         "target_folder: folder 'nowhere' does not exist in target 'local'"),
        (Box::new(|t| t.task_id_attribute = Some("task".into())),
         "task_id_attribute: attribute 'task' does not exist in template 'person'"),
        (Box::new(|t| t.removal.as_mut().unwrap().removed_value = "gone".into()),
         "removal.removed_value: 'gone' is not an allowed value of 'accountStatus' (allowed: 1 - Active, 2 - Disabled, 5 - Removed)"),
        (Box::new(|t| t.object_id_attribute = Some("guid".into())),
         "object_id_attribute: 'guid' must also be mapped to a template attribute; cards are matched by the value it maps to"),
        (Box::new(|t| t.schedule = Some("0 2 * * *".into())),
         "schedule: '0 2 * * *' has 5 fields; write a cron expression with seconds first, e.g. '0 0 2 * * *' for daily at 02:00"),
        (Box::new(|t| t.timezone = Some("Mars/Olympus".into())),
         "timezone: 'Mars/Olympus' is not an IANA time zone name (e.g. 'UTC', 'Europe/Helsinki')"),
    ];
    for (change, expected) in cases {
        let mut input = daily_task();
        change(&mut input);
        let e = f.engine.create_task("HR", input).await.unwrap_err();
        assert_eq!(e.to_string(), expected);
    }
}

#[tokio::test]
async fn task_names_are_unique_within_a_connector_only() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    connector(&f.engine, "AD").await;
    f.engine.create_task("HR", daily_task()).await.unwrap();
    f.engine.create_task("AD", daily_task()).await.unwrap();
    let e = f.engine.create_task("HR", daily_task()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "task named 'HR/Daily' already exists; choose another name"
    );
}

#[tokio::test]
async fn task_names_are_immutable_and_copies_get_new_names() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    let t = f.engine.create_task("HR", daily_task()).await.unwrap();
    let mut renamed = daily_task();
    renamed.name = Some("Nightly".into());
    let e = f.engine.update_task("HR/Daily", renamed).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "name cannot be changed after creation (it is 'Daily')"
    );

    let mut changed = daily_task();
    changed.schedule = Some("0 30 3 * * *".into());
    let updated = f.engine.update_task("HR/Daily", changed).await.unwrap();
    assert_eq!(updated.task.id, t.id);
    assert_eq!(updated.task.schedule.as_deref(), Some("0 30 3 * * *"));

    let copy = f.engine.copy_task("HR/Daily", None).await.unwrap();
    assert_eq!(copy.name, "Daily (copy)");
    assert_ne!(copy.id, t.id);
    let e = f
        .engine
        .copy_task("HR/Daily", Some("Daily (copy)"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "task named 'HR/Daily (copy)' already exists; choose another name"
    );
}

fn event_task(callers: &[&str]) -> provisio_engine::model::TaskInput {
    let mut t = task_input(
        r#"{"name": "Disable user", "usage": "event", "target_template": "person", "target_folder": "persons",
            "mappings": [{"source": "sAMAccountName", "target": "employee_id"}]}"#,
    );
    t.declared_callers = callers.iter().map(|c| c.to_string()).collect();
    t
}

#[tokio::test]
async fn an_event_task_in_use_refuses_removal_without_force() {
    let f = fresh().await;
    connector(&f.engine, "AD").await;
    let t = f.engine.create_task("AD", event_task(&[])).await.unwrap();
    assert_eq!(t.usage, TaskUsage::Event);
    f.engine
        .record_caller(&t.id, "Offboarding workflow")
        .await
        .unwrap();
    f.engine
        .record_caller(&t.id, "Offboarding workflow")
        .await
        .unwrap();
    let shown = f.engine.task("AD/Disable user").await.unwrap();
    assert_eq!(shown.references.len(), 1);
    assert_eq!(shown.references[0].count, 2);

    let e = f.engine.remove_task("AD/Disable user", false).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "task 'AD/Disable user' is in use by workflows: Offboarding workflow; removing it anyway breaks those callers"
    );
    assert_eq!(e.remedy(), Some(&provisio_engine::error::Remedy::Force));
    let e = f.engine.remove_connector("AD", false).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("Disable user (used by Offboarding workflow)"),
        "{e}"
    );
    assert!(f.engine.task(&t.id).await.is_ok());
    f.engine.remove_task("AD/Disable user", true).await.unwrap();
    assert!(f.engine.task(&t.id).await.is_err());
}

#[tokio::test]
async fn declared_callers_also_make_a_task_in_use() {
    let f = fresh().await;
    connector(&f.engine, "AD").await;
    f.engine
        .create_task("AD", event_task(&["Joiner workflow"]))
        .await
        .unwrap();
    assert!(f.engine.remove_task("AD/Disable user", false).await.is_err());
    let mut change = event_task(&[]);
    change.usage = Some(TaskUsage::Scheduled);
    change.schedule = Some("0 0 * * * *".into());
    change.object_id_attribute = Some("sAMAccountName".into());
    change.task_id_attribute = Some("taskid".into());
    // Asked before saving (the window's Save), the same words; nothing is changed by asking.
    let before = f
        .engine
        .task_change_warnings("AD/Disable user", &change)
        .await
        .unwrap();
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(before[0].contains("breaks those callers"), "{before:?}");
    assert_eq!(
        f.engine.task("AD/Disable user").await.unwrap().usage,
        TaskUsage::Event
    );
    assert!(f
        .engine
        .task_change_warnings("AD/Disable user", &event_task(&[]))
        .await
        .unwrap()
        .is_empty());
    let update = f.engine.update_task("AD/Disable user", change).await.unwrap();
    assert_eq!(update.warnings, before);
    assert!(
        update.warnings[0].contains("breaks those callers"),
        "{:?}",
        update.warnings
    );
}
