//! The scheduled-run pipeline (docs/architecture.md): extract → validate → compare →
//! guard → load → commit, the same for every connector type. One file per
//! stage: [`plan`] (validate and compare, pass one), [`sink`] (where its
//! changes go), [`guard`] (a pure decision), [`load`] (the load core and its
//! two drivers, writing [`changes`]), [`held`] (what a run held over its
//! limit), [`report`] (what the run says); this file runs them in order. A source turns
//! a connector into an output file of records; a [`LoadTarget`] takes the
//! changes. Neither knows about the other.
//!
//! Memory stays bounded whatever the record count: the output is streamed
//! element by element; pass one keeps only object id → hash ([`cache::Slots`])
//! and spills the new or changed card values to a file in the run directory;
//! pass two reads that spill into the target inside one transaction that
//! also carries the task's cache and the run's final state. A run without
//! limits has no guard to wait for, so its changes go into that transaction
//! while pass one is still reading ([`Streamed`]); the commit is the same.

pub mod cache;
mod changes;
pub(crate) use changes::first_changes;
pub mod guard;
pub mod held;
pub use crate::json_array;
mod load;
mod plan;
pub mod records;
mod report;
mod sink;

use load::{Streamed, TwoPass};
use plan::{open_output, plan_changes};
pub use report::effective_run_type;
use report::record_extract;
use sink::Sink;

use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::error::EngineError;
use crate::model::hr::{CaseFacts, ReportCase};
use crate::model::{Run, RunMode, RunStage, RunStatus, Task, Template};
use crate::source::{Extract, ExtractError, Source};
use crate::targets::OpenTarget;
use records::RecordShape;

pub use crate::run_folder::{BLOCKED, FAILED, PLAN, SPILL};

/// How a run ended early: which status, and the words for the stage that stopped it.
#[derive(Debug)]
pub struct Halt {
    pub status: RunStatus,
    /// The documented outcome, when the source or the guard named one (HR reports).
    pub case: Option<ReportCase>,
    /// What the case found, for a report to word in its language.
    pub facts: Option<CaseFacts>,
    /// The stage that stopped: extract (the source, validation) or load.
    pub stage: RunStage,
    pub info: String,
}

impl Halt {
    fn extract(status: RunStatus, info: impl Into<String>) -> Self {
        Halt {
            status,
            case: None,
            facts: None,
            stage: RunStage::Extract,
            info: info.into(),
        }
    }
    fn load(status: RunStatus, info: impl Into<String>) -> Self {
        Halt {
            status,
            case: None,
            facts: None,
            stage: RunStage::Load,
            info: info.into(),
        }
    }
    /// A file of the run (its output, the spill) could not be used.
    fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> Self {
        Halt::extract(RunStatus::Failed, format!("{what} {}: {e}", path.display()))
    }
}

impl Halt {
    /// An engine error (the store, the target, a file) failed the run in `stage`.
    pub(crate) fn failed_in(stage: RunStage) -> impl Fn(EngineError) -> Halt {
        move |e| Halt {
            status: RunStatus::Failed,
            case: None,
            facts: None,
            stage,
            info: e.to_string(),
        }
    }
}

/// How a load meets the pass that validates and compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadStrategy {
    /// A task without limits loads while pass one reads ([`Streamed`]);
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
    /// Target attributes each record must have a value for; each inner list
    /// is satisfied by any one of its attributes (the HR data types' mandatory attributes).
    pub required: Vec<Vec<String>>,
    /// Opens the task's target for the load (on the load's own thread).
    pub target: OpenTarget,
    pub dir: PathBuf,
    pub cache: Option<crate::store::CacheRow>,
    pub data_source_type: String,
    /// Bypass the update-limit guard once (a user approved the plan).
    pub approved: bool,
    pub strategy: LoadStrategy,
    /// Bumped as records are read and loaded (the window's live progress).
    pub progress: Arc<crate::progress::ProgressCounters>,
    /// The connector's secret values, masked in the change journal.
    pub secret_values: Vec<String>,
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
    let shape = Arc::new(
        RecordShape::new(task, &inputs.template, &inputs.data_source_type).requiring(&inputs.required),
    );

    // ---- extract ----
    run.enter(RunStage::Extract);
    inputs.progress.enter(RunStage::Extract);
    store
        .save_run(run)
        .await
        .map_err(Halt::failed_in(RunStage::Extract))?;
    let last_successful_extract = cache_row.as_ref().and_then(|c| c.last_successful_extract.clone());
    // The cache (a million entries is 32 MB) is decoded while a script runs in
    // its own process; after a source that reads in this process, so that the
    // two do not hold their memory at the same time.
    let mut cache_row = Some(cache_row);
    let whole = run.run_type == RunMode::Full;
    let decode = |row: Option<Option<crate::store::CacheRow>>| {
        tokio::task::spawn_blocking(move || cache::slots_of(row.flatten().as_ref(), whole))
    };
    let decoding = inputs.source.runs_apart().then(|| decode(cache_row.take()));
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
            return Err(Halt {
                facts: Some(CaseFacts::new("stopped_in_extract", &[])),
                ..Halt::extract(
                    RunStatus::Stopped,
                    "stopped by a user during the extract; nothing was loaded",
                )
            })
        }
        Err(ExtractError::Failed(why)) => return Err(Halt::extract(RunStatus::Failed, why)),
        Err(ExtractError::Interrupted(why)) => return Err(Halt::extract(RunStatus::Interrupted, why)),
        Err(ExtractError::Case(case, why, facts)) => {
            // The manual's outcomes: several files or no archive interrupt; the rest fail.
            let status = match case {
                ReportCase::MultipleFiles | ReportCase::ArchiveMissing => RunStatus::Interrupted,
                _ => RunStatus::Failed,
            };
            return Err(Halt {
                case: Some(case),
                facts: Some(facts),
                ..Halt::extract(status, why)
            });
        }
    };

    let decoding = match decoding {
        Some(d) => d,
        None => decode(cache_row.take()),
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
        inputs.progress.enter(RunStage::Load);
        enter_load(store, run).await?;
        let snapshot = run.clone();
        let (blocking_inputs, shape, output, stopped) =
            (inputs.clone(), shape.clone(), output.clone(), stopped.clone());
        let streamed = tokio::task::spawn_blocking(move || {
            let driver = Streamed {
                inputs: &blocking_inputs,
                shape: &shape,
                stopped: &stopped,
                script: (script_time, script_started),
            };
            driver.load(&output, slots, snapshot)
        })
        .await
        .map_err(|e| Halt::load(RunStatus::Failed, format!("the load stopped unexpectedly: {e}")))??;
        if let Some(done) = streamed {
            *run = done;
            after_commit(store, run, &inputs).await;
            return Ok(());
        }
        // Rolled back (see [`Streamed::load`]): the two-pass way, from the cache as committed.
        slots = cache::slots_of(
            cache::current(store, task)
                .await
                .map_err(Halt::failed_in(RunStage::Validate))?
                .as_ref(),
            whole,
        );
    }

    // ---- validate + compare (pass one) ----
    run.enter(RunStage::Validate);
    inputs.progress.enter(RunStage::Validate);
    store
        .save_run(run)
        .await
        .map_err(Halt::failed_in(RunStage::Validate))?;
    let plan = {
        let shape = shape.clone();
        let dir = inputs.dir.clone();
        let progress = inputs.progress.clone();
        tokio::task::spawn_blocking(move || {
            let spill_path = dir.join(SPILL);
            let spill =
                std::fs::File::create(&spill_path).map_err(|e| Halt::io("cannot create", &spill_path, e))?;
            let sink = Sink::Spill {
                writer: BufWriter::with_capacity(1 << 20, spill),
                path: spill_path,
            };
            plan_changes(open_output(&output)?, &dir, &shape, slots, sink, &progress)
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
    inputs.progress.enter(RunStage::Load);
    enter_load(store, run).await?;
    let snapshot = run.clone();
    let blocking_inputs = inputs.clone();
    let done = tokio::task::spawn_blocking(move || {
        let driver = TwoPass {
            inputs: &blocking_inputs,
            shape: &shape,
            stopped: &stopped,
        };
        driver.load(plan, snapshot)
    })
    .await
    .map_err(|e| Halt::load(RunStatus::Failed, format!("the load stopped unexpectedly: {e}")))??;
    *run = done;
    after_commit(store, run, &inputs).await;
    Ok(())
}

/// Records that the load stage has begun.
async fn enter_load(store: &crate::store::Store, run: &mut Run) -> std::result::Result<(), Halt> {
    run.enter(RunStage::Load);
    store.save_run(run).await.map_err(Halt::failed_in(RunStage::Load))
}

/// What follows a committed load: the source keeps what the next run needs
/// (the HR archives), then the run row gets its final state. A source that
/// cannot keep it does not undo the load; the run's load report says so.
async fn after_commit(store: &crate::store::Store, run: &mut Run, inputs: &RunInputs) {
    let keeping = std::time::Instant::now();
    let kept = inputs.source.commit(&inputs.dir).await;
    tracing::debug!(ms = keeping.elapsed().as_millis() as u64, "source state kept");
    if let Err(why) = kept {
        tracing::warn!(%why, "the source could not keep its state after the commit");
        run.note_on_load(&why.to_string());
    }
    save_committed(store, run).await;
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
