//! The Logs tab: the end of the engine's log, and the chosen sources packed into one zip.

use provisio_engine::api::{LogExport, LogLine, LogSelection};
use provisio_engine::model::LogLevel;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn engine_log(
    state: State<'_, AppState>,
    min_level: Option<LogLevel>,
    search: Option<String>,
    limit: u32,
) -> CommandResult<Vec<LogLine>> {
    Ok(state
        .engine
        .engine_log(min_level.map(LogLevel::as_str), search.as_deref(), limit)
        .await?)
}

/// Packs the chosen logs into the zip at `path` (from the native save dialog).
#[tauri::command]
#[specta::specta]
pub async fn export_logs(
    state: State<'_, AppState>,
    path: String,
    selection: LogSelection,
) -> CommandResult<LogExport> {
    let path = state.chosen_path(&path)?;
    Ok(state.engine.export_logs(&path, None, &selection).await?)
}
