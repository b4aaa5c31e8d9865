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
    pub async fn record_skipped(
        &self,
        task_id: &str,
        planned: chrono::DateTime<chrono::Utc>,
        reason: &crate::model::SkipReason,
    ) -> Result<Run> {
        let task = self.task(task_id).await?;
        let at = planned.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let run = Run::skipped(&task.id, task_label(&task), at.clone(), reason);
        self.store().insert_run(&run).await?;
        // Never silent, never a flood: one open alert per task says its runs are being skipped.
        if !self
            .store()
            .has_open_alert(&task.id, crate::model::AlertKind::Skipped)
            .await?
        {
            self.store()
                .add_alert(
                    Some(&task.id),
                    Some(&run.id),
                    &run.task,
                    crate::model::AlertKind::Skipped,
                    &format!("the run due at {at} did not happen: {}", reason.describe()),
                )
                .await?;
        }
        Ok(run)
    }

    /// Raises an alert for every enabled scheduled task with `stale_after`
    /// that has had no successful run for that long (an HR file that
    /// stopped arriving fails nothing, and is found here). One open alert per
    /// task; returns the tasks alerted now.
    pub async fn check_stale(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<String>> {
        let mut alerted = Vec::new();
        for summary in self.store().list_tasks(None).await? {
            if !summary.enabled || !summary.usage.runs_on_schedule() {
                continue;
            }
            let task = self.task(&summary.id).await?;
            let Some(limit) = task
                .stale_after
                .as_deref()
                .and_then(crate::rules::task::stale_after)
            else {
                continue;
            };
            let last = self.store().last_success(&task.id).await?;
            let since = last.clone().unwrap_or_else(|| task.created_at.clone());
            let Ok(since_at) = chrono::DateTime::parse_from_rfc3339(&since) else {
                continue;
            };
            if now - since_at.with_timezone(&chrono::Utc) <= limit
                || self
                    .store()
                    .has_open_alert(&task.id, crate::model::AlertKind::Stale)
                    .await?
            {
                continue;
            }
            let name = task_label(&task);
            let message = match last {
                Some(at) => format!(
                    "task {name} has had no successful run for more than {} (the last succeeded at {at})",
                    task.stale_after.as_deref().unwrap_or_default()
                ),
                None => format!(
                    "task {name} has had no successful run for more than {} (none since it was created at {})",
                    task.stale_after.as_deref().unwrap_or_default(),
                    task.created_at
                ),
            };
            self.store()
                .add_alert(
                    Some(&task.id),
                    None,
                    &name,
                    crate::model::AlertKind::Stale,
                    &message,
                )
                .await?;
            alerted.push(task.id);
        }
        Ok(alerted)
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
