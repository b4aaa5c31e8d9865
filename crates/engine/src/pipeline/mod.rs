//! The scheduled-run pipeline (SPEC §3): extract → validate → compare →
//! guard → load → commit, the same for every connector type. A source turns
//! a connector into an output file of records; a [`LoadTarget`] takes the
//! changes. Neither knows about the other.
//!
//! Memory stays bounded whatever the record count: the output is streamed
//! element by element; pass one keeps only object id → hash ([`cache::Slots`])
//! and spills the new or changed card values to a file in the run directory;
//! pass two reads that spill into the target inside one transaction that
//! also carries the task's cache and the run's final state. A run without
//! limits has no guard to wait for, so its changes go into that transaction
//! while pass one is still reading (`stream_load`); the commit is the same.

pub mod cache;
pub mod json_array;
pub mod records;

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::clock::now;
use crate::error::EngineError;
use crate::model::{
    Run, RunCounts, RunFile, RunFileKind, RunMode, RunStage, RunStatus, RunType, StageReport, StageStatus,
    Task, Template,
};
use crate::script_host::files;
use crate::source::{Extract, ExtractError, Source};
use crate::targets::{CardWrite, LoadTarget, OpenTarget, RemovalQuery, Upsert};
use cache::{Slot, Slots};
use records::RecordShape;

pub const SPILL: &str = "changes.spill";
pub const BLOCKED: &str = "blocked.txt";
pub const PLAN: &str = "plan.json";

/// How a run ended early: which status, and the words for the stage that stopped it.
#[derive(Debug)]
pub struct Halt {
    pub status: RunStatus,
    pub in_load: bool,
    pub info: String,
}

impl Halt {
    fn extract(status: RunStatus, info: impl Into<String>) -> Self {
        Halt {
            status,
            in_load: false,
            info: info.into(),
        }
    }
    fn load(status: RunStatus, info: impl Into<String>) -> Self {
        Halt {
            status,
            in_load: true,
            info: info.into(),
        }
    }
}

impl From<EngineError> for Halt {
    fn from(e: EngineError) -> Self {
        Halt::load(RunStatus::Failed, e.to_string())
    }
}

/// How a load meets the pass that validates and compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadStrategy {
    /// A task without limits loads while pass one reads (`stream_load`);
    /// one with limits has a guard to wait for and loads in a second pass.
    #[default]
    Streamed,
    /// Always the second pass, as a task with limits does. For tests and
    /// diagnosis: both drivers must give the same result.
    TwoPass,
}

/// Everything a run needs, gathered by the engine before it starts.
#[derive(Debug)]
pub struct RunInputs {
    pub task: Task,
    pub template: Template,
    /// Where the records come from.
    pub source: Source,
    /// Opens the task's target for the load (on the load's own thread).
    pub target: OpenTarget,
    pub dir: PathBuf,
    pub cache: Option<crate::store::CacheRow>,
    pub data_source_type: String,
    /// Bypass the update-limit guard once (a user approved the plan).
    pub approved: bool,
    pub strategy: LoadStrategy,
}

/// Result of pass one.
#[derive(Debug)]
struct Plan {
    slots: Slots,
    counts: RunCounts,
    creates: u64,
    updates: u64,
}

/// Runs the pipeline for a run already recorded as running. Each stage is
/// persisted as it starts so `run show` can follow it; the final state of a
/// run that loads is committed inside the load transaction.
pub async fn execute(
    store: &crate::store::Store,
    run: &mut Run,
    inputs: RunInputs,
    stop: tokio::sync::watch::Receiver<bool>,
    stopped: Arc<AtomicBool>,
) -> std::result::Result<(), Halt> {
    let mut inputs = inputs;
    // The cache row can be tens of MB: decoded once below, then dropped.
    let cache_row = inputs.cache.take();
    let inputs = Arc::new(inputs);
    let task = &inputs.task;
    let shape = Arc::new(RecordShape::new(task, &inputs.template, &inputs.data_source_type));

    // ---- extract ----
    run.stage = Some(RunStage::Extract);
    run.extract = StageReport {
        status: Some(StageStatus::Running),
        started: Some(now()),
        ..Default::default()
    };
    store.save_run(run).await?;
    let last_successful_extract = cache_row.as_ref().and_then(|c| c.last_successful_extract.clone());
    // The cache (a million entries is 24 MB) is decoded while the source runs.
    let decoding = tokio::task::spawn_blocking(move || cache::slots_of(cache_row.as_ref()));
    let script_started = std::time::Instant::now();
    let outcome = inputs
        .source
        .extract(Extract {
            task,
            run_id: &run.id,
            run_type: run.run_type,
            last_successful_extract,
            attributes: shape.extraction_attributes(),
            dir: &inputs.dir,
            stop,
        })
        .await;
    let script_time = script_started.elapsed();
    let output = match outcome {
        Ok(output) => output,
        Err(ExtractError::Stopped) => {
            return Err(Halt::extract(
                RunStatus::Stopped,
                "stopped by a user during the extract; nothing was loaded",
            ))
        }
        Err(ExtractError::Failed(why)) => return Err(Halt::extract(RunStatus::Failed, why)),
    };

    let mut slots = decoding
        .await
        .map_err(|e| Halt::extract(RunStatus::Failed, format!("reading the data cache failed: {e}")))?;

    // ---- without limits: validate, compare and load in one pass ----
    let limits = &task.limits;
    if limits.minimum_row_count.is_none()
        && limits.update_limit.is_none()
        && inputs.strategy == LoadStrategy::Streamed
    {
        // The load transaction is open from the first record on, so the stage
        // is recorded now: no other write can get in until it commits.
        let removal = enter_load(store, run, task).await?;
        let snapshot = run.clone();
        let (blocking_inputs, shape, output, stopped) =
            (inputs.clone(), shape.clone(), output.clone(), stopped.clone());
        let streamed = tokio::task::spawn_blocking(move || {
            stream_load(
                &blocking_inputs,
                &shape,
                &output,
                slots,
                removal.as_ref(),
                snapshot,
                &stopped,
                (script_time, script_started),
            )
        })
        .await
        .map_err(|e| Halt::load(RunStatus::Failed, format!("the load stopped unexpectedly: {e}")))??;
        if let Some(done) = streamed {
            *run = done;
            save_committed(store, run).await;
            return Ok(());
        }
        // Rolled back (see `stream_load`): the two-pass way, from the cache as committed.
        slots = cache::slots_of(cache::current(store, task).await?.as_ref());
    }

    // ---- validate + compare (pass one) ----
    run.stage = Some(RunStage::Validate);
    store.save_run(run).await?;
    let plan = {
        let shape = shape.clone();
        let dir = inputs.dir.clone();
        tokio::task::spawn_blocking(move || {
            let spill_path = dir.join(SPILL);
            let spill =
                std::fs::File::create(&spill_path).map_err(|e| io_halt("cannot create", &spill_path, e))?;
            let sink = Sink::Spill {
                writer: BufWriter::with_capacity(1 << 20, spill),
                path: spill_path,
            };
            plan_changes(open_output(&output)?, &dir, &shape, slots, sink)
        })
        .await
        .map_err(|e| Halt::extract(RunStatus::Failed, format!("validation stopped unexpectedly: {e}")))??
    };
    record_extract(
        run,
        &plan.counts,
        script_time,
        script_started.elapsed() - script_time,
    );

    // ---- guard, load, commit ----
    // The stage is recorded before the transaction starts, so after a crash
    // the run shows where it was.
    let removal = enter_load(store, run, task).await?;
    let snapshot = run.clone();
    let blocking_inputs = inputs.clone();
    let done = tokio::task::spawn_blocking(move || {
        load(
            &blocking_inputs,
            &shape,
            plan,
            removal.as_ref(),
            snapshot,
            &stopped,
        )
    })
    .await
    .map_err(|e| Halt::load(RunStatus::Failed, format!("the load stopped unexpectedly: {e}")))??;
    *run = done;
    save_committed(store, run).await;
    Ok(())
}

/// Records that the load stage has begun; returns the task's removal
/// settings when this run may mark cards removed (full runs only).
async fn enter_load(
    store: &crate::store::Store,
    run: &mut Run,
    task: &Task,
) -> std::result::Result<Option<crate::model::RemovalSettings>, Halt> {
    run.stage = Some(RunStage::Load);
    run.load = StageReport {
        status: Some(StageStatus::Running),
        started: Some(now()),
        ..Default::default()
    };
    store.save_run(run).await?;
    Ok(task.removal.clone().filter(|_| run.run_type == RunMode::Full))
}

/// The extract stage's report once pass one has seen every record.
fn record_extract(run: &mut Run, counts: &RunCounts, script: Duration, validation: Duration) {
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

fn io_halt(what: &str, path: &Path, e: std::io::Error) -> Halt {
    Halt::extract(RunStatus::Failed, format!("{what} {}: {e}", path.display()))
}

/// Opens the script's output for pass one; never waits (see [`crate::platform::open_regular`]).
fn open_output(output: &Path) -> std::result::Result<std::fs::File, Halt> {
    crate::platform::open_regular(output).map_err(|e| io_halt("cannot open the output file", output, e))
}

/// Pass one: stream the output, validate each record, compare it with the
/// cache, and spill the new or changed card values. Returns the plan.
///
/// Parsing is most of the work, so it runs on every core: one thread splits
/// the array into batches of elements, workers turn them into spill lines
/// (validated, hashed), and this thread applies the results in file order,
/// so record numbers, card order and the first-seen rules stay as if it were
/// one loop. Memory stays bounded by the few batches in flight.
fn plan_changes(
    file: std::fs::File,
    dir: &Path,
    shape: &RecordShape,
    mut slots: Slots,
    sink: Sink,
) -> std::result::Result<Plan, Halt> {
    // Sized for the records the file can hold (~300 bytes or more each), so the
    // table is not regrown (and briefly held twice) while streaming.
    let estimate = file
        .metadata()
        .map(|m| m.len() / 300)
        .unwrap_or(0)
        .min(50_000_000) as usize;
    slots.reserve(estimate.saturating_sub(slots.len()));
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
                        .send((seq, parse_batch(shape, batch, &mut scratch)))
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
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// The file is not a valid array from here on.
    error: Option<json_array::ArrayError>,
}

/// A batch after validation: spill lines and what each element turned out to be.
#[derive(Debug, Default)]
struct Parsed {
    lines: Vec<u8>,
    items: Vec<Item>,
    error: Option<json_array::ArrayError>,
}

#[derive(Debug)]
enum Item {
    /// `lines[start..end]` is the element's spill line; the key is its first field.
    Valid {
        id: u64,
        hash: u64,
        start: usize,
        end: usize,
    },
    Blocked(records::Blocked),
}

const BATCH_BYTES: usize = 1 << 20;

fn split_batches(file: std::fs::File, tx: &std::sync::mpsc::SyncSender<(u64, Batch)>) {
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

fn parse_batch(shape: &RecordShape, batch: Batch, scratch: &mut records::CardScratch) -> Parsed {
    let mut parsed = Parsed {
        lines: Vec::with_capacity(batch.bytes.len() + batch.bytes.len() / 4),
        items: Vec::with_capacity(batch.ends.len()),
        error: batch.error,
    };
    let mut card = Vec::with_capacity(1024);
    let mut key = String::with_capacity(64);
    let mut begin = 0;
    for &end in &batch.ends {
        let element = &batch.bytes[begin..end];
        begin = end;
        match shape.card(element, &mut card, &mut key, scratch) {
            Ok(()) => {
                let start = parsed.lines.len();
                let _ = serde_json::to_writer(&mut parsed.lines, &key);
                parsed.lines.push(b'\t');
                parsed.lines.extend_from_slice(&card);
                parsed.lines.push(b'\n');
                parsed.items.push(Item::Valid {
                    id: cache::key_hash(&key),
                    hash: cache::hash(&card),
                    start,
                    end: parsed.lines.len(),
                });
            }
            Err(b) => parsed.items.push(Item::Blocked(b)),
        }
    }
    parsed
}

/// Where pass one puts the new and changed cards (one line each: key JSON, tab, card JSON).
enum Sink {
    /// A file in the run directory, loaded once the plan has passed the guard.
    Spill {
        writer: BufWriter<std::fs::File>,
        path: PathBuf,
    },
    /// Straight into an open load transaction, a batch at a time (runs without limits).
    Stream {
        to_loader: std::sync::mpsc::SyncSender<Vec<u8>>,
        pending: Vec<u8>,
    },
}

impl Sink {
    /// One new or changed card; `known_card` is the card the cache remembers.
    fn write(&mut self, line: &[u8], known_card: Option<i64>) -> std::result::Result<(), Halt> {
        match self {
            // Pass two finds the known card in the plan.
            Sink::Spill { writer, path } => writer
                .write_all(line)
                .map_err(|e| io_halt("cannot write", path, e)),
            Sink::Stream { pending, .. } => {
                if let Some(card) = known_card {
                    let _ = write!(pending, "{card}");
                }
                pending.push(b'\t');
                pending.extend_from_slice(line);
                Ok(())
            }
        }
    }

    /// End of a batch: hand what was collected to the loader.
    fn batch_done(&mut self) -> std::result::Result<(), Halt> {
        if let Sink::Stream { to_loader, pending } = self {
            if !pending.is_empty() && to_loader.send(std::mem::take(pending)).is_err() {
                // The loader has stopped; its own result says why.
                return Err(Halt::load(RunStatus::Failed, "the load ended early"));
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> std::result::Result<(), Halt> {
        match self {
            Sink::Spill { writer, path } => writer.flush().map_err(|e| io_halt("cannot write", path, e)),
            // Dropping the sender (with the sink) tells the loader there is no more.
            Sink::Stream { .. } => Ok(()),
        }
    }
}

/// Pass one's state, applied batch by batch in file order.
struct Apply {
    slots: Slots,
    counts: RunCounts,
    /// Ids seen more than once, by hash, with their text for the blocked list.
    duplicate_names: std::collections::HashMap<u64, String>,
    sink: Sink,
    blocked_path: PathBuf,
    blocked: Option<BufWriter<std::fs::File>>,
}

impl Apply {
    fn write_blocked(&mut self, line: String) {
        if self.blocked.is_none() {
            self.blocked = std::fs::File::create(&self.blocked_path).ok().map(BufWriter::new);
        }
        if let Some(w) = self.blocked.as_mut() {
            let _ = writeln!(w, "{line}");
        }
    }

    fn batch(&mut self, parsed: Parsed) -> std::result::Result<(), Halt> {
        for item in parsed.items {
            self.counts.fetched += 1;
            match item {
                Item::Valid { id, hash, start, end } => {
                    let slot = self.slots.entry(id).or_default();
                    slot.occurrences += 1;
                    if slot.occurrences > 1 || slot.blocked {
                        let line = &parsed.lines[start..end];
                        let key_json = line.split(|b| *b == b'\t').next().unwrap_or_default();
                        let key = serde_json::from_slice::<String>(key_json).unwrap_or_default();
                        self.duplicate_names.entry(id).or_insert(key);
                    }
                    if slot.occurrences > 1 {
                        continue;
                    }
                    slot.new_hash = hash;
                    // An id already seen in a blocked record is blocked too: nothing to write.
                    if !slot.blocked && (!slot.cached || slot.cached_hash != hash) {
                        let known = slot.cached.then_some(slot.card);
                        self.sink.write(&parsed.lines[start..end], known)?;
                    }
                }
                Item::Blocked(b) => {
                    self.counts.blocked += 1;
                    let line = format!("record {}: {b}", self.counts.fetched);
                    self.write_blocked(line);
                    if let Some(key) = b.key {
                        let id = cache::key_hash(&key);
                        let slot = self.slots.entry(id).or_default();
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
        for (id, slot) in &self.slots {
            let duplicated = slot.occurrences > 1 || (slot.occurrences == 1 && slot.blocked);
            if duplicated {
                self.counts.blocked += slot.occurrences as u64;
                duplicated_lines.push(format!(
                    "{}: the object id occurs in {} records; all of them are blocked",
                    self.duplicate_names.get(id).map(String::as_str).unwrap_or("?"),
                    slot.occurrences + u32::from(slot.blocked)
                ));
            } else if slot.occurrences == 1 {
                if !slot.cached {
                    creates += 1;
                } else if slot.cached_hash != slot.new_hash {
                    updates += 1;
                } else {
                    self.counts.unchanged += 1;
                }
            }
        }
        for line in duplicated_lines {
            self.write_blocked(line);
        }
        if let Some(w) = self.blocked.as_mut() {
            let _ = w.flush();
        }
        self.counts.valid = self.counts.fetched - self.counts.blocked;
        Ok(Plan {
            slots: self.slots,
            counts: self.counts,
            creates,
            updates,
        })
    }
}

fn loadable(slot: &Slot) -> bool {
    slot.occurrences == 1 && !slot.blocked
}

/// A run without limits has no guard to wait for, so its changes go into
/// the load transaction while pass one is still reading, and the two use
/// both cores. An id found repeated later takes back the card its first
/// record created, before the commit. A card its first record *updated*
/// cannot be taken back that way: then everything is rolled back and `None`
/// returned, and the caller runs the two-pass way (rare: repeated ids whose
/// first record changed a card).
#[allow(clippy::too_many_arguments)]
fn stream_load(
    inputs: &RunInputs,
    shape: &RecordShape,
    output: &Path,
    slots: Slots,
    removal: Option<&crate::model::RemovalSettings>,
    mut run: Run,
    stopped: &AtomicBool,
    (script_time, script_started): (Duration, std::time::Instant),
) -> std::result::Result<Option<Run>, Halt> {
    let task = &inputs.task;
    // Opened before the transaction: nothing that could wait on a script happens inside it.
    let output = open_output(output)?;
    let mut opened = inputs.target.open()?;
    let target: &mut (dyn LoadTarget + Send) = &mut *opened;
    begin_load(target, task, stopped)?;
    let key_attribute = shape.key_attribute().to_string();
    let (to_loader, from_pass_one) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let (plan, loaded) = std::thread::scope(|scope| {
        let target = &mut *target;
        let loader = scope.spawn(move || -> std::result::Result<Vec<(u64, Upsert)>, Halt> {
            let damaged = || Halt::load(RunStatus::Failed, "a change line is damaged");
            let mut made = Vec::new();
            let mut outcomes = Vec::new();
            for lines in from_pass_one {
                // Whole batches are checked at once (SIMD): pass one wrote them from valid text.
                let lines = simdutf8::basic::from_utf8(&lines).map_err(|_| damaged())?;
                let mut changes = Vec::new();
                for line in lines.split('\n').filter(|l| !l.is_empty()) {
                    let (known, change) = line.split_once('\t').ok_or_else(damaged)?;
                    let (key, data) = parse_change(change).ok_or_else(damaged)?;
                    changes.push(Change {
                        id: cache::key_hash(&key),
                        known: known.parse().ok(),
                        key,
                        data,
                    });
                }
                write_changes(target, task, &key_attribute, &changes, &mut outcomes)?;
                made.extend(changes.iter().map(|c| c.id).zip(outcomes.iter().copied()));
                if stopped.load(Ordering::Relaxed) {
                    return Err(stopped_in_load());
                }
            }
            Ok(made)
        });
        let sink = Sink::Stream {
            to_loader,
            pending: Vec::new(),
        };
        let plan = plan_changes(output, &inputs.dir, shape, slots, sink);
        let loaded = loader
            .join()
            .unwrap_or_else(|_| Err(Halt::load(RunStatus::Failed, "the load stopped unexpectedly")));
        (plan, loaded)
    });
    // A stopped or failed loader explains a pass one that ended early; an
    // invalid output explains a loader that was cut off.
    let (mut plan, loaded) = match (plan, loaded) {
        (Ok(plan), Ok(loaded)) => (plan, loaded),
        (Err(halt), Ok(_)) | (_, Err(halt)) => {
            target.rollback();
            return Err(halt);
        }
    };
    let mut counts = plan.counts.clone();
    for (id, outcome) in loaded {
        let slot = plan.slots.get_mut(&id).filter(|s| loadable(s));
        match (slot, outcome) {
            (Some(slot), outcome) => written(&mut counts, slot, outcome),
            // Its id turned up again later: all its records are blocked.
            (None, Upsert::Created(c)) => target.take_back(c)?,
            (None, Upsert::Updated(_) | Upsert::TakenOver(_)) => {
                target.rollback();
                return Ok(None);
            }
        }
    }
    // Which of the task's cards were not fetched is known only now.
    let query = removal_query(task, removal);
    let candidates = removal_candidates(target, query.as_ref(), &plan.slots)?;
    record_extract(
        &mut run,
        &plan.counts,
        script_time,
        script_started.elapsed() - script_time,
    );
    let done = finish_load(
        target,
        inputs,
        &mut plan,
        counts,
        query.as_ref(),
        &candidates,
        run,
        stopped,
    )?;
    Ok(Some(done))
}

fn stopped_in_load() -> Halt {
    Halt::load(
        RunStatus::Stopped,
        "stopped by a user during the load; nothing was committed",
    )
}

/// A change line as pass one writes it: the object key as JSON, a tab, the card JSON.
fn parse_change(line: &str) -> Option<(std::borrow::Cow<'_, str>, &str)> {
    let (key_json, data) = line.split_once('\t')?;
    let key: records::JsonStr = serde_json::from_str(key_json).ok()?;
    Some((key.0, data))
}

/// One new or changed card of a load batch.
struct Change<'a> {
    /// Hash of the object key (the cache's and the plan's key).
    id: u64,
    /// The card the task's cache remembers for it.
    known: Option<i64>,
    key: std::borrow::Cow<'a, str>,
    /// The card values as JSON.
    data: &'a str,
}

/// Writes a batch of changes in order; `outcomes` then says what happened to each.
fn write_changes(
    target: &mut dyn LoadTarget,
    task: &Task,
    key_attribute: &str,
    changes: &[Change],
    outcomes: &mut Vec<Upsert>,
) -> std::result::Result<(), Halt> {
    let writes: Vec<CardWrite> = changes
        .iter()
        .map(|c| card_write(task, key_attribute, &c.key, c.known, c.data))
        .collect();
    outcomes.clear();
    target.upsert_all(&writes, outcomes)?;
    Ok(())
}

fn card_write<'a>(
    task: &'a Task,
    key_attribute: &'a str,
    key: &'a str,
    known_card: Option<i64>,
    data: &'a str,
) -> CardWrite<'a> {
    CardWrite {
        template: &task.target_template,
        folder: &task.target_folder,
        key_attribute,
        key,
        known_card,
        task_id: &task.id,
        data,
    }
}

/// Counts what the target did with one record and remembers its card.
fn written(counts: &mut RunCounts, slot: &mut Slot, outcome: Upsert) {
    let card = match outcome {
        Upsert::Created(c) => {
            counts.created += 1;
            c
        }
        Upsert::Updated(c) => {
            counts.updated += 1;
            c
        }
        Upsert::TakenOver(c) => {
            counts.updated += 1;
            counts.takeovers += 1;
            c
        }
    };
    slot.card = card.id;
}

fn removal_query<'a>(
    task: &'a Task,
    removal: Option<&'a crate::model::RemovalSettings>,
) -> Option<RemovalQuery<'a>> {
    removal.map(|r| RemovalQuery {
        template: &task.target_template,
        task_id: &task.id,
        status_attribute: &r.status_attribute,
        removed_value: &r.removed_value,
    })
}

/// The task's cards that this run did not fetch (nor block) and that are not removed yet.
fn removal_candidates(
    target: &mut dyn LoadTarget,
    query: Option<&RemovalQuery>,
    slots: &Slots,
) -> std::result::Result<Vec<(crate::targets::CardRef, String)>, Halt> {
    let Some(q) = query else {
        return Ok(Vec::new());
    };
    Ok(target.removal_candidates(q, &|k: &str| {
        slots
            .get(&cache::key_hash(k))
            .is_some_and(|s| s.occurrences > 0 || s.blocked)
    })?)
}

/// Guard, load and commit, on the target's own connection (blocking).
fn load(
    inputs: &RunInputs,
    shape: &RecordShape,
    mut plan: Plan,
    removal: Option<&crate::model::RemovalSettings>,
    run: Run,
    stopped: &AtomicBool,
) -> std::result::Result<Run, Halt> {
    let task = &inputs.task;
    let mut opened = inputs.target.open()?;
    let target: &mut (dyn LoadTarget + Send) = &mut *opened;
    let query = removal_query(task, removal);
    let candidates = removal_candidates(target, query.as_ref(), &plan.slots)?;

    // ---- guard ----
    let planned = plan.creates + plan.updates + candidates.len() as u64;
    let limits = &task.limits;
    let mut refusal = None;
    if let Some(min) = limits.minimum_row_count {
        if plan.counts.valid < min {
            refusal = Some(format!(
                "only {} valid records, fewer than the minimum row count of {min}; nothing was loaded",
                plan.counts.valid
            ));
        }
    }
    if refusal.is_none() {
        if let Some(limit) = limits.update_limit {
            if planned > limit && !limits.override_update_limit && !inputs.approved {
                refusal = Some(format!(
                    "{planned} planned changes ({} new, {} changed, {} removals) exceed the update limit of {limit}; \
                     nothing was loaded. Inspect {PLAN} in the run's files; approving the plan applies it once",
                    plan.creates,
                    plan.updates,
                    candidates.len(),
                ));
            }
        }
    }
    if let Some(reason) = refusal {
        let removals: Vec<&str> = candidates.iter().take(10_000).map(|(_, k)| k.as_str()).collect();
        let plan_doc = json!({
            "reason": reason,
            "new": plan.creates, "changed": plan.updates, "removals": candidates.len(),
            "removed_object_ids": removals,
            "changes_file": SPILL,
        });
        let _ = std::fs::write(
            inputs.dir.join(PLAN),
            serde_json::to_vec_pretty(&plan_doc).unwrap_or_default(),
        );
        return Err(Halt::load(RunStatus::Interrupted, reason));
    }

    // ---- load ----
    begin_load(target, task, stopped)?;
    let spill_path = inputs.dir.join(SPILL);
    let spill = std::fs::File::open(&spill_path).map_err(|e| io_halt("cannot read", &spill_path, e))?;
    let mut spill = std::io::BufReader::with_capacity(1 << 20, spill);
    let key_attribute = shape.key_attribute().to_string();
    let mut counts = plan.counts.clone();
    let damaged = || Halt::load(RunStatus::Failed, "the change file is damaged");
    // Whole lines, about 1 MB at a time, so the target can write many cards per statement.
    let mut batch = Vec::with_capacity(1 << 20);
    let mut outcomes = Vec::new();
    loop {
        batch.clear();
        while batch.len() < 1 << 20 {
            let n = spill
                .read_until(b'\n', &mut batch)
                .map_err(|e| io_halt("cannot read", &spill_path, e))?;
            if n == 0 {
                break;
            }
        }
        if batch.is_empty() {
            break;
        }
        let lines = simdutf8::basic::from_utf8(&batch).map_err(|_| damaged())?;
        let mut changes = Vec::new();
        for line in lines.split('\n').filter(|l| !l.is_empty()) {
            let (key, data) = parse_change(line).ok_or_else(damaged)?;
            let id = cache::key_hash(&key);
            let Some(slot) = plan.slots.get(&id).filter(|s| loadable(s)) else {
                continue;
            };
            changes.push(Change {
                id,
                known: slot.cached.then_some(slot.card),
                key,
                data,
            });
        }
        write_changes(target, task, &key_attribute, &changes, &mut outcomes)?;
        for (change, outcome) in changes.iter().zip(&outcomes) {
            if let Some(slot) = plan.slots.get_mut(&change.id) {
                written(&mut counts, slot, *outcome);
            }
        }
        if stopped.load(Ordering::Relaxed) {
            target.rollback();
            return Err(stopped_in_load());
        }
    }
    finish_load(
        target,
        inputs,
        &mut plan,
        counts,
        query.as_ref(),
        &candidates,
        run,
        stopped,
    )
}

/// Removal marking and the commit: the cache, the run's final state and the
/// cards go in together.
#[allow(clippy::too_many_arguments)]
fn finish_load(
    target: &mut dyn LoadTarget,
    inputs: &RunInputs,
    plan: &mut Plan,
    mut counts: RunCounts,
    query: Option<&RemovalQuery>,
    candidates: &[(crate::targets::CardRef, String)],
    mut run: Run,
    stopped: &AtomicBool,
) -> std::result::Result<Run, Halt> {
    let task = &inputs.task;
    if let Some(q) = query {
        for (card, _) in candidates {
            if target.mark_removed(*card, q)? {
                counts.removed += 1;
            }
        }
    }
    if stopped.load(Ordering::Relaxed) {
        target.rollback();
        return Err(stopped_in_load());
    }

    // ---- commit ----
    let incremental = run.run_type == RunMode::Incremental;
    let entry = |slot: &Slot| -> Option<(u64, i64)> {
        if loadable(slot) {
            Some((slot.new_hash, slot.card))
        } else if slot.cached && (incremental || slot.occurrences > 0 || slot.blocked) {
            // Not loaded this time but still known: keep what was written before.
            Some((slot.cached_hash, slot.card))
        } else {
            None
        }
    };
    let size: usize = plan.slots.iter().filter(|(_, s)| entry(s).is_some()).count() * cache::ENTRY_SIZE;
    let mut chunk = Vec::with_capacity(1 << 16);
    target.save_cache(
        &task.id,
        &cache::mappings_hash(task),
        size,
        run.extract.started.as_deref(),
        // Clearing the cache after this run started voids what it writes (see store::cards).
        ms_of(&run.started_at),
        &mut |w| {
            for (key, slot) in &plan.slots {
                if let Some((hash, card)) = entry(slot) {
                    cache::encode_entry(&mut chunk, *key, hash, card);
                    if chunk.len() >= 1 << 16 {
                        w.write_all(&chunk)?;
                        chunk.clear();
                    }
                }
            }
            w.write_all(&chunk)
        },
    )?;
    let finished = now();
    run.counts = counts;
    run.status = RunStatus::Succeeded;
    run.stage = None;
    run.finished_at = Some(finished.clone());
    run.load.status = Some(StageStatus::Succeeded);
    run.load.completed = Some(finished);
    run.load.info = Some(format!(
        "{} created, {} updated, {} unchanged, {} removed, {} failed{}",
        run.counts.created,
        run.counts.updated,
        run.counts.unchanged,
        run.counts.removed,
        run.counts.failed,
        if run.counts.takeovers > 0 {
            format!(
                "; {} cards taken over from other tasks (the last writer's task id stands)",
                run.counts.takeovers
            )
        } else {
            String::new()
        }
    ));
    let _ = std::fs::remove_file(inputs.dir.join(SPILL));
    run.files = run_files(&inputs.dir);
    target.record_commit(&run)?;
    target.commit()?;
    Ok(run)
}

/// Opens the load's transaction once the card store is free (loads take turns).
fn begin_load(
    target: &mut dyn LoadTarget,
    task: &Task,
    stopped: &AtomicBool,
) -> std::result::Result<(), Halt> {
    target.begin_in_turn(stopped, turn_wait(task)).map_err(|e| {
        if stopped.load(Ordering::Relaxed) {
            stopped_in_load()
        } else {
            e.into()
        }
    })
}

/// How long a load may wait for another task's load: the task's maximum
/// runtime, else [`crate::targets::local::TURN_WAIT`].
fn turn_wait(task: &Task) -> Duration {
    task.max_runtime
        .map(Duration::from_secs)
        .unwrap_or(crate::targets::local::TURN_WAIT)
}

/// Milliseconds since 1970 of a time as `now()` writes it (0 when unreadable).
fn ms_of(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

/// Writes the final state of a run whose load committed into its run row.
/// The load's commit record already holds it: should the process die first,
/// the next engine to open takes it from there. The load is done whatever
/// happens here, so a failure to write the row (tried for some 6 s) is not
/// the run's failure; the row is then settled when this process has ended.
async fn save_committed(store: &crate::store::Store, run: &Run) {
    for attempt in 0..5u32 {
        if store.save_run(run).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
    }
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
