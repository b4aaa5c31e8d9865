//! The script contract with real python3 processes (docs/script-contract.md).

use provisio_engine::model::{RunStatus, StageStatus};

use crate::scripted::*;
use crate::support::*;

fn extract_info(run: &provisio_engine::model::Run) -> String {
    run.extract.info.clone().unwrap_or_default()
}

#[tokio::test]
async fn a_script_in_the_style_of_existing_customer_scripts_runs_unchanged() {
    let f = fresh().await;
    // Written the way scripts for the incumbent are: module-level code, the
    // SDK imported by its historical name, attributes read with get_value_from_json.
    let source = r#"#!/usr/bin/python3
import json
import os
import common_subroutines_efecte_library

arguments_dictionary = common_subroutines_efecte_library.initialize_script()
attributes = arguments_dictionary['data_extraction_attributes']
working_directory = arguments_dictionary['script_current_working_directory']
output_file = arguments_dictionary['expected_output_filename']
heartbeat_file = arguments_dictionary['heartbeat_filename']
log_file = arguments_dictionary['log_filename']
common_subroutines_efecte_library.log_line(log_file, 'script started processing')
os.chdir(working_directory)
wanted = {}
for n in range(len(attributes)):
    name = common_subroutines_efecte_library.get_value_from_json(attributes[n], 'attributeName')
    multivalue = common_subroutines_efecte_library.get_value_from_json(attributes[n], 'multivalue')
    wanted[name] = str(multivalue)
rows = []
for n in range(1, 6):
    row = {}
    for key in wanted.keys():
        row[key] = 'row ' + str(n) + ' ' + key
    rows.append(row)
f = open(output_file, "w")
f.write(json.dumps(rows, indent=4, sort_keys=True))
f.close()
common_subroutines_efecte_library.log_line(log_file, 'script completed successfully!')
f = open(heartbeat_file, "w+")
f.write('heartbeat updated: ' + common_subroutines_efecte_library.get_timestamp())
f.close()
"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Legacy", source, "{}", "{}").await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    assert_eq!(r.counts.created, 5);
    let cards = f.engine.datacards("person", Some("persons"), 10).await.unwrap();
    assert_eq!(cards[0].data["employee_id"], "row 1 id");
    // "groups" is multi-value in the template: a plain value arrives as a list.
    assert_eq!(cards[0].data["groups"], serde_json::json!(["row 1 groups"]));
    let log = std::fs::read_to_string(
        r.files
            .iter()
            .find(|f| f.kind == "script-log")
            .unwrap()
            .path
            .clone(),
    )
    .unwrap();
    assert!(log.contains("script completed successfully!"), "{log}");
}

#[tokio::test]
async fn initialize_script_returns_every_key_of_the_contract() {
    let f = fresh().await;
    let source = r#"import json, sys
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
keys = ["data_extraction_attributes", "script_current_working_directory", "error_filename",
        "expected_output_filename", "heartbeat_filename", "log_filename", "connector_parameters",
        "task", "run_id", "run_type", "last_successful_extract"]
missing = [k for k in keys if k not in a]
if missing:
    raise SystemExit("missing keys: %s" % missing)
assert a["data_extraction_attributes"][2] == {"attributeName": "groups", "multivalue": True}, a["data_extraction_attributes"]
assert a["connector_parameters"]["api_token"] == "tok-777", "secret not resolved"
assert sdk.get_value_from_json('{"k": 1}', "k") == 1
with open(a["expected_output_filename"], "w") as f:
    json.dump([{"id": "1", "name": a["run_type"], "groups": []}], f)
"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Keys",
        source,
        r#"{"api_token": "tok-777"}"#,
        "{}",
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", extract_info(&r));
    // The secret reached the script, but not args.json.
    let args =
        std::fs::read_to_string(r.files.iter().find(|f| f.kind == "args").unwrap().path.clone()).unwrap();
    assert!(!args.contains("tok-777"));
}

#[tokio::test]
async fn a_script_that_stops_its_heartbeat_is_killed_with_its_children() {
    let f = fresh().await;
    let source = r#"import subprocess, time
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
child = subprocess.Popen(["sleep", "300"])
with open("child.pid", "w") as fh:
    fh.write(str(child.pid))
time.sleep(300)
"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Hang",
        source,
        "{}",
        r#"{"heartbeat_timeout": 1}"#,
    )
    .await;
    let started = std::time::Instant::now();
    let r = run(&f.engine, &task).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(r.extract.status, Some(StageStatus::Failed));
    assert_eq!(
        extract_info(&r),
        "the script did not touch its heartbeat file for 1 s (the task's heartbeat timeout) and was terminated"
    );
    assert_eq!(r.load.status, Some(StageStatus::Skipped));
    let dir = std::path::Path::new(&r.files[0].path)
        .parent()
        .unwrap()
        .to_path_buf();
    let pid: i32 = std::fs::read_to_string(dir.join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The grandchild was in the script's process group: it must be gone (not even a zombie of ours).
    let mut gone = false;
    for _ in 0..50 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if status.is_empty() || status.contains("State:\tZ") {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(gone, "the script's child process {pid} was left running");
}

#[tokio::test]
async fn a_script_printing_100_mb_is_capped_in_the_log_and_still_succeeds() {
    let f = fresh().await;
    let source = r#"import json, sys
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
line = "x" * 1023 + "\n"
for _ in range(100 * 1024):
    sys.stdout.write(line)
with open(a["expected_output_filename"], "w") as f:
    json.dump([{"id": "1", "name": "n", "groups": []}], f)
"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Chatty", source, "{}", "{}").await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", extract_info(&r));
    let log = r.files.iter().find(|f| f.kind == "log").unwrap();
    assert!(log.size <= 10 * 1024 * 1024 + 1024, "log is {} bytes", log.size);
    let text = f.engine.run_log(&r.id).await.unwrap();
    assert!(
        text.trim_end().ends_with("MiB log cap were dropped"),
        "{}",
        &text[text.len() - 200..]
    );
}

#[tokio::test]
async fn broken_scripts_fail_the_extract_with_the_reason_in_words() {
    let f = fresh().await;
    let cases = [
        ("Invalid", "import common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\nopen(a['expected_output_filename'], 'w').write('[{\"id\": 1,')\n",
         "the script's output is not a valid JSON array of records: the output file ends inside record 1; the JSON array is incomplete"),
        ("NotArray", "import common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\nopen(a['expected_output_filename'], 'w').write('{\"id\": 1}')\n",
         "the script's output is not a valid JSON array of records: the output file does not start with '[' (found '{'); a JSON array of records is expected"),
        ("NoOutput", "import common_subroutines_efecte_library as sdk\nsdk.initialize_script()\n",
         "the script finished without writing its output file"),
        ("Exit3", "import sys\nsys.exit(3)\n", "the script exited with code 3"),
        ("Raises", "raise ValueError('the HR API answered 503')\n",
         "the script exited with code 1: ValueError: the HR API answered 503"),
        ("ErrorFile", "import common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\nopen(a['error_filename'], 'w').write('LDAP bind failed')\nopen(a['expected_output_filename'], 'w').write('[]')\n",
         "the script reported an error in its error file: LDAP bind failed"),
    ];
    for (name, source, expected) in cases {
        let task = scripted_task(&f.engine, f.dir.path(), name, source, "{}", "{}").await;
        let r = run(&f.engine, &task).await;
        assert_eq!(r.status, RunStatus::Failed, "{name}");
        let info = extract_info(&r);
        assert!(info.starts_with(expected), "{name}: {info}");
        assert_eq!(
            f.engine.store().count_datacards("person").await.unwrap(),
            0,
            "{name} loaded something"
        );
    }
}

#[tokio::test]
async fn a_secret_printed_by_the_script_reaches_no_file_of_the_data_directory() {
    let f = fresh().await;
    let source = r#"import json, sys
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
p = a["connector_parameters"]
print("connecting with", p["password"], json.dumps(p))
print("token", p["api_token"], file=sys.stderr)
sdk.log_line(a["log_filename"], "using " + p["password"])
with open(a["error_filename"], "w") as fh:
    fh.write("")
with open(a["expected_output_filename"], "w") as fh:
    json.dump([{"id": "1", "name": "n", "groups": []}], fh)
"#;
    let task = scripted_task(
        &f.engine,
        f.dir.path(),
        "Leaky",
        source,
        r#"{"password": "Pa$$-9f8e7d\"quoted", "api_token": "tok-5c4b3a"}"#,
        "{}",
    )
    .await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", extract_info(&r));
    let log = f.engine.run_log(&r.id).await.unwrap();
    assert!(log.contains("connecting with ********"), "{log}");
    f.engine.close().await;
    for file in all_files(&f.dir.path().join("data")) {
        // A file gone since the listing (SQLite removing its WAL) holds no secret.
        let Ok(bytes) = std::fs::read(&file) else { continue };
        for secret in [&b"Pa$$-9f8e7d"[..], &b"tok-5c4b3a"[..]] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "a secret value is in {}",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn an_event_script_that_raises_records_the_exception_message() {
    let f = fresh().await;
    f.engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    let file = f.dir.path().join("disable_user.py");
    std::fs::write(
        &file,
        r#"import json, sys
lines = sys.stdin.read().splitlines()
params = json.loads(lines[0])
values = json.loads(lines[1])
if values.get("sAMAccountName") == "locked":
    raise Exception("account " + values["sAMAccountName"] + " is protected on " + params["host"])
print("disabled", values["sAMAccountName"], "using", params["password"])
"#,
    )
    .unwrap();
    f.engine
        .add_script(&file, provisio_engine::script_library::ScriptKind::Event, None)
        .await
        .unwrap();
    f.engine
        .create_connector(connector_input(
            r#"{"name": "AD", "type": "python_script", "script": "disable_user.py",
                "parameters": {"host": "dc1.example", "password": "ad-secret-31"}}"#,
        ))
        .await
        .unwrap();
    f.engine
        .create_task(
            "AD",
            task_input(
                r#"{"name": "Disable", "usage": "event", "target_template": "person", "target_folder": "persons",
                    "mappings": [{"source": "sAMAccountName", "target": "employee_id"}]}"#,
            ),
        )
        .await
        .unwrap();
    let r = f
        .engine
        .invoke_event(
            "AD/Disable",
            &serde_json::json!({"employee_id": "locked"}),
            Some("Offboarding"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(r.outcome.map(|o| o.as_str()), Some("exception"));
    assert_eq!(
        r.message.as_deref(),
        Some("account locked is protected on dc1.example")
    );

    let ok = f
        .engine
        .invoke_event(
            "AD/Disable",
            &serde_json::json!({"employee_id": "jdoe"}),
            Some("Offboarding"),
        )
        .await
        .unwrap();
    assert_eq!(ok.outcome.map(|o| o.as_str()), Some("completed"));
    assert!(f
        .engine
        .run_log(&ok.id)
        .await
        .unwrap()
        .contains("disabled jdoe using ********"));
    let refs = f.engine.task("AD/Disable").await.unwrap().references;
    assert_eq!(refs.len(), 1);
    assert_eq!((refs[0].caller.as_str(), refs[0].count), ("Offboarding", 2));
}

#[tokio::test]
async fn a_user_can_stop_a_running_script() {
    let f = fresh().await;
    let source = "import time\nimport common_subroutines_efecte_library as sdk\nsdk.initialize_script()\ntime.sleep(120)\n";
    let task = scripted_task(&f.engine, f.dir.path(), "Slow", source, "{}", "{}").await;
    let engine = f.engine.clone();
    let t = task.clone();
    let handle = tokio::spawn(async move {
        engine
            .run_task(&t, provisio_engine::model::RunTrigger::Manual, false)
            .await
    });
    let mut asked = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if f.engine.stop_task(&task).await.is_ok() {
            asked = true;
            break;
        }
    }
    assert!(asked);
    let r = handle.await.unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Stopped);
    assert_eq!(
        extract_info(&r),
        "stopped by a user during the extract; nothing was loaded"
    );
    let e = f.engine.stop_task(&task).await.unwrap_err();
    assert_eq!(e.to_string(), "task: 'Slow/Load' is not running; nothing to stop");
}

#[tokio::test]
async fn no_task_runs_before_the_environment_type_is_set() {
    let f = fresh().await;
    let task = scripted_task(&f.engine, f.dir.path(), "Early", &emitting("[]"), "{}", "{}").await;
    f.engine
        .store()
        .save_settings(&provisio_engine::model::Settings::default())
        .await
        .unwrap();
    let e = f
        .engine
        .run_task(&task, provisio_engine::model::RunTrigger::Manual, false)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("environment_type: is not set; no task runs until it is"),
        "{e}"
    );
}

/// Facts a script reports about its own process, as its one record's `name`.
const INTROSPECT: &str = r#"import json, os, sys
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
problems = []
if __name__ != "__main__":
    problems.append("__name__ is %r" % __name__)
if not sys.argv[1].endswith("args.json"):
    problems.append("argv %r" % sys.argv)
if os.getcwd() != a["script_current_working_directory"]:
    problems.append("cwd %r" % os.getcwd())
if sys.path[0] != os.path.dirname(os.path.abspath(__file__)):
    problems.append("sys.path[0] %r" % sys.path[0])
if "LEFT_BY_EARLIER_RUN" in os.environ or hasattr(sdk, "left_by_earlier_run"):
    problems.append("state of an earlier run is visible")
if os.getpgid(0) != os.getpid():
    problems.append("not the leader of its own process group")
if sys.stdout.encoding.lower() != "utf-8":
    problems.append("stdout encoding %r" % sys.stdout.encoding)
os.environ["LEFT_BY_EARLIER_RUN"] = "1"
sdk.left_by_earlier_run = True
print("ünïcode on stdout")
with open(a["expected_output_filename"], "w") as f:
    # Its parent, and its parent's parent (the run's supervisor and the warm interpreter on warm starts).
    grand = int(open("/proc/%d/stat" % os.getppid()).read().rsplit(")", 1)[1].split()[1])
    json.dump([{"id": "%d/%d" % (os.getppid(), grand), "name": "; ".join(problems) or "clean", "groups": []}], f)
"#;

/// The script's parent, its parent's parent, and what it found.
async fn introspect(engine: &provisio_engine::Engine, task: &str) -> (u32, u32, String) {
    let r = run(engine, task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", extract_info(&r));
    let cards = engine.datacards("person", Some("persons"), 100).await.unwrap();
    let card = cards.last().unwrap();
    let (parent, grand) = card.data["employee_id"]
        .as_str()
        .unwrap()
        .split_once('/')
        .unwrap();
    (
        parent.parse().unwrap(),
        grand.parse().unwrap(),
        card.data["last_name"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn warm_started_scripts_see_a_fresh_interpreter_of_their_own() {
    let f = fresh().await;
    let task = scripted_task(&f.engine, f.dir.path(), "Warm", INTROSPECT, "{}", "{}").await;
    let (supervisor_1, warm_1, facts_1) = introspect(&f.engine, &task).await;
    assert_eq!(facts_1, "clean");
    // The second run must not see what the first one changed in its interpreter.
    let (supervisor_2, warm_2, facts_2) = introspect(&f.engine, &task).await;
    assert_eq!(facts_2, "clean");
    // Both were forked, each under a supervisor of its own, by the same warm
    // interpreter, not started by the engine.
    assert_ne!(supervisor_1, std::process::id());
    assert_ne!(supervisor_1, supervisor_2);
    assert_eq!(warm_1, warm_2);
    assert_ne!(warm_1, std::process::id());
}

#[tokio::test]
async fn a_killed_warm_interpreter_is_replaced_and_runs_go_on() {
    let f = fresh().await;
    let task = scripted_task(&f.engine, f.dir.path(), "Phoenix", INTROSPECT, "{}", "{}").await;
    let (supervisor, warm, _) = introspect(&f.engine, &task).await;
    assert_ne!(supervisor, std::process::id());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(warm as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // At once: a new warm interpreter takes the next run (no cold start).
    let (supervisor, next, facts) = introspect(&f.engine, &task).await;
    assert_eq!(facts, "clean");
    assert_ne!(
        supervisor,
        std::process::id(),
        "the run fell back to a cold start"
    );
    assert_ne!(next, warm, "a new warm interpreter serves the next run");
}

#[tokio::test]
async fn a_script_that_never_closes_its_output_file_still_delivers_all_of_it() {
    let f = fresh().await;
    // Sloppy but common: the output file is left to the interpreter to close,
    // a thread finishes the work, and an atexit handler says goodbye.
    let source = r#"import atexit, json, threading, time
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
out = open(a["expected_output_filename"], "w")
def write():
    time.sleep(0.2)
    out.write("[")
    for i in range(2000):
        out.write(("," if i else "") + json.dumps({"id": str(i), "name": "n" * 50, "groups": []}))
    out.write("]")
threading.Thread(target=write).start()
atexit.register(lambda: print("goodbye from atexit"))
"#;
    let task = scripted_task(&f.engine, f.dir.path(), "Sloppy", source, "{}", "{}").await;
    let r = run(&f.engine, &task).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", extract_info(&r));
    assert_eq!(r.counts.created, 2000);
    let log =
        std::fs::read_to_string(r.files.iter().find(|f| f.kind == "log").unwrap().path.clone()).unwrap();
    assert!(log.contains("goodbye from atexit"), "{log}");
}

#[tokio::test]
async fn a_runs_progress_is_recorded_for_other_processes_while_it_runs() {
    let f = fresh().await;
    let source = "import json, time\nimport common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\n\
                  time.sleep(2)\njson.dump([{'id': '1', 'name': 'n', 'groups': []}], open(a['expected_output_filename'], 'w'))\n";
    let task = scripted_task(&f.engine, f.dir.path(), "Watched", source, "{}", "{}").await;
    assert!(
        f.engine.live_progress(&task).await.unwrap().is_none(),
        "nothing runs yet"
    );
    let (engine, t) = (f.engine.clone(), task.clone());
    let running = tokio::spawn(async move {
        engine
            .run_task(&t, provisio_engine::model::RunTrigger::Manual, false)
            .await
    });
    // No listener in this process: what another process's window reads is the recorded progress.
    let mut seen = None;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if let Some(p) = f.engine.live_progress(&task).await.unwrap() {
            seen = Some(p);
            break;
        }
    }
    let seen = seen.expect("the running run's progress was recorded");
    assert_eq!(seen.status, RunStatus::Running);
    assert_eq!(seen.task, task);
    let r = running.await.unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Succeeded);
    assert!(
        f.engine.live_progress(&task).await.unwrap().is_none(),
        "nothing runs any more"
    );
    let last = provisio_engine::progress::read_recorded(&f.engine.run_dir(&r.id)).unwrap();
    assert_eq!((last.status, last.records_read), (RunStatus::Succeeded, 1));
}
