use provisio_engine::api::EngineStatus;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
pub async fn engine_status(state: State<'_, AppState>) -> CommandResult<EngineStatus> {
    Ok(state.engine.status().await?)
}
