//! `/pools`: the app reserves and releases capacity of the task's resource pools.
//!
//! ```text
//! GET    /pools                              every pool: capacity, allocated, available, queued…
//! GET    /pools/{pool}                       one pool, with its reservations and queue
//! POST   /pools/{pool}/reservations          {amount, priority, ttl, wait, holder}
//!                                              201 granted · 202 queued · 409 refused (with why)
//! GET    /pools/{pool}/reservations/{id}     a reservation's state (a preempted holder learns it here)
//! DELETE /pools/{pool}/reservations/{id}     release it (or withdraw a queued request)
//! ```
//!
//! The pools are for the task's own containers, which reach the API on localhost; they need no
//! token. Every handler takes the pool lock once, so each request is one atomic step of the
//! ledger.

use axum::Json;
use axum::extract::{Path, State as Extract};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, error};
use crate::core::pool::{Id, Outcome, Priority, Request};

pub async fn list(Extract(s): Extract<State>) -> Response {
    Json(json!({ "pools": s.pools.view(Utc::now()) })).into_response()
}

pub async fn one(Extract(s): Extract<State>, Path(pool): Path<String>) -> Response {
    let now = Utc::now();
    let Some(reservations) = s.pools.with(&pool, |p| p.reservations(now)) else {
        return no_pool(&s, &pool);
    };
    let view = s.pools.view(now).into_iter().find(|v| v.name == pool);
    Json(json!({ "pool": view, "reservations": reservations })).into_response()
}

fn no_pool(s: &State, pool: &str) -> Response {
    let names = s.pools.names();
    let known = if names.is_empty() { "none are configured ([pools.NAME])".into() } else { names.join(", ") };
    error(StatusCode::NOT_FOUND, format!("no pool {pool:?}; pools: {known}"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReserveBody {
    amount: Value,
    priority: Option<String>,
    /// `"90s"` or a number of seconds.
    ttl: Option<Value>,
    wait: Option<Value>,
    holder: Option<String>,
}

/// A duration field: `"90s"`, `"2m"`, or a number of seconds.
fn duration(field: &str, v: Option<&Value>) -> Result<Option<TimeDelta>, String> {
    let d = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(t)) => crate::config::duration::parse(t).map_err(|e| format!("{field}: {e}"))?,
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 1e9)
            .map(|s| TimeDelta::milliseconds((s * 1000.0).round() as i64))
            .ok_or_else(|| format!("{field}: must be a number of seconds >= 0, got {n}"))?,
        Some(other) => {
            return Err(format!("{field}: expected a duration like \"30s\" or seconds, got {other}"));
        }
    };
    Ok(Some(d))
}

fn request(body: &[u8]) -> Result<Request, String> {
    let b: ReserveBody = serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
    let amount = b
        .amount
        .as_u64()
        .filter(|&a| a > 0)
        .ok_or_else(|| format!("amount: must be a whole number above 0, got {}", b.amount))?;
    let priority = match b.priority.as_deref() {
        None => Priority::Medium,
        Some(p) => p.parse().map_err(|_| {
            format!("priority: unknown value {p:?}; expected one of critical, high, medium, low")
        })?,
    };
    let holder = b.holder.map(|h| h.chars().take(200).collect());
    Ok(Request {
        amount,
        priority,
        ttl: duration("ttl", b.ttl.as_ref())?,
        wait: duration("wait", b.wait.as_ref())?,
        holder,
    })
}

pub async fn reserve(
    Extract(s): Extract<State>,
    Path(pool): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let req = match request(&body) {
        Ok(r) => r,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    let (amount, priority) = (req.amount, req.priority);
    let Some(outcome) = s.pools.with(&pool, |p| p.request(req, Utc::now())) else {
        return no_pool(&s, &pool);
    };
    let link = |id: Id| format!("/pools/{pool}/reservations/{id}");
    match outcome {
        Outcome::Granted { id, expires_at, preempted } => {
            if !preempted.is_empty() {
                tracing::info!(pool, %id, ?preempted, priority = priority.as_str(), "pool reservation preempted others");
            }
            let body = json!({ "id": id, "pool": pool, "state": "active", "amount": amount, "expires_at": expires_at, "preempted": preempted, "href": link(id) });
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Outcome::Queued { id, position, deadline } => {
            let body = json!({ "id": id, "pool": pool, "state": "queued", "amount": amount, "position": position, "deadline": deadline, "href": link(id) });
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Outcome::Refused(r) => {
            let body = json!({ "error": r.to_string(), "code": r.code(), "pool": pool, "state": "refused" });
            (StatusCode::CONFLICT, Json(body)).into_response()
        }
    }
}

fn bad_id(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no reservation {id:?}: ids are numbers"))
}

pub async fn get(Extract(s): Extract<State>, Path((pool, id)): Path<(String, String)>) -> Response {
    let Ok(id) = id.parse().map(Id) else { return bad_id(&id) };
    match s.pools.with(&pool, |p| p.get(id, Utc::now())) {
        None => no_pool(&s, &pool),
        Some(None) => error(StatusCode::NOT_FOUND, format!("no reservation {id} in pool {pool:?}")),
        Some(Some(view)) => Json(json!({ "pool": pool, "reservation": view })).into_response(),
    }
}

pub async fn release(Extract(s): Extract<State>, Path((pool, id)): Path<(String, String)>) -> Response {
    let Ok(id) = id.parse().map(Id) else { return bad_id(&id) };
    match s.pools.with(&pool, |p| p.release(id, Utc::now())) {
        None => no_pool(&s, &pool),
        Some(Ok(released)) => Json(json!({ "pool": pool, "released": released })).into_response(),
        Some(Err(e)) => {
            let code = if e.code() == "not_found" { StatusCode::NOT_FOUND } else { StatusCode::CONFLICT };
            (code, Json(json!({ "error": e.to_string(), "code": e.code() }))).into_response()
        }
    }
}
