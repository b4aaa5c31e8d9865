//! Targets in the Settings tab: list, add (logs in first), test connection, remove.

use provisio_engine::model::{TargetCheck, TargetInfo, TargetInput};
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn list_targets(state: State<'_, AppState>) -> CommandResult<Vec<TargetInfo>> {
    Ok(state.engine.targets().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn add_target(state: State<'_, AppState>, input: TargetInput) -> CommandResult<TargetCheck> {
    Ok(state.engine.add_target(input).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn test_target(state: State<'_, AppState>, name: String) -> CommandResult<TargetCheck> {
    Ok(state.engine.test_target(&name).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn remove_target(state: State<'_, AppState>, name: String) -> CommandResult<TargetInfo> {
    Ok(state.engine.remove_target(&name).await?)
}
