//! The end-to-end tests' stand-in for native file dialogs, which WebDriver
//! cannot drive. Only when the app was started with
//! `PROVISIO_TEST_DIALOG_ANSWER` naming a file: the window asks here before
//! opening a dialog, and the file's content (a path) is the answer, used
//! once. Without the variable this always answers `None` and the real
//! dialog opens; the path still goes through the engine's own checks.

/// The environment variable naming the answer file.
pub const ANSWER_FILE_VAR: &str = "PROVISIO_TEST_DIALOG_ANSWER";

#[tauri::command]
#[specta::specta]
pub fn test_dialog_answer() -> Option<String> {
    let file = std::env::var_os(ANSWER_FILE_VAR)?;
    let answer = std::fs::read_to_string(&file).ok()?;
    // Used once: the next dialog opens normally unless the test writes another answer.
    let _ = std::fs::remove_file(&file);
    let answer = answer.trim();
    (!answer.is_empty()).then(|| answer.to_string())
}
