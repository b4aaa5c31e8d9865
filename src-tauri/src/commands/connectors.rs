use provisio_engine::model::{ConnectorSummary, TaskSummary};
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
pub async fn list_connectors(state: State<'_, AppState>) -> CommandResult<Vec<ConnectorSummary>> {
    Ok(state.engine.list_connectors().await?)
}

#[tauri::command]
pub async fn list_tasks(
    state: State<'_, AppState>,
    connector: Option<String>,
) -> CommandResult<Vec<TaskSummary>> {
    Ok(state.engine.list_tasks(connector.as_deref()).await?)
}
