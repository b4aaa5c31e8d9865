//! Event tasks: invoking one with a datacard's values, recorded as a run.

use std::path::Path;

use serde_json::{Map, Value};

use super::runs::{new_run, DEFAULT_EVENT_TIMEOUT};
use tracing::Instrument;

use super::Engine;
use crate::clock::now;
use crate::error::{EngineError, Remedy, Result};
use crate::model::{
    EventOutcomeKind, Run, RunKind, RunMode, RunStage, RunStatus, RunTrigger, StageReport, StageStatus,
    TaskUsage,
};
use std::time::Duration;

use crate::pipeline::{self};
use crate::script_host::{EventOutcome, Masker};

impl Engine {
    /// Invokes an event task with a datacard's values; the outcome is recorded as a run.
    pub async fn invoke_event(&self, task_ref: &str, values: &Value, caller: Option<&str>) -> Result<Run> {
        let span = tracing::info_span!(
            "run",
            kind = "event",
            task_ref = %task_ref,
            caller = caller.unwrap_or(""),
            run_id = tracing::field::Empty,
            task_id = tracing::field::Empty,
            task = tracing::field::Empty,
        );
        let run = self
            .invoke_in_span(task_ref, values, caller)
            .instrument(span.clone())
            .await;
        let _in = span.enter();
        match &run {
            Ok(run) => tracing::info!(status = %run.status, outcome = ?run.outcome, "event invocation ended"),
            Err(e) => tracing::warn!(error = %e, "event invocation refused"),
        }
        run
    }

    async fn invoke_in_span(&self, task_ref: &str, values: &Value, caller: Option<&str>) -> Result<Run> {
        self.require_environment().await?;
        let task = self.task(task_ref).await?;
        if task.usage != TaskUsage::Event {
            let name = format!("{}/{}", task.connector_name, task.name);
            return Err(EngineError::invalid(
                "task",
                format!("'{name}' is a scheduled task: it runs, it is not invoked"),
            )
            .with_remedy(Remedy::RunTask { task: name }));
        }
        let Value::Object(values) = values else {
            return Err(EngineError::invalid(
                "input",
                "must be a JSON object of template attribute → value",
            ));
        };
        let (connector, script) = self.script_for(&task, TaskUsage::Event).await?;
        let mut mapped = Map::new();
        for m in &task.mappings {
            if let Some(v) = values.get(&m.target) {
                mapped.insert(m.source.clone(), v.clone());
            }
        }
        if let Some(c) = caller.map(str::trim).filter(|c| !c.is_empty()) {
            self.record_caller(&task.id, c).await?;
        }
        let secrets = self.stored_secrets(&connector).await?;
        let masker = Masker::from_json_values(secrets.values());
        let parameters =
            crate::secrets::Sensitive::new(crate::secrets::merge_at_pointers(&connector.parameters, secrets));
        let trigger = if caller.is_some() {
            RunTrigger::Api
        } else {
            RunTrigger::Manual
        };
        let mut run = new_run(&task, RunKind::Event, trigger, RunStatus::Running);
        let span = tracing::Span::current();
        span.record("run_id", run.id.as_str());
        span.record("task_id", task.id.as_str());
        span.record("task", run.task.as_str());
        tracing::info!("event invocation started");
        run.stage = Some(RunStage::Extract);
        run.run_type = RunMode::Event;
        run.extract = StageReport {
            status: Some(StageStatus::Running),
            started: Some(now()),
            ..Default::default()
        };
        self.store().insert_run(&run).await?;
        let dir = self.run_dir(&run.id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
        let timeout = task
            .max_runtime
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_EVENT_TIMEOUT);
        let host = self.script_host().await?;
        let outcome = host
            .run_event(
                Path::new(&script.path),
                &dir,
                &parameters,
                &Value::Object(mapped),
                &masker,
                timeout,
            )
            .await;
        let finished = now();
        let (status, outcome_text, message) = match outcome {
            Ok(EventOutcome::Completed) => (RunStatus::Succeeded, EventOutcomeKind::Completed, None),
            Ok(EventOutcome::Exception(m)) => (
                RunStatus::Failed,
                EventOutcomeKind::Exception,
                Some(masker.mask(&m)),
            ),
            Err(e) => (
                RunStatus::Failed,
                EventOutcomeKind::Exception,
                Some(e.to_string()),
            ),
        };
        run.status = status;
        run.stage = None;
        run.finished_at = Some(finished.clone());
        run.outcome = Some(outcome_text);
        run.ended_in = (status != RunStatus::Succeeded).then_some(RunStage::Extract);
        run.message = message.clone();
        run.extract.status = Some(if status == RunStatus::Succeeded {
            StageStatus::Succeeded
        } else {
            StageStatus::Failed
        });
        run.extract.completed = Some(finished);
        run.extract.info = Some(message.unwrap_or_else(|| "the event script completed".into()));
        run.files = pipeline::run_files(&dir);
        self.store().save_run(&run).await?;
        if run.status == RunStatus::Failed {
            let message = run.message.clone().unwrap_or_default();
            self.store()
                .add_alert(Some(&run.task_id), Some(&run.id), &run.task, "failed", &message)
                .await?;
        }
        Ok(run)
    }
}
