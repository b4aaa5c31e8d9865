//! The script library: add, copy, replace, restore, remove.

use crate::support::*;

#[test]
fn scripts_are_listed_added_and_copied() {
    let cli = Cli::new();
    let list = cli.json(&["script", "list"]);
    let bundled: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        bundled.contains(&"sample_users.py") && bundled.contains(&"sample_event.py"),
        "{bundled:?}"
    );
    let f = cli.file("users_from_api.py", "print('hi')\n");
    let added = cli.json(&["script", "add", f.to_str().unwrap(), "--kind", "both"]);
    assert_eq!(added["name"], "users_from_api.py");
    let err = cli.fails(&["script", "add", f.to_str().unwrap(), "--kind", "both"]);
    assert_eq!(
        err.trim(),
        "error: script named 'users_from_api.py' already exists; choose another name"
    );
    let copy = cli.json(&["script", "copy", "sample_users.py", "my_users.py"]);
    assert_eq!(copy["bundled"], false);
    assert_eq!(copy["kind"], "scheduled");
    let err = cli.fails(&["script", "copy", "sample_users.py", "../evil.py"]);
    assert!(err.contains("is not a script name"), "{err}");
}

#[test]
fn a_custom_script_is_replaced_keeping_its_previous_version_restored_and_removed_only_when_unused() {
    let cli = Cli::new();
    create_connector(&cli);
    let v1 = std::fs::read_to_string(cli.dir.path().join("users_from_api.py")).unwrap();
    let shown = cli.ok(&["script", "show", "users_from_api.py"]);
    assert_eq!(shown.trim_end(), v1.trim_end());

    // A new version: the old text is kept, listed and restorable.
    let v2 = format!("{v1}# version 2: pages of 1000\n");
    let f = cli.file("v2.py", &v2);
    cli.ok(&["script", "update", "users_from_api.py", f.to_str().unwrap()]);
    assert_eq!(
        cli.ok(&["script", "show", "users_from_api.py"]).trim_end(),
        v2.trim_end()
    );
    let err = cli.fails(&["script", "update", "users_from_api.py", f.to_str().unwrap()]);
    assert!(err.contains("holds the same text"), "{err}");
    let versions = cli.json(&["script", "versions", "users_from_api.py"]);
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    let id = versions[0]["id"].as_str().unwrap().to_string();
    assert_eq!(versions[0]["bytes"], v1.len());
    cli.ok(&["script", "restore", "users_from_api.py", &id]);
    assert_eq!(
        cli.ok(&["script", "show", "users_from_api.py"]).trim_end(),
        v1.trim_end()
    );
    assert_eq!(
        cli.json(&["script", "versions", "users_from_api.py"])
            .as_array()
            .unwrap()
            .len(),
        2,
        "the version 2 it replaced is kept too"
    );
    // Only an id the list shows names a file.
    let err = cli.fails(&["script", "restore", "users_from_api.py", "../../settings"]);
    assert!(
        err.contains("'../../settings' is not a previous version of users_from_api.py"),
        "{err}"
    );

    // Bundled scripts are read-only.
    let err = cli.fails(&["script", "update", "sample_users.py", f.to_str().unwrap()]);
    assert!(err.contains("bundled and read-only"), "{err}");
    let err = cli.fails(&["script", "remove", "sample_users.py"]);
    assert!(err.contains("bundled and read-only"), "{err}");

    // In use: refused, naming the connector; once the connector is gone, removed.
    let err = cli.fails(&["script", "remove", "users_from_api.py"]);
    assert!(err.contains("used by a connector: HR users"), "{err}");
    assert!(cli.ok(&["script", "list"]).contains("users_from_api.py"));
    cli.ok(&["connector", "remove", "HR users"]);
    cli.ok(&["script", "remove", "users_from_api.py"]);
    assert!(!cli.ok(&["script", "list"]).contains("users_from_api.py"));
    let err = cli.fails(&["script", "show", "users_from_api.py"]);
    assert!(err.contains("users_from_api.py"), "{err}");
}
