//! The engine's own log: `tracing` events and spans (one span per run and
//! per event invocation, carrying the task and run ids) written as JSON
//! lines to daily files under `DATA_DIR/logs/`, at the `log_level` setting.
//!
//! Every line passes through a [`Masker`] that knows each secret value this
//! process has read from the keyring ([`remember_secrets`]), so a secret
//! that reaches a log message by mistake is masked before it reaches disk.
//! Front ends call [`install`] once; the engine itself never installs a
//! subscriber (a library must not), so tests and embedders choose.
//! People read stderr; the log files are for support and `logs export`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, RwLock};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

use crate::error::{EngineError, Result};
use crate::secrets::Masker;

/// The folder of the engine's log files inside the data directory.
pub const LOG_DIR: &str = "logs";

/// Log file names start with this, then the date (one file per day).
pub const LOG_FILE_PREFIX: &str = "engine.log";

/// A span declaring this field raises everything inside it to debug level,
/// whatever `log_level` says (an HR connector's `debug: true`).
pub const DEBUG_FIELD: &str = "debug_run";

/// Daily files kept; older ones are removed as new ones start.
const KEEP_FILES: usize = 14;

/// Every secret value read in this process, as a masker (shared by all log writers).
fn known_secrets() -> &'static RwLock<(Vec<String>, Masker)> {
    static SECRETS: OnceLock<RwLock<(Vec<String>, Masker)>> = OnceLock::new();
    SECRETS.get_or_init(Default::default)
}

/// Makes the log mask these secret values from now on.
pub fn remember_secrets<'a>(values: impl IntoIterator<Item = &'a serde_json::Value>) {
    // The same texts a run's masker masks.
    let found = crate::secrets::secret_texts(values);
    if found.is_empty() {
        return;
    }
    let Ok(mut known) = known_secrets().write() else {
        return;
    };
    let before = known.0.len();
    for v in found {
        if !known.0.contains(&v) {
            known.0.push(v);
        }
    }
    if known.0.len() != before {
        known.1 = Masker::new(known.0.clone());
    }
}

/// Writes each formatted event (one `write` call per line) masked.
struct MaskedWriter<W: Write> {
    inner: W,
}

impl<W: Write> Write for MaskedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let masked = match known_secrets().read() {
            Ok(known) => known.1.mask(&text),
            Err(_) => text.into_owned(),
        };
        self.inner.write_all(masked.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct MaskedFiles {
    inner: tracing_appender::non_blocking::NonBlocking,
}

impl<'a> MakeWriter<'a> for MaskedFiles {
    type Writer = MaskedWriter<tracing_appender::non_blocking::NonBlocking>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedWriter {
            inner: self.inner.clone(),
        }
    }
}

/// Keeps the log writer alive; dropping it flushes what is still queued.
#[must_use = "the log is flushed when this is dropped"]
pub struct LogGuard {
    _flush: Option<tracing_appender::non_blocking::WorkerGuard>,
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogGuard")
    }
}

/// The filter level for a `log_level` setting (`error` … `trace`); `info` when unknown.
pub fn level_of(setting: &str) -> tracing::level_filters::LevelFilter {
    setting
        .parse()
        .unwrap_or(tracing::level_filters::LevelFilter::INFO)
}

/// Module paths and the part of the product each is (see [`part_of`]).
const PARTS: [(&str, &str); 14] = [
    ("provisio_engine::api::runs", "runs"),
    ("provisio_engine::pipeline", "runs"),
    ("provisio_engine::api::events", "event tasks"),
    ("provisio_engine::scheduler", "scheduler"),
    ("provisio_engine::script_host", "script host"),
    ("provisio_engine::source::hr", "HR files"),
    ("provisio_engine::source::ldap", "directory"),
    ("provisio_engine::source::script", "scripts"),
    ("provisio_engine::targets::esm", "ESM target"),
    ("provisio_engine::api::packages", "packages"),
    ("provisio_engine::api::audit", "audit"),
    ("provisio_engine::store", "store"),
    ("provisio_workflow_api", "workflow API"),
    ("provisio_desktop", "window"),
];

/// The part of the product a log line's target (a Rust module path) is, in
/// the words the window and the manual use; "engine" for the rest. The
/// module path stays beside it for whoever reports a problem.
pub fn part_of(target: &str) -> &'static str {
    PARTS
        .iter()
        .find(|(module, _)| {
            target
                .strip_prefix(module)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
        .map_or("engine", |(_, part)| part)
}

/// Where the engine's log files of a data directory are.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR)
}

/// Starts writing this process's engine log into `data_dir/logs/` at
/// `level` (the `log_level` setting). Once per process: a second call
/// returns a guard that does nothing.
pub fn install(data_dir: &Path, level: &str) -> Result<LogGuard> {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    if *installed {
        return Ok(LogGuard { _flush: None });
    }
    let dir = log_dir(data_dir);
    crate::paths::ensure_dir(&dir)?;
    let files = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .max_log_files(KEEP_FILES)
        .build(&dir)
        .map_err(|e| {
            EngineError::Internal(format!("cannot start the engine log in {}: {e}", dir.display()))
        })?;
    let (writer, flush) = tracing_appender::non_blocking(files);
    let level = level_of(level);
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_target(true)
        .with_writer(MaskedFiles { inner: writer })
        .with_filter(tracing_subscriber::filter::dynamic_filter_fn(
            move |meta: &tracing::Metadata<'_>, cx: &tracing_subscriber::layer::Context<'_, _>| {
                *meta.level() <= level
                    || (*meta.level() <= tracing::Level::DEBUG
                        && cx.lookup_current().is_some_and(|span| {
                            span.scope()
                                .any(|s| s.metadata().fields().field(DEBUG_FIELD).is_some())
                        }))
            },
        ));
    if tracing_subscriber::registry().with(layer).try_init().is_ok() {
        *installed = true;
    }
    Ok(LogGuard { _flush: Some(flush) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_lines_target_reads_as_the_part_of_the_product_it_is() {
        for (target, part) in [
            ("provisio_engine::api::runs::execute", "runs"),
            ("provisio_engine::pipeline", "runs"),
            ("provisio_engine::scheduler", "scheduler"),
            ("provisio_engine::source::ldap::read", "directory"),
            ("provisio_workflow_api::invoke", "workflow API"),
            // A module whose name only starts like a part's is not that part.
            ("provisio_engine::storage", "engine"),
            ("provisio_engine::api::tasks", "engine"),
            ("", "engine"),
        ] {
            assert_eq!(part_of(target), part, "{target}");
        }
    }

    #[test]
    fn every_engine_module_a_part_names_is_in_the_tree() {
        // A renamed module would leave its lines reading "engine": say so here instead.
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for (module, _) in PARTS {
            let Some(path) = module.strip_prefix("provisio_engine::") else {
                continue;
            };
            let path = src.join(path.replace("::", "/"));
            assert!(
                path.is_dir() || path.with_extension("rs").is_file(),
                "{module} is not a module of the engine"
            );
        }
    }

    #[test]
    fn a_remembered_secret_is_masked_in_what_the_log_writes() {
        remember_secrets([&serde_json::json!({"password": "s3cret-value-42"})]);
        let mut out = MaskedWriter { inner: Vec::new() };
        out.write_all(br#"{"message":"login with s3cret-value-42 failed"}"#)
            .unwrap();
        let text = String::from_utf8(out.inner).unwrap();
        assert!(!text.contains("s3cret-value-42"), "{text}");
        assert!(text.contains(crate::secrets::MASK), "{text}");
    }

    #[test]
    fn log_levels_follow_the_setting() {
        assert_eq!(level_of("debug"), tracing::level_filters::LevelFilter::DEBUG);
        assert_eq!(level_of("error"), tracing::level_filters::LevelFilter::ERROR);
        assert_eq!(level_of("nonsense"), tracing::level_filters::LevelFilter::INFO);
    }
}
