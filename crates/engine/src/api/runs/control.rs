//! What a user does to a task's runs and caches: stop, clear the cache, start over in full.

use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::Task;

impl Engine {
    /// Asks the task's running run to stop; returns the run ids asked.
    pub async fn stop_task(&self, task_ref: &str) -> Result<Vec<String>> {
        let task = self.task(task_ref).await?;
        let ids = self.request_stop(&task.id).await?;
        if ids.is_empty() {
            return Err(EngineError::invalid(
                "task",
                format!(
                    "'{}/{}' is not running; nothing to stop",
                    task.connector_name, task.name
                ),
            ));
        }
        Ok(ids)
    }

    /// Asks whichever process executes the task's running run to stop it. The
    /// request is a file in the run's directory, not a database write: a load
    /// holds the database's write lock until it commits, and a stop must get
    /// through exactly then.
    pub async fn request_stop(&self, task_id: &str) -> Result<Vec<String>> {
        let ids = self.store().running_runs_of(task_id).await?;
        for id in &ids {
            let dir = self.run_dir(id);
            std::fs::create_dir_all(&dir)
                .and_then(|_| std::fs::write(dir.join(crate::run_folder::STOP), b""))
                .map_err(|e| EngineError::io(format!("cannot ask run {id} to stop"), e))?;
        }
        Ok(ids)
    }

    /// Clears the task's data cache: its next run checks every record against
    /// its card again (cards are found by their object id, so none is
    /// duplicated; a local card that already holds the record is left). An
    /// incremental task stays incremental, as the seed says it does after its
    /// first run; [`Engine::reset_incremental`] is what makes its next run full.
    pub async fn clear_cache(&self, task_ref: &str) -> Result<Task> {
        let task = self.task(task_ref).await?;
        self.store().clear_cache(&task.id).await?;
        let name = format!("{}/{}", task.connector_name, task.name);
        self.record(crate::model::AuditObject::Task, &name, "clear_cache", Vec::new())
            .await;
        Ok(task)
    }

    /// Forgets the task's last successful extract: its next run is full.
    pub async fn reset_incremental(&self, task_ref: &str) -> Result<Task> {
        let task = self.task(task_ref).await?;
        self.store().reset_incremental(&task.id).await?;
        let name = format!("{}/{}", task.connector_name, task.name);
        self.record(
            crate::model::AuditObject::Task,
            &name,
            "reset_incremental",
            Vec::new(),
        )
        .await;
        Ok(task)
    }
}
