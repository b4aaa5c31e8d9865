//! Tokens of the workflow API: what a caller presents, stored only as a hash.

use serde::Serialize;

/// A token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ApiToken {
    pub name: String,
    /// Tasks (`CONNECTOR/TASK`) it may call; `None`: every task.
    pub tasks: Option<Vec<String>>,
    /// The ids of those tasks.
    #[serde(skip)]
    #[specta(skip)]
    pub task_ids: Option<Vec<String>>,
    pub created_at: String,
    pub last_used: Option<String>,
}

impl ApiToken {
    /// Whether this token may call the task with this id.
    pub fn may_call(&self, task_id: &str) -> bool {
        self.task_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|i| i == task_id))
    }
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct NewApiToken {
    pub token: String,
    #[serde(flatten)]
    pub info: ApiToken,
}
