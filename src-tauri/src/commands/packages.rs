//! Export and import of packages from the window: the same engine calls as
//! `provisio export` / `provisio import`, the plan first and Apply second.

use provisio_engine::package::{ExportSummary, ImportPlan, MIN_PASSWORD_LEN};
use provisio_engine::secrets::Sensitive;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

/// The shortest password a package takes (the engine refuses shorter ones).
#[tauri::command]
#[specta::specta]
pub fn package_password_min_length() -> u32 {
    MIN_PASSWORD_LEN as u32
}

/// Writes the chosen connectors (by id) into the package at `path`, chosen in the native save dialog.
#[tauri::command]
#[specta::specta]
pub async fn export_package(
    state: State<'_, AppState>,
    path: String,
    password: String,
    connector_ids: Vec<String>,
) -> CommandResult<ExportSummary> {
    let path = state.chosen_path(&path)?;
    let password = Sensitive::new(password);
    Ok(state
        .engine
        .export_package(&path, &password, Some(&connector_ids))
        .await?)
}

/// Reads and checks the package and returns what importing it would do; nothing is applied.
#[tauri::command]
#[specta::specta]
pub async fn import_plan(
    state: State<'_, AppState>,
    path: String,
    password: String,
) -> CommandResult<ImportPlan> {
    import(&state, &path, password, true).await
}

/// Applies the package at once (the engine checks it again first; a refusal applies nothing).
#[tauri::command]
#[specta::specta]
pub async fn apply_import(
    state: State<'_, AppState>,
    path: String,
    password: String,
) -> CommandResult<ImportPlan> {
    import(&state, &path, password, false).await
}

async fn import(state: &AppState, path: &str, password: String, dry_run: bool) -> CommandResult<ImportPlan> {
    let path = state.chosen_path(path)?;
    let password = Sensitive::new(password);
    Ok(state.engine.import_package(&path, &password, dry_run).await?)
}
