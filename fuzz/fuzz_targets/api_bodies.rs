//! The local API's JSON bodies on any bytes: `POST /override` (authorized) and
//! `POST /pools/jobs/reservations`, through the public `api::router` as a client sends them.
//! The request structs and their validation are private to `api`; the router reaches them with
//! no new `pub` item. Every body gets an answer the API documents (4xx with an `error` sentence,
//! or the success code), never a panic or a 5xx, and an accepted override is what was asked, due
//! within a day.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tower::ServiceExt;
use trimtab::agent::{Agent, Options};
use trimtab::api::{State, router};
use trimtab::config::Config;
use trimtab::sources::local::SharedMonitor;
use trimtab::sources::pools::{Limits, PoolSet};
use trimtab::status::Snapshot;
use trimtab_fuzz::known::guard;

const TOKEN: &str = "fuzz-token-0123456789";
const CONFIG: &str = "[agent]\ninterval = \"1s\"\n\n[scaling]\nmin = 1\nmax = 10\n\n\
                      [pools.jobs]\ncapacity = 1000\npreemption = true\nmax_wait = \"30s\"\n";

/// What every input shares: a runtime, and a local-mode agent's first snapshot.
struct Setup {
    rt: Runtime,
    cfg: Config,
    snapshot: watch::Receiver<Arc<Snapshot>>,
    local: SharedMonitor,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let cfg = trimtab::config::from_str("fuzz.toml", CONFIG).expect("a valid config");
        let opts = Options { local: true, ..Options::default() };
        let agent = rt.block_on(Agent::new(cfg.clone(), opts)).expect("a local agent");
        let (tx, snapshot) = watch::channel(agent.snapshot());
        std::mem::forget(tx);
        let local = agent.api_state(snapshot.clone(), None).local;
        Setup { rt, cfg, snapshot, local }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    guard(|| {
        // Fresh pools and override slot per input, so every input meets the same state.
        let pools = PoolSet::new(&s.cfg.pools, Limits::default()).expect("fixed-size pools");
        let state = State {
            snapshot: s.snapshot.clone(),
            overrides: Arc::new(Mutex::new(None)),
            token: Some(TOKEN.into()),
            pools,
            local: s.local.clone(),
        };
        let overrides = state.overrides.clone();
        let app = router(state);
        let (code, body) = s.rt.block_on(post(app.clone(), "/override", data));
        check(code, &body, &[StatusCode::ACCEPTED]);
        if code == StatusCode::ACCEPTED {
            accepted_override(data, &overrides);
        }
        let (code, body) = s.rt.block_on(post(app, "/pools/jobs/reservations", data));
        check(code, &body, &[StatusCode::CREATED, StatusCode::ACCEPTED, StatusCode::CONFLICT]);
    });
});

async fn post(app: axum::Router, path: &str, data: &[u8]) -> (StatusCode, Value) {
    let req = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(data.to_vec()))
        .expect("a request");
    let resp = app.oneshot(req).await.expect("the router is infallible");
    let code = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("a bounded body");
    (code, serde_json::from_slice(&bytes).expect("every answer is JSON"))
}

fn check(code: StatusCode, body: &Value, success: &[StatusCode]) {
    if code == StatusCode::BAD_REQUEST {
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "400 without a reason: {body}");
    } else {
        assert!(success.contains(&code), "{code}: {body}");
    }
}

fn accepted_override(data: &[u8], slot: &Mutex<Option<trimtab::core::ManualOverride>>) {
    let asked: Value = serde_json::from_slice(data).expect("an accepted body is JSON");
    let o = slot.lock().unwrap().clone().expect("an accepted override is stored");
    assert_eq!(Some(u64::from(o.count.get())), asked["desired"].as_u64(), "{asked}");
    assert!(!o.reason.trim().is_empty());
    let ahead = o.expires_at - Utc::now();
    assert!(ahead > -TimeDelta::seconds(5) && ahead <= TimeDelta::days(1), "expires in {ahead}: {asked}");
}
