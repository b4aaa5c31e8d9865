//! One scheduler per data directory. Ownership is an OS file lock on
//! `scheduler.lock`: the OS drops it when the owner dies, so a `kill -9`
//! leaves no stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::Serialize;

use crate::error::{EngineError, Result};

pub const LOCK_FILE: &str = "scheduler.lock";

#[derive(Debug)]
pub struct SchedulerLock {
    _file: File,
}

/// Who schedules a data directory, as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SchedulerStatus {
    /// This process schedules.
    Running,
    /// Another process (`provisio serve`, another window) schedules; its pid when known.
    Elsewhere { pid: Option<u32> },
    /// Nobody here schedules, and why.
    NotScheduling { reason: String },
}

impl SchedulerLock {
    /// Takes ownership of scheduling when free; the status says who has it otherwise.
    pub fn try_acquire(data_dir: &Path) -> (Option<SchedulerLock>, SchedulerStatus) {
        match SchedulerLock::acquire(data_dir) {
            Ok(lock) => (Some(lock), SchedulerStatus::Running),
            Err(EngineError::InUse { .. }) => (
                None,
                SchedulerStatus::Elsewhere {
                    pid: std::fs::read_to_string(data_dir.join(LOCK_FILE))
                        .ok()
                        .and_then(|t| t.trim().parse().ok()),
                },
            ),
            Err(e) => (
                None,
                SchedulerStatus::NotScheduling {
                    reason: e.to_string(),
                },
            ),
        }
    }

    /// Takes ownership of scheduling for `data_dir`, or says who has it.
    pub fn acquire(data_dir: &Path) -> Result<SchedulerLock> {
        let path = data_dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| EngineError::io(format!("cannot open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.set_len(0);
                let _ = file.seek(SeekFrom::Start(0));
                let _ = write!(file, "{}", std::process::id());
                let _ = file.flush();
                Ok(SchedulerLock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                Err(EngineError::InUse {
                    message: format!(
                        "another process (pid {}) owns scheduling for {}; this one does not schedule. Stop it first, or use that process",
                        if owner.trim().is_empty() { "unknown" } else { owner.trim() },
                        data_dir.display()
                    ),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(EngineError::io(format!("cannot lock {}", path.display()), e))
            }
        }
    }
}
