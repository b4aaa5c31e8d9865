//! Scheduled and event tasks: the task tables and the task editor.

use provisio_engine::model::{RunType, Task, TaskInput, TaskSummary};
use provisio_engine::scheduler::preview::SchedulePreview;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn list_tasks(
    state: State<'_, AppState>,
    connector: Option<String>,
) -> CommandResult<Vec<TaskSummary>> {
    Ok(state.engine.list_tasks(connector.as_deref()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn get_task(state: State<'_, AppState>, reference: String) -> CommandResult<Task> {
    Ok(state.engine.task(&reference).await?)
}

/// Creates a task on `connector`, or updates the one `reference` names.
#[tauri::command]
#[specta::specta]
pub async fn save_task(
    state: State<'_, AppState>,
    connector: String,
    reference: Option<String>,
    input: TaskInput,
) -> CommandResult<Task> {
    Ok(match reference {
        Some(r) => state.engine.update_task(&r, input).await?.task,
        None => state.engine.create_task(&connector, input).await?,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn copy_task(
    state: State<'_, AppState>,
    reference: String,
    name: Option<String>,
) -> CommandResult<Task> {
    Ok(state.engine.copy_task(&reference, name.as_deref()).await?)
}

#[tauri::command]
#[specta::specta]
/// Removes a task; one that workflows still call is refused (naming them) unless `force`.
pub async fn remove_task(state: State<'_, AppState>, reference: String, force: bool) -> CommandResult<Task> {
    Ok(state.engine.remove_task(&reference, force).await?)
}

/// The run type and limits a connector sets for its tasks (HR), shown read-only in the task editor.
#[tauri::command]
#[specta::specta]
pub async fn connector_task_settings(
    state: State<'_, AppState>,
    connector: String,
) -> CommandResult<Option<provisio_engine::api::ConnectorTaskSettings>> {
    Ok(state.engine.connector_task_settings(&connector).await?)
}

/// What saving `input` over the task would break (workflows calling it), asked before Save.
#[tauri::command]
#[specta::specta]
pub async fn task_change_warnings(
    state: State<'_, AppState>,
    reference: String,
    input: TaskInput,
) -> CommandResult<Vec<String>> {
    Ok(state.engine.task_change_warnings(&reference, &input).await?)
}

/// The mandatory fields the editor's task still lacks (Save stays disabled until none).
#[tauri::command]
#[specta::specta]
pub fn missing_task_fields(state: State<'_, AppState>, input: TaskInput) -> Vec<String> {
    state.engine.missing_task_fields(&input)
}

/// The next five fire times by the scheduler's own timing code, and the frequency advice.
#[tauri::command]
#[specta::specta]
pub async fn schedule_preview(
    state: State<'_, AppState>,
    schedule: String,
    timezone: String,
    run_type: RunType,
    task: Option<String>,
) -> CommandResult<SchedulePreview> {
    Ok(state
        .engine
        .schedule_preview(&schedule, &timezone, run_type, task.as_deref())
        .await?)
}
