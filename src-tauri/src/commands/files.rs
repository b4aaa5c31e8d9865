//! Files the user chose. The native open and save dialogs are opened from
//! here, not from the webview, and every path they return is remembered for
//! this session. Commands that read or write a path accept only such a path
//! (or one inside the data directory): code running in the webview cannot
//! name any other file on the machine.
//!
//! The end-to-end tests cannot drive a native dialog through WebDriver. A
//! build with the `e2e-dialogs` feature (tools/test.sh's, never the
//! installed package) takes a one-time answer instead: when the app was
//! started with `PROVISIO_TEST_DIALOG_ANSWER` naming a file, that file's
//! content (a path) is the answer, used once. The answer is remembered like
//! a real choice.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;

use super::{shell_error, CommandResult, ErrorCode};
use crate::state::AppState;

/// A filter of a file dialog: "Package" with `["zip"]`.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct FileFilter {
    pub name: String,
    pub extensions: Vec<String>,
}

/// Opens the native dialog to choose a file to read; `None` when cancelled.
#[tauri::command]
#[specta::specta]
pub async fn choose_file_to_open(
    app: AppHandle,
    state: State<'_, AppState>,
    title: String,
    filters: Vec<FileFilter>,
) -> CommandResult<Option<String>> {
    let chosen = match test_answer() {
        Some(answer) => Some(answer),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            dialog(&app, &title, &filters).pick_file(move |p| {
                let _ = tx.send(p.and_then(|p| p.into_path().ok()));
            });
            rx.await.ok().flatten()
        }
    };
    Ok(chosen.map(|p| state.remember(p)))
}

/// Opens the native dialog to choose where to write; `None` when cancelled.
#[tauri::command]
#[specta::specta]
pub async fn choose_file_to_save(
    app: AppHandle,
    state: State<'_, AppState>,
    title: String,
    default_name: Option<String>,
    filters: Vec<FileFilter>,
) -> CommandResult<Option<String>> {
    let chosen = match test_answer() {
        Some(answer) => Some(answer),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let mut d = dialog(&app, &title, &filters);
            if let Some(name) = default_name {
                d = d.set_file_name(name);
            }
            d.save_file(move |p| {
                let _ = tx.send(p.and_then(|p| p.into_path().ok()));
            });
            rx.await.ok().flatten()
        }
    };
    Ok(chosen.map(|p| state.remember(p)))
}

fn dialog(
    app: &AppHandle,
    title: &str,
    filters: &[FileFilter],
) -> tauri_plugin_dialog::FileDialogBuilder<tauri::Wry> {
    let mut d = app.dialog().file().set_title(title);
    for f in filters {
        let extensions: Vec<&str> = f.extensions.iter().map(String::as_str).collect();
        d = d.add_filter(&f.name, &extensions);
    }
    d
}

/// The environment variable naming the answer file (builds with `e2e-dialogs` only).
#[cfg(any(test, feature = "e2e-dialogs"))]
pub const ANSWER_FILE_VAR: &str = "PROVISIO_TEST_DIALOG_ANSWER";

/// The end-to-end tests' one-time answer; `None` in every other build.
fn test_answer() -> Option<PathBuf> {
    #[cfg(feature = "e2e-dialogs")]
    {
        let file = std::env::var_os(ANSWER_FILE_VAR)?;
        let answer = std::fs::read_to_string(&file).ok()?;
        // Used once: the next dialog opens normally unless the test writes another answer.
        let _ = std::fs::remove_file(&file);
        let answer = answer.trim();
        (!answer.is_empty()).then(|| PathBuf::from(answer))
    }
    #[cfg(not(feature = "e2e-dialogs"))]
    None
}

impl AppState {
    fn remember(&self, path: PathBuf) -> String {
        let shown = path.display().to_string();
        if let Ok(mut chosen) = self.chosen.lock() {
            chosen.insert(path);
        }
        shown
    }

    /// `path` when the user chose it in a dialog of this session or it lies
    /// in the data directory; otherwise an error saying to choose it.
    pub fn chosen_path(&self, path: &str) -> CommandResult<PathBuf> {
        let p = PathBuf::from(path);
        let chosen = self.chosen.lock().map(|c| c.contains(&p)).unwrap_or(false);
        if chosen || in_dir(&p, self.engine.data_dir()) {
            return Ok(p);
        }
        Err(shell_error(
            ErrorCode::NotChosen,
            format!(
                "'{}' was not chosen in a file dialog of this window; choose the file with the dialog",
                path.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            ),
        ))
    }
}

/// Is `path` inside `dir` (no `..` in it, so the text is the place)?
fn in_dir(path: &Path, dir: &Path) -> bool {
    path.is_absolute()
        && !path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        && path.starts_with(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_below_the_data_directory_without_dot_dot_are_in_it() {
        let dir = Path::new("/home/ann/.local/share/provisio");
        assert!(in_dir(&dir.join("runs/r1/output.json"), dir));
        assert!(!in_dir(&dir.join("../../.ssh/id_rsa"), dir));
        assert!(!in_dir(Path::new("/etc/passwd"), dir));
        assert!(!in_dir(Path::new("runs/r1"), dir));
    }

    #[test]
    #[cfg(not(feature = "e2e-dialogs"))]
    fn a_build_without_the_test_feature_ignores_the_answer_file() {
        let dir = std::env::temp_dir().join(format!("provisio-answer-{}", std::process::id()));
        std::fs::write(&dir, "/etc/passwd").unwrap();
        std::env::set_var(ANSWER_FILE_VAR, &dir);
        assert_eq!(test_answer(), None);
        assert!(dir.exists(), "the file was not even read");
        let _ = std::fs::remove_file(&dir);
    }
}
