//! File-system behaviour that differs between platforms, in one place:
//! who may read the data directory, and opening a file a script named
//! without letting it block the engine.
//!
//! # Who may read the data directory
//! The database, run outputs (full HR extracts) and logs are the user's
//! alone. On Unix the engine sets its umask to `077` when it opens a data
//! directory, so everything it, SQLite and the scripts it starts create is
//! `0600` (folders `0700`), and it tightens a directory created by an older
//! version once. On Windows the data directory lives under the user's
//! profile (`%APPDATA%`), whose inherited ACL already grants only the user,
//! SYSTEM and Administrators; the Windows build will additionally set a
//! protected DACL (user: full control, no inheritance) on the data directory
//! when creating it, through `SetNamedSecurityInfoW`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Permission bits of the data directory and its folders (Unix).
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Permission bits of every file in the data directory (Unix).
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Makes the data directory the user's alone: the process umask, the folder
/// itself, and (once, when an older version left it readable to others)
/// everything already in it.
pub fn make_private(data_dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
        let mode = std::fs::metadata(data_dir)?.permissions().mode() & 0o777;
        if mode != PRIVATE_DIR_MODE {
            tighten_tree(data_dir)?;
        }
    }
    #[cfg(not(unix))]
    let _ = data_dir;
    Ok(())
}

/// `0700` on folders and `0600` on files below `dir` (symlinks untouched).
#[cfg(unix)]
fn tighten_tree(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR_MODE))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            tighten_tree(&entry.path())?;
        } else if kind.is_file() {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(PRIVATE_FILE_MODE))?;
        }
    }
    Ok(())
}

/// Opens a file a script wrote (its output, error file, log) for reading,
/// refusing anything but a regular file. Opening never waits: a FIFO in
/// place of the output would otherwise block the open until someone writes
/// to it, which may be never.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits());
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is not a regular file (a FIFO, device or folder stands in its place); scripts must write plain files",
        ));
    }
    #[cfg(unix)]
    {
        // Regular files never block; reads go back to the usual mode.
        use std::os::fd::AsFd;
        let flags = nix::fcntl::fcntl(file.as_fd(), nix::fcntl::FcntlArg::F_GETFL)
            .map(nix::fcntl::OFlag::from_bits_truncate)
            .map_err(std::io::Error::from)?;
        nix::fcntl::fcntl(
            file.as_fd(),
            nix::fcntl::FcntlArg::F_SETFL(flags - nix::fcntl::OFlag::O_NONBLOCK),
        )
        .map_err(std::io::Error::from)?;
    }
    Ok(file)
}

/// At most `limit` bytes of a regular file, as text (lossy). A missing file reads as empty.
pub fn read_regular_prefix(path: &Path, limit: u64) -> std::io::Result<String> {
    let file = match open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("output.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = open_regular(&fifo).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let plain = dir.path().join("plain.json");
        std::fs::write(&plain, b"[]").unwrap();
        let mut text = String::new();
        open_regular(&plain).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "[]");
        assert_eq!(read_regular_prefix(&dir.path().join("none"), 10).unwrap(), "");
    }
}

/// Raises this process's soft limit of open files towards its hard limit
/// (at most 65,536) and returns the soft limit now in force, so that a
/// server can keep its connections well below it. A desktop session often
/// starts programs with a soft limit of 1,024 and a far higher hard one.
/// Windows has no such per-process table for sockets: `None`.
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{getrlimit, setrlimit, Resource};
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
        let wanted = hard.min(65_536);
        if wanted > soft && setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).is_ok() {
            return Some(wanted);
        }
        Some(soft)
    }
    #[cfg(not(unix))]
    None
}

/// The operating-system user this process runs as, for the audit: on Unix
/// the account of the process's user id (the environment can say anything),
/// on Windows `USERNAME`; `unknown` when neither tells.
pub fn os_user() -> String {
    #[cfg(unix)]
    {
        if let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::getuid()) {
            return user.name;
        }
    }
    let var = if cfg!(windows) { "USERNAME" } else { "USER" };
    std::env::var(var)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}
