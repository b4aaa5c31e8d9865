//! Process groups and signals, per platform: how a script and a background
//! run are started apart from the engine and the terminal, and the
//! primitives both the script host's supervision ([`super::process`]) and
//! the warm interpreter's forked runs ([`super::warm`]) end runs with.

/// CREATE_NEW_PROCESS_GROUP (Windows): the console's Ctrl+C does not reach the child.
#[cfg(windows)]
const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;

/// Makes a script's command start in its own process group, which the host
/// signals as a whole.
pub fn isolate(command: &mut tokio::process::Command) {
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(windows)]
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

/// Makes a background engine process (a run that goes on after `provisio
/// task run` returns) independent of the terminal that started it: its
/// Ctrl+C, and on Windows its console closing, do not end the run.
pub fn detach(command: &mut std::process::Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        // DETACHED_PROCESS: no console to close under it.
        const DETACHED_PROCESS: u32 = 0x0000_0008;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS);
    }
}

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
