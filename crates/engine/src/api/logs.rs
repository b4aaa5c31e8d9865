//! Logs: the engine's own log files and the runs' logs, packed into one zip
//! for support. Every file is masked again on the way in with the secret
//! values of every connector, whatever process wrote it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Engine;
use crate::error::{EngineError, Result};
use crate::logging;
use crate::script_host::files;
use crate::secrets::Masker;

/// What `logs export` wrote.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct LogExport {
    pub path: String,
    /// Entry names in the zip: `engine/…` and `runs/RUN_ID/…`.
    pub entries: Vec<String>,
    pub bytes: u64,
}

/// Largest single file taken into an export; a bigger one is cut to its end.
const MAX_FILE_BYTES: u64 = 64 << 20;

impl Engine {
    /// Packs the engine's log files and each run's logs (changed since
    /// `since`, all when `None`) into the zip `out`. The zip is written
    /// next to `out` and renamed, so a failed export leaves nothing behind.
    pub async fn export_logs(
        &self,
        out: &Path,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<LogExport> {
        let mut secrets = Vec::new();
        for c in self.list_connectors().await? {
            let connector = self.connector_row(&c.id).await?;
            secrets.extend(self.stored_secrets(&connector).await?.into_iter().map(|(_, v)| v));
        }
        let masker = Masker::from_json_values(secrets.iter());
        let mut sources: Vec<(String, PathBuf)> = Vec::new();
        for path in regular_files(&logging::log_dir(self.data_dir()), since) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            sources.push((format!("engine/{name}"), path));
        }
        let runs = self.data_dir().join("runs");
        for dir in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
            let Ok(kind) = dir.file_type() else { continue };
            let id = dir.file_name().to_string_lossy().into_owned();
            // Our run directories are named by uuid; anything else there is not ours to pack.
            if !kind.is_dir() || uuid::Uuid::parse_str(&id).is_err() {
                continue;
            }
            for name in [files::LOG, files::SCRIPT_LOG, files::ERROR] {
                let path = dir.path().join(name);
                if changed_since(&path, since) {
                    sources.push((format!("runs/{id}/{name}"), path));
                }
            }
        }
        let out = out.to_path_buf();
        tokio::task::spawn_blocking(move || write_zip(&out, &sources, &masker))
            .await
            .map_err(|e| EngineError::Internal(format!("packing the logs: {e}")))?
    }
}

/// Regular files directly in `dir` changed since `since`, by name.
fn regular_files(dir: &Path, since: Option<chrono::DateTime<chrono::Utc>>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| changed_since(p, since))
        .collect();
    out.sort();
    out
}

/// A regular file (not a link, not a FIFO) modified at or after `since`.
fn changed_since(path: &Path, since: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.file_type().is_file() {
        return false;
    }
    match (since, meta.modified()) {
        (None, _) => true,
        (Some(since), Ok(modified)) => chrono::DateTime::<chrono::Utc>::from(modified) >= since,
        (Some(_), Err(_)) => true,
    }
}

/// The end of a file (at most [`MAX_FILE_BYTES`]), as text.
fn read_tail(path: &Path) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = crate::platform::open_regular(path)?;
    let len = file.metadata()?.len();
    if len > MAX_FILE_BYTES {
        file.seek(SeekFrom::Start(len - MAX_FILE_BYTES))?;
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn write_zip(out: &Path, sources: &[(String, PathBuf)], masker: &Masker) -> Result<LogExport> {
    let failed = |e: &dyn std::fmt::Display| EngineError::Input {
        path: out.display().to_string(),
        message: format!("cannot write the log export: {e}"),
    };
    let tmp = out.with_extension("zip.partial");
    let write = || -> std::result::Result<Vec<String>, String> {
        let file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let mut zip = zip::ZipWriter::new(file);
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let mut entries = Vec::new();
        for (name, path) in sources {
            // A file that went away or cannot be read is left out, not fatal.
            let Ok(text) = read_tail(path) else { continue };
            zip.start_file(name.as_str(), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(masker.mask(&text).as_bytes())
                .map_err(|e| e.to_string())?;
            entries.push(name.clone());
        }
        let file = zip.finish().map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, out).map_err(|e| e.to_string())?;
        Ok(entries)
    };
    match write() {
        Ok(entries) => Ok(LogExport {
            path: out.display().to_string(),
            entries,
            bytes: std::fs::metadata(out).map(|m| m.len()).unwrap_or(0),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(failed(&e))
        }
    }
}
