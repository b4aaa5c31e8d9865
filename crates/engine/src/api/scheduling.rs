//! The engine as the scheduler's [`RunHost`]: the few calls it needs.

use chrono::{DateTime, Utc};

use super::Engine;
use crate::error::Result;
use crate::model::{Run, RunTrigger};
use crate::scheduler::RunHost;
use crate::store::Store;

impl RunHost for Engine {
    fn worker_slot(&self, workers: usize) -> Option<crate::workers::WorkerSlot> {
        let slots = self.worker_slots();
        if slots.size() != workers {
            slots.resize(workers);
        }
        slots.try_take()
    }

    fn store(&self) -> &Store {
        Engine::store(self)
    }

    async fn prune_history(&self, now: DateTime<Utc>) -> Result<usize> {
        Engine::prune_history(self, now).await
    }

    async fn record_skipped(
        &self,
        task_id: &str,
        planned: DateTime<Utc>,
        reason: &crate::model::SkipReason,
    ) -> Result<Run> {
        Engine::record_skipped(self, task_id, planned, reason).await
    }

    async fn check_stale(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        Engine::check_stale(self, now).await
    }

    async fn create_run(&self, task_id: &str, trigger: RunTrigger) -> Result<Run> {
        Engine::create_run(self, task_id, trigger).await
    }

    async fn set_planned(&self, run_id: &str, planned: &str) -> Result<()> {
        Engine::set_planned(self, run_id, planned).await
    }

    async fn execute_run(&self, run_id: &str) -> Result<Run> {
        // The scheduler never approves a plan: an interrupted run waits for a person.
        Engine::execute_run(self, run_id, false).await
    }

    async fn request_stop(&self, task_id: &str) -> Result<Vec<String>> {
        Engine::request_stop(self, task_id).await
    }
}
