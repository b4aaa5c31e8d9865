//! Finding the real interpreter behind `python3`. On many machines `python3`
//! is a shim (pyenv, asdf, the Windows store alias) that costs ~100 ms per
//! start; we ask it once for `sys.executable` and run that binary directly.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{EngineError, Remedy, Result};

static RESOLVED: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// The interpreter binary for the `python` setting, resolved once per process.
pub async fn resolve(python: &str) -> Result<PathBuf> {
    if let Some(p) = RESOLVED
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(python).cloned()))
    {
        return Ok(p);
    }
    let remedy = || Remedy::SetSetting {
        key: "python".into(),
        example: "/usr/bin/python3".into(),
    };
    let mut command = tokio::process::Command::new(python);
    command
        .args(["-c", "import sys; sys.stdout.write(sys.executable)"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .map_err(|_| {
            EngineError::invalid("python", format!("'{python}' did not answer within 30 s"))
                .with_remedy(remedy())
        })?
        .map_err(|e| {
            EngineError::invalid("python", format!("cannot start '{python}': {e}")).with_remedy(remedy())
        })?;
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !output.status.success() || path.as_os_str().is_empty() || !path.exists() {
        return Err(EngineError::invalid(
            "python",
            format!("'{python}' is not a working Python interpreter"),
        )
        .with_remedy(remedy()));
    }
    if let Ok(mut guard) = RESOLVED.lock() {
        guard
            .get_or_insert_with(HashMap::new)
            .insert(python.to_string(), path.clone());
    }
    Ok(path)
}
