use provisio_engine::model::Settings;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>) -> CommandResult<Settings> {
    Ok(state.engine.settings().await?)
}
