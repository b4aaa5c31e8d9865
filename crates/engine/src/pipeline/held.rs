//! The changed cards a run held over its update limit (`on_limit:
//! hold_excess`, [`super::guard::Excess::ChangesAndRemovals`]): their values
//! are kept in the run's folder as the load read them, and written once a
//! person approves, through the same load core.
//!
//! One line per card in [`HELD_CHANGES`]: the card id the cache knew, the
//! record's value hash, then the change line as pass one wrote it (object
//! key as JSON, tab, card JSON), tab-separated.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::changes::{next_lines, parse_change, write_changes, written, Change};
use super::{cache, Halt};
use crate::error::{EngineError, Result};
use crate::model::{RunCounts, Task};
use crate::run_folder::HELD_CHANGES;
use crate::targets::LoadTarget;

/// Collects the held changed cards while the load reads its changes.
pub(super) struct HeldChanges {
    writer: BufWriter<std::fs::File>,
    path: PathBuf,
    /// Object id hashes of the cards held, in file order.
    pub(super) ids: Vec<u64>,
}

impl HeldChanges {
    pub(super) fn create(dir: &Path) -> std::result::Result<Self, Halt> {
        let path = dir.join(HELD_CHANGES);
        let file = std::fs::File::create(&path)
            .map_err(|e| Halt::io("cannot keep the held changes in", &path, e))?;
        Ok(HeldChanges {
            writer: BufWriter::with_capacity(1 << 16, file),
            path,
            ids: Vec::new(),
        })
    }

    /// Keeps one changed card (`line`: its change line) instead of loading it.
    pub(super) fn hold(
        &mut self,
        id: u64,
        card: i64,
        hash: u64,
        line: &str,
    ) -> std::result::Result<(), Halt> {
        self.ids.push(id);
        writeln!(self.writer, "{card}\t{hash}\t{line}").map_err(|e| Halt::io("cannot write", &self.path, e))
    }

    /// Flushed to disk before the load commits: what was held is never lost.
    pub(super) fn finish(self) -> std::result::Result<Vec<u64>, Halt> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| Halt::io("cannot write", &self.path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Halt::io("cannot write", &self.path, e))?;
        Ok(self.ids)
    }
}

/// The first `limit` held changed cards of the run in `dir`, as (object id,
/// the card JSON the load would write).
pub fn held_cards(dir: &Path, limit: usize) -> Vec<(String, String)> {
    super::changes::first_lines(&dir.join(HELD_CHANGES), limit, |l| {
        held_line(l).map(|(_, _, key, data)| (key.into_owned(), data.to_string()))
    })
}

/// Writes the changed cards the run in `dir` held, counting them in
/// `counts`, inside the target's open transaction. Returns the cache
/// entries to store for them (object id hash, value hash, card).
pub fn apply_held_changes(
    target: &mut dyn LoadTarget,
    task: &Task,
    key_attribute: &str,
    dir: &Path,
    counts: &mut RunCounts,
) -> Result<Vec<cache::Entry>> {
    let path = dir.join(HELD_CHANGES);
    let file = std::fs::File::open(&path)
        .map_err(|e| EngineError::io(format!("cannot read the held changes in {}", path.display()), e))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let damaged = || EngineError::Internal(format!("the held changes in {} are damaged", path.display()));
    let halted = |h: Halt| EngineError::Internal(h.info);
    let mut patches = Vec::new();
    let mut batch = Vec::with_capacity(1 << 20);
    let mut outcomes = Vec::new();
    while next_lines(&mut reader, &mut batch)
        .map_err(|e| EngineError::io(format!("cannot read {}", path.display()), e))?
    {
        let lines = std::str::from_utf8(&batch).map_err(|_| damaged())?;
        let mut changes = Vec::new();
        let mut hashes = Vec::new();
        for line in lines.split('\n').filter(|l| !l.is_empty()) {
            let (card, hash, key, data) = held_line(line).ok_or_else(damaged)?;
            hashes.push(hash);
            changes.push(Change {
                id: cache::key_hash(&key),
                known: Some(card),
                key,
                data,
            });
        }
        write_changes(target, task, key_attribute, &changes, &mut outcomes).map_err(halted)?;
        for ((change, hash), outcome) in changes.iter().zip(hashes).zip(&outcomes) {
            let mut slot = cache::Slot::default();
            written(counts, &mut slot, *outcome);
            // One the target refused keeps its old cache entry: the next run plans it again.
            if !slot.blocked {
                // The record it came from is not known here: the next run reads it.
                patches.push(cache::Entry::new(change.id, hash, 0, slot.card));
            }
        }
    }
    Ok(patches)
}

/// `card \t hash \t key-json \t data` → its parts.
fn held_line(line: &str) -> Option<(i64, u64, std::borrow::Cow<'_, str>, &str)> {
    let (card, rest) = line.split_once('\t')?;
    let (hash, change) = rest.split_once('\t')?;
    let (key, data) = parse_change(change)?;
    Some((card.parse().ok()?, hash.parse().ok()?, key, data))
}
