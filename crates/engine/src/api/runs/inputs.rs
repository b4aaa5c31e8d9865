//! What a scheduled run needs before it starts: its script and host, its source, target, template and cache.

use std::path::PathBuf;
use std::sync::Arc;

use crate::api::Engine;
use crate::error::{EngineError, Remedy, Result};
use crate::model::{ConnectorType, Run, Task, TaskUsage};
use crate::pipeline::{self, RunInputs};
use crate::rules;
use crate::script_host::{self, ScriptHost};
use crate::script_library::Script;
use crate::source::hr_file::HrFile;
use crate::source::python_script::PythonScript;
use crate::source::sftp::{SftpFetch, SftpLogin};
use crate::source::Source;

impl Engine {
    pub(crate) async fn script_host(&self) -> Result<ScriptHost> {
        let python = script_host::python::resolve(&self.settings().await?.python).await?;
        Ok(ScriptHost::new(python, self.script_library().sdk_dir()))
    }

    pub(crate) async fn script_for(
        &self,
        task: &Task,
        usage: TaskUsage,
    ) -> Result<(crate::model::Connector, Script)> {
        let connector = self.connector_row(&task.connector_id).await?;
        if connector.connector_type != ConnectorType::PythonScript {
            return Err(EngineError::invalid(
                "type",
                format!(
                    "connector '{}' is an {} connector; its runs come with the HR connector",
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
        let secrets = self.stored_secrets(&connector).await?;
        let dir = self.run_dir(&run.id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
        let mut task = task;
        let mut required = Vec::new();
        let (source, cache) = match connector.connector_type {
            ConnectorType::PythonScript => {
                let (_, script) = self.script_for(&task, TaskUsage::Scheduled).await?;
                // Finding the interpreter may start it once (a shim); read the cache meanwhile.
                let (host, cache) =
                    tokio::join!(self.script_host(), pipeline::cache::current(self.store(), &task));
                let source = Source::PythonScript(PythonScript {
                    script: PathBuf::from(script.path),
                    host: host?,
                    parameters: connector.parameters.clone(),
                    secrets: crate::secrets::Sensitive::new(secrets),
                });
                (source, cache?)
            }
            ConnectorType::HrFile => {
                let merged = crate::secrets::merge_at_pointers(&connector.parameters, secrets);
                let params = rules::hr::check_parameters(
                    &merged,
                    rules::connector::writes_remotely(Some(&connector.target)),
                )?;
                // A translation file lacking a case, or a report template or folder the
                // target lacks, is refused now, before anything is fetched.
                crate::hr_report::Translations::load(self.data_dir(), &params.language)?;
                self.report_destination(&connector).await?;
                let mapped: Vec<&str> = task.mappings.iter().map(|m| m.target.as_str()).collect();
                let unmapped = rules::hr::unmapped_mandatory(params.data_type, &mapped);
                if !unmapped.is_empty() {
                    return Err(rules::hr::unmapped_error(params.data_type, &unmapped));
                }
                required = rules::hr::mandatory_attributes(params.data_type)
                    .iter()
                    .map(|group| group.iter().map(|a| a.to_string()).collect())
                    .collect();
                task.limits = rules::hr::limits(&params);
                let folder = self.connector_folder(&connector.id);
                let caps = crate::source::hr_file::SizeCaps::of(&self.settings().await?);
                let sftp = params.sftp.clone().map(|server| {
                    let secret = |key: &str| {
                        merged
                            .get(key)
                            .and_then(|v| v.as_str())
                            .filter(|v| !v.is_empty())
                            .map(|v| crate::secrets::Sensitive::new(v.to_string()))
                    };
                    Arc::new(SftpFetch {
                        server,
                        login: SftpLogin {
                            password: secret("sftp_password"),
                            private_key: secret("sftp_private_key"),
                            passphrase: secret("sftp_private_key_passphrase"),
                        },
                        folder: folder.clone(),
                        caps,
                    })
                });
                let source = Source::HrFile(HrFile {
                    folder,
                    sftp,
                    caps,
                    id_column: task.object_id_attribute.clone().unwrap_or_default(),
                    mapped_columns: task.mappings.iter().map(|m| m.source.clone()).collect(),
                    params,
                });
                (source, pipeline::cache::current(self.store(), &task).await?)
            }
        };
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
        })
    }
}
