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
    let agent = Agent::new(cfg, Options { local: true, ..Options::default() }).await.unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(agent.snapshot());
    std::mem::forget(_tx);
    let state = agent.api_state(rx, None);
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

/// What one client saw: answers by status code, and what it still holds (id → amount).
#[derive(Default)]
struct Seen {
    codes: BTreeMap<u16, u64>,
    held: BTreeMap<u64, u64>,
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
                seen.held.insert(v["id"].as_u64().unwrap(), amount);
            }
            409 => {
                assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()) && v["code"].is_string(), "{v}")
            }
            other => panic!("unexpected {other}: {v}"),
        }
        // Release about half of what is held, as work finishes.
        if next(&mut rng).is_multiple_of(2)
            && let Some((&id, _)) = seen.held.iter().next()
        {
            let r = c.delete(format!("{base}/pools/jobs/reservations/{id}")).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
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
    let held: u64 = all.iter().flat_map(|s| s.held.values()).sum();
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
        .flat_map(|s| s.held.keys().copied())
        .map(|id| {
            let (c, base) = (c.clone(), base.clone());
            tokio::spawn(async move {
                c.delete(format!("{base}/pools/jobs/reservations/{id}"))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
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
    let r = c.delete(format!("{url}/{}", low["id"])).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 409, "a preempted reservation is not released twice");

    // Releasing the critical one serves the queue.
    let r = c.delete(format!("{url}/{}", crit["id"])).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
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
