//! Logs: the engine's own log files and the runs' logs, packed into one zip
//! for support. Every file is masked again on the way in with the secret
//! values of every connector, whatever process wrote it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::error::{EngineError, Result};
use crate::logging;
use crate::model::LogLevel;
use crate::run_folder as files;
use crate::secrets::Masker;

/// What `logs export` wrote.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct LogExport {
    pub path: String,
    /// Entry names in the zip: `engine/…` and `runs/RUN_ID/…`.
    pub entries: Vec<String>,
    pub bytes: u64,
}

/// Which logs an export packs.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct LogSelection {
    /// The engine's own log files (`engine/…`).
    pub engine: bool,
    /// The script host's record of every run (`runs/ID/run.log`: the process, its stderr, its exit).
    pub script_host: bool,
    /// Connectors (by id or name) whose runs' logs are packed whole (the
    /// script's log, the host's log, the error); `None` packs every run's.
    pub connectors: Option<Vec<String>>,
}

impl LogSelection {
    /// Everything: the engine's log and every run's logs (`provisio logs export`).
    pub fn everything() -> Self {
        LogSelection {
            engine: true,
            script_host: true,
            connectors: None,
        }
    }
}

/// One line of the engine's log, as the Logs tab shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct LogLine {
    /// RFC 3339, as written.
    pub time: String,
    pub level: LogLevel,
    /// The part of the engine that wrote it: its module path.
    pub target: String,
    /// That part in the window's words (`runs`, `scheduler`, `directory`…).
    pub source: String,
    pub message: String,
    /// The other fields and the spans (run and task ids), as `key=value`.
    pub detail: String,
}

/// How much of the newest log files the Logs tab reads (it shows the end).
const VIEW_BYTES: u64 = 8 << 20;

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
        selection: &LogSelection,
    ) -> Result<LogExport> {
        if !selection.engine
            && !selection.script_host
            && selection.connectors.as_ref().is_some_and(|c| c.is_empty())
        {
            return Err(EngineError::MissingFields {
                fields: vec![
                    "log sources (choose the engine log, the script host or a connector's runs)".into(),
                ],
            });
        }
        // Runs whose logs are packed whole; `None` means every run.
        let whole_runs: Option<std::collections::HashSet<String>> = match &selection.connectors {
            None => None,
            Some(refs) => {
                let mut ids = std::collections::HashSet::new();
                for r in refs {
                    let connector = self.connector_row(r).await?;
                    ids.extend(self.store().connector_run_ids(&connector.id).await?);
                }
                Some(ids)
            }
        };
        let mut secrets = Vec::new();
        for c in self.list_connectors().await? {
            let connector = self.connector_row(&c.id).await?;
            secrets.extend(self.stored_secrets(&connector).await?.into_iter().map(|(_, v)| v));
        }
        let masker = Masker::from_json_values(secrets.iter());
        let mut sources: Vec<(String, PathBuf)> = Vec::new();
        let engine_files = if selection.engine {
            regular_files(&logging::log_dir(self.data_dir()), since)
        } else {
            Vec::new()
        };
        for path in engine_files {
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
            let whole = whole_runs.as_ref().is_none_or(|ids| ids.contains(&id));
            for name in [files::LOG, files::SCRIPT_LOG, files::ERROR] {
                if !(whole || (selection.script_host && name == files::LOG)) {
                    continue;
                }
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

impl Engine {
    /// The end of the engine's log: at most `limit` lines at `min_level` or
    /// more severe whose text contains `search` (any case), oldest first.
    pub async fn engine_log(
        &self,
        min_level: Option<&str>,
        search: Option<&str>,
        limit: u32,
    ) -> Result<Vec<LogLine>> {
        let min = match min_level.map(str::trim) {
            None | Some("") => LogLevel::Trace,
            Some(level) => LogLevel::parse(level).ok_or_else(|| {
                EngineError::invalid(
                    "level",
                    format!("'{level}' is not a log level (error, warn, info, debug, trace)"),
                )
            })?,
        };
        let search = search.map(str::to_lowercase).filter(|s| !s.is_empty());
        let dir = logging::log_dir(self.data_dir());
        tokio::task::spawn_blocking(move || {
            let mut files = regular_files(&dir, None);
            files.retain(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(logging::LOG_FILE_PREFIX))
            });
            // Newest file first (daily names sort by date), until enough lines are found.
            let mut found: Vec<LogLine> = Vec::new();
            for path in files.iter().rev() {
                let Ok(text) = read_end(path, VIEW_BYTES) else {
                    continue;
                };
                let mut lines: Vec<LogLine> = text
                    .lines()
                    .filter_map(parse_line)
                    .filter(|l| l.level <= min)
                    .filter(|l| {
                        search.as_ref().is_none_or(|s| {
                            l.message.to_lowercase().contains(s)
                                || l.detail.to_lowercase().contains(s)
                                || l.target.to_lowercase().contains(s)
                                || l.source.to_lowercase().contains(s)
                        })
                    })
                    .collect();
                lines.append(&mut found);
                found = lines;
                if found.len() >= limit as usize {
                    break;
                }
            }
            let skip = found.len().saturating_sub(limit as usize);
            found.drain(..skip);
            found
        })
        .await
        .map_err(|e| EngineError::Internal(format!("reading the engine log: {e}")))
    }
}

/// A JSON line of the engine's log; anything else (a torn last line) is skipped.
fn parse_line(line: &str) -> Option<LogLine> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let fields = v.get("fields").and_then(|f| f.as_object());
    let message = fields
        .and_then(|f| f.get("message"))
        .map(text)
        .unwrap_or_default();
    let mut detail: Vec<String> = fields
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "message")
        .map(|(k, v)| format!("{k}={}", text(v)))
        .collect();
    for span in v.get("spans").and_then(|s| s.as_array()).into_iter().flatten() {
        if let Some(span) = span.as_object() {
            detail.extend(
                span.iter()
                    .filter(|(k, _)| k.as_str() != "name")
                    .map(|(k, v)| format!("{k}={}", text(v))),
            );
        }
    }
    let target = v.get("target").map(text).unwrap_or_default();
    Some(LogLine {
        time: v.get("timestamp").map(text).unwrap_or_default(),
        // A line without a level it can read is not a line of this log.
        level: LogLevel::parse(&v.get("level").map(text)?)?,
        source: crate::logging::part_of(&target).into(),
        target,
        message,
        detail: detail.join(" "),
    })
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

/// The last `max` bytes of a file, as text.
fn read_end(path: &Path, max: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = crate::platform::open_regular(path)?;
    let len = file.metadata()?.len();
    if len > max {
        file.seek(SeekFrom::Start(len - max))?;
    }
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes)?;
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
            let Ok(text) = read_end(path, MAX_FILE_BYTES) else {
                continue;
            };
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
