//! Interrupted runs: what helps them, and the plan a person approves.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::hr::ReportCase;
use crate::model::{FieldChange, InterruptionHelp, Run, RunStatus, Task};
use crate::pipeline::held::HeldCard;
use crate::run_folder::{HeldFile, PlanFile};
use crate::secrets::Masker;
use crate::targets::CardRef;

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
    /// The first object ids of the changed cards a run held (`on_limit: hold_excess`).
    pub changed_object_ids: Vec<String>,
    /// The first changed cards a run held, field by field: what applying
    /// them writes over what the cards hold now. Empty when the target
    /// could not be read (the object ids above still say which).
    pub changed_cards: Vec<HeldChange>,
}

/// A changed card a run held, field by field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
pub struct HeldChange {
    pub object_id: String,
    pub card_id: i64,
    /// Each field that applying changes, from its value on the card now to
    /// the value written (the connector's secrets masked). None when the
    /// card holds them all already (a later run or a person wrote them).
    pub changes: Vec<FieldChange>,
}

/// Object ids shown with a plan; the changes file has them all.
const SHOWN_IDS: usize = 200;
/// Held cards shown field by field (each is read from the target).
const SHOWN_CARDS: usize = 50;

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
        Ok(PlannedChanges {
            help: help_by_plan(plan.as_ref()),
            new: count(|p| p.new),
            changed: count(|p| p.changed),
            removals: count(|p| p.removals),
            removed_object_ids: plan
                .as_ref()
                .map(|p| p.removed_object_ids.iter().take(SHOWN_IDS).cloned().collect())
                .unwrap_or_default(),
            changed_object_ids: Vec::new(),
            changed_cards: Vec::new(),
            run_id: run.id,
            task_id: run.task_id,
            task: run.task,
            reason,
        })
    }
}

impl Engine {
    /// The first changed cards run `run_id` held, each compared with its
    /// card now. A target that cannot be read leaves the list empty (and
    /// says why in the engine log): the counts and ids still show.
    async fn held_changes(&self, run: &Run, run_id: &str) -> Vec<HeldChange> {
        let held = crate::pipeline::held::held_cards(&self.run_dir(run_id), SHOWN_CARDS);
        if held.is_empty() {
            return Vec::new();
        }
        match self.compare_held(run, held).await {
            Ok(changes) => changes,
            Err(e) => {
                tracing::warn!(run = run_id, "cannot show the held changes field by field: {e}");
                Vec::new()
            }
        }
    }

    async fn compare_held(&self, run: &Run, held: Vec<HeldCard>) -> Result<Vec<HeldChange>> {
        let task = self.task(&run.task_id).await?;
        let connector = self.connector_row(&task.connector_id).await?;
        let masker = Masker::from_json_values(self.stored_secrets(&connector).await?.values());
        let held: Vec<(HeldCard, Map<String, Value>)> = held
            .into_iter()
            .map(|h| {
                let data = serde_json::from_str(&h.data).unwrap_or_default();
                (h, data)
            })
            .collect();
        if Engine::target_rolls_back(&connector.target) {
            let mut out = Vec::with_capacity(held.len());
            for (h, to) in &held {
                let now = self
                    .store()
                    .card_key_and_data(h.card)
                    .await?
                    .and_then(|(_, data)| serde_json::from_str::<Map<String, Value>>(&data).ok());
                out.push(held_change(h, to, now.as_ref(), &|v| v.clone(), &masker));
            }
            return Ok(out);
        }
        let opener = self.target_for(&connector.target).await?;
        tokio::task::spawn_blocking(move || -> Result<Vec<HeldChange>> {
            let mut target = opener.open()?;
            let mut fields: Vec<&str> = Vec::new();
            for (_, to) in &held {
                for f in to.keys() {
                    if !fields.contains(&f.as_str()) {
                        fields.push(f);
                    }
                }
            }
            let cards: Vec<(CardRef, String)> = held
                .iter()
                .map(|(h, _)| (CardRef { id: h.card }, h.key.clone()))
                .collect();
            let now: HashMap<i64, Map<String, Value>> =
                target.read_cards(&task.target_template, &key_attribute_of(&task), &cards, &fields)?;
            let written = |v: &Value| target.as_written(v);
            Ok(held
                .iter()
                .map(|(h, to)| held_change(h, to, now.get(&h.card), &written, &masker))
                .collect())
        })
        .await
        .map_err(|e| EngineError::Internal(format!("reading the held cards stopped: {e}")))?
    }
}

/// The card attribute the task's object id is mapped to (its cards' key).
pub(crate) fn key_attribute_of(task: &Task) -> String {
    task.mappings
        .iter()
        .find(|m| Some(&m.source) == task.object_id_attribute.as_ref())
        .map(|m| m.target.clone())
        .unwrap_or_default()
}

/// The fields of `to` that `now` (a card's values; `None`: the card is gone)
/// does not hold as `written` gives them back, each from → to, masked.
fn held_change(
    h: &HeldCard,
    to: &Map<String, Value>,
    now: Option<&Map<String, Value>>,
    written: &dyn Fn(&Value) -> Value,
    masker: &Masker,
) -> HeldChange {
    let changes = to
        .iter()
        .filter_map(|(field, value)| {
            let was = now.and_then(|n| n.get(field)).unwrap_or(&Value::Null);
            (*was != written(value)).then(|| FieldChange {
                field: field.clone(),
                from: masked(was.clone(), masker),
                to: masked(value.clone(), masker),
            })
        })
        .collect();
    HeldChange {
        object_id: h.key.clone(),
        card_id: h.card,
        changes,
    }
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
