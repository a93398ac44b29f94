//! The local HTTP API, bound to `agent.listen` (loopback by default). Handlers read the
//! snapshot the loop publishes after each tick; the writes are the operator override, which
//! the loop picks up at its next tick and which needs a bearer token, and the app's pool
//! reservations ([`pools`]).
//!
//! Every write takes only a JSON body sent as `Content-Type: application/json` (415 otherwise).
//! A web page can make a browser send `text/plain`, form or multipart bodies to any address
//! without asking the server first, but not JSON (that needs a CORS preflight, which this API
//! never grants), so a page open on a laptop running `--local` cannot write to its API.

mod connections;
mod dashboard;
pub mod fleet;
mod metrics;
mod pools;
mod process;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

pub use self::connections::{Limits, Peer};
use crate::core::{ManualOverride, Replicas};
use crate::status::{OverrideSlot, Role, Snapshot};

#[derive(Clone)]
pub struct State {
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub overrides: OverrideSlot,
    /// Bearer token for mutating endpoints; `None` turns them off.
    pub token: Option<String>,
    pub pools: crate::sources::pools::PoolSet,
    pub local: crate::sources::local::SharedMonitor,
}

pub fn router(state: State) -> Router {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/healthz", get(healthz))
        .route("/status", get(status))
        .route("/metrics", get(prometheus))
        .route("/history", get(history))
        .route("/cost", get(cost))
        .route("/local", get(local))
        .route("/peer", get(peer))
        .route("/override", get(get_override).post(post_override).delete(delete_override))
        .route("/pools", get(pools::list))
        .route("/pools/{pool}", get(pools::one))
        .route("/pools/{pool}/reservations", get(pools::one).post(pools::reserve))
        .route("/pools/{pool}/reservations/{id}", get(pools::get).delete(pools::release))
        .layer(DefaultBodyLimit::max(Limits::DEFAULT.body_bytes))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves, within [`Limits::DEFAULT`] (see
/// [`connections`] for what each limit guards against).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: State,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    connections::serve(listener, router(state), Limits::DEFAULT, shutdown).await;
}

fn snap(s: &State) -> Arc<Snapshot> {
    s.snapshot.borrow().clone()
}

/// Healthy while ticks keep coming: the last one finished within three intervals (or the
/// agent has just started). `trimtab health` and the container health check use it.
async fn healthz(Extract(s): Extract<State>) -> Response {
    let snap = snap(&s);
    let now = Utc::now();
    let last = snap.last.as_ref().map(|t| t.at).unwrap_or(snap.started_at);
    let age = (now - last).num_seconds();
    let stall = crate::status::stalled_after(chrono::TimeDelta::seconds(snap.interval_seconds.max(1)));
    let healthy = age <= stall.num_seconds();
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if healthy { "ok" } else { "stalled" },
        "ticks": snap.ticks,
        "last_tick_age_seconds": age,
        "role": snap.role.name(),
        // A follower asks the leader's /healthz over the task network (`sources::peer`).
        "task": snap.role.task(),
    });
    (code, Json(body)).into_response()
}

async fn status(Extract(s): Extract<State>) -> Response {
    let snap = snap(&s);
    let body = json!({
        "version": snap.version,
        "started_at": snap.started_at,
        "mode": snap.mode,
        "dry_run": snap.dry_run,
        "service": snap.service,
        "interval_seconds": snap.interval_seconds,
        "ticks": snap.ticks,
        "role": snap.role,
        "last": snap.last,
        "cooldowns": snap.cooldowns,
        "manual_override": snap.manual_override,
        "counters": snap.counters,
        "cost": snap.cost,
        "notifications": snap.notifications,
        "vertical": snap.vertical,
        "protection": snap.protection,
        "policy": snap.policy,
    });
    Json(body).into_response()
}

/// Spend, forecast, budget and recommendations; 404 when the task cannot be priced.
async fn cost(Extract(s): Extract<State>) -> Response {
    let snap = snap(&s);
    match &snap.cost {
        Some(c) => Json(json!({ "service": snap.service, "cost": c, "notifications": snap.notifications }))
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "no cost tracking: the config has no [service] with a task size and a region to price it",
        ),
    }
}

/// This task's own CPU, memory, disk and network against its cgroup limits, with history
/// windows and threshold alerts.
async fn local(Extract(s): Extract<State>) -> Response {
    let view = s.local.lock().unwrap_or_else(|e| e.into_inner()).view(Utc::now());
    Json(view).into_response()
}

async fn history(Extract(s): Extract<State>) -> Response {
    let snap = snap(&s);
    Json(json!({ "ticks": snap.history, "actions": snap.actions, "series": snap.series })).into_response()
}

async fn prometheus(Extract(s): Extract<State>) -> Response {
    let alerts = s.local.lock().unwrap_or_else(|e| e.into_inner()).alerts_view();
    let text = metrics::render(&snap(&s))
        + &metrics::render_local(&s.pools.view(Utc::now()), &alerts)
        + &metrics::render_process();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideRequest {
    desired: i64,
    reason: String,
    /// A duration like `"30m"` (at most a day) …
    expires_in: Option<String>,
    /// … or an RFC 3339 instant.
    expires_at: Option<DateTime<Utc>>,
}

fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (code, Json(json!({ "error": message.into() }))).into_response()
}

/// Refuses a write whose body is not declared JSON (see the module's note on browsers).
fn json_only(headers: &HeaderMap) -> Result<(), Box<Response>> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let essence = declared.and_then(|v| v.split(';').next()).map(str::trim);
    if essence.is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
        return Ok(());
    }
    let got: String = declared.unwrap_or("none").chars().take(64).collect();
    Err(Box::new(error_code(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("the body must be JSON, sent with Content-Type: application/json (got {got})"),
    )))
}

/// An error with a stable machine-readable `code` beside the sentence.
fn error_code(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into(), "code": code }))).into_response()
}

/// Checks the bearer token; `Err` is the response to send.
fn authorize(s: &State, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(token) = &s.token else {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "mutating endpoints are off: set agent.api_token or TRIMTAB_API_TOKEN to enable them",
        )));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(Box::new(error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token"))),
    }
}

/// This task's own signals for the leader (`sources::peer`). With an API token set (always, when
/// the API listens beyond loopback) the leader must send it; without one the API is reachable
/// from this task only.
async fn peer(Extract(s): Extract<State>, headers: HeaderMap) -> Response {
    if s.token.is_some()
        && let Err(r) = authorize(&s, &headers)
    {
        return *r;
    }
    let snap = snap(&s);
    match &snap.signals {
        Some(signals) => Json(signals).into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "no signals yet: the agent has not ticked"),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn get_override(Extract(s): Extract<State>) -> Response {
    let o = s.overrides.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Json(json!({ "override": o })).into_response()
}

async fn post_override(Extract(s): Extract<State>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Err(r) = authorize(&s, &headers) {
        return *r;
    }
    let snap = snap(&s);
    if !snap.role.acts() {
        let leader = match &snap.role {
            Role::Follower { leader: Some(l), .. } => {
                format!(" (the leader's task is {l})")
            }
            _ => String::new(),
        };
        return error(
            StatusCode::CONFLICT,
            format!("this agent is not the leader; send the override to the leader's API{leader}"),
        );
    }
    // After the leader check: a follower answers 409 to any override, whatever its body.
    if let Err(r) = json_only(&headers) {
        return *r;
    }
    let req: OverrideRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    let now = Utc::now();
    let Ok(count) = u32::try_from(req.desired) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("desired: must be a whole number >= 0, got {}", req.desired),
        );
    };
    if req.reason.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "reason: must not be empty (it is shown with every decision)");
    }
    let expires_at = match (&req.expires_in, req.expires_at) {
        (Some(d), None) => match crate::config::duration::parse(d) {
            Ok(d) if d > chrono::TimeDelta::zero() && d <= chrono::TimeDelta::days(1) => now + d,
            Ok(_) => {
                return error(StatusCode::BAD_REQUEST, "expires_in: must be longer than 0s and at most 1d");
            }
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("expires_in: {e}")),
        },
        (None, Some(t)) if t > now && t - now <= chrono::TimeDelta::days(1) => t,
        (None, Some(_)) => {
            return error(StatusCode::BAD_REQUEST, "expires_at: must be in the future, at most 1d ahead");
        }
        _ => return error(StatusCode::BAD_REQUEST, "give exactly one of expires_in or expires_at"),
    };
    let o = ManualOverride { count: Replicas(count), reason: req.reason, expires_at };
    tracing::info!(desired = count, reason = %o.reason, expires_at = %o.expires_at, "manual override set through the API");
    *s.overrides.lock().unwrap_or_else(|e| e.into_inner()) = Some(o.clone());
    (StatusCode::ACCEPTED, Json(json!({ "override": o, "applies": "at the next tick" }))).into_response()
}

async fn delete_override(Extract(s): Extract<State>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&s, &headers) {
        return *r;
    }
    let old = s.overrides.lock().unwrap_or_else(|e| e.into_inner()).take();
    tracing::info!(had = old.is_some(), "manual override cleared through the API");
    Json(json!({ "cleared": old })).into_response()
}
