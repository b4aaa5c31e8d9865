//! Where Provisio keeps its data. The one place that knows platform paths.

use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};

/// Environment variable that overrides the data directory (after `--data-dir`).
pub const DATA_DIR_ENV: &str = "PROVISIO_DATA_DIR";

/// The data directory: `explicit` if given, else `PROVISIO_DATA_DIR`, else the
/// platform's user data directory (`~/.local/share/provisio` on Linux,
/// `%APPDATA%\provisio` on Windows, `~/Library/Application Support/provisio` on macOS).
pub fn resolve_data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    dirs::data_dir().map(|d| d.join("provisio")).ok_or_else(|| {
        EngineError::invalid(
            "data directory",
            format!("no user data directory is known on this system; choose one (or set {DATA_DIR_ENV})"),
        )
    })
}

/// Creates the data directory on first use.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| EngineError::io(format!("cannot create the data directory {}", dir.display()), e))
}
