//! Reading the JSON files users hand to `create` / `update` / `add`.

use std::path::Path;

use provisio_engine::{jsonc, EngineError};
use serde::de::DeserializeOwned;

/// Reads a JSONC file into `T`; every problem names the file and, for
/// syntax errors, the line and column.
pub fn read_json_file<T: DeserializeOwned>(path: &Path) -> Result<T, EngineError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::Input {
        path: shown.clone(),
        message: format!("cannot read the file: {e}"),
    })?;
    jsonc::from_str(&text).map_err(|e| EngineError::Input {
        path: shown,
        message: format!("{e}"),
    })
}
