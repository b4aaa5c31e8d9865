//! The accept loop and each connection's life.
//!
//! `axum::serve` reads headers without a deadline, keeps idle connections
//! forever and accepts without bound: a hostile round held one half-sent
//! request open for over 100 s, and a few thousand idle sockets used up the
//! process's file descriptors, so that scheduled runs of the same process
//! failed with "Too many open files". Here every connection
//! - holds one of a fixed number of places (below the descriptor limit, which
//!   is raised at start where the system allows); at the cap no more are
//!   accepted, and connections idle for a moment are closed to make room;
//! - must send its headers within the header timeout (hyper's timer), its
//!   body within the body timeout, and is closed after the idle timeout
//!   between requests;
//! - carries its peer's address into each request ([`ClientAddr`]), so that
//!   failed authentications can be limited per address.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};
use tower::ServiceExt;

use crate::Limits;

/// The address a request came from (present when served by [`serve_connections`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// A connection idle this long may be closed to make room at the cap.
const EVICTABLE_AFTER: Duration = Duration::from_millis(500);
/// How long a closing connection may take to finish what it is answering.
const CLOSING_GRACE: Duration = Duration::from_secs(10);

/// How many connections are served at once: the configured cap, and never
/// more than half of what the descriptor limit leaves after a reserve for
/// the engine's own files, databases and script processes.
pub(crate) fn connection_cap(configured: usize) -> usize {
    const RESERVE: u64 = 128;
    let by_descriptors = provisio_engine::platform::raise_open_files_limit()
        .map(|soft| (soft.saturating_sub(RESERVE) / 2).max(8) as usize)
        .unwrap_or(usize::MAX);
    configured.min(by_descriptors).max(1)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open
/// requests finish (up to a grace period).
pub(crate) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let cap = connection_cap(limits.max_connections);
    tracing::debug!(cap, "workflow API connections");
    let places = Arc::new(Semaphore::new(cap));
    let make_room = Arc::new(Notify::new());
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let place = match places.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // At the cap: ask idle connections to close, then wait for a place.
                make_room.notify_waiters();
                tokio::select! {
                    p = places.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                    _ = tokio::time::sleep(EVICTABLE_AFTER) => continue,
                    _ = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (or a connection reset before accept): wait, never spin.
                    tracing::warn!(error = %e, "the workflow API could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            app: app.clone(),
            peer,
            limits: limits.clone(),
            make_room: make_room.clone(),
            stopping: stopping.clone(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let _place = place;
            match tls {
                None => connection.serve(stream).await,
                Some(acceptor) => {
                    // The handshake is part of the request's head: the same deadline.
                    let deadline = connection.limits.header_read_timeout;
                    let handshake = tokio::time::timeout(deadline, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        connection.serve(stream).await;
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every place back means every connection ended.
    let _ = tokio::time::timeout(CLOSING_GRACE, places.acquire_many(cap as u32)).await;
}

/// When a connection last started or finished a request, and how many it is answering.
struct Activity {
    born: Instant,
    last_ms: AtomicU64,
    answering: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            born: Instant::now(),
            last_ms: AtomicU64::new(0),
            answering: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        self.last_ms
            .store(self.born.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// How long the connection has been without a request to answer, if it is.
    fn idle_for(&self) -> Option<Duration> {
        if self.answering.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        Some(self.born.elapsed().saturating_sub(last))
    }
}

struct Connection {
    app: Router,
    peer: SocketAddr,
    limits: Limits,
    make_room: Arc<Notify>,
    stopping: watch::Receiver<bool>,
}

impl Connection {
    async fn serve<S>(mut self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(Activity::new());
        let (app, peer, seen) = (self.app.clone(), self.peer, activity.clone());
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ClientAddr(peer));
            seen.answering.fetch_add(1, Ordering::Relaxed);
            seen.touch();
            let (app, seen) = (app.clone(), seen.clone());
            async move {
                let response = app.oneshot(request.map(axum::body::Body::new)).await;
                seen.touch();
                seen.answering.fetch_sub(1, Ordering::Relaxed);
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout)
            .keep_alive(true);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let tick = (self.limits.idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        let mut ticks = tokio::time::interval(tick);
        let mut closing: Option<tokio::time::Instant> = None;
        let mut told_to_stop = false;
        loop {
            let close = tokio::select! {
                _ = connection.as_mut() => return,
                _ = ticks.tick() => {
                    if closing.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
                        return;
                    }
                    activity.idle_for().is_some_and(|idle| idle >= self.limits.idle_timeout)
                }
                _ = self.make_room.notified() => {
                    activity.idle_for().is_some_and(|idle| idle >= EVICTABLE_AFTER)
                }
                changed = self.stopping.changed(), if !told_to_stop => {
                    told_to_stop = changed.is_err() || *self.stopping.borrow();
                    told_to_stop
                }
            };
            if close && closing.is_none() {
                connection.as_mut().graceful_shutdown();
                closing = Some(tokio::time::Instant::now() + CLOSING_GRACE);
            }
        }
    }
}
