//! Scheduled tasks (read from the source into the target) and event tasks
//! (write to the source when a workflow asks).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(rename_all = "lowercase")]
pub enum TaskUsage {
    #[default]
    Scheduled,
    Event,
    /// A directory connector's task that lists who may log in to the solution (it runs on a schedule).
    Authentication,
}

words! { TaskUsage {
    Scheduled => "scheduled",
    Event => "event",
    Authentication => "authentication",
} }

impl TaskUsage {
    /// Whether tasks of this usage read on a schedule (and have runs, history and a cache).
    pub fn runs_on_schedule(self) -> bool {
        matches!(self, TaskUsage::Scheduled | TaskUsage::Authentication)
    }
}

/// What an event task does with the backend (the seed's task usage): `write`
/// completes or raises; `read` hands the attributes it read back to the
/// workflow (and, when the invocation names a card, writes them to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(rename_all = "lowercase")]
pub enum EventUsage {
    #[default]
    Write,
    Read,
}

words! { EventUsage {
    Write => "write",
    Read => "read",
} }

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(rename_all = "lowercase")]
pub enum RunType {
    #[default]
    Full,
    Incremental,
}

words! { RunType {
    Full => "full",
    Incremental => "incremental",
} }

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(rename_all = "lowercase")]
pub enum MappingsType {
    /// One template.
    #[default]
    Generic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Mapping {
    pub source: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct FailureSettings {
    pub template: String,
    pub folder: String,
    pub attribute: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RemovalSettings {
    pub status_attribute: String,
    pub removed_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(default)]
pub struct Limits {
    pub update_limit: Option<u64>,
    pub override_update_limit: bool,
    pub minimum_row_count: Option<u64>,
    /// What a run does when its changes exceed `update_limit`.
    pub on_limit: OnLimit,
}

/// What a run does when its changes exceed the update limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnLimit {
    /// Load nothing and wait for a person (the manual's behaviour).
    #[default]
    Interrupt,
    /// Load the rest and hold what exceeds the limit for a person to approve:
    /// the removals when they take the run over (the new and changed cards
    /// load), or the changed cards with the removals when those do (the new
    /// cards load); a run whose new cards alone exceed it is interrupted.
    HoldExcess,
}

/// A caller that invoked (or was declared to invoke) an event task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct WorkflowReference {
    pub caller: String,
    pub first_used: Option<String>,
    pub last_used: Option<String>,
    pub count: u64,
    pub declared: bool,
}

/// What a directory connector's scheduled task reads: the entries of its
/// connector's `user_filter` or of its `group_filter`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum DirectoryObjects {
    #[default]
    Users,
    Groups,
}

/// What a directory connector's event task does with the entry its
/// invocation names (`dn`; `group_dn` for memberships; `password` for a reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryOperation {
    CreateUser,
    UpdateAttributes,
    Enable,
    Disable,
    AddToGroup,
    RemoveFromGroup,
    ResetPassword,
    Delete,
    /// Reads: hand the entry's mapped attributes back to the workflow.
    VerifyUser,
    VerifyGroup,
    /// Reads: `is_member` true or false.
    VerifyMembership,
}

words! { DirectoryOperation {
    CreateUser => "create_user",
    UpdateAttributes => "update_attributes",
    Enable => "enable",
    Disable => "disable",
    AddToGroup => "add_to_group",
    RemoveFromGroup => "remove_from_group",
    ResetPassword => "reset_password",
    Delete => "delete",
    VerifyUser => "verify_user",
    VerifyGroup => "verify_group",
    VerifyMembership => "verify_membership",
} }

/// What an authentication task lets in: the users its filter (and group)
/// select, logging in with `login_attribute` to `realm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AuthenticationSettings {
    /// The solution's login realm. Never exported: an imported task arrives with it empty, disabled.
    pub realm: String,
    /// Replaces the connector's `user_filter` for this task when set.
    #[specta(optional)]
    pub user_filter: Option<String>,
    /// Only this group's members may log in.
    #[specta(optional)]
    pub group_dn: Option<String>,
    /// The attribute users log in with (`uid`, `sAMAccountName`, `mail`).
    pub login_attribute: String,
}

/// The answer of `auth-task test`: would the solution's login page let this login in?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LoginVerdict {
    pub allowed: bool,
    /// Why, in the words a user reads (never the password).
    pub reason: String,
    /// The entry the login names, when one was found.
    pub dn: Option<String>,
}

/// `AUTH.json`: an authentication task as a user writes it (JSONC accepted).
#[derive(Debug, Clone, Default, Deserialize, Serialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct AuthTaskInput {
    #[specta(optional)]
    pub name: Option<String>,
    #[specta(optional)]
    pub realm: Option<String>,
    #[specta(optional)]
    pub user_filter: Option<String>,
    #[specta(optional)]
    pub group_dn: Option<String>,
    #[specta(optional)]
    pub login_attribute: Option<String>,
    /// Default: true when a realm is set.
    #[specta(optional)]
    pub enabled: Option<bool>,
    /// Default: every 15 minutes.
    #[specta(optional)]
    pub schedule: Option<String>,
    #[specta(optional)]
    pub timezone: Option<String>,
    /// Default: the built-in `auth_user` template and `auth_users` folder.
    #[specta(optional)]
    pub target_template: Option<String>,
    #[specta(optional)]
    pub target_folder: Option<String>,
}

/// The run type and limits a connector sets for all its tasks (HR), and where they come from.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ConnectorTaskSettings {
    /// `full` or `partial`.
    pub run_type: String,
    pub limits: Limits,
    /// Where a user changes them.
    pub source: String,
}

/// A stored, validated task. Scheduled-only fields are `None` on event tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
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
    /// Directory connectors: whether the task reads users or groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub directory_objects: Option<DirectoryObjects>,
    /// Directory connectors' event tasks: what the invocation does in the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub directory_operation: Option<DirectoryOperation>,
    /// Authentication tasks: who may log in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub authentication: Option<AuthenticationSettings>,
    /// Scheduled tasks: an alert when no run succeeded for this long (`90m`, `26h`, `3d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub stale_after: Option<String>,
    /// Up to three template attributes shown beside a card's key wherever a
    /// person decides about the task's cards (the review of a plan, the
    /// undo of a run), to tell whose each is. Empty: the mapped fields,
    /// names first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[specta(optional)]
    pub display_fields: Vec<String>,
    pub references: Vec<WorkflowReference>,
    pub created_at: String,
    pub updated_at: String,
    /// When the schedule fires next (enabled scheduled tasks); computed, not stored.
    #[serde(default)]
    pub next_run: Option<String>,
}

/// `TASK.json` as a user writes it (JSONC accepted). All optional, so that
/// every missing mandatory field is reported at once.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    #[specta(optional)]
    pub name: Option<String>,
    #[specta(optional)]
    pub usage: Option<TaskUsage>,
    #[specta(optional)]
    pub event_usage: Option<EventUsage>,
    #[specta(optional)]
    pub enabled: Option<bool>,
    #[specta(optional)]
    pub schedule: Option<String>,
    #[specta(optional)]
    pub timezone: Option<String>,
    #[specta(optional)]
    pub run_type: Option<RunType>,
    #[specta(optional)]
    pub mappings_type: Option<MappingsType>,
    #[specta(optional)]
    pub object_id_attribute: Option<String>,
    #[specta(optional)]
    pub target_template: Option<String>,
    #[specta(optional)]
    pub target_folder: Option<String>,
    #[specta(optional)]
    pub task_id_attribute: Option<String>,
    #[specta(optional)]
    pub data_source_type_attribute: Option<String>,
    #[specta(optional)]
    pub mappings: Option<Vec<Mapping>>,
    #[specta(optional)]
    pub failure: Option<FailureSettings>,
    #[specta(optional)]
    pub removal: Option<RemovalSettings>,
    #[specta(optional)]
    pub limits: Option<Limits>,
    #[specta(optional)]
    pub heartbeat_timeout: Option<u64>,
    #[specta(optional)]
    pub max_runtime: Option<u64>,
    /// Directory connectors: `users` (default) or `groups`.
    #[specta(optional)]
    pub directory_objects: Option<DirectoryObjects>,
    /// Directory connectors' event tasks: what an invocation does.
    #[specta(optional)]
    pub directory_operation: Option<DirectoryOperation>,
    /// Authentication tasks: who may log in (`auth-task` writes it from `AUTH.json`).
    #[specta(optional)]
    pub authentication: Option<AuthenticationSettings>,
    /// Scheduled tasks: an alert when no run succeeded for this long (`90m`, `26h`, `3d`).
    #[specta(optional)]
    pub stale_after: Option<String>,
    /// Up to three template attributes that tell whose a card is (see [`Task::display_fields`]).
    #[specta(optional)]
    pub display_fields: Option<Vec<String>>,
    /// Callers declared by hand (event tasks).
    #[serde(default)]
    #[specta(optional)]
    pub declared_callers: Vec<String>,
    // Read-only fields of `task show --json`, accepted so its output can be edited and fed back.
    #[specta(optional)]
    pub id: Option<String>,
    #[specta(optional)]
    pub connector_id: Option<String>,
    #[specta(optional)]
    pub connector_name: Option<String>,
    #[specta(optional)]
    pub references: Option<serde_json::Value>,
    #[specta(optional)]
    pub created_at: Option<String>,
    #[specta(optional)]
    pub updated_at: Option<String>,
    #[specta(optional)]
    pub next_run: Option<serde_json::Value>,
}

/// One row of a task table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
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
    /// The latest run that ended (skipped ones aside); `None` before the first.
    pub last_run: Option<LastRun>,
}

/// How a task's latest ended run went: what the Overview's status columns show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LastRun {
    pub run_id: String,
    pub status: crate::model::RunStatus,
    pub extract: Option<crate::model::StageStatus>,
    pub load: Option<crate::model::StageStatus>,
    pub started_at: String,
    /// Records the run fetched: what the schedule advice weighs.
    pub fetched: u64,
}
