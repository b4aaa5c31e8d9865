//! `provisio serve`: the scheduler without a window, until SIGTERM / SIGINT.

use std::sync::Arc;
use std::time::Duration;

use provisio_engine::scheduler::lock::SchedulerLock;
use provisio_engine::scheduler::{Scheduler, SystemClock};
use provisio_engine::{Engine, EngineError};

pub async fn run(
    engine: Engine,
    grace: u64,
    listen: Option<&str>,
    tls: Option<provisio_workflow_api::Tls>,
) -> Result<i32, EngineError> {
    let _lock = SchedulerLock::acquire(engine.data_dir())?;
    // The workflow API, when asked for, runs beside the scheduler until the same signal.
    let (api_stop, api_stopped) = tokio::sync::oneshot::channel::<()>();
    // --listen, else the workflow_api setting.
    let setting = engine.settings().await?.workflow_api;
    let api = match listen.map(str::to_string).or(setting) {
        None => None,
        Some(text) => {
            let addr = provisio_engine::rules::settings::listen_address(&text)?;
            let api_engine = engine.clone();
            let scheme = if tls.is_some() { "https" } else { "http" };
            let server = tokio::spawn(provisio_workflow_api::serve(
                api_engine,
                addr,
                provisio_workflow_api::Limits::default(),
                tls,
                async {
                    let _ = api_stopped.await;
                },
            ));
            eprintln!(
                "provisio: workflow API on {scheme}://{addr}/api/v1 (tokens: provisio api-token create)"
            );
            Some(server)
        }
    };
    if engine.settings().await?.environment_type.is_none() {
        eprintln!("warning: environment_type is not set; no task runs until it is (provisio settings set environment_type=test)");
    }
    eprintln!(
        "provisio: scheduling {} (pid {}); stop with Ctrl-C or SIGTERM",
        engine.data_dir().display(),
        std::process::id()
    );
    let scheduler = Scheduler::new(engine, Arc::new(SystemClock));
    let scheduled = scheduler
        .run_until(shutdown_signal(), Duration::from_secs(grace))
        .await;
    let _ = api_stop.send(());
    if let Some(server) = api {
        match server.await {
            Ok(Err(e)) => eprintln!("provisio: the workflow API stopped: {e}"),
            Err(e) => eprintln!("provisio: the workflow API stopped: {e}"),
            Ok(Ok(())) => {}
        }
    }
    scheduled?;
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
