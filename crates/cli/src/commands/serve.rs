//! `provisio serve`: the scheduler without a window, until SIGTERM / SIGINT.

use std::sync::Arc;
use std::time::Duration;

use provisio_engine::scheduler::lock::SchedulerLock;
use provisio_engine::scheduler::{Scheduler, SystemClock};
use provisio_engine::{Engine, EngineError};

pub async fn run(engine: Engine, grace: u64) -> Result<i32, EngineError> {
    let _lock = SchedulerLock::acquire(engine.data_dir())?;
    if engine.settings().await?.environment_type.is_none() {
        eprintln!("warning: environment_type is not set; no task runs until it is (provisio settings set environment_type=test)");
    }
    eprintln!(
        "provisio: scheduling {} (pid {}); stop with Ctrl-C or SIGTERM",
        engine.data_dir().display(),
        std::process::id()
    );
    let scheduler = Scheduler::new(engine, Arc::new(SystemClock));
    scheduler
        .run_until(shutdown_signal(), Duration::from_secs(grace))
        .await?;
    eprintln!("provisio: scheduler stopped");
    Ok(0)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
