//! A real OpenLDAP `slapd` on 127.0.0.1 for the directory connector's
//! tests, started per test with its own database, port and passwords:
//! suffix `dc=example,dc=com`, the `memberof` overlay (users show their
//! groups), a reader account that may read but not write, and no
//! anonymous reads, a writer account that may write (and manage the
//! password policy's lock: the `ppolicy` overlay is loaded). Entries are
//! added and changed with the `ldap-utils` commands, as an admin would.

use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const SLAPD: &str = "/usr/sbin/slapd";
pub const BASE: &str = "dc=example,dc=com";
pub const READER: &str = "cn=reader,dc=example,dc=com";
pub const WRITER: &str = "cn=writer,dc=example,dc=com";
const ADMIN: &str = "cn=admin,dc=example,dc=com";

pub struct Slapd {
    child: Child,
    config: std::path::PathBuf,
    pub port: u16,
    /// Servers started with TLS also listen for LDAPS here.
    ldaps_port: Option<u16>,
    /// The reader account's password.
    pub reader_password: String,
    /// The writer account's password.
    pub writer_password: String,
    admin_password: String,
    dir: TempDir,
}

/// A test CA and the server certificate it signed for 127.0.0.1 (openssl).
fn certificates(dir: &std::path::Path) -> String {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (installed by tools/setup-machine.sh)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Provisio test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    format!(
        "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n",
        d = dir.display()
    )
}

impl Slapd {
    pub fn start() -> Slapd {
        Slapd::start_with(false, None)
    }

    /// A server that also speaks StartTLS with a certificate of its own test CA ([`Slapd::ca_pem`]).
    pub fn start_tls() -> Slapd {
        Slapd::start_with(true, None)
    }

    /// A server that looks like Active Directory where the connector looks:
    /// AD's attributes in a test schema (object class `adUser`), and a root
    /// entry with `highestCommittedUSN` and `dnsHostName` ([`Slapd::set_root`]).
    pub fn start_ad(highest_usn: u64, host: &str) -> Slapd {
        Slapd::start_with(false, Some((highest_usn, host)))
    }

    /// Restarts the server (same data, same port) with another root entry:
    /// AD raises `highestCommittedUSN` itself; slapd reads it at start.
    pub fn set_root(&mut self, highest_usn: u64, host: &str) {
        write_root(self.dir.path(), highest_usn, host);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&self.config, self.port, self.ldaps_port, self.dir.path());
    }

    /// The test CA's certificate (PEM), for a server from [`Slapd::start_tls`].
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ca.pem")).expect("a server started with TLS")
    }

    fn start_with(tls: bool, ad: Option<(u64, &str)>) -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        let ad_config = match ad {
            Some((usn, host)) => {
                std::fs::write(dir.path().join("ad.schema"), AD_SCHEMA).unwrap();
                write_root(dir.path(), usn, host);
                format!(
                    "include {d}/ad.schema\nrootDSE {d}/root.ldif\n",
                    d = dir.path().display()
                )
            }
            None => String::new(),
        };
        let tls_config = if tls {
            certificates(dir.path())
        } else {
            String::new()
        };
        let db = dir.path().join("db");
        std::fs::create_dir(&db).unwrap();
        let admin_password = format!("admin-{}", uuid::Uuid::new_v4().simple());
        let reader_password = format!("reader-{}", uuid::Uuid::new_v4().simple());
        let writer_password = format!("writer-{}", uuid::Uuid::new_v4().simple());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("slapd.conf");
        std::fs::write(
            &config,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n{ad_config}\
                 modulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload memberof\nmoduleload ppolicy\n\
                 pidfile {dir}/slapd.pid\n{tls_config}\
                 sizelimit 3\n\
                 database mdb\nmaxsize 1073741824\nsuffix \"{BASE}\"\nrootdn \"{ADMIN}\"\nrootpw {admin_password}\n\
                 directory {db}\ndbnosync\n\
                 limits dn.exact=\"{READER}\" size.soft=3 size.hard=3 size.pr=unlimited size.prtotal=unlimited\n\
                 overlay memberof\noverlay ppolicy\n\
                 access to attrs=userPassword by dn.exact=\"{WRITER}\" write by anonymous auth by * none\n\
                 access to * by dn.exact=\"{WRITER}\" manage by users read by * none\n",
                dir = dir.path().display(),
                db = db.display(),
            ),
        )
        .unwrap();
        let ldaps_port = tls.then(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let child = spawn(&config, port, ldaps_port, dir.path());
        let server = Slapd {
            child,
            config,
            port,
            ldaps_port,
            reader_password,
            writer_password,
            admin_password,
            dir,
        };
        server.add(&format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
             dn: {READER}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: reader\nsn: reader\n\
             userPassword: {}\n\n\
             dn: {WRITER}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: writer\nsn: writer\n\
             userPassword: {}\n\n\
             dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n",
            server.reader_password, server.writer_password
        ));
        server
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// The LDAPS address of a server from [`Slapd::start_tls`].
    pub fn ldaps_url(&self) -> String {
        format!(
            "ldaps://127.0.0.1:{}",
            self.ldaps_port.expect("a server started with TLS")
        )
    }

    fn tool(&self, tool: &str, ldif: &str) {
        let mut child = Command::new(tool)
            .args(["-x", "-H", &self.url(), "-D", ADMIN, "-w", &self.admin_password])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{tool} (ldap-utils, installed by tools/setup-machine.sh): {e}"));
        child.stdin.take().unwrap().write_all(ldif.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Adds entries (LDIF).
    pub fn add(&self, ldif: &str) {
        self.tool("ldapadd", ldif);
    }

    /// Changes entries (LDIF with changetype lines).
    pub fn modify(&self, ldif: &str) {
        self.tool("ldapmodify", ldif);
    }

    /// Adds a person under ou=people.
    pub fn add_user(&self, uid: &str, surname: &str) {
        self.add(&format!(
            "dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {surname}\n\
             mail: {uid}@example.com\n"
        ));
    }

    /// Whether `dn` can bind with `password` (ldapwhoami).
    pub fn can_bind(&self, dn: &str, password: &str) -> bool {
        Command::new("ldapwhoami")
            .args(["-x", "-H", &self.url(), "-D", dn, "-w", password])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// The values of `attr` on `dn`, read as the admin (operational ones included); `None` when there is no entry.
    pub fn values(&self, dn: &str, attr: &str) -> Option<Vec<String>> {
        let out = Command::new("ldapsearch")
            .args([
                "-x",
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-H",
                &self.url(),
                "-D",
                ADMIN,
                "-w",
                &self.admin_password,
            ])
            .args(["-s", "base", "-b", dn, "(objectClass=*)", attr])
            .output()
            .expect("ldapsearch (ldap-utils)");
        if out.status.code() == Some(32) {
            return None;
        }
        assert!(
            out.status.success(),
            "ldapsearch: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let prefix = format!("{}: ", attr.to_ascii_lowercase());
        Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.to_ascii_lowercase().starts_with(&prefix))
                .map(|l| l[prefix.len()..].to_string())
                .collect(),
        )
    }

    pub fn delete(&self, dn: &str) {
        self.modify(&format!("dn: {dn}\nchangetype: delete\n"));
    }

    #[allow(dead_code)]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }
}

/// AD's attributes, as far as the connector reads and writes them (test OIDs).
const AD_SCHEMA: &str = "\
attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'objectGUID' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.2 NAME 'uSNChanged' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.3 NAME 'highestCommittedUSN' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.4 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.5 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.6 NAME 'dnsHostName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.7 NAME 'unicodePwd' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'adUser' SUP top AUXILIARY MAY ( objectGUID $ uSNChanged $ userAccountControl $ sAMAccountName $ unicodePwd ) )
objectclass ( 1.3.6.1.4.1.55555.2.2 NAME 'adRoot' SUP top AUXILIARY MAY ( highestCommittedUSN $ dnsHostName ) )
";

fn write_root(dir: &std::path::Path, highest_usn: u64, host: &str) {
    std::fs::write(
        dir.join("root.ldif"),
        format!("dn:\nobjectClass: adRoot\nhighestCommittedUSN: {highest_usn}\ndnsHostName: {host}\n"),
    )
    .unwrap();
}

fn spawn(config: &std::path::Path, port: u16, ldaps_port: Option<u16>, dir: &std::path::Path) -> Child {
    let mut urls = format!("ldap://127.0.0.1:{port}/");
    if let Some(p) = ldaps_port {
        urls.push_str(&format!(" ldaps://127.0.0.1:{p}/"));
    }
    let child = Command::new(SLAPD)
        .args(["-d", "0", "-f"])
        .arg(config)
        .arg("-h")
        .arg(urls)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("slapd.log")).unwrap())
        .spawn()
        .expect("slapd (installed by tools/setup-machine.sh)");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err()
        || ldaps_port.is_some_and(|p| TcpStream::connect(("127.0.0.1", p)).is_err())
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "slapd did not listen on {port}: {}",
            std::fs::read_to_string(dir.join("slapd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
