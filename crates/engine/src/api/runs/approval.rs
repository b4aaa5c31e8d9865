//! Interrupted runs: what helps them, and the plan a person approves.

use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::hr::ReportCase;
use crate::model::{InterruptionHelp, Run, RunStatus};
use crate::run_folder::{HeldFile, PlanFile};

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
}

/// Object ids shown with a plan; the changes file has them all.
const SHOWN_IDS: usize = 200;

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
            run_id: run.id,
            task_id: run.task_id,
            task: run.task,
            reason,
        })
    }
}
