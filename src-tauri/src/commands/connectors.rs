//! Connectors on the Overview and in the connector editor.

use provisio_engine::model::{Connector, ConnectorInput, ConnectorSummary, ConnectorType};
use provisio_engine::script_library::Script;
use tauri::State;

use super::{shell_error, CommandResult, ErrorCode};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn list_connectors(state: State<'_, AppState>) -> CommandResult<Vec<ConnectorSummary>> {
    Ok(state.engine.list_connectors().await?)
}

/// A connector as stored: secret parameters are masked.
#[tauri::command]
#[specta::specta]
pub async fn get_connector(state: State<'_, AppState>, reference: String) -> CommandResult<Connector> {
    Ok(state.engine.connector(&reference).await?)
}

/// Creates a connector, or updates the one `reference` names. Parameters
/// arrive as the editor's text: JSONC, checked by the engine's own reader.
#[tauri::command]
#[specta::specta]
pub async fn save_connector(
    state: State<'_, AppState>,
    reference: Option<String>,
    input: ConnectorInput,
) -> CommandResult<Connector> {
    Ok(match reference {
        Some(r) => state.engine.update_connector(&r, input).await?,
        None => state.engine.create_connector(input).await?,
    })
}

/// What a parameter block (as the editor holds it) would not use, and why:
/// the engine's own words, shown under the parameters while they are edited.
#[tauri::command]
#[specta::specta]
pub fn connector_parameter_notes(
    connector_type: ConnectorType,
    parameters: serde_json::Value,
    target: String,
) -> Vec<String> {
    provisio_engine::source::kind::parameter_notes(connector_type, &parameters, &target)
}

#[tauri::command]
#[specta::specta]
pub async fn copy_connector(
    state: State<'_, AppState>,
    reference: String,
    name: Option<String>,
) -> CommandResult<Connector> {
    Ok(state.engine.copy_connector(&reference, name.as_deref()).await?)
}

/// Removes a connector with its tasks; the window lists what goes first.
#[tauri::command]
#[specta::specta]
/// Removes a connector; one whose event tasks workflows still call is refused (naming them) unless `force`.
pub async fn remove_connector(
    state: State<'_, AppState>,
    reference: String,
    force: bool,
) -> CommandResult<Connector> {
    Ok(state.engine.remove_connector(&reference, force).await?)
}

/// One secret parameter's value, read from the keyring when a user asks (Reveal).
#[tauri::command]
#[specta::specta]
pub async fn reveal_secret(
    state: State<'_, AppState>,
    reference: String,
    pointer: String,
) -> CommandResult<String> {
    let values = state.engine.resolved_parameters(&reference).await?;
    match values.expose().pointer(&pointer) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(shell_error(
            ErrorCode::NotFound,
            format!("the connector has no secret parameter at {pointer}; save it first"),
        )),
    }
}

#[tauri::command]
#[specta::specta]
pub async fn list_scripts(state: State<'_, AppState>) -> CommandResult<Vec<Script>> {
    Ok(state.engine.scripts().await?)
}
