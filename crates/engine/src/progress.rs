//! Live progress of running runs, pushed to whoever listens (the desktop
//! window) instead of being polled from the run rows. The pipeline bumps
//! lock-free counters on its hot paths; a ticker per run turns them into
//! [`RunProgress`] messages a few times a second, and once more at the end.
//!
//! The same ticker keeps the latest message in the run's directory
//! ([`crate::run_folder::PROGRESS`]), so that a window can follow a run that another
//! process (`provisio serve`, another window) executes.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::model::{RunStage, RunStatus};

/// One progress message of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RunProgress {
    pub run_id: String,
    pub task_id: String,
    pub task: String,
    pub status: RunStatus,
    pub stage: Option<RunStage>,
    /// Records read from the source's output so far.
    pub records_read: u64,
    /// Records the target has written so far.
    pub records_loaded: u64,
}

/// The latest progress another process recorded for the run in `run_dir`.
pub fn read_recorded(run_dir: &std::path::Path) -> Option<RunProgress> {
    std::fs::read(run_dir.join(crate::run_folder::PROGRESS))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// Replaces the recorded progress (written aside, then renamed: a reader never sees half).
fn record(run_dir: &std::path::Path, p: &RunProgress) {
    let tmp = run_dir.join("progress.json.tmp");
    if let Ok(bytes) = serde_json::to_vec(p) {
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, run_dir.join(crate::run_folder::PROGRESS));
        }
    }
}

const STAGES: [RunStage; 4] = [
    RunStage::Queued,
    RunStage::Extract,
    RunStage::Validate,
    RunStage::Load,
];

/// What the pipeline updates as it goes.
#[derive(Debug, Default)]
pub struct ProgressCounters {
    read: AtomicU64,
    loaded: AtomicU64,
    /// 0 for none, else 1 + the index in `STAGES`.
    stage: AtomicU8,
    /// Where stage changes are told at once (a stage can be shorter than a tick).
    to: Option<(broadcast::Sender<RunProgress>, RunProgress)>,
}

impl ProgressCounters {
    pub fn set_read(&self, n: u64) {
        self.read.store(n, Ordering::Relaxed);
    }

    pub fn add_loaded(&self, n: u64) {
        self.loaded.fetch_add(n, Ordering::Relaxed);
    }

    pub fn enter(&self, stage: RunStage) {
        let i = STAGES.iter().position(|s| *s == stage).map_or(0, |i| i as u8 + 1);
        self.stage.store(i, Ordering::Relaxed);
        if let Some((tx, base)) = &self.to {
            let _ = tx.send(self.snapshot(base));
        }
    }

    fn snapshot(&self, base: &RunProgress) -> RunProgress {
        RunProgress {
            stage: self.stage(),
            records_read: self.read.load(Ordering::Relaxed),
            records_loaded: self.loaded.load(Ordering::Relaxed),
            ..base.clone()
        }
    }

    fn stage(&self) -> Option<RunStage> {
        let i = self.stage.load(Ordering::Relaxed) as usize;
        i.checked_sub(1).and_then(|i| STAGES.get(i).copied())
    }
}

/// The engine's progress channel; every clone of the engine shares it.
#[derive(Debug, Clone)]
pub struct ProgressHub {
    tx: broadcast::Sender<RunProgress>,
}

impl Default for ProgressHub {
    fn default() -> Self {
        // A slow listener loses old messages, never blocks a run.
        ProgressHub {
            tx: broadcast::channel(256).0,
        }
    }
}

impl ProgressHub {
    pub fn subscribe(&self) -> broadcast::Receiver<RunProgress> {
        self.tx.subscribe()
    }

    /// Starts reporting one run: a message now, then whenever the counters
    /// moved (at most every 200 ms), until the returned guard ends it. With
    /// `run_dir`, each message is also recorded there for other processes.
    pub fn track(
        &self,
        run_id: &str,
        task_id: &str,
        task: &str,
        run_dir: Option<std::path::PathBuf>,
    ) -> (Arc<ProgressCounters>, Tracking) {
        let base = RunProgress {
            run_id: run_id.to_string(),
            task_id: task_id.to_string(),
            task: task.to_string(),
            status: RunStatus::Running,
            stage: None,
            records_read: 0,
            records_loaded: 0,
        };
        let listened = self.tx.receiver_count() > 0;
        let counters = Arc::new(ProgressCounters {
            to: listened.then(|| (self.tx.clone(), base.clone())),
            ..Default::default()
        });
        let ticker = (listened || run_dir.is_some()).then(|| {
            let (tx, counters, base, dir) =
                (self.tx.clone(), counters.clone(), base.clone(), run_dir.clone());
            tokio::spawn(async move {
                let mut last = None;
                loop {
                    let now = counters.snapshot(&base);
                    if last.as_ref() != Some(&now) {
                        if let Some(dir) = &dir {
                            record(dir, &now);
                        }
                        if listened {
                            let _ = tx.send(now.clone());
                        }
                        last = Some(now);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            })
        });
        let tracking = Tracking {
            tx: self.tx.clone(),
            counters: counters.clone(),
            base,
            ticker,
            run_dir,
        };
        (counters, tracking)
    }
}

/// Ends a run's reporting with its final state.
#[derive(Debug)]
pub struct Tracking {
    tx: broadcast::Sender<RunProgress>,
    counters: Arc<ProgressCounters>,
    base: RunProgress,
    ticker: Option<tokio::task::JoinHandle<()>>,
    run_dir: Option<std::path::PathBuf>,
}

impl Tracking {
    pub fn finish(mut self, status: RunStatus, read: u64, loaded: u64) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        let last = RunProgress {
            status,
            stage: None,
            records_read: read.max(self.counters.read.load(Ordering::Relaxed)),
            records_loaded: loaded,
            ..self.base.clone()
        };
        if let Some(dir) = &self.run_dir {
            record(dir, &last);
        }
        let _ = self.tx.send(last);
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next message that `ok` accepts (a tick may repeat the one before).
    async fn next_where(
        rx: &mut broadcast::Receiver<RunProgress>,
        ok: impl Fn(&RunProgress) -> bool,
    ) -> RunProgress {
        loop {
            let p = rx.recv().await.unwrap();
            if ok(&p) {
                return p;
            }
        }
    }

    #[tokio::test]
    async fn a_listener_sees_the_stages_and_counts_then_the_end() {
        let hub = ProgressHub::default();
        let mut rx = hub.subscribe();
        let (counters, tracking) = hub.track("r1", "t1", "C/T", None);
        let first = rx.recv().await.unwrap();
        assert_eq!((first.stage, first.records_read), (None, 0));
        // A stage change is told at once; counts follow with the next tick.
        counters.enter(RunStage::Validate);
        let next = rx.recv().await.unwrap();
        assert_eq!((next.stage, next.records_read), (Some(RunStage::Validate), 0));
        counters.set_read(1_000);
        let next = next_where(&mut rx, |p| p.records_read > 0).await;
        assert_eq!((next.stage, next.records_read), (Some(RunStage::Validate), 1_000));
        counters.enter(RunStage::Load);
        assert_eq!(
            next_where(&mut rx, |p| p.stage == Some(RunStage::Load))
                .await
                .records_loaded,
            0
        );
        counters.add_loaded(600);
        let next = next_where(&mut rx, |p| p.records_loaded > 0).await;
        assert_eq!((next.stage, next.records_loaded), (Some(RunStage::Load), 600));
        tracking.finish(RunStatus::Succeeded, 1_000, 1_000);
        let last = next_where(&mut rx, |p| p.status != RunStatus::Running).await;
        assert_eq!(
            (last.status, last.stage, last.records_loaded),
            (RunStatus::Succeeded, None, 1_000)
        );
    }
}
