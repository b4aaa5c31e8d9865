//! Runs: `task run`, events, kill -9 and its sweep, datacards, plans and
//! interruption hints.

use serde_json::Value;
use std::process::Command;

use crate::support::*;

#[test]
fn task_run_wait_prints_the_run_summary_and_its_exit_code_tells_success() {
    let cli = Cli::new();
    scripted(&cli, 3);
    let run = cli.json(&["task", "run", "HR/Load", "--wait"]);
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["counts"]["created"], 3);
    for key in ["id", "extract", "load", "counts"] {
        assert!(run.get(key).is_some(), "{key} missing from the run summary");
    }
    assert_eq!(run["extract"]["status"], "succeeded");
    assert!(run["load"]["completed"].is_string());
    // Each command leaves the database checkpointed: the next one does not
    // start by replaying what this one wrote.
    for wal in ["provisio.db-wal", "datacards.db-wal"] {
        assert!(!cli.data().join(wal).exists(), "{wal} was left behind");
    }

    let shown = cli.json(&["run", "show", run["id"].as_str().unwrap()]);
    assert_eq!(shown["counts"], run["counts"]);
    assert!(shown["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "output"));
    let cards = cli.json(&["datacards", "list", "--template", "person"]);
    assert_eq!(cards.as_array().unwrap().len(), 3);
    let history = cli.json(&["task", "history", "HR/Load"]);
    assert_eq!(history[0]["id"], run["id"]);

    // The same three records again: the history's table says they were left as they were.
    let again = cli.json(&["task", "run", "HR/Load", "--wait"]);
    assert_eq!(again["counts"]["unchanged"], 3, "{again}");
    let table = cli.ok(&["task", "history", "HR/Load"]);
    let mut lines = table.lines().map(|l| l.split_whitespace().collect::<Vec<_>>());
    let (header, newest) = (lines.next().unwrap(), lines.next().unwrap());
    let column = |name: &str| newest[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(newest[0], again["id"], "{table}");
    for (name, value) in [
        ("FETCHED", "3"),
        ("CREATED", "0"),
        ("UPDATED", "0"),
        ("UNCHANGED", "3"),
        ("REMOVED", "0"),
        ("BLOCKED", "0"),
    ] {
        assert_eq!(column(name), value, "{name} in\n{table}");
    }

    let update = cli.file("u.json", r#"{"parameters": {"count": 3, "fail": true}}"#);
    cli.ok(&["connector", "update", "HR", "--file", update.to_str().unwrap()]);
    let out = cli.run(&["task", "run", "HR/Load", "--wait"]);
    assert_eq!(out.status.code(), Some(2), "a failed run exits non-zero");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("extract: failed — the script exited with code 1: RuntimeError: source unavailable"),
        "{text}"
    );
}

#[test]
fn a_relative_data_directory_runs_scripts_from_their_run_directory() {
    let cli = Cli::new();
    scripted(&cli, 2);
    // The same data directory, named relative to the working directory.
    let out = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .current_dir(cli.dir.path())
        .args(["--data-dir", "data", "--json", "task", "run", "HR/Load", "--wait"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["counts"]["created"], 2);
}

#[test]
fn event_invoke_runs_the_event_script_and_records_the_caller() {
    let cli = Cli::new();
    cli.ok(&["settings", "set", "environment_type=test"]);
    let c = cli.file("c.json", r#"{"name": "AD", "type": "python_script", "script": "sample_event.py", "parameters": {"host": "dc1"}}"#);
    cli.ok(&["connector", "create", "--file", c.to_str().unwrap()]);
    let t = cli.file(
        "t.json",
        r#"{"name": "Disable", "usage": "event", "target_template": "person", "target_folder": "persons",
            "mappings": [{"source": "sAMAccountName", "target": "employee_id"}]}"#,
    );
    cli.ok(&[
        "task",
        "create",
        "--connector",
        "AD",
        "--file",
        t.to_str().unwrap(),
    ]);
    let v = cli.file("v.json", r#"{"employee_id": "jdoe"}"#);
    let run = cli.json(&[
        "event",
        "invoke",
        "AD/Disable",
        "--input",
        v.to_str().unwrap(),
        "--caller",
        "Leaver flow",
    ]);
    assert_eq!(run["outcome"], "completed");
    let task = cli.json(&["task", "show", "AD/Disable"]);
    assert_eq!(task["references"][0]["caller"], "Leaver flow");
    let err = cli.fails(&["task", "remove", "AD/Disable"]);
    assert!(err.contains("is in use by workflows: Leaver flow"), "{err}");
}

#[test]
fn killing_the_engine_during_the_load_leaves_everything_consistent() {
    let cli = Cli::new();
    // 150,000 cards of about 600 bytes: the load's page cache (32 MiB) fills
    // after some 50,000, and from then on its transaction writes the WAL.
    const CARDS: u64 = 150_000;
    scripted_task(
        &cli,
        "HR",
        "Load",
        SCRIPT,
        "0 0 * * * *",
        r#"{"count": 150000, "pad": 500}"#,
    );
    let mut child = cli.spawn_run("HR/Load");
    assert!(
        wait_for_stage(&cli, "load"),
        "the run never reached its load stage"
    );
    // A growing WAL: the load's transaction is writing and has not committed.
    let wal = cli.data().join("datacards.db-wal");
    let started = std::time::Instant::now();
    while std::fs::metadata(&wal).map_or(true, |m| m.len() < (1 << 20)) {
        assert!(started.elapsed().as_secs() < 60, "the load never wrote its WAL");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    // The next start finds the run abandoned and says so; nothing half-loaded is visible.
    let history = cli.json(&["task", "history", "HR/Load"]);
    let killed = &history[0];
    assert_eq!(killed["status"], "failed", "{killed}");
    assert!(
        killed["message"]
            .as_str()
            .unwrap()
            .contains("ended before the run finished"),
        "{killed}"
    );
    let cards = cli.json(&["datacards", "list", "--template", "person", "--limit", "300000"]);
    let n = cards.as_array().unwrap().len();
    assert!(
        n == 0 || n == CARDS as usize,
        "a half-applied load is visible: {n} cards"
    );

    // The next run completes normally and redoing is harmless.
    let run = cli.json(&["task", "run", "HR/Load", "--wait"]);
    assert_eq!(run["status"], "succeeded");
    assert_eq!(
        run["counts"]["created"].as_u64().unwrap() + run["counts"]["updated"].as_u64().unwrap(),
        CARDS
    );
    let again = cli.json(&["task", "run", "HR/Load", "--wait"]);
    assert_eq!(again["counts"]["unchanged"], CARDS);
    let cards = cli.json(&["datacards", "list", "--template", "person", "--limit", "300000"]);
    assert_eq!(cards.as_array().unwrap().len(), CARDS as usize);
}

#[test]
fn task_run_without_wait_runs_to_its_end_in_the_background() {
    let cli = Cli::new();
    scripted_task(
        &cli,
        "Slow",
        "Load",
        r#"import json, time
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
time.sleep(1.5)
json.dump([{"id": "1", "name": "n"}], open(a["expected_output_filename"], "w"))
"#,
        "0 0 * * * *",
        "{}",
    );
    // Started as from a terminal: the command leads a process group, as a
    // shell's foreground job does, and the terminal's Ctrl+C goes to that group.
    use std::os::unix::process::CommandExt;
    let command = std::process::Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .args(["--json", "task", "run", "Slow/Load"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let terminal_group = nix::unistd::Pid::from_raw(command.id() as i32);
    let out = command.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let started: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(started["status"], "running");
    // The command has returned; the user presses Ctrl+C in that terminal.
    let _ = nix::sys::signal::killpg(terminal_group, nix::sys::signal::Signal::SIGINT);
    let run = finished_run(&cli, "Slow/Load");
    assert_eq!(run["id"], started["id"]);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["created"], 1);
}

#[test]
fn terminal_escapes_a_script_prints_are_shown_escaped() {
    let cli = Cli::new();
    scripted_task(
        &cli,
        "Esc",
        "Load",
        r#"import json, sys
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
print("title\x1b]0;pwned\x07 clear\x1b[2J done")
sys.stderr.write("boom\x1b[31m red\n")
raise SystemExit(1)
"#,
        "0 0 * * * *",
        "{}",
    );
    let out = cli.run(&["task", "run", "Esc/Load", "--wait"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(text.contains("boom\\u{1b}[31m red"), "{text}");
    let id = cli.json(&["task", "history", "Esc/Load"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = cli.ok(&["run", "show", &id]);
    assert!(!shown.contains('\x1b') && !shown.contains('\x07'), "{shown:?}");
    assert!(shown.contains("title\\u{1b}]0;pwned\\u{7} clear"), "{shown}");
    // Each file says what it holds: the script's error output is no second log.
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("file log: ")
                && l.ends_with("): the script's other output (standard error)")),
        "{shown}"
    );
    // --json keeps the text as it was (JSON escapes it).
    let json = cli.json(&["run", "show", &id]);
    assert!(json["log"].as_str().unwrap().contains("\x1b[2J"));
}

#[cfg(target_os = "linux")]
#[test]
fn after_kill_9_of_the_engine_the_next_start_ends_what_its_warm_started_script_left_running() {
    next_start_ends_what_a_killed_engine_left(false);
}

#[cfg(target_os = "linux")]
#[test]
fn after_kill_9_of_the_engine_the_next_start_ends_what_its_cold_started_script_left_running() {
    next_start_ends_what_a_killed_engine_left(true);
}

/// A script leaves children in its group, in a new session, in a new
/// session with a cleared environment (no run mark), and a daemon that never
/// execs; the engine is killed; the next start must end them all.
#[cfg(target_os = "linux")]
fn next_start_ends_what_a_killed_engine_left(cold: bool) {
    // The two variants run side by side: each counts its own sleepers.
    let tag = if cold { "2" } else { "1" };
    let cli = Cli::new();
    let marker = cli.dir.path().join("started");
    let daemon = cli.dir.path().join("daemon.pid");
    scripted_task(
        &cli,
        "Orphans",
        "Load",
        &format!(
            r#"import os, subprocess, time
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
subprocess.Popen(["setsid", "sleep", "3{tag}1"])
subprocess.Popen(["sleep", "3{tag}2"])
subprocess.Popen(["setsid", "env", "-i", "sleep", "3{tag}3"])
# A daemon that never execs, in a session of its own.
if os.fork() == 0:
    os.setsid()
    open({daemon:?}, "w").write(str(os.getpid()))
    time.sleep(600)
    os._exit(0)
while not os.path.exists({daemon:?}):
    time.sleep(0.01)
open({marker:?}, "w").write("x")
time.sleep(600)
"#,
            marker = marker.display().to_string(),
            daemon = daemon.display().to_string(),
        ),
        "0 0 * * * *",
        "{}",
    );
    let cold_start = [("PROVISIO_COLD_START", if cold { "1" } else { "0" })];
    let mut child = cli.spawn_run_with("Orphans/Load", &cold_start);
    let started = std::time::Instant::now();
    while !marker.exists() {
        assert!(started.elapsed().as_secs() < 60, "the script never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let sleepers = || {
        let out = Command::new("pgrep")
            .args(["-f", &format!("sleep 3{tag}[123]")])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().split_whitespace().count()
    };
    assert_eq!(sleepers(), 3, "the script's children are running");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(sleepers() >= 1, "killing the engine alone leaves them running");
    let run = &cli.json(&["task", "history", "Orphans/Load"])[0];
    assert_eq!(run["status"], "failed", "{run}");
    // Killed by the time that command returned; dying may take a moment on a busy machine.
    let since = std::time::Instant::now();
    while sleepers() > 0 && since.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(sleepers(), 0, "the next start ended them");
    let pid = std::fs::read_to_string(&daemon).unwrap();
    let alive = || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
    while alive() && since.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!alive(), "the daemon that never exec'd was ended too");
}

/// kill -9 at random points of first loads and of re-runs changing 2 % of
/// the cards, each followed by the consistency checks above and, for
/// re-runs, a run that must finish the work. CI runs a handful of points;
/// the sweep for a closing note:
/// `PROVISIO_KILL_POINTS=100 cargo test -p provisio-cli --test cli kill_point_sweep -- --nocapture`
#[test]
fn kill_point_sweep_leaves_store_cache_and_history_consistent() {
    let points: usize = std::env::var("PROVISIO_KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    const COUNT: usize = 20_000;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill-point sweep: {points} points, seed {seed}");
    let mut random = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    let setup = |cli: &Cli| {
        scripted_task(
            cli,
            "Sweep",
            "Load",
            GENERATIONS,
            "0 0 * * * *",
            &format!(r#"{{"count": {COUNT}}}"#),
        );
    };
    // How long an undisturbed first load and re-run take here, to spread the kills over.
    let timing = Cli::new();
    setup(&timing);
    let started = std::time::Instant::now();
    assert_eq!(
        timing.json(&["task", "run", "Sweep/Load", "--wait"])["status"],
        "succeeded"
    );
    let first_load = started.elapsed();
    set_generation(&timing, 1, COUNT);
    let started = std::time::Instant::now();
    assert_eq!(
        timing.json(&["task", "run", "Sweep/Load", "--wait"])["status"],
        "succeeded"
    );
    let rerun = started.elapsed();
    println!("undisturbed: first load {first_load:?}, 2 % re-run {rerun:?}");

    let (mut first_killed, mut first_done, mut rerun_killed, mut rerun_done) = (0, 0, 0, 0);
    for point in 0..points.div_ceil(2) {
        let cli = Cli::new();
        setup(&cli);
        let delay = first_load.mul_f64(random() * 1.1);
        if kill_at(&cli, delay, COUNT, (u32::MAX, 0)) {
            first_done += 1;
        } else {
            first_killed += 1;
        }
        // Redoing is harmless: the next run loads everything once.
        let run = cli.json(&["task", "run", "Sweep/Load", "--wait"]);
        assert_eq!(run["status"], "succeeded", "point {point}: {run}");
        assert_eq!(
            run["counts"]["created"].as_u64().unwrap() + run["counts"]["unchanged"].as_u64().unwrap(),
            COUNT as u64
        );
    }
    let cli = Cli::new();
    setup(&cli);
    assert_eq!(
        cli.json(&["task", "run", "Sweep/Load", "--wait"])["status"],
        "succeeded"
    );
    for point in 0..points / 2 {
        let generation = point as u32;
        set_generation(&cli, generation + 1, COUNT);
        let delay = rerun.mul_f64(random() * 1.1);
        if kill_at(&cli, delay, COUNT, (generation, generation + 1)) {
            rerun_done += 1;
        } else {
            rerun_killed += 1;
            // The next run applies the change once, from the cache as committed.
            let run = cli.json(&["task", "run", "Sweep/Load", "--wait"]);
            assert_eq!(run["status"], "succeeded", "point {point}: {run}");
            assert_eq!(
                run["counts"]["updated"].as_u64().unwrap(),
                COUNT.div_ceil(50) as u64,
                "{run}"
            );
            assert_eq!(run["counts"]["created"], 0);
        }
        let again = cli.json(&["task", "run", "Sweep/Load", "--wait"]);
        assert_eq!(
            again["counts"]["unchanged"].as_u64().unwrap(),
            COUNT as u64,
            "the cache matches the cards"
        );
    }
    println!(
        "first loads: {first_killed} killed before their commit, {first_done} finished; \
         re-runs: {rerun_killed} killed before their commit, {rerun_done} finished; all consistent"
    );
}

#[test]
fn datacards_list_pages_through_every_card_once_in_order() {
    let cli = Cli::new();
    scripted(&cli, 2_500);
    assert_eq!(
        cli.json(&["task", "run", "HR/Load", "--wait"])["status"],
        "succeeded"
    );
    for (limit, expect) in [
        ("2500", 2_500),
        ("100000", 2_500),
        ("1200", 1_200),
        ("1000", 1_000),
    ] {
        let cards = cli.json(&["datacards", "list", "--template", "person", "--limit", limit]);
        let ids: Vec<i64> = cards
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), expect, "--limit {limit}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order, none twice");
    }
    let text = cli.ok(&["datacards", "list", "--template", "person", "--limit", "3"]);
    assert_eq!(text.lines().count(), 4, "a header and three cards: {text}");
    // --search looks through every card, past the --limit's first ones, in any case.
    let search = |limit: &str, text: &str| -> Vec<String> {
        let found = cli.json(&[
            "datacards",
            "list",
            "--template",
            "person",
            "--limit",
            limit,
            "--search",
            text,
        ]);
        let names = found.as_array().unwrap().iter();
        names
            .map(|c| c["data"]["last_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(search("10", "p2345"), ["P2345"]);
    // P24, P240..P249 and P2400..P2499: 111 cards hold "P24"; --limit keeps the first 20.
    assert_eq!(search("20", "P24").len(), 20);
    assert_eq!(search("1000", "P24").len(), 111);
    let none = cli.ok(&["datacards", "list", "--template", "group"]);
    assert!(none.contains("(none)"), "{none}");
    assert_eq!(
        cli.json(&["datacards", "list", "--template", "group"]),
        serde_json::json!([])
    );
}

#[test]
fn run_plan_shows_what_an_interrupted_run_would_do_and_the_approval_that_lets_it_through() {
    let cli = Cli::new();
    scripted(&cli, 5);
    let mut task = cli.json(&["task", "show", "HR/Load"]);
    task["limits"]["update_limit"] = 2.into();
    let limited = cli.file("limit.json", &task.to_string());
    cli.ok(&["task", "update", "HR/Load", "--file", limited.to_str().unwrap()]);
    let out = cli.run(&["--json", "task", "run", "HR/Load", "--wait"]);
    let stopped: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stopped["status"], "interrupted", "{stopped}");
    let id = stopped["id"].as_str().unwrap();

    let plan = cli.json(&["run", "plan", id]);
    assert_eq!(
        (plan["new"].as_u64(), plan["changed"].as_u64()),
        (Some(5), Some(0)),
        "{plan}"
    );
    let text = cli.ok(&["run", "plan", id]);
    assert!(text.contains("new: 5\nchanged: 0\nmarked removed: 0"), "{text}");
    // Whom it would create, each with a value that tells.
    let new: Vec<&str> = text.lines().filter(|l| l.starts_with("  new: ")).collect();
    assert_eq!(new.len(), 5, "{text}");
    assert!(new.contains(&r#"  new: 0 (last_name "P0")"#), "{text}");
    assert!(text.contains("`provisio task run HR/Load --approve`"), "{text}");
    assert!(text.contains("exceed the update limit of 2"), "{text}");

    let approved = cli.json(&["task", "run", "HR/Load", "--wait", "--approve"]);
    assert_eq!(approved["counts"]["created"], 5);
    let err = cli.fails(&["run", "plan", approved["id"].as_str().unwrap()]);
    assert!(err.contains("not an interrupted scheduled run"), "{err}");

    // A mass rename over the limit: the plan says field by field what approving would write.
    let padded = cli.file("padded.json", r#"{"parameters": {"count": 5, "pad": 2}}"#);
    cli.ok(&["connector", "update", "HR", "--file", padded.to_str().unwrap()]);
    let out = cli.run(&["--json", "task", "run", "HR/Load", "--wait"]);
    let renamed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(renamed["status"], "interrupted", "{renamed}");
    let text = cli.ok(&["run", "plan", renamed["id"].as_str().unwrap()]);
    assert!(text.contains("new: 0\nchanged: 5\n"), "{text}");
    let shown: Vec<&str> = text.lines().filter(|l| l.starts_with("  changed: ")).collect();
    assert_eq!(shown.len(), 5, "{text}");
    for (n, line) in shown.iter().enumerate() {
        assert!(
            line.starts_with(&format!("  changed: {n} (card "))
                && line.ends_with(&format!(r#"): last_name: "P{n}" -> "P{n}xx""#)),
            "{text}"
        );
    }

    let python = cli.json(&["settings", "check-python"]);
    assert_eq!(python["supported"], true, "{python}");
    let err = cli.fails(&["settings", "check-python", "--interpreter", "no-such-python-here"]);
    assert!(err.contains("cannot start 'no-such-python-here'"), "{err}");
}

#[test]
fn an_interruption_that_approving_cannot_help_gets_no_approve_hint() {
    let cli = Cli::new();
    cli.ok(&["settings", "set", "environment_type=test"]);
    let inbox = cli.dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    for name in ["a.csv", "b.csv"] {
        std::fs::write(inbox.join(name), "TitleId;Name\nT1;Engineer\nT2;Manager\n").unwrap();
    }
    let c = cli.file(
        "c.json",
        &serde_json::json!({"name": "HR", "type": "hr_file", "parameters": {
            "file_path": format!("{}/*.csv", inbox.display()), "data_type": "title", "run_type": "full",
            "minimum_row_count": 3,
            "report_template_code": "admin_task", "report_folder_code": "admin_tasks"}})
        .to_string(),
    );
    cli.ok(&["connector", "create", "--file", c.to_str().unwrap()]);
    let task = cli.file(
        "t.json",
        r#"{"name": "Load", "schedule": "0 0 6 * * *", "object_id_attribute": "TitleId",
            "target_template": "title", "target_folder": "titles", "task_id_attribute": "taskid",
            "mappings": [{"source": "TitleId", "target": "title_id"}, {"source": "Name", "target": "name"}]}"#,
    );
    cli.ok(&[
        "task",
        "create",
        "--connector",
        "HR",
        "--file",
        task.to_str().unwrap(),
    ]);

    // Two files: leave one. Approving would be interrupted again, so it is not offered.
    let out = cli.run(&["task", "run", "HR/Load", "--wait"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("multiple files match"), "{text}");
    assert!(!text.contains("--approve"), "{text}");
    assert!(text.contains("hint: correct what it says"), "{text}");

    // Too few rows: the plan can be read, approving is refused with what to do.
    std::fs::remove_file(inbox.join("b.csv")).unwrap();
    let out = cli.run(&["--json", "task", "run", "HR/Load", "--wait"]);
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["status"], "interrupted", "{run}");
    let id = run["id"].as_str().unwrap();
    let text = cli.ok(&["run", "show", id]);
    assert!(text.contains("the file holds only 2 rows"), "{text}");
    assert!(!text.contains("--approve"), "{text}");
    assert!(
        text.contains("approving cannot lift the minimum row count"),
        "{text}"
    );
    assert_eq!(cli.json(&["run", "plan", id])["help"], "review_plan");
}

#[test]
fn datacards_history_names_the_run_that_created_a_card() {
    let cli = Cli::new();
    scripted(&cli, 3);
    let run = cli.json(&["task", "run", "HR/Load", "--wait"]);
    let cards = cli.json(&["datacards", "list", "--template", "person"]);
    let id = cards[0]["id"].to_string();
    let history = cli.json(&["datacards", "history", &id]);
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    assert_eq!(history[0]["kind"], "create");
    assert_eq!(history[0]["run_id"], run["id"]);
    assert_eq!(history[0]["task"], "HR/Load");
    let text = cli.ok(&["datacards", "history", &id]);
    assert!(text.contains("created by run"), "{text}");
    let err = cli.fails(&["datacards", "history", "999999"]);
    assert!(err.contains("999999"), "{err}");
}

#[test]
fn run_undo_shows_its_plan_then_sets_the_cards_back_as_a_run_of_its_own() {
    let cli = Cli::new();
    scripted(&cli, 3);
    cli.json(&["task", "run", "HR/Load", "--wait"]);
    let padded = cli.file("padded.json", r#"{"parameters": {"count": 3, "pad": 2}}"#);
    cli.ok(&["connector", "update", "HR", "--file", padded.to_str().unwrap()]);
    let changed = cli.json(&["task", "run", "HR/Load", "--wait"]);
    assert_eq!(changed["counts"]["updated"], 3);
    let id = changed["id"].as_str().unwrap();
    let names = |cli: &Cli| -> Vec<String> {
        let cards = cli.json(&["datacards", "list", "--template", "person"]);
        let mut v: Vec<String> = cards
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["data"]["last_name"].as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&cli), ["P0xx", "P1xx", "P2xx"]);

    let plan = cli.json(&["run", "undo", id, "--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["steps"].as_array().map(Vec::len), Some(3));
    assert_eq!(plan["steps"][0]["action"], "set back");
    assert_eq!(names(&cli), ["P0xx", "P1xx", "P2xx"], "a dry run changes nothing");
    // Each step says whose card it is: the key the card holds (the task's object id).
    let cards = cli.json(&["datacards", "list", "--template", "person"]);
    let key_of = |card: &Value| {
        cards
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == *card)
            .map(|c| c["data"]["employee_id"].clone())
            .unwrap()
    };
    let step = &plan["steps"][0];
    assert_eq!(step["object_id"], key_of(&step["card_id"]), "{step}");

    let text = cli.ok(&["run", "undo", id]);
    assert!(
        text.contains("undone of run") && text.contains("last_name: \"P0xx\" -> \"P0\""),
        "{text}"
    );
    let named = format!(
        "{} (card {}) set back",
        step["object_id"].as_str().unwrap(),
        step["card_id"]
    );
    assert!(text.contains(&named), "{named} in {text}");
    assert_eq!(names(&cli), ["P0", "P1", "P2"]);
    let history = cli.json(&["task", "history", "HR/Load"]);
    assert_eq!(history[0]["kind"], "undo");
    assert_eq!(history[0]["counts"]["updated"], 3);
    let err = cli.fails(&["run", "undo", "no-such-run"]);
    assert!(err.contains("no-such-run"), "{err}");
}

#[test]
fn held_removals_are_shown_with_their_hint_and_applied_once_with_run_apply_held() {
    let cli = Cli::new();
    scripted(&cli, 4);
    let t = cli.file(
        "hold.json",
        r#"{"name": "Load", "schedule": "0 0 * * * *", "object_id_attribute": "id", "target_template": "person",
            "target_folder": "persons", "task_id_attribute": "taskid",
            "mappings": [{"source": "id", "target": "employee_id"}, {"source": "name", "target": "last_name"}],
            "removal": {"status_attribute": "accountStatus", "removed_value": "5 - Removed"},
            "limits": {"update_limit": 1, "on_limit": "hold_excess"}}"#,
    );
    cli.ok(&["task", "update", "HR/Load", "--file", t.to_str().unwrap()]);
    cli.json(&["task", "run", "HR/Load", "--wait", "--approve"]);
    // Two people leave the source: 2 removals over a limit of 1, nothing else: both held.
    let fewer = cli.file("fewer.json", r#"{"parameters": {"count": 2}}"#);
    cli.ok(&["connector", "update", "HR", "--file", fewer.to_str().unwrap()]);
    let held = cli.json(&["task", "run", "HR/Load", "--wait"]);
    assert_eq!(
        (held["status"].as_str(), held["counts"]["held"].as_u64()),
        (Some("succeeded"), Some(2))
    );
    let id = held["id"].as_str().unwrap();
    let shown = cli.ok(&["run", "show", id]);
    assert!(
        shown.contains("held 2") && shown.contains(&format!("provisio run apply-held {id}")),
        "{shown}"
    );
    let plan = cli.json(&["run", "plan", id]);
    assert_eq!(
        (plan["help"].as_str(), plan["removals"].as_u64()),
        (Some("apply_held"), Some(2))
    );
    let plan = cli.ok(&["run", "plan", id]);
    assert!(
        plan.starts_with(&format!(
            "run {id} of HR/Load loaded the rest and held: 2 removals would take"
        )) && plan.contains("\n  removed: "),
        "{plan}"
    );
    // Each held removal says whose card it is and the status it gets.
    let removals: Vec<&str> = plan.lines().filter(|l| l.starts_with("  removed: ")).collect();
    assert_eq!(removals.len(), 2, "{plan}");
    assert!(
        removals
            .iter()
            .all(|l| l.contains(r#": last_name ""#)
                && l.ends_with(r#"): accountStatus: null -> "5 - Removed""#)),
        "{plan}"
    );

    let applied = cli.json(&["run", "apply-held", id]);
    assert_eq!(
        (applied["kind"].as_str(), applied["counts"]["removed"].as_u64()),
        (Some("held"), Some(2))
    );
    let cards = cli.json(&["datacards", "list", "--template", "person"]);
    let removed = cards
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["data"]["accountStatus"] == "5 - Removed")
        .count();
    assert_eq!(removed, 2);
    let err = cli.fails(&["run", "apply-held", id]);
    assert!(err.contains("was applied already"), "{err}");

    // Both people left are renamed: two changed cards over the limit, held, and the
    // plan says field by field what applying them writes.
    let padded = cli.file("padded.json", r#"{"parameters": {"count": 2, "pad": 2}}"#);
    cli.ok(&["connector", "update", "HR", "--file", padded.to_str().unwrap()]);
    let held = cli.json(&["task", "run", "HR/Load", "--wait"]);
    assert_eq!(held["counts"]["held"], 2, "{held}");
    let plan = cli.ok(&["run", "plan", held["id"].as_str().unwrap()]);
    for n in ["0", "1"] {
        let line = plan
            .lines()
            .find(|l| l.starts_with(&format!("  changed: {n} (card ")))
            .unwrap_or_else(|| panic!("no line for {n} in\n{plan}"));
        assert!(
            line.ends_with(&format!("): last_name: \"P{n}\" -> \"P{n}xx\"")),
            "{plan}"
        );
    }
}

/// kill -9 at random points of `run undo`: the undo sets every card back or
/// none, is never left running, and an undo that did not commit can be run
/// again and sets everything back once.
#[test]
fn kill_point_sweep_over_an_undo_sets_back_all_or_nothing() {
    const COUNT: usize = 20_000;
    let changed = COUNT.div_ceil(50);
    let cli = Cli::new();
    scripted_task(
        &cli,
        "Sweep",
        "Load",
        GENERATIONS,
        "0 0 * * * *",
        &format!(r#"{{"count": {COUNT}}}"#),
    );
    assert_eq!(
        cli.json(&["task", "run", "Sweep/Load", "--wait"])["status"],
        "succeeded"
    );
    // Cards of the changing kind (every 50th) whose name carries generation `g`.
    let named = |cli: &Cli, g: u32| {
        let cards = cli.json(&["datacards", "list", "--template", "person", "--limit", "1000000"]);
        of_generation(cards.as_array().unwrap(), g)
    };
    let undo = |cli: &Cli, run: &str| {
        Command::new(env!("CARGO_BIN_EXE_provisio"))
            .arg("--data-dir")
            .arg(cli.data())
            .args(["run", "undo", run])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long an undisturbed undo takes here, to spread the kills over.
    set_generation(&cli, 1, COUNT);
    let rerun = cli.json(&["task", "run", "Sweep/Load", "--wait"]);
    let started = std::time::Instant::now();
    assert!(undo(&cli, rerun["id"].as_str().unwrap())
        .wait()
        .unwrap()
        .success());
    let undisturbed = started.elapsed();
    assert_eq!((named(&cli, 0), named(&cli, 1)), (changed, 0));

    let (mut killed, mut done) = (0, 0);
    for point in 0..6u32 {
        let generation = point + 2;
        set_generation(&cli, generation, COUNT);
        let rerun = cli.json(&["task", "run", "Sweep/Load", "--wait"]);
        // (The cache still holds the undone generation: the re-run writes the 2 % the new generation changed.)
        assert_eq!(named(&cli, generation), changed, "{rerun}");
        let id = rerun["id"].as_str().unwrap().to_string();
        let mut child = undo(&cli, &id);
        std::thread::sleep(undisturbed.mul_f64(f64::from(point) / 5.0 * 1.1));
        let _ = child.kill();
        child.wait().unwrap();
        let last = &cli.json(&["task", "history", "Sweep/Load", "--limit", "1"])[0];
        assert_ne!(last["status"], "running", "point {point}: {last}");
        let (back, still) = (named(&cli, 0), named(&cli, generation));
        assert!(
            (back, still) == (changed, 0) || (back, still) == (0, changed),
            "point {point}: an undo applied by halves: {back} set back, {still} not"
        );
        if back == changed {
            done += 1;
            assert_eq!(
                (last["kind"].as_str(), last["status"].as_str()),
                (Some("undo"), Some("succeeded")),
                "{last}"
            );
        } else {
            killed += 1;
            // Run again, the undo sets everything back once.
            let again = cli.json(&["run", "undo", &id]);
            assert!(again["undo_run_id"].is_string(), "point {point}: {again}");
            assert_eq!(
                (named(&cli, 0), named(&cli, generation)),
                (changed, 0),
                "point {point}"
            );
        }
    }
    println!(
        "undo kill sweep: {killed} killed before the commit, {done} after (undisturbed undo {undisturbed:?})"
    );
}
