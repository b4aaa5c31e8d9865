//! The Scripts tab: the library, a script's source, add (from the native open
//! dialog), copy, replace with a new version, restore, remove, save a copy.

use provisio_engine::script_library::{Script, ScriptKind, ScriptVersion};
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn script_source(state: State<'_, AppState>, name: String) -> CommandResult<String> {
    Ok(state.engine.script_source(&name).await?)
}

/// Adds the file the user chose in the native open dialog; the engine checks its name and kind.
#[tauri::command]
#[specta::specta]
pub async fn add_script(
    state: State<'_, AppState>,
    path: String,
    kind: ScriptKind,
    name: Option<String>,
) -> CommandResult<Script> {
    let path = state.chosen_path(&path)?;
    Ok(state.engine.add_script(&path, kind, name.as_deref()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn copy_script(state: State<'_, AppState>, from: String, to: String) -> CommandResult<Script> {
    Ok(state.engine.copy_script(&from, &to).await?)
}

/// Replaces a custom script with the file chosen in the native open dialog.
#[tauri::command]
#[specta::specta]
pub async fn update_script(state: State<'_, AppState>, name: String, path: String) -> CommandResult<Script> {
    let path = state.chosen_path(&path)?;
    Ok(state.engine.update_script(&name, &path).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn script_versions(state: State<'_, AppState>, name: String) -> CommandResult<Vec<ScriptVersion>> {
    Ok(state.engine.script_versions(&name).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn restore_script(
    state: State<'_, AppState>,
    name: String,
    version: String,
) -> CommandResult<Script> {
    Ok(state.engine.restore_script(&name, &version).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn remove_script(state: State<'_, AppState>, name: String) -> CommandResult<()> {
    Ok(state.engine.remove_script(&name).await?)
}

/// Writes a copy of the script where the native save dialog points.
#[tauri::command]
#[specta::specta]
pub async fn save_script_copy(state: State<'_, AppState>, name: String, path: String) -> CommandResult<()> {
    let path = state.chosen_path(&path)?;
    Ok(state.engine.save_script_copy(&name, &path).await?)
}
