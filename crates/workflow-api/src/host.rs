//! One process's service for a data directory: the scheduler and, when
//! asked, the workflow API beside it. `provisio serve` and the desktop app
//! both run it through [`run`], so both listen, schedule and stop the same
//! way: the API's address is taken before anything is scheduled (a port in
//! use is an error at once, not after the scheduler stops); on shutdown
//! nothing new starts, running runs get `grace` to finish and are then
//! stopped, and only then does the API close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use provisio_engine::scheduler::lock::SchedulerLock;
use provisio_engine::scheduler::{Scheduler, SystemClock};
use provisio_engine::{Engine, EngineError};

use crate::{Limits, Tls};

/// How a host serves.
#[derive(Debug, Default)]
pub struct HostOptions {
    /// Serve the workflow API here too.
    pub listen: Option<SocketAddr>,
    /// Over HTTPS with this certificate and key.
    pub tls: Option<Tls>,
    /// How long running runs get to finish once `shutdown` resolves.
    pub grace: Duration,
}

/// What the serving process is told once the API listens (`serve` prints it, the window logs it).
pub fn api_address(addr: SocketAddr, tls: bool) -> String {
    format!("{}://{addr}/api/v1", if tls { "https" } else { "http" })
}

/// Schedules the data directory whose scheduler `lock` this process holds
/// (and serves the workflow API when `options.listen` says where) until
/// `shutdown` resolves; then stops gracefully. `on_listening` is called
/// once the API listens.
pub async fn run(
    engine: Engine,
    lock: SchedulerLock,
    options: HostOptions,
    shutdown: impl std::future::Future<Output = ()>,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), EngineError> {
    let _lock = lock;
    let (api_stop, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let api = match options.listen {
        None => None,
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| EngineError::io(format!("the workflow API cannot listen on {addr}"), e))?;
            let bound = listener.local_addr().unwrap_or(addr);
            let server = tokio::spawn(crate::serve_listener(
                listener,
                engine.clone(),
                Limits::default(),
                options.tls,
                async {
                    let _ = api_stopped.await;
                },
            ));
            tracing::info!(addr = %bound, "workflow API serving");
            on_listening(bound);
            Some(server)
        }
    };
    let scheduler = Scheduler::new(engine, Arc::new(SystemClock));
    let scheduled = scheduler.run_until(shutdown, options.grace).await;
    let _ = api_stop.send(());
    if let Some(server) = api {
        match server.await {
            Ok(Err(e)) => tracing::error!(error = %e, "the workflow API stopped"),
            Err(e) => tracing::error!(error = %e, "the workflow API stopped"),
            Ok(Ok(())) => {}
        }
    }
    scheduled
}
