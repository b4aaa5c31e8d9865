//! What a run reports: the extract stage's words, the files it left, and
//! whether it is full or incremental.

use std::path::Path;
use std::time::Duration;

use super::{cache, BLOCKED, FAILED, PLAN, SPILL};
use crate::clock::now;
use crate::model::{Run, RunCounts, RunFile, RunFileKind, RunMode, RunType, StageStatus, Task};
use crate::script_host::files;

/// The extract stage's report once pass one has seen every record.
pub(super) fn record_extract(run: &mut Run, counts: &RunCounts, script: Duration, validation: Duration) {
    run.counts = counts.clone();
    run.extract.status = Some(StageStatus::Succeeded);
    run.extract.completed = Some(now());
    run.extract.info = Some(format!(
        "fetched {} records: {} valid, {} blocked{} (script {:.2} s, validation {:.2} s)",
        counts.fetched,
        counts.valid,
        counts.blocked,
        if counts.blocked > 0 {
            format!(" (reasons in {BLOCKED})")
        } else {
            String::new()
        },
        script.as_secs_f64(),
        validation.as_secs_f64()
    ));
}

/// The files a run left in its directory, for `run show` and the history view.
pub fn run_files(dir: &Path) -> Vec<RunFile> {
    let kinds = [
        (files::ARGS, RunFileKind::Args),
        (files::OUTPUT, RunFileKind::Output),
        (files::ERROR, RunFileKind::Error),
        (files::SCRIPT_LOG, RunFileKind::ScriptLog),
        (files::LOG, RunFileKind::Log),
        (PLAN, RunFileKind::Plan),
        (SPILL, RunFileKind::Changes),
        (BLOCKED, RunFileKind::Blocked),
        (FAILED, RunFileKind::Failed),
    ];
    kinds
        .iter()
        .filter_map(|(name, kind)| {
            let p = dir.join(name);
            std::fs::metadata(&p).ok().map(|m| RunFile {
                kind: *kind,
                path: p.display().to_string(),
                size: m.len(),
            })
        })
        .collect()
}

/// `full` or `incremental` for this run: incremental only when the task asks
/// for it and a previous successful extract of the same mappings exists.
pub fn effective_run_type(task: &Task, cache: Option<&crate::store::CacheRow>) -> RunMode {
    match (task.run_type, cache) {
        (RunType::Incremental, Some(c))
            if c.last_successful_extract.is_some() && c.mappings_hash == cache::mappings_hash(task) =>
        {
            RunMode::Incremental
        }
        _ => RunMode::Full,
    }
}
