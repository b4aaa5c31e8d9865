//! Helpers for tests that run real Python scripts through the engine.

use provisio_engine::model::{Run, RunTrigger};
use provisio_engine::script_library::ScriptKind;
use provisio_engine::Engine;

use crate::support::*;

pub const PERSON_MAPPINGS: &str = r#"[{"source": "id", "target": "employee_id"},
    {"source": "name", "target": "last_name"}, {"source": "groups", "target": "groups"}]"#;

/// A python_script connector named `name` using `source` as its script, and a
/// scheduled task `name/Load` with `extra` task fields merged in.
pub async fn scripted_task(
    engine: &Engine,
    dir: &std::path::Path,
    name: &str,
    source: &str,
    params: &str,
    extra: &str,
) -> String {
    engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    let file = dir.join(format!("{name}.py"));
    std::fs::write(&file, source).unwrap();
    engine.add_script(&file, ScriptKind::Both, None).await.unwrap();
    engine
        .create_connector(connector_input(&format!(
            r#"{{"name": "{name}", "type": "python_script", "script": "{name}.py", "parameters": {params}}}"#
        )))
        .await
        .unwrap();
    let mut task: serde_json::Value = serde_json::from_str(&format!(
        r#"{{"name": "Load", "schedule": "0 0 * * * *", "object_id_attribute": "id",
            "target_template": "person", "target_folder": "persons", "task_id_attribute": "taskid",
            "data_source_type_attribute": "dataSourceType", "mappings": {PERSON_MAPPINGS}}}"#
    ))
    .unwrap();
    let extra: serde_json::Value = provisio_engine::jsonc::parse(extra).unwrap();
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    engine
        .create_task(name, serde_json::from_value(task).unwrap())
        .await
        .unwrap();
    format!("{name}/Load")
}

pub async fn run(engine: &Engine, task: &str) -> Run {
    engine.run_task(task, RunTrigger::Manual, false).await.unwrap()
}

/// A script writing the records of `records` (a Python expression) as its output.
pub fn emitting(records: &str) -> String {
    format!(
        r#"import json
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
records = {records}
with open(args["expected_output_filename"], "w") as f:
    json.dump(records, f)
sdk.update_heartbeat(args["heartbeat_filename"])
"#
    )
}

/// A script emitting people from the connector parameter `ids` (a list).
pub const PEOPLE_FROM_PARAMS: &str = r#"import json
import common_subroutines_efecte_library as sdk
args = sdk.initialize_script()
p = args["connector_parameters"]
records = [{"id": i, "name": p.get("prefix", "N") + i, "groups": ["g1", "g2"]} for i in p["ids"]]
with open(args["expected_output_filename"], "w") as f:
    json.dump(records, f, indent=2)  # pretty-printed lists span lines
"#;

/// Person `id` of PEOPLE_FROM_PARAMS (or a script emitting the same people)
/// renamed from the default prefix `N` to `prefix`, as a plan shows it.
pub fn renamed_person(id: &str, prefix: &str) -> (String, Vec<String>) {
    (
        id.to_string(),
        vec![format!(r#"last_name: "N{id}" -> "{prefix}{id}""#)],
    )
}

/// Person `id` of PEOPLE_FROM_PARAMS (or a script emitting the same people) as a plan to mark it removed shows it:
/// the status it gets, then the values that say whose card it is.
pub fn removed_person(id: &str) -> (String, Vec<String>) {
    (
        id.to_string(),
        vec![
            r#"accountStatus: null -> "5 - Removed""#.to_string(),
            format!(r#"last_name: "N{id}""#),
            r#"groups: ["g1","g2"]"#.to_string(),
        ],
    )
}

pub fn set_ids(ids: &[&str]) -> provisio_engine::model::ConnectorInput {
    connector_input(&format!(
        r#"{{"parameters": {{"ids": {}}}}}"#,
        serde_json::to_string(ids).unwrap()
    ))
}

pub fn all_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}
