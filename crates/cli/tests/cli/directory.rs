//! Directory connectors from the CLI: authentication tasks and Test connection.

use std::io::Write;
use std::process::Command;

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
