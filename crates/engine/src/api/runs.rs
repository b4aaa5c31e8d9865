//! Runs of scheduled tasks: record, execute, stop, history, recovery after a crash, pruning.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::Engine;
use crate::error::{EngineError, Remedy, Result};
use crate::model::hr::ReportCase;
use crate::model::{
    ConnectorType, InterruptionHelp, Run, RunKind, RunMode, RunStage, RunStatus, RunTrigger, Task, TaskUsage,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::time::Duration;
use tracing::Instrument;

use crate::model::hr::HrRunType;
use crate::pipeline::{self, Halt, RunInputs};
use crate::rules;
use crate::run_folder::PlanFile;
use crate::script_host::{self, ScriptHost};
use crate::script_library::Script;
use crate::source::hr_file::HrFile;
use crate::source::python_script::PythonScript;
use crate::source::sftp::{SftpFetch, SftpLogin};
use crate::source::Source;

/// How long an event script may take when its task sets no maximum runtime.
pub(super) const DEFAULT_EVENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

impl Engine {
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.data_dir().join("runs").join(run_id)
    }

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

    /// Records a new run of a scheduled task (status running) without executing it.
    pub async fn create_run(&self, task_ref: &str, trigger: RunTrigger) -> Result<Run> {
        self.require_environment().await?;
        let task = self.task(task_ref).await?;
        if task.usage != TaskUsage::Scheduled {
            let name = format!("{}/{}", task.connector_name, task.name);
            return Err(EngineError::invalid(
                "task",
                format!("'{name}' is an event task: a workflow invokes it, it does not run on its own"),
            )
            .with_remedy(Remedy::InvokeEvent { task: name }));
        }
        let connector = self.connector_row(&task.connector_id).await?;
        if connector.connector_type == ConnectorType::PythonScript {
            self.script_for(&task, TaskUsage::Scheduled).await?;
        }
        let cache = self.store().cache_summary(&task.id).await?;
        let mut run = Run::begin(&task.id, task_label(&task), RunKind::Scheduled, trigger);
        run.enter(RunStage::Queued);
        run.run_type = match connector.connector_type {
            ConnectorType::PythonScript => pipeline::effective_run_type(&task, cache.as_ref()),
            // As declared; a block that became invalid fails the run before any fetch (`prepare_inputs`).
            ConnectorType::HrFile => match rules::hr::declared_run_type(&connector.parameters) {
                HrRunType::Full => RunMode::Full,
                HrRunType::Partial => RunMode::Partial,
            },
        };
        self.store().insert_run(&run).await.map_err(|e| match e {
            EngineError::Store(sqlx::Error::Database(db)) if db.is_unique_violation() => EngineError::InUse {
                message: format!(
                    "task '{}' is already running; a task never runs twice at once",
                    run.task
                ),
            },
            other => other,
        })?;
        Ok(run)
    }

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
        connector.connector_type == ConnectorType::HrFile
            && matches!(connector.parameters.get("debug"), Some(v) if v == &json!(true) || v == &json!("true"))
    }

    /// Whether the process `pid` has taken over a run this process recorded
    /// (`task run` without `--wait`), or the run is over. Until then the
    /// recorder must stay alive: a run whose owner is gone is taken for
    /// abandoned by the next engine that opens, the executor's own included.
    pub async fn run_taken_over(&self, run_id: &str, pid: u32) -> Result<bool> {
        Ok(match self.store().running_run_owner(run_id).await? {
            None => true,
            Some(owner) => owner == Some(pid as i64),
        })
    }

    /// Creates and executes a run; returns it finished.
    pub async fn run_task(&self, task_ref: &str, trigger: RunTrigger, approved: bool) -> Result<Run> {
        let run = self.create_run(task_ref, trigger).await?;
        self.execute_run(&run.id, approved).await
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
            Err(e) => Err(Halt {
                // Checked before anything is fetched: the connector's or task's settings are wrong.
                case: matches!(e, EngineError::MissingFields { .. } | EngineError::Invalid { .. })
                    .then_some(crate::model::hr::ReportCase::InvalidParameters),
                status: RunStatus::Failed,
                stage: RunStage::Extract,
                info: e.to_string(),
            }),
        };
        poller.abort();
        let case = match &result {
            Ok(()) => Some(crate::model::hr::ReportCase::Succeeded),
            Err(halt) => halt.case,
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
        let loaded = run.counts.created + run.counts.updated + run.counts.removed;
        tracking.finish(status, run.counts.fetched, loaded);
        if let Err(why) = self.report_hr_run(&run, case, status).await {
            self.report_failed(&mut run, why).await?;
        }
        Ok(run)
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

    /// Writes an HR connector's run report to its target, with the run's
    /// files and the archives attached (uploaded to an ESM solution, copied
    /// into the data directory for the local store). `Err` says why it
    /// could not be written; other connectors have no report.
    async fn report_hr_run(&self, run: &Run, case: Option<ReportCase>, status: RunStatus) -> Result<()> {
        let Ok(task) = self.task(&run.task_id).await else {
            return Ok(());
        };
        let Ok(connector) = self.connector_row(&task.connector_id).await else {
            return Ok(());
        };
        if connector.connector_type != ConnectorType::HrFile {
            return Ok(());
        }
        let case = case.unwrap_or(match status {
            RunStatus::Stopped => ReportCase::Stopped,
            _ => ReportCase::Failed,
        });
        // None of these is a secret: no keyring read.
        let params = &connector.parameters;
        let language = rules::hr::param_text(params, "language").unwrap_or_else(|| "en".into());
        let (template, folder) = self.report_destination(&connector).await?;
        let texts = crate::hr_report::Translations::load(self.data_dir(), &language)
            .or_else(|_| crate::hr_report::Translations::load(self.data_dir(), "en"))?;
        let dir = self.run_dir(&run.id);
        let file = std::fs::read_to_string(dir.join(crate::run_folder::SOURCE_FILE)).ok();
        let connector_folder = self.connector_folder(&connector.id);
        let archives: Vec<PathBuf> = rules::hr::declared_data_type(params)
            .map(|t| {
                vec![
                    crate::source::hr_file::archive_path(&connector_folder, t),
                    crate::source::hr_file::error_archive_path(&connector_folder, t),
                ]
            })
            .unwrap_or_default();
        let archives: Vec<&std::path::Path> = archives.iter().map(PathBuf::as_path).collect();
        let mut card =
            crate::hr_report::card(run, case, &texts, file.as_deref().map(std::path::Path::new), &dir);
        if let Some(a) = task.task_id_attribute.as_deref() {
            card[a] = json!(task.id);
        }
        let attachments = crate::hr_report::attachments(run, &archives);
        let local = connector.target == crate::model::LOCAL_TARGET;
        if local {
            // Kept in the data directory, named on the card relative to it.
            let kept = self.data_dir().join(ATTACHMENTS).join(&run.id);
            std::fs::create_dir_all(&kept)
                .map_err(|e| EngineError::io(format!("cannot create {}", kept.display()), e))?;
            let mut names = Vec::new();
            for (name, path) in &attachments {
                std::fs::copy(path, kept.join(name)).map_err(|e| {
                    EngineError::io(format!("cannot keep {} with the report", path.display()), e)
                })?;
                names.push(json!(format!("{ATTACHMENTS}/{}/{name}", run.id)));
            }
            card[REPORT_ATTACHMENTS] = Value::Array(names);
        }
        let target = self.target_for(&connector.target).await?;
        tokio::task::spawn_blocking(move || -> Result<()> {
            let mut opened = target.open()?;
            let created = opened.create_card(&template, &folder, &card)?;
            if !local {
                for (name, path) in &attachments {
                    opened.attach_file(&template, created, REPORT_ATTACHMENTS, name, path)?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| EngineError::Internal(format!("writing the HR report: {e}")))?
    }

    /// The report's template and folder, checked against the connector's target.
    pub(crate) async fn report_destination(
        &self,
        connector: &crate::model::Connector,
    ) -> Result<(String, String)> {
        let text = |k: &str| rules::hr::param_text(&connector.parameters, k).unwrap_or_default();
        let (template, folder) = (text("report_template_code"), text("report_folder_code"));
        if template.is_empty() || folder.is_empty() {
            return Err(EngineError::invalid(
                "report_template_code",
                "no report template and folder to write to",
            ));
        }
        self.template_in(&connector.target, &template, "report_template_code")
            .await?;
        self.folder_in(&connector.target, &folder, "report_folder_code")
            .await?;
        Ok((template, folder))
    }

    /// A report that could not be written fails the run in its report stage:
    /// its history and an alert say so, not only the log.
    async fn report_failed(&self, run: &mut Run, why: EngineError) -> Result<()> {
        let info = format!("the HR report could not be written: {why}");
        tracing::warn!(error = %why, "the HR report card was not written");
        // A run that failed before keeps its own failure; the report's is added to it.
        run.report_failed(info.clone());
        self.store().save_run(run).await?;
        self.store()
            .add_alert(
                Some(&run.task_id),
                Some(&run.id),
                &run.task,
                run.status.as_str(),
                &info,
            )
            .await?;
        Ok(())
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
                    run.status.as_str(),
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
                            run.status.as_str(),
                            &format!("the failure card could not be written: {e}"),
                        )
                        .await;
                }
            }
        }
        Ok(())
    }

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

    /// Clears the task's data cache: its next run writes every record again
    /// (cards are found by their object id, so none is duplicated). An
    /// incremental task stays incremental, as the seed says it does after its
    /// first run; [`Engine::reset_incremental`] is what makes its next run full.
    pub async fn clear_cache(&self, task_ref: &str) -> Result<Task> {
        let task = self.task(task_ref).await?;
        self.store().clear_cache(&task.id).await?;
        Ok(task)
    }

    /// Forgets the task's last successful extract: its next run is full.
    pub async fn reset_incremental(&self, task_ref: &str) -> Result<Task> {
        let task = self.task(task_ref).await?;
        self.store().reset_incremental(&task.id).await?;
        Ok(task)
    }

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
}

/// How runs and alerts name a task: `connector/task`.
pub(crate) fn task_label(task: &Task) -> String {
    format!("{}/{}", task.connector_name, task.name)
}

/// What helps an interrupted run whose files are in `run_dir`: only a guard
/// trip leaves a plan; approving lifts the update limit, never the minimum.
pub(crate) fn help_of(run_dir: &std::path::Path) -> InterruptionHelp {
    help_by_plan(read_plan(run_dir).as_ref())
}

fn read_plan(run_dir: &std::path::Path) -> Option<PlanFile> {
    PlanFile::read(run_dir)
}

fn help_by_plan(plan: Option<&PlanFile>) -> InterruptionHelp {
    match plan {
        None => InterruptionHelp::Fix,
        Some(p) if p.limit == ReportCase::MinimumRows.as_str() => InterruptionHelp::ReviewPlan,
        Some(_) => InterruptionHelp::ApprovePlan,
    }
}

/// What an interrupted run would have done, for a person deciding whether to approve it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct PlannedChanges {
    /// Whether approving can help (only an update-limit trip), or only reviewing.
    pub help: InterruptionHelp,
    pub run_id: String,
    pub task_id: String,
    pub task: String,
    /// Why the run stopped before loading.
    pub reason: String,
    /// Counts of the plan, when the run got as far as planning.
    pub new: Option<u64>,
    pub changed: Option<u64>,
    pub removals: Option<u64>,
    /// The first object ids the run would mark removed.
    pub removed_object_ids: Vec<String>,
}

/// The folder of the data directory where the local store keeps report attachments.
pub const ATTACHMENTS: &str = "attachments";
/// The report template's attribute that lists (or, on a remote target, holds) the attachments.
const REPORT_ATTACHMENTS: &str = "attachments";

/// Object ids shown with a plan; the changes file has them all.
const SHOWN_REMOVALS: usize = 200;

impl Engine {
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

    /// What helps `run` when it is an interrupted scheduled run (the CLI's
    /// hint and the window's alert actions both ask here).
    pub fn interruption_help(&self, run: &Run) -> Option<InterruptionHelp> {
        (run.status == RunStatus::Interrupted && run.kind == crate::model::RunKind::Scheduled)
            .then(|| help_of(&self.run_dir(&run.id)))
    }

    /// The plan of an interrupted run that approving can help; refused, with
    /// what to do instead, for one that approving would only interrupt again.
    pub async fn plan_to_approve(&self, run_id: &str) -> Result<PlannedChanges> {
        let plan = self.planned_changes(run_id).await?;
        match plan.help {
            InterruptionHelp::ApprovePlan => Ok(plan),
            InterruptionHelp::ReviewPlan => Err(EngineError::invalid(
                "run",
                format!(
                    "approving cannot help run {run_id}: {}; the minimum row count is never lifted. \
                     Deliver the whole file or lower minimum_row_count",
                    plan.reason
                ),
            )),
            InterruptionHelp::Fix => Err(EngineError::invalid(
                "run",
                format!(
                    "approving cannot help run {run_id}: {}; correct that and run the task again",
                    plan.reason
                ),
            )),
        }
    }

    /// The planned changes of an interrupted scheduled run (what approving it lets through).
    pub async fn planned_changes(&self, run_id: &str) -> Result<PlannedChanges> {
        let run = self.run(run_id).await?;
        if run.status != RunStatus::Interrupted || run.kind != crate::model::RunKind::Scheduled {
            return Err(EngineError::invalid(
                "run",
                format!(
                    "run {run_id} of {} is {}, not an interrupted scheduled run; only those wait for approval",
                    run.task, run.status
                ),
            ));
        }
        let plan = read_plan(&self.run_dir(run_id));
        let count = |n: fn(&PlanFile) -> u64| plan.as_ref().map(n);
        let reason = plan
            .as_ref()
            .map(|p| p.reason.clone())
            .or_else(|| run.load.info.clone())
            .or_else(|| run.extract.info.clone())
            .or_else(|| run.message.clone())
            .unwrap_or_else(|| "the run was interrupted".into());
        Ok(PlannedChanges {
            help: help_by_plan(plan.as_ref()),
            new: count(|p| p.new),
            changed: count(|p| p.changed),
            removals: count(|p| p.removals),
            removed_object_ids: plan
                .as_ref()
                .map(|p| {
                    p.removed_object_ids
                        .iter()
                        .take(SHOWN_REMOVALS)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            run_id: run.id,
            task_id: run.task_id,
            task: run.task,
            reason,
        })
    }
}
