//! `/pools`: the app reserves and releases capacity of the task's resource pools.
//!
//! ```text
//! GET    /pools                              every pool: capacity, allocated, available, queued, caps…
//! GET    /pools/{pool}?limit&after&from      one pool's counts and a page of its reservations: held
//!                                              ones by id after `after`, waiters from position `from`
//! POST   /pools/{pool}/reservations          {amount, priority, ttl, wait, holder}
//!                                              201 granted · 202 queued, each with the reservation's
//!                                              `secret` · 409 refused (with a `code` and why)
//! GET    /pools/{pool}/reservations/{id}     a reservation's state (a preempted holder learns it here)
//! DELETE /pools/{pool}/reservations/{id}     release it (or withdraw a queued request); needs
//!                                              `Reservation-Secret: <its secret>`, 403 otherwise
//! ```
//!
//! The pools are for the task's own containers, which reach the API on localhost: a reservation
//! from a loopback address that names a loopback host (`localhost`, an IP) needs no token. Any
//! other needs the API's bearer token: one from another host (an `agent.listen` beyond loopback
//! has a token, see `agent::token`), and one whose `Host` is some other name, which is how a
//! browser page that rebinds its own name to 127.0.0.1 would arrive. A release needs the
//! reservation's own secret, a random 256-bit value the answer to the request carries once and
//! the pool compares in constant time, so one app cannot release another's holding.
//!
//! Nothing here grows with the pool: a pool holds at most `max_active` reservations and queues
//! `max_queue`, and a listing is a page of at most [`PAGE_MAX`]. Every handler takes the pool
//! lock once, so each request is one atomic step of the ledger.

use std::net::IpAddr;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Peer, State, error, error_code};
use crate::core::pool::{Id, Outcome, Priority, Request, Secret};

/// The header a release shows the reservation's secret in.
const SECRET_HEADER: &str = "reservation-secret";
/// Reservations a listing shows unless asked for fewer, and the most it shows.
const PAGE_DEFAULT: usize = 100;
const PAGE_MAX: usize = 1000;

pub async fn list(Extract(s): Extract<State>) -> Response {
    Json(json!({ "pools": s.pools.view(Utc::now()) })).into_response()
}

/// Which page of a pool's reservations to show.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    limit: Option<usize>,
    /// Held reservations with ids above this one.
    after: Option<u64>,
    /// Waiters from this position (1 is the head of the queue).
    from: Option<usize>,
}

/// A page asked for: how many of each, held ones after which id, waiters from which position.
struct Page {
    limit: usize,
    after: Id,
    from: usize,
}

fn page(query: Result<Query<PageQuery>, QueryRejection>) -> Result<Page, Box<Response>> {
    let bad = |why: String| Box::new(error_code(StatusCode::BAD_REQUEST, "bad_query", why));
    let q = match query {
        Ok(Query(q)) if q.limit.is_none_or(|l| l <= PAGE_MAX) => q,
        Ok(_) => return Err(bad(format!("limit: at most {PAGE_MAX}"))),
        Err(e) => return Err(bad(e.body_text())),
    };
    let limit = q.limit.unwrap_or(PAGE_DEFAULT);
    Ok(Page { limit, after: Id(q.after.unwrap_or(0)), from: q.from.unwrap_or(1).max(1) })
}

pub async fn one(
    Extract(s): Extract<State>,
    Path(pool): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let pg = match page(query) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let lists = s.pools.with_view(&pool, Utc::now(), |p, now| {
        // One more than shown tells whether there is a next page.
        (p.active_page(now, pg.after, pg.limit + 1), p.queue_page(now, pg.from, pg.limit))
    });
    let Some(((mut active, queued), view)) = lists else { return no_pool(&s, &pool) };
    let more_active = active.len() > pg.limit;
    active.truncate(pg.limit);
    let more_queued = pg.limit > 0 && pg.from - 1 + queued.len() < view.status.queued;
    let link = |cursor: String| format!("/pools/{pool}?{cursor}&limit={}", pg.limit);
    let next = json!({
        "active": active.last().filter(|_| more_active).map(|v| link(format!("after={}", v.id))),
        "queued": more_queued.then(|| link(format!("from={}", pg.from + queued.len()))),
    });
    Json(json!({ "pool": view, "active": active, "queued": queued, "next": next })).into_response()
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

fn request(body: &[u8], secret: Secret) -> Result<Request, String> {
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
        secret: Some(secret),
    })
}

/// The kernel's random number generator, opened once: a descriptor per request would fail
/// exactly when descriptors run short.
static URANDOM: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();

fn urandom() -> std::io::Result<&'static std::fs::File> {
    if let Some(f) = URANDOM.get() {
        return Ok(f);
    }
    let f = std::fs::File::open("/dev/urandom")?;
    Ok(URANDOM.get_or_init(|| f))
}

/// 256 bits from the kernel's random number generator, for a reservation's secret.
fn fresh_secret() -> std::io::Result<Secret> {
    let mut bytes = [0u8; Secret::LEN];
    std::io::Read::read_exact(&mut urandom()?, &mut bytes)?;
    Ok(Secret::from_bytes(bytes))
}

/// Whether a request comes from this task itself: a loopback peer (every request served has
/// one; a router called in-process has none) naming a loopback host.
fn from_this_task(peer: Option<Peer>, headers: &HeaderMap) -> bool {
    let loopback = peer.is_none_or(|Peer(a)| a.ip().to_canonical().is_loopback());
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    loopback && host.is_none_or(names_this_host)
}

/// `localhost` or an IP address, with or without a port: never a name a page could rebind.
fn names_this_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(ip, _)| ip),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

pub async fn reserve(
    Extract(s): Extract<State>,
    Path(pool): Path<String>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !from_this_task(peer.map(|Extension(p)| p), &headers)
        && let Err(r) = super::authorize(&s, &headers)
    {
        return *r;
    }
    if let Err(r) = super::json_only(&headers) {
        return *r;
    }
    let secret = match fresh_secret() {
        Ok(s) => s,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, format!("cannot draw a secret: {e}")),
    };
    let hex = secret.to_hex();
    let req = match request(&body, secret) {
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
            let body = json!({ "id": id, "pool": pool, "state": "active", "amount": amount, "expires_at": expires_at, "preempted": preempted, "href": link(id), "secret": hex });
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Outcome::Queued { id, position, deadline } => {
            let body = json!({ "id": id, "pool": pool, "state": "queued", "amount": amount, "position": position, "deadline": deadline, "href": link(id), "secret": hex });
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

/// The secret a release shows, if it shows a well-formed one.
fn shown_secret(headers: &HeaderMap) -> Option<Secret> {
    headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok()).and_then(Secret::from_hex)
}

pub async fn release(
    Extract(s): Extract<State>,
    Path((pool, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = id.parse().map(Id) else { return bad_id(&id) };
    let secret = shown_secret(&headers);
    match s.pools.with(&pool, |p| p.release_with(id, secret.as_ref(), Utc::now())) {
        None => no_pool(&s, &pool),
        Some(Ok(released)) => Json(json!({ "pool": pool, "released": released })).into_response(),
        Some(Err(e)) => {
            let code = match e.code() {
                "not_found" => StatusCode::NOT_FOUND,
                "wrong_secret" => StatusCode::FORBIDDEN,
                _ => StatusCode::CONFLICT,
            };
            error_code(code, e.code(), e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, h.parse().unwrap());
        headers
    }

    #[test]
    fn only_a_loopback_peer_naming_this_host_is_this_task() {
        for ok in ["localhost", "LOCALHOST:9464", "127.0.0.1:9464", "[::1]:9464", "10.0.1.17", "[fe80::1]"] {
            assert!(names_this_host(ok), "{ok}");
        }
        for rebound in ["evil.example:9464", "localhost.evil.example", "127.0.0.1.nip.io", "[::1", ""] {
            assert!(!names_this_host(rebound), "{rebound}");
        }
        let (local, remote) =
            (Peer("127.0.0.1:50000".parse().unwrap()), Peer("10.0.1.9:50000".parse().unwrap()));
        assert!(from_this_task(Some(local), &host("localhost:9464")));
        assert!(from_this_task(Some(local), &HeaderMap::new()), "no Host: not a browser");
        assert!(from_this_task(None, &host("127.0.0.1")), "in-process");
        assert!(!from_this_task(Some(local), &host("evil.example:9464")));
        assert!(!from_this_task(Some(remote), &host("10.0.1.17:9464")));
    }
}
