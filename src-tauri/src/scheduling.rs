//! Who schedules the data directory, kept current for the top bar.
//!
//! One process schedules a data directory at a time (the scheduler lock).
//! When the window opens while `provisio serve` (or another window) holds
//! it, the window watches: as soon as that process ends, the window takes
//! the lock and starts the scheduler and the workflow API itself. Every
//! change of the status is pushed to the window as a typed event, so the
//! light changes at once instead of at the next refresh.

use std::sync::Arc;
use std::time::Duration;

use provisio_engine::scheduler::lock::{SchedulerLock, SchedulerStatus};
use provisio_engine::scheduler::{Scheduler, SystemClock};
use provisio_engine::Engine;
use tokio::sync::watch;

/// How often a window that does not schedule looks whether it may.
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// Starts watching; the receiver always holds the current status.
pub fn watch_scheduling(
    runtime: &tokio::runtime::Runtime,
    engine: &Engine,
    workflow_api: Option<String>,
) -> watch::Receiver<SchedulerStatus> {
    let (first_lock, first) = SchedulerLock::try_acquire(engine.data_dir());
    let (tx, rx) = watch::channel(first);
    let engine = engine.clone();
    runtime.spawn(async move {
        let mut lock = first_lock;
        loop {
            if let Some(held) = lock.take() {
                tx.send_replace(SchedulerStatus::Running);
                let stopped = schedule(&engine, held, workflow_api.as_deref()).await;
                tx.send_replace(SchedulerStatus::NotScheduling { reason: stopped });
                return;
            }
            tokio::time::sleep(LOOK_EVERY).await;
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
    });
    rx
}

/// Runs the workflow API (when the setting turns it on) and the scheduler
/// while holding `lock`; returns why scheduling stopped.
async fn schedule(engine: &Engine, lock: SchedulerLock, workflow_api: Option<&str>) -> String {
    let listen = workflow_api.and_then(|a| provisio_engine::rules::settings::listen_address(a).ok());
    if let Some(addr) = listen {
        let api_engine = engine.clone();
        tokio::spawn(async move {
            let stopped = std::future::pending::<()>();
            if let Err(e) =
                provisio_workflow_api::serve(api_engine, addr, Default::default(), None, stopped).await
            {
                tracing::error!(error = %e, "the workflow API could not start");
                eprintln!("provisio: the workflow API could not start: {e}");
            }
        });
        tracing::info!(%addr, "workflow API serving");
    }
    tracing::info!("this window schedules the data directory");
    let _lock = lock;
    let scheduler = Scheduler::new(engine.clone(), Arc::new(SystemClock));
    match scheduler
        .run_until(std::future::pending(), Duration::from_secs(30))
        .await
    {
        Ok(()) => "the scheduler stopped".to_string(),
        Err(e) => {
            eprintln!("provisio: the scheduler stopped: {e}");
            format!("the scheduler stopped: {e}")
        }
    }
}
