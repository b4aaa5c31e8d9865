//! The Data tab: templates, folders and datacards of the local store.

use provisio_engine::model::{Folder, Template};
use provisio_engine::store::Datacard;
use tauri::State;

use super::CommandResult;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn list_templates(
    state: State<'_, AppState>,
    target: Option<String>,
) -> CommandResult<Vec<Template>> {
    Ok(state.engine.templates(target.as_deref()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn list_folders(state: State<'_, AppState>, target: Option<String>) -> CommandResult<Vec<Folder>> {
    Ok(state.engine.folders(target.as_deref()).await?)
}

/// One page of the Data tab: up to `limit` cards of a template (in a folder)
/// with an id above `after`; with `search`, those it finds among all of them
/// (the id, or a value holding it).
#[tauri::command]
#[specta::specta]
pub async fn list_datacards(
    state: State<'_, AppState>,
    template: String,
    folder: Option<String>,
    search: Option<String>,
    after: Option<i64>,
    limit: u32,
) -> CommandResult<Vec<Datacard>> {
    let (folder, search) = (folder.as_deref(), search.as_deref());
    Ok(state
        .engine
        .datacards_page(&template, folder, search, after, limit)
        .await?)
}

/// Why a card is as it is: the journal's changes of it, newest first ("History of card").
#[tauri::command]
#[specta::specta]
pub async fn datacard_history(
    state: State<'_, AppState>,
    card: i64,
) -> CommandResult<Vec<provisio_engine::model::CardChange>> {
    Ok(state.engine.datacard_history(card).await?)
}
