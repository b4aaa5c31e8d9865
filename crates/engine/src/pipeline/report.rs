//! What a run reports: the extract stage's words, the files it left, and
//! whether it is full or incremental.

use std::time::Duration;

use super::{cache, BLOCKED};
use crate::model::Count;
use crate::model::{Run, RunCounts, RunMode, RunType, Task};

/// The extract stage's report once pass one has seen every record.
pub(super) fn record_extract(run: &mut Run, counts: &RunCounts, script: Duration, validation: Duration) {
    let info = format!(
        "fetched {} record{}: {} valid, {} blocked{} (script {:.2} s, validation {:.2} s)",
        Count(counts.fetched),
        if counts.fetched == 1 { "" } else { "s" },
        Count(counts.valid),
        Count(counts.blocked),
        if counts.blocked > 0 {
            format!(" (reasons in {BLOCKED})")
        } else {
            String::new()
        },
        script.as_secs_f64(),
        validation.as_secs_f64()
    );
    run.extract_done(counts.clone(), info);
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
