use provisio_engine::model::Settings;
use provisio_engine::rules::settings::SettingRow;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn get_settings(state: State<'_, AppState>) -> CommandResult<Settings> {
    Ok(state.engine.settings().await?)
}

/// Every setting with its definition and value: the Settings tab renders these rows.
#[tauri::command]
#[specta::specta]
pub async fn settings_view(state: State<'_, AppState>) -> CommandResult<Vec<SettingRow>> {
    Ok(state.engine.settings_view().await?)
}
