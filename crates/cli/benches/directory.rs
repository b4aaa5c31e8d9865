//! Benchmark of the directory connector: 100,000 users in a real slapd on
//! 127.0.0.1 (the engine tests' helper), read through `provisio task run
//! --wait` into the local store.
//!
//! `cargo bench -p provisio-cli --bench directory` (BENCH_RECORDS, default
//! 100,000; BENCH_REPEAT, default 3). Each round starts from an empty data
//! directory. Prints per round and as medians: the first full load's wall
//! time (target ≤ 3 s) and peak memory (VmHWM of the provisio process,
//! target ≤ 150 MB); the ratio against `bench/reference_directory.py` (the
//! `ldap3` package's paged search + json + sqlite3, Debian's python3-ldap3)
//! on the same directory in the same round (target ≥ 5×); and an
//! incremental run after 1 % of the users changed (target ≤ 0.5 s).

mod common;
#[allow(dead_code)]
#[path = "../../engine/tests/engine/slapd.rs"]
mod slapd;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{env_num, median, provisio, provisio_measured};
use slapd::{Slapd, BASE, READER};

/// Debian's interpreter: the python3-ldap3 package installs the reference's library there.
const PYTHON: &str = "/usr/bin/python3";

fn people(n: usize, from: usize) -> String {
    let mut ldif = String::with_capacity(n * 200);
    for i in from..from + n {
        ldif.push_str(&format!(
            "dn: uid=u{i},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: u{i}\ncn: User {i}\nsn: Surname{i}\n\
             mail: u{i}@example.com\n\n"
        ));
    }
    ldif
}

/// 1 % of the users get a new surname (`round` keeps each round's change new).
fn change_one_percent(server: &Slapd, n: usize, round: usize) {
    let mut ldif = String::new();
    for i in (0..n).step_by(100) {
        ldif.push_str(&format!(
            "dn: uid=u{i},ou=people,{BASE}\nchangetype: modify\nreplace: sn\nsn: Changed{round}x{i}\n\n"
        ));
    }
    server.modify(&ldif);
}

fn setup(data: &Path, dir: &Path, server: &Slapd) {
    provisio(data, &["settings", "set", "environment_type=test"]);
    let template = dir.join("template.json");
    std::fs::write(
        &template,
        r#"{"code": "directory_user", "name": "Directory user", "attributes": [
            {"code": "uuid"}, {"code": "uid"}, {"code": "name"}, {"code": "email"}, {"code": "last_name"},
            {"code": "status"}, {"code": "taskid"}], "folders": [{"code": "directory_users"}]}"#,
    )
    .unwrap();
    provisio(data, &["template", "add", "--file", template.to_str().unwrap()]);
    let connector = dir.join("connector.json");
    std::fs::write(
        &connector,
        serde_json::json!({"name": "Directory", "type": "ldap", "secret_parameters": ["/bind_password"],
            "parameters": {"url": server.url(), "bind_dn": READER, "bind_password": server.reader_password,
                           "base_dn": BASE, "directory_kind": "openldap", "page_size": 500}})
        .to_string(),
    )
    .unwrap();
    provisio(
        data,
        &["connector", "create", "--file", connector.to_str().unwrap()],
    );
    let task = dir.join("task.json");
    std::fs::write(
        &task,
        serde_json::json!({"name": "Users", "usage": "scheduled", "run_type": "incremental",
            "schedule": "0 0 2 * * *", "object_id_attribute": "entryUUID",
            "target_template": "directory_user", "target_folder": "directory_users", "task_id_attribute": "taskid",
            "mappings": [{"source": "entryUUID", "target": "uuid"}, {"source": "uid", "target": "uid"},
                         {"source": "cn", "target": "name"}, {"source": "mail", "target": "email"},
                         {"source": "sn", "target": "last_name"}],
            "removal": {"status_attribute": "status", "removed_value": "removed"}})
        .to_string(),
    )
    .unwrap();
    provisio(
        data,
        &[
            "task",
            "create",
            "--connector",
            "Directory",
            "--file",
            task.to_str().unwrap(),
        ],
    );
}

fn reference(server: &Slapd, db: &Path) -> Duration {
    let _ = std::fs::remove_file(db);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/reference_directory.py");
    let t = Instant::now();
    let mut child = Command::new(PYTHON)
        .arg(&script)
        .args([&server.url(), READER, BASE, "(objectClass=inetOrgPerson)"])
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("python3 (Debian's, with python3-ldap3: tools/setup-machine.sh)");
    writeln!(child.stdin.take().unwrap(), "{}", server.reader_password).unwrap();
    assert!(child.wait().unwrap().success(), "the Python reference failed");
    t.elapsed()
}

struct Round {
    first: Duration,
    peak_mb: f64,
    reference: Duration,
    incremental: Duration,
    fetched: u64,
}

fn run_counts(out: &str) -> (u64, u64) {
    let run: serde_json::Value = serde_json::from_str(out).unwrap();
    assert_eq!(run["status"], "succeeded", "{out}");
    (
        run["counts"]["fetched"].as_u64().unwrap(),
        run["counts"]["created"].as_u64().unwrap() + run["counts"]["updated"].as_u64().unwrap(),
    )
}

fn round(dir: &Path, server: &Slapd, n: usize, i: usize) -> Round {
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    setup(&data, dir, server);
    let (out, first, peak_mb) =
        provisio_measured(&data, &["--json", "task", "run", "Directory/Users", "--wait"]);
    let (fetched, written) = run_counts(&out);
    assert_eq!(
        (fetched, written),
        (n as u64, n as u64),
        "the first load reads and writes every user"
    );
    let reference = reference(server, &dir.join("reference.sqlite"));
    change_one_percent(server, n, i);
    let (out, incremental) = provisio(&data, &["--json", "task", "run", "Directory/Users", "--wait"]);
    let (fetched, changed) = run_counts(&out);
    assert_eq!(
        changed as usize,
        n.div_ceil(100),
        "the incremental run writes the changed users"
    );
    Round {
        first,
        peak_mb,
        reference,
        incremental,
        fetched,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env_num("BENCH_RECORDS", 100_000);
    let repeat = env_num("BENCH_REPEAT", 3);
    let dir = tempfile::tempdir().unwrap();
    let server = Slapd::start();
    let t = Instant::now();
    server.add(&people(n, 0));
    println!(
        "directory: {n} users loaded into slapd in {:.1} s; full first load, then 1 % changed and an incremental run, {repeat} rounds",
        t.elapsed().as_secs_f64()
    );
    let mut rounds = Vec::new();
    for i in 1..=repeat {
        let r = round(dir.path(), &server, n, i);
        println!(
            "directory: round {i}: first load {:.2} s, peak {:.0} MB; reference {:.2} s; ratio {:.1}x; \
             incremental {:.2} s ({} entries read)",
            r.first.as_secs_f64(),
            r.peak_mb,
            r.reference.as_secs_f64(),
            r.reference.as_secs_f64() / r.first.as_secs_f64(),
            r.incremental.as_secs_f64(),
            r.fetched
        );
        rounds.push(r);
    }
    let first = median(rounds.iter().map(|r| r.first).collect());
    let peak = median(rounds.iter().map(|r| r.peak_mb).collect());
    let reference = median(rounds.iter().map(|r| r.reference).collect());
    let incremental = median(rounds.iter().map(|r| r.incremental).collect());
    let ratio = reference.as_secs_f64() / first.as_secs_f64();
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "directory: first load {:.2} s (median) — target <= 3 s: {}",
        first.as_secs_f64(),
        met(first.as_secs_f64() <= 3.0)
    );
    println!(
        "directory: peak memory {peak:.0} MB (median) — target <= 150 MB: {}",
        met(peak <= 150.0)
    );
    println!(
        "directory: reference {:.2} s; ratio {ratio:.1}x — target >= 5x: {}",
        reference.as_secs_f64(),
        met(ratio >= 5.0)
    );
    println!(
        "directory: incremental run after 1 % changed {:.2} s (median) — target <= 0.5 s: {}",
        incremental.as_secs_f64(),
        met(incremental.as_secs_f64() <= 0.5)
    );
}
