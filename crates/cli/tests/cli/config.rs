//! Connectors, tasks, settings, templates and targets, the audit, and how
//! the CLI reports errors: what a user types and what they read back.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

use crate::support::*;

#[test]
fn creating_an_existing_connector_name_fails_naming_the_name() {
    let cli = Cli::new();
    create_connector(&cli);
    let f = cli.dir.path().join("connector.json");
    let err = cli.fails(&["connector", "create", "--file", f.to_str().unwrap()]);
    assert_eq!(
        err.trim(),
        "error: connector named 'HR users' already exists; choose another name"
    );
    let list = cli.json(&["connector", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn parameters_with_comments_are_accepted_and_stored_without_them() {
    let cli = Cli::new();
    let created = create_connector(&cli);
    assert_eq!(
        created["parameters"],
        serde_json::json!({"base_url": "https://hr.example", "page_size": 500})
    );
    let shown = cli.json(&["connector", "show", "HR users"]);
    assert_eq!(shown["id"], created["id"]);
    assert_eq!(shown["parameters"]["page_size"], 500);
    let text = cli.ok(&["connector", "list"]);
    assert!(
        text.contains("HR users") && text.contains("python_script"),
        "{text}"
    );
}

#[test]
fn a_task_mapping_an_attribute_the_template_lacks_fails_naming_it() {
    let cli = Cli::new();
    create_connector(&cli);
    let f = cli.file("task.json", &TASK.replace("\"last_name\"", "\"surname\""));
    let err = cli.fails(&[
        "task",
        "create",
        "--connector",
        "HR users",
        "--file",
        f.to_str().unwrap(),
    ]);
    assert_eq!(
        err.trim(),
        "error: mappings: attribute 'surname' does not exist in template 'person'"
    );
}

#[test]
fn a_task_without_target_folder_fails_naming_target_folder() {
    let cli = Cli::new();
    create_connector(&cli);
    let f = cli.file("task.json", &TASK.replace(r#""target_folder": "persons","#, ""));
    let err = cli.fails(&[
        "task",
        "create",
        "--connector",
        "HR users",
        "--file",
        f.to_str().unwrap(),
    ]);
    assert_eq!(err.trim(), "error: missing mandatory fields: target_folder");
}

#[test]
fn tasks_are_created_listed_shown_copied_and_removed() {
    let cli = Cli::new();
    create_connector(&cli);
    let f = cli.file("task.json", TASK);
    let task = cli.json(&[
        "task",
        "create",
        "--connector",
        "HR users",
        "--file",
        f.to_str().unwrap(),
    ]);
    assert_eq!(task["name"], "Daily");
    let shown = cli.json(&["task", "show", "HR users/Daily"]);
    assert_eq!(shown["id"], task["id"]);
    let copy = cli.json(&["task", "copy", "HR users/Daily"]);
    assert_eq!(copy["name"], "Daily (copy)");
    let list = cli.json(&["task", "list", "--connector", "HR users"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    // `show --json` output, edited, is accepted back by `update`.
    let mut edited = shown.clone();
    edited["schedule"] = "0 15 2 * * *".into();
    let f2 = cli.file("edited.json", &edited.to_string());
    let updated = cli.json(&["task", "update", "HR users/Daily", "--file", f2.to_str().unwrap()]);
    assert_eq!(updated["schedule"], "0 15 2 * * *");
    cli.ok(&["task", "remove", "HR users/Daily (copy)"]);
    assert_eq!(cli.json(&["task", "list"]).as_array().unwrap().len(), 1);
    let err = cli.fails(&["task", "show", "HR users/Nope"]);
    assert_eq!(err.trim(), "error: task 'HR users/Nope' does not exist");
}

#[test]
fn settings_show_and_set() {
    let cli = Cli::new();
    let s = cli.json(&["settings", "show"]);
    assert_eq!(s["environment_type"], Value::Null);
    assert_eq!(s["workers"], 4);
    let s = cli.json(&[
        "settings",
        "set",
        "environment_type=test",
        "cache_clear_hours=6,12",
    ]);
    assert_eq!(s["environment_type"], "test");
    assert_eq!(s["cache_clear_hours"], serde_json::json!([6, 12]));
    let err = cli.fails(&["settings", "set", "environment_type=staging"]);
    assert_eq!(
        err.trim(),
        "error: environment_type: 'staging' is not an environment type; use one of test, prod, demo, dev"
    );
    let err = cli.fails(&["settings", "set", "workers"]);
    assert!(err.contains("'workers' is not KEY=VALUE"), "{err}");
}

#[test]
fn json_errors_go_to_stderr_with_a_code() {
    let cli = Cli::new();
    let out = cli.run(&["--json", "connector", "show", "Nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["code"], "not_found");
    assert_eq!(err["error"]["message"], "connector 'Nope' does not exist");
}

#[test]
fn unreadable_and_malformed_files_are_named_with_the_problem() {
    let cli = Cli::new();
    let err = cli.fails(&["connector", "create", "--file", "/nonexistent/c.json"]);
    assert!(
        err.starts_with("error: /nonexistent/c.json: cannot read the file"),
        "{err}"
    );
    let f = cli.file("bad.json", "{\n  \"name\": \"X\"\n  \"type\": \"hr_file\"\n}");
    let err = cli.fails(&["connector", "create", "--file", f.to_str().unwrap()]);
    assert!(err.contains("line 3"), "{err}");
    let f = cli.file("typo.json", r#"{"name": "X", "typ": "hr_file"}"#);
    let err = cli.fails(&["connector", "create", "--file", f.to_str().unwrap()]);
    assert!(err.contains("unknown field `typ`"), "{err}");
}

#[test]
fn templates_and_targets_are_listed() {
    let cli = Cli::new();
    let templates = cli.json(&["template", "list"]);
    let codes: Vec<&str> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"person") && codes.contains(&"provisioning_failure"),
        "{codes:?}"
    );
    let person = cli.json(&["template", "show", "person"]);
    assert!(person["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["code"] == "accountStatus"));
    let f = cli.file("t.json", r#"{"code": "laptop", "name": "Laptop", "attributes": [{"code": "serial"}], "folders": [{"code": "laptops"}]}"#);
    cli.ok(&["template", "add", "--file", f.to_str().unwrap()]);
    assert!(cli.ok(&["template", "list"]).contains("laptop"));
    let targets = cli.json(&["target", "list"]);
    assert_eq!(targets[0]["name"], "local");
}

#[test]
fn the_data_directory_comes_from_the_environment_when_not_given() {
    let dir = tempfile::tempdir().unwrap();
    let data: &Path = &dir.path().join("from-env");
    let out = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .args(["--json", "status"])
        .env("PROVISIO_DATA_DIR", data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["data_dir"], data.display().to_string());
    assert!(
        data.join("provisio.db").exists(),
        "the data directory is created on first use"
    );
}

#[test]
fn a_locked_or_missing_keyring_refuses_secrets_with_advice_and_saves_nothing() {
    let cli = Cli::new();
    cli.script("a.py");
    let c = cli.file(
        "c.json",
        r#"{"name": "API", "type": "python_script", "script": "a.py", "parameters": {"api_token": "t-1"}}"#,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .args(["connector", "create", "--file", c.to_str().unwrap()])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/provisio-test-bus",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: the OS keyring is not usable:"), "{err}");
    assert!(
        err.contains("Unlock or start your keyring") && err.contains("nothing was saved"),
        "{err}"
    );
    assert!(!err.contains("t-1"));
    assert_eq!(
        cli.json(&["connector", "list"]).as_array().unwrap().len(),
        0,
        "nothing was saved half-way"
    );
}

#[test]
fn usage_errors_under_json_are_one_json_error() {
    let cli = Cli::new();
    let out = cli.run(&["--json", "task", "run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err: Value = serde_json::from_slice(&out.stderr).expect("a JSON error on stderr");
    assert_eq!(err["error"]["code"], "usage");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("<TASK>"),
        "{err}"
    );
    let out = cli.run(&["connector", "frobnicate", "--json"]);
    let err: Value = serde_json::from_slice(&out.stderr).expect("--json after the command counts too");
    assert_eq!(err["error"]["code"], "usage");
    assert!(cli.run(&["--help"]).status.success());
}

#[test]
fn a_json_file_with_a_byte_order_mark_is_read() {
    let cli = Cli::new();
    cli.script("users_from_api.py");
    let f = cli.file("bom.json", &format!("\u{feff}{CONNECTOR}"));
    let c = cli.json(&["connector", "create", "--file", f.to_str().unwrap()]);
    assert_eq!(c["name"], "HR users");
}

#[test]
fn engine_errors_carry_their_remedy_and_the_cli_words_it_as_a_command() {
    let cli = Cli::new();
    scripted(&cli, 1);
    let values = cli.file("values.json", r#"{"employee_id": "1"}"#);
    let values = values.to_str().unwrap();
    // Under --json the remedy is data; in text it is a hint naming the command.
    let out = cli.run(&["--json", "event", "invoke", "HR/Load", "--input", values]);
    let body: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(body["error"]["remedy"]["kind"], "run_task", "{body}");
    assert!(
        !body["error"]["message"].as_str().unwrap().contains("provisio"),
        "{body}"
    );
    let text = cli.fails(&["event", "invoke", "HR/Load", "--input", values]);
    assert!(
        text.contains("hint: run it with `provisio task run HR/Load`"),
        "{text}"
    );
}

#[test]
fn alert_severity_follows_the_environment_type() {
    let cli = Cli::new();
    scripted_task(
        &cli,
        "S",
        "Load",
        "import sys\nsys.exit(5)\n",
        "0 0 0 1 1 *",
        "{}",
    );
    cli.run(&["task", "run", "S/Load", "--wait"]);
    cli.ok(&["settings", "set", "environment_type=prod"]);
    cli.run(&["task", "run", "S/Load", "--wait"]);
    let alerts = cli.json(&["alerts", "list"]);
    let severities: Vec<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["critical", "warning"], "newest first: {alerts}");
    let table = cli.ok(&["alerts", "list"]);
    assert!(table.lines().next().unwrap().contains("SEVERITY"), "{table}");
    // The table names each alert's id, which `alerts ack` takes, and says which were seen.
    let newest = table.lines().nth(1).unwrap();
    let id = newest.split_whitespace().next().unwrap();
    assert_eq!(id, alerts[0]["id"].to_string(), "{table}");
    assert!(!newest.contains("seen"), "{table}");
    cli.ok(&["alerts", "ack", id]);
    let table = cli.ok(&["alerts", "list"]);
    let newest = table.lines().nth(1).unwrap();
    assert!(newest.contains(" seen "), "{table}");
}

#[test]
fn the_audit_lists_the_cli_s_changes_newest_first_and_refuses_a_bad_date() {
    let cli = Cli::new();
    cli.ok(&["settings", "set", "environment_type=test"]);
    create_connector(&cli);
    let entries = cli.json(&["audit", "list"]);
    let entries = entries.as_array().unwrap();
    let first = &entries[0];
    assert_eq!(
        (
            &first["object"],
            &first["name"],
            &first["action"],
            &first["surface"]
        ),
        (
            &Value::from("connector"),
            &Value::from("HR users"),
            &Value::from("create"),
            &Value::from("cli")
        )
    );
    assert!(entries.iter().any(|e| e["object"] == "settings"));
    let text = cli.ok(&["audit", "list", "--text", "users_from_api"]);
    assert!(text.contains("script") && text.contains("add"), "{text}");
    let err = cli.fails(&["audit", "list", "--since", "yesterday"]);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}
