//! Workflow API tokens in the Settings tab: list, create (shown once), revoke.

use provisio_engine::model::{ApiToken, NewApiToken};
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn list_api_tokens(state: State<'_, AppState>) -> CommandResult<Vec<ApiToken>> {
    Ok(state.engine.api_tokens().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn create_api_token(
    state: State<'_, AppState>,
    name: String,
    tasks: Vec<String>,
) -> CommandResult<NewApiToken> {
    Ok(state.engine.create_api_token(&name, &tasks).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn revoke_api_token(state: State<'_, AppState>, name: String) -> CommandResult<()> {
    Ok(state.engine.revoke_api_token(&name).await?)
}
