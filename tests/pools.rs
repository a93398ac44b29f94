//! Resource pools through the local API, as the app uses them: many concurrent clients keep
//! the ledger exact, refusals answer 409 with the reason, a preempted holder learns it from its
//! reservation, and a saturated pool scales the service out.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};
use trimtab::agent::{Agent, Options};

const CLIENTS: usize = 60;
const ROUNDS: usize = 12;

fn config(pools: &str, metrics: &str) -> trimtab::config::Config {
    let text = format!("[agent]\ninterval = \"1s\"\n\n[scaling]\nmin = 1\nmax = 10\n{metrics}\n{pools}");
    trimtab::config::from_str("pools.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

/// A local-mode agent and its API on a free loopback port.
async fn serve(cfg: trimtab::config::Config) -> (Agent, String) {
    serve_with_token(cfg, None).await
}

async fn serve_with_token(cfg: trimtab::config::Config, token: Option<&str>) -> (Agent, String) {
    let agent = Agent::new(cfg, Options { local: true, ..Options::default() }).await.unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(agent.snapshot());
    std::mem::forget(_tx);
    let state = agent.api_state(rx, token.map(str::to_owned));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(trimtab::api::serve(listener, state, std::future::pending()));
    (agent, base)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn post(c: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let r =
        c.post(url).header("content-type", "application/json").body(body.to_string()).send().await.unwrap();
    (r.status().as_u16(), serde_json::from_str(&r.text().await.unwrap()).unwrap())
}

async fn get(c: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), serde_json::from_str(&r.text().await.unwrap()).unwrap())
}

async fn pool(c: &reqwest::Client, base: &str, name: &str) -> Value {
    let (code, all) = get(c, &format!("{base}/pools")).await;
    assert_eq!(code, 200);
    all["pools"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap().clone()
}

/// What one client saw: answers by status code, and what it still holds (id → amount, secret).
#[derive(Default)]
struct Seen {
    codes: BTreeMap<u16, u64>,
    held: BTreeMap<u64, (u64, String)>,
    released: u64,
}

/// A small deterministic generator per client, so a failure replays.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *state >> 33
}

async fn client(c: reqwest::Client, base: Arc<String>, n: usize) -> Seen {
    let mut seen = Seen::default();
    let mut rng = n as u64 + 1;
    for _ in 0..ROUNDS {
        let amount = 1 + next(&mut rng) % 120;
        let priority = ["low", "medium", "high", "critical"][(next(&mut rng) % 4) as usize];
        let body =
            json!({ "amount": amount, "priority": priority, "ttl": "10m", "holder": format!("client-{n}") });
        let (code, v) = post(&c, &format!("{base}/pools/jobs/reservations"), body).await;
        *seen.codes.entry(code).or_default() += 1;
        match code {
            201 => {
                seen.held
                    .insert(v["id"].as_u64().unwrap(), (amount, v["secret"].as_str().unwrap().to_owned()));
            }
            409 => {
                assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()) && v["code"].is_string(), "{v}")
            }
            other => panic!("unexpected {other}: {v}"),
        }
        // Release about half of what is held, as work finishes.
        if next(&mut rng).is_multiple_of(2)
            && let Some((&id, (_, secret))) = seen.held.iter().next()
        {
            let (code, v) = release(&c, &format!("{base}/pools/jobs/reservations/{id}"), Some(secret)).await;
            assert_eq!(code, 200, "{v}");
            seen.held.remove(&id);
            seen.released += 1;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_concurrent_clients_keep_the_ledger_exact() {
    let (_agent, base) = serve(config("[pools.jobs]\ncapacity = 1000\n", "")).await;
    let base = Arc::new(base);
    let tasks: Vec<_> = (0..CLIENTS).map(|n| tokio::spawn(client(http(), base.clone(), n))).collect();
    let mut all = Vec::new();
    for t in tasks {
        all.push(t.await.unwrap());
    }
    let c = http();
    let p = pool(&c, &base, "jobs").await;
    let held: u64 = all.iter().flat_map(|s| s.held.values()).map(|(amount, _)| amount).sum();
    let granted: u64 = all.iter().map(|s| s.codes.get(&201).copied().unwrap_or(0)).sum();
    let refused: u64 = all.iter().map(|s| s.codes.get(&409).copied().unwrap_or(0)).sum();
    let released: u64 = all.iter().map(|s| s.released).sum();
    assert_eq!(granted + refused, (CLIENTS * ROUNDS) as u64, "every request got 201 or 409");
    assert!(granted > 0 && refused > 0, "the pool both granted and refused: {granted} / {refused}");
    // The server's ledger is exactly what the clients hold, never above capacity.
    assert_eq!(p["allocated"], held, "{p}");
    assert_eq!(p["available"], 1000 - held);
    assert!(held <= 1000);
    assert_eq!(p["granted_total"], granted);
    assert_eq!(p["refused_total"], refused);
    assert_eq!(p["released_total"], released);
    assert_eq!(p["active"], all.iter().map(|s| s.held.len()).sum::<usize>());

    // Everyone releases at once: the pool is empty again.
    let releases: Vec<_> = all
        .iter()
        .flat_map(|s| s.held.iter().map(|(id, (_, secret))| (*id, secret.clone())))
        .map(|(id, secret)| {
            let (c, base) = (c.clone(), base.clone());
            tokio::spawn(async move {
                release(&c, &format!("{base}/pools/jobs/reservations/{id}"), Some(&secret)).await.0
            })
        })
        .collect();
    for r in releases {
        assert_eq!(r.await.unwrap(), 200);
    }
    let p = pool(&c, &base, "jobs").await;
    assert_eq!(
        (p["allocated"].as_u64(), p["available"].as_u64(), p["active"].as_u64()),
        (Some(0), Some(1000), Some(0))
    );
}

#[tokio::test]
async fn refusals_queueing_and_preemption_over_http() {
    let pools = "[pools.jobs]\ncapacity = 100\npreemption = true\nmax_wait = \"30s\"\n";
    let (_agent, base) = serve(config(pools, "")).await;
    let (c, url) = (http(), format!("{base}/pools/jobs/reservations"));

    let (code, low) = post(&c, &url, json!({ "amount": 70, "priority": "low" })).await;
    assert_eq!(code, 201, "{low}");
    let (code, v) = post(&c, &url, json!({ "amount": 50, "priority": "medium" })).await;
    assert_eq!(code, 409, "{v}");
    assert_eq!(v["code"], "insufficient");
    assert!(v["error"].as_str().unwrap().contains("50"), "{v}");
    let (code, v) = post(&c, &url, json!({ "amount": 50, "priority": "medium", "wait": "2m" })).await;
    assert_eq!((code, v["code"].as_str()), (409, Some("wait_too_long")), "{v}");
    let (code, queued) = post(&c, &url, json!({ "amount": 50, "priority": "medium", "wait": "20s" })).await;
    assert_eq!((code, queued["state"].as_str(), queued["position"].as_u64()), (202, Some("queued"), Some(1)));
    assert_eq!(pool(&c, &base, "jobs").await["queued"], 1);

    // A critical request takes the low one's place; the low holder sees why on its id.
    let (code, crit) = post(&c, &url, json!({ "amount": 60, "priority": "critical" })).await;
    assert_eq!(code, 201, "{crit}");
    assert_eq!(crit["preempted"], json!([low["id"]]));
    let (_, v) = get(&c, &format!("{url}/{}", low["id"])).await;
    assert_eq!(v["reservation"]["state"], "preempted", "{v}");
    assert_eq!(v["reservation"]["by"], crit["id"]);
    let secret = |v: &Value| v["secret"].as_str().unwrap().to_owned();
    let (code, _) = release(&c, &format!("{url}/{}", low["id"]), Some(&secret(&low))).await;
    assert_eq!(code, 409, "a preempted reservation is not released twice");

    // Releasing the critical one serves the queue.
    assert_eq!(release(&c, &format!("{url}/{}", crit["id"]), Some(&secret(&crit))).await.0, 200);
    let (_, v) = get(&c, &format!("{url}/{}", queued["id"])).await;
    assert_eq!(v["reservation"]["state"], "active", "{v}");

    // Bad input names the field; unknown pools and ids are 404.
    let (code, v) = post(&c, &url, json!({ "amount": -3 })).await;
    assert_eq!(code, 400);
    assert!(v["error"].as_str().unwrap().starts_with("amount:"), "{v}");
    let (code, v) = post(&c, &url, json!({ "amount": 3, "priority": "urgent" })).await;
    assert_eq!(code, 400);
    assert!(v["error"].as_str().unwrap().contains("priority"), "{v}");
    let (code, _) = post(&c, &format!("{base}/pools/nope/reservations"), json!({ "amount": 1 })).await;
    assert_eq!(code, 404);
    assert_eq!(get(&c, &format!("{url}/999")).await.0, 404);
}

#[tokio::test]
async fn a_saturated_pool_raises_the_score_and_the_desired_count() {
    let metrics =
        "[[scaling.metrics]]\nname = \"jobs_pool\"\nsource = \"pools\"\npool = \"jobs\"\ntarget = 80\n";
    let pools = "[pools.jobs]\ncapacity = 10\nmax_wait = \"1m\"\n";
    let (mut agent, base) = serve(config(pools, metrics)).await;
    let c = http();
    let url = format!("{base}/pools/jobs/reservations");

    // Half full: under the target, the service stays at its min.
    assert_eq!(post(&c, &url, json!({ "amount": 5 })).await.0, 201);
    let t = agent.tick(Utc::now()).await;
    let d = t.decision.unwrap();
    assert_eq!((d.score.value, d.desired.get()), (Some(50.0 / 80.0), 1));

    // Full, with as much again waiting: pressure 200% of capacity.
    assert_eq!(post(&c, &url, json!({ "amount": 5 })).await.0, 201);
    assert_eq!(post(&c, &url, json!({ "amount": 10, "wait": "50s" })).await.0, 202);
    let t = agent.tick(Utc::now()).await;
    let d = t.decision.unwrap();
    assert_eq!(d.score.value, Some(200.0 / 80.0), "{}", d.message);
    assert!(d.desired.get() > 1, "a saturated pool scales out: {}", d.message);
}

// ---- issue 14: bounded under any input ----

/// `DELETE` of a reservation, with its secret when given.
async fn release(c: &reqwest::Client, url: &str, secret: Option<&str>) -> (u16, Value) {
    let mut req = c.delete(url);
    if let Some(s) = secret {
        req = req.header("reservation-secret", s);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null))
}

#[tokio::test]
async fn issue_14_only_the_holder_of_a_reservations_secret_may_release_it() {
    let (_agent, base) = serve(config("[pools.jobs]\ncapacity = 10\nmax_wait = \"30s\"\n", "")).await;
    let (c, url) = (http(), format!("{base}/pools/jobs/reservations"));
    let (code, held) = post(&c, &url, json!({ "amount": 10 })).await;
    assert_eq!(code, 201, "{held}");
    let secret = held["secret"].as_str().expect("a granted reservation carries its secret").to_owned();
    assert_eq!(secret.len(), 64, "256 bits in hex: {secret}");
    let (code, queued) = post(&c, &url, json!({ "amount": 5, "wait": "20s" })).await;
    assert_eq!(code, 202, "{queued}");
    let queued_secret = queued["secret"].as_str().expect("a queued request carries its secret").to_owned();
    assert_ne!(secret, queued_secret);
    let href = |v: &Value| format!("{base}{}", v["href"].as_str().unwrap());

    // No secret, someone else's, or a malformed one: 403, and nothing is released.
    for wrong in [None, Some(queued_secret.as_str()), Some("not-a-secret")] {
        let (code, v) = release(&c, &href(&held), wrong).await;
        assert_eq!((code, v["code"].as_str()), (403, Some("wrong_secret")), "{wrong:?}: {v}");
    }
    let (_, v) = get(&c, &href(&held)).await;
    assert_eq!(v["reservation"]["state"], "active", "{v}");
    assert!(v["reservation"].get("secret").is_none(), "a secret is shown once, at the grant: {v}");
    let (_, p) = get(&c, &format!("{base}/pools/jobs")).await;
    assert!(!p.to_string().contains(&secret), "the pool's listing shows no secret");

    // Its own secret releases it; the waiter it made room for keeps its own secret.
    let (code, v) = release(&c, &href(&held), Some(&secret)).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["released"]["served"], json!([queued["id"]]));
    assert_eq!(release(&c, &href(&queued), Some(&secret)).await.0, 403);
    assert_eq!(release(&c, &href(&queued), Some(&queued_secret)).await.0, 200);
    // An id never handed out is 404 whatever the secret.
    assert_eq!(release(&c, &format!("{url}/77"), Some(&secret)).await.0, 404);
}

#[tokio::test]
async fn issue_14_writes_need_a_json_content_type() {
    const TOKEN: &str = "0123456789abcdef-token";
    let cfg = config("[pools.jobs]\ncapacity = 10\n", "");
    let (_agent, base) = serve_with_token(cfg, Some(TOKEN)).await;
    let c = http();
    let body = json!({ "amount": 1 }).to_string();
    let override_body = json!({ "desired": 2, "reason": "test", "expires_in": "1m" }).to_string();
    // What a web page may send cross-origin without a preflight, and what curl -d sends.
    for kind in
        [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data"), None]
    {
        let mut r = c.post(format!("{base}/pools/jobs/reservations")).body(body.clone());
        let mut o = c.post(format!("{base}/override")).bearer_auth(TOKEN).body(override_body.clone());
        if let Some(k) = kind {
            (r, o) = (r.header("content-type", k), o.header("content-type", k));
        }
        for (what, req) in [("pool", r), ("override", o)] {
            let resp = req.send().await.unwrap();
            let code = resp.status().as_u16();
            let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
            assert_eq!(
                (code, v["code"].as_str()),
                (415, Some("unsupported_media_type")),
                "{what} {kind:?}: {v}"
            );
        }
    }
    assert_eq!(pool(&c, &base, "jobs").await["allocated"], 0, "nothing was reserved");
    let r = c
        .post(format!("{base}/pools/jobs/reservations"))
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
}

#[tokio::test]
async fn issue_14_a_pools_listing_is_a_bounded_page_with_counts() {
    let (_agent, base) = serve(config("[pools.jobs]\ncapacity = 1000\n", "")).await;
    let (c, url) = (http(), format!("{base}/pools/jobs/reservations"));
    for _ in 0..250 {
        assert_eq!(post(&c, &url, json!({ "amount": 1 })).await.0, 201);
    }
    let (code, page) = get(&c, &format!("{base}/pools/jobs")).await;
    assert_eq!(code, 200, "{page}");
    assert_eq!((page["pool"]["active"].as_u64(), page["pool"]["queued"].as_u64()), (Some(250), Some(0)));
    assert_eq!(page["active"].as_array().map(Vec::len), Some(100), "a page holds 100 by default");
    // Following `next` lists every reservation exactly once.
    let mut seen = Vec::new();
    let mut next = Some("/pools/jobs?limit=64".to_owned());
    while let Some(path) = next {
        let (code, page) = get(&c, &format!("{base}{path}")).await;
        assert_eq!(code, 200, "{page}");
        let items = page["active"].as_array().unwrap();
        assert!(items.len() <= 64);
        seen.extend(items.iter().map(|v| v["id"].as_u64().unwrap()));
        next = page["next"]["active"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, (1..=250).collect::<Vec<u64>>());
    let (code, v) = get(&c, &format!("{base}/pools/jobs?limit=100000")).await;
    assert_eq!((code, v["code"].as_str()), (400, Some("bad_query")), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_pool_caps_its_active_reservations_by_default() {
    let (_agent, base) = serve(config("[pools.jobs]\ncapacity = 1000000\n", "")).await;
    let url = Arc::new(format!("{base}/pools/jobs/reservations"));
    // 10,000 one-unit reservations, from 8 clients at once.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let c = http();
                for _ in 0..1250 {
                    let (code, v) = post(&c, &url, json!({ "amount": 1, "ttl": "1h" })).await;
                    assert_eq!(code, 201, "{v}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let c = http();
    let (code, v) = post(&c, &url, json!({ "amount": 1 })).await;
    assert_eq!((code, v["code"].as_str()), (409, Some("active_full")), "{v}");
    assert!(v["error"].as_str().unwrap().contains("10000"), "{v}");
    let (code, v) = post(&c, &url, json!({ "amount": 1, "wait": "5s" })).await;
    assert_eq!((code, v["state"].as_str()), (202, Some("queued")), "a waiter may still queue: {v}");
    let p = pool(&c, &base, "jobs").await;
    assert_eq!(
        (p["active"].as_u64(), p["allocated"].as_u64(), p["queued"].as_u64()),
        (Some(10_000), Some(10_000), Some(1))
    );
}

/// One pool operation must not cost more as the pool grows: at 40,000 reservations held, a
/// request and a release take what they take at 40 (the pool was once linear in its size, and
/// 120,000 reservations made each `POST` visibly slower). The budget is generous enough for a
/// debug build on a busy machine and far below what a linear pool needs.
#[test]
fn issue_14_pool_operations_stay_fast_as_the_pool_grows() {
    use chrono::TimeDelta;
    use trimtab::core::pool::{Outcome, Pool, PoolSpec, Priority, Request};
    let spec = PoolSpec {
        capacity: 1 << 40,
        preemption: true,
        max_wait: TimeDelta::seconds(60),
        default_ttl: TimeDelta::hours(1),
        max_ttl: None,
        max_queue: 100_000,
        max_active: 100_000,
    };
    let mut pool = Pool::new(spec);
    let t0 = Utc::now();
    let started = std::time::Instant::now();
    let budget = std::time::Duration::from_secs(20);
    let mut held = std::collections::VecDeque::new();
    for i in 0..60_000i64 {
        let at = t0 + TimeDelta::milliseconds(i / 8);
        let priority = [Priority::Low, Priority::Medium, Priority::High][(i % 3) as usize];
        let req =
            Request { wait: Some(TimeDelta::seconds(30)), ..Request::new(1 + (i % 7) as u64, priority) };
        if let Outcome::Granted { id, .. } | Outcome::Queued { id, .. } = pool.request(req, at) {
            held.push_back(id);
        }
        // Past 40,000 held, release the oldest as each new one comes: steady churn at that size.
        if held.len() > 40_000 {
            pool.release(held.pop_front().unwrap(), at).unwrap();
        }
        if i % 1000 == 0 {
            assert!(started.elapsed() < budget, "{i} operations took {:?}", started.elapsed());
        }
    }
    assert_eq!(pool.status(t0 + TimeDelta::seconds(10)).active, 40_000);
    assert!(started.elapsed() < budget, "took {:?}", started.elapsed());
}

/// A page that rebinds its own name to 127.0.0.1 reaches a loopback API as a loopback peer, with
/// its name in `Host`: such a request needs the token, as one from another host does.
#[tokio::test]
async fn issue_14_a_reservation_naming_another_host_needs_the_token() {
    const TOKEN: &str = "0123456789abcdef-token";
    let reserve = |c: &reqwest::Client, base: &str, host: &str| {
        c.post(format!("{base}/pools/jobs/reservations"))
            .header("host", host)
            .header("content-type", "application/json")
            .body(json!({ "amount": 1 }).to_string())
    };
    let (_agent, base) = serve(config("[pools.jobs]\ncapacity = 10\n", "")).await;
    let c = http();
    let r = reserve(&c, &base, "rebound.example:9464").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "no token configured: {}", r.text().await.unwrap());
    assert_eq!(reserve(&c, &base, "localhost:9464").send().await.unwrap().status().as_u16(), 201);

    let (_agent, base) = serve_with_token(config("[pools.jobs]\ncapacity = 10\n", ""), Some(TOKEN)).await;
    assert_eq!(reserve(&c, &base, "rebound.example:9464").send().await.unwrap().status().as_u16(), 401);
    let r = reserve(&c, &base, "rebound.example:9464").bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(pool(&c, &base, "jobs").await["allocated"], 1);
}

/// Issue 14, defect 2: a reservation whose `ttl` overflowed duration arithmetic panicked the
/// handler (no token needed, a backtrace logged per request). It is a 400 naming the field, and
/// the agent goes on answering.
#[tokio::test]
async fn issue_14_an_absurd_ttl_is_a_400_not_a_panic() {
    let (_agent, base) = serve(config("[pools.jobs]\ncapacity = 10\n", "")).await;
    let c = http();
    let url = format!("{base}/pools/jobs/reservations");
    for ttl in ["100000000000d100000000000d", "99999999999999999999s", "36501d"] {
        let (code, v) = post(&c, &url, json!({ "amount": 1, "ttl": ttl })).await;
        assert_eq!(code, 400, "{ttl}: {v}");
        assert!(v.to_string().contains("ttl"), "names the field: {v}");
    }
    let (code, _) = post(&c, &url, json!({ "amount": 1, "ttl": "5m" })).await;
    assert_eq!(code, 201, "still serving");
}
