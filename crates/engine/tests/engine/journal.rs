//! The change journal: every card a load creates, changes or marks removed
//! is journalled with the run, in the load's own transaction, and
//! `datacard_history` says why a card is as it is, newest first.

use provisio_engine::model::RunStatus;

use crate::scripted::*;
use crate::support::*;

/// The person cards' last names, sorted.
async fn last_names(engine: &provisio_engine::Engine) -> Vec<String> {
    let mut names: Vec<String> = engine
        .datacards("person", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.data["last_name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

/// (employee_id, last_name, accountStatus) of the person cards, sorted.
async fn people(engine: &provisio_engine::Engine) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = engine
        .datacards("person", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            let s = |k: &str| c.data[k].as_str().unwrap_or("").to_string();
            (s("employee_id"), s("last_name"), s("accountStatus"))
        })
        .collect();
    v.sort();
    v
}

/// Connector parameters naming persons 1 and 2 with `prefix`.
fn prefixed(prefix: &str) -> provisio_engine::model::ConnectorInput {
    connector_input(&format!(
        r#"{{"parameters": {{"ids": ["1", "2"], "prefix": "{prefix}"}}}}"#
    ))
}

/// Task HR/Load loads persons 1 and 2 (N1, N2), then a bad day renames them
/// (X1, X2): the task and the bad day's run.
async fn a_bad_day(f: &Fixture) -> (String, provisio_engine::model::Run) {
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2"]}"#,
        "{}",
    )
    .await;
    run(&f.engine, &task).await;
    f.engine.update_connector("HR", prefixed("X")).await.unwrap();
    let bad = run(&f.engine, &task).await;
    (task, bad)
}

#[tokio::test]
async fn a_card_s_history_names_the_runs_that_created_changed_and_removed_it_field_by_field() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3", "4"]}"#,
        r#"{"removal": {"status_attribute": "accountStatus", "removed_value": "5 - Removed"}}"#,
    )
    .await;
    let first = run(&f.engine, &task).await;
    assert_eq!(first.counts.created, 4);
    let (one, two, four) = (
        card_id_of_person(&f.engine, "1").await,
        card_id_of_person(&f.engine, "2").await,
        card_id_of_person(&f.engine, "4").await,
    );
    // A card as created names its record too (read from the card, which still holds it).
    let created_from = |history: Vec<provisio_engine::model::CardChange>| {
        assert_eq!(history.len(), 1, "{history:?}");
        history[0]
            .source_fingerprint
            .clone()
            .expect("the creating record's fingerprint")
    };
    let created_fingerprint = created_from(f.engine.datacard_history(one).await.unwrap());
    let two_created = created_from(f.engine.datacard_history(two).await.unwrap());
    let four_created = created_from(f.engine.datacard_history(four).await.unwrap());
    assert_ne!(two_created, four_created, "another record, another fingerprint");

    // A busy day: everyone's name changes (prefix M) and 4 leaves; a quiet day changes nothing.
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "2", "3"], "prefix": "M"}}"#),
        )
        .await
        .unwrap();
    let busy = run(&f.engine, &task).await;
    assert_eq!((busy.counts.updated, busy.counts.removed), (3, 1));
    let quiet = run(&f.engine, &task).await;
    assert_eq!(quiet.counts.updated, 0);
    // 2 leaves the source: the next full run marks it removed.
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "3"], "prefix": "M"}}"#),
        )
        .await
        .unwrap();
    let leaver = run(&f.engine, &task).await;
    assert_eq!((leaver.status, leaver.counts.removed), (RunStatus::Succeeded, 1));

    let history = f.engine.datacard_history(two).await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["remove", "update", "create"],
        "newest first; the quiet day changed nothing"
    );
    let runs: Vec<&str> = history.iter().map(|c| c.run_id.as_str()).collect();
    assert_eq!(runs, [leaver.id.as_str(), busy.id.as_str(), first.id.as_str()]);
    assert!(history.iter().all(|c| c.task == "HR/Load"));
    let removed = &history[0];
    assert!(removed.reason.starts_with("missing from full run"), "{removed:?}");
    assert_eq!(removed.changes.len(), 1);
    assert_eq!(removed.changes[0].field, "accountStatus");
    assert_eq!(removed.changes[0].to, "5 - Removed");
    let changed = &history[1];
    assert_eq!(
        changed.changes.len(),
        1,
        "only the field that changed: {changed:?}"
    );
    assert_eq!(
        (
            &changed.changes[0].field,
            &changed.changes[0].from,
            &changed.changes[0].to
        ),
        (
            &"last_name".to_string(),
            &serde_json::json!("N2"),
            &serde_json::json!("M2")
        )
    );
    // The change names the source record behind it; a removal writes no record, and a
    // creation keeps naming the record it was created from after the card changed.
    let fingerprint = changed
        .source_fingerprint
        .clone()
        .expect("the renamed record's fingerprint");
    assert!(
        fingerprint.len() == 16 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()),
        "{fingerprint}"
    );
    let one_changed = f.engine.datacard_history(one).await.unwrap()[0].clone();
    assert!(one_changed.source_fingerprint.is_some(), "{one_changed:?}");
    assert_ne!(
        one_changed.source_fingerprint.as_deref(),
        Some(fingerprint.as_str()),
        "another record, another fingerprint"
    );
    assert_eq!(
        (
            removed.source_fingerprint.as_deref(),
            history[2].source_fingerprint.as_deref()
        ),
        (None, Some(two_created.as_str()))
    );
    // Card 4's first change was its removal: its creation still names its record.
    let four_history = f.engine.datacard_history(four).await.unwrap();
    let kinds: Vec<&str> = four_history.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["remove", "create"]);
    assert_eq!(
        four_history[1].source_fingerprint.as_deref(),
        Some(four_created.as_str())
    );
    // Card 1 was created and changed, never removed.
    let kinds: Vec<String> = f
        .engine
        .datacard_history(one)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(kinds, ["update", "create"]);
    assert!(f.engine.datacard_history(987_654).await.is_err(), "no such card");

    // The record that created card 1 comes back: the same record, the same fingerprint.
    f.engine
        .update_connector("HR", connector_input(r#"{"parameters": {"ids": ["1", "3"]}}"#))
        .await
        .unwrap();
    run(&f.engine, &task).await;
    let back = f.engine.datacard_history(one).await.unwrap();
    assert_eq!(back[0].kind, "update");
    assert_eq!(
        back[0].source_fingerprint.as_deref(),
        Some(created_fingerprint.as_str())
    );
    assert_eq!(
        back.last().unwrap().source_fingerprint.as_deref(),
        Some(created_fingerprint.as_str()),
        "changed twice since: the creation still names its record"
    );
}

#[tokio::test]
async fn a_run_that_commits_nothing_journals_nothing() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3"]}"#,
        r#"{"limits": {"update_limit": 2}}"#,
    )
    .await;
    // Three new cards exceed the limit of two: interrupted, nothing loaded, nothing journalled.
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    assert!(f.engine.datacards("person", None, 10).await.unwrap().is_empty());
    assert!(
        !f.engine.run_undoable(&r.id).await.unwrap(),
        "nothing to offer an undo for"
    );
    let approved = f
        .engine
        .run_task(&task, provisio_engine::model::RunTrigger::Manual, true)
        .await
        .unwrap();
    assert_eq!(approved.counts.created, 3);
    for card in f.engine.datacards("person", None, 10).await.unwrap() {
        let history = f.engine.datacard_history(card.id).await.unwrap();
        assert_eq!(history.len(), 1, "only the approved run: {history:?}");
        assert_eq!(history[0].run_id, approved.id);
    }
    assert!(f.engine.run_undoable(&approved.id).await.unwrap());
}

#[tokio::test]
async fn undoing_a_run_puts_back_what_it_changed_reports_conflicts_and_can_itself_be_undone() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3"]}"#,
        r#"{"removal": {"status_attribute": "accountStatus", "removed_value": "5 - Removed"}}"#,
    )
    .await;
    let first = run(&f.engine, &task).await;
    let before_bad_day = people(&f.engine).await;
    // A bad day: everyone renamed, 3 dropped from the source (marked removed).
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "2"], "prefix": "X"}}"#),
        )
        .await
        .unwrap();
    let bad = run(&f.engine, &task).await;
    assert_eq!((bad.counts.updated, bad.counts.removed), (2, 1));

    // The plan first: nothing changes.
    let plan = f.engine.undo_run(&bad.id, true, false, &[]).await.unwrap();
    assert_eq!(plan.steps.len(), 3);
    assert!(plan.steps.iter().all(|s| s.conflict.is_none()), "{plan:?}");
    assert!(plan.undo_run_id.is_none());
    let restore = plan.steps.iter().find(|s| s.action == "restore").unwrap();
    assert_eq!(restore.changes[0].field, "accountStatus");
    // Whose card it is: its key, and its name beside the status the undo writes.
    assert_eq!(restore.object_id.as_deref(), Some("3"), "{restore:?}");
    let name = restore.holds.iter().find(|h| h.field == "last_name");
    assert_eq!(name.and_then(|h| h.value.as_str()), Some("N3"), "{restore:?}");
    // A renamed card tells by its other values: the name is among its changes.
    let renamed = plan.steps.iter().find(|s| s.action == "set back").unwrap();
    assert!(
        renamed.holds.iter().all(|h| h.field != "last_name"),
        "{renamed:?}"
    );
    assert_ne!(people(&f.engine).await, before_bad_day);

    // The undo: exactly the state before the bad day, recorded as a run of its own.
    let undone = f.engine.undo_run(&bad.id, false, false, &[]).await.unwrap();
    assert_eq!(people(&f.engine).await, before_bad_day);
    let undo_run = f
        .engine
        .run(undone.undo_run_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (undo_run.kind.as_str(), undo_run.status),
        ("undo", RunStatus::Succeeded)
    );
    assert_eq!(undo_run.counts.updated, 3);

    // Undoing the undo brings the bad day back; then a later run changes card 1
    // again, and undoing the bad day once more reports that as a conflict.
    f.engine
        .undo_run(undone.undo_run_id.as_deref().unwrap(), false, false, &[])
        .await
        .unwrap();
    let after_redo = people(&f.engine).await;
    assert!(
        after_redo.iter().any(|(id, name, _)| id == "1" && name == "X1"),
        "{after_redo:?}"
    );
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "2"], "prefix": "Y"}}"#),
        )
        .await
        .unwrap();
    run(&f.engine, &task).await;
    let plan = f.engine.undo_run(&bad.id, true, false, &[]).await.unwrap();
    let conflicts: Vec<&str> = plan.steps.iter().filter_map(|s| s.conflict.as_deref()).collect();
    assert!(
        conflicts.iter().any(|c| c.contains("last_name")),
        "card names changed again by the later run: {conflicts:?}"
    );

    // Undoing only the cards named: the first run's creation of card 1 only.
    let one = card_id_of_person(&f.engine, "1").await;
    let plan = f.engine.undo_run(&first.id, true, false, &[one]).await.unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].action, "mark removed");
}

/// The cache after an undo: the same bad source again writes nothing (the
/// undo sticks); a source that changed since is applied as usual.
#[tokio::test]
async fn an_undone_run_is_not_applied_again_while_the_source_still_holds_it() {
    let f = fresh().await;
    let (task, bad) = a_bad_day(&f).await;
    f.engine.undo_run(&bad.id, false, false, &[]).await.unwrap();
    assert_eq!(last_names(&f.engine).await, ["N1", "N2"]);

    let again = run(&f.engine, &task).await;
    assert_eq!(
        (again.counts.updated, again.counts.unchanged),
        (0, 2),
        "{:?}",
        again.counts
    );
    assert_eq!(
        last_names(&f.engine).await,
        ["N1", "N2"],
        "the bad source was not applied again"
    );

    f.engine.update_connector("HR", prefixed("Y")).await.unwrap();
    let fixed = run(&f.engine, &task).await;
    assert_eq!(fixed.counts.updated, 2);
    assert_eq!(last_names(&f.engine).await, ["Y1", "Y2"]);
}

/// After an undo, the source of the day before the bad one: the cards hold
/// its values again, so the run says nothing changed, writes nothing to
/// the cards' history and offers no undo (the cache, which still remembers
/// the bad day, made it look at every record).
#[tokio::test]
async fn the_source_an_undo_went_back_to_is_counted_unchanged_and_journals_nothing() {
    let f = fresh().await;
    let (task, bad) = a_bad_day(&f).await;
    f.engine.undo_run(&bad.id, false, false, &[]).await.unwrap();
    let cards = f.engine.datacards("person", None, 10).await.unwrap();
    let mut history = Vec::new();
    for card in &cards {
        history.push(f.engine.datacard_history(card.id).await.unwrap().len());
    }

    f.engine.update_connector("HR", prefixed("N")).await.unwrap();
    let good_again = run(&f.engine, &task).await;
    assert_eq!(good_again.status, RunStatus::Succeeded);
    assert_eq!(
        (good_again.counts.updated, good_again.counts.unchanged),
        (0, 2),
        "{:?}",
        good_again.counts
    );
    assert_eq!(last_names(&f.engine).await, ["N1", "N2"]);
    for (card, before) in cards.iter().zip(history) {
        assert_eq!(
            f.engine.datacard_history(card.id).await.unwrap().len(),
            before,
            "card {} gained a history line for a run that changed nothing",
            card.id
        );
    }
    assert!(!f.engine.run_undoable(&good_again.id).await.unwrap());

    // The cache now remembers the good day: a real change is applied as usual.
    f.engine.update_connector("HR", prefixed("Y")).await.unwrap();
    assert_eq!(run(&f.engine, &task).await.counts.updated, 2);
    assert_eq!(last_names(&f.engine).await, ["Y1", "Y2"]);
}

/// An undo killed after its commit, before its run row was written: the
/// next engine finds the commit record and shows the undo as it ended.
#[tokio::test]
async fn an_undo_that_committed_just_before_its_process_died_is_shown_as_succeeded() {
    let f = fresh().await;
    let (_, bad) = a_bad_day(&f).await;
    let undo = f.engine.undo_run(&bad.id, false, false, &[]).await.unwrap();
    let undo_id = undo.undo_run_id.unwrap();
    let data = f.engine.data_dir().to_path_buf();
    f.engine.close().await;
    // As if the process died between the undo's commit and its run row.
    let conn = rusqlite::Connection::open(data.join("provisio.db")).unwrap();
    conn.execute(
        "UPDATE runs SET status = 'running', finished_at = NULL, owner_pid = 2147483646,
            summary = json_set(summary, '$.status', 'running', '$.finished_at', NULL)
         WHERE id = ?1",
        [&undo_id],
    )
    .unwrap();
    drop(conn);
    let engine = provisio_engine::Engine::open(&data).await.unwrap();
    let recovered = engine.run(&undo_id).await.unwrap();
    assert_eq!(
        (recovered.status, recovered.counts.updated),
        (RunStatus::Succeeded, 2),
        "{:?}",
        recovered.load
    );
}

#[tokio::test]
async fn an_undo_takes_its_tasks_turn_and_is_refused_while_the_task_runs() {
    let f = fresh().await;
    // People from the parameters; with `gate`, the script waits for that file first.
    let script = r#"import json, os, time
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
p = args["connector_parameters"]
gate = p.get("gate")
if gate:
    open(gate + ".waiting", "w").close()
    while not os.path.exists(gate):
        time.sleep(0.02)
records = [{"id": i, "name": p.get("prefix", "N") + i, "groups": []} for i in p["ids"]]
with open(args["expected_output_filename"], "w") as f:
    json.dump(records, f)
"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        script,
        r#"{"ids": ["1", "2"]}"#,
        "{}",
    )
    .await;
    let first = run(&f.engine, &task).await;
    assert_eq!(first.counts.created, 2);
    let gate = f.dir.path().join("gate");
    f.engine
        .update_connector(
            "HR",
            connector_input(
                &serde_json::json!({"parameters": {"ids": ["1", "2"], "prefix": "X", "gate": gate}})
                    .to_string(),
            ),
        )
        .await
        .unwrap();
    let (engine, t) = (f.engine.clone(), task.clone());
    let running = tokio::spawn(async move {
        engine
            .run_task(&t, provisio_engine::model::RunTrigger::Manual, false)
            .await
    });
    let waiting = gate.with_extension("waiting");
    let since = std::time::Instant::now();
    while !waiting.exists() {
        assert!(since.elapsed().as_secs() < 30, "the run never started");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let refused = f
        .engine
        .undo_run(&first.id, false, false, &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("is running: an undo takes the task's turn like a run"),
        "{refused}"
    );
    // The plan can still be read while the task runs; nothing was changed by the refusal.
    assert!(f.engine.undo_run(&first.id, true, false, &[]).await.is_ok());
    std::fs::write(&gate, "").unwrap();
    let renamed = running.await.unwrap().unwrap();
    assert_eq!(
        (renamed.status, renamed.counts.updated),
        (RunStatus::Succeeded, 2)
    );
    // Its turn over, the undo goes in: the rename is put back.
    let undone = f.engine.undo_run(&renamed.id, false, false, &[]).await.unwrap();
    assert!(undone.undo_run_id.is_some(), "{undone:?}");
    let names = last_names(&f.engine).await;
    assert!(names.iter().all(|n| n.starts_with('N')), "{names:?}");
}

/// With `leak`, the script writes its secret parameters into the cards, as a careless script might.
const LEAKY: &str = r#"import json
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
p = args["connector_parameters"]
if p.get("leak"):
    names = {"1": "Bearer " + p["api_token"], "2": p["api_password"]}
else:
    names = {"1": "N1", "2": "N2"}
with open(args["expected_output_filename"], "w") as f:
    json.dump([{"id": i, "name": n, "groups": []} for i, n in names.items()], f)
"#;
const LEAKY_SECRETS: &str = r#"{"api_token": "tok-SECRET-12345", "api_password": "pw4711"}"#;
const LEAK: &str = r#"{"parameters": {"api_token": "********", "api_password": "********", "leak": true}}"#;

/// A leak held over the update limit: the plan a person approves shows it masked, as the journal would keep it.
#[tokio::test]
async fn held_changes_show_a_connector_secret_masked() {
    let f = fresh().await;
    let limits = r#"{"limits": {"update_limit": 1, "on_limit": "hold_excess"}}"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Leaky", LEAKY, LEAKY_SECRETS, limits).await;
    // The first load is two new cards over the limit: approved.
    let first = f
        .engine
        .run_task(&task, provisio_engine::model::RunTrigger::Manual, true)
        .await
        .unwrap();
    assert_eq!(first.counts.created, 2);
    f.engine
        .update_connector("Leaky", connector_input(LEAK))
        .await
        .unwrap();
    let held = run(&f.engine, &task).await;
    assert_eq!(
        held.counts.held, 2,
        "{:?} {:?} {:?}",
        held.status, held.counts, held.load
    );
    // The held file and the held cards, each saved by a kind of its own.
    let files = f.engine.run(&held.id).await.unwrap().files;
    let kinds: Vec<String> = files
        .iter()
        .map(|f| f.kind.to_string())
        .filter(|k| k.starts_with("held"))
        .collect();
    assert_eq!(kinds, ["held", "held-changes"], "{files:?}");
    let plan = f.engine.planned_changes(&held.id).await.unwrap();
    assert_eq!(
        held_fields(&plan),
        [
            (
                "1".to_string(),
                vec![r#"last_name: "N1" -> "Bearer ********""#.to_string()]
            ),
            (
                "2".to_string(),
                vec![r#"last_name: "N2" -> "********""#.to_string()]
            ),
        ]
    );
    let shown = format!("{plan:?}");
    assert!(
        !shown.contains("tok-SECRET-12345") && !shown.contains("pw4711"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_connector_secret_a_load_writes_is_masked_in_the_journal_and_never_written_back_by_an_undo() {
    let f = fresh().await;
    let task = scripted_task(&f.engine, f.dir.path(), "Leaky", LEAKY, LEAKY_SECRETS, "{}").await;
    let first = run(&f.engine, &task).await;
    assert_eq!(first.counts.created, 2);
    f.engine
        .update_connector("Leaky", connector_input(LEAK))
        .await
        .unwrap();
    let leaked = run(&f.engine, &task).await;
    assert_eq!((leaked.status, leaked.counts.updated), (RunStatus::Succeeded, 2));
    let cards = f.engine.datacards("person", None, 10).await.unwrap();
    let id_of = |key: &str| cards.iter().find(|c| c.data["employee_id"] == key).unwrap().id;
    let (one, two) = (id_of("1"), id_of("2"));

    // The journal: before as it was, after masked (a long secret inside a value, a short one as the whole value).
    let change = |history: Vec<provisio_engine::model::CardChange>| {
        let c = &history[0].changes[0];
        (c.from.clone(), c.to.clone())
    };
    assert_eq!(
        change(f.engine.datacard_history(one).await.unwrap()),
        (serde_json::json!("N1"), serde_json::json!("Bearer ********"))
    );
    assert_eq!(
        change(f.engine.datacard_history(two).await.unwrap()),
        (serde_json::json!("N2"), serde_json::json!("********"))
    );

    // Undoing the leak puts the names back; undoing that undo cannot put a secret back, even forced.
    let undo = f.engine.undo_run(&leaked.id, false, false, &[]).await.unwrap();
    let undo_id = undo.undo_run_id.unwrap();
    assert_eq!(last_names(&f.engine).await, ["N1", "N2"]);
    let plan = f.engine.undo_run(&undo_id, true, false, &[]).await.unwrap();
    assert!(
        plan.steps.iter().all(|s| s
            .conflict
            .as_deref()
            .is_some_and(|c| c.contains("held a connector secret, which the journal does not keep"))),
        "{plan:?}"
    );
    f.engine.undo_run(&undo_id, false, true, &[]).await.unwrap();
    assert_eq!(
        last_names(&f.engine).await,
        ["N1", "N2"],
        "no mask was written into a card"
    );
}

#[tokio::test]
async fn hold_excess_loads_the_rest_and_holds_the_removals_until_a_person_applies_them_once() {
    use provisio_engine::model::{InterruptionHelp, RunKind};
    let f = fresh().await;
    let task = five_people_over_a_limit_of_two(&f, "hold_excess").await;

    // A bad day: 3 people missing from the source and 2 renamed: 5 changes over a limit of 2.
    // The 2 renames fit the limit and load; the 3 removals are held.
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "2"], "prefix": "M"}}"#),
        )
        .await
        .unwrap();
    let bad_day = run(&f.engine, &task).await;
    assert_eq!(bad_day.status, RunStatus::Succeeded, "{:?}", bad_day.load);
    assert_eq!(
        (
            bad_day.counts.updated,
            bad_day.counts.removed,
            bad_day.counts.held
        ),
        (2, 0, 3)
    );
    assert!(
        bad_day
            .load
            .info
            .as_deref()
            .unwrap_or_default()
            .contains("3 removals held over the update limit"),
        "{:?}",
        bad_day.load
    );
    let now = people(&f.engine).await;
    assert!(
        now.iter().all(|(_, _, status)| status.is_empty()),
        "nobody removed yet: {now:?}"
    );
    assert_eq!((now[0].1.as_str(), now[2].1.as_str()), ("M1", "N3"));
    // The alert and the run say what helps: applying the held part.
    assert_eq!(
        f.engine.interruption_help(&bad_day),
        Some(InterruptionHelp::ApplyHeld)
    );
    let alert = f.engine.alerts(10).await.unwrap().into_iter().next().unwrap();
    assert_eq!(
        (alert.status.as_str(), alert.help),
        ("held", Some(InterruptionHelp::ApplyHeld))
    );
    let plan = f.engine.planned_changes(&bad_day.id).await.unwrap();
    assert_eq!(plan.removals, Some(3));
    assert_eq!(plan.removed_object_ids, ["3", "4", "5"]);
    // Each held removal says whose card it is and what it would become.
    assert_eq!(removed_fields(&plan), ["3", "4", "5"].map(removed_person));
    // Deciding whether approving helps reads no card: the review above did.
    let deciding = f.engine.plan_to_approve(&bad_day.id).await.unwrap();
    assert_eq!(
        (deciding.removed_object_ids.len(), deciding.removed_cards.len()),
        (3, 0)
    );

    // Approved: applied once, as a run of its own.
    let applied = f.engine.apply_held(&bad_day.id).await.unwrap();
    assert_eq!(
        (applied.kind, applied.status, applied.counts.removed),
        (RunKind::Held, RunStatus::Succeeded, 3)
    );
    let now = people(&f.engine).await;
    assert_eq!(
        now.iter()
            .filter(|(_, _, s)| s == "5 - Removed")
            .map(|(id, _, _)| id.as_str())
            .collect::<Vec<_>>(),
        ["3", "4", "5"]
    );
    assert_eq!(f.engine.interruption_help(&bad_day), None);
    let alerts = f.engine.alerts(10).await.unwrap();
    assert!(
        alerts.iter().all(|a| a.acknowledged && a.help.is_none()),
        "{alerts:?}"
    );
    let again = f.engine.apply_held(&bad_day.id).await.unwrap_err().to_string();
    assert!(again.contains("was applied already, by run"), "{again}");
    let three = card_id_of_person(&f.engine, "3").await;
    let history = f.engine.datacard_history(three).await.unwrap();
    assert!(
        history[0]
            .reason
            .contains("applied removals held over the update limit"),
        "{history:?}"
    );

    // Held twice: only the newest run's held part may be applied (a person held then may be back now).
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1"], "prefix": "Z"}}"#),
        )
        .await
        .unwrap();
    let mut t = editable_task(&f.engine, &task).await;
    t["limits"]["update_limit"] = serde_json::json!(1);
    f.engine
        .update_task(&task, serde_json::from_value(t).unwrap())
        .await
        .unwrap();
    let older = run(&f.engine, &task).await;
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1"], "prefix": "Q"}}"#),
        )
        .await
        .unwrap();
    let newer = run(&f.engine, &task).await;
    assert_eq!((older.counts.updated, older.counts.held), (1, 1));
    assert_eq!((newer.counts.updated, newer.counts.held), (1, 1));
    let refused = f.engine.apply_held(&older.id).await.unwrap_err().to_string();
    assert!(
        refused.contains(&format!("run {} of HR/Load ran after run {}", newer.id, older.id)),
        "{refused}"
    );
    assert_eq!(f.engine.apply_held(&newer.id).await.unwrap().counts.removed, 1);
}

#[tokio::test]
async fn hold_excess_holds_the_changed_cards_that_take_a_run_over_its_limit_until_a_person_applies_them() {
    use provisio_engine::model::RunKind;
    let f = fresh().await;
    let task = five_people_over_a_limit_of_two(&f, "hold_excess").await;
    let named = |people: &[(String, String, String)]| -> Vec<String> {
        people
            .iter()
            .map(|(_, name, status)| format!("{name}{status}"))
            .collect()
    };
    let renamed_by = |prefix: &str| {
        connector_input(&format!(
            r#"{{"parameters": {{"ids": ["1", "2", "3", "4", "6"], "prefix": "{prefix}"}}}}"#
        ))
    };

    // A mapping gone wrong renames everyone on the day a newcomer (6) arrives and 5 leaves:
    // 4 changed, 1 new, 1 removal over a limit of 2. The newcomer loads; the rest waits.
    f.engine.update_connector("HR", renamed_by("M")).await.unwrap();
    let bad_day = run(&f.engine, &task).await;
    assert_eq!(bad_day.status, RunStatus::Succeeded, "{:?}", bad_day.load);
    let c = &bad_day.counts;
    assert_eq!((c.created, c.updated, c.removed, c.held), (1, 0, 0, 5));
    let info = bad_day.load.info.clone().unwrap_or_default();
    assert!(
        info.contains("4 changed cards and 1 removal held over the update limit, waiting for approval"),
        "{info}"
    );
    assert_eq!(
        named(&people(&f.engine).await),
        ["N1", "N2", "N3", "N4", "N5", "M6"]
    );
    let plan = f.engine.planned_changes(&bad_day.id).await.unwrap();
    assert_eq!(
        (
            plan.changed,
            plan.removals,
            plan.changed_object_ids.clone(),
            plan.removed_object_ids.clone()
        ),
        (
            Some(4),
            Some(1),
            vec!["1".to_string(), "2".into(), "3".into(), "4".into()],
            vec!["5".to_string()]
        )
    );
    // What approving writes, card by card: each held card's renamed field, from what it holds now.
    let renamed = |id: &str| renamed_person(id, "M");
    assert_eq!(held_fields(&plan), ["1", "2", "3", "4"].map(renamed));
    assert!(
        plan.reason.starts_with(
            "4 changed cards and 1 removal would take the run's 6 changes over the update limit of 2"
        ) && plan.reason.ends_with("(the new card was loaded)"),
        "{}",
        plan.reason
    );

    // Not applied, and the file is fixed the next day: the held part is simply not needed
    // (the cache kept what the cards held), and the older run's held part can no longer be applied.
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "2", "3", "4", "5", "6"], "prefix": "N"}}"#),
        )
        .await
        .unwrap();
    let fixed = run(&f.engine, &task).await;
    let c = &fixed.counts;
    assert_eq!(
        (c.created, c.updated, c.unchanged, c.held),
        (0, 1, 5, 0),
        "{:?}",
        fixed.load
    );
    let refused = f.engine.apply_held(&bad_day.id).await.unwrap_err().to_string();
    assert!(refused.contains("ran after run"), "{refused}");
    assert_eq!(
        named(&people(&f.engine).await),
        ["N1", "N2", "N3", "N4", "N5", "N6"]
    );

    // Another bad day, approved: written once as a run of its own, journalled and undoable.
    f.engine.update_connector("HR", renamed_by("Q")).await.unwrap();
    let bad_day = run(&f.engine, &task).await;
    assert_eq!(
        (bad_day.counts.updated, bad_day.counts.held),
        (0, 6),
        "{:?}",
        bad_day.load
    );
    let applied = f.engine.apply_held(&bad_day.id).await.unwrap();
    let c = &applied.counts;
    assert_eq!(
        (applied.kind, applied.status, c.updated, c.removed),
        (RunKind::Held, RunStatus::Succeeded, 5, 1)
    );
    assert_eq!(
        applied.load.info,
        Some(format!(
            "applied all 5 changed cards and the removal that run {} held",
            bad_day.id
        ))
    );
    assert_eq!(
        named(&people(&f.engine).await),
        ["Q1", "Q2", "Q3", "Q4", "N55 - Removed", "Q6"]
    );
    assert_eq!(f.engine.interruption_help(&bad_day), None);
    let one = card_id_of_person(&f.engine, "1").await;
    let history = f.engine.datacard_history(one).await.unwrap();
    assert!(
        history[0]
            .reason
            .contains("which applied changes held over the update limit once approved")
            && history[0]
                .changes
                .iter()
                .any(|c| c.field == "last_name" && c.from == "N1" && c.to == "Q1"),
        "{history:?}"
    );
    // The applied values are in the task's cache: the same file the next day changes nothing.
    let next = run(&f.engine, &task).await;
    let c = &next.counts;
    assert_eq!(
        (c.created, c.updated, c.removed, c.held, c.unchanged),
        (0, 0, 0, 0, 5),
        "{:?}",
        next.load
    );
    // And the applied run is undone like any other.
    f.engine.undo_run(&applied.id, false, false, &[]).await.unwrap();
    assert_eq!(
        named(&people(&f.engine).await),
        ["N1", "N2", "N3", "N4", "N5", "N6"]
    );
}

/// The card id of person `employee_id`.
async fn card_id_of_person(engine: &provisio_engine::Engine, employee_id: &str) -> i64 {
    engine
        .datacards("person", None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.data["employee_id"] == employee_id)
        .unwrap()
        .id
}

/// A file three people short trips the update limit: the plan a person
/// reviews names whose cards would be marked removed, not only their ids.
#[tokio::test]
async fn an_interrupted_plan_says_whose_cards_it_would_mark_removed() {
    let f = fresh().await;
    let task = five_people_over_a_limit_of_two(&f, "interrupt").await;
    f.engine
        .update_connector("HR", connector_input(r#"{"parameters": {"ids": ["1", "2"]}}"#))
        .await
        .unwrap();
    let short = run(&f.engine, &task).await;
    assert_eq!(short.status, RunStatus::Interrupted, "{:?}", short.load);
    let plan = f.engine.planned_changes(&short.id).await.unwrap();
    assert_eq!(plan.removals, Some(3));
    assert_eq!(removed_fields(&plan), ["3", "4", "5"].map(removed_person));
}

#[tokio::test]
async fn an_interrupted_plan_says_whom_it_would_create() {
    let f = fresh().await;
    let task = five_people_over_a_limit_of_two(&f, "interrupt").await;
    // Three people who are not in the store yet, two who left.
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "2", "3", "6", "7", "8"]}}"#),
        )
        .await
        .unwrap();
    let planned = run(&f.engine, &task).await;
    assert_eq!(planned.status, RunStatus::Interrupted, "{:?}", planned.load);
    let plan = f.engine.planned_changes(&planned.id).await.unwrap();
    assert_eq!((plan.new, plan.removals), (Some(3), Some(2)));
    let mut new: Vec<(String, Vec<String>)> = plan
        .new_cards
        .iter()
        .map(|c| {
            let values = c.values.iter().map(|v| format!("{}: {}", v.field, v.value));
            (c.object_id.clone(), values.collect())
        })
        .collect();
    new.sort();
    assert_eq!(
        new,
        ["6", "7", "8"].map(|id| (
            id.to_string(),
            vec![
                format!(r#"last_name: "N{id}""#),
                r#"groups: ["g1","g2"]"#.to_string()
            ]
        ))
    );
    assert!(plan.changed_cards.is_empty(), "{:?}", plan.changed_cards);
}

/// Task HR/Load with this `on_limit`, an update limit of 2 and removal
/// settings, after a first (approved) load of persons 1 to 5.
async fn five_people_over_a_limit_of_two(f: &Fixture, on_limit: &str) -> String {
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3", "4", "5"]}"#,
        &format!(
            r#"{{"limits": {{"update_limit": 2, "on_limit": "{on_limit}"}},
                "removal": {{"status_attribute": "accountStatus", "removed_value": "5 - Removed"}}}}"#
        ),
    )
    .await;
    let first = f
        .engine
        .run_task(&task, provisio_engine::model::RunTrigger::Manual, true)
        .await
        .unwrap();
    assert_eq!(first.counts.created, 5);
    task
}

#[tokio::test]
async fn a_runs_journal_rows_are_found_without_reading_the_whole_journal() {
    let f = fresh().await;
    let data_dir = f.engine.data_dir().to_path_buf();
    f.engine.close().await;
    let conn = rusqlite::Connection::open(data_dir.join("datacards.db")).unwrap();
    // What an undo and a run's page of changes ask: the journal grows by
    // every run's changes for as long as it is kept.
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id, card_id FROM card_changes WHERE run_id = 'r' AND kind != 'create'",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("INDEX card_changes_by_run"), "{plan}");
}

/// A task can say which values tell whose its cards are: the undo (and the
/// review of a plan) shows those, in its order, instead of names first.
#[tokio::test]
async fn a_tasks_display_fields_tell_whose_card_an_undo_step_changes() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3"]}"#,
        r#"{"removal": {"status_attribute": "accountStatus", "removed_value": "5 - Removed"},
            "display_fields": ["dataSourceType", " groups ", "dataSourceType"]}"#,
    )
    .await;
    let shown = f.engine.task(&task).await.unwrap();
    assert_eq!(
        shown.display_fields,
        ["dataSourceType", "groups"],
        "trimmed, once each"
    );
    run(&f.engine, &task).await;
    f.engine
        .update_connector("HR", connector_input(r#"{"parameters": {"ids": ["1", "2"]}}"#))
        .await
        .unwrap();
    let bad = run(&f.engine, &task).await;
    assert_eq!(bad.counts.removed, 1);
    let plan = f.engine.undo_run(&bad.id, true, false, &[]).await.unwrap();
    let restore = plan.steps.iter().find(|s| s.action == "restore").unwrap();
    assert_eq!(restore.object_id.as_deref(), Some("3"));
    let fields: Vec<&str> = restore.holds.iter().map(|h| h.field.as_str()).collect();
    assert_eq!(
        fields,
        ["dataSourceType", "groups"],
        "the task's fields, not its names: {restore:?}"
    );

    // Only the template's attributes, and no more than a review shows.
    let mut edit: provisio_engine::model::TaskInput =
        serde_json::from_value(serde_json::to_value(&shown).unwrap()).unwrap();
    edit.display_fields = Some(vec!["shoe_size".into()]);
    let e = f.engine.update_task(&task, edit.clone()).await.unwrap_err();
    assert!(
        e.to_string().contains("display_fields") && e.to_string().contains("shoe_size"),
        "{e}"
    );
    edit.display_fields = Some(
        ["last_name", "groups", "taskid", "dataSourceType"]
            .map(String::from)
            .to_vec(),
    );
    let e = f.engine.update_task(&task, edit).await.unwrap_err();
    assert!(e.to_string().contains("at most 3"), "{e}");
}

/// A big run's journal is written many rows at a time and its undo planned in
/// parts side by side: the plan lists every card once, in the journal's
/// order, each set back to its own value, and applying it puts every card back.
#[tokio::test]
async fn a_big_runs_undo_plans_every_card_once_in_order_and_sets_each_back() {
    const PEOPLE: usize = 5_000;
    let f = fresh().await;
    let ids: Vec<String> = (0..PEOPLE).map(|i| format!("{i:05}")).collect();
    let params = |prefix: &str| serde_json::json!({"parameters": {"ids": ids, "prefix": prefix}}).to_string();
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        &serde_json::json!({"ids": ids}).to_string(),
        "{}",
    )
    .await;
    run(&f.engine, &task).await;
    f.engine
        .update_connector("HR", connector_input(&params("X")))
        .await
        .unwrap();
    let bad = run(&f.engine, &task).await;
    assert_eq!(bad.counts.updated as usize, PEOPLE);

    let plan = f.engine.undo_run(&bad.id, true, false, &[]).await.unwrap();
    assert_eq!(plan.steps.len(), PEOPLE);
    assert!(
        plan.steps.windows(2).all(|w| w[0].card_id < w[1].card_id),
        "each card once, in order"
    );
    for (step, id) in plan.steps.iter().zip(&ids) {
        assert_eq!(step.object_id.as_deref(), Some(id.as_str()));
        let change = step.changes.iter().find(|c| c.field == "last_name").unwrap();
        assert_eq!(change.from, serde_json::json!(format!("X{id}")));
        assert_eq!(change.to, serde_json::json!(format!("N{id}")));
    }

    // The journal written many rows at a time: a card in a full batch and the
    // last card both name the run's source record, and keep the created one.
    for step in [&plan.steps[100], &plan.steps[PEOPLE - 1]] {
        let history = f.engine.datacard_history(step.card_id).await.unwrap();
        let kinds: Vec<&str> = history.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["update", "create"], "{history:?}");
        assert_eq!(history[0].run_id, bad.id);
        let (changed, created) = (&history[0].source_fingerprint, &history[1].source_fingerprint);
        assert!(
            changed.is_some() && created.is_some() && changed != created,
            "{history:?}"
        );
    }

    f.engine.undo_run(&bad.id, false, false, &[]).await.unwrap();
    let names: Vec<String> = f
        .engine
        .datacards("person", None, PEOPLE as u32 + 1)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.data["last_name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(names.len(), PEOPLE);
    assert!(names.iter().all(|n| n.starts_with('N')), "every card set back");
}
