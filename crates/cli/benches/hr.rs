//! Benchmark of the HR connector: a partial run of a 1,000,000-row
//! work-period CSV (15 columns) whose archived previous file differs in 2 %
//! of its rows, into the local store, through `provisio task run --wait`.
//!
//! `cargo bench -p provisio-cli --bench hr` (BENCH_RECORDS, default
//! 1,000,000; BENCH_REPEAT, default 3). Prints per round and as medians:
//! the partial run's wall time (target ≤ 3 s), its peak memory (VmHWM of the
//! provisio process, target ≤ 200 MB), the source's read rate (rows read,
//! checked and compared per second of the extract, target ≥ 2 M rows/s),
//! and the ratio against `bench/reference_hr.py` (csv + dict diff + sqlite3)
//! on the same files in the same round (target ≥ 10×).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{env_num, median, provisio, provisio_measured};

const HEADER: &str = "RowId;EmployeeId;NationalId;LastName;FirstName;SpokenName;StartDate;EndDate;Type;TitleId;Title;ManagerId;OrgId;OrgName;CostCenter";

fn write_csv(path: &Path, n: usize, changed_every: Option<usize>) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "{HEADER}").unwrap();
    for i in 0..n {
        let last = match changed_every {
            Some(k) if i % k == 0 => format!("Changed{i}"),
            _ => format!("Last{i}"),
        };
        writeln!(
            w,
            "{i};E{i};{:06}-{:04};{last};First{};Spoken;2026-01-{:02};;permanent;T{};Title {};M{};O{};Org unit {};CC{}",
            i % 999_999,
            i % 9999,
            i % 97,
            1 + i % 28,
            i % 300,
            i % 300,
            i % 5000,
            i % 800,
            i % 800,
            i % 120
        )
        .unwrap();
    }
}

fn connector(folder_pattern: &str, run_type: &str) -> String {
    serde_json::json!({"name": "HR", "type": "hr_file", "parameters": {
        "file_path": folder_pattern, "data_type": "workperiod", "run_type": run_type,
        "report_template_code": "admin_task", "report_folder_code": "admin_tasks"}})
    .to_string()
}

struct Round {
    wall: Duration,
    peak_mb: f64,
    rows_per_s: f64,
    reference: Duration,
}

fn round(dir: &Path, first: &Path, second: &Path, n: usize) -> Round {
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    provisio(&data, &["settings", "set", "environment_type=test"]);
    let inbox = dir.join("inbox");
    let _ = std::fs::remove_dir_all(&inbox);
    std::fs::create_dir_all(&inbox).unwrap();
    let pattern = format!("{}/*.csv", inbox.display());
    let c = dir.join("c.json");
    std::fs::write(&c, connector(&pattern, "full")).unwrap();
    provisio(&data, &["connector", "create", "--file", c.to_str().unwrap()]);
    let t = dir.join("t.json");
    std::fs::write(
        &t,
        r#"{"name": "Load", "schedule": "0 0 6 * * *", "object_id_attribute": "RowId",
            "target_template": "workperiod", "target_folder": "workperiods", "task_id_attribute": "taskid",
            "mappings": [{"source": "RowId", "target": "row_id"}, {"source": "EmployeeId", "target": "employee_id"},
              {"source": "NationalId", "target": "national_id"}, {"source": "LastName", "target": "last_name"},
              {"source": "FirstName", "target": "first_name"}, {"source": "StartDate", "target": "employment_start"},
              {"source": "EndDate", "target": "employment_end"}, {"source": "TitleId", "target": "title_id"},
              {"source": "ManagerId", "target": "manager_id"}, {"source": "OrgId", "target": "org_unit_id"},
              {"source": "OrgName", "target": "org_unit_name"}, {"source": "CostCenter", "target": "cost_center"}]}"#,
    )
    .unwrap();
    provisio(
        &data,
        &[
            "task",
            "create",
            "--connector",
            "HR",
            "--file",
            t.to_str().unwrap(),
        ],
    );
    // Setup: a full run of the first file makes the archive and the cards.
    std::fs::copy(first, inbox.join("w.csv")).unwrap();
    let full: serde_json::Value =
        serde_json::from_str(&provisio(&data, &["--json", "task", "run", "HR/Load", "--wait"]).0).unwrap();
    assert_eq!(full["counts"]["created"], n as u64, "{full}");
    std::fs::write(&c, connector(&pattern, "partial")).unwrap();
    provisio(
        &data,
        &["connector", "update", "HR", "--file", c.to_str().unwrap()],
    );
    std::fs::copy(second, inbox.join("w.csv")).unwrap();
    // The setup's full run leaves hundreds of MB to write back; flushed first
    // so that the measured run does not compete with it for the disk.
    let _ = Command::new("sync").status();

    let (out, wall, peak_mb) = provisio_measured(&data, &["--json", "task", "run", "HR/Load", "--wait"]);
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["updated"], (n / 50) as u64, "{run}");
    // The source's time is the extract's "script" time: reading, checking and comparing every row.
    let info = run["extract"]["info"].as_str().unwrap_or_default();
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        println!(
            "hr: extract {} .. {}: {info}",
            run["extract"]["started"], run["extract"]["completed"]
        );
        println!(
            "hr: load {} .. {}: {}",
            run["load"]["started"], run["load"]["completed"], run["load"]["info"]
        );
        println!("hr: run {} .. {}", run["started_at"], run["finished_at"]);
    }
    let source_s: f64 = info
        .split("(script ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);

    // The reference on the same files, with its database holding the first file already.
    let db = dir.join("reference.sqlite");
    let _ = std::fs::remove_file(&db);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/reference_hr.py");
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, format!("{HEADER}\n")).unwrap();
    let py = |previous: &Path, current: &Path| {
        let t = Instant::now();
        let status = Command::new("python3")
            .arg(&script)
            .arg(previous)
            .arg(current)
            .arg(&db)
            .arg("RowId")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        t.elapsed()
    };
    py(&empty, first);
    let reference = py(first, second);
    Round {
        wall,
        peak_mb,
        rows_per_s: n as f64 / source_s,
        reference,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env_num("BENCH_RECORDS", 1_000_000);
    let repeat = env_num("BENCH_REPEAT", 3);
    let dir = tempfile::tempdir().unwrap();
    let first: PathBuf = dir.path().join("first.csv");
    let second: PathBuf = dir.path().join("second.csv");
    write_csv(&first, n, None);
    write_csv(&second, n, Some(50));
    println!(
        "hr: {n} work-period rows of 15 columns ({} MB of CSV), 2 % changed since the archive, partial run, {repeat} rounds",
        std::fs::metadata(&first).unwrap().len() >> 20
    );
    let mut rounds = Vec::new();
    for i in 1..=repeat {
        let r = round(dir.path(), &first, &second, n);
        println!(
            "hr: round {i}: partial run {:.2} s, peak {:.0} MB, source {:.1} M rows/s; reference {:.2} s; ratio {:.1}x",
            r.wall.as_secs_f64(),
            r.peak_mb,
            r.rows_per_s / 1e6,
            r.reference.as_secs_f64(),
            r.reference.as_secs_f64() / r.wall.as_secs_f64()
        );
        rounds.push(r);
    }
    let wall = median(rounds.iter().map(|r| r.wall).collect());
    let peak = median(rounds.iter().map(|r| r.peak_mb).collect());
    let rate = median(rounds.iter().map(|r| r.rows_per_s).collect());
    let reference = median(rounds.iter().map(|r| r.reference).collect());
    let ratio = reference.as_secs_f64() / wall.as_secs_f64();
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "hr: partial run {:.2} s (median) — target <= 3 s: {}",
        wall.as_secs_f64(),
        met(wall.as_secs_f64() <= 3.0)
    );
    println!(
        "hr: peak memory {peak:.0} MB (median) — target <= 200 MB: {}",
        met(peak <= 200.0)
    );
    println!(
        "hr: source reads {:.1} M rows/s (median) — target >= 2 M rows/s: {}",
        rate / 1e6,
        met(rate >= 2e6)
    );
    println!(
        "hr: reference {:.2} s; ratio {ratio:.1}x — target >= 10x: {}",
        reference.as_secs_f64(),
        met(ratio >= 10.0)
    );
}
