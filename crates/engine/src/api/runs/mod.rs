//! Runs of scheduled tasks, by what is done with them: recorded here;
//! [`inputs`] gathers what one needs, [`execute`] runs it to its end,
//! [`hr_report`] writes the HR connector's report, [`recovery`] ends the runs
//! of a process that died, [`control`] stops runs and clears caches,
//! [`history`] reads what runs did, [`approval`] handles interrupted ones
//! (and [`preview`] shows their cards as the target holds them).

mod approval;
mod control;
mod execute;
mod held;
mod history;
mod hr_report;
mod inputs;
mod preview;
mod recovery;
mod undo;

pub use crate::model::FieldValue;
pub(crate) use approval::help_of;
pub use approval::PlannedChanges;
pub use preview::{PlannedCard, PlannedNew};

use std::path::PathBuf;

use crate::api::Engine;
use crate::error::{EngineError, Remedy, Result};
use crate::model::{Run, RunKind, RunStage, RunTrigger, Task, TaskUsage};
use crate::pipeline;
use crate::source::kind;

/// How long an event script may take when its task sets no maximum runtime.
pub(crate) const DEFAULT_EVENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

impl Engine {
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.data_dir().join("runs").join(run_id)
    }

    /// Records a new run of a scheduled task (status running) without executing it.
    pub async fn create_run(&self, task_ref: &str, trigger: RunTrigger) -> Result<Run> {
        self.require_environment().await?;
        let task = self.task(task_ref).await?;
        if !task.usage.runs_on_schedule() {
            let name = format!("{}/{}", task.connector_name, task.name);
            return Err(EngineError::invalid(
                "task",
                format!("'{name}' is an event task: a workflow invokes it, it does not run on its own"),
            )
            .with_remedy(Remedy::InvokeEvent { task: name }));
        }
        let connector = self.connector_row(&task.connector_id).await?;
        if kind::uses_script(connector.connector_type) {
            self.script_for(&task, TaskUsage::Scheduled).await?;
        }
        let cache = self.store().cache_summary(&task.id).await?;
        let mut run = Run::begin(&task.id, task_label(&task), RunKind::Scheduled, trigger);
        run.enter(RunStage::Queued);
        run.run_type = kind::declared_run_mode(&connector)
            .unwrap_or_else(|| pipeline::effective_run_type(&task, cache.as_ref()));
        self.store().insert_run(&run).await.map_err(|e| {
            turn_taken(e, || {
                format!(
                    "task '{}' is already running; a task never runs twice at once",
                    run.task
                )
            })
        })?;
        Ok(run)
    }

    /// Whether the process `pid` has taken over a run this process recorded
    /// (`task run` without `--wait`), or the run is over. Until then the
    /// recorder must stay alive: a run whose owner is gone is taken for
    /// abandoned by the next engine that opens, the executor's own included.
    pub async fn run_taken_over(&self, run_id: &str, pid: u32) -> Result<bool> {
        Ok(match self.store().running_run_owner(run_id).await? {
            None => true,
            Some(owner) => owner == Some(pid as i64),
        })
    }

    /// Creates and executes a run; returns it finished.
    pub async fn run_task(&self, task_ref: &str, trigger: RunTrigger, approved: bool) -> Result<Run> {
        let run = self.create_run(task_ref, trigger).await?;
        self.execute_run(&run.id, approved).await
    }
}

/// `e` when recording a run failed because a run of the same task (a
/// scheduled run, an undo, applying held removals) is running: one at a time
/// per task. Any other error stays as it is.
pub(crate) fn turn_taken(e: EngineError, message: impl FnOnce() -> String) -> EngineError {
    match e {
        EngineError::Store(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            EngineError::InUse { message: message() }
        }
        other => other,
    }
}

/// How runs and alerts name a task: `connector/task`.
pub(crate) fn task_label(task: &Task) -> String {
    format!("{}/{}", task.connector_name, task.name)
}
