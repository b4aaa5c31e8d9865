//! What the CLI tests share: a data directory to drive `provisio` in, and
//! the connectors, tasks and scripts the tests start from.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

pub(crate) struct Cli {
    pub(crate) dir: tempfile::TempDir,
}

impl Cli {
    pub(crate) fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_provisio"))
            .arg("--data-dir")
            .arg(self.data())
            .args(args)
            .output()
            .unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("one JSON document")
    }

    /// Starts `task run TASK --wait` in a process of its own, quiet, to be killed.
    pub(crate) fn spawn_run(&self, task: &str) -> std::process::Child {
        self.spawn_run_with(task, &[])
    }

    /// `spawn_run` with these environment variables set for the engine.
    pub(crate) fn spawn_run_with(&self, task: &str, env: &[(&str, &str)]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_provisio"))
            .envs(env.iter().copied())
            .arg("--data-dir")
            .arg(self.data())
            .args(["task", "run", task, "--wait"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Adds a do-nothing script of this name (kind both) to the library: a
    /// connector can only name a script the library has.
    pub(crate) fn script(&self, name: &str) {
        let f = self.file(
            name,
            "import common_subroutines_efecte_library as sdk\nsdk.initialize_script()\n",
        );
        self.ok(&["script", "add", f.to_str().unwrap(), "--kind", "both"]);
    }

    /// Runs a command that must fail; returns its stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should have failed");
        assert!(out.stdout.is_empty(), "a failed command printed to stdout");
        String::from_utf8(out.stderr).unwrap()
    }
}

pub(crate) const CONNECTOR: &str = r#"{ "name": "HR users", "type": "python_script", "script": "users_from_api.py",
  // copied from the integration guide
  "parameters": { "base_url": "https://hr.example", "page_size": 500, },
}"#;

pub(crate) const TASK: &str = r#"{ "name": "Daily", "usage": "scheduled", "enabled": true,
  "schedule": "0 0 2 * * *", "timezone": "Europe/Helsinki", "run_type": "full",
  "mappings_type": "generic", "object_id_attribute": "employeeId",
  "target_template": "person", "target_folder": "persons",
  "task_id_attribute": "taskid", "data_source_type_attribute": "dataSourceType",
  "mappings": [ { "source": "employeeId", "target": "employee_id" },
                { "source": "lastName", "target": "last_name" } ] }"#;

pub(crate) fn create_connector(cli: &Cli) -> Value {
    cli.script("users_from_api.py");
    let f = cli.file("connector.json", CONNECTOR);
    cli.json(&["connector", "create", "--file", f.to_str().unwrap()])
}

pub(crate) const SCRIPT: &str = r#"import json, sys
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
n = int(a["connector_parameters"].get("count", 3))
pad = "x" * int(a["connector_parameters"].get("pad", 0))
if a["connector_parameters"].get("fail"):
    raise RuntimeError("source unavailable")
with open(a["expected_output_filename"], "w") as f:
    json.dump([{"id": str(i), "name": "P%d%s" % (i, pad)} for i in range(n)], f)
"#;

/// A python_script connector `connector` running `source`, with one scheduled
/// task `task` mapping `id` and `name` into persons.
pub(crate) fn scripted_task(
    cli: &Cli,
    connector: &str,
    task: &str,
    source: &str,
    schedule: &str,
    params: &str,
) {
    cli.ok(&["settings", "set", "environment_type=test"]);
    let script = cli.file(&format!("{connector}.py"), source);
    cli.ok(&["script", "add", script.to_str().unwrap(), "--kind", "scheduled"]);
    let c = cli.file(
        "c.json",
        &format!(r#"{{"name": "{connector}", "type": "python_script", "script": "{connector}.py", "parameters": {params}}}"#),
    );
    cli.ok(&["connector", "create", "--file", c.to_str().unwrap()]);
    let t = cli.file(
        "t.json",
        &format!(
            r#"{{"name": "{task}", "schedule": "{schedule}", "object_id_attribute": "id", "target_template": "person",
                "target_folder": "persons", "task_id_attribute": "taskid",
                "mappings": [{{"source": "id", "target": "employee_id"}}, {{"source": "name", "target": "last_name"}}]}}"#
        ),
    );
    cli.ok(&[
        "task",
        "create",
        "--connector",
        connector,
        "--file",
        t.to_str().unwrap(),
    ]);
}

pub(crate) fn scripted(cli: &Cli, count: u64) {
    scripted_task(
        cli,
        "HR",
        "Load",
        SCRIPT,
        "0 0 * * * *",
        &format!(r#"{{"count": {count}}}"#),
    );
}

pub(crate) fn wait_for_stage(cli: &Cli, stage: &str) -> bool {
    for _ in 0..600 {
        let out = cli.run(&["--json", "task", "history", "HR/Load", "--limit", "1"]);
        if let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) {
            if v[0]["stage"] == stage {
                return true;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Waits up to 60 s for the task's latest run to leave `running`; returns it.
pub(crate) fn finished_run(cli: &Cli, task: &str) -> Value {
    for _ in 0..600 {
        let history = cli.json(&["task", "history", task, "--limit", "1"]);
        if history[0]["status"] != "running" {
            return history[0].clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the run never finished");
}

/// Writes `count` people; every 50th one's name carries the `generation`
/// parameter, so a re-run changes 2 % of the cards.
pub(crate) const GENERATIONS: &str = r#"import json
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
p = a["connector_parameters"]
n, g = int(p["count"]), int(p.get("generation", 0))
with open(a["expected_output_filename"], "w") as f:
    json.dump([{"id": str(i), "name": "P%d-g%d" % (i, g if i % 50 == 0 else 0)} for i in range(n)], f)
"#;

/// One kill -9 at `delay` into `task run --wait`, then the checks a user
/// relies on. Returns whether the run had committed before the kill.
pub(crate) fn kill_at(cli: &Cli, delay: std::time::Duration, count: usize, generations: (u32, u32)) -> bool {
    let previous = cli.json(&["task", "history", "Sweep/Load", "--limit", "1"])[0]["id"].clone();
    let mut child = cli.spawn_run("Sweep/Load");
    std::thread::sleep(delay);
    let _ = child.kill();
    child.wait().unwrap();
    // The next command finds the run abandoned (or finished); never running, never half-applied.
    let last = &cli.json(&["task", "history", "Sweep/Load", "--limit", "1"])[0];
    assert_ne!(last["status"], "running", "{last}");
    let cards = cli.json(&["datacards", "list", "--template", "person", "--limit", "1000000"]);
    let cards = cards.as_array().unwrap();
    let (before, after) = generations;
    // Killed before it recorded its run: the last run is the one before.
    let committed = last["id"] != previous && last["status"] == "succeeded";
    if before == u32::MAX {
        // First load: all or nothing.
        assert!(
            cards.is_empty() || cards.len() == count,
            "{} cards after a killed first load",
            cards.len()
        );
        assert_eq!(
            !cards.is_empty(),
            committed,
            "cards visible only if the run says it committed: {last}"
        );
    } else {
        assert_eq!(cards.len(), count, "a re-run never adds or loses cards");
        let of = |g: u32| of_generation(cards, g);
        let expect = count.div_ceil(50);
        let (old, new) = (of(before), of(after));
        assert!(
            (old, new) == (expect, 0) || (old, new) == (0, expect),
            "a re-run applied by halves: {old} old and {new} new of {expect} changed cards"
        );
        assert_eq!(new == expect, committed, "{last}");
    }
    committed
}

/// How many of the cards `GENERATIONS` changes (every 50th) carry generation `g` in their name.
pub(crate) fn of_generation(cards: &[Value], g: u32) -> usize {
    let suffix = format!("-g{g}");
    cards
        .iter()
        .filter(|c| {
            c["data"]["employee_id"]
                .as_str()
                .unwrap()
                .parse::<usize>()
                .unwrap()
                % 50
                == 0
        })
        .filter(|c| c["data"]["last_name"].as_str().unwrap().ends_with(&suffix))
        .count()
}

/// Sets the generation the script writes, and makes the next run compare against it.
pub(crate) fn set_generation(cli: &Cli, generation: u32, count: usize) {
    let u = cli.file(
        "gen.json",
        &format!(r#"{{"parameters": {{"count": {count}, "generation": {generation}}}}}"#),
    );
    cli.ok(&["connector", "update", "Sweep", "--file", u.to_str().unwrap()]);
}

/// The entries of a zip file, by name, as text.
pub(crate) fn zip_entries(path: &std::path::Path) -> Vec<(String, String)> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            (entry.name().unwrap().to_string(), text)
        })
        .collect()
}

/// The engine log's lines in a log export, each one JSON document.
pub(crate) fn engine_log_lines(entries: &[(String, String)]) -> Vec<Value> {
    entries
        .iter()
        .filter(|(n, _)| n.starts_with("engine/"))
        .flat_map(|(_, text)| {
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("a JSON log line"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The ESM stand-in (crates/esm-standin) with a `person` template.
pub(crate) fn standin() -> esm_standin::StandIn {
    esm_standin::StandIn::start(esm_standin::Config {
        user: "IGA.WebAPI".into(),
        password: "aeiou-4711".into(),
        templates: vec![
            esm_standin::TemplateDef {
                code: "person".into(),
                attributes: vec![("employee_id".into(), "string".into(), false)],
                folders: vec!["persons".into()],
            },
            // Where the HR connector's reports go.
            esm_standin::TemplateDef {
                code: "admin_task".into(),
                attributes: vec![
                    ("title".into(), "string".into(), false),
                    ("description".into(), "text".into(), false),
                    ("attachments".into(), "attachment".into(), true),
                ],
                folders: vec!["admin_tasks".into()],
            },
        ],
        token_requests: None,
    })
}

/// Now as the engine writes times (RFC 3339, UTC, milliseconds), for comparing with a run's.
pub(crate) fn chrono_now() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%S.000Z"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
