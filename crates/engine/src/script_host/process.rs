//! The one place that knows how a platform groups and supervises a
//! script's processes (the signals themselves: [`super::group`]). A script
//! may start children of its own; stopping a run must
//! stop them all, so every script runs as the leader of a new process group
//! (Unix) and the whole group is signalled.
//!
//! A child can leave the group (`setsid`, a double fork). More fences:
//!
//! - **Warm starts (the default on Unix):** each run's script is forked by a
//!   supervisor of its own (`warm_start.py`), a child subreaper
//!   (`PR_SET_CHILD_SUBREAPER`, Linux): every orphan among the script's
//!   descendants comes back to it, whatever it did (fork without exec, new
//!   session, double fork, ignore SIGTERM, clear its environment), and when
//!   the script has exited (success, stop, timeout, lost heartbeat) the
//!   supervisor kills them all before it reports the exit. After `kill -9` of
//!   the engine the supervisor lives on; the next engine start kills the
//!   script's group ([`end_abandoned`]) and the supervisor ends the rest.
//! - **The run mark:** every script carries [`RUN_MARK_ENV`] = its run
//!   directory, which exec'd children inherit; when a run ends (and when a
//!   new engine finds a run whose engine died), every process of this user
//!   still carrying the mark is killed ([`end_marked`], Linux: read from
//!   `/proc/PID/environ`).
//! - **Cold starts** (a new interpreter per run: `PROVISIO_COLD_START`, or
//!   no warm interpreter) go through the same kind of supervisor
//!   (`cold_start.py`, [`Supervisor`]): a small interpreter, a child
//!   subreaper, that execs the script in a fork and ends every descendant
//!   when the script has exited. It leads the run's process group and
//!   ignores the group's SIGTERM (meant for the script); SIGUSR1 tells it to
//!   end the run at once, which is how a stop past its grace, a dropped run
//!   and the next engine after a `kill -9` end a cold-started run.
//!
//! Where systemd delegates a user slice, a cgroup per run (`cgroup.kill`)
//! could replace the `/proc` walks; the supervisors do not need one.
//!
//! Windows (not built yet): the script is started suspended in a job object
//! with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`; every process it creates
//! belongs to the job, and closing the job's handle at the end of the run
//! (or the engine dying) ends them all. That code belongs in this module.

use std::ffi::OsString;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::process::{Child, Command};

#[cfg(unix)]
use super::group::signal_group;
pub use super::group::{detach, is_alive, isolate, kill_group};

pub type ScriptInput = Box<dyn AsyncWrite + Unpin + Send>;
pub type ScriptOutput = Box<dyn AsyncRead + Unpin + Send>;

/// A running script and the host's ends of its stdio.
#[derive(Debug)]
pub struct Started {
    pub process: ScriptProcess,
    pub stdio: ScriptStdio,
}

/// The host's ends of a script's stdin, stdout and stderr.
pub struct ScriptStdio {
    pub stdin: ScriptInput,
    pub stdout: ScriptOutput,
    pub stderr: ScriptOutput,
}

impl std::fmt::Debug for ScriptStdio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptStdio")
    }
}

/// A script process: started directly (Windows), under a cold-start
/// supervisor, or forked by the warm interpreter.
#[derive(Debug)]
pub enum ScriptProcess {
    #[cfg(not(unix))]
    Spawned(Child),
    #[cfg(unix)]
    Supervised(Supervisor),
    #[cfg(unix)]
    Forked(super::warm::Forked),
}

impl ScriptProcess {
    /// The process the host signals: the leader of the run's process group.
    pub fn id(&self) -> Option<u32> {
        match self {
            #[cfg(not(unix))]
            ScriptProcess::Spawned(c) => c.id(),
            #[cfg(unix)]
            ScriptProcess::Supervised(s) => s.child.id(),
            #[cfg(unix)]
            ScriptProcess::Forked(f) => Some(f.id()),
        }
    }

    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        match self {
            #[cfg(not(unix))]
            ScriptProcess::Spawned(c) => c.wait().await,
            #[cfg(unix)]
            ScriptProcess::Supervised(s) => {
                let status = s.child.wait().await;
                s.exited = status.is_ok();
                status
            }
            #[cfg(unix)]
            ScriptProcess::Forked(f) => f.wait().await,
        }
    }

    /// Notes the run's process in its directory, for an engine that finds
    /// the run after this one died ([`end_abandoned`]).
    pub fn record(&self, run_dir: &Path) {
        let Some(pid) = self.id() else { return };
        let text = match self {
            #[cfg(unix)]
            ScriptProcess::Supervised(_) => format!("{pid} {SUPERVISOR_TAG}"),
            _ => pid.to_string(),
        };
        let _ = std::fs::write(run_dir.join(crate::run_folder::SCRIPT_PID), text);
    }
}

/// Marks a recorded process id as a cold-start supervisor's.
const SUPERVISOR_TAG: &str = "supervisor";

/// A cold-started run: its supervisor (`cold_start.py`), which leads the
/// run's process group and has the script as its child.
#[cfg(unix)]
#[derive(Debug)]
pub struct Supervisor {
    child: Child,
    exited: bool,
}

#[cfg(unix)]
impl Drop for Supervisor {
    /// Like `kill_on_drop`, but through the supervisor, so the script's
    /// descendants go with it.
    fn drop(&mut self) {
        if !self.exited {
            if let Some(pid) = self.child.id() {
                end_supervised_now(pid);
            }
        }
    }
}

/// Tells a cold-start supervisor to end its run at once.
#[cfg(unix)]
fn end_supervised_now(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGUSR1,
    );
}

#[cfg(unix)]
const COLD_START_SOURCE: &str = concat!(include_str!("reaper.py"), include_str!("cold_start.py"));

/// What to start: `python argv...` in `cwd` with exactly `env`.
#[derive(Debug)]
pub struct Invocation<'a> {
    pub python: &'a Path,
    pub sdk_dir: &'a Path,
    pub argv: Vec<OsString>,
    pub cwd: &'a Path,
    /// The environment every script of this host gets (the warm interpreter's own).
    pub base_env: Vec<(OsString, OsString)>,
    /// Added for this run only.
    pub run_env: Vec<(OsString, OsString)>,
    /// May the warm interpreter start it?
    pub warm: bool,
}

/// Starts a script in its own process group with piped stdio: forked by the
/// warm interpreter when one can serve it (Unix), else as a new interpreter.
pub async fn start(inv: Invocation<'_>) -> std::io::Result<Started> {
    #[cfg(unix)]
    if inv.warm {
        use tokio::net::unix::pipe;
        let mut env = inv.base_env.clone();
        env.extend(inv.run_env.iter().cloned());
        let (stdin, stdout, stderr) = (pipe_pair()?, pipe_pair()?, pipe_pair()?);
        let launch = super::warm::Launch {
            argv: inv.argv.clone(),
            cwd: inv.cwd,
            env,
        };
        let child_ends = [stdin.0, stdout.1, stderr.1];
        if let Some(forked) =
            super::warm::start(inv.python, inv.sdk_dir, &inv.base_env, launch, &child_ends).await
        {
            drop(child_ends);
            return Ok(Started {
                process: ScriptProcess::Forked(forked),
                stdio: ScriptStdio {
                    stdin: Box::new(pipe::Sender::from_owned_fd(stdin.1)?),
                    stdout: Box::new(pipe::Receiver::from_owned_fd(stdout.0)?),
                    stderr: Box::new(pipe::Receiver::from_owned_fd(stderr.0)?),
                },
            });
        }
    }
    let mut command = Command::new(inv.python);
    #[cfg(unix)]
    // The supervisor needs neither site-packages nor the script's PYTHON* settings.
    command
        .args(["-I", "-S", "-c", COLD_START_SOURCE])
        .arg(inv.python);
    command
        .args(&inv.argv)
        .current_dir(inv.cwd)
        .env_clear()
        .envs(inv.base_env.iter().chain(inv.run_env.iter()).map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // On Unix the supervisor's own drop ends the run, descendants included.
        .kill_on_drop(cfg!(not(unix)));
    isolate(&mut command);
    let mut child = command.spawn()?;
    let missing = || std::io::Error::other("the script's stdio pipes are missing");
    let stdio = ScriptStdio {
        stdin: Box::new(child.stdin.take().ok_or_else(missing)?),
        stdout: Box::new(child.stdout.take().ok_or_else(missing)?),
        stderr: Box::new(child.stderr.take().ok_or_else(missing)?),
    };
    #[cfg(unix)]
    let process = ScriptProcess::Supervised(Supervisor { child, exited: false });
    #[cfg(not(unix))]
    let process = ScriptProcess::Spawned(child);
    Ok(Started { process, stdio })
}

/// A pipe (read end, write end), closed on exec so other children do not inherit it.
#[cfg(unix)]
fn pipe_pair() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// Ends a run early: asks the whole group to stop, waits up to `grace`,
/// kills what is left, and then every process carrying the run's `mark`.
/// Returns once the child has been reaped.
pub async fn terminate(child: &mut ScriptProcess, grace: Duration, mark: &Path) {
    terminate_group(child, grace).await;
    end_marked(mark);
}

async fn terminate_group(child: &mut ScriptProcess, grace: Duration) {
    #[cfg(unix)]
    {
        use nix::sys::signal::Signal;
        if let Some(pid) = child.id() {
            // A cold-start supervisor ignores this; the script and its group get it.
            signal_group(pid, Signal::SIGTERM);
            let mut ended = tokio::time::timeout(grace, child.wait()).await.is_ok();
            if !ended && matches!(child, ScriptProcess::Supervised(_)) {
                // Past the grace: the supervisor kills the script and every descendant.
                end_supervised_now(pid);
                ended = tokio::time::timeout(SUPERVISOR_GRACE, child.wait()).await.is_ok();
            }
            // The leader is gone (or would not go); members that ignored SIGTERM are not.
            signal_group(pid, Signal::SIGKILL);
            if ended {
                return;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = grace;
        let ScriptProcess::Spawned(c) = child;
        let _ = c.start_kill();
    }
    let _ = child.wait().await;
}

/// How long a cold-start supervisor gets to end its run when told to.
#[cfg(unix)]
const SUPERVISOR_GRACE: Duration = Duration::from_secs(2);

/// Kills whatever the script left running after it exited: what is still in
/// its group, and every process carrying the run's `mark`.
pub fn reap_group(pid: Option<u32>, mark: &Path) {
    if let Some(pid) = pid {
        kill_group(pid);
    }
    end_marked(mark);
}

/// The environment variable that marks every process of one run (value: the run's directory).
pub const RUN_MARK_ENV: &str = "PROVISIO_RUN_MARK";

/// Kills every process of this user whose environment carries `RUN_MARK_ENV=mark`
/// (never this process). Repeats until none is left (a killed process stops
/// showing its environment once it is dead), so children forked while it
/// kills are found too; gives up after about 2 s. Returns how many kills it sent.
pub fn end_marked(mark: &Path) -> usize {
    #[cfg(target_os = "linux")]
    {
        let mut needle = format!("{RUN_MARK_ENV}=").into_bytes();
        needle.extend_from_slice(mark.as_os_str().as_encoded_bytes());
        needle.push(0);
        let me = std::process::id();
        let mut killed = 0;
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(2);
        while started.elapsed() < Duration::from_secs(2) {
            let found = marked_processes(&needle, me);
            if found.is_empty() {
                break;
            }
            for pid in found {
                let pid = nix::unistd::Pid::from_raw(pid as i32);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                killed += 1;
            }
            // On a busy machine a killed process takes a moment to die.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
        killed
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = mark;
        0
    }
}

/// Processes whose environment holds `needle` (`NAME=value\0`).
#[cfg(target_os = "linux")]
fn marked_processes(needle: &[u8], me: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        // Other users' processes are unreadable: they are not ours to end.
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let starts_entry = |at: usize| at == 0 || environ[at - 1] == 0;
        if memchr::memmem::find_iter(&environ, needle).any(starts_entry) {
            // A zombie keeps its environ readable no more; a live one is killed.
            found.push(pid);
        }
    }
    found
}

/// Ends what is left of a run whose engine died: the script's group (its id
/// was kept in the run directory, see [`ScriptProcess::record`]) and every
/// process carrying the run's mark. A cold-started run's supervisor is told
/// to end the run first, so the script's descendants go with it.
pub fn end_abandoned(run_dir: &Path) {
    let recorded = std::fs::read_to_string(run_dir.join(crate::run_folder::SCRIPT_PID)).unwrap_or_default();
    let mut words = recorded.split_whitespace();
    // The id may have been reused since: only a process still in the run's directory is its script.
    let pid = words
        .next()
        .and_then(|text| text.parse::<u32>().ok())
        .filter(|pid| runs_in(*pid, run_dir));
    #[cfg(unix)]
    if let Some(pid) = pid.filter(|_| words.next() == Some(SUPERVISOR_TAG)) {
        end_supervised_now(pid);
        let since = std::time::Instant::now();
        while runs_in(pid, run_dir) && since.elapsed() < SUPERVISOR_GRACE {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    reap_group(pid, run_dir);
}

/// Is `pid` alive with `dir` as its working directory? (Linux; elsewhere: is it alive.)
fn runs_in(pid: u32, dir: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        is_alive(pid)
    }
}

/// Environment variables a script may inherit; everything else is cleared.
pub const ENV_ALLOW_LIST: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    // Windows needs these for Python to start at all.
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "WINDIR",
    "TEMP",
    "TMP",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
    "PATHEXT",
    "COMSPEC",
];
