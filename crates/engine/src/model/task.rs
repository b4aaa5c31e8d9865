//! Scheduled tasks (read from the source into the target) and event tasks
//! (write to the source when a workflow asks).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum TaskUsage {
    #[default]
    Scheduled,
    Event,
}

words! { TaskUsage {
    Scheduled => "scheduled",
    Event => "event",
} }

/// What an event task does with the backend (the seed's task usage): `write`
/// completes or raises; `read` hands the attributes it read back to the
/// workflow (and, when the invocation names a card, writes them to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum EventUsage {
    #[default]
    Write,
    Read,
}

words! { EventUsage {
    Write => "write",
    Read => "read",
} }

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum RunType {
    #[default]
    Full,
    Incremental,
}

words! { RunType {
    Full => "full",
    Incremental => "incremental",
} }

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum MappingsType {
    /// One template.
    #[default]
    Generic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Mapping {
    pub source: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct FailureSettings {
    pub template: String,
    pub folder: String,
    pub attribute: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RemovalSettings {
    pub status_attribute: String,
    pub removed_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(default)]
#[ts(export)]
pub struct Limits {
    pub update_limit: Option<u64>,
    pub override_update_limit: bool,
    pub minimum_row_count: Option<u64>,
}

/// A caller that invoked (or was declared to invoke) an event task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WorkflowReference {
    pub caller: String,
    pub first_used: Option<String>,
    pub last_used: Option<String>,
    pub count: u64,
    pub declared: bool,
}

/// A stored, validated task. Scheduled-only fields are `None` on event tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Task {
    pub id: String,
    pub connector_id: String,
    pub connector_name: String,
    pub name: String,
    pub usage: TaskUsage,
    /// Event tasks: `write` (default) or `read`.
    #[serde(default)]
    pub event_usage: EventUsage,
    pub enabled: bool,
    pub schedule: Option<String>,
    pub timezone: String,
    pub run_type: RunType,
    pub mappings_type: MappingsType,
    pub object_id_attribute: Option<String>,
    pub target_template: String,
    pub target_folder: String,
    pub task_id_attribute: Option<String>,
    pub data_source_type_attribute: Option<String>,
    pub mappings: Vec<Mapping>,
    pub failure: Option<FailureSettings>,
    pub removal: Option<RemovalSettings>,
    pub limits: Limits,
    /// Seconds without a heartbeat after which a script is stopped.
    pub heartbeat_timeout: u64,
    /// Seconds a run may take at most; `None` for no limit.
    pub max_runtime: Option<u64>,
    pub references: Vec<WorkflowReference>,
    pub created_at: String,
    pub updated_at: String,
    /// When the schedule fires next (enabled scheduled tasks); computed, not stored.
    #[serde(default)]
    pub next_run: Option<String>,
}

/// `TASK.json` as a user writes it (JSONC accepted). All optional, so that
/// every missing mandatory field is reported at once.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub name: Option<String>,
    pub usage: Option<TaskUsage>,
    pub event_usage: Option<EventUsage>,
    pub enabled: Option<bool>,
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    pub run_type: Option<RunType>,
    pub mappings_type: Option<MappingsType>,
    pub object_id_attribute: Option<String>,
    pub target_template: Option<String>,
    pub target_folder: Option<String>,
    pub task_id_attribute: Option<String>,
    pub data_source_type_attribute: Option<String>,
    pub mappings: Option<Vec<Mapping>>,
    pub failure: Option<FailureSettings>,
    pub removal: Option<RemovalSettings>,
    pub limits: Option<Limits>,
    pub heartbeat_timeout: Option<u64>,
    pub max_runtime: Option<u64>,
    /// Callers declared by hand (event tasks).
    #[serde(default)]
    pub declared_callers: Vec<String>,
    // Read-only fields of `task show --json`, accepted so its output can be edited and fed back.
    pub id: Option<String>,
    pub connector_id: Option<String>,
    pub connector_name: Option<String>,
    pub references: Option<serde_json::Value>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub next_run: Option<serde_json::Value>,
}

/// One row of a task table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TaskSummary {
    pub id: String,
    pub connector_id: String,
    pub connector_name: String,
    pub name: String,
    pub usage: TaskUsage,
    pub enabled: bool,
    pub schedule: Option<String>,
    pub timezone: String,
    pub target_template: String,
    pub reference_count: u32,
    pub next_run: Option<String>,
}
