//! Interrupted runs: what helps them, and the plan a person approves.

use serde_json::{Map, Value};

use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::hr::ReportCase;
use crate::model::{FieldChange, InterruptionHelp, Run, RunStatus, Task};
use crate::run_folder::{HeldFile, PlanFile};
use crate::secrets::Masker;
use crate::targets::{differing_fields, fields_of};

/// What helps an interrupted run whose files are in `run_dir`: only a guard
/// trip leaves a plan; approving lifts the update limit, never the minimum.
pub(crate) fn help_of(run_dir: &std::path::Path) -> InterruptionHelp {
    help_by_plan(PlanFile::read(run_dir).as_ref())
}

fn help_by_plan(plan: Option<&PlanFile>) -> InterruptionHelp {
    match plan {
        None => InterruptionHelp::Fix,
        Some(p) if p.limit == ReportCase::MinimumRows.as_str() => InterruptionHelp::ReviewPlan,
        Some(_) => InterruptionHelp::ApprovePlan,
    }
}

/// What an interrupted run would have done, for a person deciding whether to approve it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct PlannedChanges {
    /// Whether approving can help (only an update-limit trip), or only reviewing.
    pub help: InterruptionHelp,
    pub run_id: String,
    pub task_id: String,
    pub task: String,
    /// Why the run stopped before loading.
    pub reason: String,
    /// Counts of the plan, when the run got as far as planning.
    pub new: Option<u64>,
    pub changed: Option<u64>,
    pub removals: Option<u64>,
    /// The first object ids the run would mark removed.
    pub removed_object_ids: Vec<String>,
    /// The first cards to be marked removed, each with its status change and
    /// a few values that say whose card it is, read from the target. Empty
    /// when it could not be read (the object ids still say which).
    pub removed_cards: Vec<PlannedCard>,
    /// The first object ids of the changed cards a run held (`on_limit: hold_excess`).
    pub changed_object_ids: Vec<String>,
    /// The first changed cards, field by field: what applying the held
    /// cards (or approving the interrupted run) writes over what the cards
    /// hold now, read from the target. Empty when it could not be read (the
    /// counts, and a held run's object ids, still say what).
    pub changed_cards: Vec<PlannedCard>,
}

/// A card a plan changes, field by field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
pub struct PlannedCard {
    pub object_id: String,
    pub card_id: i64,
    /// Each field the plan changes, from its value on the card now to the
    /// value written (the connector's secrets masked). None when the card
    /// holds them all already (a later run or a person wrote them).
    pub changes: Vec<FieldChange>,
    /// Up to three other values the card holds now, in the task's mapping
    /// order (secrets masked): whose card it is, where the key alone is a number.
    pub holds: Vec<FieldValue>,
}

/// A field a card holds and its value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
pub struct FieldValue {
    pub field: String,
    pub value: Value,
}

/// Values shown beside a planned card's key.
const SHOWN_VALUES: usize = 3;

/// Object ids shown with a plan; the changes file has them all.
const SHOWN_IDS: usize = 200;
/// Changed cards shown field by field (each is read from the target).
const SHOWN_CARDS: usize = 50;
/// Planned change lines an interrupted run's preview reads to find them
/// (new cards and cards that hold their values already are passed over).
const PREVIEW_LINES: usize = 2_000;
/// Planned change lines compared at a time.
const PREVIEW_CHUNK: usize = 200;

impl Engine {
    /// What helps `run` when it is an interrupted scheduled run (the CLI's
    /// hint and the window's alert actions both ask here).
    pub fn interruption_help(&self, run: &Run) -> Option<InterruptionHelp> {
        if run.kind != crate::model::RunKind::Scheduled {
            return None;
        }
        match run.status {
            RunStatus::Interrupted => Some(help_of(&self.run_dir(&run.id))),
            RunStatus::Succeeded if self.held_waiting(&run.id).is_some() => Some(InterruptionHelp::ApplyHeld),
            _ => None,
        }
    }

    /// What run `run_id` held over its update limit, while no run has applied it.
    pub(crate) fn held_waiting(&self, run_id: &str) -> Option<HeldFile> {
        HeldFile::read(&self.run_dir(run_id))
            .filter(|h| h.applied_by.is_none() && (!h.removals.is_empty() || h.updates > 0))
    }

    /// The plan of an interrupted run that approving can help; refused, with
    /// what to do instead, for one that approving would only interrupt again.
    pub async fn plan_to_approve(&self, run_id: &str) -> Result<PlannedChanges> {
        let plan = self.planned_changes(run_id).await?;
        match plan.help {
            InterruptionHelp::ApprovePlan | InterruptionHelp::ApplyHeld => Ok(plan),
            InterruptionHelp::ReviewPlan => Err(EngineError::invalid(
                "run",
                format!(
                    "approving cannot help run {run_id}: {}; the minimum row count is never lifted. \
                     Deliver the whole file or lower minimum_row_count",
                    plan.reason
                ),
            )),
            InterruptionHelp::Fix => Err(EngineError::invalid(
                "run",
                format!(
                    "approving cannot help run {run_id}: {}; correct that and run the task again",
                    plan.reason
                ),
            )),
        }
    }

    /// Approves interrupted run `run_id`: records the run that lets its
    /// plan through once (execute it with approval) and marks the
    /// interrupted run's alerts seen, wherever the person approved it from
    /// (its alert, its detail). Refused as [`Engine::plan_to_approve`] refuses.
    pub async fn approve_run(&self, run_id: &str) -> Result<Run> {
        let planned = self.plan_to_approve(run_id).await?;
        if planned.help == InterruptionHelp::ApplyHeld {
            return Err(EngineError::invalid(
                "run",
                format!("run {run_id} loaded and holds changes: apply them (`provisio run apply-held {run_id}`) rather than run it again"),
            ));
        }
        let run = self
            .create_run(&planned.task_id, crate::model::RunTrigger::Manual)
            .await?;
        self.store().acknowledge_alerts_of_run(run_id).await?;
        Ok(run)
    }

    /// The planned changes of an interrupted scheduled run (what approving it lets through).
    pub async fn planned_changes(&self, run_id: &str) -> Result<PlannedChanges> {
        let run = self.run(run_id).await?;
        if run.status == RunStatus::Succeeded {
            if let Some(held) = self.held_waiting(run_id) {
                return Ok(PlannedChanges {
                    help: InterruptionHelp::ApplyHeld,
                    reason: held.reason,
                    // What is held: new cards never are (they loaded).
                    new: Some(0),
                    changed: Some(held.updates),
                    changed_object_ids: crate::pipeline::held::held_object_ids(
                        &self.run_dir(run_id),
                        SHOWN_IDS,
                    ),
                    changed_cards: self.held_changes(&run, run_id).await,
                    removals: Some(held.removals.len() as u64),
                    removed_cards: self
                        .removed_cards(&run, held.removals.iter().map(|(_, key)| key))
                        .await,
                    removed_object_ids: held
                        .removals
                        .into_iter()
                        .take(SHOWN_IDS)
                        .map(|(_, key)| key)
                        .collect(),
                    run_id: run.id,
                    task_id: run.task_id,
                    task: run.task,
                });
            }
        }
        if run.status != RunStatus::Interrupted || run.kind != crate::model::RunKind::Scheduled {
            return Err(EngineError::invalid(
                "run",
                format!(
                    "run {run_id} of {} is {}, not an interrupted scheduled run; only those wait for approval",
                    run.task, run.status
                ),
            ));
        }
        let plan = PlanFile::read(&self.run_dir(run_id));
        let count = |n: fn(&PlanFile) -> u64| plan.as_ref().map(n);
        let reason = plan
            .as_ref()
            .map(|p| p.reason.clone())
            .or_else(|| run.load.info.clone())
            .or_else(|| run.extract.info.clone())
            .or_else(|| run.message.clone())
            .unwrap_or_else(|| "the run was interrupted".into());
        // Only a plan over the update limit has changed cards to show (an approval may let them through).
        let changed_cards = match &plan {
            Some(p) if help_by_plan(Some(p)) == InterruptionHelp::ApprovePlan && p.changed > 0 => {
                let lines = crate::pipeline::first_changes(
                    &self.run_dir(run_id).join(&p.changes_file),
                    PREVIEW_LINES,
                );
                self.preview_or_none(&run, lines, Shown::ChangedOnly).await
            }
            _ => Vec::new(),
        };
        let removed_cards = match &plan {
            Some(p) => self.removed_cards(&run, p.removed_object_ids.iter()).await,
            None => Vec::new(),
        };
        Ok(PlannedChanges {
            help: help_by_plan(plan.as_ref()),
            changed_cards,
            removed_cards,
            new: count(|p| p.new),
            changed: count(|p| p.changed),
            removals: count(|p| p.removals),
            removed_object_ids: plan
                .as_ref()
                .map(|p| p.removed_object_ids.iter().take(SHOWN_IDS).cloned().collect())
                .unwrap_or_default(),
            changed_object_ids: Vec::new(),
            run_id: run.id,
            task_id: run.task_id,
            task: run.task,
            reason,
        })
    }
}

impl Engine {
    /// The first changed cards run `run_id` held, each compared with its card now.
    async fn held_changes(&self, run: &Run, run_id: &str) -> Vec<PlannedCard> {
        let lines = crate::pipeline::held::held_cards(&self.run_dir(run_id), SHOWN_CARDS);
        self.preview_or_none(run, lines, Shown::Every).await
    }

    /// The first cards of `run`'s task with these keys, each with the status
    /// the removal writes; none when the task marks no removals.
    async fn removed_cards<'a>(&self, run: &Run, keys: impl Iterator<Item = &'a String>) -> Vec<PlannedCard> {
        let Ok(task) = self.task(&run.task_id).await else {
            return Vec::new();
        };
        let Some(removal) = task.removal else {
            return Vec::new();
        };
        let mark = serde_json::json!({ removal.status_attribute: removal.removed_value }).to_string();
        let lines = keys
            .take(SHOWN_CARDS)
            .map(|k| (k.clone(), mark.clone()))
            .collect();
        self.preview_or_none(run, lines, Shown::Every).await
    }

    /// [`Engine::preview`]; a target that cannot be read leaves the list
    /// empty and says why in the engine log: the counts still show.
    async fn preview_or_none(
        &self,
        run: &Run,
        lines: Vec<(String, String)>,
        shown: Shown,
    ) -> Vec<PlannedCard> {
        if lines.is_empty() {
            return Vec::new();
        }
        self.preview(run, lines, shown).await.unwrap_or_else(|e| {
            tracing::warn!(run = %run.id, "cannot show the planned changes field by field: {e}");
            Vec::new()
        })
    }

    /// Each planned change line (object id, card JSON) of `run`'s task
    /// compared with the card whose key it carries, read from the task's
    /// target by key, up to [`SHOWN_CARDS`]; a line with no card (a new one)
    /// is left out. The lines are compared a part at a time: a mass change
    /// fills the list from the first ones, and a remote target is asked only
    /// for those (one listing per 40 keys).
    async fn preview(
        &self,
        run: &Run,
        lines: Vec<(String, String)>,
        shown: Shown,
    ) -> Result<Vec<PlannedCard>> {
        let task = self.task(&run.task_id).await?;
        let connector = self.connector_row(&task.connector_id).await?;
        let masker = Masker::from_json_values(self.stored_secrets(&connector).await?.values());
        let opener = self.target_for(&connector.target).await?;
        tokio::task::spawn_blocking(move || -> Result<Vec<PlannedCard>> {
            let planned: Vec<(String, Map<String, Value>)> = lines
                .into_iter()
                .map(|(key, data)| (key, serde_json::from_str(&data).unwrap_or_default()))
                .collect();
            let key_attribute = key_attribute_of(&task);
            let status = task.removal.as_ref().map(|r| r.status_attribute.as_str());
            // The task's other fields, in mapping order: what tells whose card it is.
            let telling: Vec<&str> = task
                .mappings
                .iter()
                .map(|m| m.target.as_str())
                .filter(|f| *f != key_attribute && Some(*f) != status)
                .collect();
            let mut target = opener.open()?;
            let mut cards = Vec::new();
            for part in planned.chunks(PREVIEW_CHUNK) {
                let mut fields = fields_of(part.iter().map(|(_, to)| to));
                for f in &telling {
                    if !fields.contains(f) {
                        fields.push(f);
                    }
                }
                let keys: Vec<&str> = part.iter().map(|(k, _)| k.as_str()).collect();
                let now = target.cards_by_keys(&task.target_template, &key_attribute, &keys, &fields)?;
                let written = |v: &Value| target.as_written(v);
                for (key, to) in part {
                    let Some((card, values)) = now.get(key) else {
                        continue;
                    };
                    let changes: Vec<FieldChange> = differing_fields(to, values, &written)
                        .map(|(field, was, value)| FieldChange {
                            field: field.clone(),
                            from: masked(was.clone(), &masker),
                            to: masked(value.clone(), &masker),
                        })
                        .collect();
                    if shown == Shown::Every || !changes.is_empty() {
                        let holds = telling
                            .iter()
                            .filter(|f| !changes.iter().any(|c| c.field == **f))
                            .filter_map(|f| Some((*f, values.get(*f)?)))
                            .filter(|(_, v)| !matches!(v, Value::Null) && v.as_str() != Some(""))
                            .take(SHOWN_VALUES)
                            .map(|(f, v)| FieldValue {
                                field: f.to_string(),
                                value: masked(v.clone(), &masker),
                            })
                            .collect();
                        cards.push(PlannedCard {
                            object_id: key.clone(),
                            card_id: card.id,
                            changes,
                            holds,
                        });
                    }
                }
                if cards.len() >= SHOWN_CARDS {
                    break;
                }
            }
            cards.truncate(SHOWN_CARDS);
            Ok(cards)
        })
        .await
        .map_err(|e| EngineError::Internal(format!("reading the planned cards stopped: {e}")))?
    }
}

/// Which compared cards a preview lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// Each (held cards: a card that holds them already says so).
    Every,
    /// Those the plan changes (an interrupted run's spill also has new and same cards).
    ChangedOnly,
}

/// The card attribute the task's object id is mapped to (its cards' key).
pub(crate) fn key_attribute_of(task: &Task) -> String {
    task.mappings
        .iter()
        .find(|m| Some(&m.source) == task.object_id_attribute.as_ref())
        .map(|m| m.target.clone())
        .unwrap_or_default()
}

/// `value` with the connector's secrets masked in its text (and its list's).
fn masked(value: Value, masker: &Masker) -> Value {
    match value {
        Value::String(s) if !masker.is_empty() => Value::String(masker.mask(&s)),
        Value::Array(items) if !masker.is_empty() => {
            Value::Array(items.into_iter().map(|v| masked(v, masker)).collect())
        }
        other => other,
    }
}
