//! Signalling a process and its group, per platform: the primitives both
//! the script host's supervision ([`super::process`]) and the warm
//! interpreter's forked runs ([`super::warm`]) end runs with.

/// Kills a script's whole group at once (a run dropped or orphaned).
pub fn kill_group(pid: u32) {
    #[cfg(unix)]
    signal_group(pid, nix::sys::signal::Signal::SIGKILL);
    #[cfg(not(unix))]
    let _ = pid;
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

#[cfg(unix)]
pub(super) fn signal_group(pid: u32, signal: nix::sys::signal::Signal) {
    // ESRCH (group already gone) is the normal case after a clean exit.
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), signal);
}
