//! The audit of configuration changes: who changed what, where, and how.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One field a change (or an import) changes; secret values are never shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// Where a change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    Window,
    #[default]
    Cli,
    WorkflowApi,
}

words! { Surface {
    Window => "window",
    Cli => "cli",
    WorkflowApi => "workflow_api",
} }

/// What kind of thing a change changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum AuditObject {
    Connector,
    Task,
    Script,
    Settings,
    Target,
    ApiToken,
    Template,
    Package,
}

words! { AuditObject {
    Connector => "connector",
    Task => "task",
    Script => "script",
    Settings => "settings",
    Target => "target",
    ApiToken => "api_token",
    Template => "template",
    Package => "package",
} }

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    /// The operating-system user the change was made as.
    pub os_user: String,
    pub surface: Surface,
    pub object: AuditObject,
    /// The object's name (`CONNECTOR/TASK` for a task).
    pub name: String,
    /// `create`, `update`, `copy`, `remove`, `import`, `clear_cache`, …
    pub action: String,
    /// Field by field, secrets masked.
    pub changes: Vec<FieldChange>,
}
