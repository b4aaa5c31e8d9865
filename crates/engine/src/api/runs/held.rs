//! Changes held over the update limit (`on_limit: hold_excess`): a run
//! loaded the rest and kept its removals (and, when its changed cards took
//! it over, those with their values) in its folder; approving applies them
//! once, as a run of their own (kind `held`: in history, journalled, all or
//! nothing, taking the task's turn), and stores the applied values in the
//! task's cache so the next run does not plan them again.

use std::time::Duration;

use super::task_label;
use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::{Run, RunCounts, RunKind, RunStage, RunStatus, RunTrigger};
use crate::pipeline::cache;
use crate::targets::{CardRef, RemovalQuery};

/// How long applying waits for another load to finish with the card store.
const TURN_WAIT: Duration = Duration::from_secs(600);

impl Engine {
    /// Applies what run `run_id` held over its update limit, once.
    /// Refused when nothing is held (or it was applied), or when a newer run
    /// of the task has run since: its own picture of the source counts, not
    /// this older one (a person held then may be back).
    pub async fn apply_held(&self, run_id: &str) -> Result<Run> {
        let held_run = self.run(run_id).await?;
        let held_file = crate::run_folder::HeldFile::read(&self.run_dir(run_id))
            // A run that did not commit held nothing (its file was written just before the commit).
            .filter(|_| held_run.status == RunStatus::Succeeded);
        let Some(mut held) = held_file else {
            return Err(EngineError::invalid(
                "run",
                format!("run {run_id} held nothing over its update limit: there is nothing to apply"),
            ));
        };
        if let Some(by) = &held.applied_by {
            return Err(EngineError::invalid(
                "run",
                format!("what run {run_id} held was applied already, by run {by}"),
            ));
        }
        let task = self.task(&held_run.task_id).await?;
        let recent = self.store().task_runs(&task.id, 50).await?;
        // Applied, but the note in the run's folder was lost (the engine stopped in between).
        let marker = applied_message(run_id);
        if let Some(by) = recent.iter().find(|r| {
            r.kind == RunKind::Held
                && r.status == RunStatus::Succeeded
                && r.message.as_deref() == Some(&marker)
        }) {
            return Err(EngineError::invalid(
                "run",
                format!("what run {run_id} held was applied already, by run {}", by.id),
            ));
        }
        let newest = recent
            .into_iter()
            .find(|r| r.kind == RunKind::Scheduled && r.status != RunStatus::Skipped);
        if let Some(newer) = newest.filter(|r| r.id != held_run.id) {
            return Err(EngineError::invalid(
                "run",
                format!(
                    "run {} of {} ran after run {run_id}: its picture of the source is newer. \
                     Apply what that run held if it holds anything, or run the task again",
                    newer.id, newer.task
                ),
            ));
        }
        let removal = task.removal.clone().filter(|_| !held.removals.is_empty());
        if removal.is_none() && !held.removals.is_empty() {
            return Err(EngineError::invalid(
                "task",
                format!(
                    "task {} has no removal settings: there is no status to mark the cards removed with",
                    task_label(&task)
                ),
            ));
        }
        // The cache the held run left (no newer run has run since): the applied values go into it.
        let cache_row = crate::pipeline::cache::current(self.store(), &task).await?;
        let connector = self.connector_row(&task.connector_id).await?;
        let secret_values = crate::secrets::secret_texts(self.stored_secrets(&connector).await?.values());

        let mut run = Run::begin(&task.id, task_label(&task), RunKind::Held, RunTrigger::Manual);
        run.enter(RunStage::Load);
        run.message = Some(applied_message(run_id));
        self.store()
            .insert_run(&run)
            .await
            .map_err(|e| super::turn_taken(e, || format!(
                    "task '{}' is running: applying what a run held takes the task's turn; apply it when the task has ended",
                    run.task
                )))?;
        let target = self.target_for(&connector.target).await?;
        let key_attribute = super::preview::key_attribute_of(&task);
        let cards = held.removals.clone();
        let (run_id_now, task_for_load) = (run.id.clone(), task.clone());
        let (pending, held_run, held_count) = (run.clone(), run_id.to_string(), held.removals.len());
        let held_dir = self.run_dir(run_id);
        let held_updates = held.updates;
        let applied = tokio::task::spawn_blocking(move || -> Result<Run> {
            let mut t = target.open()?;
            t.begin_in_turn(&std::sync::atomic::AtomicBool::new(false), TURN_WAIT)?;
            t.journal_as(&run_id_now);
            t.journal_masks(&secret_values)?;
            let mut counts = RunCounts::default();
            // How applying changes the task's cache.
            let mut patches = Vec::new();
            if let Some(removal) = &removal {
                let query = RemovalQuery {
                    template: &task_for_load.target_template,
                    task_id: &task_for_load.id,
                    status_attribute: &removal.status_attribute,
                    removed_value: &removal.removed_value,
                    task_id_attribute: task_for_load.task_id_attribute.as_deref(),
                    key_attribute: &key_attribute,
                };
                for (card, key) in cards {
                    // Only cards the task still owns: another task may have taken one over since.
                    if t.mark_removed(CardRef { id: card }, &query)? {
                        counts.removed += 1;
                    }
                    // The held run kept it in the cache; gone now, it is written as new should it return.
                    patches.push(cache::Entry::removed(cache::key_hash(&key)));
                }
            }
            if held_updates > 0 {
                patches.extend(crate::pipeline::held::apply_held_changes(
                    &mut *t,
                    &task_for_load,
                    &key_attribute,
                    &held_dir,
                    &mut counts,
                )?);
            }
            // Without a cache (cleared since) the next run compares everything anyway.
            if let Some(row) = cache_row.filter(|_| !patches.is_empty()) {
                patches.sort_unstable_by_key(|p| p.id);
                let (entries, delta) = cache::patched(&row, &patches);
                let mappings_hash = cache::mappings_hash(&task_for_load);
                let saved = crate::targets::CacheWrite {
                    task_id: &task_for_load.id,
                    mappings_hash: &mappings_hash,
                    size: entries.len(),
                    last_extract: None,
                    valid_from_ms: crate::clock::millis_of(&pending.started_at),
                    delta,
                };
                t.save_cache(&saved, &mut |w| w.write_all(&entries))?;
            }
            let mut done = pending;
            let changed = applied(counts.updated, held_updates, "changed card");
            let removed = applied(counts.removed, held_count as u64, "removal");
            let message = match (held_updates, held_count) {
                (0, _) => format!("applied {removed} that run {held_run} held"),
                (_, 0) => format!("applied {changed} that run {held_run} held"),
                _ => format!("applied {changed} and {removed} that run {held_run} held"),
            };
            done.succeed(counts, message);
            // The final state commits with the removals (a kill -9 after the commit is told apart).
            t.record_commit(&done)?;
            t.commit()?;
            Ok(done)
        })
        .await
        .map_err(|e| EngineError::Internal(format!("applying what a run held stopped: {e}")))?;
        match applied {
            Ok(done) => {
                run = done;
                self.store().save_run(&run).await?;
                held.applied_by = Some(run.id.clone());
                held.write(&self.run_dir(run_id)).map_err(|e| {
                    EngineError::io(
                        format!("cannot note in run {run_id} that its held removals were applied"),
                        e,
                    )
                })?;
                self.store().acknowledge_alerts_of_run(run_id).await?;
                self.record(
                    crate::model::AuditObject::Task,
                    &task_label(&task),
                    &format!("apply the removals run {run_id} held"),
                    Vec::new(),
                )
                .await;
                Ok(run)
            }
            Err(e) => {
                run.end_early(RunStatus::Failed, RunStage::Load, &e.to_string());
                self.store().save_run(&run).await?;
                Err(e)
            }
        }
    }
}

/// The message of the run that applies what `run_id` held (also how a later call knows it was done).
fn applied_message(run_id: &str) -> String {
    format!("held changes of run {run_id}, approved")
}

/// "the removal", "all 5 removals", "4 of the 5 removals": how many of what a run held were applied.
fn applied(done: u64, held: u64, what: &str) -> String {
    match (done, held) {
        (1, 1) => format!("the {what}"),
        (d, h) if d == h => format!("all {h} {what}s"),
        (d, h) => format!("{d} of the {h} {what}s"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn what_was_applied_is_said_as_a_person_would() {
        assert_eq!(super::applied(1, 1, "removal"), "the removal");
        assert_eq!(super::applied(5, 5, "changed card"), "all 5 changed cards");
        assert_eq!(super::applied(4, 5, "removal"), "4 of the 5 removals");
    }
}
