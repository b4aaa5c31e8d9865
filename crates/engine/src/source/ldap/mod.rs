//! The directory connector (`ldap`): reads the users or groups of an LDAP
//! server or Active Directory with paged searches (RFC 2696), streaming
//! each entry into the run's records file, so memory stays flat however
//! large the directory.
//!
//! Incremental runs ask only for what changed since the last run's mark:
//! on OpenLDAP the newest `entryCSN` the last read saw (a change sequence
//! number, unique and ordered, so exactly the later changes are asked for);
//! on other servers the newest `modifyTimestamp` (the server's own clock, so
//! no skew; one-second grain, so the entries of that last second are read
//! again and found unchanged rather than risk missing one); for Active Directory,
//! the server's `highestCommittedUSN` read *before* the paged read, bound
//! to the server that gave it (another domain controller's numbers mean
//! nothing, so a different server means a full read). The mark is kept in
//! the connector's folder once the run's load committed, so clearing the
//! task's data cache does not lose it; resetting the task's incremental
//! state does.

pub mod auth;
mod certificate;
pub mod check;
pub mod event;
pub mod parameters;
mod read;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Extract, ExtractError};
use crate::error::{EngineError, Result};
use crate::model::{Connector, DirectoryObjects, RunMode, Task, TaskInput};
use crate::secrets::Sensitive;
pub use parameters::{DirectoryKind, LdapParameters};

/// A directory connector's source for one run of one task, ready to read.
#[derive(Debug)]
pub struct LdapSource {
    pub params: LdapParameters,
    pub password: Option<Sensitive<String>>,
    pub objects: DirectoryObjects,
    /// Where the incremental mark is kept between runs.
    pub mark_file: PathBuf,
    /// Authentication tasks: whom the read selects and what it adds to each entry.
    pub authentication: Option<auth::AuthRead>,
}

/// Where the last read stopped, for the next incremental read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mark {
    /// The newest `modifyTimestamp` seen (generalized time, the server's clock).
    ModifyTimestamp { value: String },
    /// OpenLDAP: the newest `entryCSN` seen.
    EntryCsn { value: String },
    /// Active Directory: `highestCommittedUSN` before the read, on `server`.
    Usn { value: u64, server: String },
}

/// The run folder's copy of the mark a read reached; kept for good only when the load commits.
const PENDING_MARK: &str = "ldap-mark.json";

impl LdapSource {
    /// The source of a run of `task`: parameters checked again (the
    /// keyring's values merged in), the mark's place in `folder`.
    pub fn prepare(merged: &Value, task: &Task, folder: &Path) -> Result<LdapSource> {
        let params = LdapSource::prepare_parameters(merged, folder)?;
        let password = bind_password(merged);
        let authentication = match &task.authentication {
            Some(a) if a.realm.is_empty() => {
                return Err(EngineError::invalid(
                    "realm",
                    format!(
                        "authentication task '{}' has no realm (a package never carries one): set it, then enable the task",
                        task.name
                    ),
                ))
            }
            Some(a) => Some(auth::AuthRead::of(a, &params)),
            None => None,
        };
        Ok(LdapSource {
            objects: task.directory_objects.unwrap_or_default(),
            mark_file: mark_file(folder, &task.id),
            authentication,
            params,
            password,
        })
    }

    /// The parameters checked again (the keyring's values merged in), the CA file found in `folder`.
    pub fn prepare_parameters(merged: &Value, folder: &Path) -> Result<LdapParameters> {
        let mut params = parameters::check(merged)?;
        if let Some(ca) = params.ca_file.take() {
            let path = folder.join(&ca);
            let pem = std::fs::read_to_string(&path).map_err(|e| {
                EngineError::invalid(
                    "ca_file",
                    format!("'{ca}' cannot be read from the connector's folder: {e}"),
                )
            })?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(EngineError::invalid(
                    "ca_file",
                    format!("'{ca}' is not a PEM certificate"),
                ));
            }
            params.ca_file = Some(path.display().to_string());
        }
        Ok(params)
    }

    pub async fn extract(&self, run: Extract<'_>) -> std::result::Result<PathBuf, ExtractError> {
        let since = match run.run_type {
            RunMode::Incremental => read_mark(&self.mark_file),
            _ => None,
        };
        let read = read::read(self, &run, since).await.map_err(|why| {
            if *run.stop.borrow() {
                ExtractError::Stopped
            } else {
                ExtractError::Failed(why)
            }
        })?;
        if let Some(mark) = read.mark {
            let text = serde_json::to_vec(&mark).unwrap_or_default();
            std::fs::write(run.dir.join(PENDING_MARK), text)
                .map_err(|e| ExtractError::Failed(format!("cannot keep the incremental mark: {e}")))?;
        }
        Ok(read.output)
    }

    /// After the load committed: the mark this read reached becomes the next read's start.
    pub async fn commit(&self, run_dir: &Path) -> std::result::Result<(), String> {
        let pending = run_dir.join(PENDING_MARK);
        if !pending.exists() {
            return Ok(());
        }
        if let Some(parent) = self.mark_file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot keep the incremental mark: {e}"))?;
        }
        std::fs::copy(&pending, &self.mark_file)
            .map(|_| ())
            .map_err(|e| format!("cannot keep the incremental mark: {e}"))
    }
}

/// The bind password of a parameter block with its secrets merged in.
pub fn bind_password(merged: &Value) -> Option<Sensitive<String>> {
    merged
        .get("bind_password")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(|p| Sensitive::new(p.to_string()))
}

/// Where a task's incremental mark is kept.
pub fn mark_file(connector_folder: &Path, task_id: &str) -> PathBuf {
    connector_folder.join(format!("ldap-mark-{task_id}.json"))
}

fn read_mark(path: &Path) -> Option<Mark> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// Attributes whose values are group memberships.
const MEMBERSHIP: [&str; 3] = ["memberof", "member", "uniquemember"];

/// A directory connector's task: a scheduled one reads users or groups; an
/// event one names its operation and maps what that needs.
pub fn check_task(connector: &Connector, input: &TaskInput, scheduled: bool) -> Result<()> {
    if input.usage == Some(crate::model::TaskUsage::Authentication) {
        return auth::check_task(input);
    }
    if input.authentication.is_some() {
        return Err(EngineError::invalid(
            "authentication",
            "only an authentication task says who may log in (auth-task create)",
        ));
    }
    if scheduled {
        if input.directory_operation.is_some() {
            return Err(EngineError::invalid(
                "directory_operation",
                "only an event task does something in the directory; a scheduled task reads (directory_objects)",
            ));
        }
        return Ok(());
    }
    if input.directory_objects.is_some() {
        return Err(EngineError::invalid(
            "directory_objects",
            "an event task acts on the entry its invocation names (dn); directory_objects is for scheduled reads",
        ));
    }
    event::check_task(&connector.name, input)
}

impl event::DirectoryEvent {
    /// The event task `task` of a directory connector, its parameters (secrets merged in) checked.
    pub fn prepare(merged: &Value, task: &Task, folder: &Path) -> Result<event::DirectoryEvent> {
        let source = LdapSource::prepare(merged, task, folder)?;
        let operation = task.directory_operation.ok_or_else(|| {
            EngineError::invalid(
                "directory_operation",
                "the event task names no directory operation",
            )
        })?;
        Ok(event::DirectoryEvent {
            params: source.params,
            password: source.password,
            operation,
            mapped: task.mappings.iter().map(|m| m.source.clone()).collect(),
        })
    }
}

/// What a user should know about a saved directory task.
pub fn task_warnings(task: &Task) -> Vec<String> {
    let maps_membership = task
        .mappings
        .iter()
        .any(|m| MEMBERSHIP.contains(&m.source.to_ascii_lowercase().as_str()));
    if task.run_type == crate::model::RunType::Incremental && maps_membership {
        vec![format!(
            "task '{}' is incremental and maps group memberships: a membership change does not always \
             change the entry that shows it, so an incremental read can miss it. Run a full read regularly \
             (another task, or reset the incremental state)",
            task.name
        )]
    } else {
        Vec::new()
    }
}
