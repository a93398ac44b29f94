//! How the local API takes connections, so that no client can exhaust it (issue 14). hyper
//! speaks HTTP/1.1 on each connection; this module decides which connections to keep, and for
//! how long:
//!
//! - **At most [`Limits::connections`] sockets open at once**, far below a small container's
//!   open-file limit; a connection counts until its socket is closed. Once 7/8 of them are in
//!   use, a new connection first closes an idle one ("idle": no request in a handler, so
//!   waiting on its client for headers or a body, or between requests, and it has had its turn
//!   to read what it was sent): the oldest of those that never completed a request, else the
//!   one idle longest. Clients that open connections and send nothing thus cannot lock out the
//!   health check, which sends its request at once, nor a client keeping a connection alive
//!   between requests. Only when no connection is idle (each handler takes microseconds and
//!   never waits on a client) does accepting wait. A connection is idle again once its handler
//!   returns, while its answer is written: should it be the one closed then, that answer is
//!   lost.
//! - **A request's headers within [`Limits::header_read`]** of the connection opening or of the
//!   previous response, else the connection is closed (hyper's header-read timeout, which runs
//!   only with a timer: `axum::serve` sets none).
//! - **Its body within [`Limits::request`]** of its headers and at most [`Limits::body_bytes`]
//!   long: 408 or 413 otherwise. The body is read whole before the handler runs, so a handler
//!   never waits on a client, and the handler answers within what is left of that time (503).
//! - **Headers of at most [`Limits::buffer_bytes`]**: 431.
//!
//! So whatever clients do, the API holds at most 64 connections, each with a buffer and a body
//! of 64 KiB at most: about 8 MiB. `tests/hostile_client.rs` measures it, and the tests below
//! pin each limit.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, timeout_at};

use super::error_code;

/// What the API allows each client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub connections: usize,
    pub header_read: Duration,
    pub request: Duration,
    pub body_bytes: usize,
    /// hyper's read buffer, which bounds a request's headers (at least 8 KiB).
    pub buffer_bytes: usize,
}

impl Limits {
    /// 64 connections; headers within 5 s, the body within 10 s more; 64 KiB of body (a
    /// reservation or an override is well under 1 KiB) and of headers (a browser sends 1–2 KiB).
    pub const DEFAULT: Limits = Limits {
        connections: 64,
        header_read: Duration::from_secs(5),
        request: Duration::from_secs(10),
        body_bytes: 64 * 1024,
        buffer_bytes: 64 * 1024,
    };
}

/// The client's address, which every request carries as an extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// After a failed accept (out of file descriptors, say), the wait before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At shutdown, how long open connections have to finish.
const DRAIN_GRACE: Duration = Duration::from_millis(300);

/// Serves `app` on `listener` within `limits` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let table = Arc::new(Table::new(limits.connections));
    let (closing, _) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = accept(&listener, &table) => a,
        };
        if let Some((stream, peer, entry)) = accepted {
            tokio::spawn(connection(stream, peer, app.clone(), entry, limits, closing.subscribe()));
        }
    }
    closing.send_replace(true);
    let _ = tokio::time::timeout(DRAIN_GRACE, table.drained()).await;
}

/// The next connection and its entry in the table: accepted only when there is room, and
/// entered once there still is (a handler may have started meanwhile).
async fn accept(listener: &TcpListener, table: &Arc<Table>) -> Option<(TcpStream, SocketAddr, Entry)> {
    table.room().await;
    match listener.accept().await {
        Ok((stream, peer)) => {
            // Answers are written whole; waiting to coalesce them only adds latency.
            let _ = stream.set_nodelay(true);
            Some((stream, peer, Table::enter(table).await))
        }
        Err(e) => {
            tracing::warn!(error = %e, "local API could not accept a connection");
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            None
        }
    }
}

/// One connection, until it ends, is closed to make room, or the API shuts down.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    entry: Entry,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
) {
    let (slot, table) = (entry.slot.clone(), entry.table.clone());
    slot.started.store(true, Ordering::Release);
    table.changed.notify_one();
    let service = hyper::service::service_fn(move |req| {
        let (app, slot, table) = (app.clone(), slot.clone(), table.clone());
        async move { Ok::<_, Infallible>(answer(app, req, Peer(peer), limits, &slot, &table).await) }
    });
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read).max_buf_size(limits.buffer_bytes);
    let served = http.serve_connection(TokioIo::new(stream), service);
    let evicted = entry.slot.close.notified();
    tokio::pin!(served, evicted);
    tokio::select! {
        r = served.as_mut() => return ended(r),
        _ = &mut evicted => return,
        _ = async { let _ = closing.wait_for(|c| *c).await; } => served.as_mut().graceful_shutdown(),
    }
    tokio::select! {
        r = served.as_mut() => ended(r),
        _ = &mut evicted => {}
    }
}

fn ended(r: Result<(), hyper::Error>) {
    if let Err(e) = r {
        tracing::debug!(error = %e, "local API connection ended");
    }
}

/// Reads the body whole, within the limits, then lets the router answer.
async fn answer(
    app: Router,
    req: Request<Incoming>,
    peer: Peer,
    limits: Limits,
    slot: &Slot,
    table: &Table,
) -> Response {
    let deadline = Instant::now() + limits.request;
    let (mut parts, body) = req.into_parts();
    let body = match read_body(body, limits, deadline).await {
        Ok(b) => b,
        Err(refusal) => return refusal,
    };
    parts.extensions.insert(peer);
    let _busy = InHandler::enter(slot, table);
    let mut app = app;
    // A router is always ready, so it needs no `poll_ready` first.
    let call = tower_service::Service::call(&mut app, Request::from_parts(parts, Body::from(body)));
    match timeout_at(deadline, call).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => error_code(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the API did not answer in time"),
    }
}

async fn read_body(body: Incoming, limits: Limits, deadline: Instant) -> Result<Bytes, Response> {
    match timeout_at(deadline, Limited::new(body, limits.body_bytes).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(error_code(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is over {} KiB", limits.body_bytes / 1024),
        )),
        Ok(Err(e)) => {
            Err(error_code(StatusCode::BAD_REQUEST, "bad_body", format!("cannot read the body: {e}")))
        }
        Err(_) => Err(error_code(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the body did not arrive within {} s", limits.request.as_secs()),
        )),
    }
}

/// The open connections, oldest first, and for each whether it is in a handler.
struct Table {
    max: usize,
    open: Mutex<Open>,
    /// A connection closed or left a handler: there may be room now.
    changed: Notify,
}

#[derive(Default)]
struct Open {
    next: u64,
    slots: BTreeMap<u64, Arc<Slot>>,
}

/// One connection's entry in the table.
struct Slot {
    /// Its task has run, so it has had its turn to read what it was sent.
    started: AtomicBool,
    /// Told to close; it still counts until its socket is closed.
    closing: AtomicBool,
    in_handler: AtomicBool,
    /// It has completed a request.
    served: AtomicBool,
    idle_since: Mutex<Instant>,
    /// Told to close, to make room.
    close: Notify,
}

impl Slot {
    /// When idle, its place in the order connections are closed in: those that never completed
    /// a request first, then the idle longest first.
    fn idle(&self) -> Option<(bool, Instant)> {
        let idle = self.started.load(Ordering::Acquire)
            && !self.closing.load(Ordering::Acquire)
            && !self.in_handler.load(Ordering::Acquire);
        let since = || *self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        idle.then(|| (self.served.load(Ordering::Acquire), since()))
    }
}

impl Table {
    fn new(max: usize) -> Table {
        Table { max, open: Mutex::default(), changed: Notify::new() }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a new connection could be admitted now or once an idle one has closed.
    fn has_room(&self) -> bool {
        let open = self.lock();
        open.slots.len() < self.max || open.slots.values().any(|s| s.idle().is_some())
    }

    /// Waits until `ready` gives a value, looking again at every change of the table. The
    /// notification is registered before the look, so a change in between is not missed.
    async fn wait_for<T>(&self, mut ready: impl FnMut() -> Option<T>) -> T {
        loop {
            let changed = self.changed.notified();
            if let Some(v) = ready() {
                return v;
            }
            changed.await;
        }
    }

    async fn room(&self) {
        self.wait_for(|| self.has_room().then_some(())).await
    }

    /// Enters a new connection once there is room.
    async fn enter(table: &Arc<Table>) -> Entry {
        table.wait_for(|| Table::admit(table)).await
    }

    async fn drained(&self) {
        self.wait_for(|| self.lock().slots.is_empty().then_some(())).await
    }

    /// Enters a new connection, first telling an idle one to close when 7/8 of the table is
    /// in use; `None` while the table is full (of connections in handlers, or closing).
    fn admit(table: &Arc<Table>) -> Option<Entry> {
        let mut open = table.lock();
        let live = open.slots.values().filter(|s| !s.closing.load(Ordering::Acquire)).count();
        if live >= table.max - table.max / 8
            && let Some((_, id)) = open.slots.iter().filter_map(|(id, s)| Some((s.idle()?, *id))).min()
        {
            let evicted = &open.slots[&id];
            evicted.closing.store(true, Ordering::Release);
            evicted.close.notify_one();
        }
        if open.slots.len() >= table.max {
            return None;
        }
        let slot = Arc::new(Slot {
            started: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            in_handler: AtomicBool::new(false),
            served: AtomicBool::new(false),
            idle_since: Mutex::new(Instant::now()),
            close: Notify::new(),
        });
        let id = open.next;
        open.next += 1;
        open.slots.insert(id, slot.clone());
        Some(Entry { id, slot, table: table.clone() })
    }
}

/// A connection's place in the table, given up when the connection ends.
struct Entry {
    id: u64,
    slot: Arc<Slot>,
    table: Arc<Table>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.table.lock().slots.remove(&self.id);
        self.table.changed.notify_one();
    }
}

/// Marks a connection as in a handler while it lives.
struct InHandler<'a> {
    slot: &'a Slot,
    table: &'a Table,
}

impl<'a> InHandler<'a> {
    fn enter(slot: &'a Slot, table: &'a Table) -> Self {
        slot.in_handler.store(true, Ordering::Release);
        InHandler { slot, table }
    }
}

impl Drop for InHandler<'_> {
    fn drop(&mut self) {
        *self.slot.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.slot.served.store(true, Ordering::Release);
        self.slot.in_handler.store(false, Ordering::Release);
        self.table.changed.notify_one();
    }
}

#[cfg(test)]
#[path = "connections_tests.rs"]
mod tests;
