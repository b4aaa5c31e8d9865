//! Change lines and their write: what pass one hands the load (the object
//! key as JSON, a tab, the card JSON), read back a batch at a time and
//! written to the target many cards per call. The load's drivers and the
//! apply of held changes all write through here.

use std::borrow::Cow;
use std::io::BufRead;

use super::cache::Slot;
use super::{records, Halt};
use crate::model::{RunCounts, RunStage, Task};
use crate::targets::{CardWrite, Foreseen, LoadTarget, Upsert};

/// One new or changed card of a load batch.
pub(super) struct Change<'a> {
    /// Hash of the object key (the cache's and the plan's key).
    pub(super) id: u64,
    /// The card the task's cache remembers for it.
    pub(super) known: Option<i64>,
    pub(super) key: Cow<'a, str>,
    /// The card values as JSON.
    pub(super) data: &'a str,
}

/// A change line as pass one writes it: the object key as JSON, a tab, the card JSON.
pub(super) fn parse_change(line: &str) -> Option<(Cow<'_, str>, &str)> {
    let (key_json, data) = line.split_once('\t')?;
    let key: records::JsonStr = serde_json::from_str(key_json).ok()?;
    Some((key.0, data))
}

/// The first `limit` change lines of the file at `path` (a run's spill), as
/// (object id, card JSON); none when it is gone.
pub(crate) fn first_changes(path: &std::path::Path, limit: usize) -> Vec<(String, String)> {
    first_lines(path, limit, |l| {
        parse_change(l).map(|(key, data)| (key.into_owned(), data.to_string()))
    })
}

/// What `parse` reads of the first `limit` lines it reads of the file at
/// `path` (a preview of a run's file: none when it cannot be opened).
pub(super) fn first_lines<T>(
    path: &std::path::Path,
    limit: usize,
    parse: impl Fn(&str) -> Option<T>,
) -> Vec<T> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    std::io::BufReader::new(file)
        .lines()
        .map_while(|l| l.ok())
        .filter_map(|l| parse(&l))
        .take(limit)
        .collect()
}

/// Reads whole lines into `batch` (cleared first), about 1 MB of them, so
/// the target can write many cards per statement. False at the end.
pub(super) fn next_lines(reader: &mut impl BufRead, batch: &mut Vec<u8>) -> std::io::Result<bool> {
    batch.clear();
    while batch.len() < 1 << 20 {
        if reader.read_until(b'\n', batch)? == 0 {
            break;
        }
    }
    Ok(!batch.is_empty())
}

/// The batch as the target takes it.
fn card_writes<'a>(task: &'a Task, key_attribute: &'a str, changes: &'a [Change]) -> Vec<CardWrite<'a>> {
    changes
        .iter()
        .map(|c| CardWrite {
            template: &task.target_template,
            folder: &task.target_folder,
            key_attribute,
            key: &c.key,
            known_card: c.known,
            task_id: &task.id,
            task_id_attribute: task.task_id_attribute.as_deref(),
            data: c.data,
        })
        .collect()
}

/// Writes a batch of changes in order; `outcomes` then says what happened to each.
pub(super) fn write_changes(
    target: &mut dyn LoadTarget,
    task: &Task,
    key_attribute: &str,
    changes: &[Change],
    outcomes: &mut Vec<Upsert>,
) -> std::result::Result<(), Halt> {
    outcomes.clear();
    target
        .upsert_all(&card_writes(task, key_attribute, changes), outcomes)
        .map_err(Halt::failed_in(RunStage::Load))?;
    Ok(())
}

/// What writing a batch of changes would do to each (`foreseen`), nothing written.
pub(super) fn foresee_changes(
    target: &mut dyn LoadTarget,
    task: &Task,
    key_attribute: &str,
    changes: &[Change],
    foreseen: &mut Vec<Foreseen>,
) -> std::result::Result<(), Halt> {
    foreseen.clear();
    target
        .foresee_all(&card_writes(task, key_attribute, changes), foreseen)
        .map_err(Halt::failed_in(RunStage::Load))?;
    Ok(())
}

/// Counts what the target did with one record and remembers its card.
pub(super) fn written(counts: &mut RunCounts, slot: &mut Slot, outcome: Upsert) {
    let card = match outcome {
        Upsert::Created(c) => {
            counts.created += 1;
            c
        }
        Upsert::Updated(c) => {
            counts.updated += 1;
            c
        }
        // A record the cache did not know (or knew otherwise) whose card already says it all.
        Upsert::Unchanged(c) => {
            counts.unchanged += 1;
            c
        }
        Upsert::TakenOver(c) => {
            counts.updated += 1;
            counts.takeovers += 1;
            c
        }
        Upsert::Failed => {
            // Not written: the cache keeps what it knew, and no removal touches it.
            counts.failed += 1;
            slot.blocked = true;
            return;
        }
    };
    slot.card = card.id;
}
