//! Export and import packages with the real keyring (docs/package-format.md).

use std::io::Write;
use std::path::Path;

use provisio_engine::model::RunStatus;
use provisio_engine::secrets::Sensitive;
use provisio_engine::Engine;

use crate::scripted::*;
use crate::support::*;

pub(crate) const PASSWORD: &str = "correct horse battery staple";
const TOKEN: &str = "tok-PKG-99e1f3";

fn pw(p: &str) -> Sensitive<String> {
    Sensitive::new(p.to_string())
}

/// A test installation with one connector (a secret, a custom script, two tasks).
async fn source(f: &Fixture) -> std::path::PathBuf {
    let source = r#"import json
import common_subroutines_efecte_library as sdk
a = sdk.initialize_script()
assert a["connector_parameters"]["api_token"] == "tok-PKG-99e1f3", "secret not usable"
json.dump([{"id": "1", "name": "n", "groups": []}], open(a["expected_output_filename"], "w"))
"#;
    scripted_task(
        &f.engine,
        f.dir.path(),
        "HR",
        source,
        &format!(r#"{{"api_token": "{TOKEN}", "base_url": "https://hr"}}"#),
        "{}",
    )
    .await;
    f.engine
        .create_task(
            "HR",
            task_input(
                r#"{"name": "Disable", "usage": "event", "target_template": "person", "target_folder": "persons",
                    "mappings": [{"source": "uid", "target": "employee_id"}], "declared_callers": ["Leaver"]}"#,
            ),
        )
        .await
        .unwrap();
    let out = f.dir.path().join("hr.zip");
    let summary = f
        .engine
        .export_package(&out, &pw(PASSWORD), Some(&["HR".to_string()]))
        .await
        .unwrap();
    assert_eq!(summary.connectors, ["HR"]);
    assert_eq!(summary.tasks, 2);
    assert_eq!(summary.scripts, ["HR.py"]);
    out
}

async fn prod(dir: &Path) -> Engine {
    let e = Engine::open(&dir.join("prod")).await.unwrap();
    e.set_settings(&[("environment_type".into(), "prod".into())])
        .await
        .unwrap();
    e
}

fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_package_moves_from_test_to_prod_with_usable_secrets_and_disabled_tasks() {
    let f = fresh().await;
    let pkg = source(&f).await;
    let target = prod(f.dir.path()).await;
    let plan = target.import_package(&pkg, &pw(PASSWORD), false).await.unwrap();
    assert_eq!(plan.connectors[0].action, "create");
    assert_eq!(plan.manifest.source_environment_type.as_deref(), Some("test"));
    let task = target.task("HR/Load").await.unwrap();
    assert!(!task.enabled, "imported scheduled tasks arrive disabled in prod");
    let event = target.task("HR/Disable").await.unwrap();
    assert_eq!(event.references[0].caller, "Leaver");
    assert_eq!(
        target.connector("HR").await.unwrap().parameters["api_token"],
        "********"
    );
    assert_eq!(
        target.resolved_parameters("HR").await.unwrap().expose()["api_token"],
        TOKEN
    );
    // The custom script came along and runs with the secret from this machine's keyring.
    let run = target
        .run_task("HR/Load", provisio_engine::model::RunTrigger::Manual, false)
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.extract.info);

    // No secret in clear in the package, or in either data directory.
    f.engine.close().await;
    target.close().await;
    assert!(!contains(&std::fs::read(&pkg).unwrap(), TOKEN));
    for file in all_files(f.dir.path()) {
        if file.extension().is_some_and(|e| e == "py") {
            continue; // the test's own script source names the expected value
        }
        assert!(
            !contains(&std::fs::read(&file).unwrap_or_default(), TOKEN),
            "secret in clear in {}",
            file.display()
        );
    }
}

#[tokio::test]
async fn importing_again_merges_by_name_and_the_dry_run_shows_changes_field_by_field() {
    let f = fresh().await;
    let pkg = source(&f).await;
    let target = prod(f.dir.path()).await;
    target.import_package(&pkg, &pw(PASSWORD), false).await.unwrap();
    // Change the source and export again.
    f.engine
        .update_connector(
            "HR",
            connector_input(r#"{"parameters": {"api_token": "********", "base_url": "https://hr2"}}"#),
        )
        .await
        .unwrap();
    let mut t = editable_task(&f.engine, "HR/Load").await;
    t["schedule"] = "0 30 4 * * *".into();
    f.engine
        .update_task("HR/Load", serde_json::from_value(t).unwrap())
        .await
        .unwrap();
    let pkg2 = f.dir.path().join("hr2.zip");
    f.engine.export_package(&pkg2, &pw(PASSWORD), None).await.unwrap();

    let before = serde_json::to_string(&target.task("HR/Load").await.unwrap()).unwrap();
    let plan = target.import_package(&pkg2, &pw(PASSWORD), true).await.unwrap();
    assert!(plan.dry_run);
    let c = &plan.connectors[0];
    assert_eq!(c.action, "merge");
    assert!(
        c.changes
            .iter()
            .any(|ch| ch.field == "parameters.base_url" && ch.to == "https://hr2"),
        "{:?}",
        c.changes
    );
    let load = c.tasks.iter().find(|t| t.name == "Load").unwrap();
    assert_eq!(load.action, "change");
    assert!(
        load.changes
            .iter()
            .any(|ch| ch.field == "schedule" && ch.to == "0 30 4 * * *"),
        "{:?}",
        load.changes
    );
    assert_eq!(
        c.tasks.iter().find(|t| t.name == "Disable").unwrap().action,
        "unchanged"
    );
    assert_eq!(
        serde_json::to_string(&target.task("HR/Load").await.unwrap()).unwrap(),
        before,
        "a dry run changes nothing"
    );

    target.import_package(&pkg2, &pw(PASSWORD), false).await.unwrap();
    assert_eq!(target.list_connectors().await.unwrap().len(), 1);
    assert_eq!(
        target.task("HR/Load").await.unwrap().schedule.as_deref(),
        Some("0 30 4 * * *")
    );
    assert_eq!(
        target.connector("HR").await.unwrap().parameters["base_url"],
        "https://hr2"
    );
}

#[tokio::test]
async fn bad_passwords_and_bad_packages_are_refused_and_change_nothing() {
    let f = fresh().await;
    let pkg = source(&f).await;
    let target = prod(f.dir.path()).await;

    let e = f
        .engine
        .export_package(&f.dir.path().join("x.zip"), &pw("short"), None)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "password: a package password needs at least 12 characters"
    );
    assert!(!f.dir.path().join("x.zip").exists());

    let e = target
        .import_package(&pkg, &pw("wrong password here"), false)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "password: wrong password for {}; nothing was changed",
            pkg.display()
        )
    );

    let bytes = std::fs::read(&pkg).unwrap();
    let truncated = f.dir.path().join("truncated.zip");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = target
        .import_package(&truncated, &pw(PASSWORD), false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is not a readable package"), "{e}");

    // Flip bytes inside the first entry's encrypted data: the AES authentication fails.
    let mut tampered = bytes.clone();
    for b in &mut tampered[80..90] {
        *b ^= 0x5a;
    }
    let t = f.dir.path().join("tampered.zip");
    std::fs::write(&t, &tampered).unwrap();
    let e = target.import_package(&t, &pw(PASSWORD), false).await.unwrap_err();
    assert!(
        e.to_string().contains("damaged") || e.to_string().contains("wrong password"),
        "{e}"
    );

    assert!(
        target.list_connectors().await.unwrap().is_empty(),
        "nothing was imported"
    );
}

/// A package written entry by entry, then with names patched in place
/// (same length), as an attacker would.
pub(crate) fn crafted(path: &Path, entries: &[(&str, &[u8])], patch: &[(&str, &str)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, content) in entries {
        let o = zip::write::SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, PASSWORD);
        zip.start_file(*name, o).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    for (from, to) in patch {
        assert_eq!(from.len(), to.len());
        let mut i = 0;
        while i + from.len() <= bytes.len() {
            if &bytes[i..i + from.len()] == from.as_bytes() {
                bytes[i..i + from.len()].copy_from_slice(to.as_bytes());
            }
            i += 1;
        }
    }
    std::fs::write(path, bytes).unwrap();
}

const MANIFEST: &[u8] = br#"{"format_version": 1, "application_version": "0.1.0", "exported_at": "x", "source_environment_type": "test", "items": []}"#;

#[tokio::test]
async fn path_traversal_duplicates_and_unknown_versions_are_refused() {
    let f = fresh().await;
    let target = prod(f.dir.path()).await;
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, &'a [u8])>,
        Vec<(&'a str, &'a str)>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        ("traversal.zip", vec![("manifest.json", MANIFEST), ("zz/evil.txt", b"x")], vec![("zz/evil.txt", "../evil.txt")], "points outside the package"),
        ("absolute.zip", vec![("manifest.json", MANIFEST), ("Xetc/passwd", b"x")], vec![("Xetc/passwd", "/etc/passwd")], "points outside the package"),
        ("duplicate.zip", vec![("manifest.json", MANIFEST), ("manifest.jsoX", b"x")], vec![("manifest.jsoX", "manifest.json")], "appears twice; refused"),
        (
            "future.zip",
            vec![("manifest.json", br#"{"format_version": 99, "application_version": "9.0", "exported_at": "x", "source_environment_type": null, "items": []}"#)],
            vec![],
            "uses package format version 99, which this Provisio",
        ),
    ];
    for (name, entries, patch, expected) in cases {
        let p = f.dir.path().join(name);
        crafted(&p, &entries, &patch);
        let e = target.import_package(&p, &pw(PASSWORD), false).await.unwrap_err();
        assert!(e.to_string().contains(expected), "{name}: {e}");
    }
    // An unencrypted entry means the package was not made by us.
    let p = f.dir.path().join("plain.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
    zip.start_file("manifest.json", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(MANIFEST).unwrap();
    zip.finish().unwrap();
    let e = target.import_package(&p, &pw(PASSWORD), false).await.unwrap_err();
    assert!(e.to_string().contains("is not encrypted"), "{e}");
    // A package that unpacks to more than the limit.
    let p = f.dir.path().join("bomb.zip");
    let big = vec![b'a'; 65 * 1024 * 1024];
    crafted(&p, &[("manifest.json", MANIFEST), ("big.bin", &big)], &[]);
    let e = target.import_package(&p, &pw(PASSWORD), false).await.unwrap_err();
    assert!(e.to_string().contains("unpacks to more than 64 MiB"), "{e}");
}

#[tokio::test]
async fn every_missing_template_folder_and_attribute_is_listed() {
    let f = fresh().await;
    f.engine
        .add_template(
            provisio_engine::jsonc::from_str(
                r#"{"code": "laptop", "name": "Laptop", "attributes": [{"code": "serial"}, {"code": "owner"}],
                    "folders": [{"code": "laptops"}]}"#,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    scripted_task(
        &f.engine,
        f.dir.path(),
        "CMDB",
        &emitting("[]"),
        "{}",
        r#"{"target_template": "laptop", "target_folder": "laptops",
        "mappings": [{"source": "id", "target": "serial"}, {"source": "who", "target": "owner"}]}"#,
    )
    .await;
    let pkg = f.dir.path().join("cmdb.zip");
    f.engine.export_package(&pkg, &pw(PASSWORD), None).await.unwrap();

    let target = prod(f.dir.path()).await;
    let e = target
        .import_package(&pkg, &pw(PASSWORD), false)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("template 'laptop' (task CMDB/Load)"), "{text}");
    assert!(text.contains("folder 'laptops' (task CMDB/Load)"), "{text}");

    // With the template but without one attribute, that attribute is named.
    target
        .add_template(provisio_engine::jsonc::from_str(r#"{"code": "laptop", "name": "Laptop", "attributes": [{"code": "serial"}], "folders": [{"code": "laptops"}]}"#).unwrap())
        .await
        .unwrap();
    let e = target
        .import_package(&pkg, &pw(PASSWORD), false)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "package: this installation lacks what the package needs; nothing was imported. Missing:\n  - attribute 'owner' in template 'laptop' (mappings of task CMDB/Load)"
    );
    assert!(target.list_connectors().await.unwrap().is_empty());
}
