//! The Authentication tab: a directory connector's authentication tasks and the login test.

use provisio_engine::model::{AuthTaskInput, LoginVerdict, Task, TaskSummary};
use provisio_engine::secrets::Sensitive;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn list_auth_tasks(
    state: State<'_, AppState>,
    connector: Option<String>,
) -> CommandResult<Vec<TaskSummary>> {
    Ok(state.engine.list_auth_tasks(connector.as_deref()).await?)
}

/// One authentication task as its editor shows it (`AUTH.json`).
#[tauri::command]
#[specta::specta]
pub async fn get_auth_task(state: State<'_, AppState>, reference: String) -> CommandResult<AuthTaskInput> {
    Ok(state.engine.auth_task(&reference).await?)
}

/// Creates an authentication task on `connector`, or updates the one `reference` names.
#[tauri::command]
#[specta::specta]
pub async fn save_auth_task(
    state: State<'_, AppState>,
    connector: String,
    reference: Option<String>,
    input: AuthTaskInput,
) -> CommandResult<Task> {
    Ok(match reference {
        Some(r) => state.engine.update_auth_task(&r, input).await?.task,
        None => state.engine.create_auth_task(&connector, input).await?,
    })
}

/// "Test connection" of a saved directory connector.
#[tauri::command]
#[specta::specta]
pub async fn test_connector(
    state: State<'_, AppState>,
    reference: String,
) -> CommandResult<provisio_engine::model::DirectoryCheck> {
    Ok(state.engine.test_connector(&reference).await?)
}

/// Whether `login` may log in through the task; the password is used for one bind and dropped.
#[tauri::command]
#[specta::specta]
pub async fn test_login(
    state: State<'_, AppState>,
    reference: String,
    login: String,
    password: String,
) -> CommandResult<LoginVerdict> {
    let password = Sensitive::new(password);
    Ok(state.engine.test_login(&reference, &login, &password).await?)
}
