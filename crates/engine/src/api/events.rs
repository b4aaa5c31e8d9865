//! Event tasks: invoking one with a datacard's values, recorded as a run.

use std::path::Path;

use serde_json::{Map, Value};

use super::runs::DEFAULT_EVENT_TIMEOUT;
use tracing::Instrument;

use super::Engine;
use crate::error::{EngineError, Remedy, Result};
use crate::model::{
    EventOutcomeKind, EventUsage, Run, RunKind, RunMode, RunStage, RunStatus, RunTrigger, TaskUsage,
};
use std::time::Duration;

use crate::script_host::{EventOutcome, Masker};
use crate::source::kind;

/// The card a read invocation writes its values to: the one of the task's
/// template whose `attribute` holds `key`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CardKey {
    pub attribute: String,
    pub key: String,
}

impl Engine {
    /// Invokes an event task with a datacard's values; the outcome is recorded as a run.
    pub async fn invoke_event(&self, task_ref: &str, values: &Value, caller: Option<&str>) -> Result<Run> {
        self.invoke_event_for(task_ref, values, caller, None).await
    }

    /// [`Engine::invoke_event`]; a `read` task's values are also written to `card`, when named.
    pub async fn invoke_event_for(
        &self,
        task_ref: &str,
        values: &Value,
        caller: Option<&str>,
        card: Option<&CardKey>,
    ) -> Result<Run> {
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
            .invoke_in_span(task_ref, values, caller, card)
            .instrument(span.clone())
            .await;
        let _in = span.enter();
        match &run {
            Ok(run) => tracing::info!(status = %run.status, outcome = ?run.outcome, "event invocation ended"),
            Err(e) => tracing::warn!(error = %e, "event invocation refused"),
        }
        run
    }

    async fn invoke_in_span(
        &self,
        task_ref: &str,
        values: &Value,
        caller: Option<&str>,
        card: Option<&CardKey>,
    ) -> Result<Run> {
        self.require_environment().await?;
        let task = self.task(task_ref).await?;
        let reads = task.event_usage == EventUsage::Read;
        if card.is_some() && !reads {
            return Err(EngineError::invalid(
                "card",
                format!(
                    "'{}/{}' is a write task: only a read task writes what it read to a card",
                    task.connector_name, task.name
                ),
            ));
        }
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
        let connector = self.connector_row(&task.connector_id).await?;
        let mut mapped = Map::new();
        for m in &task.mappings {
            if let Some(v) = values.get(&m.target) {
                mapped.insert(m.source.clone(), v.clone());
            }
        }
        let secrets = self.stored_secrets(&connector).await?;
        let masker = Masker::from_json_values(secrets.values());
        let secret_values = crate::secrets::secret_texts(secrets.values());
        let parameters =
            crate::secrets::Sensitive::new(crate::secrets::merge_at_pointers(&connector.parameters, secrets));
        // Refused before anything is recorded: a missing script, a connector without event tasks.
        let runner = kind::prepare_event(self, &connector, &task, parameters.expose()).await?;
        if let Some(c) = caller.map(str::trim).filter(|c| !c.is_empty()) {
            self.record_caller(&task.id, c).await?;
        }
        let trigger = if caller.is_some() {
            RunTrigger::Api
        } else {
            RunTrigger::Manual
        };
        let mut run = Run::begin(&task.id, super::runs::task_label(&task), RunKind::Event, trigger);
        let span = tracing::Span::current();
        span.record("run_id", run.id.as_str());
        span.record("task_id", task.id.as_str());
        span.record("task", run.task.as_str());
        tracing::info!("event invocation started");
        run.run_type = RunMode::Event;
        run.enter(RunStage::Extract);
        self.store().insert_run(&run).await?;
        let dir = self.run_dir(&run.id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
        let timeout = task
            .max_runtime
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_EVENT_TIMEOUT);
        let returns = reads.then(|| dir.join(crate::run_folder::RETURNED));
        let outcome = runner
            .run(kind::EventCall {
                dir: &dir,
                parameters: &parameters,
                values: &mapped,
                returns: returns.as_deref(),
                masker: &masker,
                timeout,
            })
            .await;
        // A read task's values: checked against its mappings, then written to the card if one is named.
        let outcome = match (outcome, &returns) {
            (Ok(EventOutcome::Completed), Some(path)) => {
                match self
                    .read_back(&task, path, card, &run.id.clone(), &secret_values)
                    .await
                {
                    Ok(values) => {
                        run.returned = Some(values);
                        Ok(EventOutcome::Completed)
                    }
                    Err(why) => Ok(EventOutcome::Exception(why)),
                }
            }
            (other, _) => other,
        };
        let (status, outcome_text, message) = match outcome {
            Ok(EventOutcome::Completed) => (RunStatus::Succeeded, EventOutcomeKind::Completed, None),
            Ok(EventOutcome::Exception(m)) => (
                RunStatus::Failed,
                EventOutcomeKind::Exception,
                Some(masker.mask(&m)),
            ),
            Err(e) => (RunStatus::Failed, EventOutcomeKind::Exception, Some(e)),
        };
        run.end_event(status, outcome_text, message);
        run.files = crate::run_folder::list(&dir);
        self.store().save_run(&run).await?;
        if run.status == RunStatus::Failed {
            let message = run.message.clone().unwrap_or_default();
            self.store()
                .add_alert(
                    Some(&run.task_id),
                    Some(&run.id),
                    &run.task,
                    crate::model::AlertKind::Failed,
                    &message,
                )
                .await?;
        }
        Ok(run)
    }

    /// The values a read script returned, by template attribute; written to
    /// `card` in the task's target in one transaction when named.
    async fn read_back(
        &self,
        task: &crate::model::Task,
        path: &Path,
        card: Option<&CardKey>,
        run_id: &str,
        secret_values: &[String],
    ) -> std::result::Result<Value, String> {
        let text = std::fs::read_to_string(path).map_err(|_| {
            "the read script returned no values (it must call return_values from the SDK)".to_string()
        })?;
        let returned: Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| format!("the values the script returned are not a JSON object: {e}"))?;
        // The connector is read once: its target gives the template here and takes the card below.
        let target = self
            .connector_row(&task.connector_id)
            .await
            .map_err(|e| e.to_string())?
            .target;
        let template = self
            .template_in(&target, &task.target_template, "target_template")
            .await
            .map_err(|e| e.to_string())?;
        let mut values = Map::new();
        for (source, value) in returned {
            let Some(m) = task.mappings.iter().find(|m| m.source == source) else {
                return Err(format!(
                    "the script returned '{source}', which the task does not map"
                ));
            };
            let multi = template.attribute(&m.target).is_some_and(|a| a.multi_value);
            let plain = |v: &Value| {
                matches!(
                    v,
                    Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
                )
            };
            let fits = match &value {
                Value::Array(items) => multi && items.iter().all(plain),
                other => plain(other),
            };
            if !fits {
                return Err(format!(
                    "the script returned for '{source}' (template attribute {}) a value it cannot take: {}",
                    m.target,
                    if multi {
                        "a list of plain values or one value"
                    } else {
                        "one plain value"
                    }
                ));
            }
            // A multi-value attribute holds a list, whether one value or many came back.
            let value = match value {
                Value::Array(_) | Value::Null => value,
                one if multi => Value::Array(vec![one]),
                one => one,
            };
            values.insert(m.target.clone(), value);
        }
        if let Some(card) = card {
            self.write_read_values(task, &target, card, &values, run_id, secret_values)
                .await?;
        }
        Ok(Value::Object(values))
    }

    /// Writes read values to the existing card of the task's template whose
    /// `card.attribute` is `card.key`, in one transaction of `target` (the connector's).
    async fn write_read_values(
        &self,
        task: &crate::model::Task,
        target: &str,
        card: &CardKey,
        values: &Map<String, Value>,
        run_id: &str,
        secret_values: &[String],
    ) -> std::result::Result<(), String> {
        let target = self.target_for(target).await.map_err(|e| e.to_string())?;
        let (template, folder, task_id) = (
            task.target_template.clone(),
            task.target_folder.clone(),
            task.id.clone(),
        );
        let (card, data) = (card.clone(), Value::Object(values.clone()).to_string());
        let run_id = run_id.to_string();
        let secret_values = secret_values.to_vec();
        tokio::task::spawn_blocking(move || -> std::result::Result<(), String> {
            use crate::targets::CardWrite;
            let mut t = target.open().map_err(|e| e.to_string())?;
            t.begin_in_turn(
                &std::sync::atomic::AtomicBool::new(false),
                Duration::from_secs(60),
            )
            .map_err(|e| e.to_string())?;
            // The card's history names this invocation as the writer.
            t.journal_as(&run_id);
            t.journal_masks(&secret_values).map_err(|e| e.to_string())?;
            let write = CardWrite {
                template: &template,
                folder: &folder,
                key_attribute: &card.attribute,
                key: &card.key,
                known_card: None,
                task_id: &task_id,
                task_id_attribute: None,
                data: &data,
            };
            // The named fields only: the card stays the loading task's (it alone marks it removed).
            match t.update_fields(&write) {
                Ok(Some(_)) => t.commit().map_err(|e| e.to_string()),
                Ok(None) => {
                    t.rollback();
                    Err(format!(
                        "no {template} card has {} = '{}'; nothing was written",
                        card.attribute, card.key
                    ))
                }
                Err(e) => {
                    t.rollback();
                    Err(e.to_string())
                }
            }
        })
        .await
        .map_err(|e| format!("writing the card stopped unexpectedly: {e}"))?
    }
}
