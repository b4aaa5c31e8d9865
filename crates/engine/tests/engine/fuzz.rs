//! Property-based tests over every parser that takes outside input: JSONC
//! parameters, script output records, cron strings, package manifests and
//! entries. They run in CI with proptest's default 256 cases per property
//! (64 for whole packages; a few seconds); `PROPTEST_CASES=20000 cargo test
//! -p provisio-engine --test engine fuzz` runs a longer campaign. Each property states what a
//! user relies on: no panic, a clear error, and for packages nothing
//! written outside the data directory.

use std::io::Write;
use std::path::Path;

use proptest::prelude::*;
use provisio_engine::model::{Task, Template};
use provisio_engine::pipeline::records::{CardScratch, RecordShape};
use provisio_engine::secrets::Sensitive;
use provisio_engine::{jsonc, rules, Engine};

fn shape() -> RecordShape {
    let task: Task = serde_json::from_value(serde_json::json!({
        "id": "t1", "connector_id": "c1", "connector_name": "C", "name": "Load", "usage": "scheduled",
        "enabled": true, "schedule": "0 0 * * * *", "timezone": "UTC", "run_type": "full",
        "mappings_type": "generic", "object_id_attribute": "id", "target_template": "person",
        "target_folder": "persons", "task_id_attribute": "taskid", "data_source_type_attribute": null,
        "mappings": [{"source": "id", "target": "employee_id"}, {"source": "name", "target": "last_name"},
                     {"source": "groups", "target": "groups"}, {"source": "st", "target": "accountStatus"}],
        "failure": null, "removal": null, "limits": {}, "heartbeat_timeout": 300, "max_runtime": null,
        "references": [], "created_at": "x", "updated_at": "x"
    }))
    .unwrap();
    let template: Template = serde_json::from_value(serde_json::json!({
        "code": "person", "name": "Person", "attributes": [
            {"code": "employee_id"}, {"code": "last_name"}, {"code": "groups", "multi_value": true},
            {"code": "accountStatus", "static_values": ["1 - Active", "5 - Removed"]}, {"code": "taskid"}]
    }))
    .unwrap();
    RecordShape::new(&task, &template, "python_script")
}

/// JSON-ish text: mostly valid fragments, often broken.
fn jsonish() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| format!("{n:e}")),
        "\\PC{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        "[\\[\\]{}:,\"\\\\/ \n*a-z0-9\u{feff}\u{1b}]{0,16}",
    ];
    atom.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z]{1,6}|id|name|groups|st", inner), 0..6).prop_map(|v| {
                let body: Vec<String> = v.into_iter().map(|(k, x)| format!("\"{k}\": {x}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
            "(//|/\\*|\\*/|,|\n){1,3}".prop_map(|s| s),
        ]
    })
}

proptest! {
    #[test]
    fn jsonc_never_panics_and_valid_json_reads_the_same(text in jsonish()) {
        let parsed = jsonc::parse(&text);
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            // Plain JSON is JSONC: the same value comes back.
            prop_assert_eq!(parsed.unwrap(), v);
        }
    }

    #[test]
    fn a_record_is_either_a_valid_card_or_blocked_with_a_reason(text in jsonish()) {
        let shape = shape();
        let (mut out, mut key, mut scratch) = (Vec::new(), String::new(), CardScratch::default());
        match shape.card(text.as_bytes(), &mut out, &mut key, &mut scratch) {
            Ok(()) => {
                // The card is one line of valid JSON holding the key attribute.
                let card: serde_json::Value = serde_json::from_slice(&out).expect("card JSON");
                prop_assert!(card.get("employee_id").is_some());
                prop_assert!(!key.trim().is_empty());
                prop_assert!(!out.contains(&b'\n'));
            }
            Err(blocked) => prop_assert!(!blocked.reason.is_empty()),
        }
    }

    #[test]
    fn any_bytes_as_a_record_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let shape = shape();
        let (mut out, mut key, mut scratch) = (Vec::new(), String::new(), CardScratch::default());
        let _ = shape.card(&bytes, &mut out, &mut key, &mut scratch);
    }

    #[test]
    fn cron_strings_are_accepted_or_refused_briefly(
        fields in prop::collection::vec("[0-9*/,\\-?LW#A-Za-z]{1,8}", 1..9),
    ) {
        let text = fields.join(" ");
        let started = std::time::Instant::now();
        if let Err(e) = rules::check_schedule(&text) {
            let e = e.to_string();
            prop_assert!(e.starts_with("schedule: "), "{}", e);
            prop_assert!(e.len() < 600, "{}", e);
        }
        prop_assert!(started.elapsed().as_secs() < 2, "{} took {:?}", text, started.elapsed());
    }

    #[test]
    fn script_names_that_pass_are_plain_files_in_the_script_folder(name in "\\PC{0,20}(\\.py)?") {
        if rules::check_script_name(&name).is_ok() {
            let p = Path::new("/data/scripts/custom").join(&name);
            prop_assert_eq!(p.parent(), Some(Path::new("/data/scripts/custom")));
            prop_assert!(name.ends_with(".py") && !name.contains(['/', '\\']) && !name.contains(".."));
        }
    }
}

fn package_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(64, |n| (n / 4).max(1))
}

/// A manifest item or connector field: plain, or one of the hostile forms seen in the wild.
fn hostile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}\\.py",
        Just("../../../escape.py".to_string()),
        Just("../../../../escape.py".to_string()),
        Just("/tmp/provisio-fuzz-escape.py".to_string()),
        Just("..\\..\\escape.py".to_string()),
        Just("common_subroutines_efecte_library.py".to_string()),
        Just("json.py".to_string()),
        "\\PC{0,10}",
        "[a-z]{1,4}\u{0}[a-z]{1,4}\\.py",
    ]
}

fn manifest_and_entries() -> impl Strategy<Value = (serde_json::Value, Vec<(String, Vec<u8>)>)> {
    (
        prop::collection::vec((prop_oneof![Just("connector"), Just("script"), Just("other")], hostile_name(), hostile_name()), 0..4),
        prop::collection::vec((hostile_name(), jsonish()), 0..3),
        jsonish(),
    )
        .prop_map(|(items, extra, connector)| {
            let items: Vec<serde_json::Value> = items
                .into_iter()
                .map(|(kind, name, file)| serde_json::json!({"kind": kind, "name": name, "file": file, "tasks": []}))
                .collect();
            let manifest = serde_json::json!({"format_version": 1, "application_version": "0.1.0",
                "exported_at": "x", "source_environment_type": "test", "items": items});
            let mut entries: Vec<(String, Vec<u8>)> = vec![("connectors/0.json".into(), connector.into_bytes())];
            for (name, content) in extra {
                entries.push((format!("scripts/{}", name.replace('/', "_")), content.into_bytes()));
            }
            (manifest, entries)
        })
}

proptest! {
    // Each case opens a data directory and imports twice: a quarter of the cases of the other properties.
    #![proptest_config(ProptestConfig { cases: package_cases(), ..ProptestConfig::default() })]

    #[test]
    fn hostile_packages_never_write_outside_the_data_directory((manifest, entries) in manifest_and_entries()) {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let data = outside.join("nested").join("data");
        let pkg = tmp.path().join("p.zip");
        {
            let mut zip = zip::ZipWriter::new(std::fs::File::create(&pkg).unwrap());
            let o = zip::write::SimpleFileOptions::default()
                .with_aes_encryption(zip::AesMode::Aes256, "fuzzing password 123");
            zip.start_file("manifest.json", o).unwrap();
            zip.write_all(manifest.to_string().as_bytes()).unwrap();
            let mut seen = std::collections::HashSet::new();
            for (name, content) in &entries {
                if seen.insert(name.clone()) && zip.start_file(name.as_str(), o).is_ok() {
                    zip.write_all(content).unwrap();
                }
            }
            zip.finish().unwrap();
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let engine = Engine::open(&data).await.unwrap();
            for dry_run in [true, false] {
                let _ = engine.import_package(&pkg, &Sensitive::new("fuzzing password 123".into()), dry_run).await;
            }
            engine.close().await;
        });
        // Nothing but the data directory appeared under `outside`, nor at the absolute path.
        let mut found = Vec::new();
        for e in std::fs::read_dir(&outside).unwrap().flatten() {
            found.push(e.file_name());
        }
        prop_assert_eq!(found, vec![std::ffi::OsString::from("nested")]);
        prop_assert_eq!(std::fs::read_dir(outside.join("nested")).unwrap().count(), 1);
        prop_assert!(!Path::new("/tmp/provisio-fuzz-escape.py").exists());
        prop_assert!(!tmp.path().join("escape.py").exists());
    }
}
