//! Executing a recorded run to its end: logging span, stop requests, the pipeline, how it ended.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tracing::Instrument;

use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::{Run, RunStage, RunStatus, Task};
use crate::pipeline::{self, Halt};

impl Engine {
    /// Whether the run's connector asks for debug-level logging of its runs
    /// (an HR connector's `debug: true`).
    async fn run_wants_debug(&self, run_id: &str) -> bool {
        let Ok(run) = self.run(run_id).await else {
            return false;
        };
        let Ok(task) = self.task(&run.task_id).await else {
            return false;
        };
        let Ok(connector) = self.connector_row(&task.connector_id).await else {
            return false;
        };
        crate::source::kind::debug_runs(&connector)
    }

    /// Executes a run recorded by [`Engine::create_run`] to its end.
    pub async fn execute_run(&self, run_id: &str, approved: bool) -> Result<Run> {
        // Two call sites: a span declaring `debug_run` raises its events to debug (see `logging`).
        let span = if self.run_wants_debug(run_id).await {
            tracing::info_span!(
                "run",
                run_id = %run_id,
                kind = "scheduled",
                debug_run = true,
                task_id = tracing::field::Empty,
                task = tracing::field::Empty,
            )
        } else {
            tracing::info_span!(
                "run",
                run_id = %run_id,
                kind = "scheduled",
                task_id = tracing::field::Empty,
                task = tracing::field::Empty,
            )
        };
        let run = self.execute_run_in_span(run_id, approved).instrument(span).await;
        match &run {
            Ok(run) => tracing::info!(run_id = %run.id, status = %run.status, "run ended"),
            Err(e) => tracing::error!(run_id = %run_id, error = %e, "run could not be executed"),
        }
        run
    }

    async fn execute_run_in_span(&self, run_id: &str, approved: bool) -> Result<Run> {
        let mut run = self.run(run_id).await?;
        if run.status != RunStatus::Running {
            return Ok(run);
        }
        self.store().claim_run(run_id).await?;
        let task = self.task(&run.task_id).await?;
        let span = tracing::Span::current();
        span.record("task_id", task.id.as_str());
        span.record("task", run.task.as_str());
        tracing::info!(trigger = ?run.trigger, run_type = %run.run_type, "run started");
        let run_dir = self.run_dir(&run.id);
        let (counters, tracking) = self.progress.track(
            &run.id,
            &task.id,
            &run.task,
            std::fs::create_dir_all(&run_dir).ok().map(|_| run_dir),
        );
        let prepared = self
            .prepare_inputs(&run, task.clone(), approved)
            .await
            .map(|mut inputs| {
                inputs.progress = counters;
                inputs
            });
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = Arc::new(AtomicBool::new(false));
        // A stop may come from another process (the CLI, the app): it is a file (see `request_stop`).
        let poller = {
            let stop_file = self.run_dir(&run.id).join(crate::run_folder::STOP);
            let stopped = stopped.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    if stop_file.exists() {
                        stopped.store(true, Ordering::Relaxed);
                        let _ = stop_tx.send(true);
                        break;
                    }
                }
            })
        };
        let result = match prepared {
            Ok(inputs) => pipeline::execute(self.store(), &mut run, inputs, stop_rx, stopped.clone()).await,
            Err(e) => {
                // Checked before anything is fetched: the connector's or task's settings are wrong.
                let settings = crate::source::hr::parameters::named_settings(&e);
                let invalid = matches!(e, EngineError::MissingFields { .. } | EngineError::Invalid { .. })
                    || !settings.is_empty();
                Err(Halt {
                    case: invalid.then_some(crate::model::hr::ReportCase::InvalidParameters),
                    facts: (!settings.is_empty()).then(|| {
                        crate::model::hr::CaseFacts::new(
                            "invalid_parameters",
                            &[("parameters", settings.join(", "))],
                        )
                    }),
                    status: RunStatus::Failed,
                    stage: RunStage::Extract,
                    info: e.to_string(),
                })
            }
        };
        poller.abort();
        let (case, facts) = match &result {
            Ok(()) => (Some(crate::model::hr::ReportCase::Succeeded), None),
            Err(halt) => (halt.case, halt.facts.clone()),
        };
        let result = match result {
            Ok(()) => {
                tracing::info!(
                    created = run.counts.created,
                    updated = run.counts.updated,
                    removed = run.counts.removed,
                    blocked = run.counts.blocked,
                    "run loaded"
                );
                Ok(RunStatus::Succeeded)
            }
            Err(halt) => {
                tracing::warn!(
                    stage = %halt.stage,
                    status = %halt.status,
                    "run ended early: {}",
                    halt.info
                );
                let status = halt.status;
                self.end_run(&mut run, &task, halt).await.map(|_| status)
            }
        };
        let status = result?;
        if status == RunStatus::Succeeded && run.counts.held > 0 {
            let what = crate::run_folder::HeldFile::read(&self.run_dir(&run.id))
                .map(|held| held.what())
                .unwrap_or_else(|| format!("{} changes", run.counts.held));
            let message =
                format!("{what} held over the update limit: review them and approve to apply them once");
            self.store()
                .add_alert(
                    Some(&run.task_id),
                    Some(&run.id),
                    &run.task,
                    crate::model::AlertKind::Held,
                    &message,
                )
                .await?;
        }
        let loaded = run.counts.created + run.counts.updated + run.counts.removed;
        tracking.finish(status, run.counts.fetched, loaded);
        if let Err(why) = self.report_hr_run(&run, case, facts.as_ref(), status).await {
            self.report_failed(&mut run, why).await?;
        }
        Ok(run)
    }

    /// Records how a run ended early, and the failure card when the task has one.
    pub(crate) async fn end_run(&self, run: &mut Run, task: &Task, halt: Halt) -> Result<()> {
        run.end_early(halt.status, halt.stage, &halt.info);
        let finished = run.finished_at.clone().unwrap_or_default();
        if halt.status != RunStatus::Interrupted {
            let _ = std::fs::remove_file(self.run_dir(&run.id).join(pipeline::SPILL));
        }
        run.files = crate::run_folder::list(&self.run_dir(&run.id));
        self.store().save_run(run).await?;
        if halt.status.raises_alert() {
            self.store()
                .add_alert(
                    Some(&run.task_id),
                    Some(&run.id),
                    &run.task,
                    crate::model::AlertKind::of_run(run.status),
                    &halt.info,
                )
                .await?;
        }
        if matches!(halt.status, RunStatus::Failed | RunStatus::Interrupted) {
            if let Some(f) = &task.failure {
                let target_name = self.connector_row(&task.connector_id).await?.target;
                let template = self
                    .template_in(&target_name, &f.template, "failure.template")
                    .await
                    .ok();
                let mut data = Map::new();
                data.insert(f.attribute.clone(), Value::String(halt.info.clone()));
                let mut extra = |attr: &str, v: Value| {
                    if template.as_ref().is_some_and(|t| t.attribute(attr).is_some()) && attr != f.attribute {
                        data.insert(attr.into(), v);
                    }
                };
                extra("task", json!(run.task));
                extra("run_id", json!(run.id));
                extra("occurred_at", json!(finished));
                extra("taskid", json!(task.id));
                // The failure card goes to the task's own target.
                let folder = f.folder.clone();
                let template_code = f.template.clone();
                let written = async {
                    let target = self.target_for(&target_name).await?;
                    tokio::task::spawn_blocking(move || -> Result<()> {
                        target
                            .open()?
                            .create_card(&template_code, &folder, &Value::Object(data))?;
                        Ok(())
                    })
                    .await
                    .map_err(|e| EngineError::Internal(format!("writing the failure card: {e}")))?
                };
                // The run has failed and says so; a card that cannot be written (the
                // target is what failed, often) does not change that: the log and the alert tell.
                if let Err(e) = written.await {
                    tracing::warn!(error = %e, run_id = %run.id, "the failure card could not be written");
                    let _ = self
                        .store()
                        .add_alert(
                            Some(&run.task_id),
                            Some(&run.id),
                            &run.task,
                            crate::model::AlertKind::of_run(run.status),
                            &format!("the failure card could not be written: {e}"),
                        )
                        .await;
                }
            }
        }
        Ok(())
    }
}
