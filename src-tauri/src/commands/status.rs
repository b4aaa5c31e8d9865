use provisio_engine::api::EngineStatus;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn engine_status(state: State<'_, AppState>) -> CommandResult<EngineStatus> {
    let mut status = state.engine.status().await?;
    status.scheduler = Some(state.scheduling.borrow().clone());
    Ok(status)
}
