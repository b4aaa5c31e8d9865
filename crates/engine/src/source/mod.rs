//! Sources: what turns a connector into a file of records for the pipeline
//! (a JSON array, one object per record). The pipeline does not know which
//! source it reads; a new connector type is a new source here.
//!
//! | source | connector type | how |
//! | --- | --- | --- |
//! | [`python_script`] | `python_script` | runs the connector's script under the contract of docs/script-contract.md |
//! | [`hr`] | `hr_file` | reads one CSV, JSON or XML file from the connector's folder or over SFTP |
//! | [`ldap`] | `ldap` | reads the users or groups of an LDAP directory or Active Directory, paged |
//!
//! Each kind has one home here; [`kind`] is the one seam the facade asks
//! everything that depends on a connector's type.

pub mod hr;
pub mod kind;
pub mod ldap;
pub mod script;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::model::{RunMode, Task};

/// What a source needs to know about the run it extracts for.
#[derive(Debug)]
pub struct Extract<'a> {
    pub task: &'a Task,
    pub run_id: &'a str,
    pub run_type: RunMode,
    /// The previous successful extract's start, for incremental runs.
    pub last_successful_extract: Option<String>,
    /// Source attribute names the task maps, with whether each is multi-valued.
    pub attributes: Vec<(String, bool)>,
    /// The run's directory: the source's working folder and where its files go.
    pub dir: &'a Path,
    /// Becomes `true` when a user asks the run to stop.
    pub stop: tokio::sync::watch::Receiver<bool>,
}

/// Why an extract did not produce records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    /// A user stopped the run.
    Stopped,
    /// The source failed; the words say why (secrets masked).
    Failed(String),
    /// The source refused to go on and loaded nothing (e.g. several files match); a person must act.
    Interrupted(String),
    /// One of the documented outcomes of an HR file (file not received,
    /// archive missing, …): the English words and the facts a report translates.
    Case(crate::model::hr::ReportCase, String, crate::model::hr::CaseFacts),
}

/// A connector's source, ready to extract.
#[derive(Debug)]
pub enum Source {
    PythonScript(script::PythonScript),
    HrFile(hr::HrFile),
    Ldap(Box<ldap::LdapSource>),
}

impl Source {
    /// Produces the records file, or says why not.
    pub async fn extract(&self, run: Extract<'_>) -> Result<PathBuf, ExtractError> {
        match self {
            Source::PythonScript(s) => s.extract(run).await,
            Source::HrFile(s) => s.extract(run).await,
            Source::Ldap(s) => s.extract(run).await,
        }
    }

    /// Whether the source does its work in another process (a script), so
    /// that the engine's own work can overlap it without adding to its memory.
    pub fn runs_apart(&self) -> bool {
        matches!(self, Source::PythonScript(_))
    }

    /// How many rows the source held when that is not the number of records
    /// it produced: an HR file on a partial run, which produces only the
    /// changed rows. The minimum row count counts these.
    pub fn rows_held(&self, run_dir: &Path) -> Option<u64> {
        match self {
            Source::PythonScript(_) | Source::Ldap(_) => None,
            Source::HrFile(_) => hr::rows_in_file(run_dir),
        }
    }

    /// After the load committed: what the source keeps for the next run (the HR archives).
    pub async fn commit(&self, run_dir: &Path) -> Result<(), String> {
        match self {
            Source::PythonScript(_) => Ok(()),
            Source::HrFile(s) => s.commit(run_dir).await,
            Source::Ldap(s) => s.commit(run_dir).await,
        }
    }

    /// How long a source may stay silent before it is taken for hung (the task's heartbeat).
    pub fn heartbeat(task: &Task) -> Duration {
        Duration::from_secs(task.heartbeat_timeout.max(1))
    }
}
