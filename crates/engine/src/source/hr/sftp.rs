//! Fetching an HR file over SFTP: the server's host key is checked (pinned by
//! `sftp_host_key_fingerprint`, or trusted on first use and enforced from
//! then on), the one file whose name matches the connector's pattern is
//! downloaded into the run's directory, and after the load committed it is
//! moved to `sftp_remote_path_archive` on the server.
//!
//! The calls block (libssh2); the source runs them on a blocking thread.
//! Everything the server says (file names above all) is hostile: names are
//! only ever compared with the pattern and joined to the configured remote
//! folders, never to a local path.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use ssh2::{HashType, Session, Sftp};

use crate::model::hr::{CaseFacts, HrSftp, ReportCase};
use crate::secrets::Sensitive;
use crate::source::ExtractError;

/// How long connecting, the handshake and each SFTP call may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The run-directory file naming the remote file a run fetched, for the commit.
pub const REMOTE_FILE: &str = "sftp-file.txt";

/// The connector-folder file that records host keys trusted on first use.
pub const KNOWN_HOSTS: &str = "sftp_known_hosts";

/// How the connector logs in: a password, a private key, or both (the key is tried first).
#[derive(Debug, Default)]
pub struct SftpLogin {
    pub password: Option<Sensitive<String>>,
    /// The key's text (`-----BEGIN …`), or the path of a key file (relative to the connector's folder).
    pub private_key: Option<Sensitive<String>>,
    pub passphrase: Option<Sensitive<String>>,
}

/// An SFTP server to fetch from, with its login and where trusted keys are kept.
#[derive(Debug)]
pub struct SftpFetch {
    pub server: HrSftp,
    pub login: SftpLogin,
    /// The connector's folder: its known-hosts file and relative key paths.
    pub folder: PathBuf,
    /// The largest file fetched (`hr_max_file_mb`).
    pub caps: super::SizeCaps,
}

/// A file fetched into the run's directory.
#[derive(Debug)]
pub struct Fetched {
    pub local: PathBuf,
    pub remote: String,
}

impl SftpFetch {
    fn address(&self) -> String {
        format!("{}:{}", self.server.server, self.server.port)
    }

    fn failed(&self, what: &str, e: impl std::fmt::Display) -> ExtractError {
        ExtractError::Failed(format!("SFTP server {}: {what}: {e}", self.address()))
    }

    /// Connects, checks the host key and logs in.
    fn open(&self) -> Result<Sftp, ExtractError> {
        let addr = (self.server.server.as_str(), self.server.port)
            .to_socket_addrs()
            .map_err(|e| self.failed("cannot resolve the name", e))?
            .next()
            .ok_or_else(|| self.failed("cannot resolve the name", "no address"))?;
        let tcp = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| self.failed("cannot connect", e))?;
        let mut session = Session::new().map_err(|e| self.failed("cannot start SSH", e))?;
        session.set_tcp_stream(tcp);
        session.set_timeout(TIMEOUT.as_millis() as u32);
        session
            .handshake()
            .map_err(|e| self.failed("the SSH handshake failed", e))?;
        let key = session
            .host_key_hash(HashType::Sha256)
            .ok_or_else(|| self.failed("checking the host key", "the server sent none"))?;
        let seen = format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(key)
        );
        self.check_host_key(&seen)?;
        self.log_in(&session)?;
        session.sftp().map_err(|e| self.failed("cannot open SFTP", e))
    }

    /// Pinned fingerprint, else the one recorded on first use, else record this one.
    fn check_host_key(&self, seen: &str) -> Result<(), ExtractError> {
        let refused = |expected: &str, from: &str| {
            ExtractError::Failed(format!(
                "SFTP server {}: the host key is {seen}, but {from} says {expected}; nothing was fetched. \
                 If the server's key was changed on purpose, {}",
                self.address(),
                if from == "sftp_host_key_fingerprint" {
                    "set sftp_host_key_fingerprint to the new one".to_string()
                } else {
                    format!("remove its line from {}", self.known_hosts().display())
                }
            ))
        };
        if let Some(pinned) = &self.server.host_key_fingerprint {
            return if same_fingerprint(pinned, seen) {
                Ok(())
            } else {
                Err(refused(pinned, "sftp_host_key_fingerprint"))
            };
        }
        let file = self.known_hosts();
        let known = std::fs::read_to_string(&file).unwrap_or_default();
        let host = self.address();
        if let Some(recorded) = known
            .lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(h, _)| *h == host)
            .map(|(_, k)| k.trim())
        {
            return if same_fingerprint(recorded, seen) {
                Ok(())
            } else {
                Err(refused(recorded, &file.display().to_string()))
            };
        }
        // Trust on first use: recorded now, enforced from the next run on.
        tracing::info!(server = %host, fingerprint = %seen, "SFTP host key trusted on first use");
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .and_then(|mut f| writeln!(f, "{host} {seen}").map(|_| f));
        if let Err(e) = out.as_mut() {
            return Err(self.failed(&format!("cannot record the host key in {}", file.display()), e));
        }
        Ok(())
    }

    fn known_hosts(&self) -> PathBuf {
        self.folder.join(KNOWN_HOSTS)
    }

    fn log_in(&self, session: &Session) -> Result<(), ExtractError> {
        let user = &self.server.username;
        let mut tried = Vec::new();
        if let Some(key) = &self.login.private_key {
            let passphrase = self.login.passphrase.as_ref().map(|p| p.expose().as_str());
            let key = key.expose().trim();
            let result = if key.starts_with("-----BEGIN") {
                session.userauth_pubkey_memory(user, None, &format!("{key}\n"), passphrase)
            } else {
                // Checked at save already; here the file itself (a symlink too) must be in the folder.
                let path = self.folder.join(key);
                let inside = crate::source::hr::parameters::confined(key)
                    && std::fs::canonicalize(&path)
                        .ok()
                        .zip(std::fs::canonicalize(&self.folder).ok())
                        .is_some_and(|(file, folder)| file.starts_with(folder));
                if !inside {
                    return Err(ExtractError::Failed(
                        "sftp_private_key: the key file must be in the connector's folder; nothing was fetched".into(),
                    ));
                }
                session.userauth_pubkey_file(user, None, &path, passphrase)
            };
            match result {
                Ok(()) if session.authenticated() => return Ok(()),
                Ok(()) => tried.push("private key".to_string()),
                Err(e) => tried.push(format!("private key ({})", e.message())),
            }
        }
        if let Some(password) = &self.login.password {
            match session.userauth_password(user, password.expose()) {
                Ok(()) if session.authenticated() => return Ok(()),
                _ => tried.push("password".to_string()),
            }
        }
        Err(ExtractError::Failed(format!(
            "SFTP server {}: the login of user '{user}' was refused (tried: {}); check sftp_username and its password or key",
            self.address(),
            tried.join(", ")
        )))
    }

    /// Downloads the one file in `sftp_remote_path_data` whose name matches `pattern`.
    pub fn fetch(
        &self,
        pattern: &str,
        into: &Path,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<Fetched, ExtractError> {
        let matcher = glob::Pattern::new(pattern).map_err(|e| {
            ExtractError::Failed(format!("file_path '{pattern}' is not a valid pattern: {e}"))
        })?;
        let sftp = self.open()?;
        let folder = self.server.remote_path_data.trim_end_matches('/');
        let folder = if folder.is_empty() { "/" } else { folder };
        let entries = sftp
            .readdir(Path::new(folder))
            .map_err(|e| self.failed(&format!("cannot list {folder}"), e))?;
        let mut names: Vec<String> = entries
            .into_iter()
            .filter(|(_, stat)| stat.is_file())
            .filter_map(|(path, _)| path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .filter(|name| safe_name(name) && matcher.matches(name))
            .collect();
        names.sort();
        let name = match names.as_slice() {
            [] => {
                let place = format!("{folder} on SFTP server {}", self.address());
                return Err(ExtractError::Case(
                    ReportCase::FileNotReceived,
                    format!("file not received: nothing matches '{pattern}' in {place}"),
                    CaseFacts::new(
                        "file_not_received_sftp",
                        &[
                            ("pattern", pattern.to_string()),
                            ("folder", folder.to_string()),
                            ("server", self.address()),
                        ],
                    ),
                ));
            }
            [one] => one.clone(),
            many => {
                let place = format!("{folder} on SFTP server {}", self.address());
                return Err(ExtractError::Case(
                    ReportCase::MultipleFiles,
                    format!(
                        "multiple files match '{pattern}' in {place} ({}); nothing was loaded. Leave one file and run the task again",
                        many.join(", ")
                    ),
                    CaseFacts::new(
                        "multiple_files",
                        &[("pattern", pattern.to_string()), ("files", many.join(", "))],
                    ),
                ));
            }
        };
        let remote = format!("{}/{name}", folder.trim_end_matches('/'));
        let mut file = sftp
            .open(Path::new(&remote))
            .map_err(|e| self.failed(&format!("cannot open {remote}"), e))?;
        // Refused before a byte is fetched when the server tells the size; counted either way.
        let shown = format!("{remote} on SFTP server {}", self.address());
        if let Some(size) = file.stat().ok().and_then(|s| s.size) {
            self.caps.check_file(&shown, size).map_err(ExtractError::Failed)?;
        }
        let mut fetched = 0u64;
        // The local name is ours; only the extension (which tells the format) comes from the server.
        let local = into.join(format!("fetched.{}", extension(&name)));
        let mut out = std::fs::File::create(&local)
            .map_err(|e| ExtractError::Failed(format!("cannot write {}: {e}", local.display())))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            if *stop.borrow() {
                return Err(ExtractError::Stopped);
            }
            let n = file
                .read(&mut buf)
                .map_err(|e| self.failed(&format!("reading {remote} stopped"), e))?;
            if n == 0 {
                break;
            }
            fetched += n as u64;
            if let Err(e) = self.caps.check_file(&shown, fetched) {
                drop(out);
                let _ = std::fs::remove_file(&local);
                return Err(ExtractError::Failed(e));
            }
            out.write_all(&buf[..n])
                .map_err(|e| ExtractError::Failed(format!("cannot write {}: {e}", local.display())))?;
        }
        out.sync_all()
            .map_err(|e| ExtractError::Failed(format!("cannot write {}: {e}", local.display())))?;
        std::fs::write(into.join(REMOTE_FILE), &remote)
            .map_err(|e| ExtractError::Failed(format!("cannot write the run's files: {e}")))?;
        tracing::info!(%remote, server = %self.address(), "HR file fetched over SFTP");
        Ok(Fetched { local, remote })
    }

    /// After the commit: moves the fetched file into `sftp_remote_path_archive`
    /// (under a run-stamped name when that folder already has one of its name).
    pub fn archive(&self, run_dir: &Path, stamp: &str) -> Result<(), String> {
        let Some(archive) = &self.server.remote_path_archive else {
            return Ok(());
        };
        let Ok(remote) = std::fs::read_to_string(run_dir.join(REMOTE_FILE)) else {
            return Ok(());
        };
        let data = self.server.remote_path_data.trim_end_matches('/');
        let Some(name) = remote.strip_prefix(data).map(|n| n.trim_start_matches('/')) else {
            return Err(format!("the fetched file {remote} is not in {data}"));
        };
        if !safe_name(name) {
            return Err(format!("the fetched file {remote} has an unexpected name"));
        }
        let sftp = self.open().map_err(|e| match e {
            ExtractError::Failed(m) | ExtractError::Interrupted(m) | ExtractError::Case(_, m, _) => m,
            ExtractError::Stopped => "stopped".into(),
        })?;
        let archive = archive.trim_end_matches('/');
        let target = format!("{archive}/{name}");
        let from = Path::new(&remote);
        if sftp.rename(from, Path::new(&target), None).is_ok() {
            return Ok(());
        }
        let stamped = format!("{archive}/{name}.{stamp}");
        sftp.rename(from, Path::new(&stamped), None).map_err(|e| {
            format!(
                "the file {remote} could not be moved to {archive} on SFTP server {}: {e}; move it there by hand before the next run",
                self.address()
            )
        })
    }
}

/// A remote file name the engine accepts: one path component, printable.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

/// The file's extension in lower case when it is a plain word, else `txt` (read as CSV).
fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((_, ext))
            if !ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            ext.to_ascii_lowercase()
        }
        _ => "txt".into(),
    }
}

/// Compares fingerprints as OpenSSH prints them, with or without the
/// `SHA256:` prefix and base64 padding.
fn same_fingerprint(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim();
        s.strip_prefix("SHA256:")
            .unwrap_or(s)
            .trim_end_matches('=')
            .to_string()
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_compare_with_or_without_prefix_and_padding() {
        assert!(same_fingerprint("SHA256:abcd", "abcd="));
        assert!(!same_fingerprint("SHA256:abcd", "SHA256:abce"));
    }

    #[test]
    fn server_names_that_leave_the_folder_are_refused() {
        for bad in ["", ".", "..", "../x.csv", "a/b.csv", "a\\b.csv", "x\n.csv"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        assert!(safe_name("workperiod_2026.csv"));
        assert_eq!(extension("w.CSV"), "csv");
        assert_eq!(extension("w.c$v"), "txt");
        assert_eq!(extension("noext"), "txt");
    }
}
