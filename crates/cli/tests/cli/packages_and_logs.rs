//! Packages (export / import, 7-Zip compatibility) and the logs export.

use serde_json::Value;
use std::io::Write;
use std::process::Command;

use crate::support::*;

#[test]
fn an_exported_package_opens_in_7zip_with_the_password_only() {
    let cli = Cli::new();
    cli.ok(&["settings", "set", "environment_type=test"]);
    let c = cli.file(
        "c.json",
        r#"{"name": "HR", "type": "python_script", "script": "sample_users.py", "parameters": {"password": "pw-7z-31337"}}"#,
    );
    cli.ok(&["connector", "create", "--file", c.to_str().unwrap()]);
    let pw = cli.file("pw.txt", "a long package password\n");
    let pkg = cli.dir.path().join("hr.zip");
    let summary = cli.json(&[
        "export",
        "--out",
        pkg.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
        "--all",
    ]);
    assert_eq!(summary["connectors"][0], "HR");
    let ok = Command::new("7z")
        .args(["t", "-pa long package password"])
        .arg(&pkg)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "7-Zip could not open the package: {}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let bad = Command::new("7z")
        .args(["t", "-pnot the password"])
        .arg(&pkg)
        .output()
        .unwrap();
    assert!(
        !bad.status.success(),
        "7-Zip opened the package with a wrong password"
    );
    let out = cli.dir.path().join("x");
    let extracted = Command::new("7z")
        .args(["x", "-pa long package password", "-y"])
        .arg(format!("-o{}", out.display()))
        .arg(&pkg)
        .output()
        .unwrap();
    assert!(extracted.status.success());
    assert!(out.join("manifest.json").exists());

    // The password never comes from argv; a short one is refused before anything is written.
    let short = cli.file("short.txt", "short\n");
    let err = cli.fails(&[
        "export",
        "--out",
        "/tmp/never.zip",
        "--password-file",
        short.to_str().unwrap(),
        "--all",
    ]);
    assert_eq!(
        err.trim(),
        "error: password: a package password needs at least 12 characters"
    );
    let err = cli.fails(&[
        "export",
        "--out",
        pkg.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(err.contains("--connector C (repeatable), or use --all"), "{err}");

    // Import into another data directory, the password on stdin; a dry run first.
    let other = tempfile::tempdir().unwrap();
    let import = |extra: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_provisio"))
            .arg("--data-dir")
            .arg(other.path())
            .args(["--json", "import"])
            .arg(&pkg)
            .args(["--password-file", "-"])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a long package password\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let plan = import(&["--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["connectors"][0]["action"], "create");
    let listed = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(other.path())
        .args(["--json", "connector", "list"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&listed.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    import(&[]);
    let shown = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(other.path())
        .args(["--json", "connector", "show", "HR"])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["parameters"]["password"], "********");
}

#[test]
fn logs_export_packs_the_engine_log_with_the_run_span_and_no_secret() {
    let cli = Cli::new();
    let secret = "hunter2-api-key-0042";
    let script = r#"import json, sys
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
# A careless script: prints its parameters, secret included.
print("parameters:", json.dumps(a["connector_parameters"]))
print("key", a["connector_parameters"]["api_key"], file=sys.stderr)
with open(a["expected_output_filename"], "w") as f:
    json.dump([{"id": "1", "name": "Ada"}], f)
"#;
    scripted_task(
        &cli,
        "HR",
        "Load",
        script,
        "0 0 * * * *",
        &format!(r#"{{"api_key": "{secret}"}}, "secret_parameters": ["api_key"]"#),
    );
    cli.ok(&["settings", "set", "log_level=debug"]);
    let run = cli.json(&["task", "run", "HR/Load", "--wait"]);
    assert_eq!(run["status"], "succeeded", "{run}");
    let run_id = run["id"].as_str().unwrap();
    let task_id = cli.json(&["task", "show", "HR/Load"])["id"]
        .as_str()
        .unwrap()
        .to_string();

    let out = cli.dir.path().join("logs.zip");
    let export = cli.json(&["logs", "export", "--out", out.to_str().unwrap()]);
    let entries = zip_entries(&out);
    assert_eq!(export["entries"].as_array().unwrap().len(), entries.len());
    for (name, text) in &entries {
        assert!(!text.contains(secret), "{name} holds the secret value:\n{text}");
    }
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&format!("runs/{run_id}/run.log").as_str()),
        "{names:?}"
    );
    let run_log = &entries.iter().find(|(n, _)| n.ends_with("/run.log")).unwrap().1;
    assert!(
        run_log.contains("parameters:"),
        "the script's output is in the run log: {run_log}"
    );

    // The engine's own log: JSON lines; the run's events carry its span with task and run id.
    let engine_log = engine_log_lines(&entries);
    let in_run_span = |line: &Value| {
        line["spans"].as_array().is_some_and(|spans| {
            spans
                .iter()
                .any(|s| s["name"] == "run" && s["run_id"] == run_id && s["task_id"] == task_id.as_str())
        })
    };
    let run_lines: Vec<&Value> = engine_log.iter().filter(|l| in_run_span(l)).collect();
    assert!(
        run_lines.iter().any(|l| l["fields"]["message"] == "run started"),
        "no 'run started' event in the run's span: {engine_log:#?}"
    );
    assert!(run_lines.iter().any(|l| l["fields"]["message"] == "run loaded"));
    // The script host logs inside the run's span too; its debug lines are there because log_level is debug.
    assert!(
        run_lines
            .iter()
            .any(|l| l["fields"]["message"] == "script started" && l["level"] == "DEBUG"),
        "no debug 'script started' line in the run's span"
    );

    // At the info level, the next run's debug lines are not written.
    cli.ok(&["settings", "set", "log_level=info"]);
    let quiet = cli.json(&["task", "run", "HR/Load", "--wait"]);
    let again = cli.dir.path().join("again.zip");
    cli.json(&["logs", "export", "--out", again.to_str().unwrap()]);
    let quiet_lines: Vec<Value> = engine_log_lines(&zip_entries(&again))
        .into_iter()
        .filter(|l| {
            l["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["run_id"] == quiet["id"]))
        })
        .collect();
    assert!(quiet_lines
        .iter()
        .any(|l| l["fields"]["message"] == "run started"));
    assert!(
        quiet_lines.iter().all(|l| l["level"] != "DEBUG"),
        "{quiet_lines:#?}"
    );

    // --since after everything: no run logs; a date that is not one is refused.
    let later = cli.dir.path().join("later.zip");
    let none = cli.json(&[
        "logs",
        "export",
        "--out",
        later.to_str().unwrap(),
        "--since",
        "2999-01-01",
    ]);
    assert!(none["entries"].as_array().unwrap().is_empty(), "{none}");
    let err = cli.fails(&[
        "logs",
        "export",
        "--out",
        later.to_str().unwrap(),
        "--since",
        "yesterday",
    ]);
    assert!(err.contains("'yesterday' is not a date (YYYY-MM-DD)"), "{err}");
}
