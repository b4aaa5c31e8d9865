//! The engine's shape, checked on its source: SQL is spoken only in
//! `store/`, and no module imports one above it. The layers are the ones
//! `lib.rs` documents; a new module must be placed in [`LAYERS`] to build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module and its layer: a module may use its own layer's
/// neighbours only when listed in [`SIDEWAYS`], and anything below.
const LAYERS: &[(&str, u8)] = &[
    ("clock", 0),
    ("workers", 0),
    ("progress", 0),
    ("run_folder", 0),
    ("error", 0),
    ("model", 0),
    ("paths", 0),
    ("platform", 0),
    ("jsonc", 0),
    ("json_array", 0),
    ("secrets", 1),
    ("rules", 1),
    ("store", 2),
    ("logging", 2),
    ("script_library", 3),
    ("script_host", 3),
    ("targets", 3),
    ("source", 4),
    ("pipeline", 5),
    ("package", 5),
    ("scheduler", 5),
    ("api", 6),
];

/// Uses within one layer that are allowed (the user first).
const SIDEWAYS: &[(&str, &str)] = &[
    ("progress", "model"),
    ("progress", "run_folder"),
    ("run_folder", "model"),
    ("model", "clock"),
    ("paths", "error"),
    ("secrets", "error"),
    ("rules", "secrets"),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every source file as (top-level module, path, code without comments and unit tests).
fn sources() -> Vec<(String, PathBuf, String)> {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|p| !p.ends_with("lib.rs"))
        .map(|path| {
            let relative = path.strip_prefix(&root).unwrap();
            let first = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (module, path, code)
        })
        .collect()
}

/// The crate's top-level modules a piece of code names (`crate::x`, `use crate::{x, y}`).
fn uses(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push(name);
            }
        } else {
            out.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    out
}

#[test]
fn no_module_uses_one_above_it() {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    let mut sideways_used = std::collections::BTreeSet::new();
    for (module, path, code) in sources() {
        let Some(&own) = layer.get(module.as_str()) else {
            wrong.push(format!(
                "{module} ({}) has no layer in architecture.rs",
                path.display()
            ));
            continue;
        };
        for used in uses(&code) {
            // Names re-exported at the root (`crate::Engine`, `crate::Result`) belong to their module.
            let used = match used.as_str() {
                "Engine" => "api".to_string(),
                "EngineError" | "Result" | "ErrorBody" => "error".to_string(),
                other => other.to_string(),
            };
            if used == module {
                continue;
            }
            let Some(&theirs) = layer.get(used.as_str()) else {
                continue;
            };
            let sideways_ok = SIDEWAYS.contains(&(module.as_str(), used.as_str()));
            if sideways_ok {
                sideways_used.insert((module.clone(), used.clone()));
            }
            if theirs > own || (theirs == own && !sideways_ok) {
                wrong.push(format!(
                    "{} uses {used} (layer {theirs} ≥ its {own})",
                    path.display()
                ));
            }
        }
    }
    // An exception nothing needs any more is a door left open: it goes.
    for (user, used) in SIDEWAYS {
        if !sideways_used.contains(&(user.to_string(), used.to_string())) {
            wrong.push(format!(
                "SIDEWAYS lists ({user}, {used}), which no code needs: remove it"
            ));
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

/// The module inside a top-level folder a file belongs to, and how many
/// folders below the top-level one the file sits: `pipeline/plan.rs` →
/// (`pipeline`, `plan`, 0), `targets/esm/client.rs` → (`targets`, `esm`, 1).
/// `None` for a top-level file and a folder's own `mod.rs`.
fn inner_module(path: &Path) -> Option<(String, String, usize)> {
    let relative = path.strip_prefix(src()).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    match parts.as_slice() {
        [_, own] if own == "mod" => None,
        [top, second] => Some((top.clone(), second.clone(), 0)),
        [top, second, own] if own == "mod" => Some((top.clone(), second.clone(), 0)),
        [top, second, ..] => Some((top.clone(), second.clone(), parts.len() - 3 + 1)),
        _ => None,
    }
}

/// The sibling modules (inside the same top-level folder) a file's code names.
fn sibling_uses(top: &str, depth: usize, code: &str) -> Vec<String> {
    let name = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let up = format!("{}super::", "super::".repeat(depth));
    let mut out: Vec<String> = code
        .match_indices(&up)
        .map(|(i, _)| name(&code[i + up.len()..]))
        .collect();
    let absolute = format!("crate::{top}::");
    out.extend(
        code.match_indices(&absolute)
            .map(|(i, _)| name(&code[i + absolute.len()..])),
    );
    out
}

/// No two modules of one folder need each other, however indirectly: each
/// can be read knowing only the ones it names (issue 26: `plan` ↔ `sink`,
/// `process` ↔ `warm` were such circles).
#[test]
fn the_modules_of_a_folder_use_each_other_without_circles() {
    let mut edges: BTreeMap<(String, String), std::collections::BTreeSet<String>> = BTreeMap::new();
    let sources = sources();
    let exists = |top: &str, m: &str| {
        sources
            .iter()
            .any(|(_, p, _)| inner_module(p).is_some_and(|(t, s, _)| t == top && s == m))
    };
    for (_, path, code) in &sources {
        let Some((top, own, depth)) = inner_module(path) else {
            continue;
        };
        for used in sibling_uses(&top, depth, code) {
            if used != own && exists(&top, &used) {
                edges.entry((top.clone(), own.clone())).or_default().insert(used);
            }
        }
    }
    // Depth-first from every module; a module met again on the path is a circle.
    fn walk(
        at: &(String, String),
        edges: &BTreeMap<(String, String), std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        circles: &mut Vec<String>,
    ) {
        if let Some(start) = path.iter().position(|m| *m == at.1) {
            let mut circle = path[start..].to_vec();
            circle.push(at.1.clone());
            circles.push(format!("{}: {}", at.0, circle.join(" → ")));
            return;
        }
        path.push(at.1.clone());
        for next in edges.get(at).into_iter().flatten() {
            walk(&(at.0.clone(), next.clone()), edges, path, circles);
        }
        path.pop();
    }
    let mut circles = Vec::new();
    for start in edges.keys() {
        walk(start, &edges, &mut Vec::new(), &mut circles);
    }
    assert!(
        !edges.is_empty(),
        "the check saw no use between modules at all: it is not reading the tree"
    );
    assert!(
        circles.is_empty(),
        "modules that need each other:\n{}",
        circles.join("\n")
    );
}

#[test]
fn sql_is_spoken_only_in_the_store() {
    let words = [
        "sqlx::query",
        "sqlx::raw_sql",
        "rusqlite::Connection",
        "execute_batch",
        "\"SELECT ",
        "\"INSERT ",
        "\"UPDATE ",
        "\"DELETE ",
        "\"PRAGMA ",
        "\"CREATE ",
        "BEGIN IMMEDIATE",
        // The pool is the store's: a transaction opened elsewhere is SQL by another name.
        ".pool()",
        "SqliteConnection",
    ];
    let mut found = Vec::new();
    for (module, path, code) in sources() {
        if module == "store" {
            continue;
        }
        for word in words {
            if code.contains(word) {
                found.push(format!("{}: {word}", path.display()));
            }
        }
    }
    assert!(found.is_empty(), "SQL outside store/:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_imports_in_every_form_it_reads() {
    assert_eq!(
        uses("use crate::store::Store;\nlet x = crate::clock::now();\nuse crate::{rules, secrets::MASK};"),
        ["store", "clock", "rules", "secrets"]
    );
}

#[test]
fn the_facade_never_names_a_connector_type() {
    // Everything that depends on a connector's type is asked through
    // source/kind.rs, so a new kind never touches api/.
    let found: Vec<String> = sources()
        .into_iter()
        .filter(|(module, _, code)| module == "api" && code.contains("ConnectorType::"))
        .map(|(_, path, _)| path.display().to_string())
        .collect();
    assert!(
        found.is_empty(),
        "api/ matches on connector types:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_file_of_the_facade_is_over_500_lines() {
    // A newcomer reads api/ first: a file past 500 lines is split by what it
    // does (runs/approval.rs gave its reading of cards to runs/preview.rs).
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(module, _, _)| module == "api")
        .filter_map(|(_, path, _)| {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            (lines > 500).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by what they do:\n{}",
        long.join("\n")
    );
}
