//! Removals held over the update limit (`on_limit: hold_excess`): a run
//! loaded its new and changed cards and kept its removals in `held.json`;
//! approving applies them once, as a run of their own (kind `held`: in
//! history, journalled, all or nothing, taking the task's turn).

use std::time::Duration;

use super::task_label;
use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::{Run, RunCounts, RunKind, RunStage, RunStatus, RunTrigger};
use crate::targets::{CardRef, RemovalQuery};

/// How long applying waits for another load to finish with the card store.
const TURN_WAIT: Duration = Duration::from_secs(600);

impl Engine {
    /// Applies the removals run `run_id` held over its update limit, once.
    /// Refused when nothing is held (or it was applied), or when a newer run
    /// of the task has run since: its own picture of the source counts, not
    /// this older one (a person held then may be back).
    pub async fn apply_held(&self, run_id: &str) -> Result<Run> {
        let held_run = self.run(run_id).await?;
        let Some(mut held) = crate::run_folder::HeldFile::read(&self.run_dir(run_id)) else {
            return Err(EngineError::invalid(
                "run",
                format!("run {run_id} held no removals: there is nothing to apply"),
            ));
        };
        if let Some(by) = &held.applied_by {
            return Err(EngineError::invalid(
                "run",
                format!("the removals run {run_id} held were applied already, by run {by}"),
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
                format!(
                    "the removals run {run_id} held were applied already, by run {}",
                    by.id
                ),
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
                     Apply that run's held removals if it holds any, or run the task again",
                    newer.id, newer.task
                ),
            ));
        }
        let Some(removal) = task.removal.clone() else {
            return Err(EngineError::invalid(
                "task",
                format!(
                    "task {} has no removal settings: there is no status to mark the cards removed with",
                    task_label(&task)
                ),
            ));
        };
        let connector = self.connector_row(&task.connector_id).await?;
        let secret_values = crate::secrets::secret_texts(self.stored_secrets(&connector).await?.values());

        let mut run = Run::begin(&task.id, task_label(&task), RunKind::Held, RunTrigger::Manual);
        run.enter(RunStage::Load);
        run.message = Some(applied_message(run_id));
        self.store()
            .insert_run(&run)
            .await
            .map_err(|e| super::turn_taken(e, || format!(
                    "task '{}' is running: applying held removals takes the task's turn; apply them when it has ended",
                    run.task
                )))?;
        let target = self.target_for(&connector.target).await?;
        let key_attribute = task
            .mappings
            .iter()
            .find(|m| Some(&m.source) == task.object_id_attribute.as_ref())
            .map(|m| m.target.clone())
            .unwrap_or_default();
        let cards: Vec<i64> = held.removals.iter().map(|(card, _)| *card).collect();
        let (run_id_now, task_for_load) = (run.id.clone(), task.clone());
        let (pending, held_run, held_count) = (run.clone(), run_id.to_string(), held.removals.len());
        let applied = tokio::task::spawn_blocking(move || -> Result<Run> {
            let query = RemovalQuery {
                template: &task_for_load.target_template,
                task_id: &task_for_load.id,
                status_attribute: &removal.status_attribute,
                removed_value: &removal.removed_value,
                task_id_attribute: task_for_load.task_id_attribute.as_deref(),
                key_attribute: &key_attribute,
            };
            let mut t = target.open()?;
            t.begin_in_turn(&std::sync::atomic::AtomicBool::new(false), TURN_WAIT)?;
            t.journal_as(&run_id_now);
            t.journal_masks(&secret_values)?;
            let mut counts = RunCounts::default();
            for card in cards {
                // Only cards the task still owns: another task may have taken one over since.
                if t.mark_removed(CardRef { id: card }, &query)? {
                    counts.removed += 1;
                }
            }
            let mut done = pending;
            let removed = counts.removed;
            done.succeed(
                counts,
                format!("{removed} of the {held_count} removals run {held_run} held were applied"),
            );
            // The final state commits with the removals (a kill -9 after the commit is told apart).
            t.record_commit(&done)?;
            t.commit()?;
            Ok(done)
        })
        .await
        .map_err(|e| EngineError::Internal(format!("applying the held removals stopped: {e}")))?;
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

/// The message of the run that applies `run_id`'s held removals (also how a later call knows it was done).
fn applied_message(run_id: &str) -> String {
    format!("held removals of run {run_id}, approved")
}
