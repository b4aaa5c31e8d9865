//! The load: one core and its two drivers, as a searcher and its sinks.
//! [`LoadCore`] holds the target's one transaction from `begin` to
//! `commit`: it writes batches of changes, marks removals and commits the
//! task's cache and the run's final state with the cards. The drivers feed
//! it: [`Streamed`] while pass one reads (a task without limits),
//! [`TwoPass`] from the spill after the guard (a task with limits).

mod streamed;
mod two_pass;

pub(super) use streamed::Streamed;
pub(super) use two_pass::TwoPass;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::cache::{self, NextCache, Slots};
use super::changes::{foresee_changes, write_changes, Change};
use super::plan::Plan;
use super::{Halt, RunInputs, SPILL};
use crate::model::Count;
use crate::model::{RemovalSettings, Run, RunCounts, RunMode, RunStage, RunStatus, Task};
use crate::targets::{CacheWrite, CardRef, Foreseen, LoadTarget, RemovalQuery, Upsert};

/// Set (to anything) only by `cargo bench --bench pipeline`: loads write no
/// change journal, so the benchmark can print what the journal costs.
pub const WITHOUT_JOURNAL_ENV: &str = "PROVISIO_BENCH_WITHOUT_JOURNAL";

/// The task's cards this run did not fetch: (card, object id).
type Candidates = Vec<(CardRef, String)>;

/// The target's load transaction and what goes through it.
struct LoadCore<'a> {
    target: Box<dyn LoadTarget + Send>,
    inputs: &'a RunInputs,
    key_attribute: &'a str,
    stopped: &'a AtomicBool,
    /// What the target did with each change of the last batch.
    outcomes: Vec<Upsert>,
    /// What the target foresaw for each change of the last batch foreseen.
    foreseen: Vec<Foreseen>,
}

impl<'a> LoadCore<'a> {
    /// Opens the task's target (no transaction yet).
    fn open(inputs: &'a RunInputs, key_attribute: &'a str, stopped: &'a AtomicBool) -> Result<Self, Halt> {
        Ok(LoadCore {
            target: inputs.target.open().map_err(Halt::failed_in(RunStage::Load))?,
            inputs,
            key_attribute,
            stopped,
            outcomes: Vec::new(),
            foreseen: Vec::new(),
        })
    }

    /// Opens the load's transaction once the card store is free (loads take
    /// turns); what it changes is journalled as run `run_id`'s.
    fn begin(&mut self, run_id: &str) -> Result<(), Halt> {
        let task = &self.inputs.task;
        self.target
            .begin_in_turn(self.stopped, turn_wait(task))
            .map_err(|e| {
                if self.stopped.load(Ordering::Relaxed) {
                    stopped_in_load()
                } else {
                    Halt::failed_in(RunStage::Load)(e)
                }
            })?;
        // (The pipeline benchmark turns the journal off to measure what it costs.)
        if std::env::var_os(WITHOUT_JOURNAL_ENV).is_none() {
            self.target.journal_as(run_id);
        }
        self.target
            .journal_masks(&self.inputs.secret_values)
            .map_err(Halt::failed_in(RunStage::Load))
    }

    /// Writes a batch of changes in order; the result says what happened to each.
    fn write(&mut self, changes: &[Change]) -> Result<&[Upsert], Halt> {
        write_changes(
            &mut *self.target,
            &self.inputs.task,
            self.key_attribute,
            changes,
            &mut self.outcomes,
        )?;
        // Loaded means written: a run after a cache clear compares every record
        // and may write none (its history says "unchanged"; the progress agrees).
        let wrote = self.outcomes.iter().filter(|o| o.wrote()).count();
        self.inputs.progress.add_loaded(wrote as u64);
        if self.stopped.load(Ordering::Relaxed) {
            return Err(stopped_in_load());
        }
        Ok(&self.outcomes)
    }

    /// What writing a batch of changes would do to each, nothing written.
    fn foresee(&mut self, changes: &[Change]) -> Result<&[Foreseen], Halt> {
        foresee_changes(
            &mut *self.target,
            &self.inputs.task,
            self.key_attribute,
            changes,
            &mut self.foreseen,
        )?;
        if self.stopped.load(Ordering::Relaxed) {
            return Err(stopped_in_load());
        }
        Ok(&self.foreseen)
    }

    /// Which cards the run marks removed: a full run's, with the task's removal settings.
    fn removal_query(&self, run: &Run) -> Option<RemovalQuery<'a>> {
        let inputs: &'a RunInputs = self.inputs;
        let task = &inputs.task;
        let removal: Option<&'a RemovalSettings> =
            task.removal.as_ref().filter(|_| run.run_type == RunMode::Full);
        removal.map(|r| RemovalQuery {
            template: &task.target_template,
            task_id: &task.id,
            status_attribute: &r.status_attribute,
            removed_value: &r.removed_value,
            task_id_attribute: task.task_id_attribute.as_deref(),
            key_attribute: self.key_attribute,
        })
    }

    /// The task's cards that this run did not fetch (nor block) and that are not removed yet.
    fn removal_candidates(
        &mut self,
        query: Option<&RemovalQuery>,
        slots: &Slots,
    ) -> Result<Candidates, Halt> {
        let Some(q) = query else {
            return Ok(Vec::new());
        };
        self.target
            .removal_candidates(q, &|k: &str| {
                slots
                    .get(&cache::key_hash(k))
                    .is_some_and(|s| s.occurrences > 0 || s.blocked)
            })
            .map_err(Halt::failed_in(RunStage::Load))
    }

    /// Marks the candidates removed, counting them.
    fn mark_removals(
        &mut self,
        query: Option<&RemovalQuery>,
        candidates: &[(CardRef, String)],
        counts: &mut RunCounts,
    ) -> Result<(), Halt> {
        let Some(q) = query else {
            return Ok(());
        };
        for (card, _) in candidates {
            if self
                .target
                .mark_removed(*card, q)
                .map_err(Halt::failed_in(RunStage::Load))?
            {
                counts.removed += 1;
            }
        }
        Ok(())
    }

    /// Takes back a card this load created (its id turned up again later).
    fn take_back(&mut self, card: CardRef) -> Result<(), Halt> {
        self.target
            .take_back(card)
            .map_err(Halt::failed_in(RunStage::Load))
    }

    fn rollback(&mut self) {
        self.target.rollback();
    }

    /// The commit: the cards, the task's cache and the run's final state go in together.
    fn commit(mut self, plan: &Plan, counts: RunCounts, mut run: Run) -> Result<Run, Halt> {
        let inputs = self.inputs;
        let task = &inputs.task;
        if self.stopped.load(Ordering::Relaxed) {
            self.rollback();
            return Err(stopped_in_load());
        }
        // Rows not read this time are still known: keep their entries.
        let incremental = matches!(run.run_type, RunMode::Incremental | RunMode::Partial);
        let next = NextCache::after(&plan.slots, incremental);
        let mappings_hash = cache::mappings_hash(task);
        let saved = CacheWrite {
            task_id: &task.id,
            mappings_hash: &mappings_hash,
            size: next.size,
            last_extract: run.extract.started.as_deref(),
            // Clearing the cache after this run started voids what it writes (see store::cards).
            valid_from_ms: crate::clock::millis_of(&run.started_at),
            delta: next.is_delta(),
        };
        self.target
            .save_cache(&saved, &mut |w| next.write_to(w))
            .map_err(Halt::failed_in(RunStage::Load))?;
        let load_info = format!(
            "{} created, {} updated, {} unchanged, {} removed, {} failed{}{}",
            Count(counts.created),
            Count(counts.updated),
            Count(counts.unchanged),
            Count(counts.removed),
            Count(counts.failed),
            held_words(counts.held - plan.held_updates, plan.held_updates),
            if counts.takeovers > 0 {
                format!(
                    "; {} cards taken over from other tasks (the last writer's task id stands)",
                    Count(counts.takeovers)
                )
            } else {
                String::new()
            }
        );
        run.succeed(counts, load_info);
        let failures = self.target.take_failures();
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
        self.target
            .record_commit(&run)
            .map_err(Halt::failed_in(RunStage::Load))?;
        self.target.commit().map_err(Halt::failed_in(RunStage::Load))?;
        tracing::debug!(ms = committing.elapsed().as_millis() as u64, "load committed");
        Ok(run)
    }
}

fn stopped_in_load() -> Halt {
    Halt {
        facts: Some(crate::model::hr::CaseFacts::new("stopped_in_load", &[])),
        ..Halt::load(
            RunStatus::Stopped,
            "stopped by a user during the load; nothing was committed",
        )
    }
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

/// How long a load may wait for another task's load: the task's maximum
/// runtime, else [`crate::targets::local::TURN_WAIT`].
fn turn_wait(task: &Task) -> Duration {
    task.max_runtime
        .map(Duration::from_secs)
        .unwrap_or(crate::targets::local::TURN_WAIT)
}
