//! One execution of a task, with what each stage did.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum RunTrigger {
    Schedule,
    Manual,
    Api,
    CatchUp,
}

impl RunTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Schedule => "schedule",
            RunTrigger::Manual => "manual",
            RunTrigger::Api => "api",
            RunTrigger::CatchUp => "catch-up",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// A guard stopped it before loading; nothing was loaded.
    Interrupted,
    /// Stopped by a user; nothing half-loaded was committed.
    Stopped,
    /// Due while the task's previous run was still going; not started.
    Skipped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Stopped => "stopped",
            RunStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum StageStatus {
    Running,
    Succeeded,
    Failed,
    Interrupted,
    Stopped,
    Skipped,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StageReport {
    pub status: Option<StageStatus>,
    pub started: Option<String>,
    pub completed: Option<String>,
    pub info: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RunCounts {
    pub fetched: u64,
    pub valid: u64,
    pub blocked: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub failed: u64,
    /// Cards that carried another task's id and now carry this one's.
    pub takeovers: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RunFile {
    /// What the file is: `args`, `output`, `error`, `script-log`, `log`, `plan`, `blocked`.
    pub kind: String,
    pub path: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Run {
    pub id: String,
    pub task_id: String,
    pub task: String,
    /// `scheduled` or `event`.
    pub kind: String,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    /// Where a running run is: extract, validate, compare, guard, load, commit.
    pub stage: Option<String>,
    pub planned_at: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub run_type: String,
    pub extract: StageReport,
    pub load: StageReport,
    pub counts: RunCounts,
    pub files: Vec<RunFile>,
    /// Event runs: `completed` or `exception`.
    pub outcome: Option<String>,
    /// Event runs: the exception's message.
    pub message: Option<String>,
}
