//! Hostile packages, hostile scripts and careless scripts (issue 10): each
//! test is one way in that an attacker or a careless script author tried.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use provisio_engine::model::RunStatus;
use provisio_engine::script_library::ScriptKind;
use provisio_engine::secrets::Sensitive;
use provisio_engine::Engine;

use crate::packages::{crafted, PASSWORD};
use crate::scripted::*;
use crate::support::*;

/// A package with one connector (`connector` is its JSON) and one script named `script_name`.
fn hostile(dir: &Path, file: &str, connector: serde_json::Value, script_name: &str) -> std::path::PathBuf {
    let manifest = serde_json::json!({
        "format_version": 1, "application_version": "0.1.0", "exported_at": "x",
        "source_environment_type": "test",
        "items": [
            {"kind": "connector", "name": connector["name"], "file": "connectors/0.json", "tasks": []},
            {"kind": "script", "name": script_name, "file": "scripts/s.py"}
        ]
    });
    let p = dir.join(file);
    let (manifest, connector) = (manifest.to_string(), connector.to_string());
    crafted(
        &p,
        &[
            ("manifest.json", manifest.as_bytes()),
            ("connectors/0.json", connector.as_bytes()),
            ("scripts/s.py", b"print('planted')\n"),
        ],
        &[],
    );
    p
}

fn connector_json(name: &str, script: &str, parameters: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"name": name, "type": "python_script", "script": script, "target": "local",
        "parameters": parameters, "secret_parameters": [], "tasks": []})
}

/// A scripted task `NAME/Load` whose script writes one person.
async fn one_person_task(f: &Fixture, name: &str) -> String {
    let one = emitting(r#"[{"id": "1", "name": "n", "groups": []}]"#);
    scripted_task(&f.engine, f.dir.path(), name, &one, "{}", "{}").await
}

async fn engine_in(dir: &Path) -> Engine {
    let e = Engine::open(&dir.join("data")).await.unwrap();
    e.set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    e
}

#[tokio::test]
async fn hostile_packages_are_refused_in_the_dry_run_and_write_nothing_outside_the_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let engine = engine_in(tmp.path()).await;
    let bashrc = home.path().join(".bashrc");
    let plain = || connector_json("HR", "ok.py", serde_json::json!({}));
    let cases = [
        // (package, what the error says)
        (
            hostile(tmp.path(), "abs.zip", plain(), bashrc.to_str().unwrap()),
            "is not a script name",
        ),
        (
            hostile(tmp.path(), "up.zip", plain(), "../../x.py"),
            "is not a script name",
        ),
        (
            hostile(
                tmp.path(),
                "sdk.zip",
                plain(),
                "common_subroutines_efecte_library.py",
            ),
            "SDK module",
        ),
        (
            hostile(tmp.path(), "json.zip", plain(), "json.py"),
            "standard module 'json'",
        ),
        (
            hostile(tmp.path(), "esc.zip", plain(), "a\u{1b}]0;x\u{7}.py"),
            "control characters",
        ),
        (
            hostile(
                tmp.path(),
                "slash.zip",
                connector_json("a/b", "ok.py", serde_json::json!({})),
                "ok.py",
            ),
            "must not contain '/'",
        ),
        (
            hostile(
                tmp.path(),
                "ctrl.zip",
                connector_json("a\rb", "ok.py", serde_json::json!({})),
                "ok.py",
            ),
            "printable characters",
        ),
        (
            hostile(
                tmp.path(),
                "long.zip",
                connector_json(&"x".repeat(201), "ok.py", serde_json::json!({})),
                "ok.py",
            ),
            "at most 200",
        ),
        (
            hostile(
                tmp.path(),
                "empty.zip",
                connector_json(" ", "ok.py", serde_json::json!({})),
                "ok.py",
            ),
            "missing mandatory fields: name",
        ),
        (
            hostile(
                tmp.path(),
                "params.zip",
                connector_json("HR", "ok.py", serde_json::json!([1, 2])),
                "ok.py",
            ),
            "must be a JSON object",
        ),
        (
            hostile(
                tmp.path(),
                "scriptpath.zip",
                connector_json("HR", "../../../x.py", serde_json::json!({})),
                "ok.py",
            ),
            "is not a script name",
        ),
    ];
    for (pkg, says) in &cases {
        for dry_run in [true, false] {
            let e = engine
                .import_package(pkg, &Sensitive::new(PASSWORD.to_string()), dry_run)
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{} (dry run {dry_run}): {e}", pkg.display());
            assert!(e.contains("nothing was imported"), "{e}");
            assert!(!e.contains('\u{1b}'), "{e:?}");
        }
    }
    assert!(!bashrc.exists(), "nothing written at the absolute path");
    assert!(!tmp.path().join("x.py").exists() && !tmp.path().join("data/x.py").exists());
    assert!(engine.list_connectors().await.unwrap().is_empty());
    let custom = tmp.path().join("data/scripts/custom");
    assert_eq!(
        std::fs::read_dir(&custom).unwrap().count(),
        0,
        "no script file was written"
    );
}

#[tokio::test]
async fn a_package_re_zipped_with_folder_entries_imports() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine_in(tmp.path()).await;
    let manifest = serde_json::json!({
        "format_version": 1, "application_version": "0.1.0", "exported_at": "x",
        "source_environment_type": "test",
        "items": [{"kind": "connector", "name": "HR", "file": "connectors/0.json", "tasks": []}]
    });
    let p = tmp.path().join("rezipped.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
    // 7-Zip writes folder entries, unencrypted, before the files in them.
    zip.add_directory("connectors/", zip::write::SimpleFileOptions::default())
        .unwrap();
    for (name, content) in [
        ("manifest.json", manifest.to_string()),
        (
            "connectors/0.json",
            connector_json("HR", "sample_users.py", serde_json::json!({})).to_string(),
        ),
    ] {
        let o = zip::write::SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, PASSWORD);
        zip.start_file(name, o).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    engine
        .import_package(&p, &Sensitive::new(PASSWORD.to_string()), false)
        .await
        .unwrap();
    assert_eq!(engine.connector("HR").await.unwrap().name, "HR");

    // A folder entry that climbs out is still refused.
    let p = tmp.path().join("climbing.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
    zip.add_directory("../up/", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.finish().unwrap();
    let e = engine
        .import_package(&p, &Sensitive::new(PASSWORD.to_string()), false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("points outside the package"), "{e}");
}

#[tokio::test]
async fn scripts_cannot_take_the_name_of_the_sdk_or_a_standard_module() {
    let f = fresh().await;
    for name in [
        "json.py",
        "common_subroutines_efecte_library.py",
        "os.py",
        "subprocess.py",
    ] {
        let file = f.dir.path().join(name);
        std::fs::write(&file, "print(1)\n").unwrap();
        let e = f
            .engine
            .add_script(&file, ScriptKind::Both, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("choose another name"), "{name}: {e}");
        let e = f
            .engine
            .copy_script("sample_users.py", name)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("choose another name"), "{name}: {e}");
    }
    let e = f
        .engine
        .create_connector(connector_input(
            r#"{"name": "X", "type": "python_script", "script": "../../etc/x.py"}"#,
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is not a script name"), "{e}");
}

#[tokio::test]
async fn a_module_planted_next_to_custom_scripts_does_not_replace_the_sdk_or_a_standard_module() {
    let f = fresh().await;
    // An older version accepted this name; the file may still be in the custom folder.
    let custom = f.dir.path().join("data/scripts/custom");
    let planted = r#"import sys
sys.stderr.write("PLANTED " + __name__ + " READ: " + sys.stdin.readline())
raise SystemExit(3)
"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Victim",
        &emitting(r#"[{"id": "1", "name": "n", "groups": []}]"#),
        r#"{"api_password": "victim-secret-77"}"#,
        "{}",
    )
    .await;
    std::fs::write(custom.join("common_subroutines_efecte_library.py"), planted).unwrap();
    // Standard modules too: `json` is loaded by the warm interpreter already, `decimal` is not.
    for module in ["json.py", "decimal.py"] {
        std::fs::write(custom.join(module), planted).unwrap();
    }
    std::fs::write(
        custom.join("Victim.py"),
        format!(
            "import decimal\n{}",
            emitting(r#"[{"id": "1", "name": "n", "groups": []}]"#)
        ),
    )
    .unwrap();
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    let log = f.engine.run_log(&r.id).await.unwrap();
    assert!(!log.contains("PLANTED"), "{log}");
}

#[tokio::test]
async fn numeric_ids_are_one_record_whatever_their_spelling() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Pandas",
        r#"import json
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
as_float = args["connector_parameters"].get("as_float", False)
records = [{"id": (float(i) if as_float else i), "name": "n%d" % i, "groups": []} for i in range(1, 4)]
with open(args["expected_output_filename"], "w") as f:
    json.dump(records, f)
"#,
        r#"{"as_float": false}"#,
        r#"{"removal": {"status_attribute": "accountStatus", "removed_value": "5 - Removed"}}"#,
    )
    .await;
    let first = run(&f.engine, &task).await;
    assert_eq!(first.counts.created, 3, "{:?}", first.extract);
    f.engine
        .update_connector("Pandas", connector_input(r#"{"parameters": {"as_float": true}}"#))
        .await
        .unwrap();
    f.engine.clear_cache(&task).await.unwrap();
    let second = run(&f.engine, &task).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.load);
    assert_eq!(
        (second.counts.created, second.counts.removed),
        (0, 0),
        "1.0 is the card of 1: {:?}",
        second.counts
    );
    assert_eq!(f.engine.datacards("person", None, 10).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_record_naming_a_mapped_attribute_twice_is_blocked() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Dupes",
        r#"import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
with open(args["expected_output_filename"], "w") as f:
    f.write('[{"id": "1", "name": "first", "name": "second", "groups": []}, {"id": "2", "name": "ok", "groups": []}]')
"#,
        "{}",
        "{}",
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_eq!((r.counts.blocked, r.counts.created), (1, 1), "{:?}", r.counts);
    let blocked =
        std::fs::read_to_string(r.files.iter().find(|x| x.kind == "blocked").unwrap().path.clone()).unwrap();
    assert!(blocked.contains("'name' appears more than once"), "{blocked}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_as_output_fails_the_run_at_once_and_leaves_the_database_writable() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Fifo",
        r#"import os
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
os.mkfifo(args["expected_output_filename"])
"#,
        "{}",
        "{}",
    )
    .await;
    let r = tokio::time::timeout(Duration::from_secs(60), run(&f.engine, &task))
        .await
        .expect("the run ends instead of waiting on the FIFO");
    assert_eq!(r.status, RunStatus::Failed);
    let info = r.extract.info.clone().unwrap_or_default();
    assert!(info.contains("not a regular file"), "{info}");
    // Another writer gets in at once.
    tokio::time::timeout(
        Duration::from_secs(5),
        f.engine.set_settings(&[("workers".into(), "3".into())]),
    )
    .await
    .expect("no write lock is held")
    .unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let f = fresh().await;
    let task = one_person_task(&f, "Private").await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    let data = f.dir.path().join("data");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let mut checked = 0;
    for file in all_files(&data) {
        assert_eq!(mode(&file) & 0o077, 0, "{} is {:o}", file.display(), mode(&file));
        checked += 1;
    }
    assert!(checked >= 6, "database, run output, logs: {checked}");

    // A data directory an older version left readable is tightened on open.
    let old = f.dir.path().join("old");
    std::fs::create_dir_all(old.join("runs/r1")).unwrap();
    std::fs::write(old.join("runs/r1/output.json"), "[]").unwrap();
    for p in [old.clone(), old.join("runs"), old.join("runs/r1")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(
        old.join("runs/r1/output.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    Engine::open(&old).await.unwrap();
    assert_eq!(mode(&old), 0o700);
    assert_eq!(mode(&old.join("runs/r1")), 0o700);
    assert_eq!(mode(&old.join("runs/r1/output.json")), 0o600);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn processes_a_script_starts_end_with_its_run_even_in_a_new_session() {
    let f = fresh().await;
    let pids = f.dir.path().join("pids.txt");
    let source = format!(
        r#"import json, os, subprocess, sys
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
# One child in the script's group, one that leaves it with setsid, one double-forked daemon.
# (Durations no other test uses: pgrep sees every test's sleepers, and tests run side by side.)
a = subprocess.Popen(["sleep", "311"])
b = subprocess.Popen(["setsid", "sleep", "312"])
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "313"])
    os._exit(0)
import time; time.sleep(0.3)
found = subprocess.run(["pgrep", "-f", "sleep 31[123]"], capture_output=True, text=True).stdout.split()
open({pids:?}, "w").write(" ".join(found))
with open(args["expected_output_filename"], "w") as f:
    json.dump([{{"id": "1", "name": "n", "groups": []}}], f)
"#,
        pids = pids.display().to_string()
    );
    let task = scripted_task(&f.engine, f.dir.path(), "Forks", &source, "{}", "{}").await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    let started: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(
        started.len() >= 3,
        "the script started its three sleepers: {started:?}"
    );
    for pid in started {
        let alive =
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
        // Killed by the time the run returned; dying may take a moment on a busy machine.
        let since = std::time::Instant::now();
        while alive() && since.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(), "process {pid} outlived its run");
    }
}

#[tokio::test]
async fn schedules_that_never_fire_and_a_zero_max_runtime_are_refused() {
    let f = fresh().await;
    connector(&f.engine, "HR").await;
    let mut task = daily_task();
    task.schedule = Some("0 0 0 30 2 *".into());
    let e = message(f.engine.create_task("HR", task).await.unwrap_err());
    assert!(e.contains("never fires"), "{e}");
    let mut task = daily_task();
    task.max_runtime = Some(0);
    let e = message(f.engine.create_task("HR", task).await.unwrap_err());
    assert!(e.starts_with("max_runtime:"), "{e}");
}

#[tokio::test]
async fn a_connector_cannot_be_named_after_another_connectors_id() {
    let f = fresh().await;
    let first = connector(&f.engine, "HR").await;
    let e = f
        .engine
        .create_connector(connector_input(&format!(
            r#"{{"name": "{}", "type": "python_script", "script": "users.py"}}"#,
            first.id
        )))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is the id of connector 'HR'"), "{e}");
    let e = f.engine.copy_connector("HR", Some(&first.id)).await.unwrap_err();
    assert!(e.to_string().contains("is the id of connector 'HR'"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_other_runs_go_in_at_once_while_a_big_load_holds_its_transaction() {
    let f = fresh().await;
    let big = scripted_task(
        &f.engine,
        f.dir.path(),
        "Big",
        &emitting(r#"[{"id": str(i), "name": "person %07d %s" % (i, "x" * 300), "groups": ["g"]} for i in range(400000)]"#),
        "{}",
        "{}",
    )
    .await;
    let other = one_person_task(&f, "Small").await;
    let engine = f.engine.clone();
    let task = big.clone();
    let loading = tokio::spawn(async move { run(&engine, &task).await });
    // The load's transaction is open once the card store's WAL grows.
    let wal = f.dir.path().join("data/datacards.db-wal");
    let started = std::time::Instant::now();
    while std::fs::metadata(&wal).map_or(true, |m| m.len() < (4 << 20)) {
        assert!(
            started.elapsed().as_secs() < 120,
            "the load never started writing"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A UI edit, a new connector, a cache clear and another task's run, during the load.
    f.engine
        .set_settings(&[("workers".into(), "2".into())])
        .await
        .unwrap();
    connector(&f.engine, "Added meanwhile").await;
    f.engine.clear_cache(&big).await.unwrap();
    let small = f
        .engine
        .create_run(&other, provisio_engine::model::RunTrigger::Manual)
        .await
        .unwrap();
    let engine = f.engine.clone();
    let small_id = small.id.clone();
    let small_run = tokio::spawn(async move { engine.execute_run(&small_id, false).await.unwrap() });
    // Its extract and validation write its run row as they go: they reach the load stage.
    let started = std::time::Instant::now();
    while f.engine.run(&small.id).await.unwrap().stage.map(|s| s.as_str()) != Some("load") {
        assert!(
            started.elapsed().as_secs() < 60,
            "the other run's row never moved on"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let still = f.engine.history(&big, 1).await.unwrap();
    assert_eq!(
        (still[0].status, still[0].stage.map(|s| s.as_str())),
        (RunStatus::Running, Some("load")),
        "all of that went in while the big load was still loading"
    );
    // The other run's load follows the big one (loads take turns) and succeeds.
    let small = small_run.await.unwrap();
    assert_eq!(small.status, RunStatus::Succeeded, "{:?}", small.load);
    let done = loading.await.unwrap();
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.load);
    assert_eq!(done.counts.created, 400_000);
    // The clear came after the big run started: its cache does not count, the
    // next run compares every record with its card, sets back one edited by
    // hand and takes back person 1, which the small task loaded after it.
    edit_card_by_hand(&f.engine, "123456", "last_name", "Edited");
    let again = run(&f.engine, &big).await;
    assert_eq!(
        (
            again.counts.updated,
            again.counts.takeovers,
            again.counts.unchanged
        ),
        (2, 1, 399_998),
        "{:?}",
        again.counts
    );
}

#[tokio::test]
async fn a_run_whose_process_died_right_after_its_load_committed_is_recorded_as_it_ended() {
    let f = fresh().await;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Committed",
        &emitting(r#"[{"id": "1", "name": "n", "groups": []}, {"id": "2", "name": "m", "groups": []}]"#),
        "{}",
        "{}",
    )
    .await;
    let done = run(&f.engine, &task).await;
    assert_eq!(done.status, RunStatus::Succeeded);
    let data = f.engine.data_dir().to_path_buf();
    f.engine.close().await;
    // The process died between the load's commit and writing the run row:
    // the row still says running, owned by a process that is gone.
    let conn = rusqlite::Connection::open(data.join("provisio.db")).unwrap();
    conn.execute(
        "UPDATE runs SET status = 'running', stage = 'load', finished_at = NULL, owner_pid = 2147483646,
            summary = json_set(summary, '$.status', 'running', '$.stage', 'load', '$.finished_at', NULL)
         WHERE id = ?1",
        [&done.id],
    )
    .unwrap();
    drop(conn);
    let engine = Engine::open(&data).await.unwrap();
    let recovered = engine.run(&done.id).await.unwrap();
    assert_eq!(recovered.status, RunStatus::Succeeded, "{:?}", recovered.load);
    assert_eq!(recovered.counts.created, 2);
    assert_eq!(engine.datacards("person", None, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_cache_and_journal_of_a_removed_task_leave_the_card_store_with_it() {
    let f = fresh().await;
    let task = one_person_task(&f, "Gone").await;
    let done = run(&f.engine, &task).await;
    assert_eq!(done.status, RunStatus::Succeeded);
    let data = f.engine.data_dir().to_path_buf();
    let left = || {
        let conn = rusqlite::Connection::open(data.join("datacards.db")).unwrap();
        conn.query_row(
            "SELECT (SELECT COUNT(*) FROM task_cache) + (SELECT COUNT(*) FROM task_cache_entries),
                    (SELECT COUNT(*) FROM card_changes WHERE run_id = ?1)",
            [&done.id],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .unwrap()
    };
    assert_eq!(
        left(),
        (2, 1),
        "the cache row and its entries; the run's creation"
    );
    f.engine.remove_task(&task, true).await.unwrap();
    // At once, not at the next start: the desktop app may stay open for weeks.
    assert_eq!(
        left(),
        (0, 0),
        "no cache or journal is left for a task that is gone"
    );
    assert_eq!(
        f.engine.datacards("person", None, 10).await.unwrap().len(),
        1,
        "its cards stay"
    );
    f.engine.close().await;
    Engine::open(&data).await.unwrap().close().await;
    assert_eq!(left(), (0, 0));
}

#[tokio::test]
async fn a_package_connector_meets_the_rules_connector_create_applies() {
    // Issue 11: import checks the same input type with the same rules, so what
    // `connector create` refuses a package cannot bring in either.
    let tmp = tempfile::tempdir().unwrap();
    let e = engine_in(tmp.path()).await;
    let mut no_script = connector_json("HR", "x.py", serde_json::json!({}));
    no_script["script"] = serde_json::Value::Null;
    let mut bad_type = connector_json("HR", "x.py", serde_json::json!({}));
    bad_type["type"] = serde_json::json!("graph");
    for (file, connector, expected) in [
        ("no-script.zip", no_script, "missing mandatory fields: script"),
        ("bad-type.zip", bad_type, "type: 'graph' is not a connector type"),
    ] {
        let mut input = connector.clone();
        input.as_object_mut().unwrap().remove("tasks");
        let created = e
            .create_connector(serde_json::from_value(input).unwrap())
            .await
            .unwrap_err()
            .to_string();
        assert!(created.contains(expected), "create: {created}");
        let p = hostile(tmp.path(), file, connector, "s.py");
        for dry_run in [true, false] {
            let imported = e
                .import_package(&p, &Sensitive::new(PASSWORD.to_string()), dry_run)
                .await
                .unwrap_err()
                .to_string();
            assert!(
                imported.contains(expected),
                "import (dry run {dry_run}): {imported}"
            );
        }
        assert!(e.list_connectors().await.unwrap().is_empty());
    }
    // Issue 16: a connector's script must be in the package or already in the library.
    let p = hostile(
        tmp.path(),
        "no-such-script.zip",
        connector_json("HR", "x.py", serde_json::json!({})),
        "s.py",
    );
    let imported = e
        .import_package(&p, &Sensitive::new(PASSWORD.to_string()), true)
        .await
        .unwrap_err()
        .to_string();
    assert!(imported.contains("script 'x.py' (connector HR)"), "{imported}");
    assert!(e.list_connectors().await.unwrap().is_empty());
}

/// A script whose descendants try every way out of its run: a forked
/// daemon in a new session that never execs, a double fork without exec,
/// `nohup`, a grandchild that ignores SIGTERM, and a new session with a
/// cleared environment. Each writes its pid to `pids`; then the script
/// `ends` ("exit": succeeds, "wait": sleeps until stopped or timed out).
#[cfg(target_os = "linux")]
fn escaping_script(pids: &std::path::Path, ends: &str) -> String {
    format!(
        r#"import json, os, signal, subprocess, sys, time
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
pids = {pids:?}
def note(pid):
    with open(pids, "a") as f:
        f.write("%d\n" % pid)
# A daemon: fork, new session, no exec.
if os.fork() == 0:
    os.setsid()
    note(os.getpid())
    time.sleep(300)
    os._exit(0)
# A double fork without exec.
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        note(os.getpid())
        time.sleep(300)
    os._exit(0)
# A grandchild that ignores SIGTERM.
if os.fork() == 0:
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.setsid()
        note(os.getpid())
        time.sleep(300)
    os._exit(0)
note(subprocess.Popen(["nohup", "sleep", "303"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)
note(subprocess.Popen(["setsid", "env", "-i", "sleep", "304"]).pid)
while len(open(pids).read().split()) < 5:
    time.sleep(0.02)
if {ends:?} == "wait":
    time.sleep(600)
with open(args["expected_output_filename"], "w") as f:
    json.dump([{{"id": "1", "name": "n", "groups": []}}], f)
"#,
        pids = pids.display().to_string()
    )
}

#[cfg(target_os = "linux")]
fn assert_all_ended(pids: &std::path::Path, when: &str) {
    let started: Vec<i32> = std::fs::read_to_string(pids)
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(
        started.len(),
        5,
        "{when}: the script started its five escapees: {started:?}"
    );
    for pid in started {
        let alive =
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
        let since = std::time::Instant::now();
        while alive() && since.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(), "{when}: process {pid} outlived its run");
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn no_descendant_outlives_a_run_that_succeeds_is_stopped_or_times_out_on_either_start_path() {
    let f = fresh().await;
    // Succeeds.
    let pids = f.dir.path().join("ok.pids");
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Done",
        &escaping_script(&pids, "exit"),
        "{}",
        "{}",
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    assert_all_ended(&pids, "after a successful run");

    // Stopped by a user.
    let pids = f.dir.path().join("stop.pids");
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Stopped",
        &escaping_script(&pids, "wait"),
        "{}",
        "{}",
    )
    .await;
    let (engine, t) = (f.engine.clone(), task.clone());
    let running = tokio::spawn(async move {
        engine
            .run_task(&t, provisio_engine::model::RunTrigger::Manual, false)
            .await
    });
    let since = std::time::Instant::now();
    while std::fs::read_to_string(&pids).map_or(0, |t| t.split_whitespace().count()) < 5 {
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "the escapees never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f.engine.stop_task(&task).await.unwrap();
    let r = running.await.unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Stopped);
    assert_all_ended(&pids, "after a stop");

    // Over its maximum run time.
    let pids = f.dir.path().join("timeout.pids");
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Slow",
        &escaping_script(&pids, "wait"),
        "{}",
        r#"{"max_runtime": 3}"#,
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_ne!(r.status, RunStatus::Succeeded);
    assert_all_ended(&pids, "after a timeout");

    // Silent past its heartbeat timeout (the script never beats).
    let pids = f.dir.path().join("heartbeat.pids");
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Silent",
        &escaping_script(&pids, "wait"),
        "{}",
        r#"{"heartbeat_timeout": 2}"#,
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_ne!(r.status, RunStatus::Succeeded);
    let info = r.extract.info.clone().unwrap_or_default();
    assert!(info.contains("heartbeat"), "{info}");
    assert_all_ended(&pids, "after the heartbeat was lost");
}
