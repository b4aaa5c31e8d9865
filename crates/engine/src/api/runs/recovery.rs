//! Runs whose process died: found and ended when the next engine opens.

use crate::api::Engine;
use crate::error::Result;
use crate::pipeline::{self};
use crate::script_host::{self};

impl Engine {
    /// Marks runs whose process died (crash, kill -9) as failed. Their
    /// uncommitted work was rolled back by SQLite; the next run redoes it.
    pub(crate) async fn recover_abandoned_runs(&self) -> Result<u32> {
        let mut recovered = 0;
        for (id, pid) in self.store().running_runs().await? {
            let alive = pid
                .is_some_and(|p| p as u32 != std::process::id() && script_host::process::is_alive(p as u32));
            if alive {
                continue;
            }
            // Whatever its script started may still be running, unsupervised.
            script_host::process::end_abandoned(&self.run_dir(&id));
            // Its load may have committed just before the process died (see store::cards).
            if let Some(committed) = self.store().load_commit(&id).await? {
                self.store().save_run(&committed).await?;
                continue;
            }
            let Some(mut run) = self.store().run(&id).await? else {
                continue;
            };
            let info = format!(
                "the process running it (pid {}) ended before the run finished; nothing uncommitted was kept",
                pid.unwrap_or_default()
            );
            run.abandoned(info);
            let _ = std::fs::remove_file(self.run_dir(&run.id).join(pipeline::SPILL));
            run.files = crate::run_folder::list(&self.run_dir(&run.id));
            self.store().save_run(&run).await?;
            recovered += 1;
        }
        Ok(recovered)
    }
}
