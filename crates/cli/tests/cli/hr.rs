//! HR connectors from the CLI: debug logging, where files go, and the
//! `webapi_*` block turned into an ESM target.

use crate::support::*;

#[test]
fn an_hr_connector_with_debug_logs_its_runs_at_debug_level_and_others_do_not() {
    let cli = Cli::new();
    cli.ok(&["settings", "set", "environment_type=test"]);
    let inbox = cli.dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("t.csv"), "TitleId;Name\nT1;Engineer\nT2;Manager\n").unwrap();
    let task = cli.file(
        "t.json",
        r#"{"name": "Load", "schedule": "0 0 6 * * *", "object_id_attribute": "TitleId",
            "target_template": "title", "target_folder": "titles", "task_id_attribute": "taskid",
            "mappings": [{"source": "TitleId", "target": "title_id"}, {"source": "Name", "target": "name"}]}"#,
    );
    let mut ids = Vec::new();
    for (name, debug) in [("Loud", true), ("Quiet", false)] {
        let c = cli.file(
            "c.json",
            &serde_json::json!({"name": name, "type": "hr_file", "parameters": {
                "file_path": format!("{}/*.csv", inbox.display()), "data_type": "title", "run_type": "full",
                "report_template_code": "admin_task", "report_folder_code": "admin_tasks", "debug": debug}})
            .to_string(),
        );
        cli.ok(&["connector", "create", "--file", c.to_str().unwrap()]);
        cli.ok(&[
            "task",
            "create",
            "--connector",
            name,
            "--file",
            task.to_str().unwrap(),
        ]);
        let run = cli.json(&["task", "run", &format!("{name}/Load"), "--wait"]);
        assert_eq!(run["status"], "succeeded", "{run}");
        ids.push(run["id"].as_str().unwrap().to_string());
    }
    let out = cli.dir.path().join("logs.zip");
    cli.json(&["logs", "export", "--out", out.to_str().unwrap()]);
    let lines = engine_log_lines(&zip_entries(&out));
    let debug_lines_of = |run_id: &str| {
        lines
            .iter()
            .filter(|l| l["level"] == "DEBUG")
            .filter(|l| {
                l["spans"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| s["run_id"] == run_id))
            })
            .count()
    };
    assert!(
        debug_lines_of(&ids[0]) >= 2,
        "the debug connector's run logs its debug lines"
    );
    assert_eq!(
        debug_lines_of(&ids[1]),
        0,
        "log_level info holds for the other connector"
    );
}

#[test]
fn an_hr_connector_says_where_its_files_go() {
    let cli = Cli::new();
    let c = cli.file(
        "c.json",
        r#"{"name": "HR", "type": "hr_file", "parameters": {"file_path": "in/*.csv", "data_type": "title",
            "report_template_code": "admin_task", "report_folder_code": "admin_tasks"}}"#,
    );
    let created = cli.ok(&["connector", "create", "--file", c.to_str().unwrap()]);
    let id = cli.json(&["connector", "show", "HR"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let folder = cli.data().join("connectors").join(&id);
    assert!(folder.is_dir(), "the folder exists from the start");
    assert!(
        created.contains(&format!(
            "folder (relative file_path starts here): {}",
            folder.display()
        )),
        "{created}"
    );
    let err = cli.fails(&[
        "connector",
        "update",
        "HR",
        "--file",
        cli.file("u.json", r#"{"parameters": {"data_type": "title"}}"#)
            .to_str()
            .unwrap(),
    ]);
    assert!(
        err.contains("missing mandatory fields: file_path, report_template_code, report_folder_code"),
        "{err}"
    );
}

#[test]
fn an_hr_parameter_block_becomes_an_esm_target_in_one_step() {
    let cli = Cli::new();
    let solution = standin();
    // The block as pasted from the HR manual, the API's path included in webapi_url.
    let c = cli.file(
        "c.json",
        &format!(
            r#"{{"name": "HR", "type": "hr_file", "parameters": {{"file_path": "in/*.csv", "data_type": "title",
            "report_template_code": "admin_task", "report_folder_code": "admin_tasks",
            "webapi_user": "IGA.WebAPI", "webapi_password": "aeiou-4711",
            "webapi_url": "{}/rest-api/itsm/v1", }}}}"#,
            solution.base_url()
        ),
    );
    // On the local store the block is not used, and the CLI says so (and how to use it).
    let created = cli.ok(&["connector", "create", "--file", c.to_str().unwrap()]);
    assert!(
        created.contains("note: webapi_url, webapi_user, webapi_password are not used: this connector writes to the local datacard store")
            && created.contains("provisio target add --from-connector"),
        "{created}"
    );
    assert!(cli.ok(&["connector", "show", "HR"]).contains("are not used"));
    let added = cli.ok(&["target", "add", "--from-connector", "HR", "--name", "acme"]);
    assert_eq!(
        added.trim(),
        "target 'acme' added: logged in; 2 templates, 2 folders"
    );
    assert_eq!(cli.json(&["connector", "show", "HR"])["target"], "acme");
    // Now they define where the connector writes: no note.
    assert!(!cli.ok(&["connector", "show", "HR"]).contains("note:"));
    let listed = cli.ok(&["target", "list"]);
    let acme: Vec<&str> = listed
        .lines()
        .find(|l| l.starts_with("acme "))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        acme,
        ["acme", "esm", &solution.base_url(), "IGA.WebAPI"],
        "{listed}"
    );
    assert!(!listed.contains("aeiou"), "{listed}");
    assert!(cli
        .ok(&["template", "list", "--target", "acme"])
        .contains("person"));
    assert_eq!(cli.json(&["target", "test", "acme"])["templates"], 2);
    let err = cli.fails(&["target", "remove", "acme"]);
    assert!(
        err.contains("target 'acme' is used by the connectors HR"),
        "{err}"
    );

    let t = cli.file(
        "t.json",
        &format!(
            r#"{{"name": "acme-prod", "kind": "esm", "base_url": "{}", "user": "IGA.WebAPI", "password": "not-it"}}"#,
            solution.base_url()
        ),
    );
    let err = cli.fails(&["target", "add", "--file", t.to_str().unwrap()]);
    assert!(
        err.contains("target 'acme-prod': the credentials were refused"),
        "{err}"
    );
    assert!(!err.contains("not-it"), "{err}");
    assert!(!cli.ok(&["target", "list"]).contains("acme-prod"));
}
