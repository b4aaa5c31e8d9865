//! The HR connector (issue 12) with real files in the connector's folder:
//! its parameters, formats, validation, full and partial runs, limits,
//! archives and the report card, in every outcome the HR manual documents.

use std::path::PathBuf;

use provisio_engine::model::{InterruptionHelp, RunStatus, RunTrigger};
use provisio_engine::EngineError;
use serde_json::{json, Value};

use crate::support::*;

pub(crate) const HEADER: &str = "RowId;EmployeeId;LastName;FirstName;StartDate;TitleId;ManagerId;OrgId;Note";

pub(crate) fn row(id: u32, last: &str) -> String {
    format!("{id};E{id};{last};Ann;2026-01-0{};T1;M1;O1;plain", (id % 9) + 1)
}

pub(crate) fn params(extra: Value) -> Value {
    let mut p = json!({"file_path": "in/*.csv", "data_type": "workperiod", "run_type": "full",
        "report_template_code": "admin_task", "report_folder_code": "admin_tasks"});
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

/// An `hr_file` connector `HR` with a work-period task `HR/Load`; returns the connector's folder.
pub(crate) async fn hr(f: &Fixture, extra: Value) -> PathBuf {
    f.engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    let c = f
        .engine
        .create_connector(connector_input(
            &json!({"name": "HR", "type": "hr_file", "parameters": params(extra)}).to_string(),
        ))
        .await
        .unwrap();
    f.engine.create_task("HR", work_period_task()).await.unwrap();
    let folder = f.engine.connector_folder(&c.id);
    std::fs::create_dir_all(folder.join("in")).unwrap();
    folder
}

fn work_period_task() -> provisio_engine::model::TaskInput {
    task_input(
        r#"{"name": "Load", "schedule": "0 0 6 * * *", "object_id_attribute": "RowId",
            "target_template": "workperiod", "target_folder": "workperiods", "task_id_attribute": "taskid",
            "mappings": [{"source": "RowId", "target": "row_id"}, {"source": "EmployeeId", "target": "employee_id"},
              {"source": "LastName", "target": "last_name"}, {"source": "FirstName", "target": "first_name"},
              {"source": "StartDate", "target": "employment_start"}, {"source": "TitleId", "target": "title_id"},
              {"source": "ManagerId", "target": "manager_id"}, {"source": "OrgId", "target": "org_unit_id"}]}"#,
    )
}

fn write(folder: &std::path::Path, name: &str, text: &[u8]) {
    std::fs::write(folder.join("in").join(name), text).unwrap();
}

/// A JSON file the connector keeps (its archives), as rows.
fn read_json(path: &std::path::Path) -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

async fn run(f: &Fixture) -> provisio_engine::model::Run {
    f.engine
        .run_task("HR/Load", RunTrigger::Manual, false)
        .await
        .unwrap()
}

/// The report cards written so far, newest last.
async fn reports(f: &Fixture) -> Vec<Value> {
    f.engine
        .datacards("admin_task", Some("admin_tasks"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.data)
        .collect()
}

pub(crate) async fn last_report(f: &Fixture) -> Value {
    reports(f).await.pop().expect("a report card")
}

pub(crate) fn case_of(report: &Value) -> String {
    let r: Value = serde_json::from_str(report["report"].as_str().unwrap()).unwrap();
    r["case"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn missing_and_malformed_parameters_are_refused_on_save_each_named() {
    let f = fresh().await;
    let e = f
        .engine
        .create_connector(connector_input(
            r#"{"name": "HR", "type": "hr_file", "parameters": {
                // pasted from the manual, half filled in
                "data_type": "payroll", "update_limit": "lots", }}"#,
        ))
        .await
        .unwrap_err()
        .to_string();
    for named in [
        "file_path",
        "report_template_code",
        "report_folder_code",
        "data_type: 'payroll'",
        "update_limit",
    ] {
        assert!(e.contains(named), "{named} not named: {e}");
    }
    assert!(f.engine.list_connectors().await.unwrap().is_empty());

    let folder = hr(&f, json!({})).await;
    assert!(folder.ends_with(f.engine.connector("HR").await.unwrap().id));
    let e = f
        .engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"file_path": "in/*.csv"}}"#),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, EngineError::MissingFields { .. }), "{e}");

    // A task must map what its data type requires.
    let mut task = work_period_task();
    task.name = Some("Partial".into());
    task.mappings
        .as_mut()
        .unwrap()
        .retain(|m| m.target != "employee_id");
    let e = f.engine.create_task("HR", task).await.unwrap_err().to_string();
    assert_eq!(
        e,
        "mappings: a workperiod task must map the mandatory attributes employee_id or national_id"
    );
}

#[tokio::test]
async fn a_full_run_loads_a_csv_blocks_rows_without_mandatory_values_and_reports() {
    let f = fresh().await;
    let folder = hr(&f, json!({})).await;
    // A BOM, CRLF line ends, a quoted field holding the delimiter and a quote,
    // and a row whose last name is empty.
    let mut csv = String::from("\u{feff}");
    csv.push_str(HEADER);
    csv.push_str("\r\n");
    csv.push_str(&row(1, "Smith"));
    csv.push_str("\r\n");
    csv.push_str("2;E2;\"O'Neil; \"\"Jr\"\"\";Bo;2026-02-01;T1;M1;O1;x\r\n");
    csv.push_str(&row(3, ""));
    csv.push_str("\r\n");
    write(&folder, "workperiod_2026.csv", csv.as_bytes());
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    assert_eq!((r.counts.fetched, r.counts.created, r.counts.blocked), (3, 2, 1));
    let cards = f
        .engine
        .datacards("workperiod", Some("workperiods"), 10)
        .await
        .unwrap();
    let names: Vec<&str> = cards
        .iter()
        .map(|c| c.data["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Smith", "O'Neil; \"Jr\""]);
    let blocked =
        std::fs::read_to_string(r.files.iter().find(|f| f.kind == "blocked").unwrap().path.clone()).unwrap();
    assert!(
        blocked.contains("mandatory attribute 'last_name' (column 'LastName') has no value"),
        "{blocked}"
    );
    let report = last_report(&f).await;
    assert_eq!(report["title"], "HR import HR/Load: done");
    assert!(
        report["description"].as_str().unwrap().contains("Read 3 rows"),
        "{report}"
    );
    assert_eq!(report["status"], "open", "a run with blocked rows needs a look");
    assert!(report["report"].as_str().unwrap().contains("has no value"));
    let archive = folder.join("archive/workperiod_archive.json");
    let archived: Vec<Value> = read_json(&archive);
    assert_eq!(archived.len(), 3, "the archive keeps every row, blocked ones too");
    let errors: Vec<Value> = read_json(&folder.join("archive/error_workperiod_archive.json"));
    assert_eq!(errors.len(), 1);
    // The attachments are kept in the data directory and named relative to it:
    // no card refers to a path on the workstation.
    let attached: Vec<&str> = report["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        attached.iter().any(|a| a.ends_with("/workperiod_archive.json")),
        "{attached:?}"
    );
    for a in &attached {
        assert!(a.starts_with("attachments/") && !a.contains(".."), "{a}");
        let kept = f.engine.data_dir().join(a);
        assert!(kept.is_file(), "{} is kept", kept.display());
    }
    assert!(
        !report.to_string().contains(&folder.display().to_string()),
        "{report}"
    );
}

#[tokio::test]
async fn a_report_that_cannot_be_written_fails_the_run_in_its_report_stage_with_an_alert() {
    let f = fresh().await;
    let folder = hr(&f, json!({})).await;
    // A report template that does not exist is named when the connector is saved.
    let e = f
        .engine
        .update_connector(
            "HR",
            connector_input(
                &json!({"parameters": params(json!({"report_folder_code": "nowhere"}))}).to_string(),
            ),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("folder 'nowhere' does not exist in target 'local'"),
        "{e}"
    );
    write(
        &folder,
        "w.csv",
        format!("{HEADER}\n{}\n", row(1, "L")).as_bytes(),
    );
    // Where the attachments are kept is taken by a file: the report cannot be written.
    std::fs::write(f.engine.data_dir().join("attachments"), b"in the way").unwrap();
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(r.ended_in, Some(provisio_engine::model::RunStage::Report));
    assert!(
        r.message
            .as_deref()
            .unwrap_or_default()
            .starts_with("the HR report could not be written"),
        "{:?}",
        r.message
    );
    let stored = f.engine.run(&r.id).await.unwrap();
    assert_eq!(stored.status, RunStatus::Failed, "the history shows it");
    let alerts = f.engine.alerts(10).await.unwrap();
    assert!(alerts
        .iter()
        .any(|a| a.run_id.as_deref() == Some(r.id.as_str())
            && a.message.contains("report could not be written")));
}

#[tokio::test]
async fn a_partial_run_needs_the_archive_and_loads_only_what_changed_within_the_update_limit() {
    let f = fresh().await;
    let folder = hr(&f, json!({"run_type": "partial", "update_limit": 2})).await;
    let file = |rows: &[String]| format!("{HEADER}\n{}\n", rows.join("\n"));
    let rows: Vec<String> = (1..=5).map(|i| row(i, &format!("L{i}"))).collect();
    write(&folder, "w.csv", file(&rows).as_bytes());

    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    assert!(
        r.extract.info.as_deref().unwrap().starts_with("archive missing"),
        "{:?}",
        r.extract
    );
    assert_eq!(case_of(&last_report(&f).await), "archive_missing");
    assert!(f
        .engine
        .datacards("workperiod", None, 10)
        .await
        .unwrap()
        .is_empty());

    // One full run makes the archive (the update limit applies to partial runs only).
    let full = params(json!({"run_type": "full", "update_limit": 2}));
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": full}).to_string()))
        .await
        .unwrap();
    assert_eq!(run(&f).await.counts.created, 5);
    let partial = params(json!({"run_type": "partial", "update_limit": 2}));
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": partial}).to_string()))
        .await
        .unwrap();

    // One row changed, one new: only those two are read.
    let mut next = rows.clone();
    next[1] = row(2, "Changed");
    next.push(row(6, "New"));
    write(&folder, "w.csv", file(&next).as_bytes());
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.load);
    assert_eq!((r.counts.fetched, r.counts.updated, r.counts.created), (2, 1, 1));
    assert_eq!(f.engine.datacards("workperiod", None, 10).await.unwrap().len(), 6);

    // Three changes exceed the limit of two: nothing loads, and the archive stays as it was.
    let mut third = next.clone();
    for (i, r) in third.iter_mut().enumerate().take(3) {
        *r = row(i as u32 + 1, "Again");
    }
    third.push(row(7, "Newcomer"));
    write(&folder, "w.csv", file(&third).as_bytes());
    // Without its index (written by an older version, or lost) the archive itself is compared.
    std::fs::remove_file(folder.join("archive/workperiod_archive.index")).unwrap();
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    let report = last_report(&f).await;
    assert_eq!(case_of(&report), "update_limit");
    assert!(report["report"].as_str().unwrap().contains("planned_changes"));
    // The plan a person approves shows the three rows' cards and what they would become.
    let plan = f.engine.planned_changes(&r.id).await.unwrap();
    let shown = held_fields(&plan);
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert!(
        shown
            .iter()
            .all(|(_, fields)| fields.iter().any(|f| f.ends_with(r#"-> "Again""#))),
        "{shown:?}"
    );
    // And whom it would create, with the name the file gives.
    assert_eq!(plan.new, Some(1));
    let new: Vec<String> = plan.new_cards.iter().map(|c| format!("{c:?}")).collect();
    assert!(new.len() == 1 && new[0].contains("Newcomer"), "{new:?}");
    let archived: Vec<Value> = read_json(&folder.join("archive/workperiod_archive.json"));
    assert_eq!(
        archived[0]["LastName"], "L1",
        "an interrupted run keeps the previous archive"
    );
}

/// A card's history names the file and row of the record behind each
/// creation and change (issue 24), on full and partial runs, as the rows
/// stood in that day's file.
#[tokio::test]
async fn a_card_s_history_names_the_file_and_row_each_change_came_from() {
    let f = fresh().await;
    let folder = hr(&f, json!({})).await;
    let file = |rows: &[String]| format!("{HEADER}\n{}\n", rows.join("\n"));
    let rows: Vec<String> = (1..=5).map(|i| row(i, &format!("L{i}"))).collect();
    write(&folder, "w.csv", file(&rows).as_bytes());
    let full = run(&f).await;
    assert_eq!(full.counts.created, 5);
    let partial = params(json!({"run_type": "partial"}));
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": partial}).to_string()))
        .await
        .unwrap();
    // A newcomer first in the file; row 2's person (now the file's third row) renamed.
    let mut next = vec![row(6, "New")];
    next.extend(rows.iter().cloned());
    next[2] = row(2, "Changed");
    write(&folder, "w2.csv", file(&next).as_bytes());
    std::fs::remove_file(folder.join("in/w.csv")).unwrap();
    let r = run(&f).await;
    assert_eq!(
        (r.status, r.counts.updated, r.counts.created),
        (RunStatus::Succeeded, 1, 1),
        "{:?}",
        r.load
    );

    let card = |id: &'static str| {
        let engine = f.engine.clone();
        async move {
            engine
                .datacards("workperiod", None, 10)
                .await
                .unwrap()
                .into_iter()
                .find(|c| c.data["row_id"] == id)
                .unwrap()
                .id
        }
    };
    let rows_of = |history: Vec<provisio_engine::model::CardChange>| -> Vec<(String, String, u32)> {
        history
            .into_iter()
            .map(|c| {
                let at = c.source_row.expect("a file row");
                (c.kind, at.file, at.row)
            })
            .collect()
    };
    assert_eq!(
        rows_of(f.engine.datacard_history(card("2").await).await.unwrap()),
        [
            ("update".into(), "w2.csv".into(), 3),
            ("create".into(), "w.csv".into(), 2)
        ]
    );
    assert_eq!(
        rows_of(f.engine.datacard_history(card("6").await).await.unwrap()),
        [("create".into(), "w2.csv".into(), 1)]
    );
}

#[tokio::test]
async fn no_file_several_files_an_empty_file_and_bad_text_each_get_their_outcome() {
    let f = fresh().await;
    let folder = hr(&f, json!({"language": "fi"})).await;
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.extract
            .info
            .as_deref()
            .unwrap()
            .starts_with("file not received"),
        "{:?}",
        r.extract
    );
    let report = last_report(&f).await;
    assert_eq!(case_of(&report), "file_not_received");
    assert_eq!(
        report["title"], "HR-tuonti HR/Load: tiedostoa ei saatu",
        "the report speaks the connector's language"
    );
    // Wholly: what the engine found is worded in Finnish too, and no workstation path shows.
    let said = report["description"].as_str().unwrap();
    assert!(
        said.starts_with("Tiedostoa ei löytynyt (mikään ei vastaa mallia 'in/*.csv')."),
        "{said}"
    );
    assert!(
        !said.contains("file not received") && !said.contains(&folder.display().to_string()),
        "{said}"
    );

    write(
        &folder,
        "a.csv",
        format!("{HEADER}\n{}\n", row(1, "A")).as_bytes(),
    );
    write(
        &folder,
        "b.csv",
        format!("{HEADER}\n{}\n", row(2, "B")).as_bytes(),
    );
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    assert!(
        r.extract.info.as_deref().unwrap().contains("a.csv, b.csv"),
        "{:?}",
        r.extract
    );
    let report = last_report(&f).await;
    assert_eq!(case_of(&report), "multiple_files");
    assert_eq!(
        report["description"],
        "Mitään ei tuotu: useampi tiedosto vastaa mallia 'in/*.csv' (a.csv, b.csv). Jätä yksi tiedosto ja aja tehtävä uudelleen."
    );

    std::fs::remove_file(folder.join("in/b.csv")).unwrap();
    write(&folder, "a.csv", b"  \n");
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    let report = last_report(&f).await;
    assert_eq!(case_of(&report), "file_empty");
    assert_eq!(
        report["description"],
        "Tiedosto a.csv on tyhjä. Luo tiedosto uudelleen HR-järjestelmässä ja aja tehtävä."
    );

    let mut latin1 = format!("{HEADER}\n{}\n3;E3;M", row(1, "A")).into_bytes();
    latin1.extend_from_slice(b"\xfcller;A;2026-01-01;T;M;O;x\n");
    write(&folder, "a.csv", &latin1);
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.extract
            .info
            .as_deref()
            .unwrap()
            .contains("line 3 is not valid UTF-8"),
        "{:?}",
        r.extract
    );

    write(&folder, "a.csv", b"RowId;LastName\n1;A\n");
    let r = run(&f).await;
    assert!(
        r.extract
            .info
            .as_deref()
            .unwrap()
            .contains("the header row lacks the mapped columns EmployeeId, FirstName"),
        "{:?}",
        r.extract
    );
    assert!(f
        .engine
        .datacards("workperiod", None, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn json_and_xml_files_load_like_csv_and_need_every_mapped_attribute() {
    let f = fresh().await;
    let folder = hr(&f, json!({"file_path": "in/*"})).await;
    let person = |id: u32| {
        json!({"RowId": id.to_string(), "EmployeeId": format!("E{id}"), "LastName": "L", "FirstName": "F",
               "StartDate": "2026-01-01", "TitleId": "T", "ManagerId": "M", "OrgId": "O"})
    };
    let mut lacking = person(2);
    lacking.as_object_mut().unwrap().remove("OrgId");
    write(
        &folder,
        "w.json",
        json!([person(1), lacking]).to_string().as_bytes(),
    );
    let r = run(&f).await;
    assert_eq!((r.counts.created, r.counts.blocked), (1, 1), "{:?}", r.extract);

    std::fs::remove_file(folder.join("in/w.json")).unwrap();
    write(
        &folder,
        "w.xml",
        br#"<?xml version="1.0" encoding="UTF-8"?>
<workperiods>
  <workperiod><RowId>3</RowId><EmployeeId>E3</EmployeeId><LastName>M&#252;ller &amp; Co</LastName><FirstName>F</FirstName>
    <StartDate>2026-01-01</StartDate><TitleId>T</TitleId><ManagerId>M</ManagerId><OrgId>O</OrgId></workperiod>
</workperiods>"#,
    );
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    let cards = f.engine.datacards("workperiod", None, 10).await.unwrap();
    assert!(
        cards.iter().any(|c| c.data["last_name"] == "Müller & Co"),
        "{cards:?}"
    );
}

#[tokio::test]
async fn a_translation_file_lacking_cases_stops_the_run_before_anything_is_fetched() {
    let f = fresh().await;
    let folder = hr(&f, json!({"language": "xx"})).await;
    write(
        &folder,
        "w.csv",
        format!("{HEADER}\n{}\n", row(1, "A")).as_bytes(),
    );
    let translations = f.engine.data_dir().join("translations");
    std::fs::create_dir_all(&translations).unwrap();
    std::fs::write(
        translations.join("xx.json"),
        r#"{"cases": {"succeeded": {"title": "ok", "text": "ok"}}}"#,
    )
    .unwrap();
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    let info = r.extract.info.clone().unwrap();
    assert!(
        info.contains("xx.json") && info.contains("lacks the report cases file_not_received"),
        "{info}"
    );
    assert!(!folder.join("archive").exists(), "nothing was read");
    assert_eq!(
        case_of(&last_report(&f).await),
        "failed",
        "reported in English instead"
    );
}

#[tokio::test]
async fn a_very_long_line_and_repeated_ids_are_handled() {
    let f = fresh().await;
    let folder = hr(&f, json!({})).await;
    // A 4 MB note on one line, and an id that appears twice (both blocked, as in every connector).
    let long = "x".repeat(4 << 20);
    let csv = format!(
        "{HEADER}\n1;E1;Long;A;2026-01-01;T;M;O;{long}\n{}\n{}\n{}\n",
        row(2, "B"),
        row(3, "C"),
        row(3, "C again")
    );
    write(&folder, "w.csv", csv.as_bytes());
    // Above the default field cap (1 MB): refused with its line, nothing loaded.
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    let info = r.extract.info.clone().unwrap_or_default();
    assert!(
        info.contains("line 2: a field of 4096 KB, more than hr_max_field_kb (1024 KB)"),
        "{info}"
    );
    assert!(f
        .engine
        .datacards("workperiod", None, 10)
        .await
        .unwrap()
        .is_empty());
    // A file too large for hr_max_file_mb is refused before it is read.
    f.engine
        .set_settings(&[("hr_max_file_mb".into(), "3".into())])
        .await
        .unwrap();
    let info = run(&f).await.extract.info.unwrap_or_default();
    assert!(
        info.contains("holds 5 MB, more than hr_max_file_mb (3 MB)"),
        "{info}"
    );
    // With room for it, the long field loads whole.
    f.engine
        .set_settings(&[
            ("hr_max_field_kb".into(), "8192".into()),
            ("hr_max_file_mb".into(), "none".into()),
        ])
        .await
        .unwrap();
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    assert_eq!(
        (r.counts.fetched, r.counts.created, r.counts.blocked),
        (4, 2, 2),
        "{:?}",
        r.counts
    );
    let cards = f.engine.datacards("workperiod", None, 10).await.unwrap();
    assert!(cards.iter().any(|c| c.data["last_name"] == "Long"));
    let archived: Vec<Value> = read_json(&folder.join("archive/workperiod_archive.json"));
    assert_eq!(
        archived[0]["Note"].as_str().unwrap().len(),
        4 << 20,
        "the archive keeps the long field whole"
    );
}

/// Entries of the task's stored cache: (written whole, in the delta).
fn cache_sizes(f: &Fixture) -> (usize, usize) {
    let db = rusqlite::Connection::open(f.dir.path().join("data").join("datacards.db")).unwrap();
    let size = |sql: &str| -> usize {
        db.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
            .unwrap()
            .unwrap_or(0) as usize
            / provisio_engine::pipeline::cache::ENTRY_SIZE
    };
    (
        size("SELECT SUM(length(entries)) FROM task_cache_entries"),
        size("SELECT SUM(length(entries)) FROM task_cache_delta"),
    )
}

#[tokio::test]
async fn partial_runs_store_only_their_changes_to_the_cache_and_every_later_run_sees_them() {
    let f = fresh().await;
    let folder = hr(&f, json!({"run_type": "full"})).await;
    let file = |rows: &[String]| format!("{HEADER}\n{}\n", rows.join("\n"));
    let mut rows: Vec<String> = (1..=40).map(|i| row(i, &format!("L{i}"))).collect();
    write(&folder, "w.csv", file(&rows).as_bytes());
    assert_eq!(run(&f).await.counts.created, 40);
    assert_eq!(cache_sizes(&f), (40, 0));
    let partial = params(json!({"run_type": "partial"}));
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": partial}).to_string()))
        .await
        .unwrap();

    // Two partial runs of two changes each: the 40 entries stay, the delta grows.
    for (round, ids) in [[3usize, 7], [7, 12]].iter().enumerate() {
        for id in ids {
            rows[id - 1] = row(*id as u32, &format!("Round{round}"));
        }
        write(&folder, "w.csv", file(&rows).as_bytes());
        let r = run(&f).await;
        assert_eq!(
            (r.status, r.counts.updated),
            (RunStatus::Succeeded, 2),
            "{:?}",
            r.load
        );
    }
    assert_eq!(cache_sizes(&f), (40, 3), "ids 3, 7 and 12 changed");
    // The replaced archive's second name is deleted on its own thread.
    let replaced = folder.join("archive/workperiod_archive.json.replaced");
    for _ in 0..100 {
        if !replaced.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!replaced.exists());
    // A process that ended between moving the old archive aside and putting
    // the new one in place: the next run takes the archive back from aside.
    let archive = folder.join("archive/workperiod_archive.json");
    std::fs::rename(&archive, &replaced).unwrap();
    let r = run(&f).await;
    assert_eq!(
        (r.status, r.counts.fetched),
        (RunStatus::Succeeded, 0),
        "{:?}",
        r.extract
    );
    assert!(archive.exists());

    // A full run reads the entries with the delta applied: nothing changed since, so nothing is written.
    let full = params(json!({"run_type": "full"}));
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": full}).to_string()))
        .await
        .unwrap();
    let r = run(&f).await;
    assert_eq!(
        (r.counts.unchanged, r.counts.updated, r.counts.created),
        (40, 0, 0),
        "{:?}",
        r.load
    );
    assert_eq!(
        cache_sizes(&f),
        (40, 3),
        "a full run that changes nothing adds nothing"
    );
    // A full run that changes one row adds it to the delta; the next full run
    // reads it and finds nothing to write.
    rows[19] = row(20, "Full");
    write(&folder, "w.csv", file(&rows).as_bytes());
    assert_eq!(run(&f).await.counts.updated, 1);
    assert_eq!(cache_sizes(&f), (40, 4), "ids 3, 7, 12 and 20 changed");
    let r = run(&f).await;
    assert_eq!((r.counts.unchanged, r.counts.updated), (40, 0), "{:?}", r.load);
    let cards = f.engine.datacards("workperiod", None, 100).await.unwrap();
    let last_of = |id: &str| {
        cards
            .iter()
            .find(|c| c.data["row_id"] == id)
            .map(|c| c.data["last_name"].clone())
            .unwrap()
    };
    assert_eq!(last_of("7"), "Round1");
    assert_eq!(last_of("3"), "Round0");

    // Many changes at once (more than one entry in eight): the cache is written whole again.
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": partial}).to_string()))
        .await
        .unwrap();
    for (i, r) in rows.iter_mut().enumerate().take(10) {
        *r = row(i as u32 + 1, "Bulk");
    }
    write(&folder, "w.csv", file(&rows).as_bytes());
    assert_eq!(run(&f).await.counts.updated, 10);
    assert_eq!(cache_sizes(&f), (40, 0));
}

#[tokio::test]
async fn the_minimum_row_count_counts_the_file_on_quiet_days_and_partial_reports_say_rows_and_changes() {
    let f = fresh().await;
    // The manual's example block: partial runs with a minimum of 10 rows, after one full run.
    let folder = hr(&f, json!({"run_type": "full", "minimum_row_count": 10})).await;
    let file = |rows: &[String]| format!("{HEADER}\n{}\n", rows.join("\n"));
    let rows: Vec<String> = (1..=50).map(|i| row(i, &format!("L{i}"))).collect();
    write(&folder, "w.csv", file(&rows).as_bytes());
    assert_eq!(run(&f).await.counts.created, 50);
    let partial = params(json!({"run_type": "partial", "minimum_row_count": 10}));
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": partial}).to_string()))
        .await
        .unwrap();

    // A quiet day: the same 50 rows again. Nothing changed, nothing is interrupted.
    for _day in 0..2 {
        write(&folder, "w.csv", file(&rows).as_bytes());
        let r = run(&f).await;
        assert_eq!(r.status, RunStatus::Succeeded, "{:?} {:?}", r.extract, r.load);
        assert_eq!((r.counts.fetched, r.counts.created, r.counts.updated), (0, 0, 0));
        let report = last_report(&f).await;
        let text = report["description"].as_str().unwrap();
        assert!(text.contains("held 50 rows, 0 of them new or changed"), "{text}");
    }

    // A busy day: two rows changed.
    let mut busy = rows.clone();
    busy[3] = row(4, "Moved");
    busy[7] = row(8, "Moved");
    write(&folder, "w.csv", file(&busy).as_bytes());
    let r = run(&f).await;
    assert_eq!((r.status, r.counts.updated), (RunStatus::Succeeded, 2));
    let text = last_report(&f).await["description"].as_str().unwrap().to_string();
    assert!(text.contains("held 50 rows, 2 of them new or changed"), "{text}");

    // A truncated delivery of 5 rows is interrupted and loads nothing.
    write(&folder, "w.csv", file(&busy[..5]).as_bytes());
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    assert!(
        r.load
            .info
            .as_deref()
            .unwrap_or_default()
            .contains("the file holds only 5 rows"),
        "{:?}",
        r.load
    );
    let report = last_report(&f).await;
    assert_eq!(case_of(&report), "minimum_rows");
    assert_eq!(
        report["description"],
        "Nothing was imported: the file holds only 5 rows, fewer than the minimum row count of 10."
    );
    // In German, wholly: the engine's finding is worded from the facts, not its English.
    let german = params(json!({"run_type": "partial", "minimum_row_count": 10, "language": "de"}));
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": german}).to_string()))
        .await
        .unwrap();
    let again = run(&f).await;
    assert_eq!(again.status, RunStatus::Interrupted);
    assert_eq!(
        last_report(&f).await["description"],
        "Nichts wurde importiert: die Datei enthält nur 5 Zeilen, weniger als die Mindestzeilenzahl 10."
    );
    let cards = f.engine.datacards("workperiod", None, 100).await.unwrap();
    assert_eq!(cards.len(), 50);
    // Approving cannot lift the minimum: it is offered for review only.
    assert_eq!(f.engine.interruption_help(&r), Some(InterruptionHelp::ReviewPlan));
    let refused = f.engine.plan_to_approve(&r.id).await.unwrap_err().to_string();
    assert!(refused.contains("approving cannot help"), "{refused}");
}

#[tokio::test]
async fn interruptions_offer_approval_only_where_it_helps() {
    let f = fresh().await;
    let folder = hr(&f, json!({"run_type": "partial", "update_limit": 1})).await;
    let file = |rows: &[String]| format!("{HEADER}\n{}\n", rows.join("\n"));
    let rows: Vec<String> = (1..=5).map(|i| row(i, &format!("L{i}"))).collect();
    write(&folder, "w.csv", file(&rows).as_bytes());

    // No archive yet: something to fix, not to approve.
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    assert_eq!(f.engine.interruption_help(&r), Some(InterruptionHelp::Fix));
    assert!(f.engine.plan_to_approve(&r.id).await.is_err());
    let alerts = f.engine.alerts(10).await.unwrap();
    assert_eq!(alerts[0].help, Some(InterruptionHelp::Fix));

    // Two files: fix, too.
    write(&folder, "w2.csv", file(&rows).as_bytes());
    let r = run(&f).await;
    assert_eq!(f.engine.interruption_help(&r), Some(InterruptionHelp::Fix));
    std::fs::remove_file(folder.join("in/w2.csv")).unwrap();

    // An update-limit trip: the plan can be approved.
    let full = params(json!({"run_type": "full"}));
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": full}).to_string()))
        .await
        .unwrap();
    assert_eq!(run(&f).await.status, RunStatus::Succeeded);
    let partial = params(json!({"run_type": "partial", "update_limit": 1}));
    f.engine
        .update_connector("HR", connector_input(&json!({"parameters": partial}).to_string()))
        .await
        .unwrap();
    let mut changed = rows.clone();
    changed[0] = row(1, "X");
    changed[1] = row(2, "Y");
    write(&folder, "w.csv", file(&changed).as_bytes());
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    assert_eq!(
        f.engine.interruption_help(&r),
        Some(InterruptionHelp::ApprovePlan)
    );
    let plan = f.engine.plan_to_approve(&r.id).await.unwrap();
    assert_eq!(
        (plan.help, plan.changed),
        (InterruptionHelp::ApprovePlan, Some(2))
    );
    assert_eq!(
        f.engine.alerts(10).await.unwrap()[0].help,
        Some(InterruptionHelp::ApprovePlan)
    );
    // A successful run has nothing to offer.
    let ok = f
        .engine
        .run_task("HR/Load", RunTrigger::Manual, true)
        .await
        .unwrap();
    assert_eq!(
        (ok.status, f.engine.interruption_help(&ok)),
        (RunStatus::Succeeded, None)
    );
}

#[tokio::test]
async fn malformed_xml_and_repeated_json_keys_load_nothing_and_file_names_stay_one_line() {
    let f = fresh().await;
    let folder = hr(&f, json!({"file_path": "in/*"})).await;
    let fields = "<RowId>1</RowId><EmployeeId>E1</EmployeeId><LastName>L</LastName><FirstName>F</FirstName>\
        <StartDate>2026-01-01</StartDate><TitleId>T</TitleId><ManagerId>M</ManagerId><OrgId>O</OrgId>";
    for (name, text, says) in [
        (
            "two-roots.xml",
            format!("<w>\n<r>{fields}</r>\n</w>\n<w>\n<r>{fields}</r>\n</w>\n"),
            "a second root element at line 4",
        ),
        (
            "trailing.xml",
            format!("<w>\n<r>{fields}</r>\n</w>\nleft over\n"),
            "text outside the root element at line 3",
        ),
        (
            "twice.json",
            r#"[{"RowId": "1", "EmployeeId": "E1", "LastName": "L", "LastName": "Other"}]"#.to_string(),
            "the key 'LastName' appears twice in one record",
        ),
    ] {
        write(&folder, name, text.as_bytes());
        let r = run(&f).await;
        assert_eq!(r.status, RunStatus::Failed, "{name}");
        let info = r.extract.info.clone().unwrap_or_default();
        assert!(info.contains(says), "{name}: {info}");
        assert!(f
            .engine
            .datacards("workperiod", None, 10)
            .await
            .unwrap()
            .is_empty());
        std::fs::remove_file(folder.join("in").join(name)).unwrap();
    }

    // A line break in a file's name never starts a line of its own in a message or report.
    write(
        &folder,
        "a.csv",
        format!("{HEADER}\n{}\n", row(1, "L")).as_bytes(),
    );
    write(
        &folder,
        "b\nhint: all good.csv",
        format!("{HEADER}\n{}\n", row(1, "L")).as_bytes(),
    );
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    let info = r.extract.info.clone().unwrap_or_default();
    assert!(info.contains("b\\u{a}hint: all good.csv"), "{info}");
    assert!(!info.contains('\n'), "{info}");
    let report = last_report(&f).await;
    assert!(
        !report["description"].as_str().unwrap().contains('\n'),
        "{report}"
    );
}

#[tokio::test]
async fn an_hr_task_takes_its_limits_and_run_type_from_the_connector_and_says_so() {
    let f = fresh().await;
    hr(
        &f,
        json!({"run_type": "partial", "update_limit": 50, "minimum_row_count": 10}),
    )
    .await;
    let shown = f.engine.connector_task_settings("HR").await.unwrap().unwrap();
    assert_eq!(shown.run_type, "partial");
    assert_eq!(
        (
            shown.limits.update_limit,
            shown.limits.minimum_row_count,
            shown.limits.override_update_limit
        ),
        (Some(50), Some(10), false)
    );
    assert!(shown.source.contains("connector 'HR'"), "{}", shown.source);
    // Limits or a run type typed for the task itself are refused, not silently replaced at its run.
    let mut own = work_period_task();
    own.name = Some("Own limits".into());
    own.limits = Some(provisio_engine::model::Limits {
        update_limit: Some(5),
        ..Default::default()
    });
    let e = f.engine.create_task("HR", own).await.unwrap_err().to_string();
    assert!(e.contains("limits of its connector's parameter block"), "{e}");
    let mut own = work_period_task();
    own.name = Some("Own run type".into());
    own.run_type = Some(provisio_engine::model::RunType::Incremental);
    let e = f.engine.create_task("HR", own).await.unwrap_err().to_string();
    assert!(e.contains("run_type of its connector's parameter block"), "{e}");
    // A script connector's tasks carry their own.
    connector(&f.engine, "Script").await;
    assert!(f
        .engine
        .connector_task_settings("Script")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_reports_blocked_rows_are_in_the_connectors_language_too() {
    let f = fresh().await;
    let folder = hr(&f, json!({"language": "de"})).await;
    // Row 2 lacks its employee id (mandatory), rows 3 and 4 share one object id.
    let rows = [
        row(1, "A"),
        "2;;B;Bo;2026-01-02;T1;M1;O1;x".to_string(),
        row(3, "C"),
        row(3, "D"),
    ];
    write(
        &folder,
        "w.csv",
        format!("{HEADER}\n{}\n", rows.join("\n")).as_bytes(),
    );
    let r = run(&f).await;
    assert_eq!(
        (r.status, r.counts.blocked),
        (RunStatus::Succeeded, 3),
        "{:?}",
        r.extract
    );
    let report = last_report(&f).await;
    let technical: Value = serde_json::from_str(report["report"].as_str().unwrap()).unwrap();
    let blocked: Vec<&str> = technical["blocked_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        blocked,
        [
            "Datensatz 2 (2): das Pflichtattribut employee_id hat keinen Wert",
            "3: die Objekt-ID kommt in 2 Datensätzen vor; alle sind gesperrt",
        ],
        "{blocked:?}"
    );
    // The run's own file keeps the engine's words for people reading the run.
    let text = std::fs::read_to_string(f.engine.run_dir(&r.id).join("blocked.txt")).unwrap();
    assert!(text.contains("has no value"), "{text}");
}
