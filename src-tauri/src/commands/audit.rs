//! The Audit tab: recorded configuration changes.

use provisio_engine::model::AuditEntry;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

/// Recorded changes, newest first: since a date, mentioning a text.
#[tauri::command]
#[specta::specta]
pub async fn list_audit(
    state: State<'_, AppState>,
    since: Option<String>,
    text: Option<String>,
    limit: u32,
) -> CommandResult<Vec<AuditEntry>> {
    Ok(state
        .engine
        .audit(since.as_deref(), text.as_deref(), limit)
        .await?)
}
