//! The one seam between the facade and the connector kinds. Every question
//! whose answer depends on a connector's type (is its parameter block
//! right, what must its tasks map, what does a run read, does it write a
//! report) is asked here, and only here is the type matched on: the facade
//! (`api/`) never names a connector type (the architecture test checks).
//! Each kind's own code lives in its home: [`super::script`], [`super::hr`],
//! [`super::ldap`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::hr::parameters as hr;
use super::hr::sftp::{SftpFetch, SftpLogin};
use super::{hr::HrFile, ldap, script::PythonScript, Source};
use crate::error::{EngineError, Result};
use crate::model::{
    Connector, ConnectorTaskSettings, ConnectorType, Limits, RunMode, Settings, Task, TaskInput,
};
use crate::script_host::ScriptHost;
use crate::secrets::Sensitive;

/// What a connector kind asks of the engine while it checks or prepares a
/// connector (the facade implements it).
pub trait Host: Sync {
    /// The connector's secret parameter values, from the keyring.
    fn secrets(&self, connector: &Connector) -> impl Future<Output = Result<Map<String, Value>>> + Send;
    fn settings(&self) -> impl Future<Output = Result<Settings>> + Send;
    fn data_dir(&self) -> &Path;
    /// The connector's own folder in the data directory.
    fn connector_folder(&self, connector_id: &str) -> PathBuf;
    /// The HR report's template and folder, checked against the connector's target.
    fn report_destination(
        &self,
        connector: &Connector,
    ) -> impl Future<Output = Result<(String, String)>> + Send;
    /// An HR block's `webapi_*` (in `parameters`, secrets merged in) checked against the connector's target.
    fn check_webapi(
        &self,
        connector: &Connector,
        parameters: &Value,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The scheduled script of a script connector's task and the host to run it.
    fn scheduled_script(&self, task: &Task) -> impl Future<Output = Result<(PathBuf, ScriptHost)>> + Send;
    /// The event script of a script connector's event task and the host to run it.
    fn event_script(&self, task: &Task) -> impl Future<Output = Result<(PathBuf, ScriptHost)>> + Send;
}

/// What runs an event task's invocation, ready before the invocation is recorded.
#[derive(Debug)]
pub enum EventRunner {
    Script { script: PathBuf, host: ScriptHost },
    Directory(Box<super::ldap::event::DirectoryEvent>),
}

/// One invocation of an event task.
pub struct EventCall<'a> {
    pub dir: &'a Path,
    /// The connector's parameters, secrets merged in.
    pub parameters: &'a Sensitive<Value>,
    /// The invocation's values, mapped to source attribute names.
    pub values: &'a Map<String, Value>,
    /// Read tasks: where the values read are handed back.
    pub returns: Option<&'a Path>,
    pub masker: &'a crate::script_host::Masker,
    pub timeout: std::time::Duration,
}

/// Everything an event task's invocation needs, checked before it is recorded.
pub async fn prepare_event(
    host: &impl Host,
    connector: &Connector,
    task: &Task,
    parameters: &Value,
) -> Result<EventRunner> {
    match connector.connector_type {
        ConnectorType::PythonScript => {
            let (script, host) = host.event_script(task).await?;
            Ok(EventRunner::Script { script, host })
        }
        ConnectorType::Ldap => Ok(EventRunner::Directory(Box::new(
            super::ldap::event::DirectoryEvent::prepare(
                parameters,
                task,
                &host.connector_folder(&connector.id),
            )?,
        ))),
        ConnectorType::HrFile => Err(EngineError::invalid(
            "task",
            format!(
                "connector '{}' is an HR connector: it has no event tasks",
                connector.name
            ),
        )),
    }
}

impl std::fmt::Debug for EventCall<'_> {
    // The parameters and values may hold secrets: only where the call works is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventCall")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl EventRunner {
    /// How the invocation ended; `Err` says why it could not run at all.
    pub async fn run(
        &self,
        call: EventCall<'_>,
    ) -> std::result::Result<crate::script_host::EventOutcome, String> {
        match self {
            EventRunner::Script { script, host } => host
                .run_event(
                    script,
                    call.dir,
                    crate::script_host::EventInput {
                        parameters: call.parameters,
                        values: &Value::Object(call.values.clone()),
                        returns: call.returns,
                    },
                    call.masker,
                    call.timeout,
                )
                .await
                .map_err(|e| e.to_string()),
            EventRunner::Directory(event) => event.run(call.values, call.returns, call.timeout).await,
        }
    }
}

/// What a run of a task reads from, prepared.
#[derive(Debug)]
pub struct Prepared {
    pub source: Source,
    /// Target attributes each record must have (any one of each inner list).
    pub required: Vec<Vec<String>>,
    /// Limits the connector sets for all its tasks (HR), replacing the task's own.
    pub limits: Option<Limits>,
    /// The connector's secret values: a value a load writes that holds one is masked in the journal.
    pub secret_values: Vec<String>,
}

/// Whether the connector's runs are a script's (its tasks name one).
pub fn uses_script(t: ConnectorType) -> bool {
    t == ConnectorType::PythonScript
}

/// Whether the connector keeps files of its own in its folder (HR files and
/// archives; a directory's CA file and incremental marks), where its
/// parameters' relative paths start.
pub fn keeps_a_folder(t: ConnectorType) -> bool {
    matches!(t, ConnectorType::HrFile | ConnectorType::Ldap)
}

/// Whether the connector can have authentication tasks (directory connectors).
pub fn supports_authentication(t: ConnectorType) -> bool {
    t == ConnectorType::Ldap
}

fn not_for_authentication(connector: &Connector) -> EngineError {
    EngineError::invalid(
        "connector",
        format!(
            "connector '{}' is a {} connector: only directory connectors (ldap) have authentication tasks",
            connector.name,
            connector.connector_type.as_str()
        ),
    )
}

/// `AUTH.json` as the task it stands for, on a connector that supports authentication.
pub fn authentication_task(connector: &Connector, input: crate::model::AuthTaskInput) -> Result<TaskInput> {
    if !supports_authentication(connector.connector_type) {
        return Err(not_for_authentication(connector));
    }
    Ok(ldap::auth::task_input(input))
}

/// "Test connection": connect, bind, find the base and count what the filters match (directory connectors).
pub async fn test_connection(
    host: &impl Host,
    connector: &Connector,
) -> Result<crate::model::DirectoryCheck> {
    if connector.connector_type != ConnectorType::Ldap {
        return Err(EngineError::invalid(
            "connector",
            format!(
                "connector '{}' is a {} connector: Test connection is for directory connectors; run a task to try the others",
                connector.name,
                connector.connector_type.as_str()
            ),
        ));
    }
    let secrets = host.secrets(connector).await?;
    let merged = crate::secrets::merge_at_pointers(&connector.parameters, secrets);
    let folder = host.connector_folder(&connector.id);
    let params = ldap::LdapSource::prepare_parameters(&merged, &folder)?;
    let password = ldap::bind_password(&merged);
    ldap::check::test(&params, password.as_ref())
        .await
        .map_err(|why| EngineError::invalid("connector", format!("connector '{}': {why}", connector.name)))
}

/// An authentication task as `AUTH.json` shows it.
pub fn auth_input_of(task: &Task) -> crate::model::AuthTaskInput {
    ldap::auth::auth_input_of(task)
}

/// Whether `login` with `password` may log in through the authentication task `task`.
pub async fn test_login(
    host: &impl Host,
    connector: &Connector,
    task: &Task,
    login: &str,
    password: &Sensitive<String>,
) -> Result<crate::model::LoginVerdict> {
    let settings = match &task.authentication {
        Some(a) if supports_authentication(connector.connector_type) => a,
        _ => {
            return Err(EngineError::invalid(
                "task",
                format!("'{}' is not an authentication task", task.name),
            ))
        }
    };
    let secrets = host.secrets(connector).await?;
    let merged = crate::secrets::merge_at_pointers(&connector.parameters, secrets);
    let source = ldap::LdapSource::prepare(&merged, task, &host.connector_folder(&connector.id))?;
    ldap::auth::test_login(
        &source.params,
        source.password.as_ref(),
        settings,
        login,
        password,
    )
    .await
    .map_err(|why| EngineError::invalid("connector", why))
}

/// Whether the connector's scheduled runs write a run report card (HR).
pub fn writes_report(t: ConnectorType) -> bool {
    t == ConnectorType::HrFile
}

/// Checks a parameter block (secret values merged in) when a connector is
/// saved; each problem is named. `target` is the connector's target.
pub fn check_parameters(t: ConnectorType, parameters: &Value, target: Option<&str>) -> Result<()> {
    match t {
        ConnectorType::PythonScript => Ok(()),
        // Writing to a remote solution needs the webapi_* parameters (every target but the local store is remote).
        ConnectorType::HrFile => {
            hr::check_parameters(parameters, crate::rules::connector::writes_remotely(target)).map(|_| ())
        }
        ConnectorType::Ldap => ldap::parameters::check(parameters).map(|_| ()),
    }
}

/// What a parameter block holds that the connector will not use, and why
/// (shown when it is saved, by `connector show` and in the editor), so that
/// nothing is accepted and silently ignored. `target`: the connector's.
pub fn parameter_notes(t: ConnectorType, parameters: &Value, target: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if t == ConnectorType::HrFile && !crate::rules::connector::writes_remotely(Some(target)) {
        let given: Vec<&str> = ["webapi_url", "webapi_user", "webapi_password"]
            .into_iter()
            .filter(|k| {
                parameters
                    .get(*k)
                    .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
            })
            .collect();
        if !given.is_empty() {
            notes.push(format!(
                "{} {} not used: this connector writes to the local datacard store (target local), \
                 and its report card goes there too. To write to the solution they name, make them a \
                 target (`provisio target add --from-connector CONNECTOR --name NAME`) and point the \
                 connector at it",
                given.join(", "),
                if given.len() == 1 { "is" } else { "are" }
            ));
        }
    }
    notes
}

/// What must exist besides the parameters for a connector to be saved.
/// `parameters`: the connector's, secrets merged in.
pub async fn check_saved(host: &impl Host, connector: &Connector, parameters: &Value) -> Result<()> {
    if writes_report(connector.connector_type) {
        host.check_webapi(connector, parameters).await?;
        // Where its report goes must exist in its target: named now, not at the first run.
        host.report_destination(connector).await?;
    }
    Ok(())
}

/// Checks a task against its connector's kind: what it must map, what it may set.
pub fn check_task(connector: &Connector, input: &TaskInput, scheduled: bool) -> Result<()> {
    if input.usage == Some(crate::model::TaskUsage::Authentication)
        && !supports_authentication(connector.connector_type)
    {
        return Err(not_for_authentication(connector));
    }
    if input.directory_objects.is_some() && connector.connector_type != ConnectorType::Ldap {
        return Err(EngineError::invalid(
            "directory_objects",
            format!(
                "only a directory connector's tasks read users or groups; '{}' is a {} connector",
                connector.name,
                connector.connector_type.as_str()
            ),
        ));
    }
    match connector.connector_type {
        ConnectorType::PythonScript => Ok(()),
        ConnectorType::HrFile => {
            // Nothing typed for an HR task is silently replaced at its run.
            hr::check_task_own_settings(input)?;
            // The connector's data type decides what the task must map.
            if let Some(data_type) = hr::declared_data_type(&connector.parameters).filter(|_| scheduled) {
                let mapped: Vec<&str> = input
                    .mappings
                    .iter()
                    .flatten()
                    .map(|m| m.target.as_str())
                    .collect();
                let unmapped = hr::unmapped_mandatory(data_type, &mapped);
                if !unmapped.is_empty() {
                    return Err(hr::unmapped_error(data_type, &unmapped));
                }
            }
            Ok(())
        }
        ConnectorType::Ldap => ldap::check_task(connector, input, scheduled),
    }
}

/// Warnings (not refusals) a saved task deserves, in the words a user reads.
pub fn task_warnings(connector: &Connector, task: &Task) -> Vec<String> {
    match connector.connector_type {
        ConnectorType::Ldap => ldap::task_warnings(task),
        _ => Vec::new(),
    }
}

/// The run type and limits the connector sets for all its tasks, with where
/// a user changes them; `None` when its tasks carry their own.
pub fn task_settings(connector: &Connector) -> Option<ConnectorTaskSettings> {
    (connector.connector_type == ConnectorType::HrFile).then(|| ConnectorTaskSettings {
        run_type: hr::declared_run_type(&connector.parameters).to_string(),
        limits: hr::declared_limits(&connector.parameters),
        source: format!("the parameter block of connector '{}'", connector.name),
    })
}

/// The run type the connector declares for every run of its tasks; `None`
/// when the task's own (full or incremental, as its cache allows) applies.
pub fn declared_run_mode(connector: &Connector) -> Option<RunMode> {
    match connector.connector_type {
        // As declared; a block that became invalid fails the run before any fetch (`prepare`).
        ConnectorType::HrFile => Some(match hr::declared_run_type(&connector.parameters) {
            crate::model::hr::HrRunType::Full => RunMode::Full,
            crate::model::hr::HrRunType::Partial => RunMode::Partial,
        }),
        ConnectorType::PythonScript | ConnectorType::Ldap => None,
    }
}

/// Whether the connector asks for debug-level logging of its runs (an HR connector's `debug: true`).
pub fn debug_runs(connector: &Connector) -> bool {
    connector.connector_type == ConnectorType::HrFile
        && matches!(connector.parameters.get("debug"), Some(v) if v == &Value::Bool(true) || v == &Value::String("true".into()))
}

/// Everything a scheduled run of `task` reads from, checked before anything is fetched.
pub async fn prepare(host: &impl Host, connector: &Connector, task: &Task) -> Result<Prepared> {
    let secrets = host.secrets(connector).await?;
    let secret_values = crate::secrets::secret_texts(secrets.values());
    let mut prepared = prepare_source(host, connector, task, secrets).await?;
    prepared.secret_values = secret_values;
    Ok(prepared)
}

async fn prepare_source(
    host: &impl Host,
    connector: &Connector,
    task: &Task,
    secrets: Map<String, Value>,
) -> Result<Prepared> {
    match connector.connector_type {
        ConnectorType::PythonScript => {
            let (script, script_host) = host.scheduled_script(task).await?;
            Ok(Prepared {
                source: Source::PythonScript(PythonScript {
                    script,
                    host: script_host,
                    parameters: connector.parameters.clone(),
                    secrets: Sensitive::new(secrets),
                }),
                required: Vec::new(),
                limits: None,
                secret_values: Vec::new(),
            })
        }
        ConnectorType::HrFile => prepare_hr(host, connector, task, secrets).await,
        ConnectorType::Ldap => {
            let merged = crate::secrets::merge_at_pointers(&connector.parameters, secrets);
            let source = ldap::LdapSource::prepare(&merged, task, &host.connector_folder(&connector.id))?;
            Ok(Prepared {
                source: Source::Ldap(Box::new(source)),
                required: Vec::new(),
                limits: None,
                secret_values: Vec::new(),
            })
        }
    }
}

async fn prepare_hr(
    host: &impl Host,
    connector: &Connector,
    task: &Task,
    secrets: Map<String, Value>,
) -> Result<Prepared> {
    let merged = crate::secrets::merge_at_pointers(&connector.parameters, secrets);
    let params = hr::check_parameters(
        &merged,
        crate::rules::connector::writes_remotely(Some(&connector.target)),
    )?;
    // A translation file lacking a case, or a report template or folder the
    // target lacks, is refused now, before anything is fetched.
    super::hr::report::Translations::load(host.data_dir(), &params.language)?;
    host.check_webapi(connector, &merged).await?;
    host.report_destination(connector).await?;
    let mapped: Vec<&str> = task.mappings.iter().map(|m| m.target.as_str()).collect();
    let unmapped = hr::unmapped_mandatory(params.data_type, &mapped);
    if !unmapped.is_empty() {
        return Err(hr::unmapped_error(params.data_type, &unmapped));
    }
    let required = hr::mandatory_attributes(params.data_type)
        .iter()
        .map(|group| group.iter().map(|a| a.to_string()).collect())
        .collect();
    let folder = host.connector_folder(&connector.id);
    let caps = super::hr::SizeCaps::of(&host.settings().await?);
    let sftp = params.sftp.clone().map(|server| {
        let secret = |key: &str| {
            merged
                .get(key)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .map(|v| Sensitive::new(v.to_string()))
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
    let limits = hr::limits(&params);
    Ok(Prepared {
        source: Source::HrFile(HrFile {
            folder,
            sftp,
            caps,
            id_column: task.object_id_attribute.clone().unwrap_or_default(),
            mapped_columns: task.mappings.iter().map(|m| m.source.clone()).collect(),
            params,
        }),
        required,
        limits: Some(limits),
        secret_values: Vec::new(),
    })
}
