//! Interrupted runs: what helps them, and the plan a person approves.

use super::preview::{PlannedCard, PlannedNew, Shown, ToRead, SHOWN_CARDS};
use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::hr::ReportCase;
use crate::model::{InterruptionHelp, Run, RunStatus};
use crate::run_folder::{HeldFile, PlanFile};

/// Object ids shown with a plan; the changes file has them all.
const SHOWN_IDS: usize = 200;
/// Planned change lines an interrupted run's preview reads to find them
/// (new cards and cards that hold their values already are passed over).
const PREVIEW_LINES: usize = 2_000;

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
    /// The first cards an interrupted run would create, each with a few of
    /// the values it would be created with: a file whose ids changed format
    /// plans the same people as new, and their names tell.
    pub new_cards: Vec<PlannedNew>,
    /// Why the cards could not be read from the target, when a list is
    /// left empty for that (the counts and object ids still say what).
    pub cards_unread: Option<String>,
}

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

    /// What helps run `run_id` ([`Engine::interruption_help`]): what the
    /// window's run detail offers, without reading the plan's cards.
    pub async fn run_help(&self, run_id: &str) -> Result<Option<InterruptionHelp>> {
        Ok(self.interruption_help(&self.run(run_id).await?))
    }

    /// What run `run_id` held over its update limit, while no run has applied it.
    pub(crate) fn held_waiting(&self, run_id: &str) -> Option<HeldFile> {
        HeldFile::read(&self.run_dir(run_id))
            .filter(|h| h.applied_by.is_none() && (!h.removals.is_empty() || h.updates > 0))
    }

    /// The plan of an interrupted run that approving can help; refused, with
    /// what to do instead, for one that approving would only interrupt again.
    /// Its counts and object ids only: deciding reads no card from the target
    /// ([`Engine::planned_changes`] shows them field by field).
    pub async fn plan_to_approve(&self, run_id: &str) -> Result<PlannedChanges> {
        let (plan, _) = self.plan_of(run_id).await?;
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

    /// The planned changes of an interrupted scheduled run (what approving
    /// it lets through), the first cards field by field as the target holds them now.
    pub async fn planned_changes(&self, run_id: &str) -> Result<PlannedChanges> {
        let (mut plan, to_read) = self.plan_of(run_id).await?;
        let previews = self.previews(to_read).await;
        (
            plan.changed_cards,
            plan.new_cards,
            plan.removed_cards,
            plan.cards_unread,
        ) = (previews.changed, previews.new, previews.removed, previews.unread);
        Ok(plan)
    }

    /// The plan of run `run_id` without its cards, and what they are read from.
    async fn plan_of(&self, run_id: &str) -> Result<(PlannedChanges, ToRead)> {
        let run = self.run(run_id).await?;
        if run.status == RunStatus::Succeeded {
            if let Some(held) = self.held_waiting(run_id) {
                // One read of the held file: the ids shown, and the first of them compared.
                let mut held_lines = crate::pipeline::held::held_cards(&self.run_dir(run_id), SHOWN_IDS);
                let changed_object_ids = held_lines.iter().map(|(key, _)| key.clone()).collect();
                held_lines.truncate(SHOWN_CARDS);
                let to_read = ToRead {
                    run_id: run.id.clone(),
                    task_id: run.task_id.clone(),
                    changed: held_lines,
                    shown: Shown::Every,
                    removed: held
                        .removals
                        .iter()
                        .take(SHOWN_CARDS)
                        .map(|(_, key)| key.clone())
                        .collect(),
                };
                let plan = PlannedChanges {
                    help: InterruptionHelp::ApplyHeld,
                    reason: held.reason,
                    // What is held: new cards never are (they loaded).
                    new: Some(0),
                    changed: Some(held.updates),
                    changed_object_ids,
                    changed_cards: Vec::new(),
                    new_cards: Vec::new(),
                    cards_unread: None,
                    removals: Some(held.removals.len() as u64),
                    removed_cards: Vec::new(),
                    removed_object_ids: held
                        .removals
                        .into_iter()
                        .take(SHOWN_IDS)
                        .map(|(_, key)| key)
                        .collect(),
                    run_id: run.id,
                    task_id: run.task_id,
                    task: run.task,
                };
                return Ok((plan, to_read));
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
            // The review is what the hint asks for: said once, by its own buttons.
            .map(|p| {
                let r = &p.reason;
                r.strip_suffix(crate::pipeline::guard::APPROVE_HINT)
                    .unwrap_or(r)
                    .to_string()
            })
            .or_else(|| run.load.info.clone())
            .or_else(|| run.extract.info.clone())
            .or_else(|| run.message.clone())
            .unwrap_or_else(|| "the run was interrupted".into());
        let to_read = ToRead {
            run_id: run.id.clone(),
            task_id: run.task_id.clone(),
            // Only a plan over the update limit has new and changed cards to show (an approval may let them through).
            changed: match &plan {
                Some(p)
                    if help_by_plan(Some(p)) == InterruptionHelp::ApprovePlan && p.changed + p.new > 0 =>
                {
                    crate::pipeline::first_changes(&self.run_dir(run_id).join(&p.changes_file), PREVIEW_LINES)
                }
                _ => Vec::new(),
            },
            shown: Shown::ChangedOnly {
                changed: plan.as_ref().map_or(0, |p| p.changed),
            },
            removed: plan
                .as_ref()
                .map(|p| p.removed_object_ids.iter().take(SHOWN_CARDS).cloned().collect())
                .unwrap_or_default(),
        };
        let plan = PlannedChanges {
            help: help_by_plan(plan.as_ref()),
            changed_cards: Vec::new(),
            removed_cards: Vec::new(),
            new_cards: Vec::new(),
            cards_unread: None,
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
        };
        Ok((plan, to_read))
    }
}
