//! What runs did: history, one run, its logs, skipped runs, live progress, pruning.

use super::task_label;
use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::{Run, RunStatus};

impl Engine {
    pub async fn history(&self, task_ref: &str, limit: u32) -> Result<Vec<Run>> {
        let task = self.task(task_ref).await?;
        self.store().task_runs(&task.id, limit).await
    }

    pub async fn run(&self, run_id: &str) -> Result<Run> {
        self.store()
            .run(run_id)
            .await?
            .ok_or_else(|| EngineError::not_found("run", run_id))
    }

    /// The run's captured log (stdout/stderr of the script, masked).
    pub async fn run_log(&self, run_id: &str) -> Result<String> {
        let run = self.run(run_id).await?;
        let path = self.run_dir(&run.id).join(crate::run_folder::LOG);
        Ok(std::fs::read_to_string(path).unwrap_or_default())
    }

    /// What the run detail shows as its log: the script's own log lines,
    /// then what the run wrote besides (the script's error output).
    pub async fn run_detail_log(&self, run_id: &str) -> Result<String> {
        let run = self.run(run_id).await?;
        let dir = self.run_dir(&run.id);
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let (script, other) = (read(crate::run_folder::SCRIPT_LOG), read(crate::run_folder::LOG));
        Ok(
            match (script.trim_end().is_empty(), other.trim_end().is_empty()) {
                (_, true) => script,
                (true, false) => other,
                (false, false) => format!("{}\n{other}", script.trim_end()),
            },
        )
    }

    /// Records that a due run was not started because the task's previous run was still going.
    pub async fn record_skipped(&self, task_id: &str, planned: chrono::DateTime<chrono::Utc>) -> Result<Run> {
        let task = self.task(task_id).await?;
        let at = planned.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let run = Run::skipped(
            &task.id,
            task_label(&task),
            at,
            "the previous run of this task was still going",
        );
        self.store().insert_run(&run).await?;
        Ok(run)
    }

    /// Sets the planned (scheduled) time of a run.
    pub async fn set_planned(&self, run_id: &str, planned: &str) -> Result<()> {
        self.store().set_planned(run_id, planned).await
    }

    /// Deletes runs beyond the retention settings, with their files. Returns how many.
    pub async fn prune_history(&self, now: chrono::DateTime<chrono::Utc>) -> Result<usize> {
        let settings = self.settings().await?;
        let before = settings.retention_days.map(|d| {
            (now - chrono::Duration::days(i64::from(d))).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        });
        let ids = self
            .store()
            .runs_to_prune(before.as_deref(), settings.retention_runs)
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        self.store().delete_runs(&ids).await?;
        for id in &ids {
            let _ = std::fs::remove_dir_all(self.run_dir(id));
        }
        Ok(ids.len())
    }

    /// The progress of the task's running run, whichever process executes
    /// it (recorded in its run directory); `None` when none runs.
    pub async fn live_progress(&self, task: &str) -> Result<Option<crate::progress::RunProgress>> {
        let Some(run) = self.history(task, 1).await?.into_iter().next() else {
            return Ok(None);
        };
        if run.status != RunStatus::Running {
            return Ok(None);
        }
        Ok(crate::progress::read_recorded(&self.run_dir(&run.id)))
    }
}
