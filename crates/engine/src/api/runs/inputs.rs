//! What a scheduled run needs before it starts: its script and host, its source, target, template and cache.

use std::path::PathBuf;

use crate::api::Engine;
use crate::error::{EngineError, Remedy, Result};
use crate::model::{Run, Task, TaskUsage};
use crate::pipeline::{self, RunInputs};
use crate::script_host::{self, ScriptHost};
use crate::script_library::Script;
use crate::source::kind;

impl Engine {
    pub(crate) async fn script_host(&self) -> Result<ScriptHost> {
        let python = script_host::python::resolve(&self.settings().await?.python, self.data_dir()).await?;
        Ok(ScriptHost::new(python, self.script_library().sdk_dir()))
    }

    pub(crate) async fn script_for(
        &self,
        task: &Task,
        usage: TaskUsage,
    ) -> Result<(crate::model::Connector, Script)> {
        let connector = self.connector_row(&task.connector_id).await?;
        if !kind::uses_script(connector.connector_type) {
            return Err(EngineError::invalid(
                "type",
                format!(
                    "connector '{}' is an {} connector: its runs read its source, not a script",
                    connector.name,
                    connector.connector_type.as_str()
                ),
            ));
        }
        let name = connector.script.clone().unwrap_or_default();
        let script = self
            .script_library()
            .find(self.store(), &name)
            .await
            .map_err(|_| {
                EngineError::invalid(
                    "script",
                    format!(
                        "connector '{}' uses script '{name}', which is not in the script library",
                        connector.name
                    ),
                )
                .with_remedy(Remedy::AddScript { name: name.clone() })
            })?;
        let fits = match usage {
            TaskUsage::Scheduled => script.kind.allows_scheduled(),
            TaskUsage::Event => script.kind.allows_event(),
            TaskUsage::Authentication => false,
        };
        if !fits {
            return Err(EngineError::invalid(
                "script",
                format!(
                    "script '{}' is for {} tasks only",
                    script.name,
                    script.kind.as_str()
                ),
            ));
        }
        Ok((connector, script))
    }

    pub(crate) async fn prepare_inputs(&self, run: &Run, task: Task, approved: bool) -> Result<RunInputs> {
        let connector = self.connector_row(&task.connector_id).await?;
        let template = self
            .template_in(&connector.target, &task.target_template, "target_template")
            .await?;
        let dir = self.run_dir(&run.id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
        // Finding a script's interpreter may start it once (a shim); read the cache meanwhile.
        let (prepared, cache) = tokio::join!(
            kind::prepare(self, &connector, &task),
            pipeline::cache::current(self.store(), &task)
        );
        let kind::Prepared {
            source,
            required,
            limits,
            secret_values,
        } = prepared?;
        let cache = cache?;
        let mut task = task;
        if let Some(limits) = limits {
            // The connector's limits; what to do over them stays the task's.
            task.limits = crate::model::Limits {
                on_limit: task.limits.on_limit,
                ..limits
            };
        }
        Ok(RunInputs {
            source,
            required,
            target: self.target_for(&connector.target).await?,
            dir,
            cache,
            data_source_type: connector.connector_type.as_str().into(),
            approved,
            // A remote target cannot take back what it confirmed: its loads
            // always plan first (guard, then writes), never stream.
            strategy: if Engine::target_rolls_back(&connector.target) {
                self.load_strategy()
            } else {
                pipeline::LoadStrategy::TwoPass
            },
            template,
            task,
            progress: Default::default(),
            secret_values,
        })
    }
}

/// What a connector kind asks of the engine (see [`kind::Host`]).
impl kind::Host for Engine {
    async fn secrets(
        &self,
        connector: &crate::model::Connector,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        self.stored_secrets(connector).await
    }

    async fn settings(&self) -> Result<crate::model::Settings> {
        Engine::settings(self).await
    }

    fn data_dir(&self) -> &std::path::Path {
        Engine::data_dir(self)
    }

    fn connector_folder(&self, connector_id: &str) -> PathBuf {
        Engine::connector_folder(self, connector_id)
    }

    async fn report_destination(&self, connector: &crate::model::Connector) -> Result<(String, String)> {
        Engine::report_destination(self, connector).await
    }

    async fn check_webapi(
        &self,
        connector: &crate::model::Connector,
        parameters: &serde_json::Value,
    ) -> Result<()> {
        Engine::check_webapi(self, &connector.target, parameters).await
    }

    async fn scheduled_script(&self, task: &Task) -> Result<(PathBuf, ScriptHost)> {
        let (_, script) = self.script_for(task, TaskUsage::Scheduled).await?;
        Ok((PathBuf::from(script.path), self.script_host().await?))
    }

    async fn event_script(&self, task: &Task) -> Result<(PathBuf, ScriptHost)> {
        let (_, script) = self.script_for(task, TaskUsage::Event).await?;
        Ok((PathBuf::from(script.path), self.script_host().await?))
    }
}
