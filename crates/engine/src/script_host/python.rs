//! Finding the real interpreter behind `python3`. On many machines `python3`
//! is a shim (pyenv, asdf, the Windows store alias) that costs ~100 ms per
//! start; we ask it once for `sys.executable` and run that binary directly.
//!
//! A shim chooses by the directory it starts in (pyenv's and asdf's version
//! files), so it is asked in the data directory: the window, `serve` and a
//! CLI command typed anywhere then run scripts with the same interpreter.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{EngineError, Remedy, Result};

/// Interpreters resolved by this process, by setting and data directory.
type Resolved = HashMap<(String, PathBuf), PathBuf>;

static RESOLVED: Mutex<Option<Resolved>> = Mutex::new(None);

/// The interpreter binary for the `python` setting, asked in `data_dir`, once per process.
pub async fn resolve(python: &str, data_dir: &Path) -> Result<PathBuf> {
    let key = (python.to_string(), data_dir.to_path_buf());
    if let Some(p) = RESOLVED
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(&key).cloned()))
    {
        return Ok(p);
    }
    // Without site-packages (-S): `sys.executable` does not depend on them, and
    // their `.pth` hooks are most of a bare start (75 instead of 105 ms through
    // a pyenv shim, once per CLI command).
    let output = run_code(
        python,
        data_dir,
        &["-S"],
        "import sys; sys.stdout.write(sys.executable)",
    )
    .await?;
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !output.status.success() || path.as_os_str().is_empty() || !path.exists() {
        return Err(not_working(python));
    }
    if let Ok(mut guard) = RESOLVED.lock() {
        guard.get_or_insert_with(HashMap::new).insert(key, path.clone());
    }
    Ok(path)
}

/// What the Settings tab's "Check" shows about an interpreter.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct PythonCheck {
    /// The setting's value as given.
    pub interpreter: String,
    /// The binary behind it (`sys.executable`).
    pub executable: String,
    /// e.g. `3.11.2`.
    pub version: String,
    /// The scripts' SDK needs Python 3.8 or later.
    pub supported: bool,
}

/// Runs the interpreter once (in `data_dir`, as a run asks it) and reports
/// its version (not cached: the user may have just installed or changed it).
pub async fn check(python: &str, data_dir: &Path) -> Result<PythonCheck> {
    let output = run_code(
        python,
        data_dir,
        &[],
        "import sys; v = sys.version_info; sys.stdout.write('%d.%d.%d\\n%s' % (v[0], v[1], v[2], sys.executable))",
    )
    .await?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let (Some(version), Some(executable)) = (lines.next(), lines.next()) else {
        return Err(not_working(python));
    };
    if !output.status.success() {
        return Err(not_working(python));
    }
    let parts: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    Ok(PythonCheck {
        interpreter: python.to_string(),
        executable: executable.to_string(),
        version: version.to_string(),
        supported: parts.len() == 3 && (parts[0], parts[1]) >= (3, 8),
    })
}

fn remedy() -> Remedy {
    Remedy::SetSetting {
        key: "python".into(),
        example: "/usr/bin/python3".into(),
    }
}

fn not_working(python: &str) -> EngineError {
    EngineError::invalid(
        "python",
        format!("'{python}' is not a working Python interpreter"),
    )
    .with_remedy(remedy())
}

/// Runs `python FLAGS -c CODE` (no shell) in `dir` and returns its output, within 30 s.
async fn run_code(python: &str, dir: &Path, flags: &[&str], code: &str) -> Result<std::process::Output> {
    let mut command = tokio::process::Command::new(python);
    command
        .args(flags)
        .args(["-c", code])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .map_err(|_| {
            EngineError::invalid("python", format!("'{python}' did not answer within 30 s"))
                .with_remedy(remedy())
        })?
        .map_err(|e| {
            EngineError::invalid("python", format!("cannot start '{python}': {e}")).with_remedy(remedy())
        })
}
