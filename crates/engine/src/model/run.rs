//! One execution of a task, with what each stage did.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum RunTrigger {
    Schedule,
    Manual,
    Api,
    CatchUp,
}

words! { RunTrigger {
    Schedule => "schedule",
    Manual => "manual",
    Api => "api",
    CatchUp => "catch-up",
} }

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
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

words! { RunStatus {
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Interrupted => "interrupted",
    Stopped => "stopped",
    Skipped => "skipped",
} }

/// A run of a scheduled task, or an event task's invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Scheduled,
    Event,
}

words! { RunKind {
    Scheduled => "scheduled",
    Event => "event",
} }

/// Where a running run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum RunStage {
    /// Recorded, waiting for its process to take it.
    Queued,
    /// The source is producing records (the script runs).
    Extract,
    /// Records are validated and compared with the cache.
    Validate,
    /// Changes are written into the target (guard and commit included).
    Load,
    /// The HR connector's run report is written to the target, with its attachments.
    Report,
}

words! { RunStage {
    Queued => "queued",
    Extract => "extract",
    Validate => "validate",
    Load => "load",
    Report => "report",
} }

/// What a run read: everything, only what changed since the last
/// successful extract, or (event tasks) one datacard's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    Full,
    Incremental,
    /// An HR run that loads only rows changed since the archived previous file.
    Partial,
    Event,
    /// A skipped run read nothing.
    #[serde(rename = "-")]
    NotRun,
}

words! { RunMode {
    Full => "full",
    Incremental => "incremental",
    Partial => "partial",
    Event => "event",
    NotRun => "-",
} }

/// What helps an interrupted scheduled run: one rule for the CLI's hint and
/// the window's alert actions ([`crate::Engine::interruption_help`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum InterruptionHelp {
    /// The update limit stopped it: review the planned changes, approve them once.
    ApprovePlan,
    /// The minimum row count stopped it: the plan can be reviewed, but
    /// approving cannot lift the minimum; deliver the whole file or lower it.
    ReviewPlan,
    /// Something to correct first (several files, no archive, no file,
    /// parameters); the run's message says what. Approving would only be
    /// interrupted again.
    Fix,
}

/// How an event script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum EventOutcomeKind {
    Completed,
    Exception,
}

words! { EventOutcomeKind {
    Completed => "completed",
    Exception => "exception",
} }

/// What a file in a run's directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum RunFileKind {
    Args,
    Output,
    Error,
    ScriptLog,
    Log,
    Plan,
    Changes,
    Blocked,
    /// Cards the target refused, with reasons.
    Failed,
}

words! { RunFileKind {
    Args => "args",
    Output => "output",
    Error => "error",
    ScriptLog => "script-log",
    Log => "log",
    Plan => "plan",
    Changes => "changes",
    Blocked => "blocked",
    Failed => "failed",
} }

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Running,
    Succeeded,
    Failed,
    Interrupted,
    Stopped,
    Skipped,
}

words! { StageStatus {
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Interrupted => "interrupted",
    Stopped => "stopped",
    Skipped => "skipped",
} }

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct StageReport {
    pub status: Option<StageStatus>,
    pub started: Option<String>,
    pub completed: Option<String>,
    pub info: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RunFile {
    pub kind: RunFileKind,
    pub path: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Run {
    pub id: String,
    pub task_id: String,
    pub task: String,
    pub kind: RunKind,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    /// Where a running run is.
    pub stage: Option<RunStage>,
    /// The stage a run that failed, was interrupted or was stopped ended in.
    #[serde(default)]
    pub ended_in: Option<RunStage>,
    pub planned_at: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub run_type: RunMode,
    pub extract: StageReport,
    pub load: StageReport,
    pub counts: RunCounts,
    pub files: Vec<RunFile>,
    /// Event runs: how the script ended.
    pub outcome: Option<EventOutcomeKind>,
    /// Event runs: the exception's message.
    pub message: Option<String>,
    /// Read event runs: the values the script read, by template attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub returned: Option<serde_json::Value>,
}
