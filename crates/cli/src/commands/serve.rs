//! `provisio serve`: the scheduler without a window, until SIGTERM / SIGINT.

use std::time::Duration;

use provisio_engine::scheduler::lock::SchedulerLock;
use provisio_engine::{Engine, EngineError};
use provisio_workflow_api::host;

pub async fn run(
    engine: Engine,
    grace: u64,
    listen: Option<&str>,
    tls: Option<provisio_workflow_api::Tls>,
) -> Result<i32, EngineError> {
    let lock = SchedulerLock::acquire(engine.data_dir())?;
    let settings = engine.settings().await?;
    // --listen, else the workflow_api setting.
    let listen = match listen.map(str::to_string).or(settings.workflow_api) {
        Some(text) => Some(provisio_engine::rules::settings::listen_address(&text)?),
        None => None,
    };
    if settings.environment_type.is_none() {
        eprintln!("warning: environment_type is not set; no task runs until it is (provisio settings set environment_type=test)");
    }
    eprintln!(
        "provisio: scheduling {} (pid {}); stop with Ctrl-C or SIGTERM",
        engine.data_dir().display(),
        std::process::id()
    );
    let https = tls.is_some();
    host::run(
        engine,
        lock,
        host::HostOptions {
            listen,
            tls,
            grace: Duration::from_secs(grace),
        },
        shutdown_signal(),
        |addr| {
            eprintln!(
                "provisio: workflow API on {} (tokens: provisio api-token create)",
                host::api_address(addr, https)
            )
        },
    )
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
