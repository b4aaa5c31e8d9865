//! The load core and its two drivers: `stream_load` writes while pass one
//! reads (a task without limits), `load` reads the spill after the guard
//! (a task with limits). Both mark removals (`mark_removals`) and end in
//! `finish_load`, the commit, all through [`LoadTarget`].

use std::io::BufRead;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::held::HeldChanges;
use super::plan::{loadable, open_output, plan_changes, Plan};
use super::report::record_extract;
use super::sink::Sink;
use super::{cache, guard, records, Halt, RunInputs, SPILL};
use crate::model::{Run, RunCounts, RunMode, RunStage, RunStatus, Task};
use crate::targets::{CacheWrite, CardWrite, LoadTarget, RemovalQuery, Upsert};
use cache::{Slot, Slots};
use records::RecordShape;

/// A run without limits has no guard to wait for, so its changes go into
/// the load transaction while pass one is still reading, and the two use
/// both cores. An id found repeated later takes back the card its first
/// record created, before the commit. A card its first record *updated*
/// cannot be taken back that way: then everything is rolled back and `None`
/// returned, and the caller runs the two-pass way (rare: repeated ids whose
/// first record changed a card).
pub(super) fn stream_load(
    inputs: &RunInputs,
    shape: &RecordShape,
    output: &Path,
    slots: Slots,
    mut run: Run,
    stopped: &AtomicBool,
    (script_time, script_started): (Duration, std::time::Instant),
) -> std::result::Result<Option<Run>, Halt> {
    let task = &inputs.task;
    // Opened before the transaction: nothing that could wait on a script happens inside it.
    let output = open_output(output)?;
    let mut opened = inputs.target.open().map_err(Halt::failed_in(RunStage::Load))?;
    let target: &mut (dyn LoadTarget + Send) = &mut *opened;
    begin_load(target, task, &run.id, &inputs.secret_values, stopped)?;
    let key_attribute = shape.key_attribute().to_string();
    let (to_loader, from_pass_one) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let (plan, loaded) = std::thread::scope(|scope| {
        let target = &mut *target;
        let progress = &inputs.progress;
        let loader = scope.spawn(move || -> std::result::Result<Vec<(u64, Upsert)>, Halt> {
            let damaged = || Halt::load(RunStatus::Failed, "a change line is damaged");
            let mut made = Vec::new();
            let mut outcomes = Vec::new();
            for lines in from_pass_one {
                // Whole batches are checked at once (SIMD): pass one wrote them from valid text.
                let lines = simdutf8::basic::from_utf8(&lines).map_err(|_| damaged())?;
                let mut changes = Vec::new();
                for line in lines.split('\n').filter(|l| !l.is_empty()) {
                    let (known, change) = line.split_once('\t').ok_or_else(damaged)?;
                    let (key, data) = parse_change(change).ok_or_else(damaged)?;
                    changes.push(Change {
                        id: cache::key_hash(&key),
                        known: known.parse().ok(),
                        key,
                        data,
                    });
                }
                write_changes(target, task, &key_attribute, &changes, &mut outcomes)?;
                progress.add_loaded(changes.len() as u64);
                made.extend(changes.iter().map(|c| c.id).zip(outcomes.iter().copied()));
                if stopped.load(Ordering::Relaxed) {
                    return Err(stopped_in_load());
                }
            }
            Ok(made)
        });
        let sink = Sink::Stream {
            to_loader,
            pending: Vec::new(),
        };
        let plan = plan_changes(output, &inputs.dir, shape, slots, sink, &inputs.progress);
        let loaded = loader
            .join()
            .unwrap_or_else(|_| Err(Halt::load(RunStatus::Failed, "the load stopped unexpectedly")));
        (plan, loaded)
    });
    // A stopped or failed loader explains a pass one that ended early; an
    // invalid output explains a loader that was cut off.
    let (mut plan, loaded) = match (plan, loaded) {
        (Ok(plan), Ok(loaded)) => (plan, loaded),
        (Err(halt), Ok(_)) | (_, Err(halt)) => {
            target.rollback();
            return Err(halt);
        }
    };
    let mut counts = plan.counts.clone();
    for (id, outcome) in loaded {
        let slot = plan.slots.get_mut(&id).filter(|s| loadable(s));
        match (slot, outcome) {
            (Some(slot), outcome) => written(&mut counts, slot, outcome),
            // Its id turned up again later: all its records are blocked.
            (None, Upsert::Created(c)) => target.take_back(c).map_err(Halt::failed_in(RunStage::Load))?,
            (None, Upsert::Failed) => {}
            (None, Upsert::Updated(_) | Upsert::TakenOver(_)) => {
                target.rollback();
                return Ok(None);
            }
        }
    }
    // Which of the task's cards were not fetched is known only now.
    let query = removal_query(task, shape.key_attribute(), removal_of(task, &run));
    let candidates = removal_candidates(target, query.as_ref(), &plan.slots)?;
    record_extract(
        &mut run,
        &plan.counts,
        script_time,
        script_started.elapsed() - script_time,
    );
    mark_removals(target, query.as_ref(), &candidates, &mut counts)?;
    let done = finish_load(target, inputs, &mut plan, counts, run, stopped)?;
    Ok(Some(done))
}

pub(super) fn stopped_in_load() -> Halt {
    Halt {
        facts: Some(crate::model::hr::CaseFacts::new("stopped_in_load", &[])),
        ..Halt::load(
            RunStatus::Stopped,
            "stopped by a user during the load; nothing was committed",
        )
    }
}

/// A change line as pass one writes it: the object key as JSON, a tab, the card JSON.
pub(super) fn parse_change(line: &str) -> Option<(std::borrow::Cow<'_, str>, &str)> {
    let (key_json, data) = line.split_once('\t')?;
    let key: records::JsonStr = serde_json::from_str(key_json).ok()?;
    Some((key.0, data))
}

/// One new or changed card of a load batch.
pub(super) struct Change<'a> {
    /// Hash of the object key (the cache's and the plan's key).
    pub(super) id: u64,
    /// The card the task's cache remembers for it.
    pub(super) known: Option<i64>,
    pub(super) key: std::borrow::Cow<'a, str>,
    /// The card values as JSON.
    pub(super) data: &'a str,
}

/// Writes a batch of changes in order; `outcomes` then says what happened to each.
pub(super) fn write_changes(
    target: &mut dyn LoadTarget,
    task: &Task,
    key_attribute: &str,
    changes: &[Change],
    outcomes: &mut Vec<Upsert>,
) -> std::result::Result<(), Halt> {
    let writes: Vec<CardWrite> = changes
        .iter()
        .map(|c| card_write(task, key_attribute, &c.key, c.known, c.data))
        .collect();
    outcomes.clear();
    target
        .upsert_all(&writes, outcomes)
        .map_err(Halt::failed_in(RunStage::Load))?;
    Ok(())
}

pub(super) fn card_write<'a>(
    task: &'a Task,
    key_attribute: &'a str,
    key: &'a str,
    known_card: Option<i64>,
    data: &'a str,
) -> CardWrite<'a> {
    CardWrite {
        template: &task.target_template,
        folder: &task.target_folder,
        key_attribute,
        key,
        known_card,
        task_id: &task.id,
        task_id_attribute: task.task_id_attribute.as_deref(),
        data,
    }
}

/// Counts what the target did with one record and remembers its card.
pub(super) fn written(counts: &mut RunCounts, slot: &mut Slot, outcome: Upsert) {
    let card = match outcome {
        Upsert::Created(c) => {
            counts.created += 1;
            c
        }
        Upsert::Updated(c) => {
            counts.updated += 1;
            c
        }
        Upsert::TakenOver(c) => {
            counts.updated += 1;
            counts.takeovers += 1;
            c
        }
        Upsert::Failed => {
            // Not written: the cache keeps what it knew (see `finish_load`), and no removal touches it.
            counts.failed += 1;
            slot.blocked = true;
            return;
        }
    };
    slot.card = card.id;
}

/// The task's removal settings when this run may mark cards removed (full runs only).
fn removal_of<'a>(task: &'a Task, run: &Run) -> Option<&'a crate::model::RemovalSettings> {
    task.removal.as_ref().filter(|_| run.run_type == RunMode::Full)
}

pub(super) fn removal_query<'a>(
    task: &'a Task,
    key_attribute: &'a str,
    removal: Option<&'a crate::model::RemovalSettings>,
) -> Option<RemovalQuery<'a>> {
    removal.map(|r| RemovalQuery {
        template: &task.target_template,
        task_id: &task.id,
        status_attribute: &r.status_attribute,
        removed_value: &r.removed_value,
        task_id_attribute: task.task_id_attribute.as_deref(),
        key_attribute,
    })
}

/// The task's cards that this run did not fetch (nor block) and that are not removed yet.
pub(super) fn removal_candidates(
    target: &mut dyn LoadTarget,
    query: Option<&RemovalQuery>,
    slots: &Slots,
) -> std::result::Result<Vec<(crate::targets::CardRef, String)>, Halt> {
    let Some(q) = query else {
        return Ok(Vec::new());
    };
    target
        .removal_candidates(q, &|k: &str| {
            slots
                .get(&cache::key_hash(k))
                .is_some_and(|s| s.occurrences > 0 || s.blocked)
        })
        .map_err(Halt::failed_in(RunStage::Load))
}

/// Guard, load and commit, on the target's own connection (blocking).
pub(super) fn load(
    inputs: &RunInputs,
    shape: &RecordShape,
    mut plan: Plan,
    run: Run,
    stopped: &AtomicBool,
) -> std::result::Result<Run, Halt> {
    let task = &inputs.task;
    let mut opened = inputs.target.open().map_err(Halt::failed_in(RunStage::Load))?;
    let target: &mut (dyn LoadTarget + Send) = &mut *opened;
    let query = removal_query(task, shape.key_attribute(), removal_of(task, &run));
    let mut candidates = removal_candidates(target, query.as_ref(), &plan.slots)?;

    // ---- guard ----
    let planned = guard::Planned {
        valid: plan.counts.valid,
        held: inputs.source.rows_held(&inputs.dir),
        creates: plan.creates,
        updates: plan.updates,
        removals: candidates.len() as u64,
    };
    // `on_limit: hold_excess`: the rest loads; what took the run over the limit waits for a person.
    let excess = guard::excess(&task.limits, &planned, inputs.approved);
    let held_removals = match excess {
        Some(_) => std::mem::take(&mut candidates),
        None => Vec::new(),
    };
    let mut held_changes = match excess {
        Some(guard::Excess::ChangesAndRemovals) => Some(HeldChanges::create(&inputs.dir)?),
        _ => None,
    };
    let refusal = excess
        .is_none()
        .then(|| guard::refusal_case(&task.limits, &planned, inputs.approved))
        .flatten();
    if let Some((case, reason, facts)) = refusal {
        let plan_file = crate::run_folder::PlanFile {
            reason: reason.clone(),
            // Which limit refused: what approving can help with (Engine::interruption_help).
            limit: case.as_str().into(),
            new: plan.creates,
            changed: plan.updates,
            removals: candidates.len() as u64,
            removed_object_ids: candidates.iter().take(10_000).map(|(_, k)| k.clone()).collect(),
            changes_file: SPILL.into(),
        };
        let _ = plan_file.write(&inputs.dir);
        return Err(Halt {
            case: Some(case),
            facts: Some(facts),
            ..Halt::load(RunStatus::Interrupted, reason)
        });
    }

    // ---- load ----
    begin_load(target, task, &run.id, &inputs.secret_values, stopped)?;
    let spill_path = inputs.dir.join(SPILL);
    let spill = std::fs::File::open(&spill_path).map_err(|e| Halt::io("cannot read", &spill_path, e))?;
    let mut spill = std::io::BufReader::with_capacity(1 << 20, spill);
    let key_attribute = shape.key_attribute().to_string();
    let mut counts = plan.counts.clone();
    let damaged = || Halt::load(RunStatus::Failed, "the change file is damaged");
    // Whole lines, about 1 MB at a time, so the target can write many cards per statement.
    let mut batch = Vec::with_capacity(1 << 20);
    let mut outcomes = Vec::new();
    loop {
        batch.clear();
        while batch.len() < 1 << 20 {
            let n = spill
                .read_until(b'\n', &mut batch)
                .map_err(|e| Halt::io("cannot read", &spill_path, e))?;
            if n == 0 {
                break;
            }
        }
        if batch.is_empty() {
            break;
        }
        let lines = simdutf8::basic::from_utf8(&batch).map_err(|_| damaged())?;
        let mut changes = Vec::new();
        for line in lines.split('\n').filter(|l| !l.is_empty()) {
            let (key, data) = parse_change(line).ok_or_else(damaged)?;
            let id = cache::key_hash(&key);
            let Some(slot) = plan.slots.get(&id).filter(|s| loadable(s)) else {
                continue;
            };
            if let Some(held) = held_changes.as_mut().filter(|_| changed(slot)) {
                held.hold(id, slot.card, slot.new_hash, line)?;
                continue;
            }
            changes.push(Change {
                id,
                known: slot.cached.then_some(slot.card),
                key,
                data,
            });
        }
        write_changes(target, task, &key_attribute, &changes, &mut outcomes)?;
        inputs.progress.add_loaded(changes.len() as u64);
        for (change, outcome) in changes.iter().zip(&outcomes) {
            if let Some(slot) = plan.slots.get_mut(&change.id) {
                written(&mut counts, slot, *outcome);
            }
        }
        if stopped.load(Ordering::Relaxed) {
            target.rollback();
            return Err(stopped_in_load());
        }
    }
    if let Some(excess) = excess {
        let held_updates = match held_changes {
            Some(held) => held.finish()?,
            None => Vec::new(),
        };
        // The cache keeps what the held cards held before: until a person
        // applies them, the next run plans them again (and a card whose
        // removal is held is still there, as the cache knew it).
        for id in &held_updates {
            if let Some(slot) = plan.slots.get_mut(id) {
                slot.new_hash = slot.cached_hash;
            }
        }
        for (_, key) in &held_removals {
            if let Some(slot) = plan.slots.get_mut(&cache::key_hash(key)) {
                slot.held = true;
            }
        }
        let limit = task.limits.update_limit.unwrap_or_default();
        let total = plan.creates + plan.updates + held_removals.len() as u64;
        let held_what = crate::run_folder::held_what(held_updates.len() as u64, held_removals.len() as u64);
        let reason = format!(
            "{held_what} would take the run's {total} changes over the update limit of {limit}; \
             they are held until a person approves them{}",
            match (excess, plan.creates) {
                (guard::Excess::Removals, _) | (_, 0) => String::new(),
                (_, 1) => " (the new card was loaded)".into(),
                (_, n) => format!(" (the {n} new cards were loaded)"),
            },
        );
        crate::run_folder::HeldFile {
            reason,
            removals: held_removals
                .iter()
                .map(|(card, key)| (card.id, key.clone()))
                .collect(),
            updates: held_updates.len() as u64,
            applied_by: None,
        }
        .write(&inputs.dir)
        .map_err(|e| Halt::io("cannot keep what the run held in", &inputs.dir, e))?;
        plan.held_updates = held_updates.len() as u64;
        counts.held = held_removals.len() as u64 + plan.held_updates;
    }
    mark_removals(target, query.as_ref(), &candidates, &mut counts)?;
    finish_load(target, inputs, &mut plan, counts, run, stopped)
}

/// A card the cache knew, with other values now.
fn changed(slot: &Slot) -> bool {
    slot.cached && slot.cached_hash != slot.new_hash
}

/// Marks the candidates removed (a full run with removal settings), counting them.
fn mark_removals(
    target: &mut dyn LoadTarget,
    query: Option<&RemovalQuery>,
    candidates: &[(crate::targets::CardRef, String)],
    counts: &mut RunCounts,
) -> std::result::Result<(), Halt> {
    let Some(q) = query else {
        return Ok(());
    };
    for (card, _) in candidates {
        if target
            .mark_removed(*card, q)
            .map_err(Halt::failed_in(RunStage::Load))?
        {
            counts.removed += 1;
        }
    }
    Ok(())
}

/// Removal marking and the commit: the cache, the run's final state and the
/// cards go in together.
pub(super) fn finish_load(
    target: &mut dyn LoadTarget,
    inputs: &RunInputs,
    plan: &mut Plan,
    counts: RunCounts,
    mut run: Run,
    stopped: &AtomicBool,
) -> std::result::Result<Run, Halt> {
    let task = &inputs.task;
    if stopped.load(Ordering::Relaxed) {
        target.rollback();
        return Err(stopped_in_load());
    }

    // ---- commit ----
    // Rows not read this time are still known: keep their entries.
    let incremental = matches!(run.run_type, RunMode::Incremental | RunMode::Partial);
    let entry = |slot: &Slot| -> Option<(u64, i64)> {
        if loadable(slot) {
            Some((slot.new_hash, slot.card))
        } else if slot.cached && (incremental || slot.occurrences > 0 || slot.blocked || slot.held) {
            // Not loaded this time but still known: keep what was written before.
            Some((slot.cached_hash, slot.card))
        } else {
            None
        }
    };
    // This run's entries, sorted by id: entries written whole are sorted, so
    // that a later partial run reads them without sorting and may store only
    // its changes on top of them (see `cache`).
    let mut touched: Vec<(u64, u64, i64)> = plan
        .slots
        .touched()
        .filter_map(|(key, slot)| match entry(slot) {
            Some((hash, card)) => Some((*key, hash, card)),
            // Known before, gone now: a delta says so.
            None if incremental && slot.cached => Some((*key, 0, cache::REMOVED)),
            None => None,
        })
        .collect();
    touched.sort_unstable_by_key(|e| e.0);
    let delta = if incremental {
        plan.slots
            .delta_base
            .as_ref()
            .and_then(|base| base.next(&touched))
    } else {
        None
    };
    if delta.is_none() {
        touched.retain(|e| e.2 != cache::REMOVED);
    }
    // Stored entries this run did not read are kept only by a run that read part of the data.
    let untouched = if incremental && delta.is_none() {
        plan.slots.untouched().count()
    } else {
        0
    };
    let size = match &delta {
        Some(d) => d.len() * cache::ENTRY_SIZE,
        None => (touched.len() + untouched) * cache::ENTRY_SIZE,
    };
    let mut chunk = Vec::with_capacity(1 << 16);
    let mappings_hash = cache::mappings_hash(task);
    let saved = CacheWrite {
        task_id: &task.id,
        mappings_hash: &mappings_hash,
        size,
        last_extract: run.extract.started.as_deref(),
        // Clearing the cache after this run started voids what it writes (see store::cards).
        valid_from_ms: crate::clock::millis_of(&run.started_at),
        delta: delta.is_some(),
    };
    target
        .save_cache(&saved, &mut |w| {
            let mut write = |(key, hash, card): (u64, u64, i64)| -> std::io::Result<()> {
                cache::encode_entry(&mut chunk, key, hash, card);
                if chunk.len() >= 1 << 16 {
                    w.write_all(&chunk)?;
                    chunk.clear();
                }
                Ok(())
            };
            match &delta {
                Some(changes) => {
                    for &e in changes {
                        write(e)?;
                    }
                }
                None if incremental => {
                    // Merged in id order with the (sorted) entries this run did not touch.
                    let mut touched = touched.iter().copied().peekable();
                    for kept in plan.slots.untouched() {
                        while let Some(t) = touched.next_if(|t| t.0 < kept.0) {
                            write(t)?;
                        }
                        write(kept)?;
                    }
                    for t in touched {
                        write(t)?;
                    }
                }
                None => {
                    for &e in &touched {
                        write(e)?;
                    }
                }
            }
            w.write_all(&chunk)
        })
        .map_err(Halt::failed_in(RunStage::Load))?;
    let load_info = format!(
        "{} created, {} updated, {} unchanged, {} removed, {} failed{}{}",
        counts.created,
        counts.updated,
        counts.unchanged,
        counts.removed,
        counts.failed,
        held_words(counts.held - plan.held_updates, plan.held_updates),
        if counts.takeovers > 0 {
            format!(
                "; {} cards taken over from other tasks (the last writer's task id stands)",
                counts.takeovers
            )
        } else {
            String::new()
        }
    );
    run.succeed(counts, load_info);
    let failures = target.take_failures();
    if let Some((key, reason)) = failures.first() {
        let lines: String = failures.iter().map(|(k, r)| format!("{k}: {r}\n")).collect();
        let _ = std::fs::write(inputs.dir.join(super::FAILED), lines);
        run.note_on_load(&format!(
            "the target refused {} cards (first: {key}: {reason}); see the failed file",
            failures.len()
        ));
    }
    let _ = std::fs::remove_file(inputs.dir.join(SPILL));
    run.files = crate::run_folder::list(&inputs.dir);
    let committing = std::time::Instant::now();
    target
        .record_commit(&run)
        .map_err(Halt::failed_in(RunStage::Load))?;
    target.commit().map_err(Halt::failed_in(RunStage::Load))?;
    tracing::debug!(ms = committing.elapsed().as_millis() as u64, "load committed");
    Ok(run)
}

/// What a run held over its update limit, as its load line ends.
fn held_words(removals: u64, updates: u64) -> String {
    if removals + updates == 0 {
        return String::new();
    }
    format!(
        "; {} held over the update limit, waiting for approval",
        crate::run_folder::held_what(updates, removals)
    )
}

/// Set (to anything) only by `cargo bench --bench pipeline`: loads write no
/// change journal, so the benchmark can print what the journal costs.
pub const WITHOUT_JOURNAL_ENV: &str = "PROVISIO_BENCH_WITHOUT_JOURNAL";

/// Opens the load's transaction once the card store is free (loads take turns).
pub(super) fn begin_load(
    target: &mut dyn LoadTarget,
    task: &Task,
    run_id: &str,
    secret_values: &[String],
    stopped: &AtomicBool,
) -> std::result::Result<(), Halt> {
    target.begin_in_turn(stopped, turn_wait(task)).map_err(|e| {
        if stopped.load(Ordering::Relaxed) {
            stopped_in_load()
        } else {
            Halt::failed_in(RunStage::Load)(e)
        }
    })?;
    // What the load changes is journalled as this run's, in its own transaction.
    // (The pipeline benchmark turns the journal off to measure what it costs.)
    if std::env::var_os(WITHOUT_JOURNAL_ENV).is_none() {
        target.journal_as(run_id);
    }
    target
        .journal_masks(secret_values)
        .map_err(Halt::failed_in(RunStage::Load))?;
    Ok(())
}

/// How long a load may wait for another task's load: the task's maximum
/// runtime, else [`crate::targets::local::TURN_WAIT`].
pub(super) fn turn_wait(task: &Task) -> Duration {
    task.max_runtime
        .map(Duration::from_secs)
        .unwrap_or(crate::targets::local::TURN_WAIT)
}
