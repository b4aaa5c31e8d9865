//! What the desktop window reads from the engine, with real runs: the
//! connectors' status lights, the tasks' last runs, the live progress a run
//! pushes, which task wrote a card, and the schedule preview's advice.

use provisio_engine::model::{ConnectorStatus, RunStage, RunStatus, StageStatus};

use crate::scripted::*;
use crate::support::*;

const FAILING: &str =
    "import common_subroutines_efecte_library as sdk\nsdk.initialize_script()\nraise SystemExit(3)\n";

async fn status_of(f: &Fixture, name: &str) -> ConnectorStatus {
    let list = f.engine.list_connectors().await.unwrap();
    list.into_iter().find(|c| c.name == name).unwrap().status
}

#[tokio::test]
async fn the_status_lights_follow_the_runs_grey_then_green_red_and_orange() {
    let f = fresh().await;
    let ok = scripted_task(
        &f.engine,
        f.dir.path(),
        "Good",
        &emitting(r#"[{"id": "1", "name": "A", "groups": []}]"#),
        "{}",
        "{}",
    )
    .await;
    let bad = scripted_task(&f.engine, f.dir.path(), "Bad", FAILING, "{}", "{}").await;
    assert_eq!(
        status_of(&f, "Good").await,
        ConnectorStatus::Waiting,
        "nothing has run yet"
    );
    let connector_only = connector(&f.engine, "No tasks").await;
    assert_eq!(status_of(&f, &connector_only.name).await, ConnectorStatus::None);

    assert_eq!(run(&f.engine, &ok).await.status, RunStatus::Succeeded);
    assert_eq!(run(&f.engine, &bad).await.status, RunStatus::Failed);
    assert_eq!(status_of(&f, "Good").await, ConnectorStatus::Ok);
    assert_eq!(status_of(&f, "Bad").await, ConnectorStatus::Failed);

    // A second task on the good connector that is interrupted (too few rows): one of several has a problem.
    let second: provisio_engine::model::TaskInput = serde_json::from_value(serde_json::json!({
        "name": "Second", "schedule": "0 0 * * * *", "object_id_attribute": "id",
        "target_template": "person", "target_folder": "persons", "task_id_attribute": "taskid",
        "mappings": [{"source": "id", "target": "employee_id"}],
        "limits": {"minimum_row_count": 10},
    }))
    .unwrap();
    f.engine.create_task("Good", second).await.unwrap();
    let interrupted = run(&f.engine, "Good/Second").await;
    assert_eq!(interrupted.status, RunStatus::Interrupted);
    assert_eq!(status_of(&f, "Good").await, ConnectorStatus::Warning);

    let tasks = f.engine.list_tasks(Some("Good")).await.unwrap();
    let load = tasks
        .iter()
        .find(|t| t.name == "Load")
        .unwrap()
        .last_run
        .clone()
        .unwrap();
    assert_eq!(
        (load.status, load.extract, load.load),
        (
            RunStatus::Succeeded,
            Some(StageStatus::Succeeded),
            Some(StageStatus::Succeeded)
        )
    );
    assert_eq!(load.fetched, 1);
}

#[tokio::test]
async fn a_run_pushes_its_stages_and_counts_to_listeners_and_ends_with_its_status() {
    let f = fresh().await;
    let records = "[{'id': str(i), 'name': 'N%d' % i, 'groups': ['g']} for i in range(30000)]";
    let task = scripted_task(&f.engine, f.dir.path(), "Many", &emitting(records), "{}", "{}").await;
    let mut progress = f.engine.subscribe_progress();
    let ran = run(&f.engine, &task).await;
    assert_eq!(ran.status, RunStatus::Succeeded);
    let mut seen = Vec::new();
    while let Ok(p) = progress.try_recv() {
        seen.push(p);
    }
    assert!(seen.iter().all(|p| p.run_id == ran.id && p.task == "Many/Load"));
    assert!(
        seen.iter().any(|p| p.stage == Some(RunStage::Extract)),
        "{seen:?}"
    );
    let last = seen.last().expect("progress messages");
    assert_eq!(
        (last.status, last.records_read, last.records_loaded),
        (RunStatus::Succeeded, 30_000, 30_000)
    );
    // Counts only grow.
    assert!(seen
        .windows(2)
        .all(|w| w[0].records_read <= w[1].records_read && w[0].records_loaded <= w[1].records_loaded));
}

#[tokio::test]
async fn a_card_names_the_task_that_wrote_it_and_the_preview_weighs_recent_runs() {
    let f = fresh().await;
    let records = "[{'id': str(i), 'name': 'N%d' % i, 'groups': ['g']} for i in range(3000)]";
    let task = scripted_task(&f.engine, f.dir.path(), "HR", &emitting(records), "{}", "{}").await;
    run(&f.engine, &task).await;
    let id = f.engine.task(&task).await.unwrap().id;
    let cards = f.engine.datacards("person", Some("persons"), 5).await.unwrap();
    assert_eq!(cards.len(), 5);
    assert!(cards.iter().all(|c| c.task.as_deref() == Some(id.as_str())));

    // 3,000 records, full, every 10 minutes: the seed's table says every 4 hours.
    let p = f
        .engine
        .schedule_preview(
            "0 */10 * * * *",
            "UTC",
            provisio_engine::model::RunType::Full,
            Some(&task),
        )
        .await
        .unwrap();
    assert_eq!(p.next.len(), 5);
    assert!(p.warning.unwrap().contains("every 4 hours"));
    let p = f
        .engine
        .schedule_preview(
            "0 0 2 * * *",
            "UTC",
            provisio_engine::model::RunType::Full,
            Some(&task),
        )
        .await
        .unwrap();
    assert_eq!(p.warning, None);
}
