//! Warm interpreter starts (Unix): one long-lived Python process per
//! interpreter and SDK directory forks a child for each run instead of the
//! host starting a new interpreter. A run then skips Python's start-up —
//! tens of milliseconds, most of a trivial run's cost, on machines whose
//! site-packages run `.pth` hooks — which is what lets a burst of scheduled
//! runs drain quickly on a small machine.
//!
//! The child is started as the script contract says (`warm_start.py` explains
//! the protocol): own process group, the run's argv, working directory and
//! environment, stdio on pipes the host owns. Exit statuses come back over
//! the socket. Whenever the warm interpreter cannot serve a run (not started,
//! crashed, too old for `socket.recv_fds`), the host falls back to a normal
//! start, so warm starts are an optimisation only.
//!
//! The socket is served by a plain thread, not a tokio task, because one
//! warm interpreter outlives the runtime that first used it (tests, the CLI).

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, IoSlice, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

const SOURCE: &str = concat!(include_str!("reaper.py"), include_str!("warm_start.py"));
/// How long to wait for the warm interpreter to confirm a start.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// After a warm interpreter failed, normal starts are used for this long.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// What a run asks the warm interpreter to start.
#[derive(Debug)]
pub struct Launch<'a> {
    pub argv: Vec<OsString>,
    pub cwd: &'a Path,
    pub env: Vec<(OsString, OsString)>,
}

/// A script started by the warm interpreter.
#[derive(Debug)]
pub struct Forked {
    pid: u32,
    exit: Option<oneshot::Receiver<i32>>,
    status: Option<ExitStatus>,
}

impl Forked {
    pub fn id(&self) -> u32 {
        self.pid
    }

    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        if let Some(s) = self.status {
            return Ok(s);
        }
        let Some(rx) = self.exit.as_mut() else {
            return Err(std::io::Error::other("the script's exit status is unknown"));
        };
        match rx.await {
            Ok(raw) => {
                let s = ExitStatus::from_raw(raw);
                self.status = Some(s);
                self.exit = None;
                Ok(s)
            }
            Err(_) => {
                self.exit = None;
                // The warm interpreter died and cannot tell: make sure the run is gone.
                super::group::kill_group(self.pid);
                Err(std::io::Error::other(
                    "the warm interpreter ended while the script was running",
                ))
            }
        }
    }
}

impl Drop for Forked {
    /// Like `kill_on_drop`: a run whose future is dropped leaves nothing behind.
    fn drop(&mut self) {
        if self.status.is_none() {
            super::group::kill_group(self.pid);
        }
    }
}

#[derive(Default)]
struct Routes {
    /// The reply to the one request in flight.
    start: Option<oneshot::Sender<Result<u32, String>>>,
    exits: HashMap<u32, oneshot::Sender<i32>>,
    /// Exits that arrived before their run registered (a very short script).
    early: HashMap<u32, i32>,
    dead: bool,
}

/// One warm interpreter and the engine's end of its socket.
struct Zygote {
    socket: Mutex<UnixStream>,
    routes: Arc<Mutex<Routes>>,
    /// One request at a time: the reply carries no request id.
    request: tokio::sync::Mutex<()>,
}

type Key = (PathBuf, PathBuf);

enum Slot {
    Running(Arc<Zygote>),
    Failed(Instant),
}

static ZYGOTES: Mutex<Option<HashMap<Key, Slot>>> = Mutex::new(None);

/// Starts a script through the warm interpreter for `python` and `sdk_dir`;
/// `None` when it cannot, so the caller starts the script normally.
pub async fn start(
    python: &Path,
    sdk_dir: &Path,
    base_env: &[(OsString, OsString)],
    launch: Launch<'_>,
    stdio: &[OwnedFd; 3],
) -> Option<Forked> {
    // A warm interpreter that left while idle just as this request came is
    // replaced once; one that fails otherwise is given a rest (see `fail`).
    for retry in [true, false] {
        let zygote = zygote(python, sdk_dir, base_env)?;
        match attempt(&zygote, &launch, stdio).await {
            Attempt::Started(forked) => return Some(forked),
            Attempt::Gone if retry => mark_dead(&zygote),
            Attempt::Gone | Attempt::Broken => {
                fail(python, sdk_dir, &zygote);
                break;
            }
        }
    }
    None
}

enum Attempt {
    Started(Forked),
    /// The warm interpreter had ended (idle, killed): a new one may serve.
    Gone,
    /// It answered wrongly or not at all.
    Broken,
}

async fn attempt(zygote: &Zygote, launch: &Launch<'_>, stdio: &[OwnedFd; 3]) -> Attempt {
    use std::os::unix::process::ExitStatusExt;
    let _one = zygote.request.lock().await;
    let (tx, rx) = oneshot::channel();
    {
        let Ok(mut routes) = zygote.routes.lock() else {
            return Attempt::Broken;
        };
        if routes.dead {
            return Attempt::Gone;
        }
        routes.start = Some(tx);
    }
    if send(zygote, launch, stdio).is_err() {
        return Attempt::Gone;
    }
    let pid = match tokio::time::timeout(START_TIMEOUT, rx).await {
        Ok(Ok(Ok(pid))) => pid,
        // The reader saw the socket close before an answer.
        Ok(Err(_)) => return Attempt::Gone,
        Ok(Ok(Err(_))) | Err(_) => return Attempt::Broken,
    };
    let Ok(mut routes) = zygote.routes.lock() else {
        return Attempt::Broken;
    };
    if let Some(raw) = routes.early.remove(&pid) {
        return Attempt::Started(Forked {
            pid,
            exit: None,
            status: Some(ExitStatus::from_raw(raw)),
        });
    }
    let (exit_tx, exit_rx) = oneshot::channel();
    routes.exits.insert(pid, exit_tx);
    Attempt::Started(Forked {
        pid,
        exit: Some(exit_rx),
        status: None,
    })
}

fn send(zygote: &Zygote, launch: &Launch, stdio: &[OwnedFd; 3]) -> std::io::Result<()> {
    let text = |s: &OsString| String::from_utf8_lossy(s.as_bytes()).into_owned();
    let request = serde_json::json!({
        "argv": launch.argv.iter().map(text).collect::<Vec<_>>(),
        "cwd": launch.cwd.to_string_lossy(),
        "env": launch.env.iter().map(|(k, v)| (text(k), serde_json::Value::String(text(v))))
            .collect::<serde_json::Map<_, _>>(),
    });
    let mut line = request.to_string().into_bytes();
    line.push(b'\n');
    let socket = zygote
        .socket
        .lock()
        .map_err(|_| std::io::Error::other("poisoned"))?;
    let fds = [stdio[0].as_raw_fd(), stdio[1].as_raw_fd(), stdio[2].as_raw_fd()];
    let sent = nix::sys::socket::sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(&line)],
        &[nix::sys::socket::ControlMessage::ScmRights(&fds)],
        nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    (&*socket).write_all(&line[sent..])
}

/// Ends the engine's side of a warm interpreter; the next start makes a new one.
fn mark_dead(zygote: &Zygote) {
    if let Ok(mut r) = zygote.routes.lock() {
        r.dead = true;
    }
    if let Ok(s) = zygote.socket.lock() {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
}

/// Marks warm starts unusable for this key; normal starts are used for a while.
fn fail(python: &Path, sdk_dir: &Path, zygote: &Zygote) {
    mark_dead(zygote);
    if let Ok(mut all) = ZYGOTES.lock() {
        all.get_or_insert_with(HashMap::new).insert(
            (python.to_path_buf(), sdk_dir.to_path_buf()),
            Slot::Failed(Instant::now()),
        );
    }
}

/// The running warm interpreter for this key, started when there is none.
fn zygote(python: &Path, sdk_dir: &Path, base_env: &[(OsString, OsString)]) -> Option<Arc<Zygote>> {
    let mut all = ZYGOTES.lock().ok()?;
    let all = all.get_or_insert_with(HashMap::new);
    let key = (python.to_path_buf(), sdk_dir.to_path_buf());
    match all.get(&key) {
        Some(Slot::Running(z)) if !z.routes.lock().map(|r| r.dead).unwrap_or(true) => return Some(z.clone()),
        Some(Slot::Failed(at)) if at.elapsed() < RETRY_AFTER => return None,
        _ => {}
    }
    match spawn(python, base_env) {
        Ok(z) => {
            all.insert(key, Slot::Running(z.clone()));
            Some(z)
        }
        Err(_) => {
            all.insert(key, Slot::Failed(Instant::now()));
            None
        }
    }
}

fn spawn(python: &Path, base_env: &[(OsString, OsString)]) -> std::io::Result<Arc<Zygote>> {
    let (ours, theirs) = UnixStream::pair()?;
    let mut command = std::process::Command::new(python);
    command
        .arg("-c")
        .arg(SOURCE)
        .env_clear()
        .envs(base_env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::from(OwnedFd::from(theirs)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    {
        use std::os::unix::process::CommandExt;
        // Its own group: a Ctrl-C meant for the CLI does not reach it or its runs.
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    let routes: Arc<Mutex<Routes>> = Arc::default();
    let reader = ours.try_clone()?;
    let thread_routes = routes.clone();
    std::thread::Builder::new()
        .name("provisio-warm-python".into())
        .spawn(move || {
            route_replies(reader, &thread_routes);
            let _ = child.kill();
            let _ = child.wait();
        })?;
    Ok(Arc::new(Zygote {
        socket: Mutex::new(ours),
        routes,
        request: tokio::sync::Mutex::new(()),
    }))
}

/// Reads replies until the warm interpreter closes its end, then wakes every waiter.
fn route_replies(reader: UnixStream, routes: &Mutex<Routes>) {
    let mut lines = BufReader::new(reader);
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Ok(reply) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let Ok(mut r) = routes.lock() else { break };
        if let Some(pid) = reply["started"].as_u64() {
            if let Some(tx) = r.start.take() {
                let _ = tx.send(Ok(pid as u32));
            }
        } else if let Some(e) = reply["error"].as_str() {
            if let Some(tx) = r.start.take() {
                let _ = tx.send(Err(e.to_string()));
            }
        } else if let (Some(pid), Some(status)) = (reply["exited"].as_u64(), reply["status"].as_i64()) {
            match r.exits.remove(&(pid as u32)) {
                Some(tx) => {
                    let _ = tx.send(status as i32);
                }
                None => {
                    r.early.insert(pid as u32, status as i32);
                }
            }
        }
    }
    if let Ok(mut r) = routes.lock() {
        r.dead = true;
        r.start = None;
        r.exits.clear();
    }
}
