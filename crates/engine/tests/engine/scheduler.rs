//! The scheduler with an injected clock: no test here waits for wall time
//! to pass for a schedule. Runs are real (python3 scripts); a script that
//! must stay "running" waits for a release file the test writes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use provisio_engine::model::RunStatus;
use provisio_engine::scheduler::{ManualClock, Scheduler};
use provisio_engine::Engine;

use crate::scripted::*;
use crate::support::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Waits until the file `release` exists (the test decides when a run ends).
const HELD: &str = r#"import json, os, time
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
release = a["connector_parameters"]["release"]
while not os.path.exists(release):
    time.sleep(0.02)
    sdk.update_heartbeat(a["heartbeat_filename"])
with open(a["expected_output_filename"], "w") as f:
    json.dump([{"id": "1", "name": "n", "groups": []}], f)
"#;

async fn held_task(f: &Fixture, name: &str, schedule: &str) -> (String, std::path::PathBuf) {
    let release = f.dir.path().join(format!("release-{name}"));
    let params = format!(r#"{{"release": "{}"}}"#, release.display());
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        name,
        HELD,
        &params,
        &format!(r#"{{"schedule": "{schedule}"}}"#),
    )
    .await;
    (task, release)
}

async fn statuses(f: &Fixture, task: &str) -> Vec<RunStatus> {
    f.engine
        .history(task, 100)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|r| r.status)
        .collect()
}

async fn settle(s: &mut Scheduler<Engine>, until: impl Fn(&Scheduler<Engine>) -> bool) {
    for _ in 0..600 {
        s.tick().await.unwrap();
        if until(s) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the scheduler did not settle");
}

#[tokio::test]
async fn a_due_task_runs_and_a_due_time_during_its_run_is_skipped_and_recorded() {
    let f = fresh().await;
    let (task, release) = held_task(&f, "Hourly", "0 0 * * * *").await;
    let clock = Arc::new(ManualClock::new(utc("2026-05-01T09:59:59Z")));
    let mut s = Scheduler::new(f.engine.clone(), clock.clone());
    let report = s.tick().await.unwrap();
    assert!(report.started.is_empty());
    clock.set(utc("2026-05-01T10:00:00Z"));
    let report = s.tick().await.unwrap();
    assert_eq!(report.started.len(), 1);
    clock.set(utc("2026-05-01T11:00:00Z"));
    let report = s.tick().await.unwrap();
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    std::fs::write(&release, "").unwrap();
    settle(&mut s, |s| s.running().is_empty()).await;
    let history = f.engine.history(&task, 10).await.unwrap();
    let skipped = history.iter().find(|r| r.status == RunStatus::Skipped).unwrap();
    assert_eq!(skipped.planned_at.as_deref(), Some("2026-05-01T11:00:00.000Z"));
    assert_eq!(
        skipped.extract.info.as_deref(),
        Some("skipped: the previous run of this task was still going")
    );
    let ran = history.iter().find(|r| r.status == RunStatus::Succeeded).unwrap();
    assert_eq!(ran.planned_at.as_deref(), Some("2026-05-01T10:00:00.000Z"));
    assert_eq!(ran.trigger, provisio_engine::model::RunTrigger::Schedule);
}

#[tokio::test]
async fn no_more_than_workers_runs_at_once_and_the_rest_wait_their_turn() {
    let f = fresh().await;
    f.engine
        .set_settings(&[("workers".into(), "2".into())])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for name in ["A", "B", "C", "D", "E"] {
        tasks.push(held_task(&f, name, "0 30 * * * *").await);
    }
    let clock = Arc::new(ManualClock::new(utc("2026-05-01T10:29:00Z")));
    let mut s = Scheduler::new(f.engine.clone(), clock.clone());
    s.tick().await.unwrap();
    clock.set(utc("2026-05-01T10:30:00Z"));
    let report = s.tick().await.unwrap();
    assert_eq!(report.queued.len(), 5);
    assert_eq!(report.started.len(), 2);
    assert_eq!(s.queued(), 3);
    // Release one at a time; never more than two run, and the queue drains in order.
    for (_, release) in &tasks {
        std::fs::write(release, "").unwrap();
    }
    let mut max_running = 0;
    for _ in 0..600 {
        s.tick().await.unwrap();
        max_running = max_running.max(s.running().len());
        if s.running().is_empty() && s.queued() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(max_running <= 2);
    for (task, _) in &tasks {
        assert_eq!(statuses(&f, task).await, [RunStatus::Succeeded], "{task}");
    }
}

#[tokio::test]
async fn edits_take_effect_without_a_restart() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1"]}"#,
        r#"{"schedule": "0 0 3 * * *"}"#,
    )
    .await;
    let clock = Arc::new(ManualClock::new(utc("2026-05-01T10:00:00Z")));
    let mut s = Scheduler::new(f.engine.clone(), clock.clone());
    s.tick().await.unwrap();
    let id = f.engine.task(&task).await.unwrap().id;
    assert_eq!(s.agenda().next(&id), Some(utc("2026-05-02T03:00:00Z")));
    let mut edit = editable_task(&f.engine, &task).await;
    edit["schedule"] = "0 15 10 * * *".into();
    f.engine
        .update_task(&task, serde_json::from_value(edit.clone()).unwrap())
        .await
        .unwrap();
    s.tick().await.unwrap();
    assert_eq!(s.agenda().next(&id), Some(utc("2026-05-01T10:15:00Z")));
    edit["enabled"] = false.into();
    f.engine
        .update_task(&task, serde_json::from_value(edit).unwrap())
        .await
        .unwrap();
    s.tick().await.unwrap();
    assert_eq!(s.agenda().next(&id), None);
    clock.set(utc("2026-05-01T10:15:00Z"));
    assert!(s.tick().await.unwrap().queued.is_empty());
}

#[tokio::test]
async fn caches_are_cleared_at_the_configured_utc_hours() {
    let f = fresh().await;
    f.engine
        .set_settings(&[("cache_clear_hours".into(), "6,12".into())])
        .await
        .unwrap();
    // Scheduled once a year, so only the test's own runs happen.
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1"]}"#,
        r#"{"schedule": "0 0 0 1 1 *"}"#,
    )
    .await;
    run(&f.engine, &task).await;
    let id = f.engine.task(&task).await.unwrap().id;
    assert!(f
        .engine
        .store()
        .cache(&id)
        .await
        .unwrap()
        .is_some_and(|c| !c.entries.is_empty()));
    let clock = Arc::new(ManualClock::new(utc("2026-05-01T05:59:59Z")));
    let mut s = Scheduler::new(f.engine.clone(), clock.clone());
    // Starting the scheduler (the engine's start) clears every cache, as the manual says.
    assert!(s.tick().await.unwrap().caches_cleared);
    assert!(f
        .engine
        .store()
        .cache(&id)
        .await
        .unwrap()
        .is_none_or(|c| c.entries.is_empty()));
    // The cleared cache makes the run compare its record with the card: an edit by hand is set back.
    edit_card_by_hand(&f.engine, "1", "last_name", "Edited");
    assert_eq!(
        run(&f.engine, &task).await.counts.updated,
        1,
        "written again after the start"
    );
    assert!(!s.tick().await.unwrap().caches_cleared);
    assert!(f
        .engine
        .store()
        .cache(&id)
        .await
        .unwrap()
        .is_some_and(|c| !c.entries.is_empty()));
    clock.set(utc("2026-05-01T06:00:00Z"));
    assert!(s.tick().await.unwrap().caches_cleared);
    assert!(f
        .engine
        .store()
        .cache(&id)
        .await
        .unwrap()
        .is_none_or(|c| c.entries.is_empty()));
    // The next run behaves as a first run: every record is compared with its card again.
    edit_card_by_hand(&f.engine, "1", "last_name", "Edited");
    assert_eq!(run(&f.engine, &task).await.counts.updated, 1);
    clock.set(utc("2026-05-01T11:59:00Z"));
    assert!(!s.tick().await.unwrap().caches_cleared);
    clock.set(utc("2026-05-01T12:00:00Z"));
    assert!(s.tick().await.unwrap().caches_cleared);
}

#[tokio::test]
async fn history_beyond_retention_is_pruned_with_its_files() {
    let f = fresh().await;
    f.engine
        .set_settings(&[("retention_runs".into(), "2".into())])
        .await
        .unwrap();
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1"]}"#,
        "{}",
    )
    .await;
    let mut runs = Vec::new();
    for _ in 0..4 {
        runs.push(run(&f.engine, &task).await);
    }
    let oldest_dir = std::path::Path::new(&runs[0].files[0].path)
        .parent()
        .unwrap()
        .to_path_buf();
    assert!(oldest_dir.exists());
    let journalled = |run: &str| -> i64 {
        let cards = rusqlite::Connection::open(f.engine.data_dir().join("datacards.db")).unwrap();
        cards
            .query_row(
                "SELECT count(*) FROM card_changes WHERE run_id = ?1",
                [run],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(
        journalled(&runs[0].id),
        1,
        "the first run journalled the card it created"
    );
    let pruned = f.engine.prune_history(Utc::now()).await.unwrap();
    assert_eq!(pruned, 2);
    assert_eq!(
        journalled(&runs[0].id),
        0,
        "a pruned run's journal goes with it, not at the next start"
    );
    let left: Vec<String> = f
        .engine
        .history(&task, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, [runs[3].id.clone(), runs[2].id.clone()]);
    assert!(!oldest_dir.exists(), "the run's files were pruned with it");

    // By age: with retention_days = 1, runs started more than a day before "now" go.
    f.engine
        .set_settings(&[
            ("retention_runs".into(), "none".into()),
            ("retention_days".into(), "1".into()),
        ])
        .await
        .unwrap();
    assert_eq!(
        f.engine
            .prune_history(Utc::now() + chrono::Duration::hours(23))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        f.engine
            .prune_history(Utc::now() + chrono::Duration::days(2))
            .await
            .unwrap(),
        2
    );
}

#[tokio::test]
async fn a_failed_scheduled_run_raises_an_alert() {
    let f = fresh().await;
    let task = scripted_task(&f.engine, f.dir.path(), "HR", "raise SystemExit(5)\n", "{}", "{}").await;
    run(&f.engine, &task).await;
    let alerts = f.engine.alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].task, "HR/Load");
    assert_eq!(alerts[0].status, "failed");
    assert_eq!(alerts[0].message, "the script exited with code 5");
}

#[tokio::test]
async fn catch_up_runs_a_missed_task_once_only_when_enabled() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1"]}"#,
        r#"{"schedule": "0 0 2 * * *"}"#,
    )
    .await;
    let id = f.engine.task(&task).await.unwrap().id;
    let closed = || async {
        f.engine
            .store()
            .set_last_fired(&id, "2026-05-01T02:00:00.000Z")
            .await
            .unwrap()
    };
    closed().await;
    // Closed through two 02:00s; catch-up is off by default: no run, but history says so.
    let clock = Arc::new(ManualClock::new(utc("2026-05-03T09:00:00Z")));
    let mut s = Scheduler::new(f.engine.clone(), clock.clone());
    assert!(s.catch_up().await.unwrap().is_empty());
    let history = f.engine.history(&task, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, RunStatus::Skipped);
    assert_eq!(history[0].planned_at.as_deref(), Some("2026-05-02T02:00:00.000Z"));
    assert_eq!(
        history[0].extract.info.as_deref(),
        Some(
            "skipped: no engine was running (neither the window nor provisio serve): 2 scheduled times passed, \
             the last at 2026-05-03T02:00:00.000Z"
        )
    );
    let alerts = f.engine.alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (alerts[0].status.as_str(), alerts[0].task.as_str()),
        ("skipped", "HR/Load")
    );
    // The same start again finds nothing new to record.
    assert!(Scheduler::new(f.engine.clone(), clock.clone())
        .catch_up()
        .await
        .unwrap()
        .is_empty());
    assert_eq!(f.engine.history(&task, 10).await.unwrap().len(), 1);

    closed().await;
    f.engine
        .set_settings(&[("catch_up".into(), "true".into())])
        .await
        .unwrap();
    let mut s = Scheduler::new(f.engine.clone(), clock.clone());
    assert_eq!(s.catch_up().await.unwrap(), vec![id.clone()]);
    settle(&mut s, |s| s.running().is_empty() && s.queued() == 0).await;
    let history = f.engine.history(&task, 10).await.unwrap();
    assert_eq!(history.len(), 3, "two skipped rows and the catch-up run");
    assert_eq!(history[0].trigger, provisio_engine::model::RunTrigger::CatchUp);
    assert_eq!(history[0].status, RunStatus::Succeeded);
    // One open alert per task: the second skip adds none.
    assert_eq!(f.engine.alerts(10).await.unwrap().len(), 1);
    // A second start does not catch up again.
    let mut again = Scheduler::new(f.engine.clone(), clock.clone());
    assert!(again.catch_up().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_task_without_a_successful_run_for_its_stale_after_raises_one_alert() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1"]}"#,
        r#"{"schedule": "0 0 2 * * *", "stale_after": "26h"}"#,
    )
    .await;
    // `task show --json`, edited and fed back: a duration it cannot read is refused.
    let mut shown = serde_json::to_value(f.engine.task(&task).await.unwrap()).unwrap();
    shown["stale_after"] = "soon".into();
    let input: provisio_engine::model::TaskInput = serde_json::from_value(shown).unwrap();
    let e = f.engine.update_task(&task, input).await.unwrap_err().to_string();
    assert!(e.contains("'soon' is not a duration"), "{e}");

    // It ran once, successfully; 25 hours later all is well, 27 hours later it is stale.
    run(&f.engine, &task).await;
    let now = chrono::Utc::now();
    let clock = Arc::new(ManualClock::new(now + chrono::Duration::hours(25)));
    let mut s = Scheduler::new(f.engine.clone(), clock.clone());
    assert!(s.tick().await.unwrap().stale.is_empty());
    clock.set(now + chrono::Duration::hours(27));
    let report = s.tick().await.unwrap();
    assert_eq!(report.stale.len(), 1);
    let alerts = f.engine.alerts(10).await.unwrap();
    let stale = alerts
        .iter()
        .find(|a| a.status == "stale")
        .expect("a stale alert");
    assert!(
        stale
            .message
            .starts_with("task HR/Load has had no successful run for more than 26h"),
        "{}",
        stale.message
    );
    // Still stale a minute later: still one alert.
    clock.set(now + chrono::Duration::hours(27) + chrono::Duration::minutes(2));
    assert!(s.tick().await.unwrap().stale.is_empty());
    assert_eq!(
        f.engine
            .alerts(10)
            .await
            .unwrap()
            .iter()
            .filter(|a| a.status == "stale")
            .count(),
        1
    );
}
