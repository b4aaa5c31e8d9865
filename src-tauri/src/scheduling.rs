//! Who schedules the data directory, kept current for the top bar.
//!
//! One process schedules a data directory at a time (the scheduler lock).
//! When the window opens while `provisio serve` (or another window) holds
//! it, the window watches: as soon as that process ends, the window takes
//! the lock and starts the scheduler and the workflow API itself. Every
//! change of the status is pushed to the window as a typed event, so the
//! light changes at once instead of at the next refresh.
//!
//! Scheduling goes through the same host as `provisio serve`
//! ([`provisio_workflow_api::host`]); when the app closes, running runs get
//! the same grace to finish as `serve` gives them on SIGTERM ([`Closing`]).

use std::sync::Arc;
use std::time::Duration;

use provisio_engine::scheduler::lock::{SchedulerLock, SchedulerStatus};
use provisio_engine::Engine;
use provisio_workflow_api::host;
use tokio::sync::{watch, Notify};

/// How often a window that does not schedule looks whether it may.
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// What running runs get to finish when the app closes (`provisio serve`'s default `--grace`).
pub const CLOSE_GRACE: Duration = Duration::from_secs(30);

/// Closing the app: tells the host to stop, and waits until it has.
#[derive(Clone)]
pub struct Closing {
    stop: Arc<Notify>,
    done: watch::Receiver<bool>,
}

impl Closing {
    /// Stops scheduling (running runs get [`CLOSE_GRACE`]) and waits for it, a little past the grace at most.
    pub async fn close(mut self) {
        self.stop.notify_one();
        let _ = tokio::time::timeout(CLOSE_GRACE + Duration::from_secs(5), self.done.wait_for(|d| *d)).await;
    }
}

/// Starts watching; the receiver always holds the current status.
pub fn watch_scheduling(
    runtime: &tokio::runtime::Runtime,
    engine: &Engine,
    workflow_api: Option<String>,
) -> (watch::Receiver<SchedulerStatus>, Closing) {
    let (first_lock, first) = SchedulerLock::try_acquire(engine.data_dir());
    let (tx, rx) = watch::channel(first);
    let stop = Arc::new(Notify::new());
    let (done_tx, done) = watch::channel(false);
    let closing = Closing {
        stop: stop.clone(),
        done,
    };
    let engine = engine.clone();
    runtime.spawn(async move {
        let mut lock = first_lock;
        loop {
            if let Some(held) = lock.take() {
                tx.send_replace(SchedulerStatus::Running);
                let stopped = schedule(&engine, held, workflow_api.as_deref(), stop.notified()).await;
                tx.send_replace(SchedulerStatus::NotScheduling { reason: stopped });
                break;
            }
            tokio::select! {
                _ = stop.notified() => break,
                _ = tokio::time::sleep(LOOK_EVERY) => {}
            }
            let (next, status) = SchedulerLock::try_acquire(engine.data_dir());
            if next.is_none() {
                tx.send_if_modified(|s| {
                    let changed = *s != status;
                    *s = status;
                    changed
                });
            }
            lock = next;
        }
        let _ = done_tx.send(true);
    });
    (rx, closing)
}

/// Runs the host (the scheduler, and the workflow API when the setting turns
/// it on) while holding `lock` until `closing`; returns why scheduling stopped.
async fn schedule(
    engine: &Engine,
    lock: SchedulerLock,
    workflow_api: Option<&str>,
    closing: impl std::future::Future<Output = ()>,
) -> String {
    let listen = workflow_api.and_then(|a| provisio_engine::rules::settings::listen_address(a).ok());
    tracing::info!("this window schedules the data directory");
    let options = host::HostOptions {
        listen,
        tls: None,
        grace: CLOSE_GRACE,
    };
    let served = host::run(engine.clone(), lock, options, closing, |addr| {
        tracing::info!(address = %host::api_address(addr, false), "workflow API serving");
    })
    .await;
    match served {
        Ok(()) => "the scheduler stopped".to_string(),
        Err(e) => {
            eprintln!("provisio: the scheduler stopped: {e}");
            format!("the scheduler stopped: {e}")
        }
    }
}
