//! The scheduled-run pipeline with real python3 and the local store (docs/architecture.md).

use provisio_engine::model::{RunStage, RunStatus, StageStatus};

use crate::scripted::*;
use crate::support::*;
use crate::under_both_load_strategies;

async fn card_of(f: &Fixture, employee: &str) -> serde_json::Value {
    f.engine
        .datacards("person", None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.data["employee_id"] == employee)
        .unwrap_or_else(|| panic!("no card for {employee}"))
        .data
}

async fn an_unchanged_rerun_writes_nothing_and_a_change_updates_one_card(f: Fixture) {
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3"]}"#,
        "{}",
    )
    .await;
    let first = run(&f.engine, &task).await;
    assert_eq!(
        (first.counts.created, first.counts.updated, first.counts.unchanged),
        (3, 0, 0)
    );
    let second = run(&f.engine, &task).await;
    assert_eq!(
        (
            second.counts.created,
            second.counts.updated,
            second.counts.unchanged
        ),
        (0, 0, 3)
    );
    assert_eq!(
        card_of(&f, "1").await["taskid"],
        f.engine.task(&task).await.unwrap().id
    );

    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "2", "3"], "prefix": "M"}}"#),
        )
        .await
        .unwrap();
    let third = run(&f.engine, &task).await;
    assert_eq!((third.counts.created, third.counts.updated), (0, 3));
    assert_eq!(card_of(&f, "2").await["last_name"], "M2");
    assert_eq!(f.engine.store().count_datacards("person").await.unwrap(), 3);

    // A card edited by hand: the cache still says its record is unchanged, so the run leaves it.
    edit_card_by_hand(&f.engine, "2", "last_name", "Edited");
    let fourth = run(&f.engine, &task).await;
    assert_eq!((fourth.counts.updated, fourth.counts.unchanged), (0, 3));
    assert_eq!(card_of(&f, "2").await["last_name"], "Edited");
    // A cleared cache makes the next run a first run: every record is compared
    // with its card again, the edited one set back, none duplicated.
    f.engine.clear_cache(&task).await.unwrap();
    let fifth = run(&f.engine, &task).await;
    assert_eq!((fifth.counts.updated, fifth.counts.unchanged), (1, 2));
    assert_eq!(card_of(&f, "2").await["last_name"], "M2");
    assert_eq!(f.engine.store().count_datacards("person").await.unwrap(), 3);
}

async fn records_not_fetched_by_a_full_run_are_marked_removed_once(f: Fixture) {
    let removal = r#"{"removal": {"status_attribute": "accountStatus", "removed_value": "5 - Removed"}}"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3", "4"]}"#,
        removal,
    )
    .await;
    // A card of another task must never be touched.
    let other = scripted_task(
        &f.engine,
        f.dir.path(),
        "Other",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["99"]}"#,
        "{}",
    )
    .await;
    assert_eq!(run(&f.engine, &other).await.status, RunStatus::Succeeded);
    assert_eq!(run(&f.engine, &task).await.counts.created, 4);

    f.engine
        .update_connector("HR", set_ids(&["1", "2"]))
        .await
        .unwrap();
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.counts.removed, 2);
    assert_eq!(card_of(&f, "3").await["accountStatus"], "5 - Removed");
    assert_eq!(card_of(&f, "4").await["accountStatus"], "5 - Removed");
    assert!(card_of(&f, "1").await.get("accountStatus").is_none());
    assert!(card_of(&f, "99").await.get("accountStatus").is_none());

    // Already removed cards are not marked again.
    assert_eq!(run(&f.engine, &task).await.counts.removed, 0);

    // A failed extract never marks anything removed.
    f.engine
        .update_connector("HR", connector_input(r#"{"parameters": {}}"#))
        .await
        .unwrap();
    let failed = run(&f.engine, &task).await;
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(card_of(&f, "1").await.get("accountStatus").is_none());

    // The engine never re-enables: a returning record updates values but not the status.
    f.engine
        .update_connector("HR", set_ids(&["1", "2", "3"]))
        .await
        .unwrap();
    let back = run(&f.engine, &task).await;
    assert_eq!(back.status, RunStatus::Succeeded);
    assert_eq!(card_of(&f, "3").await["accountStatus"], "5 - Removed");
}

async fn the_update_limit_interrupts_the_run_and_an_approval_applies_it_once(f: Fixture) {
    let limits = r#"{"limits": {"update_limit": 3}}"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3", "4", "5"]}"#,
        limits,
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    assert_eq!(r.load.status, Some(StageStatus::Interrupted));
    assert_eq!(
        r.ended_in,
        Some(RunStage::Load),
        "the run names the stage it ended in"
    );
    let info = r.load.info.clone().unwrap();
    assert!(info.starts_with("5 planned changes (5 new, 0 changed, 0 removals) exceed the update limit of 3; nothing was loaded"), "{info}");
    // What to do, in words that fit the window's review and the CLI alike (no file to open).
    assert!(
        info.ends_with("review the planned changes, and approve them to apply them once"),
        "{info}"
    );
    assert_eq!(f.engine.store().count_datacards("person").await.unwrap(), 0);
    let plan = r
        .files
        .iter()
        .find(|f| f.kind == "plan")
        .expect("the planned change list is kept");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan.path).unwrap()).unwrap();
    assert_eq!(plan["new"], 5);
    // The review is the step the hint names: it says why, not what to do next.
    let review = f.engine.planned_changes(&r.id).await.unwrap();
    assert_eq!(
        review.reason,
        "5 planned changes (5 new, 0 changed, 0 removals) exceed the update limit of 3; nothing was loaded"
    );

    let approved = f
        .engine
        .run_task(&task, provisio_engine::model::RunTrigger::Manual, true)
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Succeeded);
    assert_eq!(approved.counts.created, 5);
    // The approval was for one run only.
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "2", "3", "4", "5"], "prefix": "X"}}"#),
        )
        .await
        .unwrap();
    assert_eq!(run(&f.engine, &task).await.status, RunStatus::Interrupted);
}

/// The cache is cleared every night by default and at each start: the next
/// run of a task with an update limit counts what it would change on the
/// cards, not every record as a new card, so a quiet day is not refused and
/// a mass change still is (or is held, with `hold_excess`).
#[tokio::test]
async fn after_a_cache_clear_the_update_limit_counts_what_would_change_not_every_record() {
    let f = fresh().await;
    let six = |prefix: &str| {
        connector_input(&format!(
            r#"{{"parameters": {{"ids": ["1", "2", "3", "4", "5", "6"], "prefix": "{prefix}"}}}}"#
        ))
    };
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3", "4", "5"]}"#,
        r#"{"limits": {"update_limit": 3}}"#,
    )
    .await;
    let manual = provisio_engine::model::RunTrigger::Manual;
    let approved = f.engine.run_task(&task, manual, true).await.unwrap();
    assert_eq!(approved.counts.created, 5);

    // A quiet day after the clear: nothing to change, nothing refused.
    f.engine.clear_cache(&task).await.unwrap();
    let quiet = run(&f.engine, &task).await;
    assert_eq!(quiet.status, RunStatus::Succeeded, "{:?}", quiet.load);
    let c = &quiet.counts;
    assert_eq!((c.created, c.updated, c.unchanged), (0, 0, 5));

    // Two cards edited by hand and a newcomer: 3 changes after a clear, within the limit.
    edit_card_by_hand(&f.engine, "1", "last_name", "Edited");
    edit_card_by_hand(&f.engine, "2", "last_name", "Edited");
    f.engine.update_connector("HR", six("N")).await.unwrap();
    f.engine.clear_cache(&task).await.unwrap();
    let busy = run(&f.engine, &task).await;
    assert_eq!(busy.status, RunStatus::Succeeded, "{:?}", busy.load);
    let c = &busy.counts;
    assert_eq!((c.created, c.updated, c.unchanged), (1, 2, 3));
    assert_eq!(card_of(&f, "1").await["last_name"], "N1");

    // A mass change after a clear is refused as the changes it is.
    f.engine.update_connector("HR", six("X")).await.unwrap();
    f.engine.clear_cache(&task).await.unwrap();
    let mass = run(&f.engine, &task).await;
    assert_eq!(mass.status, RunStatus::Interrupted);
    let info = mass.load.info.clone().unwrap_or_default();
    assert!(
        info.starts_with("6 planned changes (0 new, 6 changed, 0 removals) exceed the update limit of 3"),
        "{info}"
    );
    assert_eq!(card_of(&f, "1").await["last_name"], "N1", "nothing was loaded");
    // The plan a person approves says what it would write, card by card.
    let plan = f.engine.planned_changes(&mass.id).await.unwrap();
    let renamed = |id: &str| renamed_person(id, "X");
    assert_eq!(held_fields(&plan), ["1", "2", "3", "4", "5", "6"].map(renamed));

    // With hold_excess the changed cards wait for a person, then apply once.
    let mut t = editable_task(&f.engine, &task).await;
    t["limits"]["on_limit"] = serde_json::json!("hold_excess");
    f.engine
        .update_task(&task, serde_json::from_value(t).unwrap())
        .await
        .unwrap();
    f.engine.clear_cache(&task).await.unwrap();
    let held = run(&f.engine, &task).await;
    assert_eq!(held.status, RunStatus::Succeeded, "{:?}", held.load);
    assert_eq!((held.counts.updated, held.counts.held), (0, 6));
    assert_eq!(card_of(&f, "1").await["last_name"], "N1", "held, not loaded");
    let applied = f.engine.apply_held(&held.id).await.unwrap();
    assert_eq!(applied.counts.updated, 6, "{:?}", applied.counts);
    assert_eq!(card_of(&f, "6").await["last_name"], "X6");
}

/// The plan of an interrupted run finds its changed cards past the new ones
/// that come first in the file (the preview reads its spill a part at a time).
#[tokio::test]
async fn an_interrupted_plan_shows_the_changed_cards_behind_many_new_ones() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3"]}"#,
        r#"{"limits": {"update_limit": 10}}"#,
    )
    .await;
    let manual = provisio_engine::model::RunTrigger::Manual;
    assert_eq!(
        f.engine
            .run_task(&task, manual, true)
            .await
            .unwrap()
            .counts
            .created,
        3
    );
    // 450 newcomers first in the file, then the three known people renamed.
    let mut ids: Vec<String> = (0..450).map(|i| format!("new-{i}")).collect();
    ids.extend(["1", "2", "3"].map(String::from));
    let params = serde_json::json!({"parameters": {"ids": ids, "prefix": "X"}});
    f.engine
        .update_connector("HR", connector_input(&params.to_string()))
        .await
        .unwrap();
    let stopped = run(&f.engine, &task).await;
    assert_eq!(stopped.status, RunStatus::Interrupted, "{:?}", stopped.load);
    let plan = f.engine.planned_changes(&stopped.id).await.unwrap();
    assert_eq!((plan.new, plan.changed), (Some(450), Some(3)));
    let renamed = |id: &str| renamed_person(id, "X");
    assert_eq!(held_fields(&plan), ["1", "2", "3"].map(renamed));
}

async fn fewer_rows_than_the_minimum_interrupt_the_run(f: Fixture) {
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1"]}"#,
        r#"{"limits": {"minimum_row_count": 2}}"#,
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Interrupted);
    assert_eq!(
        r.load.info.as_deref(),
        Some("only 1 valid record, fewer than the minimum row count of 2; nothing was loaded")
    );
}

async fn invalid_and_repeated_records_are_blocked_with_reasons(f: Fixture) {
    let records = r#"[{"id": "1", "name": "a", "groups": []}, {"id": "2", "name": "b", "groups": []},
        {"id": "2", "name": "c", "groups": []}, {"name": "no id", "groups": []}, {"id": "3", "groups": []}, "text"]"#;
    let task = scripted_task(&f.engine, f.dir.path(), "HR", &emitting(records), "{}", "{}").await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(
        (
            r.counts.fetched,
            r.counts.valid,
            r.counts.blocked,
            r.counts.created
        ),
        (6, 1, 5, 1)
    );
    let blocked = r.files.iter().find(|f| f.kind == "blocked").unwrap();
    let text = std::fs::read_to_string(&blocked.path).unwrap();
    for reason in [
        "record 4: the object id 'id' is missing",
        "record 5: 3: attribute 'name' is missing",
        "record 6: the record is not a JSON object",
        "2: the object id occurs in 2 records; all of them are blocked",
    ] {
        assert!(text.contains(reason), "{reason} not in {text}");
    }
}

async fn a_record_that_is_not_utf8_is_blocked_and_the_rest_load(f: Fixture) {
    let source = r#"import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
with open(a["expected_output_filename"], "wb") as f:
    f.write(b'[{"id": "1", "name": "ok", "groups": []}, {"id": "9", "name": "bad \xff byte", "groups": []}]')
"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Latin1", source, "{}", "{}").await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    assert_eq!((r.counts.created, r.counts.blocked), (1, 1));
    let blocked = r.files.iter().find(|f| f.kind == "blocked").unwrap();
    let text = std::fs::read_to_string(&blocked.path).unwrap();
    assert!(
        text.contains("record 2: the record is not valid UTF-8 text"),
        "{text}"
    );
}

async fn two_tasks_loading_the_same_person_update_one_card(f: Fixture) {
    let a = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["7"]}"#,
        "{}",
    )
    .await;
    let b = scripted_task(
        &f.engine,
        f.dir.path(),
        "Payroll",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["7"], "prefix": "P"}"#,
        "{}",
    )
    .await;
    assert_eq!(run(&f.engine, &a).await.counts.created, 1);
    let second = run(&f.engine, &b).await;
    assert_eq!(
        (
            second.counts.created,
            second.counts.updated,
            second.counts.takeovers
        ),
        (0, 1, 1)
    );
    assert!(second
        .load
        .info
        .unwrap()
        .contains("1 cards taken over from other tasks"));
    assert_eq!(f.engine.store().count_datacards("person").await.unwrap(), 1);
    assert_eq!(
        card_of(&f, "7").await["taskid"],
        f.engine.task(&b).await.unwrap().id
    );
}

async fn a_failed_run_creates_the_failure_card(f: Fixture) {
    let failure =
        r#"{"failure": {"template": "provisioning_failure", "folder": "failures", "attribute": "message"}}"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        "import sys\nsys.exit(4)\n",
        "{}",
        failure,
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(
        r.ended_in,
        Some(RunStage::Extract),
        "the run names the stage it failed in"
    );
    let cards = f
        .engine
        .datacards("provisioning_failure", Some("failures"), 10)
        .await
        .unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].data["message"], "the script exited with code 4");
    assert_eq!(cards[0].data["run_id"], r.id);
    assert_eq!(cards[0].data["task"], "HR/Load");
}

async fn incremental_runs_receive_the_last_successful_extract(f: Fixture) {
    let source = r#"import json
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
with open(a["expected_output_filename"], "w") as f:
    json.dump([{"id": "1", "name": a["run_type"] + "|" + str(a["last_successful_extract"]), "groups": []}], f)
"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        source,
        "{}",
        r#"{"run_type": "incremental"}"#,
    )
    .await;
    let first = run(&f.engine, &task).await;
    assert_eq!(
        first.run_type, "full",
        "the first run of an incremental task is full"
    );
    assert_eq!(card_of(&f, "1").await["last_name"], "full|None");
    let second = run(&f.engine, &task).await;
    assert_eq!(second.run_type, "incremental");
    assert_eq!(
        card_of(&f, "1").await["last_name"],
        format!("incremental|{}", first.extract.started.unwrap())
    );
    // Clearing the data cache does not end incremental runs (the seed: a task stays incremental)...
    f.engine.clear_cache(&task).await.unwrap();
    let third = run(&f.engine, &task).await;
    assert_eq!(third.run_type, "incremental");
    assert_eq!(
        (third.counts.created, third.counts.updated),
        (0, 1),
        "the card is found by its id, not duplicated: {:?}",
        third.counts
    );
    // ...resetting the incremental state does.
    f.engine.reset_incremental(&task).await.unwrap();
    assert_eq!(run(&f.engine, &task).await.run_type, "full");
    assert_eq!(run(&f.engine, &task).await.run_type, "incremental");
}

async fn runs_are_kept_in_history_with_their_summary(f: Fixture) {
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1"]}"#,
        "{}",
    )
    .await;
    let a = run(&f.engine, &task).await;
    let b = run(&f.engine, &task).await;
    let history = f.engine.history(&task, 10).await.unwrap();
    assert_eq!(
        history.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        [b.id.clone(), a.id.clone()]
    );
    let shown = f.engine.run(&a.id).await.unwrap();
    assert_eq!(shown.counts.created, 1);
    assert_eq!(shown.extract.status, Some(StageStatus::Succeeded));
    assert!(shown.files.iter().any(|f| f.kind == "output"));
}

async fn attributes_are_found_whatever_their_order_and_whatever_else_a_record_holds(f: Fixture) {
    let records = r#"[
        {"id": "1", "name": "A", "groups": [], "x": 1},
        {"x": 2, "groups": ["g"], "name": "B", "id": "2"},
        {"name": "C", "id": "3", "groups": [], "extra": {"nested": [1, "]"]}},
        {"id": "4", "x": 3, "name": "D", "groups": "solo", "name2": "not me"}
    ]"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Shuffled",
        &emitting(records),
        "{}",
        "{}",
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    assert_eq!(r.counts.created, 4);
    let b = card_of(&f, "2").await;
    assert_eq!(
        (b["last_name"].as_str(), &b["groups"]),
        (Some("B"), &serde_json::json!(["g"]))
    );
    assert_eq!(card_of(&f, "3").await["last_name"], "C");
    let d = card_of(&f, "4").await;
    assert_eq!(
        (d["last_name"].as_str(), &d["groups"]),
        (Some("D"), &serde_json::json!(["solo"]))
    );
}

async fn a_first_load_whose_output_breaks_late_loads_nothing(f: Fixture) {
    // Tens of thousands of good records stream into the load before the break shows.
    let source = r#"import json
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
good = json.dumps([{"id": str(i), "name": "n%d" % i, "groups": []} for i in range(50000)])
with open(a["expected_output_filename"], "w") as f:
    f.write(good[:-1] + ', {"id": "late"} oops]')
"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Broken", source, "{}", "{}").await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.extract
            .info
            .as_deref()
            .unwrap_or_default()
            .contains("records must be separated by commas"),
        "{:?}",
        r.extract
    );
    let cards = f.engine.datacards("person", None, 10).await.unwrap();
    assert!(cards.is_empty(), "a failed first load left {} cards", cards.len());
}

async fn a_first_load_stopped_while_it_streams_commits_nothing(f: Fixture) {
    let records = r#"[{"id": str(i), "name": "n%d" % i, "groups": []} for i in range(400000)]"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Big", &emitting(records), "{}", "{}").await;
    let (engine, t) = (f.engine.clone(), task.clone());
    let handle = tokio::spawn(async move {
        engine
            .run_task(&t, provisio_engine::model::RunTrigger::Manual, false)
            .await
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let runs = f.engine.history(&task, 1).await.unwrap();
        if runs.first().and_then(|r| r.stage.map(|s| s.as_str())) == Some("load") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the load never started");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The load holds the database's write lock; the stop request still gets through.
    f.engine.stop_task(&task).await.unwrap();
    let r = handle.await.unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Stopped, "{:?}", r.load);
    assert_eq!(
        r.load.info.as_deref(),
        Some("stopped by a user during the load; nothing was committed")
    );
    assert!(f.engine.datacards("person", None, 10).await.unwrap().is_empty());
}

async fn an_id_repeated_after_its_card_was_changed_blocks_both_records_and_keeps_the_card(f: Fixture) {
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        PEOPLE_FROM_PARAMS,
        r#"{"ids": ["1", "2", "3"]}"#,
        "{}",
    )
    .await;
    assert_eq!(run(&f.engine, &task).await.counts.created, 3);
    // Record 1 changes, then appears a second time: by then its change is
    // already in the load, and it must not stay there.
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"ids": ["1", "2", "1", "3"], "prefix": "M"}}"#),
        )
        .await
        .unwrap();
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.load);
    assert_eq!(
        (r.counts.blocked, r.counts.updated, r.counts.created),
        (2, 2, 0),
        "{:?}",
        r.counts
    );
    assert_eq!(
        card_of(&f, "1").await["last_name"],
        "N1",
        "the blocked id's card was changed"
    );
    assert_eq!(card_of(&f, "2").await["last_name"], "M2");
    assert_eq!(f.engine.store().count_datacards("person").await.unwrap(), 3);
}

#[tokio::test]
async fn a_first_load_written_many_cards_per_statement_takes_back_exactly_the_card_of_a_repeated_id() {
    // 1,000 new cards (not a multiple of the rows one INSERT writes), then id
    // 500 again: its card must be the one left out. Streamed (no limits: the
    // card its first record created is deleted again) and two-pass (a
    // minimum row count: the plan leaves both records out).
    for (name, extra) in [
        ("Streamed", "{}"),
        ("TwoPass", r#"{"limits": {"minimum_row_count": 1}}"#),
    ] {
        let f = fresh().await;
        let source = emitting(
            r#"[{"id": str(i), "name": "n%d" % i, "groups": []} for i in range(1000)] + [{"id": "500", "name": "again", "groups": []}]"#,
        );
        let task = scripted_task(&f.engine, f.dir.path(), name, &source, "{}", extra).await;
        let r = run(&f.engine, &task).await;
        assert_eq!(
            (r.counts.created, r.counts.blocked),
            (999, 2),
            "{name}: {:?}",
            r.counts
        );
        let cards = f.engine.datacards("person", None, 2000).await.unwrap();
        let names: Vec<String> = cards
            .iter()
            .map(|c| c.data["last_name"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = (0..1000).filter(|i| *i != 500).map(|i| format!("n{i}")).collect();
        let missing: Vec<&String> = expected.iter().filter(|n| !names.contains(n)).collect();
        let extra: Vec<&String> = names.iter().filter(|n| !expected.contains(n)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name}: missing {missing:?}, not expected {extra:?}"
        );
        assert!(names == expected, "{name}: the cards are not in record order");
        assert!(cards
            .iter()
            .all(|c| c.data["employee_id"] == c.data["last_name"].as_str().unwrap()[1..]));
        // The next run finds every card again through the ids its cache remembers.
        let again = run(&f.engine, &task).await;
        assert_eq!(
            (again.counts.unchanged, again.counts.created),
            (999, 0),
            "{name}: {:?}",
            again.counts
        );
    }
}

async fn attribute_names_written_with_json_escapes_are_found(f: Fixture) {
    // The output text itself holds the escapes (\u006d is "m", \u006f is "o").
    let source = r#"import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
with open(a["expected_output_filename"], "w") as f:
    f.write(r'[{"id": "1", "na\u006de": "Esc", "gr\u006fups": ["g"]}, {"\u0069d": "2", "name": "Plain", "groups": []}]')
"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Escaped", source, "{}", "{}").await;
    let r = run(&f.engine, &task).await;
    assert_eq!(
        (r.status, r.counts.created),
        (RunStatus::Succeeded, 2),
        "{:?}",
        r.extract
    );
    let one = card_of(&f, "1").await;
    assert_eq!(
        (one["last_name"].as_str(), &one["groups"]),
        (Some("Esc"), &serde_json::json!(["g"]))
    );
    assert_eq!(card_of(&f, "2").await["last_name"], "Plain");
}

/// Pages of the card store, read once the engine is closed, less the pages
/// the change journal's rows need at most (they are new rows, written in
/// order: they never split a card's page).
async fn closed_database_pages(engine: provisio_engine::Engine) -> i64 {
    let database = engine.data_dir().join("datacards.db");
    engine.close().await;
    let conn = rusqlite::Connection::open(&database).unwrap();
    // Pages in use: a fold leaves the overlay's pages free for the next changes.
    let pages: i64 = conn
        .query_row(
            "SELECT page_count - freelist_count FROM pragma_page_count, pragma_freelist_count",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    // Row bytes (values, ids, header) and the card-id and run-id index entries, rounded up generously.
    let journal: i64 = conn
        .query_row(
            "SELECT IFNULL(SUM(IFNULL(length(before), 0) + IFNULL(length(after), 0) + 2 * length(run_id) + 80), 0)
             FROM card_changes",
            [],
            |r| r.get(0),
        )
        .unwrap();
    pages - (journal * 3 / 2) / page_size - 2
}

async fn a_rerun_growing_a_few_cards_rewrites_them_in_place_and_values_outgrowing_their_room_still_load(
    f: Fixture,
) {
    let source = r#"import json
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
p = a["connector_parameters"]
records = [{"id": str(i), "name": "name-%06d" % i + (p["grow"] if i % 50 == 0 else ""), "groups": ["g1"]}
           for i in range(20000)]
with open(a["expected_output_filename"], "w") as f:
    json.dump(records, f)
"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Grow", source, r#"{"grow": ""}"#, "{}").await;
    assert_eq!(run(&f.engine, &task).await.counts.created, 20000);
    let data_dir = f.engine.data_dir().to_path_buf();
    let first = closed_database_pages(f.engine).await;

    // Every 50th card grows by 20 bytes: its new values wait in the overlay,
    // and folded into the cards' rows each fits the room its row keeps, so no
    // page splits and the database does not grow (without the room, 400 page
    // splits each rebalanced three full pages and the file grew).
    let engine = provisio_engine::Engine::open(&data_dir).await.unwrap();
    let grow = |by: &str| connector_input(&format!(r#"{{"parameters": {{"grow": "{by}"}}}}"#));
    engine
        .update_connector("Grow", grow("-grown-by-20-bytes-"))
        .await
        .unwrap();
    let r = run(&engine, &task).await;
    assert_eq!((r.counts.updated, r.counts.unchanged), (400, 19600));
    let cards = engine.datacards("person", None, 100).await.unwrap();
    assert_eq!(cards[0].data["last_name"], "name-000000-grown-by-20-bytes-");
    assert_eq!(cards[1].data["last_name"], "name-000001");
    engine.close().await;
    let database = data_dir.join("datacards.db");
    let mut cards = provisio_engine::store::bulk::BulkCards::open(&database).unwrap();
    assert_eq!(
        cards.fold_overlay().unwrap(),
        400,
        "the re-run's changes waited in the overlay"
    );
    drop(cards);
    let engine = provisio_engine::Engine::open(&data_dir).await.unwrap();
    let cards = engine.datacards("person", None, 100).await.unwrap();
    assert_eq!(
        cards[0].data["last_name"], "name-000000-grown-by-20-bytes-",
        "folded into the card"
    );
    let second = closed_database_pages(engine).await;
    assert!(
        second <= first,
        "the re-run grew the cards' pages from {first} to {second} (journal excluded)"
    );

    // Values far larger than the room still load whole, and shrink back.
    let engine = provisio_engine::Engine::open(&data_dir).await.unwrap();
    let long = "x".repeat(3000);
    engine.update_connector("Grow", grow(&long)).await.unwrap();
    assert_eq!(run(&engine, &task).await.counts.updated, 400);
    let card = &engine.datacards("person", None, 1).await.unwrap()[0];
    assert_eq!(card.data["last_name"], format!("name-000000{long}"));
    engine.update_connector("Grow", grow("")).await.unwrap();
    assert_eq!(run(&engine, &task).await.counts.updated, 400);
    let card = &engine.datacards("person", None, 1).await.unwrap()[0];
    assert_eq!(card.data["last_name"], "name-000000");
    assert_eq!(card.data["groups"], serde_json::json!(["g1"]));
}

/// Cards in the overlay, read on the closed store's file.
async fn cards_in_overlay(engine: provisio_engine::Engine) -> i64 {
    let database = engine.data_dir().join("datacards.db");
    engine.close().await;
    let conn = rusqlite::Connection::open(&database).unwrap();
    conn.query_row("SELECT count(*) FROM card_overlay", [], |r| r.get(0))
        .unwrap()
}

/// A re-run's changes wait beside the cards (the overlay) until they are one
/// card in 16, and whatever reads a card (the listing, the search, the next
/// run, an undo) reads its newest values all along.
async fn a_reruns_changes_are_read_at_once_and_fold_into_the_cards_once_many(f: Fixture) {
    let source = r#"import json
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
p = a["connector_parameters"]
records = [{"id": str(i), "name": ("new-%06d" if p["every"] and i % p["every"] == 0 else "name-%06d") % i, "groups": ["g1"]}
           for i in range(20000)]
with open(a["expected_output_filename"], "w") as f:
    json.dump(records, f)
"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Some", source, r#"{"every": 0}"#, "{}").await;
    assert_eq!(run(&f.engine, &task).await.counts.created, 20000);
    let every = |n: u32| connector_input(&format!(r#"{{"parameters": {{"every": {n}}}}}"#));
    let data_dir = f.engine.data_dir().to_path_buf();

    // 2 %: 400 cards, read at once wherever a card is read.
    f.engine.update_connector("Some", every(50)).await.unwrap();
    let rerun = run(&f.engine, &task).await;
    assert_eq!((rerun.counts.updated, rerun.counts.unchanged), (400, 19600));
    let page = f
        .engine
        .datacards_page("person", None, None, None, 3)
        .await
        .unwrap();
    let names: Vec<_> = page.iter().map(|c| c.data["last_name"].clone()).collect();
    assert_eq!(names, ["new-000000", "name-000001", "name-000002"]);
    let found = f
        .engine
        .datacards_page("person", None, Some("NEW-0"), None, 1000)
        .await
        .unwrap();
    assert_eq!(found.len(), 400, "the search finds the new values");
    assert_eq!(
        run(&f.engine, &task).await.counts.unchanged,
        20000,
        "the next run compares with them"
    );
    assert_eq!(cards_in_overlay(f.engine).await, 400);

    // The undo reads and writes the same values.
    let engine = provisio_engine::Engine::open(&data_dir).await.unwrap();
    let undone = engine.undo_run(&rerun.id, false, false, &[]).await.unwrap();
    assert_eq!(undone.steps.len(), 400);
    let first = &engine
        .datacards_page("person", None, None, None, 1)
        .await
        .unwrap()[0];
    assert_eq!(first.data["last_name"], "name-000000");
    assert_eq!(cards_in_overlay(engine).await, 400, "set back in the overlay");

    // 10 %: with those, more than one card in 16 waits: the commit folds them into the cards.
    let engine = provisio_engine::Engine::open(&data_dir).await.unwrap();
    engine.update_connector("Some", every(10)).await.unwrap();
    // (The 400 the undo set back stay so: the undo sticks while the source holds what it undid.)
    assert_eq!(run(&engine, &task).await.counts.updated, 1600);
    let found = engine
        .datacards_page("person", None, Some("new-0"), None, 5000)
        .await
        .unwrap();
    assert_eq!(found.len(), 1600);
    assert_eq!(found[0].data["last_name"], "new-000010");
    assert_eq!(cards_in_overlay(engine).await, 0, "folded");
    let engine = provisio_engine::Engine::open(&data_dir).await.unwrap();
    let found = engine
        .datacards_page("person", None, Some("new-0"), None, 5000)
        .await
        .unwrap();
    assert_eq!(found.len(), 1600, "the folded cards hold the new values");
    let first = &engine
        .datacards_page("person", None, None, None, 1)
        .await
        .unwrap()[0];
    assert_eq!(
        first.data["last_name"], "name-000000",
        "and the set-back ones theirs"
    );
    assert_eq!(run(&engine, &task).await.counts.unchanged, 20000);
}

/// Records the cache knows byte for byte are not read again (pass one's
/// shortcut); what decides their cards must still reach them.
async fn a_rerun_skips_records_it_knows_byte_for_byte_yet_a_template_change_reaches_every_card(f: Fixture) {
    const MEMBERS: &str = r#"import json
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
p = args["connector_parameters"]
records = [{"id": i, "name": p.get("prefix", "N") + i, "note": p.get("note", "")} for i in ["1", "2", "3"]]
with open(args["expected_output_filename"], "w") as f:
    json.dump(records, f)
"#;
    let member = |multi_value: bool| {
        serde_json::from_value::<provisio_engine::model::TemplateInput>(serde_json::json!({
            "code": "member", "name": "Member",
            "attributes": [{"code": "member_id"}, {"code": "name", "multi_value": multi_value}],
            "folders": [{"code": "members"}]
        }))
        .unwrap()
    };
    f.engine.add_template(member(false)).await.unwrap();
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Members",
        MEMBERS,
        "{}",
        r#"{"target_template": "member", "target_folder": "members",
            "mappings": [{"source": "id", "target": "member_id"}, {"source": "name", "target": "name"}]}"#,
    )
    .await;
    let counts = |r: provisio_engine::model::Run| (r.counts.created, r.counts.updated, r.counts.unchanged);
    let name_of_2 = || async {
        f.engine
            .datacards("member", None, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.data["member_id"] == "2")
            .expect("member 2 has a card")
            .data["name"]
            .clone()
    };
    assert_eq!(counts(run(&f.engine, &task).await), (3, 0, 0));
    assert_eq!(counts(run(&f.engine, &task).await), (0, 0, 3));
    // Other bytes, the same mapped values (an attribute the task does not map): nothing to write.
    let params = |p: &str| connector_input(&format!(r#"{{"parameters": {p}}}"#));
    f.engine
        .update_connector("Members", params(r#"{"note": "moved"}"#))
        .await
        .unwrap();
    assert_eq!(counts(run(&f.engine, &task).await), (0, 0, 3));
    assert_eq!(counts(run(&f.engine, &task).await), (0, 0, 3));
    // The same records, a template that makes other cards of them: every card is written.
    f.engine.add_template(member(true)).await.unwrap();
    assert_eq!(counts(run(&f.engine, &task).await), (0, 3, 0));
    assert_eq!(name_of_2().await, serde_json::json!(["N2"]));
    assert_eq!(counts(run(&f.engine, &task).await), (0, 0, 3));
    // And a mapped value that changes is written, once.
    f.engine
        .update_connector("Members", params(r#"{"note": "moved", "prefix": "M"}"#))
        .await
        .unwrap();
    assert_eq!(counts(run(&f.engine, &task).await), (0, 3, 0));
    assert_eq!(name_of_2().await, serde_json::json!(["M2"]));
    assert_eq!(counts(run(&f.engine, &task).await), (0, 0, 3));
}

// Every pipeline test above runs twice: with the load streamed beside pass
// one where the task allows it, and always in a second pass.
under_both_load_strategies!(
    an_unchanged_rerun_writes_nothing_and_a_change_updates_one_card,
    records_not_fetched_by_a_full_run_are_marked_removed_once,
    the_update_limit_interrupts_the_run_and_an_approval_applies_it_once,
    fewer_rows_than_the_minimum_interrupt_the_run,
    invalid_and_repeated_records_are_blocked_with_reasons,
    a_record_that_is_not_utf8_is_blocked_and_the_rest_load,
    two_tasks_loading_the_same_person_update_one_card,
    a_failed_run_creates_the_failure_card,
    incremental_runs_receive_the_last_successful_extract,
    runs_are_kept_in_history_with_their_summary,
    attributes_are_found_whatever_their_order_and_whatever_else_a_record_holds,
    a_first_load_whose_output_breaks_late_loads_nothing,
    a_first_load_stopped_while_it_streams_commits_nothing,
    an_id_repeated_after_its_card_was_changed_blocks_both_records_and_keeps_the_card,
    attribute_names_written_with_json_escapes_are_found,
    a_rerun_growing_a_few_cards_rewrites_them_in_place_and_values_outgrowing_their_room_still_load,
    a_reruns_changes_are_read_at_once_and_fold_into_the_cards_once_many,
    a_rerun_skips_records_it_knows_byte_for_byte_yet_a_template_change_reaches_every_card,
);
