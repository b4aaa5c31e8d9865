//! The one place that knows how a platform groups, signals and checks
//! processes. A script may start children of its own; stopping a run must
//! stop them all, so every script runs as the leader of a new process group
//! (Unix) and the whole group is signalled. A Windows build puts the child in
//! a new process group here and terminates it; a job object (so grandchildren
//! die too) belongs in this module when we build for Windows.

use std::time::Duration;

use tokio::process::{Child, Command};

/// Makes the command start in its own process group.
pub fn isolate(command: &mut Command) {
    #[cfg(unix)]
    {
        command.process_group(0);
    }
    #[cfg(windows)]
    {
        // CREATE_NEW_PROCESS_GROUP
        command.creation_flags(0x0000_0200);
    }
}

/// Asks the whole group to stop, waits up to `grace`, then kills what is left.
/// Returns once the child has been reaped.
pub async fn terminate(child: &mut Child, grace: Duration) {
    #[cfg(unix)]
    {
        if let Some(pid) = child.id() {
            signal_group(pid, nix::sys::signal::Signal::SIGTERM);
            if tokio::time::timeout(grace, child.wait()).await.is_ok() {
                // The leader is gone; members that ignored SIGTERM are not.
                signal_group(pid, nix::sys::signal::Signal::SIGKILL);
                return;
            }
            signal_group(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    {
        let _ = grace;
        let _ = child.start_kill();
    }
    let _ = child.wait().await;
}

/// Kills whatever the script left running in its group after it exited.
pub fn reap_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid {
        signal_group(pid, nix::sys::signal::Signal::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

#[cfg(unix)]
fn signal_group(pid: u32, signal: nix::sys::signal::Signal) {
    // ESRCH (group already gone) is the normal case after a clean exit.
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), signal);
}

/// Is a process with this id still running? Used to find runs whose owner died.
pub fn is_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None) {
            Ok(()) => true,
            Err(nix::errno::Errno::EPERM) => true,
            Err(_) => false,
        }
    }
    #[cfg(not(unix))]
    {
        // Without a check, a run is only taken for dead when its process id is ours.
        pid != std::process::id()
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
