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

    // After a cache clear every record is compared with its card and none is written:
    // "30,000 read, 0 loaded", as the history's "unchanged 30,000" says.
    f.engine.clear_cache(&task).await.unwrap();
    let again = run(&f.engine, &task).await;
    assert_eq!(again.counts.unchanged, 30_000, "{:?}", again.counts);
    let mut last = None;
    while let Ok(p) = progress.try_recv() {
        last = Some(p);
    }
    let last = last.expect("progress of the run after the clear");
    assert_eq!(
        (last.run_id.as_str(), last.records_read, last.records_loaded),
        (again.id.as_str(), 30_000, 0)
    );
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

/// Entry names of a zip written by the engine.
fn zip_names(path: &std::path::Path) -> Vec<String> {
    let zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    zip.file_names().map(|n| n.unwrap().into_owned()).collect()
}

#[tokio::test]
async fn the_data_tabs_search_finds_cards_past_the_first_page_by_value_in_any_case_or_by_id() {
    let f = fresh().await;
    // 2,500 people; the ones searched for sit past the first page of cards.
    let records = r#"[{"id": "p%04d" % i, "groups": [],
        "name": {2100: "Smith", 2200: "SMITHSON", 2300: "100%_sure", 2400: "Äijälä"}.get(i, "Name%d" % i)} for i in range(2500)]"#;
    let task = scripted_task(&f.engine, f.dir.path(), "HR", &emitting(records), "{}", "{}").await;
    assert_eq!(run(&f.engine, &task).await.counts.created, 2500);
    let first_page = f.engine.datacards("person", None, 1000).await.unwrap();
    assert!(first_page.iter().all(|c| c.data["last_name"] != "Smith"));

    let find = |text: &'static str, folder: Option<&'static str>, limit: u32| {
        let engine = &f.engine;
        async move {
            let cards = engine
                .datacards_page("person", folder, Some(text), None, limit)
                .await
                .unwrap();
            let names = cards
                .iter()
                .map(|c| c.data["last_name"].as_str().unwrap().to_string());
            (
                cards.iter().map(|c| c.id).collect::<Vec<i64>>(),
                names.collect::<Vec<String>>(),
            )
        }
    };
    assert_eq!(find("smith", None, 100).await.1, ["Smith", "SMITHSON"]);
    // SQLite's LIKE characters are taken as they are.
    assert_eq!(find("0%_S", None, 100).await.1, ["100%_sure"]);
    // Letters beyond ASCII in any case too.
    assert_eq!(find("ÄIJÄLÄ", Some("persons"), 100).await.1, ["Äijälä"]);
    // Field names are in every card: they find nothing; nor does a text no card holds.
    assert!(find("last_name", None, 100).await.0.is_empty());
    assert!(find("nobody has this", None, 100).await.0.is_empty());
    // At most `limit` cards come back; a card's id finds it.
    let (smith, names) = find("Smith", None, 1).await;
    assert_eq!(names, ["Smith"]);
    assert_eq!(find("name", None, 5).await.0.len(), 5);
    let id = smith[0].to_string();
    let by_id = f
        .engine
        .datacards_page("person", None, Some(&id), None, 100)
        .await
        .unwrap();
    assert!(by_id.iter().any(|c| c.id == smith[0]), "{by_id:?}");
    // The window reads on, a page at a time, from the last card it has: with a search too.
    let page = |search: Option<&'static str>, after: Option<i64>| {
        f.engine.datacards_page("person", None, search, after, 1000)
    };
    let (first, second) = (
        page(None, None).await.unwrap(),
        page(None, Some(first_page[999].id)).await.unwrap(),
    );
    let ids: Vec<i64> = first.iter().chain(&second).map(|c| c.id).collect();
    assert_eq!(ids.len(), 2000);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order, none twice");
    let all_found = page(Some("name2"), None).await.unwrap();
    let after_tenth = page(Some("name2"), Some(all_found[9].id)).await.unwrap();
    // Name2, Name20.., Name200.., Name2000..Name2499 but the four renamed.
    assert_eq!(all_found.len(), 1 + 10 + 100 + 500 - 4);
    assert_eq!(after_tenth.first().map(|c| c.id), Some(all_found[10].id));
    assert_eq!(after_tenth.len(), all_found.len() - 10);
}

#[tokio::test]
async fn the_logs_tab_reads_the_engine_log_by_level_and_text_and_packs_the_sources_chosen() {
    let f = fresh().await;
    let logs = f.dir.path().join("data").join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // Two days of the engine's JSON lines, as the tracing layer writes them, and a torn last line.
    std::fs::write(
        logs.join("engine.log.2026-12-01"),
        concat!(
            r#"{"timestamp":"2026-12-01T08:00:00Z","level":"INFO","fields":{"message":"engine opened"},"target":"provisio_engine"}"#,
            "\n",
            r#"{"timestamp":"2026-12-01T08:00:01Z","level":"ERROR","fields":{"message":"run failed","error":"exit 3"},"target":"provisio_engine::pipeline","spans":[{"name":"run","run_id":"r-1","task_id":"t-1"}]}"#,
            "\n"
        ),
    )
    .unwrap();
    std::fs::write(
        logs.join("engine.log.2026-12-02"),
        concat!(
            r#"{"timestamp":"2026-12-02T09:00:00Z","level":"DEBUG","fields":{"message":"batch written","rows":500},"target":"provisio_engine::targets"}"#,
            "\n",
            r#"{"timestamp":"2026-12-02T09:00:01Z","level":"WARN","fields":{"message":"slow script"},"target":"provisio_engine::script_host"}"#,
            "\n",
            r#"{"timestamp":"2026-12-02T09:00:02Z","level":"INF"#
        ),
    )
    .unwrap();
    let all = f.engine.engine_log(None, None, 100).await.unwrap();
    let messages: Vec<&str> = all.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        messages,
        ["engine opened", "run failed", "batch written", "slow script"],
        "oldest first across days; the torn line is skipped"
    );
    assert_eq!(all[1].detail, "error=exit 3 run_id=r-1 task_id=t-1");
    let warnings = f.engine.engine_log(Some("warn"), None, 100).await.unwrap();
    assert_eq!(
        warnings.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
        ["run failed", "slow script"]
    );
    let by_run = f.engine.engine_log(None, Some("R-1"), 100).await.unwrap();
    assert_eq!(by_run.len(), 1, "search reaches the span's ids, any case");
    let last = f.engine.engine_log(None, None, 1).await.unwrap();
    assert_eq!(last[0].message, "slow script", "the limit keeps the newest lines");
    let refused = f.engine.engine_log(Some("loud"), None, 10).await.unwrap_err();
    assert!(
        refused.to_string().contains("'loud' is not a log level"),
        "{refused}"
    );

    // Two connectors with one run each: the export packs only what was chosen.
    let a = scripted_task(&f.engine, f.dir.path(), "Alpha", &emitting("[]"), "{}", "{}").await;
    let b = scripted_task(&f.engine, f.dir.path(), "Beta", &emitting("[]"), "{}", "{}").await;
    let run_a = run(&f.engine, &a).await;
    let run_b = run(&f.engine, &b).await;
    let out = f.dir.path().join("alpha.zip");
    let selection = provisio_engine::api::LogSelection {
        engine: false,
        script_host: false,
        connectors: Some(vec!["Alpha".into()]),
    };
    f.engine.export_logs(&out, None, &selection).await.unwrap();
    let names = zip_names(&out);
    assert!(
        names
            .iter()
            .all(|n| n.starts_with(&format!("runs/{}/", run_a.id))),
        "{names:?}"
    );
    assert!(names.contains(&format!("runs/{}/run.log", run_a.id)), "{names:?}");

    let host = f.dir.path().join("host.zip");
    let selection = provisio_engine::api::LogSelection {
        engine: true,
        script_host: true,
        connectors: Some(vec![]),
    };
    f.engine.export_logs(&host, None, &selection).await.unwrap();
    let names = zip_names(&host);
    assert!(
        names.contains(&"engine/engine.log.2026-12-02".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&format!("runs/{}/run.log", run_b.id)), "{names:?}");
    assert!(
        !names.iter().any(|n| n.ends_with("script.log")),
        "the script host's record only: {names:?}"
    );

    let nothing = provisio_engine::api::LogSelection {
        engine: false,
        script_host: false,
        connectors: Some(vec![]),
    };
    let err = f
        .engine
        .export_logs(&f.dir.path().join("none.zip"), None, &nothing)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("log sources"), "{err}");
    assert!(!f.dir.path().join("none.zip").exists());
}

/// Records of people 1..=n named P1..Pn, as a JSON list's items.
fn people_p(n: u32) -> String {
    (1..=n)
        .map(|i| format!(r#"{{"id": "{i}", "name": "P{i}", "groups": []}}"#))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Approving from the window (its alert or the run's detail) records the
/// run that lets the plan through and marks the interrupted run's alert seen.
#[tokio::test]
async fn approving_an_interrupted_run_marks_its_alert_seen_and_loads_its_plan_once() {
    let f = fresh().await;
    let records = people_p(3);
    let limits = r#"{"limits": {"update_limit": 1}}"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Limited",
        &emitting(&format!("[{records}]")),
        "{}",
        limits,
    )
    .await;
    let stopped = run(&f.engine, &task).await;
    assert_eq!(stopped.status, RunStatus::Interrupted);
    let unseen = |alerts: Vec<provisio_engine::model::Alert>| {
        alerts
            .into_iter()
            .filter(|a| a.run_id.as_deref() == Some(stopped.id.as_str()) && !a.acknowledged)
            .count()
    };
    assert_eq!(
        unseen(f.engine.alerts(50).await.unwrap()),
        1,
        "the interruption raised an alert"
    );

    let approval = f.engine.approve_run(&stopped.id).await.unwrap();
    assert_eq!(
        unseen(f.engine.alerts(50).await.unwrap()),
        0,
        "approving marked it seen"
    );
    let done = f.engine.execute_run(&approval.id, true).await.unwrap();
    assert_eq!((done.status, done.counts.created), (RunStatus::Succeeded, 3));
}

#[tokio::test]
async fn an_interrupted_run_shows_its_planned_changes_and_approving_lets_that_plan_through_once() {
    let f = fresh().await;
    let records = people_p(5);
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Limited",
        &emitting(&format!("[{records}]")),
        "{}",
        "{}",
    )
    .await;
    let mut t = f.engine.task(&task).await.unwrap();
    t.limits.update_limit = Some(2);
    f.engine
        .update_task(
            &task,
            serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap(),
        )
        .await
        .unwrap();
    let stopped = run(&f.engine, &task).await;
    assert_eq!(stopped.status, RunStatus::Interrupted);

    let plan = f.engine.planned_changes(&stopped.id).await.unwrap();
    assert_eq!(plan.task, task);
    assert_eq!(
        (plan.new, plan.changed, plan.removals),
        (Some(5), Some(0), Some(0))
    );
    assert!(plan.reason.contains("limit"), "{}", plan.reason);
    assert!(
        f.engine.datacards("person", None, 10).await.unwrap().is_empty(),
        "nothing loaded before approval"
    );

    let approved = f
        .engine
        .run_task(&task, provisio_engine::model::RunTrigger::Manual, true)
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Succeeded);
    assert_eq!(approved.counts.created, 5);
    let refused = f.engine.planned_changes(&approved.id).await.unwrap_err();
    assert!(
        refused.to_string().contains("not an interrupted scheduled run"),
        "{refused}"
    );
}

/// A shim (pyenv, asdf) chooses the interpreter by the directory it starts
/// in: the engine asks it in the data directory, wherever the command was
/// typed, so the window, `serve` and the CLI run scripts with one interpreter.
#[cfg(unix)]
#[tokio::test]
async fn the_interpreter_behind_a_shim_is_asked_for_in_the_data_directory() {
    use std::os::unix::fs::PermissionsExt;
    let f = fresh().await;
    let shim_dir = tempfile::tempdir().unwrap();
    let asked_in = shim_dir.path().join("asked-in");
    let shim = shim_dir.path().join("python-shim");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\npwd >> '{}'\nexec python3 \"$@\"\n",
            asked_in.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1"]}"#,
        "{}",
    )
    .await;
    f.engine
        .set_settings(&[("python".into(), shim.display().to_string())])
        .await
        .unwrap();
    assert!(f.engine.check_python(None).await.unwrap().supported);
    assert_eq!(run(&f.engine, &task).await.status, RunStatus::Succeeded);
    let data_dir = f.engine.data_dir().canonicalize().unwrap();
    assert_ne!(std::env::current_dir().unwrap().canonicalize().unwrap(), data_dir);
    let asked: Vec<std::path::PathBuf> = std::fs::read_to_string(&asked_in)
        .unwrap()
        .lines()
        .map(|dir| std::path::Path::new(dir).canonicalize().unwrap())
        .collect();
    assert_eq!(asked, [data_dir.clone(), data_dir], "the check, then the run");
}

#[tokio::test]
async fn the_python_check_runs_the_interpreter_and_reports_its_version() {
    let f = fresh().await;
    let ok = f.engine.check_python(None).await.unwrap();
    assert_eq!(ok.interpreter, "python3", "the setting's default");
    assert!(ok.supported, "{ok:?}");
    let expected = std::process::Command::new("python3")
        .args(["-c", "import platform; print(platform.python_version())"])
        .output()
        .unwrap();
    assert_eq!(ok.version, String::from_utf8_lossy(&expected.stdout).trim());
    assert!(std::path::Path::new(&ok.executable).is_file(), "{ok:?}");
    let err = f
        .engine
        .check_python(Some("no-such-python-here"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot start 'no-such-python-here'"),
        "{err}"
    );
}
