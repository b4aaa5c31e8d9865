//! Run now, Stop, Clear data cache, history, a run's detail and files, and
//! the event task's Test panel.

use provisio_engine::api::PlannedChanges;
use provisio_engine::model::{InterruptionHelp, Run, RunFileKind, RunTrigger, Task};
use tauri::State;

use super::{shell_error, CommandResult, ErrorCode};
use crate::state::AppState;

/// Starts a run and returns at once; its progress arrives as `RunProgress` events.
#[tauri::command]
#[specta::specta]
pub async fn run_now(state: State<'_, AppState>, task: String) -> CommandResult<Run> {
    let run = state.engine.create_run(&task, RunTrigger::Manual).await?;
    let engine = state.engine.clone();
    let id = run.id.clone();
    tauri::async_runtime::spawn(async move {
        // The run's own row records how it ended; the engine log has the rest.
        let _ = engine.execute_run(&id, false).await;
    });
    Ok(run)
}

/// Asks the task's running runs to stop; returns their ids.
#[tauri::command]
#[specta::specta]
pub async fn stop_task(state: State<'_, AppState>, task: String) -> CommandResult<Vec<String>> {
    Ok(state.engine.stop_task(&task).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn clear_cache(state: State<'_, AppState>, task: String) -> CommandResult<Task> {
    Ok(state.engine.clear_cache(&task).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn task_history(state: State<'_, AppState>, task: String, limit: u32) -> CommandResult<Vec<Run>> {
    Ok(state.engine.history(&task, limit).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn get_run(state: State<'_, AppState>, id: String) -> CommandResult<Run> {
    Ok(state.engine.run(&id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn run_log(state: State<'_, AppState>, id: String) -> CommandResult<String> {
    Ok(state.engine.run_detail_log(&id).await?)
}

/// Copies one of a run's files to where the user chose in the native save
/// dialog. The file is named by its kind, and its path comes from the run's
/// own record; the destination is the user's own choice.
#[tauri::command]
#[specta::specta]
pub async fn save_run_file(
    state: State<'_, AppState>,
    id: String,
    kind: RunFileKind,
    destination: String,
) -> CommandResult<u64> {
    state.chosen_path(&destination)?;
    let run = state.engine.run(&id).await?;
    let listed = run
        .files
        .iter()
        .find(|f| f.kind == kind)
        .ok_or_else(|| shell_error(ErrorCode::NotFound, format!("run {id} has no {kind} file")))?;
    std::fs::copy(&listed.path, &destination).map_err(|e| {
        shell_error(
            ErrorCode::Io,
            format!("cannot save the {kind} file to {destination}: {e}; choose a folder you can write to"),
        )
    })
}

/// The Test panel: invokes an event task with the values typed in the window.
#[tauri::command]
#[specta::specta]
pub async fn invoke_event(
    state: State<'_, AppState>,
    task: String,
    values: serde_json::Value,
) -> CommandResult<Run> {
    Ok(state
        .engine
        .invoke_event(&task, &values, Some("desktop test panel"))
        .await?)
}

/// The progress of a task's running run started by any process on the data
/// directory (`provisio serve`, another window): the window polls it when no
/// event of its own tells.
#[tauri::command]
#[specta::specta]
pub async fn live_progress(
    state: State<'_, AppState>,
    task_id: String,
) -> CommandResult<Option<provisio_engine::progress::RunProgress>> {
    Ok(state.engine.live_progress(&task_id).await?)
}

/// What helps a run (the review its detail offers), without reading its plan's cards.
#[tauri::command]
#[specta::specta]
pub async fn run_help(state: State<'_, AppState>, run_id: String) -> CommandResult<Option<InterruptionHelp>> {
    Ok(state.engine.run_help(&run_id).await?)
}

/// What an interrupted run planned (its alert's "Review and approve").
#[tauri::command]
#[specta::specta]
pub async fn planned_changes(state: State<'_, AppState>, run_id: String) -> CommandResult<PlannedChanges> {
    Ok(state.engine.planned_changes(&run_id).await?)
}

/// Approves an interrupted run's plan once: runs its task again with the
/// limits that stopped it lifted for that run (the CLI's `task run --approve`).
#[tauri::command]
#[specta::specta]
pub async fn approve_run(state: State<'_, AppState>, run_id: String) -> CommandResult<Run> {
    // Refused unless approving can help: an interrupted scheduled run stopped by the update limit.
    let run = state.engine.approve_run(&run_id).await?;
    let engine = state.engine.clone();
    let id = run.id.clone();
    tauri::async_runtime::spawn(async move {
        let _ = engine.execute_run(&id, true).await;
    });
    Ok(run)
}

/// Applies once the removals a run held over its update limit (`on_limit: hold_excess`;
/// the CLI's `run apply-held`).
#[tauri::command]
#[specta::specta]
pub async fn apply_held(state: State<'_, AppState>, run_id: String) -> CommandResult<Run> {
    Ok(state.engine.apply_held(&run_id).await?)
}

/// Whether the journal holds changes of a run (a failed run into a remote target may have some).
#[tauri::command]
#[specta::specta]
pub async fn run_undoable(state: State<'_, AppState>, run_id: String) -> CommandResult<bool> {
    Ok(state.engine.run_undoable(&run_id).await?)
}

/// Plans (`dry_run`) or applies the undo of a run (local store or ESM target); conflicts only with `force`.
#[tauri::command]
#[specta::specta]
pub async fn undo_run(
    state: State<'_, AppState>,
    run_id: String,
    dry_run: bool,
    force: bool,
) -> CommandResult<provisio_engine::model::UndoPlan> {
    Ok(state.engine.undo_run(&run_id, dry_run, force, &[]).await?)
}
