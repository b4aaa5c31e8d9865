//! Alerts: failed and interrupted runs, newest first; acknowledge.

use provisio_engine::model::Alert;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn list_alerts(state: State<'_, AppState>, limit: u32) -> CommandResult<Vec<Alert>> {
    Ok(state.engine.alerts(limit).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn acknowledge_alert(state: State<'_, AppState>, id: i64) -> CommandResult<()> {
    Ok(state.engine.acknowledge_alert(id).await?)
}
