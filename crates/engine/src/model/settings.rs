//! One settings record per data directory.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentType {
    Test,
    Prod,
    Demo,
    Dev,
}

impl EnvironmentType {
    pub const ALL: &'static str = "test, prod, demo, dev";

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "test" => Some(Self::Test),
            "prod" => Some(Self::Prod),
            "demo" => Some(Self::Demo),
            "dev" => Some(Self::Dev),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Prod => "prod",
            Self::Demo => "demo",
            Self::Dev => "dev",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default)]
pub struct Settings {
    /// Mandatory before any task runs; `None` until an administrator sets it.
    pub environment_type: Option<EnvironmentType>,
    /// Hours of the day (UTC) at which every task's data cache is cleared.
    pub cache_clear_hours: Vec<u8>,
    /// Task runs that may execute at the same time.
    pub workers: u32,
    /// Interpreter used by the script host.
    pub python: String,
    /// Run history kept per task: runs older than this many days are pruned.
    pub retention_days: Option<u32>,
    /// Run history kept per task: at most this many runs.
    pub retention_runs: Option<u32>,
    pub log_level: LogLevel,
    /// Run each task that missed its time once when the scheduler starts.
    pub catch_up: bool,
    /// Scheduled tasks imported into a `prod` environment stay disabled unless this is on.
    pub enable_imported_tasks_in_prod: bool,
    /// Where the process that schedules (the desktop app, `serve`) serves the
    /// workflow API; `None`: off.
    #[serde(default)]
    pub workflow_api: Option<String>,
    /// The largest HR file read, in MB (local or over SFTP); `None`: no limit.
    pub hr_max_file_mb: Option<u32>,
    /// The largest field of an HR file, in KB; `None`: no limit.
    pub hr_max_field_kb: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            environment_type: None,
            cache_clear_hours: vec![0],
            workers: 4,
            python: "python3".to_string(),
            retention_days: Some(30),
            retention_runs: Some(1000),
            log_level: LogLevel::Info,
            catch_up: false,
            workflow_api: None,
            enable_imported_tasks_in_prod: false,
            hr_max_file_mb: Some(1024),
            hr_max_field_kb: Some(1024),
        }
    }
}

/// How much the engine log records, most severe first (the `log_level`
/// setting; each line of the log has one).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, specta::Type, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

words! { LogLevel {
    Error => "error",
    Warn => "warn",
    Info => "info",
    Debug => "debug",
    Trace => "trace",
} }

impl LogLevel {
    /// A level as written in the setting or in a log line, in any case (`WARNING` too).
    pub fn parse(word: &str) -> Option<LogLevel> {
        match word.to_ascii_lowercase().as_str() {
            "error" => Some(LogLevel::Error),
            "warn" | "warning" => Some(LogLevel::Warn),
            "info" => Some(LogLevel::Info),
            "debug" => Some(LogLevel::Debug),
            "trace" => Some(LogLevel::Trace),
            _ => None,
        }
    }
}
