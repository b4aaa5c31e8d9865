//! Pass one (validate and compare): the output is read in batches, each
//! record checked and hashed on every core, compared with the cache, and
//! the new or changed cards handed to a [`super::sink::Sink`].

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::sink::Sink;
use super::{cache, json_array, records, Halt, BLOCKED};
use crate::model::{RunCounts, RunStatus};
use cache::Slots;
use records::RecordShape;

/// Result of pass one.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) slots: Slots,
    pub(super) counts: RunCounts,
    pub(super) creates: u64,
    pub(super) updates: u64,
    /// Of the updates, those held over the update limit (`on_limit: hold_excess`).
    pub(super) held_updates: u64,
}

/// Opens the script's output for pass one; never waits (see [`crate::platform::open_regular`]).
pub(super) fn open_output(output: &Path) -> std::result::Result<std::fs::File, Halt> {
    crate::platform::open_regular(output).map_err(|e| Halt::io("cannot open the output file", output, e))
}

/// Pass one: stream the output, validate each record, compare it with the
/// cache, and spill the new or changed card values. Returns the plan.
///
/// Parsing is most of the work, so it runs on every core: one thread splits
/// the array into batches of elements, workers turn them into spill lines
/// (validated, hashed), and this thread applies the results in file order,
/// so record numbers, card order and the first-seen rules stay as if it were
/// one loop. Memory stays bounded by the few batches in flight.
pub(super) fn plan_changes(
    file: std::fs::File,
    dir: &Path,
    shape: &RecordShape,
    mut slots: Slots,
    sink: Sink,
    progress: &crate::progress::ProgressCounters,
) -> std::result::Result<Plan, Halt> {
    // Sized for the records the file can hold (~300 bytes or more each), so the
    // table is not regrown (and briefly held twice) while streaming.
    let estimate = file
        .metadata()
        .map(|m| m.len() / 300)
        .unwrap_or(0)
        .min(50_000_000) as usize;
    slots.reserve(estimate.saturating_sub(slots.len()));
    // Read by every worker while `Apply` changes the slots.
    let records = slots.take_records();
    let records = records.as_ref();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let (batch_tx, batch_rx) = std::sync::mpsc::sync_channel::<(u64, Batch)>(workers * 2);
    let (parsed_tx, parsed_rx) = std::sync::mpsc::sync_channel::<(u64, Parsed)>(workers * 2);
    // Owned by the workers alone: when the last one leaves, the splitter's send fails and it stops too.
    let batch_rx = Arc::new(std::sync::Mutex::new(batch_rx));
    std::thread::scope(|scope| {
        scope.spawn(move || split_batches(file, &batch_tx));
        for _ in 0..workers {
            let parsed_tx = parsed_tx.clone();
            let batch_rx = batch_rx.clone();
            scope.spawn(move || {
                let mut scratch = records::CardScratch::default();
                loop {
                    let next = match batch_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, batch)) = next else { return };
                    if parsed_tx
                        .send((seq, parse_batch(shape, records, batch, &mut scratch)))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        drop(parsed_tx);
        drop(batch_rx);
        let mut apply = Apply {
            slots,
            counts: RunCounts::default(),
            duplicate_names: Default::default(),
            sink,
            blocked_path: dir.join(BLOCKED),
            blocked: None,
            blocked_facts: None,
        };
        // Results arrive in any order; apply them in file order.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut outcome = Ok(());
        for (seq, parsed) in parsed_rx.iter() {
            waiting.insert(seq, parsed);
            while let Some(parsed) = waiting.remove(&next) {
                next += 1;
                if outcome.is_ok() {
                    outcome = apply.batch(parsed);
                    progress.set_read(apply.counts.fetched);
                }
            }
            if outcome.is_err() {
                // Dropping the receiver stops the workers and the splitter.
                break;
            }
        }
        drop(parsed_rx);
        outcome?;
        apply.finish()
    })
}

/// Elements of the output file, copied out of the reader's buffer.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) bytes: Vec<u8>,
    pub(super) ends: Vec<usize>,
    /// The file is not a valid array from here on.
    pub(super) error: Option<json_array::ArrayError>,
}

/// A batch after validation: spill lines and what each element turned out to be.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub(super) lines: Vec<u8>,
    pub(super) items: Vec<Item>,
    pub(super) error: Option<json_array::ArrayError>,
}

#[derive(Debug)]
pub(super) enum Item {
    /// `lines[start..end]` is the element's spill line; the key is its first field.
    Valid {
        id: u64,
        hash: u64,
        /// [`RecordShape::record_hash`], and whether the cache knows it for this id.
        record: u64,
        same_record: bool,
        start: usize,
        end: usize,
    },
    /// The record the cache knows for this id, byte for byte: its card is
    /// the stored one, so it was not read. `lines[start..end]` is its key.
    Same {
        id: u64,
        record: u64,
        start: usize,
        end: usize,
    },
    Blocked(records::Blocked),
}

pub(super) const BATCH_BYTES: usize = 1 << 20;

pub(super) fn split_batches(file: std::fs::File, tx: &std::sync::mpsc::SyncSender<(u64, Batch)>) {
    let mut reader = json_array::ArrayReader::new(file);
    let mut seq = 0u64;
    let mut batch = Batch::default();
    loop {
        match reader.next_element() {
            Ok(Some(e)) => {
                batch.bytes.extend_from_slice(e);
                batch.ends.push(batch.bytes.len());
                if batch.bytes.len() < BATCH_BYTES {
                    continue;
                }
            }
            Ok(None) => {
                let _ = tx.send((seq, batch));
                return;
            }
            Err(e) => {
                batch.error = Some(e);
                let _ = tx.send((seq, batch));
                return;
            }
        }
        if tx.send((seq, std::mem::take(&mut batch))).is_err() {
            return;
        }
        seq += 1;
    }
}

pub(super) fn parse_batch(
    shape: &RecordShape,
    records: Option<&cache::RecordIndex>,
    batch: Batch,
    scratch: &mut records::CardScratch,
) -> Parsed {
    let mut parsed = Parsed {
        lines: Vec::with_capacity(batch.bytes.len() + batch.bytes.len() / 4),
        items: Vec::with_capacity(batch.ends.len()),
        error: batch.error,
    };
    let mut card = Vec::with_capacity(1024);
    let mut key = String::with_capacity(64);
    let looks = records.map(|index| look_up(shape, index, &batch.bytes, &batch.ends, &mut key));
    let mut begin = 0;
    for (i, &end) in batch.ends.iter().enumerate() {
        let element = &batch.bytes[begin..end];
        begin = end;
        let record = match &looks {
            Some(looks) => looks.records[i],
            None => shape.record_hash(element),
        };
        // Most records of a re-run are as they were: found by key and bytes alone.
        if let Some((looks, (id, from, to))) = looks.as_ref().and_then(|l| Some((l, l.same[i]?))) {
            let start = parsed.lines.len();
            write_key(&mut parsed.lines, &looks.keys[from..to]);
            parsed.lines.push(b'\t');
            parsed.items.push(Item::Same {
                id,
                record,
                start,
                end: parsed.lines.len(),
            });
            continue;
        }
        match shape.card(element, &mut card, &mut key, scratch) {
            Ok(()) => {
                let start = parsed.lines.len();
                write_key(&mut parsed.lines, &key);
                parsed.lines.push(b'\t');
                parsed.lines.extend_from_slice(&card);
                parsed.lines.push(b'\n');
                let id = cache::key_hash(&key);
                parsed.items.push(Item::Valid {
                    id,
                    hash: cache::hash(&card),
                    record,
                    same_record: records.is_some_and(|index| index.get(id) == Some(record)),
                    start,
                    end: parsed.lines.len(),
                });
            }
            Err(b) => parsed.items.push(Item::Blocked(b)),
        }
    }
    parsed
}

/// A batch's records as the cache's record index knows them.
struct Looks {
    /// Each record's hash.
    records: Vec<u64>,
    /// For a record the index holds byte for byte: its id and its key (`keys[from..to]`).
    same: Vec<Option<(u64, usize, usize)>>,
    keys: String,
}

/// Reads every record's hash and quick key first, then looks them all up in
/// a loop of lookups alone: each is a read from a table of tens of MB that
/// misses the core's caches, and side by side they overlap instead of each
/// waiting for the one before (measured: that wait was most of the
/// workers' time on a re-run).
fn look_up(
    shape: &RecordShape,
    index: &cache::RecordIndex,
    bytes: &[u8],
    ends: &[usize],
    key: &mut String,
) -> Looks {
    let mut looks = Looks {
        records: Vec::with_capacity(ends.len()),
        same: Vec::with_capacity(ends.len()),
        keys: String::with_capacity(ends.len() * 16),
    };
    let mut begin = 0;
    for &end in ends {
        let element = &bytes[begin..end];
        begin = end;
        looks.records.push(shape.record_hash(element));
        looks.same.push(shape.quick_key(element, key).then(|| {
            let from = looks.keys.len();
            looks.keys.push_str(key);
            (cache::key_hash(key), from, looks.keys.len())
        }));
    }
    for (same, &record) in looks.same.iter_mut().zip(&looks.records) {
        if same.is_some_and(|(id, ..)| index.get(id) != Some(record)) {
            *same = None;
        }
    }
    looks
}

/// The object key as a JSON string. A key without quotes, backslashes or
/// control characters (nearly all) is written as it is, which is what the
/// serializer would write, without its per-character escaping.
fn write_key(out: &mut Vec<u8>, key: &str) {
    if key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, key);
    }
}

/// Pass one's state, applied batch by batch in file order.
pub(super) struct Apply {
    pub(super) slots: Slots,
    pub(super) counts: RunCounts,
    /// Ids seen more than once, by hash, with their text for the blocked list.
    pub(super) duplicate_names: std::collections::HashMap<u64, String>,
    pub(super) sink: Sink,
    pub(super) blocked_path: PathBuf,
    pub(super) blocked: Option<BufWriter<std::fs::File>>,
    pub(super) blocked_facts: Option<BufWriter<std::fs::File>>,
}

impl Apply {
    /// A blocked record's line for people, and its facts for a report.
    fn write_blocked(&mut self, line: String, facts: crate::run_folder::BlockedFacts) {
        if self.blocked.is_none() {
            self.blocked = std::fs::File::create(&self.blocked_path).ok().map(BufWriter::new);
            let facts_path = self.blocked_path.with_file_name(crate::run_folder::BLOCKED_FACTS);
            self.blocked_facts = std::fs::File::create(facts_path).ok().map(BufWriter::new);
        }
        if let Some(w) = self.blocked.as_mut() {
            let _ = writeln!(w, "{line}");
        }
        if let (Some(w), Ok(json)) = (self.blocked_facts.as_mut(), serde_json::to_string(&facts)) {
            let _ = writeln!(w, "{json}");
        }
    }

    /// Counts a valid record of id `id` (`line` starts with its key): its
    /// slot when this is the id's first, `None` for a duplicate.
    fn first_read(&mut self, id: u64, at: Option<usize>, line: &[u8]) -> Option<&mut cache::Slot> {
        let slot = match at {
            Some(at) => self.slots.at_mut(at),
            None => self.slots.entry(id),
        };
        slot.occurrences += 1;
        if slot.occurrences > 1 || slot.blocked {
            let key_json = line.split(|b| *b == b'\t').next().unwrap_or_default();
            let key = serde_json::from_slice::<String>(key_json).unwrap_or_default();
            self.duplicate_names.entry(id).or_insert(key);
        }
        (slot.occurrences == 1).then_some(slot)
    }

    fn batch(&mut self, parsed: Parsed) -> std::result::Result<(), Halt> {
        // The batch's ids are looked up first, in a loop of lookups alone:
        // each is a few random reads in tables of tens of MB, and side by
        // side they overlap instead of each waiting for the one before.
        let found: Vec<Option<usize>> = parsed
            .items
            .iter()
            .map(|item| match item {
                Item::Valid { id, .. } | Item::Same { id, .. } => self.slots.position(*id),
                Item::Blocked(_) => None,
            })
            .collect();
        for (item, at) in parsed.items.into_iter().zip(found) {
            self.counts.fetched += 1;
            match item {
                Item::Valid {
                    id,
                    hash,
                    record,
                    same_record,
                    start,
                    end,
                } => {
                    let line = &parsed.lines[start..end];
                    let Some(slot) = self.first_read(id, at, line) else {
                        continue;
                    };
                    (slot.new_hash, slot.new_record, slot.same_record) = (hash, record, same_record);
                    // An id already seen in a blocked record is blocked too: nothing to write.
                    if !slot.blocked && (!slot.cached || slot.cached_hash != hash) {
                        let known = slot.cached.then_some(slot.card);
                        self.sink.write(line, known)?;
                    }
                }
                Item::Same {
                    id,
                    record,
                    start,
                    end,
                } => {
                    if let Some(slot) = self.first_read(id, at, &parsed.lines[start..end]) {
                        (slot.new_hash, slot.new_record, slot.same_record) = (slot.cached_hash, record, true);
                    }
                }
                Item::Blocked(b) => {
                    self.counts.blocked += 1;
                    let line = format!("record {}: {b}", self.counts.fetched);
                    let facts = crate::run_folder::BlockedFacts {
                        record: Some(self.counts.fetched),
                        key: b.key.clone(),
                        message: b.facts.message.to_string(),
                        values: b
                            .facts
                            .values
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.clone()))
                            .collect(),
                    };
                    self.write_blocked(line, facts);
                    if let Some(key) = b.key {
                        let id = cache::key_hash(&key);
                        let slot = self.slots.entry(id);
                        slot.blocked = true;
                        if slot.occurrences > 0 {
                            self.duplicate_names.entry(id).or_insert(key);
                        }
                    }
                }
            }
        }
        self.sink.batch_done()?;
        match parsed.error {
            Some(e) => Err(Halt::extract(
                RunStatus::Failed,
                format!("the script's output is not a valid JSON array of records: {e}"),
            )),
            None => Ok(()),
        }
    }

    fn finish(mut self) -> std::result::Result<Plan, Halt> {
        self.sink.flush()?;
        let (mut creates, mut updates) = (0, 0);
        let mut duplicated_lines = Vec::new();
        for (id, slot) in self.slots.touched() {
            let duplicated = slot.occurrences > 1 || (slot.occurrences == 1 && slot.blocked);
            if duplicated {
                self.counts.blocked += slot.occurrences as u64;
                let key = self.duplicate_names.get(id).map(String::as_str).unwrap_or("?");
                let times = slot.occurrences + u32::from(slot.blocked);
                duplicated_lines.push((
                    format!("{key}: the object id occurs in {times} records; all of them are blocked"),
                    crate::run_folder::BlockedFacts {
                        record: None,
                        key: Some(key.to_string()),
                        message: "blocked_id_repeated".into(),
                        values: vec![("times".into(), times.to_string())],
                    },
                ));
            } else if slot.occurrences == 1 {
                if !slot.cached {
                    creates += 1;
                } else if slot.changed() {
                    updates += 1;
                } else {
                    self.counts.unchanged += 1;
                }
            }
        }
        for (line, facts) in duplicated_lines {
            self.write_blocked(line, facts);
        }
        if let Some(w) = self.blocked.as_mut() {
            let _ = w.flush();
        }
        if let Some(w) = self.blocked_facts.as_mut() {
            let _ = w.flush();
        }
        self.counts.valid = self.counts.fetched - self.counts.blocked;
        Ok(Plan {
            slots: self.slots,
            counts: self.counts,
            creates,
            updates,
            held_updates: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_key_is_written_as_the_serializer_writes_it() {
        for key in [
            "emp-0001",
            "Zoë",
            "",
            "a\"b",
            "back\\slash",
            "tab\there",
            "\u{1f}",
            "\u{7f}",
        ] {
            let mut out = Vec::new();
            super::write_key(&mut out, key);
            assert_eq!(out, serde_json::to_vec(key).unwrap(), "{key:?}");
        }
    }
}
