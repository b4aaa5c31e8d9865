//! Undoing a run from the change journal: the cards it created are marked
//! removed as a full run marks leavers, the fields it changed are set back,
//! the cards it marked removed are restored. A field a later run changed
//! again is a conflict: listed, and skipped unless forced; a field that
//! holds its value from before already needs nothing. The undo is a run of
//! its own (kind `undo`): in history, journalled (so it can be undone).
//!
//! The task's data cache is left as the undone run wrote it: it still
//! holds the source records' values that run saw, so a next run whose
//! source still holds them writes nothing (the undo sticks: a bad file
//! delivered twice is not applied again), and a record the source changed
//! since differs from the cache and is applied as usual.
//!
//! On the local store the undo is all or nothing in one transaction. A
//! remote solution cannot roll back: an undo through its API goes card by
//! card, each confirmed change journalled at once, so an undo cut off
//! halfway is failed in history, shows what it did, and is finished by
//! undoing the run again (what is done already needs nothing).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value};

mod steps;

use steps::{local_steps, object, told, undo_step, CardAt, Journalled};

use super::preview::Whose;
use super::task_label;
use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::{Run, RunCounts, RunKind, RunStage, RunTrigger, Task, UndoPlan, UndoStep};
use crate::targets::CardRef;

/// Whether the undo is to set card `id` back: every card when `cards` names none.
fn chosen(cards: &[i64]) -> impl Fn(i64) -> bool + Sync + '_ {
    move |id| cards.is_empty() || cards.contains(&id)
}

/// How long an undo waits for another load to finish with the card store.
const TURN_WAIT: Duration = Duration::from_secs(600);

impl Engine {
    /// Whether run `run_id` changed cards the journal knows of: what the
    /// window asks before it offers "Undo this run…" for a run that failed
    /// (a remote solution keeps what it confirmed before the failure).
    pub async fn run_undoable(&self, run_id: &str) -> Result<bool> {
        self.store().run_changed_cards(run_id).await
    }

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
        // The journal holds the connector's secrets masked: compare what a card holds now masked the same way.
        let secrets = self.stored_secrets(&connector).await?;
        let masker = crate::secrets::Masker::from_json_values(secrets.values());
        let (target, steps) = if Engine::target_rolls_back(&connector.target) {
            let journal = self.store().undo_rows(&run.id).await?;
            let any = !journal.is_empty();
            // Reading tens of thousands of rows' JSON takes a while on every
            // core: off the runtime's workers, which serve the window and the
            // workflow API meanwhile.
            let (t, m, cards) = (task.clone(), masker.clone(), cards.to_vec());
            let steps = tokio::task::spawn_blocking(move || {
                local_steps(&t, journal, &Whose::of(&t), &m, &chosen(&cards))
            })
            .await
            .map_err(|e| EngineError::Internal(format!("planning the undo stopped: {e}")))?;
            (any.then(|| crate::model::LOCAL_TARGET.to_string()), steps)
        } else {
            self.remote_steps(&run, &task, &Whose::of(&task), &masker, &chosen(cards))
                .await?
        };
        let Some(target) = target else {
            return Err(EngineError::invalid(
                "run",
                format!("run {run_id} changed no card the journal knows of: there is nothing to undo"),
            ));
        };
        let (cards_at, steps): (Vec<CardAt>, Vec<UndoStep>) = steps.into_iter().unzip();
        let mut plan = UndoPlan {
            run_id: run.id.clone(),
            task: task_label(&task),
            dry_run,
            steps,
            undo_run_id: None,
        };
        if !dry_run {
            if plan.steps.is_empty() {
                return Err(EngineError::invalid(
                    "run",
                    format!("every card run {run_id} changed holds its values from before already: there is nothing to undo"),
                ));
            }
            let secret_values = crate::secrets::secret_texts(secrets.values());
            let on = Target {
                name: target,
                cards: cards_at,
            };
            plan.undo_run_id = Some(
                self.apply_undo(&run, &task, &plan, &on, force, secret_values)
                    .await?
                    .id,
            );
        }
        Ok(plan)
    }

    /// The steps undoing a run into a remote target, planned against the
    /// cards' values now (read through the API by key), with where each
    /// card is; and the target (`None`: the journal holds nothing).
    async fn remote_steps(
        &self,
        run: &Run,
        task: &Task,
        whose: &Whose,
        masker: &crate::secrets::Masker,
        wanted: &(dyn Fn(i64) -> bool + Sync),
    ) -> Result<(Option<String>, Vec<(CardAt, UndoStep)>)> {
        let rows = self.store().remote_undo_rows(&run.id).await?;
        let Some(name) = rows.first().map(|r| r.target.clone()) else {
            return Ok((None, Vec::new()));
        };
        let rows: Vec<_> = rows.into_iter().filter(|r| wanted(r.card)).collect();
        let opener = self.target_for(&name).await?;
        let mut fields: Vec<String> = task.removal.iter().map(|r| r.status_attribute.clone()).collect();
        // What tells whose each card is, read with it, and each field the run changed.
        let changed: Vec<Map<String, Value>> = rows.iter().map(|r| object(r.after.as_deref())).collect();
        let named = whose.fields().filter(|f| !f.is_empty()).map(str::to_string);
        for f in named.chain(
            changed
                .into_iter()
                .flat_map(|after| after.into_iter().map(|(f, _)| f)),
        ) {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
        let cards: Vec<(CardAt, CardRef)> = rows
            .iter()
            .map(|r| (CardAt::of(r), CardRef { id: r.card }))
            .collect();
        let now = tokio::task::spawn_blocking(move || -> Result<HashMap<i64, Map<String, Value>>> {
            let mut target = opener.open()?;
            read_remote(target.as_mut(), &cards, &fields)
        })
        .await
        .map_err(|e| EngineError::Internal(format!("reading the cards to undo stopped: {e}")))??;
        let mut steps = Vec::new();
        for row in rows {
            let (before, after) = (object(row.before.as_deref()), object(row.after.as_deref()));
            let journalled = Journalled {
                kind: &row.kind,
                card: row.card,
                before: &before,
                after: &after,
                changed_later: row.changed_later,
            };
            let values = now.get(&row.card).cloned().map(Value::Object);
            let step = undo_step(task, &journalled, values.as_ref(), masker).map(|mut s| {
                if values.is_none() {
                    s.changes.clear();
                    s.conflict = Some(format!(
                        "target '{name}' has no {} card {} with {} '{}' any more",
                        row.template, row.card, row.key_attribute, row.key
                    ));
                }
                s
            });
            steps.extend(step.map(|s| (CardAt::of(&row), told(s, whose, values.as_ref(), masker))));
        }
        Ok((Some(name), steps))
    }
}

/// The values of `fields` of remote `cards` now, by card; one read per
/// template and key attribute (a missing card is gone).
fn read_remote(
    target: &mut dyn crate::targets::LoadTarget,
    cards: &[(CardAt, CardRef)],
    fields: &[String],
) -> Result<HashMap<i64, Map<String, Value>>> {
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    // (template, key attribute) → cards with their keys.
    type Group<'a> = (&'a str, &'a str, Vec<(CardRef, String)>);
    let mut groups: Vec<Group> = Vec::new();
    for (at, card) in cards {
        match groups
            .iter_mut()
            .find(|(t, k, _)| *t == at.template && *k == at.key_attribute)
        {
            Some(group) => group.2.push((*card, at.key.clone())),
            None => groups.push((&at.template, &at.key_attribute, vec![(*card, at.key.clone())])),
        }
    }
    let mut now = HashMap::new();
    for (template, key_attribute, group) in groups {
        now.extend(target.read_cards(template, key_attribute, &group, &fields)?);
    }
    Ok(now)
}

/// Where an undo writes: the target, and where each step's card is
/// (a remote target finds it by key; the local store needs none of it).
struct Target {
    name: String,
    cards: Vec<CardAt>,
}

impl Engine {
    async fn apply_undo(
        &self,
        undone: &Run,
        task: &Task,
        plan: &UndoPlan,
        on: &Target,
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
        let target = self.target_for(&on.name).await?;
        let steps: Vec<(CardAt, CardRef, String, bool)> = plan
            .steps
            .iter()
            .zip(&on.cards)
            .filter(|(s, _)| s.conflict.is_none() || force)
            .filter_map(|(s, at)| {
                // Even forced, a masked secret is never written back as its mask.
                let patch: Map<String, Value> = s
                    .changes
                    .iter()
                    .filter(|c| !c.to.as_str().is_some_and(crate::secrets::holds_mask))
                    .map(|c| (c.field.clone(), c.to.clone()))
                    .collect();
                (!patch.is_empty()).then(|| {
                    (
                        at.clone(),
                        CardRef { id: s.card_id },
                        Value::Object(patch).to_string(),
                        s.action == "mark removed",
                    )
                })
            })
            .collect();
        let remote = !Engine::target_rolls_back(&on.name);
        // What a remote undo reads before it writes (the local store journals as it writes).
        let fields: Vec<String> = if remote {
            plan.steps
                .iter()
                .flat_map(|s| s.changes.iter().map(|c| c.field.clone()))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        let run_id = run.id.clone();
        let (pending, undone_id, total) = (run.clone(), undone.id.clone(), plan.steps.len() as u64);
        let applied = tokio::task::spawn_blocking(move || -> Result<Run> {
            let mut t = target.open()?;
            t.begin_in_turn(&std::sync::atomic::AtomicBool::new(false), TURN_WAIT)?;
            t.journal_as(&run_id);
            t.journal_masks(&secret_values)?;
            if remote {
                // The values before of the undo's own journal, read just before it writes.
                let cards: Vec<(CardAt, CardRef)> =
                    steps.iter().map(|(at, card, ..)| (at.clone(), *card)).collect();
                read_remote(t.as_mut(), &cards, &fields)?;
            }
            let mut counts = RunCounts::default();
            for (at, card, patch, removes) in &steps {
                if t.patch_card(&at.template, *card, patch)? {
                    if *removes {
                        counts.removed += 1;
                    } else {
                        counts.updated += 1;
                    }
                }
            }
            let mut done = pending;
            let skipped = total - counts.updated - counts.removed;
            done.succeed(
                counts,
                format!("undo of run {undone_id}: {skipped} conflicting or empty steps skipped"),
            );
            // The undo's final state commits with the cards it set back, so after
            // a kill -9 the next engine tells a committed undo from one that was not.
            t.record_commit(&done)?;
            t.commit()?;
            Ok(done)
        })
        .await
        .map_err(|e| EngineError::Internal(format!("the undo stopped: {e}")))?;
        match applied {
            Ok(done) => {
                run = done;
                self.store().save_run(&run).await?;
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
