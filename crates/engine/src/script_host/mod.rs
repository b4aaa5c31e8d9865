//! Running one Python process under the script contract (docs/script-contract.md).
//!
//! A scheduled script runs as `<python> <script> <args.json>` in the run's
//! working directory with a cleaned environment, its stdout/stderr captured
//! into the run log (masked, capped), a heartbeat watch, an optional maximum
//! runtime and a stop signal. Whatever ends it early, the whole process group
//! is terminated and the reason is typed ([`KillReason`]). On Unix the
//! process is normally forked by a warm interpreter (`warm`) rather than
//! started anew; to the script and to everything here the two are the same.

pub mod capture;
mod group;
pub mod process;
pub mod python;
#[cfg(unix)]
mod warm;

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

pub use capture::Masker;
use capture::{LogSink, SharedSink};

use crate::run_folder as files;

/// What an event script is given.
#[derive(Debug)]
pub struct EventInput<'a> {
    /// The connector's parameters, secrets resolved (stdin's first line).
    pub parameters: &'a crate::secrets::Sensitive<serde_json::Value>,
    /// The mapped values (stdin's second line).
    pub values: &'a serde_json::Value,
    /// Read tasks: where the script hands its values back.
    pub returns: Option<&'a Path>,
}

/// The environment variable naming the file a read event script writes its values to.
pub const RETURN_FILE_ENV: &str = "PROVISIO_RETURN_FILE";

/// Time between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);
/// Default cap on captured stdout + stderr per run.
pub const DEFAULT_LOG_CAP: u64 = 10 * 1024 * 1024;

/// Why the host ended a script before it finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillReason {
    /// The heartbeat file was not touched within the task's heartbeat timeout.
    HeartbeatTimeout(Duration),
    /// The run took longer than the task's maximum runtime.
    MaxRuntime(Duration),
    /// A user stopped the run.
    Stopped,
}

impl std::fmt::Display for KillReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KillReason::HeartbeatTimeout(d) => write!(
                f,
                "the script did not touch its heartbeat file for {} s (the task's heartbeat timeout) and was terminated",
                d.as_secs()
            ),
            KillReason::MaxRuntime(d) => {
                write!(f, "the script ran longer than the task's maximum runtime of {} s and was terminated", d.as_secs())
            }
            KillReason::Stopped => write!(f, "stopped by a user"),
        }
    }
}

/// How a scheduled script's extract failed, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ExtractFailure {
    #[error("{0}")]
    Killed(KillReason),
    #[error("the script exited with code {code}{}", detail(.stderr_tail))]
    ExitCode { code: i32, stderr_tail: Vec<String> },
    #[error("the script was ended by signal {signal}{}", detail(.stderr_tail))]
    Signal { signal: i32, stderr_tail: Vec<String> },
    #[error("the script reported an error in its error file: {0}")]
    ErrorFile(String),
    #[error("the script finished without writing its output file ({0})")]
    MissingOutput(String),
    #[error("the script could not be started: {0}")]
    Spawn(String),
}

fn detail(tail: &[String]) -> String {
    match tail.last() {
        Some(last) => format!(": {last}"),
        None => String::new(),
    }
}

/// Everything needed to run one scheduled script.
#[derive(Debug)]
pub struct ScheduledInvocation<'a> {
    pub script: &'a Path,
    pub work_dir: &'a Path,
    /// Content of args.json: never holds a secret.
    pub args: serde_json::Value,
    /// Secret parameters (JSON pointer → value), sent on stdin.
    pub secrets_line: crate::secrets::Sensitive<String>,
    pub masker: &'a Masker,
    pub heartbeat_timeout: Duration,
    pub max_runtime: Option<Duration>,
    pub stop: watch::Receiver<bool>,
    pub log_cap: u64,
}

#[derive(Debug)]
pub struct ScheduledOutcome {
    pub output: PathBuf,
    pub log_truncated_bytes: u64,
}

/// The outcome of an event script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    Completed,
    /// The exception's message (the last line of the traceback).
    Exception(String),
}

#[derive(Debug, Clone)]
pub struct ScriptHost {
    python: PathBuf,
    sdk_dir: PathBuf,
    warm: bool,
}

/// Set to 1 to start every script in a new interpreter (no warm starts).
pub const COLD_START_ENV: &str = "PROVISIO_COLD_START";

impl ScriptHost {
    pub fn new(python: PathBuf, sdk_dir: PathBuf) -> Self {
        let warm = std::env::var_os(COLD_START_ENV).is_none_or(|v| v != "1");
        ScriptHost {
            python,
            sdk_dir,
            warm,
        }
    }

    /// Starts every script in a new interpreter (benchmarks, troubleshooting).
    pub fn cold(mut self) -> Self {
        self.warm = false;
        self
    }

    pub fn python(&self) -> &Path {
        &self.python
    }

    /// The environment every script gets: the allow-list, the SDK on the path, UTF-8 stdio.
    fn base_env(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = process::ENV_ALLOW_LIST
            .iter()
            .filter_map(|key| std::env::var_os(key).map(|v| (OsString::from(key), v)))
            .collect();
        env.push(("PYTHONPATH".into(), self.sdk_dir.clone().into_os_string()));
        env.push(("PYTHONIOENCODING".into(), "utf-8".into()));
        env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
        env
    }

    /// Starts `python script args...` in `work_dir`.
    async fn start(
        &self,
        script: &Path,
        args: &[&Path],
        work_dir: &Path,
        run_env: Vec<(OsString, OsString)>,
    ) -> Result<process::Started, ExtractFailure> {
        let mut argv = vec![script.as_os_str().to_os_string()];
        argv.extend(args.iter().map(|a| a.as_os_str().to_os_string()));
        process::start(process::Invocation {
            python: &self.python,
            sdk_dir: &self.sdk_dir,
            argv,
            cwd: work_dir,
            base_env: self.base_env(),
            run_env,
            warm: self.warm,
        })
        .await
        .map_err(|e| ExtractFailure::Spawn(format!("{}: {e}", self.python.display())))
    }

    /// Runs a scheduled script to its end (or until the host ends it).
    pub async fn run_scheduled(
        &self,
        mut inv: ScheduledInvocation<'_>,
    ) -> Result<ScheduledOutcome, ExtractFailure> {
        let dir = inv.work_dir;
        let args_path = dir.join(files::ARGS);
        let io_err = |what: &str, e: std::io::Error| ExtractFailure::Spawn(format!("{what}: {e}"));
        std::fs::write(
            &args_path,
            serde_json::to_vec_pretty(&inv.args).unwrap_or_default(),
        )
        .map_err(|e| io_err("cannot write args.json", e))?;
        let log_file = std::fs::File::create(dir.join(files::LOG))
            .map_err(|e| io_err("cannot create the run log", e))?;

        let started = Instant::now();
        let started_wall = SystemTime::now();
        let run_env = vec![
            ("PROVISIO_SECRETS_ON_STDIN".into(), "1".into()),
            (process::RUN_MARK_ENV.into(), dir.as_os_str().to_os_string()),
        ];
        let process::Started { mut process, stdio } =
            self.start(inv.script, &[&args_path], dir, run_env).await?;
        let pid = process.id();
        tracing::debug!(pid, script = %inv.script.display(), "script started");
        // Kept for a later engine, should this one die while the script runs.
        process.record(dir);

        let mut secrets_line = inv.secrets_line.into_inner().into_bytes();
        secrets_line.push(b'\n');
        let capture = Capture::start(stdio, log_file, inv.log_cap, inv.masker, secrets_line);

        let heartbeat = dir.join(files::HEARTBEAT);
        let check_every =
            (inv.heartbeat_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut tick = tokio::time::interval(check_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ended = loop {
            tokio::select! {
                status = process.wait() => break Ok(status),
                _ = tick.tick() => {
                    if let Some(limit) = inv.max_runtime {
                        if started.elapsed() > limit {
                            break Err(KillReason::MaxRuntime(limit));
                        }
                    }
                    let last = std::fs::metadata(&heartbeat)
                        .and_then(|m| m.modified())
                        .map(|m| m.max(started_wall))
                        .unwrap_or(started_wall);
                    if SystemTime::now().duration_since(last).unwrap_or_default() > inv.heartbeat_timeout {
                        break Err(KillReason::HeartbeatTimeout(inv.heartbeat_timeout));
                    }
                }
                changed = inv.stop.changed() => {
                    if changed.is_err() || *inv.stop.borrow() {
                        break Err(KillReason::Stopped);
                    }
                }
            }
        };
        let status = match ended {
            Ok(status) => {
                process::reap_group(pid, dir);
                status
            }
            Err(reason) => {
                tracing::warn!(pid, ?reason, "ending the script");
                process::terminate(&mut process, STOP_GRACE, dir).await;
                capture.finish().await;
                mask_script_files(dir, inv.masker);
                return Err(ExtractFailure::Killed(reason));
            }
        };
        let (dropped, tail) = capture.finish().await;
        mask_script_files(dir, inv.masker);
        let status =
            status.map_err(|e| ExtractFailure::Spawn(format!("waiting for the script failed: {e}")))?;
        tracing::debug!(
            pid,
            exit = ?status.code(),
            seconds = started.elapsed().as_secs_f64(),
            log_bytes_dropped = dropped,
            "script ended"
        );
        if !status.success() {
            return Err(match status.code() {
                Some(code) => ExtractFailure::ExitCode {
                    code,
                    stderr_tail: tail,
                },
                None => ExtractFailure::Signal {
                    signal: exit_signal(&status),
                    stderr_tail: tail,
                },
            });
        }
        // Read with care: a script may leave a FIFO or a huge file in its place.
        let error_text = crate::platform::read_regular_prefix(&dir.join(files::ERROR), 64 * 1024)
            .map_err(|e| ExtractFailure::ErrorFile(format!("{} {e}", files::ERROR)))?;
        if !error_text.trim().is_empty() {
            let first: String = error_text.trim().lines().take(5).collect::<Vec<_>>().join(" / ");
            return Err(ExtractFailure::ErrorFile(inv.masker.mask(&first)));
        }
        let output = dir.join(files::OUTPUT);
        if let Err(e) = crate::platform::open_regular(&output) {
            return Err(ExtractFailure::MissingOutput(match e.kind() {
                std::io::ErrorKind::NotFound => format!("expected {}", output.display()),
                _ => format!("{} {e}", output.display()),
            }));
        }
        Ok(ScheduledOutcome {
            output,
            log_truncated_bytes: dropped,
        })
    }

    /// Runs an event script: line 1 of stdin the connector parameters, line 2
    /// the mapped values. The log goes to `work_dir/run.log`.
    pub async fn run_event(
        &self,
        script: &Path,
        work_dir: &Path,
        input: EventInput<'_>,
        masker: &Masker,
        timeout: Duration,
    ) -> Result<EventOutcome, ExtractFailure> {
        let EventInput {
            parameters,
            values,
            returns,
        } = input;
        let log_file = std::fs::File::create(work_dir.join(files::LOG))
            .map_err(|e| ExtractFailure::Spawn(format!("cannot create the run log: {e}")))?;
        let mut run_env = vec![(process::RUN_MARK_ENV.into(), work_dir.as_os_str().to_os_string())];
        // A read task's script hands its values back in this file (the SDK's `return_values`).
        if let Some(path) = returns {
            run_env.push((RETURN_FILE_ENV.into(), path.as_os_str().to_os_string()));
        }
        let process::Started { mut process, stdio } = self.start(script, &[], work_dir, run_env).await?;
        let pid = process.id();
        let mut input = parameters.expose().to_string().into_bytes();
        input.push(b'\n');
        input.extend_from_slice(values.to_string().as_bytes());
        input.push(b'\n');
        let capture = Capture::start(stdio, log_file, DEFAULT_LOG_CAP, masker, input);
        let status = match tokio::time::timeout(timeout, process.wait()).await {
            Ok(status) => {
                process::reap_group(pid, work_dir);
                status
            }
            Err(_) => {
                process::terminate(&mut process, STOP_GRACE, work_dir).await;
                capture.finish().await;
                return Err(ExtractFailure::Killed(KillReason::MaxRuntime(timeout)));
            }
        };
        let (_, tail) = capture.finish().await;
        let status =
            status.map_err(|e| ExtractFailure::Spawn(format!("waiting for the script failed: {e}")))?;
        if status.success() {
            return Ok(EventOutcome::Completed);
        }
        Ok(EventOutcome::Exception(exception_message(&tail, status.code())))
    }
}

/// A child's stdin feeder and the two pumps writing its output into the run log.
struct Capture {
    sink: SharedSink<std::io::BufWriter<std::fs::File>>,
    feeder: tokio::task::JoinHandle<()>,
    pumps: Vec<tokio::task::JoinHandle<()>>,
}

impl Capture {
    fn start(
        stdio: process::ScriptStdio,
        log: std::fs::File,
        cap: u64,
        masker: &Masker,
        stdin_data: Vec<u8>,
    ) -> Capture {
        let sink: SharedSink<_> = Arc::new(Mutex::new(LogSink {
            writer: std::io::BufWriter::new(log),
            written: 0,
            dropped: 0,
            cap,
            stderr_tail: VecDeque::new(),
        }));
        let feeder = tokio::spawn(capture::feed_stdin(stdio.stdin, stdin_data));
        let pumps = vec![
            tokio::spawn(capture::pump(stdio.stdout, sink.clone(), masker.clone(), "")),
            tokio::spawn(capture::pump(
                stdio.stderr,
                sink.clone(),
                masker.clone(),
                "[stderr] ",
            )),
        ];
        Capture { sink, feeder, pumps }
    }

    /// Waits for the pipes to close and closes the log (noting what the cap
    /// dropped). Returns the dropped byte count and the last stderr lines.
    async fn finish(self) -> (u64, Vec<String>) {
        self.feeder.abort();
        for h in self.pumps {
            // Grandchildren holding the pipes were killed with the group, so EOF comes.
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
        let Ok(mut s) = self.sink.lock() else {
            return (0, Vec::new());
        };
        if s.dropped > 0 {
            let note = format!(
                "[provisio] output truncated: {} bytes beyond the {} MiB log cap were dropped\n",
                s.dropped,
                s.cap / (1024 * 1024)
            );
            let _ = std::io::Write::write_all(&mut s.writer, note.as_bytes());
        }
        let _ = std::io::Write::flush(&mut s.writer);
        (s.dropped, s.stderr_tail.iter().cloned().collect())
    }
}

fn mask_script_files(dir: &Path, masker: &Masker) {
    for name in [files::SCRIPT_LOG, files::ERROR] {
        let _ = masker.mask_file(&dir.join(name));
    }
}

/// The message of a Python exception: the traceback's last line without the
/// exception class (`Exception: disk full` → `disk full`).
fn exception_message(stderr_tail: &[String], code: Option<i32>) -> String {
    let Some(last) = stderr_tail.iter().rev().find(|l| !l.trim().is_empty()) else {
        return format!("the script exited with code {}", code.unwrap_or(-1));
    };
    let last = last.trim();
    match last.split_once(": ") {
        Some((class, message)) if !class.contains(' ') && !message.is_empty() => message.to_string(),
        _ => last.to_string(),
    }
}

#[cfg(unix)]
fn exit_signal(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.signal().unwrap_or(0)
}

#[cfg(not(unix))]
fn exit_signal(_status: &std::process::ExitStatus) -> i32 {
    0
}
