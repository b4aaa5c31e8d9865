//! Benchmark of the ESM target: 100,000 records from the pipeline into the
//! stateful ESM stand-in (crates/esm-standin, on 127.0.0.1) with bulk batch
//! sizes 1, 50 and 200, through `provisio task run --wait` (a first run: every
//! record is looked up by key, then created).
//!
//! `tools/with-keyring.sh cargo bench -p provisio-cli --bench esm` (the
//! target's password goes to the keyring; BENCH_RECORDS, default 100,000;
//! BENCH_BATCHES, default "1,50,200"). Prints per batch size the load stage's
//! records/s and requests/s (requests the stand-in served during the load:
//! lookups and bulk writes) and the whole run's wall time. The stand-in is
//! in-process and in memory, so the figures are the client's and the
//! pipeline's cost plus loopback HTTP, not a real solution's.

mod common;

use std::path::Path;

use common::{env_num, provisio};
use esm_standin::{Config, StandIn, TemplateDef};

const SCRIPT: &str = r#"import json, os
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
n = int(args["connector_parameters"]["n"])
with open(args["expected_output_filename"], "w") as f:
    json.dump([{"id": "E%d" % i, "name": "Person %d" % i, "mail": "p%d@example.org" % i} for i in range(n)], f)
"#;

fn seconds_between(a: &str, b: &str) -> f64 {
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    (t(b) - t(a)).num_milliseconds() as f64 / 1000.0
}

fn round(dir: &Path, n: usize, batch: usize) {
    let standin = StandIn::start(Config {
        user: "webapi".into(),
        password: "bench-pass".into(),
        templates: vec![TemplateDef {
            code: "person".into(),
            attributes: ["employee_id", "last_name", "mail", "taskid", "dataSourceType"]
                .iter()
                .map(|a| (a.to_string(), "string".to_string(), false))
                .collect(),
            folders: vec!["persons".into()],
        }],
        token_requests: None,
    });
    let data = dir.join(format!("data-{batch}"));
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    provisio(&data, &["settings", "set", "environment_type=test"]);
    let t = file(
        "target.json",
        &format!(
            r#"{{"name": "acme", "kind": "esm", "base_url": "{}", "user": "webapi", "password": "bench-pass", "batch_size": {batch}}}"#,
            standin.base_url()
        ),
    );
    provisio(&data, &["target", "add", "--file", t.to_str().unwrap()]);
    let s = file("people.py", SCRIPT);
    provisio(
        &data,
        &["script", "add", s.to_str().unwrap(), "--kind", "scheduled"],
    );
    let c = file(
        "c.json",
        &format!(
            r#"{{"name": "HR", "type": "python_script", "script": "people.py", "target": "acme", "parameters": {{"n": {n}}}}}"#
        ),
    );
    provisio(&data, &["connector", "create", "--file", c.to_str().unwrap()]);
    let task = file(
        "t.json",
        r#"{"name": "Load", "schedule": "0 0 6 * * *", "object_id_attribute": "id",
            "target_template": "person", "target_folder": "persons", "task_id_attribute": "taskid",
            "data_source_type_attribute": "dataSourceType",
            "mappings": [{"source": "id", "target": "employee_id"}, {"source": "name", "target": "last_name"},
                         {"source": "mail", "target": "mail"}]}"#,
    );
    provisio(
        &data,
        &[
            "task",
            "create",
            "--connector",
            "HR",
            "--file",
            task.to_str().unwrap(),
        ],
    );
    let before = standin.data().requests.len();
    let (out, wall) = provisio(&data, &["--json", "task", "run", "HR/Load", "--wait"]);
    let requests = standin.data().requests.len() - before;
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["created"], n as u64, "{run}");
    assert_eq!(standin.data().live("person").len(), n);
    let load_s = seconds_between(
        run["load"]["started"].as_str().unwrap(),
        run["load"]["completed"].as_str().unwrap(),
    );
    println!(
        "esm: batch {batch:>3}: {:>8.0} records/s, {:>7.0} requests/s ({requests} requests, load {load_s:.2} s, run {:.2} s)",
        n as f64 / load_s,
        requests as f64 / load_s,
        wall.as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env_num("BENCH_RECORDS", 100_000);
    let batches: Vec<usize> = std::env::var("BENCH_BATCHES")
        .unwrap_or_else(|_| "1,50,200".into())
        .split(',')
        .filter_map(|b| b.trim().parse().ok())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    println!("esm: {n} records into the ESM stand-in on 127.0.0.1, first run (lookups + creates)");
    for batch in batches {
        round(dir.path(), n, batch);
    }
}
