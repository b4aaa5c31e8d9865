//! The Scripts tab: the library, a script's source, add (from the native open dialog) and copy.

use provisio_engine::script_library::{Script, ScriptKind};
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
    Ok(state
        .engine
        .add_script(std::path::Path::new(&path), kind, name.as_deref())
        .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn copy_script(state: State<'_, AppState>, from: String, to: String) -> CommandResult<Script> {
    Ok(state.engine.copy_script(&from, &to).await?)
}
