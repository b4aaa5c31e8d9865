//! The ESM target (issue 13) end to end: `target add | test | remove`, and
//! tasks loading into a remote solution through its REST API. The solution
//! is the one thing we cannot run, so it is played by the stateful stand-in
//! of `crates/esm-standin` on 127.0.0.1; one test puts Prism in front of it,
//! which checks every request (and answer) against the published OpenAPI
//! description (`tests/esm/esm-rest-api-v1.openapi.json`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use esm_standin::{Config, StandIn, TemplateDef};
use provisio_engine::model::{RunStatus, RunTrigger, TargetInput};
use provisio_engine::script_library::ScriptKind;
use provisio_engine::Engine;
use serde_json::json;

use crate::scripted::{removed_person, renamed_person};
use crate::support::*;

const PASSWORD: &str = "webapi-pass-4711";

fn config() -> Config {
    let attr = |code: &str, ty: &str, multi: bool| (code.to_string(), ty.to_string(), multi);
    Config {
        user: "webapi".into(),
        password: PASSWORD.into(),
        templates: vec![
            TemplateDef {
                code: "person".into(),
                attributes: vec![
                    attr("employee_id", "string", false),
                    attr("last_name", "string", false),
                    attr("groups", "string", true),
                    attr("taskid", "string", false),
                    attr("dataSourceType", "string", false),
                    attr("accountStatus", "static-value", false),
                ],
                folders: vec!["persons".into()],
            },
            TemplateDef {
                code: "provisioning_failure".into(),
                attributes: vec![
                    attr("message", "text", false),
                    attr("run_id", "string", false),
                    attr("task", "string", false),
                    attr("taskid", "string", false),
                ],
                folders: vec!["failures".into()],
            },
        ],
        token_requests: None,
    }
}

fn target(name: &str, base_url: &str, password: &str) -> TargetInput {
    TargetInput {
        name: Some(name.into()),
        kind: Some("esm".into()),
        base_url: Some(base_url.into()),
        user: Some("webapi".into()),
        password: Some(password.into()),
        ..Default::default()
    }
}

/// People from the connector parameters: `ids`, a name `prefix`, ids with a
/// name too `long` for the solution (refused card by card), and `fail` to make the script fail.
const PEOPLE: &str = r#"import json, sys
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
p = args["connector_parameters"]
if p.get("fail"):
    sys.exit(3)
records = [{"id": i, "name": p.get("prefix", "N") + i + ("x" * 60 if i in p.get("long", []) else ""),
            "groups": ["g1", "g2"]} for i in p["ids"]]
with open(args["expected_output_filename"], "w") as f:
    json.dump(records, f)
"#;

/// A python_script connector `HR` writing to target `acme`, with task `HR/Load`.
async fn remote_task(engine: &Engine, dir: &std::path::Path, params: serde_json::Value) -> &'static str {
    engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    let file = dir.join("people.py");
    std::fs::write(&file, PEOPLE).unwrap();
    engine.add_script(&file, ScriptKind::Both, None).await.unwrap();
    engine
        .create_connector(connector_input(
            &json!({"name": "HR", "type": "python_script", "script": "people.py", "target": "acme", "parameters": params})
                .to_string(),
        ))
        .await
        .unwrap();
    engine
        .create_task(
            "HR",
            task_input(
                r#"{"name": "Load", "schedule": "0 0 * * * *", "object_id_attribute": "id",
                "target_template": "person", "target_folder": "persons", "task_id_attribute": "taskid",
                "data_source_type_attribute": "dataSourceType",
                "mappings": [{"source": "id", "target": "employee_id"}, {"source": "name", "target": "last_name"},
                             {"source": "groups", "target": "groups"}],
                "removal": {"status_attribute": "accountStatus", "removed_value": "5 - Removed"},
                "failure": {"template": "provisioning_failure", "folder": "failures", "attribute": "message"}}"#,
            ),
        )
        .await
        .unwrap();
    "HR/Load"
}

async fn set_params(engine: &Engine, params: serde_json::Value) {
    engine
        .update_connector("HR", connector_input(&json!({"parameters": params}).to_string()))
        .await
        .unwrap();
}

async fn run(engine: &Engine, task: &str) -> provisio_engine::model::Run {
    engine.run_task(task, RunTrigger::Manual, false).await.unwrap()
}

/// (employee_id, last_name, accountStatus) of the stand-in's live person cards, sorted.
fn people(standin: &StandIn) -> Vec<(String, String, String)> {
    let data = standin.data();
    let mut out: Vec<_> = data
        .live("person")
        .into_iter()
        .map(|(_, c)| {
            (
                c.text("employee_id").unwrap_or_default(),
                c.text("last_name").unwrap_or_default(),
                c.text("accountStatus").unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_target_is_added_only_with_working_credentials_and_removed_only_when_unused() {
    let standin = StandIn::start(config());
    let f = fresh().await;
    let e = f
        .engine
        .add_target(target("acme", &standin.base_url(), "wrong-password"))
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "credentials_refused", "{e}");
    assert!(e.to_string().contains("the credentials were refused"), "{e}");
    assert!(!e.to_string().contains("wrong-password"));
    assert_eq!(f.engine.targets().await.unwrap().len(), 1, "nothing was saved");

    let check = f
        .engine
        .add_target(target("acme", &standin.base_url(), PASSWORD))
        .await
        .unwrap();
    assert_eq!((check.templates, check.folders), (2, 2));
    let listed = f.engine.targets().await.unwrap();
    assert!(listed
        .iter()
        .any(|t| t.name == "acme" && t.base_url.as_deref() == Some(standin.base_url().as_str())));
    // The task pickers read the target's templates, as its API listed them.
    let templates = f.engine.templates(Some("acme")).await.unwrap();
    let person = templates.iter().find(|t| t.code == "person").unwrap();
    assert!(person.attribute("accountStatus").is_some());
    // The password is in the keyring only.
    for file in crate::scripted::all_files(f.engine.data_dir()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()),
            "{} holds the password",
            file.display()
        );
    }
    assert_eq!(f.engine.test_target("acme").await.unwrap().templates, 2);

    remote_task(&f.engine, f.dir.path(), json!({"ids": []})).await;
    let e = f.engine.remove_target("acme").await.unwrap_err().to_string();
    assert!(e.contains("used by the connectors HR"), "{e}");
    f.engine.remove_connector("HR", true).await.unwrap();
    f.engine.remove_target("acme").await.unwrap();
    assert_eq!(f.engine.targets().await.unwrap().len(), 1);
}

/// Create, update, removal marking, a card the solution refuses, and a
/// failure card: the whole pipeline against the stand-in at `base_url`.
async fn full_pipeline(f: &Fixture, standin: &StandIn, base_url: &str, api_path: Option<&str>) {
    let mut t = target("acme", base_url, PASSWORD);
    t.api_path = api_path.map(str::to_string);
    t.batch_size = Some(2);
    f.engine.add_target(t).await.unwrap();
    let task = remote_task(&f.engine, f.dir.path(), json!({"ids": ["1", "2", "3"]})).await;

    let r = run(&f.engine, task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?} {:?}", r.extract, r.load);
    assert_eq!(
        (r.counts.created, r.counts.updated),
        (3, 0),
        "{:?} {:?}",
        r.counts,
        r.extract
    );
    assert_eq!(
        people(standin),
        [("1", "N1", ""), ("2", "N2", ""), ("3", "N3", "")].map(|(a, b, c)| (a.into(), b.into(), c.into()))
    );
    let task_id = f.engine.task(task).await.unwrap().id;
    assert!(standin
        .data()
        .live("person")
        .iter()
        .all(|(_, c)| c.text("taskid").as_deref() == Some(task_id.as_str())));

    // Nothing changed: nothing is written.
    let writes = standin.data().bulk_writes;
    let r = run(&f.engine, task).await;
    assert_eq!((r.status, r.counts.unchanged), (RunStatus::Succeeded, 3));
    assert_eq!(standin.data().bulk_writes, writes);

    // 1 and 2 renamed, 3 gone, 4 new, 5 refused by the solution (its name is too long).
    set_params(
        &f.engine,
        json!({"ids": ["1", "2", "4", "5"], "prefix": "M", "long": ["5"]}),
    )
    .await;
    let r = run(&f.engine, task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.load);
    assert_eq!(
        (
            r.counts.created,
            r.counts.updated,
            r.counts.removed,
            r.counts.failed
        ),
        (1, 2, 1, 1)
    );
    let info = r.load.info.clone().unwrap_or_default();
    assert!(
        info.contains("refused 1 cards (first: 5: last_name: Value is longer than 50 characters)"),
        "{info}"
    );
    assert!(r.files.iter().any(|f| f.kind == "failed"));
    assert_eq!(
        people(standin),
        [
            ("1", "M1", ""),
            ("2", "M2", ""),
            ("3", "N3", "5 - Removed"),
            ("4", "M4", "")
        ]
        .map(|(a, b, c)| (a.into(), b.into(), c.into()))
    );

    // The refused card is tried again next time (the cache did not record it).
    set_params(&f.engine, json!({"ids": ["1", "2", "4", "5"], "prefix": "M"})).await;
    let r = run(&f.engine, task).await;
    assert_eq!((r.counts.created, r.counts.failed), (1, 0), "{:?}", r.load);

    // A failed run leaves a failure card on the target.
    set_params(&f.engine, json!({"ids": [], "fail": true})).await;
    let r = run(&f.engine, task).await;
    assert_eq!(r.status, RunStatus::Failed);
    let data = standin.data();
    let failures = data.live("provisioning_failure");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].1.text("run_id").as_deref(), Some(r.id.as_str()));
    assert_eq!(
        failures[0].1.text("message").as_deref(),
        Some("the script exited with code 3")
    );
}

#[tokio::test]
async fn a_task_loads_into_an_esm_target_end_to_end_renewing_an_expired_token() {
    let mut config = config();
    config.token_requests = Some(5);
    let standin = StandIn::start(config);
    let f = fresh().await;
    full_pipeline(&f, &standin, &standin.base_url(), None).await;
    let data = standin.data();
    assert!(
        data.logins > 2,
        "expired tokens were renewed ({} logins)",
        data.logins
    );
    assert!(
        data.requests.iter().all(|r| !r.contains("/rest-api/")),
        "the base path is stripped in the record"
    );
}

#[tokio::test]
async fn a_load_cut_off_midway_leaves_no_duplicates_and_the_next_run_converges() {
    let standin = StandIn::start(config());
    let f = fresh().await;
    let mut t = target("acme", &standin.base_url(), PASSWORD);
    t.batch_size = Some(10);
    f.engine.add_target(t).await.unwrap();
    let ids: Vec<String> = (1..=120).map(|i| i.to_string()).collect();
    let task = remote_task(&f.engine, f.dir.path(), json!({"ids": ids})).await;
    standin.data().cut_after_bulk_writes = Some(50);

    let r = run(&f.engine, task).await;
    assert_eq!(r.status, RunStatus::Failed, "{:?}", r.load);
    let info = r.load.info.clone().unwrap_or_default();
    assert!(info.contains("was not repeated"), "{info}");
    assert_eq!(
        standin.data().live("person").len(),
        50,
        "the solution kept what it confirmed"
    );
    // What it confirmed is journalled all the same, so the failed run can be
    // undone: four batches of ten (the fifth batch's answer was cut off, so
    // the engine never learnt those cards' ids; the next run adopts them by key).
    assert!(
        f.engine.run_undoable(&r.id).await.unwrap(),
        "the window offers the undo"
    );
    let plan = f.engine.undo_run(&r.id, true, false, &[]).await.unwrap();
    assert_eq!(plan.steps.len(), 40, "{plan:?}");
    assert!(plan
        .steps
        .iter()
        .all(|s| s.action == "mark removed" && s.conflict.is_none()));

    let r = run(&f.engine, task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.load);
    assert_eq!((r.counts.created, r.counts.updated), (70, 50));
    let mut keys: Vec<String> = people(&standin).into_iter().map(|p| p.0).collect();
    keys.dedup();
    assert_eq!(keys.len(), 120, "one card per person, no duplicates");
    let r = run(&f.engine, task).await;
    assert_eq!(r.counts.unchanged, 120, "and the cache now knows them all");
}

/// Prism (from npm, installed by tools/setup-machine.sh) as a validating
/// proxy: it answers 422 to any request the description does not allow, and
/// reports answers that break it.
struct Prism {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Prism {
    fn start(upstream: &str, dir: &std::path::Path) -> Prism {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/esm");
        let bin = root.join("node_modules/.bin/prism");
        assert!(
            bin.exists(),
            "{} is missing: run tools/setup-machine.sh",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("prism.log");
        let child = Command::new(bin)
            .args(["proxy", "--errors", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(root.join("esm-rest-api-v1.openapi.json"))
            .arg(upstream)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("prism starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "prism did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Prism { child, port, log }
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stand-in with the remote task over `ids` under `limits`, its first
/// load (every card new) approved and sent.
async fn loaded_with_limits(
    ids: &serde_json::Value,
    limits: serde_json::Value,
) -> (StandIn, Fixture, &'static str) {
    let standin = StandIn::start(config());
    let f = fresh().await;
    f.engine
        .add_target(target("acme", &standin.base_url(), PASSWORD))
        .await
        .unwrap();
    let task = remote_task(&f.engine, f.dir.path(), json!({ "ids": ids })).await;
    let mut t = editable_task(&f.engine, task).await;
    t["limits"] = limits;
    f.engine
        .update_task(task, serde_json::from_value(t).unwrap())
        .await
        .unwrap();
    let first = f.engine.run_task(task, RunTrigger::Manual, true).await.unwrap();
    let all = ids.as_array().map_or(0, Vec::len) as u64;
    assert_eq!(first.counts.created, all, "{:?}", first.load);
    (standin, f, task)
}

/// After a cache clear the solution's cards are read by key, so a task with
/// an update limit counts what would change there: a quiet morning loads, a
/// mass change is refused as the changes it is.
#[tokio::test]
async fn after_a_cache_clear_an_update_limit_counts_what_would_change_in_the_solution() {
    let ids = json!(["1", "2", "3", "4", "5"]);
    let (standin, f, task) = loaded_with_limits(&ids, json!({"update_limit": 3})).await;

    f.engine.clear_cache(task).await.unwrap();
    let quiet = run(&f.engine, task).await;
    assert_eq!(quiet.status, RunStatus::Succeeded, "{:?}", quiet.load);
    assert_eq!(standin.data().live("person").len(), 5, "none duplicated");

    set_params(&f.engine, json!({"ids": ids, "prefix": "X"})).await;
    f.engine.clear_cache(task).await.unwrap();
    let mass = run(&f.engine, task).await;
    assert_eq!(mass.status, RunStatus::Interrupted, "{:?}", mass.load);
    let info = mass.load.info.clone().unwrap_or_default();
    assert!(
        info.starts_with("5 planned changes (0 new, 5 changed, 0 removals) exceed the update limit of 3"),
        "{info}"
    );
    assert!(
        people(&standin).iter().all(|(_, name, _)| name.starts_with('N')),
        "nothing was sent: {:?}",
        people(&standin)
    );
    // The plan a person approves says what it would write, read from the solution.
    let plan = f.engine.planned_changes(&mass.id).await.unwrap();
    let renamed = |id: &str| renamed_person(id, "X");
    assert_eq!(held_fields(&plan), ["1", "2", "3", "4", "5"].map(renamed));
}

/// Changed cards held over the limit in a remote solution: the plan a person
/// approves shows each card's fields as the solution holds them now and as
/// applying writes them, then applying sends exactly those.
#[tokio::test]
async fn held_changes_show_what_the_solution_holds_and_what_applying_writes() {
    let ids = json!(["1", "2", "3"]);
    let (standin, f, task) =
        loaded_with_limits(&ids, json!({"update_limit": 1, "on_limit": "hold_excess"})).await;

    set_params(&f.engine, json!({"ids": ids, "prefix": "X"})).await;
    let held = run(&f.engine, task).await;
    assert_eq!(held.counts.held, 3, "{:?}", held.load);
    let plan = f.engine.planned_changes(&held.id).await.unwrap();
    let renamed = |id: &str| renamed_person(id, "X");
    assert_eq!(
        held_fields(&plan),
        ["1", "2", "3"].map(renamed),
        "only the renamed field, read from the solution"
    );
    assert!(
        people(&standin).iter().all(|(_, name, _)| name.starts_with('N')),
        "nothing sent yet"
    );

    f.engine.apply_held(&held.id).await.unwrap();
    assert!(
        people(&standin).iter().all(|(_, name, _)| name.starts_with('X')),
        "{:?}",
        people(&standin)
    );
}

/// Removals held over the limit in a remote solution: the plan a person
/// approves says whose cards they are, as the solution holds them now.
#[tokio::test]
async fn held_removals_show_whose_cards_they_are_in_the_solution() {
    let ids = json!(["1", "2", "3"]);
    let (standin, f, task) =
        loaded_with_limits(&ids, json!({"update_limit": 1, "on_limit": "hold_excess"})).await;

    set_params(&f.engine, json!({"ids": ["1"]})).await;
    let held = run(&f.engine, task).await;
    assert_eq!(held.counts.held, 2, "{:?}", held.load);
    let plan = f.engine.planned_changes(&held.id).await.unwrap();
    // Both, each with the values the solution holds now (in the order the solution lists them).
    let mut shown = removed_fields(&plan);
    shown.sort();
    assert_eq!(shown, ["2", "3"].map(removed_person));
    assert!(
        people(&standin).iter().all(|(_, _, status)| status.is_empty()),
        "nothing sent yet: {:?}",
        people(&standin)
    );
    assert_eq!(plan.cards_unread, None);

    // The solution out of reach: the review says why it lists the keys only, and lists them.
    drop(standin);
    let plan = f.engine.planned_changes(&held.id).await.unwrap();
    assert!(plan.removed_cards.is_empty(), "{:?}", plan.removed_cards);
    let mut keys = plan.removed_object_ids.clone();
    keys.sort();
    assert_eq!(keys, ["2", "3"]);
    let why = plan.cards_unread.expect("the review says why it shows no card");
    assert!(why.contains("cannot reach"), "{why}");
}

#[tokio::test]
async fn a_review_of_new_people_asks_the_solution_only_for_what_it_shows() {
    let (standin, f, task) = loaded_with_limits(
        &json!(["1", "2", "3"]),
        json!({"update_limit": 1, "on_limit": "interrupt"}),
    )
    .await;
    // 300 newcomers, nobody changed: over the limit, the run stops before loading.
    let ids: Vec<String> = (1..=303).map(|i| i.to_string()).collect();
    set_params(&f.engine, json!({ "ids": ids })).await;
    let stopped = run(&f.engine, task).await;
    assert_eq!(
        stopped.status,
        provisio_engine::model::RunStatus::Interrupted,
        "{:?}",
        stopped.load
    );
    standin.data().requests.clear();
    let plan = f.engine.planned_changes(&stopped.id).await.unwrap();
    assert_eq!((plan.new, plan.changed), (Some(300), Some(0)));
    assert_eq!(plan.new_cards.len(), 50, "the first 50 newcomers");
    assert!(plan
        .new_cards
        .iter()
        .all(|c| c.values.iter().any(|v| v.field == "last_name")));
    // The first 200 keys, 40 a listing: the other 103 are not asked for.
    let listings = standin
        .data()
        .requests
        .iter()
        .filter(|r| r.starts_with("GET /dc/person/data"))
        .count();
    assert_eq!(listings, 5, "{:?}", standin.data().requests);
}

#[tokio::test]
async fn no_request_the_client_sends_violates_the_published_description() {
    let standin = StandIn::start(config());
    let f = fresh().await;
    let prism = Prism::start(&standin.base_url(), f.dir.path());
    // Prism matches the description's paths without its base path.
    full_pipeline(
        &f,
        &standin,
        &format!("http://127.0.0.1:{}", prism.port),
        Some("/"),
    )
    .await;
    let log = std::fs::read_to_string(&prism.log).unwrap();
    let checked = log.matches("Request received").count();
    assert!(checked >= 20, "Prism saw the calls ({checked}):\n{log}");
    for bad in ["did not pass the validation", "violation", "✖"] {
        assert!(!log.contains(bad), "Prism found a violation:\n{log}");
    }
    // Every kind of call went through it.
    let seen = standin.data().requests.clone();
    for call in [
        "POST /users/login",
        "GET /dc",
        "GET /dc/person",
        "PUT /dc/person/data",
        "GET /dc/person/data",
        "PATCH /dc/person/data/",
        "POST /dc/provisioning_failure/data",
    ] {
        assert!(
            seen.iter().any(|r| r.starts_with(call)),
            "{call} was not checked: {seen:?}"
        );
    }
}

/// Undo through the REST API (issue 24), every call checked by Prism: a bad
/// day (renames, a leaver, a newcomer) is planned, undone, the undo undone;
/// a card a person changed in the solution since is a conflict, skipped.
#[tokio::test]
async fn a_run_into_the_solution_is_undone_through_its_api_and_the_undo_can_be_undone() {
    let standin = StandIn::start(config());
    let f = fresh().await;
    let prism = Prism::start(&standin.base_url(), f.dir.path());
    let mut t = target("acme", &format!("http://127.0.0.1:{}", prism.port), PASSWORD);
    t.api_path = Some("/".into());
    t.batch_size = Some(2);
    f.engine.add_target(t).await.unwrap();
    let task = remote_task(&f.engine, f.dir.path(), json!({"ids": ["1", "2", "3"]})).await;
    run(&f.engine, task).await;
    let before_bad_day = people(&standin);

    set_params(&f.engine, json!({"ids": ["1", "2", "4"], "prefix": "M"})).await;
    let bad = run(&f.engine, task).await;
    assert_eq!(
        (bad.counts.created, bad.counts.updated, bad.counts.removed),
        (1, 2, 1),
        "{:?}",
        bad.load
    );
    let bad_day = people(&standin);

    let plan = f.engine.undo_run(&bad.id, true, false, &[]).await.unwrap();
    let mut actions: Vec<&str> = plan.steps.iter().map(|s| s.action.as_str()).collect();
    actions.sort();
    assert_eq!(
        actions,
        ["mark removed", "restore", "set back", "set back"],
        "{plan:?}"
    );
    assert!(plan.steps.iter().all(|s| s.conflict.is_none()), "{plan:?}");
    let renamed = plan.steps.iter().find(|s| s.action == "set back").unwrap();
    assert_eq!(renamed.changes[0].field, "last_name");
    // Whose card, read from the solution with it: its key and its name.
    let restore = plan.steps.iter().find(|s| s.action == "restore").unwrap();
    assert_eq!(restore.object_id.as_deref(), Some("3"), "{restore:?}");
    let name = restore.holds.iter().find(|h| h.field == "last_name");
    assert_eq!(name.and_then(|h| h.value.as_str()), Some("N3"), "{restore:?}");
    assert_eq!(people(&standin), bad_day, "a dry run changes nothing");

    let undone = f.engine.undo_run(&bad.id, false, false, &[]).await.unwrap();
    let undo_id = undone.undo_run_id.clone().unwrap();
    let mut expected = before_bad_day.clone();
    expected.push(("4".into(), "M4".into(), "5 - Removed".into()));
    assert_eq!(
        people(&standin),
        expected,
        "the names and the leaver are back, the newcomer removed"
    );
    let undo_run = f.engine.run(&undo_id).await.unwrap();
    assert_eq!(
        (undo_run.kind.as_str(), undo_run.status),
        ("undo", RunStatus::Succeeded)
    );
    assert_eq!((undo_run.counts.updated, undo_run.counts.removed), (3, 1));
    let e = f
        .engine
        .undo_run(&bad.id, false, false, &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("nothing to undo"), "undone already: {e}");

    // Undoing the undo brings the bad day back.
    f.engine.undo_run(&undo_id, false, false, &[]).await.unwrap();
    assert_eq!(people(&standin), bad_day);

    // Someone renames card 2 in the solution: undoing the bad day again
    // reports it and leaves it, unless forced.
    let two = *standin
        .data()
        .live("person")
        .iter()
        .find(|(_, c)| c.text("employee_id").as_deref() == Some("2"))
        .unwrap()
        .0;
    // Why card 2 is as it is, from this engine's journal of the target.
    let history = f.engine.remote_card_history("acme", two).await.unwrap();
    let told: Vec<(&str, &str)> = history
        .iter()
        .map(|c| (c.kind.as_str(), c.reason.split(' ').next().unwrap_or_default()))
        .collect();
    assert_eq!(
        told,
        [
            ("update", "set"),
            ("update", "set"),
            ("update", "changed"),
            ("create", "created")
        ],
        "newest first: the undo undone, the undo, the bad day, the first run"
    );
    assert_eq!(history[3].source_fingerprint.as_deref().map(str::len), Some(16));
    assert!(f.engine.remote_card_history("acme", 999_999).await.is_err());
    assert!(standin.data().edit(two, "person", "last_name", "Edited"));
    let plan = f.engine.undo_run(&bad.id, true, false, &[]).await.unwrap();
    let conflict = plan.steps.iter().find(|s| s.card_id == two).unwrap();
    assert!(
        conflict
            .conflict
            .as_deref()
            .is_some_and(|c| c.contains("changed again since: last_name")),
        "{plan:?}"
    );
    f.engine.undo_run(&bad.id, false, false, &[]).await.unwrap();
    let now = people(&standin);
    assert!(
        now.contains(&("2".into(), "Edited".into(), String::new())),
        "{now:?}"
    );
    assert!(now.contains(&("1".into(), "N1".into(), String::new())), "{now:?}");

    let log = std::fs::read_to_string(&prism.log).unwrap();
    for bad in ["did not pass the validation", "violation", "✖"] {
        assert!(!log.contains(bad), "Prism found a violation:\n{log}");
    }
}

/// A careless script writes a connector secret into a remote card: the
/// solution gets what the script wrote, the journal in the card file only
/// its mask, and undoing the run after cannot write the mask back.
#[tokio::test]
async fn a_secret_written_to_the_solution_is_masked_in_the_journal_and_never_written_back() {
    let standin = StandIn::start(config());
    let f = fresh().await;
    f.engine
        .add_target(target("acme", &standin.base_url(), PASSWORD))
        .await
        .unwrap();
    let task = remote_task(&f.engine, f.dir.path(), json!({"ids": ["1"]})).await;
    run(&f.engine, task).await;
    // `prefix_token` is a secret by its name; the script uses it as the name's prefix.
    let script = PEOPLE.replace(r#"p.get("prefix", "N")"#, r#"p.get("prefix_token", "N")"#);
    let file = f.dir.path().join("people_token.py");
    std::fs::write(&file, script).unwrap();
    f.engine.add_script(&file, ScriptKind::Both, None).await.unwrap();
    f.engine
        .update_connector(
            "HR",
            connector_input(
                &json!({"script": "people_token.py", "parameters": {"ids": ["1"], "prefix_token": "tok-SECRET-98765-"}})
                    .to_string(),
            ),
        )
        .await
        .unwrap();
    let leaked = run(&f.engine, task).await;
    assert_eq!(leaked.counts.updated, 1, "{:?}", leaked.load);
    assert_eq!(
        people(&standin)[0].1,
        "tok-SECRET-98765-1",
        "the solution has what the script wrote"
    );

    let data = f.engine.data_dir().to_path_buf();
    let journal: Vec<String> = {
        let conn = rusqlite::Connection::open(data.join("datacards.db")).unwrap();
        let mut rows = conn
            .prepare("SELECT coalesce(before, '') || after FROM remote_changes")
            .unwrap();
        rows.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(journal.iter().any(|r| r.contains("********1")), "{journal:?}");
    assert!(journal.iter().all(|r| !r.contains("SECRET")), "{journal:?}");

    // Undo the leak, then undo that undo: the mask is a conflict, never written, even forced.
    let undo = f.engine.undo_run(&leaked.id, false, false, &[]).await.unwrap();
    assert_eq!(people(&standin)[0].1, "N1");
    let plan = f
        .engine
        .undo_run(undo.undo_run_id.as_deref().unwrap(), true, false, &[])
        .await
        .unwrap();
    assert!(
        plan.steps.iter().all(|s| s
            .conflict
            .as_deref()
            .is_some_and(|c| c.contains("held a connector secret"))),
        "{plan:?}"
    );
    f.engine
        .undo_run(undo.undo_run_id.as_deref().unwrap(), false, true, &[])
        .await
        .unwrap();
    assert_eq!(
        people(&standin)[0].1,
        "N1",
        "no mask was written into the solution"
    );
}

#[tokio::test]
async fn a_target_with_a_request_rate_limit_paces_its_calls() {
    let standin = StandIn::start(config());
    let f = fresh().await;
    let mut t = target("acme", &standin.base_url(), PASSWORD);
    t.requests_per_second = Some(10.0);
    let started = Instant::now();
    f.engine.add_target(t).await.unwrap();
    // Login, the template list and the two templates: four calls, at most ten a second.
    assert_eq!(standin.data().requests.len(), 4);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "4 calls at 10/s took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_ca_file_that_is_not_pem_is_refused_when_the_target_is_saved() {
    let f = fresh().await;
    let standin = StandIn::start(config());
    let not_pem = f.dir.path().join("ca.der");
    std::fs::write(&not_pem, [0x30u8, 0x82, 0x01, 0x0a, 0x02]).unwrap();
    let mut t = target("acme", &standin.base_url(), PASSWORD);
    t.ca_file = Some(not_pem.display().to_string());
    let e = f.engine.add_target(t).await.unwrap_err().to_string();
    assert!(e.contains("holds no PEM certificate"), "{e}");
    assert!(f.engine.targets().await.unwrap().iter().all(|t| t.name != "acme"));
}

/// The stand-in's solution with what an HR title run and its report need.
fn hr_config() -> Config {
    let attr = |code: &str, ty: &str, multi: bool| (code.to_string(), ty.to_string(), multi);
    let mut cfg = config();
    cfg.templates.push(TemplateDef {
        code: "title".into(),
        attributes: vec![
            attr("title_id", "string", false),
            attr("name", "string", false),
            attr("taskid", "string", false),
        ],
        folders: vec!["titles".into()],
    });
    cfg.templates.push(TemplateDef {
        code: "admin_task".into(),
        attributes: vec![
            attr("title", "string", false),
            attr("description", "text", false),
            attr("status", "string", false),
            attr("report", "text", false),
            attr("attachments", "attachment", true),
            attr("taskid", "string", false),
        ],
        folders: vec!["admin_tasks".into()],
    });
    cfg
}

/// An HR title task writing through the target `acme` (at `base_url`,
/// `api_path`), whose block names the same solution; `inbox` holds its file.
async fn hr_title_task(f: &Fixture, base_url: &str, api_path: Option<&str>, inbox: &std::path::Path) {
    let mut t = target("acme", base_url, PASSWORD);
    t.api_path = api_path.map(str::to_string);
    f.engine.add_target(t).await.unwrap();
    let params = json!({"file_path": format!("{}/*.csv", inbox.display()), "data_type": "title", "run_type": "full",
        "report_template_code": "admin_task", "report_folder_code": "admin_tasks",
        "webapi_url": base_url, "webapi_user": "webapi", "webapi_password": PASSWORD});
    f.engine
        .create_connector(connector_input(
            &json!({"name": "HR", "type": "hr_file", "target": "acme", "parameters": params}).to_string(),
        ))
        .await
        .unwrap();
    f.engine
        .create_task(
            "HR",
            task_input(
                r#"{"name": "Load", "schedule": "0 0 6 * * *", "object_id_attribute": "TitleId",
                    "target_template": "title", "target_folder": "titles", "task_id_attribute": "taskid",
                    "mappings": [{"source": "TitleId", "target": "title_id"}, {"source": "Name", "target": "name"}]}"#,
            ),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_hr_report_and_its_archive_uploads_pass_the_published_description() {
    let standin = StandIn::start(hr_config());
    let f = fresh().await;
    f.engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    let prism = Prism::start(&standin.base_url(), f.dir.path());
    let inbox = f.dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("t.csv"), "TitleId;Name\nT1;Engineer\nT2;Manager\n").unwrap();
    // Prism matches the description's paths without its base path.
    hr_title_task(&f, &format!("http://127.0.0.1:{}", prism.port), Some("/"), &inbox).await;
    let r = f
        .engine
        .run_task("HR/Load", RunTrigger::Manual, false)
        .await
        .unwrap();
    let log = std::fs::read_to_string(&prism.log).unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}\n{log}", r.message);
    for bad in ["did not pass the validation", "violation", "✖"] {
        assert!(!log.contains(bad), "Prism found a violation:\n{log}");
    }
    let seen = standin.data().requests.clone();
    let uploads = seen
        .iter()
        .filter(|r| r.starts_with("POST /dc/admin_task/data/") && r.contains("/attachments/file"))
        .count();
    assert!(uploads >= 1, "no archive was uploaded through Prism: {seen:?}");
    assert!(
        log.matches("Request received").count() >= seen.len(),
        "every call went through Prism:\n{log}"
    );
}

#[tokio::test]
async fn an_hr_run_report_reaches_the_solution_with_its_archives_uploaded_as_attachments() {
    let standin = StandIn::start(hr_config());
    let f = fresh().await;
    f.engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    f.engine
        .add_target(target("acme", &standin.base_url(), PASSWORD))
        .await
        .unwrap();
    let inbox = f.dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("t.csv"), "TitleId;Name\nT1;Engineer\nT2;Manager\n").unwrap();
    let params = json!({"file_path": format!("{}/*.csv", inbox.display()), "data_type": "title", "run_type": "full",
        "report_template_code": "admin_task", "report_folder_code": "admin_tasks",
        "webapi_url": standin.base_url(), "webapi_user": "webapi", "webapi_password": PASSWORD});
    // A report template the solution lacks is named when the connector is saved.
    let mut lacking = params.clone();
    lacking["report_template_code"] = json!("hr_report");
    let e = f
        .engine
        .create_connector(connector_input(
            &json!({"name": "HR", "type": "hr_file", "target": "acme", "parameters": lacking}).to_string(),
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("template 'hr_report' does not exist in target 'acme'"),
        "{e}"
    );
    // webapi_* that name another solution, user or password than the target's are refused, not ignored.
    for (key, value, said) in [
        (
            "webapi_url",
            json!("https://other.example"),
            "webapi_url 'https://other.example' is not its address",
        ),
        (
            "webapi_user",
            json!("someone"),
            "webapi_user 'someone' is not its user ('webapi')",
        ),
        (
            "webapi_password",
            json!("not-the-password-9"),
            "webapi_password is not its password",
        ),
    ] {
        let mut other = params.clone();
        other[key] = value;
        let e = f
            .engine
            .create_connector(connector_input(
                &json!({"name": "HR", "type": "hr_file", "target": "acme", "parameters": other}).to_string(),
            ))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("writes to target 'acme'") && e.contains(said), "{e}");
        assert!(!e.contains("not-the-password-9") && !e.contains(PASSWORD), "{e}");
    }
    // The same solution given with the API's path, as the HR manual writes it, is the target's.
    let mut with_path = params.clone();
    with_path["webapi_url"] = json!(format!("{}/rest-api/itsm/v1/", standin.base_url()));
    f.engine
        .create_connector(connector_input(
            &json!({"name": "HR", "type": "hr_file", "target": "acme", "parameters": with_path}).to_string(),
        ))
        .await
        .unwrap();
    assert!(f.engine.connector_notes("HR").await.unwrap().is_empty());
    // Pointing a local connector with another solution's block at the target is refused too.
    let mut elsewhere = params.clone();
    elsewhere["webapi_url"] = json!("https://other.example/rest-api/itsm/v1");
    f.engine
        .create_connector(connector_input(
            &json!({"name": "HR local", "type": "hr_file", "parameters": elsewhere}).to_string(),
        ))
        .await
        .unwrap();
    let notes = f.engine.connector_notes("HR local").await.unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("webapi_url, webapi_user, webapi_password are not used: this connector writes to the local datacard store"),
        "{notes:?}"
    );
    let e = f
        .engine
        .update_connector("HR local", connector_input(r#"{"target": "acme"}"#))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("webapi_url 'https://other.example/rest-api/itsm/v1' is not its address"),
        "{e}"
    );
    assert_eq!(f.engine.connector("HR local").await.unwrap().target, "local");
    f.engine
        .create_task(
            "HR",
            task_input(
                r#"{"name": "Load", "schedule": "0 0 6 * * *", "object_id_attribute": "TitleId",
                    "target_template": "title", "target_folder": "titles", "task_id_attribute": "taskid",
                    "mappings": [{"source": "TitleId", "target": "title_id"}, {"source": "Name", "target": "name"}]}"#,
            ),
        )
        .await
        .unwrap();
    let r = f
        .engine
        .run_task("HR/Load", RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!(
        r.status,
        RunStatus::Succeeded,
        "{:?} {:?} {:?}",
        r.extract,
        r.load,
        r.message
    );

    let data = standin.data();
    let report = data
        .cards
        .iter()
        .find(|(_, c)| c.template == "admin_task")
        .map(|(id, c)| (*id, c.clone()))
        .expect("the report card");
    let names: Vec<&str> = data
        .attachments
        .iter()
        .filter(|a| a.card == report.0 && a.attribute == "attachments")
        .map(|a| a.name.as_str())
        .collect();
    assert!(names.contains(&"title_archive.json"), "{names:?}");
    let archive = data
        .attachments
        .iter()
        .find(|a| a.name == "title_archive.json")
        .unwrap();
    assert!(String::from_utf8_lossy(&archive.bytes).contains("Engineer"));
    // No value of the card names a file on this workstation.
    let shown = serde_json::to_string(&report.1.data).unwrap();
    assert!(!shown.contains(&f.dir.path().display().to_string()), "{shown}");
}
