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

/// One field's value checked as the user types: the engine's message, or nothing when it is fine.
#[tauri::command]
#[specta::specta]
pub fn check_setting(state: State<'_, AppState>, name: String, value: String) -> Option<String> {
    state
        .engine
        .check_setting(&name, &value)
        .err()
        .map(|e| e.to_string())
}

/// Saves the changed settings (all are checked before any is saved); returns the new rows.
#[tauri::command]
#[specta::specta]
pub async fn save_settings(
    state: State<'_, AppState>,
    changes: Vec<(String, String)>,
) -> CommandResult<Vec<SettingRow>> {
    state.engine.set_settings(&changes).await?;
    Ok(state.engine.settings_view().await?)
}

/// The Settings tab's "Check" beside the Python interpreter: runs it and reports its version.
#[tauri::command]
#[specta::specta]
pub async fn check_python(
    state: State<'_, AppState>,
    candidate: Option<String>,
) -> CommandResult<provisio_engine::script_host::python::PythonCheck> {
    Ok(state.engine.check_python(candidate.as_deref()).await?)
}
