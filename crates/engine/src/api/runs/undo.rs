//! Undoing a run from the change journal (local store): the cards it
//! created are marked removed as a full run marks leavers, the fields it
//! changed are set back, the cards it marked removed are restored. A field
//! a later run changed again is a conflict: listed, and skipped unless
//! forced. The undo is a run of its own (kind `undo`): in history,
//! journalled (so it can be undone), all or nothing in one transaction, and
//! it clears the task's data cache so the next run compares every record.

use std::time::Duration;

use serde_json::{Map, Value};

use super::task_label;
use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::{FieldChange, Run, RunCounts, RunKind, RunStage, RunTrigger, Task, UndoPlan, UndoStep};
use crate::targets::CardRef;

/// How long an undo waits for another load to finish with the card store.
const TURN_WAIT: Duration = Duration::from_secs(600);

fn object(text: Option<&str>) -> Map<String, Value> {
    text.and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

impl Engine {
    /// Plans (and unless `dry_run`, applies) the reversal of run `run_id`;
    /// `cards` limits it to those cards; `force` applies conflicts too.
    pub async fn undo_run(
        &self,
        run_id: &str,
        dry_run: bool,
        force: bool,
        cards: &[i64],
    ) -> Result<UndoPlan> {
        let run = self.run(run_id).await?;
        let task = self.task(&run.task_id).await?;
        let connector = self.connector_row(&task.connector_id).await?;
        if connector.target != crate::model::LOCAL_TARGET {
            return Err(EngineError::invalid(
                "run",
                format!(
                    "run {run_id} loaded into target '{}': undo is built for the local datacard store only",
                    connector.target
                ),
            ));
        }
        let journal = self.store().undo_rows(&run.id).await?;
        if journal.is_empty() {
            return Err(EngineError::invalid(
                "run",
                format!("run {run_id} changed no card the journal knows of: there is nothing to undo"),
            ));
        }
        // The journal holds the connector's secrets masked: compare what a card holds now masked the same way.
        let secrets = self.stored_secrets(&connector).await?;
        let masker = crate::secrets::Masker::from_json_values(secrets.values());
        let wanted = |id: i64| cards.is_empty() || cards.contains(&id);
        let mut steps = Vec::new();
        for entry in journal.into_iter().filter(|e| wanted(e.card)) {
            let (before, after) = (object(entry.before.as_deref()), object(entry.after.as_deref()));
            let now: Value = serde_json::from_str(&entry.data).unwrap_or(Value::Null);
            steps.push(undo_step(
                &task,
                &entry.kind,
                entry.card,
                &now,
                (&before, &after),
                entry.changed_later,
                &masker,
            ));
        }
        let mut plan = UndoPlan {
            run_id: run.id.clone(),
            task: task_label(&task),
            dry_run,
            steps,
            undo_run_id: None,
        };
        if !dry_run {
            let secret_values = crate::secrets::secret_texts(secrets.values());
            plan.undo_run_id = Some(
                self.apply_undo(&run, &task, &plan, force, secret_values)
                    .await?
                    .id,
            );
        }
        Ok(plan)
    }
}

/// What undoing one journal row does to card `id` (`now`: its values now;
/// `later`: a later run changed it again).
fn undo_step(
    task: &Task,
    kind: &str,
    id: i64,
    now: &Value,
    (before, after): (&Map<String, Value>, &Map<String, Value>),
    later: bool,
    masker: &crate::secrets::Masker,
) -> UndoStep {
    let current = |f: &str| now.get(f).cloned().unwrap_or(Value::Null);
    let again = later.then(|| "a later run changed this card again".to_string());
    match kind {
        "create" => match &task.removal {
            Some(r) => UndoStep {
                card_id: id,
                action: "mark removed".into(),
                changes: vec![FieldChange {
                    field: r.status_attribute.clone(),
                    from: current(&r.status_attribute),
                    to: Value::String(r.removed_value.clone()),
                }],
                conflict: again,
            },
            None => UndoStep {
                card_id: id,
                action: "mark removed".into(),
                changes: Vec::new(),
                conflict: Some(format!(
                    "task {} has no removal settings: there is no status to mark the card removed with",
                    task_label(task)
                )),
            },
        },
        _ => {
            let changes: Vec<FieldChange> = after
                .keys()
                .map(|f| FieldChange {
                    field: f.clone(),
                    from: current(f),
                    to: before.get(f).cloned().unwrap_or(Value::Null),
                })
                .collect();
            // Changed since by someone else when a field no longer holds what this run wrote.
            let as_journalled = |v: Value| match v {
                Value::String(s) => Value::String(masker.mask(&s)),
                other => other,
            };
            let moved = after
                .iter()
                .filter(|(f, v)| as_journalled(current(f)) != **v)
                .map(|(f, _)| f.clone())
                .collect::<Vec<_>>();
            // The journal keeps secrets masked: such a value cannot be written back.
            let masked: Vec<String> = changes
                .iter()
                .filter(|c| c.to.as_str().is_some_and(|t| t.contains(crate::secrets::MASK)))
                .map(|c| c.field.clone())
                .collect();
            UndoStep {
                card_id: id,
                action: if kind == "remove" { "restore" } else { "set back" }.into(),
                changes,
                conflict: if !masked.is_empty() {
                    Some(format!(
                        "the value before held a connector secret, which the journal does not keep: {}",
                        masked.join(", ")
                    ))
                } else if moved.is_empty() {
                    again
                } else {
                    Some(format!("changed again since: {}", moved.join(", ")))
                },
            }
        }
    }
}

impl Engine {
    async fn apply_undo(
        &self,
        undone: &Run,
        task: &Task,
        plan: &UndoPlan,
        force: bool,
        secret_values: Vec<String>,
    ) -> Result<Run> {
        let mut run = Run::begin(&task.id, task_label(task), RunKind::Undo, RunTrigger::Manual);
        run.enter(RunStage::Load);
        run.message = Some(format!("undo of run {}", undone.id));
        self.store()
            .insert_run(&run)
            .await
            .map_err(|e| super::turn_taken(e, || format!(
                    "task '{}' is running: an undo takes the task's turn like a run; undo run {} when it has ended",
                    run.task, undone.id
                )))?;
        let target = self.target_for(crate::model::LOCAL_TARGET).await?;
        let steps: Vec<(i64, String, bool)> = plan
            .steps
            .iter()
            .filter(|s| s.conflict.is_none() || force)
            .filter_map(|s| {
                // Even forced, a masked secret is never written back as its mask.
                let patch: Map<String, Value> = s
                    .changes
                    .iter()
                    .filter(|c| !c.to.as_str().is_some_and(|t| t.contains(crate::secrets::MASK)))
                    .map(|c| (c.field.clone(), c.to.clone()))
                    .collect();
                (!patch.is_empty()).then(|| {
                    (
                        s.card_id,
                        Value::Object(patch).to_string(),
                        s.action == "mark removed",
                    )
                })
            })
            .collect();
        let run_id = run.id.clone();
        let applied = tokio::task::spawn_blocking(move || -> Result<RunCounts> {
            let mut t = target.open()?;
            t.begin_in_turn(&std::sync::atomic::AtomicBool::new(false), TURN_WAIT)?;
            t.journal_as(&run_id);
            t.journal_masks(&secret_values)?;
            let mut counts = RunCounts::default();
            for (card, patch, removes) in &steps {
                if t.patch_card(CardRef { id: *card }, patch)? {
                    if *removes {
                        counts.removed += 1;
                    } else {
                        counts.updated += 1;
                    }
                }
            }
            t.commit()?;
            Ok(counts)
        })
        .await
        .map_err(|e| EngineError::Internal(format!("the undo stopped: {e}")))?;
        match applied {
            Ok(counts) => {
                let skipped = plan.steps.len() as u64 - counts.updated - counts.removed;
                run.succeed(
                    counts,
                    format!(
                        "undo of run {}: {skipped} conflicting or empty steps skipped",
                        undone.id
                    ),
                );
                self.store().save_run(&run).await?;
                // The next run compares every record with the cards as they are now.
                self.store().clear_cache(&task.id).await?;
                self.record(
                    crate::model::AuditObject::Task,
                    &task_label(task),
                    &format!("undo run {}", undone.id),
                    Vec::new(),
                )
                .await;
                Ok(run)
            }
            Err(e) => {
                run.end_early(crate::model::RunStatus::Failed, RunStage::Load, &e.to_string());
                self.store().save_run(&run).await?;
                Err(e)
            }
        }
    }
}
