//! `provisio serve`: the scheduler, its lock, grace on SIGTERM, and the
//! workflow API it listens with.

use serde_json::Value;
use std::process::Command;

use crate::support::*;

#[test]
fn serve_runs_an_every_second_task_without_overlap_and_exits_cleanly_on_sigterm() {
    let cli = Cli::new();
    scripted_task(
        &cli,
        "S",
        "Every",
        "import json, time\nimport common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\ntime.sleep(1.3)\njson.dump([{'id': '1', 'name': 'x'}], open(a['expected_output_filename'], 'w'))\n",
        "* * * * * *",
        "{}",
    );
    let listed = cli.json(&["task", "list"]);
    assert!(
        listed[0]["next_run"].is_string(),
        "next run time is part of task list"
    );

    let mut serve = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .args(["serve", "--grace", "5"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // A second scheduler on the same directory refuses, saying who owns it.
    let second = cli.run(&["serve"]);
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8(second.stderr).unwrap();
    assert!(
        err.contains(&format!("another process (pid {}) owns scheduling", serve.id())),
        "{err}"
    );

    std::thread::sleep(std::time::Duration::from_millis(4500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = serve.wait().unwrap();
    assert_eq!(status.code(), Some(0), "serve exits 0 on SIGTERM");

    let history = cli.json(&["task", "history", "S/Every", "--limit", "100"]);
    let runs = history.as_array().unwrap();
    let count = |s: &str| runs.iter().filter(|r| r["status"] == s).count();
    assert!(count("succeeded") >= 2, "{history}");
    assert!(
        count("skipped") >= 2,
        "due times during a run are recorded as skipped: {history}"
    );
    assert_eq!(count("running"), 0, "no run is left running");
    // Never two runs of the task at once.
    let mut spans: Vec<(String, String)> = runs
        .iter()
        .filter(|r| r["status"] != "skipped")
        .map(|r| {
            (
                r["started_at"].as_str().unwrap().to_string(),
                r["finished_at"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "runs overlap: {pair:?}");
    }
    // The owner is gone, so a new scheduler may take over at once.
    let mut again = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .arg("serve")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    again.kill().unwrap();
    again.wait().unwrap();
    let third = cli.run(&["settings", "show"]);
    assert!(third.status.success());
}

#[test]
fn a_killed_scheduler_leaves_no_stale_lock() {
    let cli = Cli::new();
    cli.ok(&["settings", "set", "environment_type=test"]);
    let mut first = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .arg("serve")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let mut second = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .arg("serve")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second scheduler took over"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(second.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(second.wait().unwrap().code(), Some(0));
}

#[test]
fn serve_stops_a_run_that_outlives_the_grace_period_and_records_it_stopped() {
    let cli = Cli::new();
    scripted_task(
        &cli,
        "L",
        "Long",
        "import time\nimport common_subroutines_efecte_library as sdk\nsdk.initialize_script()\ntime.sleep(60)\n",
        "* * * * * *",
        "{}",
    );
    let mut serve = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .args(["serve", "--grace", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let started = std::time::Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(serve.wait().unwrap().code(), Some(0));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "shutdown took {:?}",
        started.elapsed()
    );
    let history = cli.json(&["task", "history", "L/Long", "--limit", "100"]);
    let runs = history.as_array().unwrap();
    assert!(runs.iter().all(|r| r["status"] != "running"), "{history}");
    let stopped: Vec<&Value> = runs.iter().filter(|r| r["status"] == "stopped").collect();
    assert_eq!(stopped.len(), 1, "{history}");
    assert_eq!(
        stopped[0]["extract"]["info"],
        "stopped by a user during the extract; nothing was loaded"
    );
}

#[test]
fn serve_listen_answers_workflows_with_a_token_and_refuses_them_without() {
    let cli = Cli::new();
    cli.ok(&["settings", "set", "environment_type=test"]);
    let created = cli.ok(&["api-token", "create", "--name", "flows"]);
    assert!(
        created.starts_with("token 'flows' created for every task; it is shown this once"),
        "{created}"
    );
    let token = created.lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("pvo_"), "{created}");
    let listed = cli.ok(&["api-token", "list"]);
    assert!(listed.contains("flows") && !listed.contains(&token), "{listed}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .args(["serve", "--grace", "2", "--listen", &port.to_string()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::blocking::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut r = http.get(format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().map(|r| r.status().as_u16())
    };
    let started = std::time::Instant::now();
    while get("/health", None).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the API did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(get("/health", None).unwrap(), 200);
    assert_eq!(get("/tasks", None).unwrap(), 401);
    assert_eq!(get("/tasks", Some(&token)).unwrap(), 200);
    cli.ok(&["api-token", "revoke", "flows"]);
    assert_eq!(
        get("/tasks", Some(&token)).unwrap(),
        401,
        "a revoked token is refused at once"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(
        serve.wait().unwrap().code(),
        Some(0),
        "serve and its API stop cleanly on SIGTERM"
    );
    let err = cli.fails(&["serve", "--listen", "not-an-address"]);
    assert!(
        err.contains("'not-an-address' is not ADDRESS:PORT or a port"),
        "{err}"
    );

    // The workflow_api setting turns it on for whoever schedules (here `serve` without --listen).
    let err = cli.fails(&["settings", "set", "workflow_api=nowhere"]);
    assert!(err.contains("is not ADDRESS:PORT, a port or off"), "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cli.ok(&["settings", "set", &format!("workflow_api={port}")]);
    assert!(cli
        .ok(&["settings", "show"])
        .contains(&format!("127.0.0.1:{port}")));
    let mut serve = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .args(["serve", "--grace", "2"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let health = format!("http://127.0.0.1:{port}/api/v1/health");
    let started = std::time::Instant::now();
    while http.get(&health).send().is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the API did not come up from the setting"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
}

#[test]
fn idle_sockets_never_starve_the_scheduler_of_a_serve_with_few_descriptors() {
    let cli = Cli::new();
    scripted_task(
        &cli,
        "Tick",
        "Load",
        "import json\nimport common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\n\
         json.dump([{'id': '1', 'name': 'n'}], open(a['expected_output_filename'], 'w'))\n",
        "* * * * * *",
        "{}",
    );
    let created = cli.ok(&["api-token", "create", "--name", "flows"]);
    let token = created.lines().last().unwrap().trim().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A small descriptor table, soft and hard (util-linux's prlimit): what a
    // few thousand sockets used up before.
    let mut serve = Command::new("prlimit")
        .arg("--nofile=256:256")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .args(["serve", "--grace", "2", "--listen", &port.to_string()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(90))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    while http.get(format!("{base}/health")).send().is_err() {
        assert!(started.elapsed().as_secs() < 20, "the API did not come up");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // A thousand sockets that never send a byte, four times the server's descriptors.
    let idle: Vec<std::net::TcpStream> = (0..1000)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    assert!(idle.len() >= 900, "only {} sockets connected", idle.len());
    let held_since = chrono_now();
    std::thread::sleep(std::time::Duration::from_secs(5));
    let tasks = http
        .get(format!("{base}/tasks"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(tasks.status().as_u16(), 200, "an authenticated call is answered");
    // Every second's run while the sockets were held succeeded.
    let history = cli.json(&["task", "history", "Tick/Load"]);
    let during: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["started_at"].as_str().unwrap_or_default() >= held_since.as_str())
        .filter(|r| r["status"] != "running")
        .collect();
    assert!(
        during.len() >= 2,
        "runs went on while the sockets were held: {history}"
    );
    for r in &during {
        assert_eq!(r["status"], "succeeded", "{r}");
    }
    drop(idle);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(serve.wait().unwrap().code(), Some(0));
}
