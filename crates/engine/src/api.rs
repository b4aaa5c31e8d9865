//! [`Engine`]: the one facade the CLI and the desktop shell call. Every
//! business rule is applied here (through [`crate::rules`]) so both front
//! ends behave the same.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};
use ts_rs::TS;

use crate::error::{EngineError, Result};
use crate::model::{
    Attribute, Connector, ConnectorInput, ConnectorSummary, ConnectorType, EnvironmentType, Folder, Limits,
    Settings, TargetInfo, Task, TaskInput, TaskSummary, TaskUsage, Template, TemplateInput,
    WorkflowReference,
};
use crate::scripts::ScriptLibrary;
use crate::secrets::{self, Keyring, MASK};
use crate::store::Store;
use crate::{paths, rules};

/// Default seconds without a heartbeat before a script is stopped.
pub const DEFAULT_HEARTBEAT_TIMEOUT: u64 = 300;

/// The local datacard store's target name.
pub const LOCAL_TARGET: &str = "local";

#[derive(Debug, Clone)]
pub struct Engine {
    data_dir: PathBuf,
    store: Store,
    keyring: Keyring,
    scripts: ScriptLibrary,
}

/// The result of a task update: the saved task and what the user should know.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct TaskUpdate {
    pub task: Task,
    pub warnings: Vec<String>,
}

/// What the status bar shows.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct EngineStatus {
    pub version: String,
    pub data_dir: String,
    pub environment_type: Option<crate::model::EnvironmentType>,
    /// Who schedules this data directory: `running` here, or why not. Set by the shell.
    pub scheduler: Option<String>,
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Milliseconds since 1970 (how the card store keeps times) as `now()` writes times.
pub(crate) fn time_of_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Engine {
    /// Opens the engine on a data directory, creating it and its database on first use.
    pub async fn open(data_dir: &Path) -> Result<Engine> {
        // Scripts run in their run directory: every path handed to them must be absolute.
        let data_dir = &std::path::absolute(data_dir).map_err(|e| {
            EngineError::io(
                format!("cannot resolve the data directory {}", data_dir.display()),
                e,
            )
        })?;
        paths::ensure_dir(data_dir)?;
        crate::platform::make_private(data_dir).map_err(|e| {
            EngineError::io(
                format!("cannot make the data directory {} private", data_dir.display()),
                e,
            )
        })?;
        let store = Store::open(data_dir).await?;
        store.seed_local_templates().await?;
        let installation_id = store.meta_or_init("installation_id", new_id).await?;
        let scripts = ScriptLibrary::new(data_dir);
        scripts.install_bundled()?;
        let engine = Engine {
            data_dir: data_dir.to_path_buf(),
            store,
            keyring: Keyring::new(installation_id),
            scripts,
        };
        engine.recover_abandoned_runs().await?;
        Ok(engine)
    }

    /// Opens the data directory chosen by `--data-dir`, `PROVISIO_DATA_DIR` or the platform default.
    pub async fn open_default(explicit: Option<&Path>) -> Result<Engine> {
        Engine::open(&paths::resolve_data_dir(explicit)?).await
    }

    /// Closes the database (checkpointing the WAL); the engine is unusable afterwards.
    pub async fn close(&self) {
        self.store.pool().close().await;
        // The pool's connections close one after another, and the one that
        // closes last does not always see itself as last (measured: a WAL,
        // up to its size limit, sometimes stayed behind for the next command
        // to read). One more connection, alone now, empties and removes it;
        // if another process has the database open, it leaves it as it is.
        let files = [
            self.data_dir.join(crate::store::DATABASE_FILE),
            self.data_dir.join(crate::store::cards::CARDS_FILE),
        ];
        let _ = tokio::task::spawn_blocking(move || {
            for database in &files {
                crate::target::local::checkpoint_and_close(database);
            }
        })
        .await;
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn script_library(&self) -> &ScriptLibrary {
        &self.scripts
    }

    pub async fn status(&self) -> Result<EngineStatus> {
        Ok(EngineStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: self.data_dir.display().to_string(),
            environment_type: self.store.settings().await?.environment_type,
            scheduler: None,
        })
    }

    // ----- settings -------------------------------------------------------

    pub async fn settings(&self) -> Result<Settings> {
        self.store.settings().await
    }

    /// Applies `KEY=VALUE` changes; all are checked before any is saved.
    pub async fn set_settings(&self, changes: &[(String, String)]) -> Result<Settings> {
        let mut s = self.store.settings().await?;
        for (key, value) in changes {
            apply_setting(&mut s, key.trim(), value.trim())?;
        }
        self.store.save_settings(&s).await?;
        Ok(s)
    }

    /// Refuses when no environment type is set: no task may run before that.
    pub async fn require_environment(&self) -> Result<EnvironmentType> {
        self.settings().await?.environment_type.ok_or_else(|| {
            EngineError::invalid(
                "environment_type",
                "is not set; no task runs until it is. Set it with `provisio settings set environment_type=test` (or prod, demo, dev)",
            )
        })
    }

    // ----- connectors -----------------------------------------------------

    pub async fn list_connectors(&self) -> Result<Vec<ConnectorSummary>> {
        self.store.list_connectors().await
    }

    pub(crate) async fn connector_row(&self, reference: &str) -> Result<Connector> {
        self.store
            .find_connector(reference)
            .await?
            .ok_or_else(|| EngineError::not_found("connector", reference))
    }

    /// A connector for display: secret parameters are shown as the mask.
    pub async fn connector(&self, reference: &str) -> Result<Connector> {
        let mut c = self.connector_row(reference).await?;
        c.parameters = masked(&c);
        Ok(c)
    }

    pub async fn create_connector(&self, input: ConnectorInput) -> Result<Connector> {
        let mut missing = Vec::new();
        if rules::blank(&input.name) {
            missing.push("name".to_string());
        }
        if rules::blank(&input.connector_type) {
            missing.push("type".to_string());
        }
        if input.connector_type.as_deref() == Some("python_script") && rules::blank(&input.script) {
            missing.push("script".to_string());
        }
        if !missing.is_empty() {
            return Err(EngineError::MissingFields { fields: missing });
        }
        let name = input.name.clone().unwrap_or_default().trim().to_string();
        rules::check_name("connector", &name)?;
        let connector_type = parse_connector_type(input.connector_type.as_deref().unwrap_or_default())?;
        self.check_new_connector_name(&name).await?;
        if let Some(script) = input.script.as_deref().filter(|s| !s.trim().is_empty()) {
            rules::check_script_name(script.trim())?;
        }
        let target = self.check_target(input.target.as_deref()).await?;
        let params = parameters_object(input.parameters.clone())?;
        let (clean, secret_values) = secrets::split_secrets(&params, &input.secret_parameters);
        rules::check_secret_values(&secret_values)?;
        let stamp = now();
        let connector = Connector {
            id: new_id(),
            name,
            connector_type,
            script: input.script.filter(|s| !s.trim().is_empty()),
            parameters: clean,
            secret_parameters: secret_values.keys().cloned().collect(),
            target,
            created_at: stamp.clone(),
            updated_at: stamp,
        };
        // Keyring first: if it is locked nothing reaches the database; if the
        // database then refuses, the keyring entry is taken back.
        if !secret_values.is_empty() {
            self.keyring
                .save_connector_secrets(&connector.id, &secret_values)
                .await?;
        }
        if let Err(e) = self.store.insert_connector(&connector).await {
            if !secret_values.is_empty() {
                let _ = self.keyring.delete_connector_secrets(&connector.id).await;
            }
            return Err(e);
        }
        self.connector(&connector.id).await
    }

    /// Replaces a connector's script, parameters and target. Name and type are
    /// fixed. A secret given as the mask keeps its stored value.
    pub async fn update_connector(&self, reference: &str, input: ConnectorInput) -> Result<Connector> {
        let mut c = self.connector_row(reference).await?;
        if let Some(name) = input.name.as_deref().map(str::trim) {
            if name != c.name {
                return Err(EngineError::Immutable {
                    field: "name",
                    current: c.name,
                });
            }
        }
        if let Some(t) = input.connector_type.as_deref() {
            if t != c.connector_type.as_str() {
                return Err(EngineError::Immutable {
                    field: "type",
                    current: c.connector_type.as_str().into(),
                });
            }
        }
        if c.connector_type == ConnectorType::PythonScript
            && input.script.as_deref().is_some_and(|s| s.trim().is_empty())
        {
            return Err(EngineError::MissingFields {
                fields: vec!["script".into()],
            });
        }
        if let Some(script) = input.script {
            rules::check_script_name(script.trim())?;
            c.script = Some(script);
        }
        if input.target.is_some() {
            c.target = self.check_target(input.target.as_deref()).await?;
        }
        let mut secret_values = None;
        if let Some(params) = input.parameters {
            let params = parameters_object(Some(params))?;
            let mut extra = input.secret_parameters.clone();
            extra.extend(c.secret_parameters.iter().cloned());
            let (clean, mut values) = secrets::split_secrets(&params, &extra);
            let old = self.stored_secrets(&c).await?;
            for (pointer, v) in values.iter_mut() {
                if v.as_str() == Some(MASK) {
                    if let Some(previous) = old.get(pointer) {
                        *v = previous.clone();
                    }
                }
            }
            rules::check_secret_values(&values)?;
            c.parameters = clean;
            c.secret_parameters = values.keys().cloned().collect();
            secret_values = Some((old, values));
        }
        c.updated_at = now();
        if let Some((old, values)) = &secret_values {
            if !(old.is_empty() && values.is_empty()) {
                self.keyring.save_connector_secrets(&c.id, values).await?;
            }
        }
        if let Err(e) = self.store.update_connector(&c).await {
            if let Some((old, _)) = &secret_values {
                let _ = self.keyring.save_connector_secrets(&c.id, old).await;
            }
            return Err(e);
        }
        self.connector(&c.id).await
    }

    /// A new connector's name is free: no connector has it as its name, nor
    /// as its id (a connector is named by either, and the id would win).
    async fn check_new_connector_name(&self, name: &str) -> Result<()> {
        if self.store.connector_name_taken(name).await? {
            return Err(EngineError::AlreadyExists {
                kind: "connector",
                name: name.into(),
            });
        }
        if let Some(other) = self.store.find_connector(name).await? {
            return Err(EngineError::invalid(
                "name",
                format!(
                    "'{name}' is the id of connector '{}'; choose another name",
                    other.name
                ),
            ));
        }
        Ok(())
    }

    /// The keyring entry of a connector; no keyring call for one without secrets.
    pub(crate) async fn stored_secrets(&self, c: &Connector) -> Result<Map<String, Value>> {
        if c.secret_parameters.is_empty() {
            return Ok(Map::new());
        }
        Ok(self.keyring.connector_secrets(&c.id).await?.into_inner())
    }

    /// Parameters with secrets resolved from the keyring, for a run. Never display this.
    pub async fn resolved_parameters(&self, reference: &str) -> Result<secrets::Sensitive<Value>> {
        let c = self.connector_row(reference).await?;
        let values = self.stored_secrets(&c).await?;
        Ok(secrets::Sensitive::new(secrets::merge_at_pointers(
            &c.parameters,
            values,
        )))
    }

    /// Copies a connector with its tasks and its secrets under a new unique name.
    pub async fn copy_connector(&self, reference: &str, new_name: Option<&str>) -> Result<Connector> {
        let source = self.connector_row(reference).await?;
        let name = match new_name.map(str::trim) {
            Some(n) => {
                rules::check_name("connector", n)?;
                self.check_new_connector_name(n).await?;
                n.to_string()
            }
            None => {
                let existing: Vec<String> = self
                    .store
                    .list_connectors()
                    .await?
                    .into_iter()
                    .map(|c| c.name)
                    .collect();
                rules::copy_name(&source.name, |n| existing.iter().any(|e| e == n))
            }
        };
        let stamp = now();
        let copy = Connector {
            id: new_id(),
            name,
            created_at: stamp.clone(),
            updated_at: stamp.clone(),
            ..source.clone()
        };
        let values = self.stored_secrets(&source).await?;
        if !values.is_empty() {
            self.keyring.save_connector_secrets(&copy.id, &values).await?;
        }
        let result = async {
            self.store.insert_connector(&copy).await?;
            for task in self.store.connector_tasks(&source.id).await? {
                let t = Task {
                    id: new_id(),
                    connector_id: copy.id.clone(),
                    connector_name: copy.name.clone(),
                    references: Vec::new(),
                    created_at: stamp.clone(),
                    updated_at: stamp.clone(),
                    ..task
                };
                self.store.insert_task(&t).await?;
            }
            Ok::<_, EngineError>(())
        }
        .await;
        if let Err(e) = result {
            let _ = self.store.delete_connector(&copy.id).await;
            let _ = self.keyring.delete_connector_secrets(&copy.id).await;
            return Err(e);
        }
        self.connector(&copy.id).await
    }

    /// Removes a connector with its tasks and secrets. Refused when one of
    /// its event tasks is referenced by a workflow, unless `force`.
    pub async fn remove_connector(&self, reference: &str, force: bool) -> Result<Connector> {
        let c = self.connector(reference).await?;
        let in_use: Vec<String> = self
            .store
            .connector_tasks(&c.id)
            .await?
            .into_iter()
            .filter(|t| !t.references.is_empty())
            .map(|t| format!("{} (used by {})", t.name, callers(&t.references)))
            .collect();
        if !in_use.is_empty() && !force {
            return Err(EngineError::InUse {
                message: format!(
                    "connector '{}' has event tasks in use by workflows: {}; remove with --force to break those callers",
                    c.name,
                    in_use.join("; ")
                ),
            });
        }
        if !c.secret_parameters.is_empty() {
            self.keyring.delete_connector_secrets(&c.id).await?;
        }
        self.store.delete_connector(&c.id).await?;
        Ok(c)
    }

    async fn check_target(&self, target: Option<&str>) -> Result<String> {
        let name = target
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(LOCAL_TARGET);
        let targets = self.store.targets().await?;
        if targets.iter().any(|t| t.name == name) {
            Ok(name.to_string())
        } else {
            Err(EngineError::invalid(
                "target",
                format!(
                    "target '{name}' does not exist (known: {})",
                    targets
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }

    // ----- tasks ----------------------------------------------------------

    pub async fn list_tasks(&self, connector: Option<&str>) -> Result<Vec<TaskSummary>> {
        let id = match connector {
            Some(c) => Some(self.connector_row(c).await?.id),
            None => None,
        };
        let now = chrono::Utc::now();
        let mut tasks = self.store.list_tasks(id.as_deref()).await?;
        for t in &mut tasks {
            if t.enabled {
                t.next_run = next_run(t.schedule.as_deref(), &t.timezone, now);
            }
        }
        Ok(tasks)
    }

    pub async fn task(&self, reference: &str) -> Result<Task> {
        let mut task = self
            .store
            .find_task(reference)
            .await?
            .ok_or_else(|| EngineError::not_found("task", reference))?;
        if task.enabled {
            task.next_run = next_run(task.schedule.as_deref(), &task.timezone, chrono::Utc::now());
        }
        Ok(task)
    }

    pub async fn create_task(&self, connector: &str, input: TaskInput) -> Result<Task> {
        let c = self.connector_row(connector).await?;
        let task = self.build_task(&c, input, None).await?;
        if self.store.task_name_taken(&c.id, &task.name).await? {
            return Err(EngineError::AlreadyExists {
                kind: "task",
                name: format!("{}/{}", c.name, task.name),
            });
        }
        self.store.insert_task(&task).await?;
        self.task(&task.id).await
    }

    pub async fn update_task(&self, reference: &str, input: TaskInput) -> Result<TaskUpdate> {
        let existing = self.task(reference).await?;
        if let Some(name) = input.name.as_deref().map(str::trim) {
            if name != existing.name {
                return Err(EngineError::Immutable {
                    field: "name",
                    current: existing.name,
                });
            }
        }
        let c = self.connector_row(&existing.connector_id).await?;
        let mut input = input;
        input.name = Some(existing.name.clone());
        let task = self.build_task(&c, input, Some(&existing)).await?;
        let mut warnings = Vec::new();
        if !existing.references.is_empty()
            && (task.usage != existing.usage || task.mappings_type != existing.mappings_type)
        {
            warnings.push(format!(
                "task '{}' is used by workflows ({}); changing its usage or mappings type breaks those callers",
                existing.name,
                callers(&existing.references)
            ));
        }
        self.store.update_task(&task).await?;
        Ok(TaskUpdate {
            task: self.task(&task.id).await?,
            warnings,
        })
    }

    pub async fn copy_task(&self, reference: &str, new_name: Option<&str>) -> Result<Task> {
        let source = self.task(reference).await?;
        let existing: Vec<String> = self
            .store
            .connector_tasks(&source.connector_id)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let name = match new_name.map(str::trim) {
            Some(n) => {
                rules::check_name("task", n)?;
                if existing.iter().any(|e| e == n) {
                    return Err(EngineError::AlreadyExists {
                        kind: "task",
                        name: format!("{}/{n}", source.connector_name),
                    });
                }
                n.to_string()
            }
            None => rules::copy_name(&source.name, |n| existing.iter().any(|e| e == n)),
        };
        let stamp = now();
        let copy = Task {
            id: new_id(),
            name,
            references: Vec::new(),
            created_at: stamp.clone(),
            updated_at: stamp,
            ..source
        };
        self.store.insert_task(&copy).await?;
        self.task(&copy.id).await
    }

    /// Removes a task. A task referenced by workflows is refused unless `force`.
    pub async fn remove_task(&self, reference: &str, force: bool) -> Result<Task> {
        let task = self.task(reference).await?;
        if !task.references.is_empty() && !force {
            return Err(EngineError::InUse {
                message: format!(
                    "task '{}/{}' is in use by workflows: {}; remove it with --force to break those callers",
                    task.connector_name,
                    task.name,
                    callers(&task.references)
                ),
            });
        }
        self.store.delete_task(&task.id).await?;
        Ok(task)
    }

    /// Records that `caller` invoked an event task (a workflow reference).
    pub async fn record_caller(&self, task_id: &str, caller: &str) -> Result<()> {
        self.store.record_reference_use(task_id, caller, &now()).await
    }

    /// Validates a task input against its connector's target and builds the task.
    pub(crate) async fn build_task(
        &self,
        c: &Connector,
        input: TaskInput,
        existing: Option<&Task>,
    ) -> Result<Task> {
        let missing = rules::missing_task_fields(&input);
        if !missing.is_empty() {
            return Err(EngineError::MissingFields { fields: missing });
        }
        let usage = input.usage.unwrap_or_default();
        let name = input.name.clone().unwrap_or_default().trim().to_string();
        rules::check_name("task", &name)?;
        let scheduled = usage == TaskUsage::Scheduled;
        let timezone = input
            .timezone
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "UTC".into());
        rules::check_timezone(&timezone)?;
        if let Some(s) = input.schedule.as_deref().filter(|s| !s.trim().is_empty()) {
            rules::check_schedule(s)?;
        }
        let template_code = input.target_template.clone().unwrap_or_default();
        let template = self
            .template_in(&c.target, &template_code, "target_template")
            .await?;
        let folder_code = input.target_folder.clone().unwrap_or_default();
        let folder = self.folder_in(&c.target, &folder_code, "target_folder").await?;
        rules::check_folder_accepts(&folder, &template)?;
        let mappings = input.mappings.clone().unwrap_or_default();
        rules::check_mappings(
            &template,
            &mappings,
            if scheduled {
                input.object_id_attribute.as_deref()
            } else {
                None
            },
        )?;
        if let Some(a) = input.task_id_attribute.as_deref().filter(|a| !a.is_empty()) {
            rules::check_attribute(&template, "task_id_attribute", a)?;
        }
        if let Some(a) = input
            .data_source_type_attribute
            .as_deref()
            .filter(|a| !a.is_empty())
        {
            rules::check_attribute(&template, "data_source_type_attribute", a)?;
        }
        if let Some(r) = &input.removal {
            rules::check_attribute(&template, "removal.status_attribute", &r.status_attribute)?;
            let attr = template.attribute(&r.status_attribute).cloned();
            if let Some(attr) = attr.filter(|a| !a.static_values.is_empty()) {
                if !attr.static_values.contains(&r.removed_value) {
                    return Err(EngineError::invalid(
                        "removal.removed_value",
                        format!(
                            "'{}' is not an allowed value of '{}' (allowed: {})",
                            r.removed_value,
                            attr.code,
                            attr.static_values.join(", ")
                        ),
                    ));
                }
            }
        }
        if let Some(f) = &input.failure {
            let ft = self
                .template_in(&c.target, &f.template, "failure.template")
                .await?;
            let ff = self.folder_in(&c.target, &f.folder, "failure.folder").await?;
            rules::check_folder_accepts(&ff, &ft).map_err(|e| match e {
                EngineError::Invalid { message, .. } => EngineError::invalid("failure.folder", message),
                other => other,
            })?;
            rules::check_attribute(&ft, "failure.attribute", &f.attribute)?;
        }
        let limits = input.limits.clone().unwrap_or_default();
        if limits.update_limit == Some(0) {
            return Err(EngineError::invalid(
                "limits.update_limit",
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        if input.max_runtime == Some(0) {
            return Err(EngineError::invalid(
                "max_runtime",
                "must be at least 1 second (leave it out for no limit)",
            ));
        }
        if input.heartbeat_timeout == Some(0) {
            return Err(EngineError::invalid(
                "heartbeat_timeout",
                "must be at least 1 second",
            ));
        }
        let stamp = now();
        let references: Vec<WorkflowReference> = input
            .declared_callers
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|caller| WorkflowReference {
                caller: caller.trim().to_string(),
                first_used: None,
                last_used: None,
                count: 0,
                declared: true,
            })
            .collect();
        Ok(Task {
            id: existing.map(|e| e.id.clone()).unwrap_or_else(new_id),
            connector_id: c.id.clone(),
            connector_name: c.name.clone(),
            name,
            usage,
            enabled: input.enabled.unwrap_or(scheduled),
            schedule: if scheduled { input.schedule.clone() } else { None },
            timezone,
            run_type: input.run_type.unwrap_or_default(),
            mappings_type: input.mappings_type.unwrap_or_default(),
            object_id_attribute: input.object_id_attribute.clone().filter(|_| scheduled),
            target_template: template.code,
            target_folder: folder.code,
            task_id_attribute: input.task_id_attribute.clone().filter(|a| !a.is_empty()),
            data_source_type_attribute: input.data_source_type_attribute.clone().filter(|a| !a.is_empty()),
            mappings,
            failure: input.failure.clone(),
            removal: input.removal.clone().filter(|_| scheduled),
            limits: Limits { ..limits },
            heartbeat_timeout: input.heartbeat_timeout.unwrap_or(DEFAULT_HEARTBEAT_TIMEOUT),
            max_runtime: input.max_runtime,
            references,
            created_at: existing
                .map(|e| e.created_at.clone())
                .unwrap_or_else(|| stamp.clone()),
            updated_at: stamp,
            next_run: None,
        })
    }

    pub(crate) async fn template_in(&self, target: &str, code: &str, field: &str) -> Result<Template> {
        self.store.template(target, code).await?.ok_or_else(|| {
            EngineError::invalid(
                field,
                format!("template '{code}' does not exist in target '{target}'"),
            )
        })
    }

    async fn folder_in(&self, target: &str, code: &str, field: &str) -> Result<Folder> {
        self.store.folder(target, code).await?.ok_or_else(|| {
            EngineError::invalid(
                field,
                format!("folder '{code}' does not exist in target '{target}'"),
            )
        })
    }

    // ----- targets and templates -------------------------------------------

    pub async fn targets(&self) -> Result<Vec<TargetInfo>> {
        self.store.targets().await
    }

    pub async fn templates(&self, target: Option<&str>) -> Result<Vec<Template>> {
        let target = self.check_target(target).await?;
        self.store.templates(&target).await
    }

    pub async fn folders(&self, target: Option<&str>) -> Result<Vec<Folder>> {
        let target = self.check_target(target).await?;
        self.store.folders(&target).await
    }

    pub async fn template(&self, code: &str, target: Option<&str>) -> Result<Template> {
        let target = self.check_target(target).await?;
        self.template_in(&target, code, "template")
            .await
            .map_err(|_| EngineError::not_found("template", code))
    }

    /// Adds (or redefines) a user template of the local store, with folders that accept it.
    pub async fn add_template(&self, input: TemplateInput) -> Result<Template> {
        let mut missing = Vec::new();
        if rules::blank(&input.code) {
            missing.push("code".to_string());
        }
        if rules::blank(&input.name) {
            missing.push("name".to_string());
        }
        if input.attributes.is_empty() {
            missing.push("attributes".to_string());
        }
        if !missing.is_empty() {
            return Err(EngineError::MissingFields { fields: missing });
        }
        let code = input.code.clone().unwrap_or_default().trim().to_string();
        if !code
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            return Err(EngineError::invalid(
                "code",
                format!("'{code}' may only hold letters, digits, '_' and '-'"),
            ));
        }
        if let Some(existing) = self.store.template(LOCAL_TARGET, &code).await? {
            if existing.built_in {
                return Err(EngineError::invalid(
                    "code",
                    format!("template '{code}' is built in; choose another code"),
                ));
            }
        }
        let mut attributes: Vec<Attribute> = Vec::new();
        for a in input.attributes {
            if a.code.trim().is_empty() {
                return Err(EngineError::invalid(
                    "attributes",
                    "every attribute needs a 'code'",
                ));
            }
            if attributes.iter().any(|x| x.code == a.code) {
                return Err(EngineError::invalid(
                    "attributes",
                    format!("attribute '{}' is listed twice", a.code),
                ));
            }
            attributes.push(a);
        }
        for fixed in ["taskid", "dataSourceType"] {
            if !attributes.iter().any(|a| a.code == fixed) {
                attributes.push(Attribute {
                    code: fixed.into(),
                    attribute_type: Default::default(),
                    multi_value: false,
                    static_values: Vec::new(),
                });
            }
        }
        let template = Template {
            code: code.clone(),
            name: input.name.unwrap_or_default().trim().to_string(),
            attributes,
            built_in: false,
        };
        let existing_folders = self.store.folders(LOCAL_TARGET).await?;
        let mut folders = Vec::new();
        for f in input.folders {
            let mut folder = existing_folders
                .iter()
                .find(|e| e.code == f.code)
                .cloned()
                .unwrap_or(Folder {
                    code: f.code.clone(),
                    name: f.name.clone().unwrap_or_else(|| f.code.clone()),
                    templates: Vec::new(),
                });
            if let Some(n) = f.name {
                folder.name = n;
            }
            if !folder.templates.contains(&code) {
                folder.templates.push(code.clone());
            }
            folders.push(folder);
        }
        self.store
            .save_template(LOCAL_TARGET, &template, &folders)
            .await?;
        self.template(&code, None).await
    }
}

/// When an enabled schedule fires next, in UTC (RFC 3339).
fn next_run(schedule: Option<&str>, timezone: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let timing = crate::scheduler::timing::Timing::new(schedule?, timezone).ok()?;
    timing
        .next_after(now)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn callers(refs: &[WorkflowReference]) -> String {
    refs.iter()
        .map(|r| r.caller.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn masked(c: &Connector) -> Value {
    secrets::merge_at_pointers(
        &c.parameters,
        c.secret_parameters
            .iter()
            .map(|p| (p.clone(), Value::String(MASK.into()))),
    )
}

fn parse_connector_type(text: &str) -> Result<ConnectorType> {
    ConnectorType::parse(text.trim()).ok_or_else(|| {
        EngineError::invalid(
            "type",
            format!("'{text}' is not a connector type; use python_script or hr_file"),
        )
    })
}

/// Connector parameters as stored: an object (none given is an empty one).
pub(crate) fn parameters_object(params: Option<Value>) -> Result<Value> {
    match params {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(Value::Object(m)) => Ok(Value::Object(m)),
        Some(_) => Err(EngineError::invalid(
            "parameters",
            "must be a JSON object of name → value",
        )),
    }
}

fn apply_setting(s: &mut Settings, key: &str, value: &str) -> Result<()> {
    let bad = |msg: &str| EngineError::invalid(key, format!("'{value}' {msg}"));
    let optional_number = |v: &str| -> Result<Option<u32>> {
        if v.eq_ignore_ascii_case("none") || v.is_empty() {
            Ok(None)
        } else {
            v.parse::<u32>()
                .map(Some)
                .map_err(|_| bad("is not a whole number (or 'none')"))
        }
    };
    let boolean = |v: &str| -> Result<bool> {
        match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(bad("is not true or false")),
        }
    };
    match key {
        "environment_type" => {
            s.environment_type = Some(
                EnvironmentType::parse(value)
                    .ok_or_else(|| bad(&format!("is not an environment type; use one of {}", EnvironmentType::ALL)))?,
            )
        }
        "cache_clear_hours" => {
            let text = value.trim_start_matches('[').trim_end_matches(']');
            let mut hours = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.parse::<u8>() {
                    Ok(h) if h < 24 => hours.push(h),
                    _ => return Err(bad("must be hours of the day 0–23, separated by commas (e.g. 6,12)")),
                }
            }
            if hours.is_empty() {
                return Err(bad("must name at least one hour 0–23"));
            }
            hours.sort_unstable();
            hours.dedup();
            s.cache_clear_hours = hours;
        }
        "workers" => match value.parse::<u32>() {
            Ok(n) if (1..=64).contains(&n) => s.workers = n,
            _ => return Err(bad("must be a whole number from 1 to 64")),
        },
        "python" => {
            if value.is_empty() {
                return Err(bad("must name a Python interpreter (e.g. python3 or /usr/bin/python3)"));
            }
            s.python = value.to_string();
        }
        "retention_days" => s.retention_days = optional_number(value)?,
        "retention_runs" => s.retention_runs = optional_number(value)?,
        "log_level" => match value {
            "error" | "warn" | "info" | "debug" | "trace" => s.log_level = value.into(),
            _ => return Err(bad("is not a log level; use error, warn, info, debug or trace")),
        },
        "catch_up" => s.catch_up = boolean(value)?,
        "enable_imported_tasks_in_prod" => s.enable_imported_tasks_in_prod = boolean(value)?,
        _ => {
            return Err(EngineError::invalid(
                key,
                "is not a setting; known settings: environment_type, cache_clear_hours, workers, python, retention_days, retention_runs, log_level, catch_up, enable_imported_tasks_in_prod",
            ))
        }
    }
    Ok(())
}
