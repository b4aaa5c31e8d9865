//! Directory connectors from the CLI: authentication tasks and Test connection.

use std::io::Write;
use std::process::Command;

use serde_json::Value;

use crate::slapd::{Slapd, BASE, READER};
use crate::support::*;

#[test]
fn authentication_tasks_are_created_listed_shown_tested_and_removed() {
    let cli = Cli::new();
    cli.ok(&["settings", "set", "environment_type=test"]);
    // A directory nobody answers at: the login test must say so, never the password.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let connector = cli.file(
        "directory.json",
        &format!(
            r#"{{ "name": "Directory", "type": "ldap",
                 "parameters": {{ "url": "ldap://127.0.0.1:{port}", "base_dn": "dc=example,dc=com",
                                  "directory_kind": "openldap" }} }}"#
        ),
    );
    cli.ok(&["connector", "create", "--file", connector.to_str().unwrap()]);
    let auth = cli.file(
        "auth.json",
        r#"{ "name": "Staff login", "realm": "corp", "login_attribute": "uid",
             // only the staff group may log in
             "group_dn": "cn=staff,ou=groups,dc=example,dc=com" }"#,
    );
    let created = cli.ok(&[
        "auth-task",
        "create",
        "Directory",
        "--file",
        auth.to_str().unwrap(),
    ]);
    assert!(
        created.contains("authentication task created 'Directory/Staff login'"),
        "{created}"
    );
    let listed = cli.ok(&["auth-task", "list"]);
    assert!(
        listed.contains("Staff login") && listed.contains("corp") && listed.contains("not run yet"),
        "{listed}"
    );
    let shown = cli.json(&["auth-task", "show", "Directory/Staff login"]);
    assert_eq!(shown["login_attribute"], "uid");
    assert_eq!(shown["schedule"], "0 */15 * * * *");
    assert!(cli.ok(&["task", "list"]).contains("authentication"));

    // A script connector has no authentication tasks; a missing login attribute is named.
    create_connector(&cli);
    let listed = cli.ok(&["connector", "list"]);
    let row = |name: &str| -> Vec<String> {
        let line = listed.lines().find(|l| l.contains(name)).unwrap_or_default();
        line.split_whitespace().map(str::to_string).collect()
    };
    assert!(
        listed
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end()
            .ends_with("EVENT  AUTH"),
        "{listed}"
    );
    assert_eq!(row("Directory").last().map(String::as_str), Some("1"), "{listed}");
    assert_eq!(
        row("HR users").last().map(String::as_str),
        Some("0"),
        "the EVENT column ends a script connector's row: {listed}"
    );
    let err = cli.fails(&[
        "auth-task",
        "create",
        "HR users",
        "--file",
        auth.to_str().unwrap(),
    ]);
    assert!(err.contains("only directory connectors"), "{err}");
    let bad = cli.file("bad.json", r#"{ "name": "Bad", "realm": "corp" }"#);
    let err = cli.fails(&[
        "auth-task",
        "create",
        "Directory",
        "--file",
        bad.to_str().unwrap(),
    ]);
    assert!(err.contains("login_attribute"), "{err}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(cli.data())
        .args(["auth-task", "test", "Directory/Staff login", "--login", "ann"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"ann-very-secret\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert!(said.contains(&format!("127.0.0.1:{port}")), "{said}");
    assert!(!said.contains("ann-very-secret"), "{said}");

    // Test connection names what to fix; it is for directory connectors only.
    let err = cli.fails(&["connector", "test", "Directory"]);
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("check url"),
        "{err}"
    );
    let err = cli.fails(&["connector", "test", "HR users"]);
    assert!(
        err.contains("Test connection is for directory connectors"),
        "{err}"
    );

    // `auth-task remove` removes only authentication tasks.
    let task = cli.file("task.json", TASK);
    cli.ok(&[
        "task",
        "create",
        "--connector",
        "HR users",
        "--file",
        task.to_str().unwrap(),
    ]);
    let err = cli.fails(&["auth-task", "remove", "HR users/Daily"]);
    assert!(err.contains("not an authentication task"), "{err}");
    cli.ok(&["auth-task", "remove", "Directory/Staff login"]);
    assert!(!cli.ok(&["auth-task", "list"]).contains("Staff login"));
}

#[test]
fn kill_9_during_a_directory_read_loads_nothing_and_the_next_run_loads_everyone() {
    const USERS: usize = 3000;
    let server = Slapd::start();
    let mut ldif = String::new();
    for i in 0..USERS {
        ldif.push_str(&format!(
            "dn: uid=u{i},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: u{i}\ncn: u{i}\nsn: S{i}\n\n"
        ));
    }
    server.add(&ldif);
    let cli = Cli::new();
    cli.ok(&["settings", "set", "environment_type=test"]);
    let template = cli.file(
        "template.json",
        r#"{"code": "directory_user", "name": "Directory user", "attributes": [
            {"code": "uuid"}, {"code": "uid"}, {"code": "taskid"}], "folders": [{"code": "directory_users"}]}"#,
    );
    cli.ok(&["template", "add", "--file", template.to_str().unwrap()]);
    // One entry a page: the read takes thousands of round trips, long enough to be killed in.
    let connector = cli.file(
        "directory.json",
        &serde_json::json!({"name": "Directory", "type": "ldap", "secret_parameters": ["/bind_password"],
            "parameters": {"url": server.url(), "bind_dn": READER, "bind_password": server.reader_password,
                           "base_dn": BASE, "directory_kind": "openldap", "page_size": 1}})
        .to_string(),
    );
    cli.ok(&["connector", "create", "--file", connector.to_str().unwrap()]);
    let task = cli.file(
        "task.json",
        r#"{"name": "Users", "usage": "scheduled", "schedule": "0 0 2 * * *", "object_id_attribute": "entryUUID",
            "target_template": "directory_user", "target_folder": "directory_users", "task_id_attribute": "taskid",
            "mappings": [{"source": "entryUUID", "target": "uuid"}, {"source": "uid", "target": "uid"}]}"#,
    );
    cli.ok(&[
        "task",
        "create",
        "--connector",
        "Directory",
        "--file",
        task.to_str().unwrap(),
    ]);

    let mut child = cli.spawn_run("Directory/Users");
    let mut reading = false;
    for _ in 0..500 {
        let out = cli.run(&["--json", "task", "history", "Directory/Users", "--limit", "1"]);
        if let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) {
            if v[0]["stage"] == "extract" {
                reading = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(reading, "the run never reached its directory read");
    std::thread::sleep(std::time::Duration::from_millis(30));
    child.kill().unwrap(); // SIGKILL mid-read
    child.wait().unwrap();

    let history = cli.json(&["task", "history", "Directory/Users"]);
    assert_eq!(history[0]["status"], "failed", "{}", history[0]);
    let cards = cli.json(&[
        "datacards",
        "list",
        "--template",
        "directory_user",
        "--limit",
        "10000",
    ]);
    assert_eq!(
        cards.as_array().map(Vec::len),
        Some(0),
        "nothing of a killed read is loaded"
    );

    let run = cli.json(&["task", "run", "Directory/Users", "--wait"]);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["created"], USERS);
}
