//! Drives the built `provisio` binary the way a user or a script does and
//! checks what they would see: stdout, stderr and the exit code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_provisio"))
            .arg("--data-dir")
            .arg(self.data())
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("one JSON document")
    }

    /// Runs a command that must fail; returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should have failed");
        assert!(out.stdout.is_empty(), "a failed command printed to stdout");
        String::from_utf8(out.stderr).unwrap()
    }
}

const CONNECTOR: &str = r#"{ "name": "HR users", "type": "python_script", "script": "users_from_api.py",
  // copied from the integration guide
  "parameters": { "base_url": "https://hr.example", "page_size": 500, },
}"#;

const TASK: &str = r#"{ "name": "Daily", "usage": "scheduled", "enabled": true,
  "schedule": "0 0 2 * * *", "timezone": "Europe/Helsinki", "run_type": "full",
  "mappings_type": "generic", "object_id_attribute": "employeeId",
  "target_template": "person", "target_folder": "persons",
  "task_id_attribute": "taskid", "data_source_type_attribute": "dataSourceType",
  "mappings": [ { "source": "employeeId", "target": "employee_id" },
                { "source": "lastName", "target": "last_name" } ] }"#;

fn create_connector(cli: &Cli) -> Value {
    let f = cli.file("connector.json", CONNECTOR);
    cli.json(&["connector", "create", "--file", f.to_str().unwrap()])
}

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
