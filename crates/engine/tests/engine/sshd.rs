//! A real OpenSSH server on 127.0.0.1 for the SFTP tests, started per test
//! with its own host key, port and folders. It runs as root (as these tests
//! do) and lets one user in: `provisio-sftp`, which tools/setup-machine.sh
//! creates without a usable password; the first server of a test process
//! gives it a fresh random password, known only to that process.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const USER: &str = "provisio-sftp";
const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    child: Child,
    pub port: u16,
    /// The host key's fingerprint as `ssh-keygen -l` prints it (`SHA256:…`).
    pub fingerprint: String,
    /// The private key the server accepts for [`USER`], in OpenSSH format.
    pub client_key: String,
    /// The remote folders `/…/data` and `/…/archive`, owned by [`USER`].
    pub data: PathBuf,
    pub archive: PathBuf,
    _dir: TempDir,
}

/// The user's password for this test process.
pub fn password() -> &'static str {
    static PASSWORD: OnceLock<String> = OnceLock::new();
    PASSWORD.get_or_init(|| {
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd (the SFTP tests run as root)");
        use std::io::Write;
        writeln!(chpasswd.stdin.take().unwrap(), "{USER}:{password}").unwrap();
        assert!(chpasswd.wait().unwrap().success(), "chpasswd failed for {USER}");
        password
    })
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn keygen(path: &Path) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "provisio-test", "-f"])
        .arg(path));
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Sshd {
    pub fn start() -> Sshd {
        assert!(
            run(Command::new("id").arg("-u")).trim() == "0",
            "the SFTP tests start sshd for the user {USER}, which needs root"
        );
        let uid = run(Command::new("id").args(["-u", USER]));
        let uid: u32 = uid.trim().parse().unwrap_or_else(|_| {
            panic!("the user {USER} is missing: run tools/setup-machine.sh, which creates it")
        });
        password();
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o755);
        let host_key = dir.path().join("host_key");
        keygen(&host_key);
        let listed = run(Command::new("ssh-keygen")
            .arg("-lf")
            .arg(host_key.with_extension("pub")));
        let fingerprint = listed.split_whitespace().nth(1).unwrap().to_string();
        let client = dir.path().join("client_key");
        keygen(&client);
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(client.with_extension("pub"), &authorized).unwrap();
        set_mode(&authorized, 0o644);
        let (data, archive) = (dir.path().join("data"), dir.path().join("archive"));
        for d in [&data, &archive] {
            std::fs::create_dir(d).unwrap();
            std::os::unix::fs::chown(d, Some(uid), None).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile none\nUsePAM no\n\
                 PasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 AuthorizedKeysFile {}\nStrictModes no\nAllowUsers {USER}\nSubsystem sftp internal-sftp\n\
                 LogLevel ERROR\n",
                host_key.display(),
                authorized.display()
            ),
        )
        .unwrap();
        // sshd refuses to start without its privilege-separation folder.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Its log (our readiness probe shows up there too) stays out of the test output.
            .stderr(std::fs::File::create(dir.path().join("sshd.log")).unwrap())
            .spawn()
            .expect("sshd (openssh-server, installed by tools/setup-machine.sh)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "sshd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Sshd {
            child,
            port,
            fingerprint,
            client_key: std::fs::read_to_string(&client).unwrap(),
            data,
            archive,
            _dir: dir,
        }
    }

    /// Puts a file into the remote data folder, owned by the SFTP user (so it can be moved).
    pub fn deliver(&self, name: &str, bytes: &[u8]) {
        let path = self.data.join(name);
        std::fs::write(&path, bytes).unwrap();
        let uid: u32 = run(Command::new("id").args(["-u", USER])).trim().parse().unwrap();
        std::os::unix::fs::chown(&path, Some(uid), None).unwrap();
    }

    /// The names in a remote folder, sorted.
    pub fn names(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
