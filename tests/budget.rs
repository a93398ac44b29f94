//! Cost tracking in the live agent, against the fake AWS on wiremock: a month of scaling events
//! charged to the micro-dollar, budget alerts delivered once per level with a recovery notice,
//! and a budget cap that holds a scale-out back. Time is injected (`Agent::tick(now)`), so a
//! month passes in seconds. Everything on 127.0.0.1.

#[path = "common/fake_aws.rs"]
mod fake_aws;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use fake_aws::{FakeAws, World};
use serde_json::Value;
use trimtab::agent::{Agent, Options};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn options() -> Options {
    Options {
        local: false,
        metadata_uri: None,
        retries: false,
        static_credentials: Some(("test".into(), "test".into())),
        agent_uri: None,
        api_token: None,
    }
}

/// The foundation example's task (us-east-1, Fargate x86, 512 CPU / 1024 MiB: $0.024685 an
/// hour), scaled on the service's CPU, with `budget` and a webhook receiver.
fn config(endpoint: &str, webhook: &str, budget: &str) -> trimtab::config::Config {
    let text = format!(
        "[service]\ncluster = \"prod\"\nname = \"web\"\nregion = \"us-east-1\"\ncpu = 512\nmemory = 1024\n\
         endpoint_url = \"{endpoint}\"\n\
         [scaling]\nmin = 1\nmax = 20\n\
         [[scaling.metrics]]\nname = \"cpu\"\nsource = \"ecs\"\ntarget = 50.0\n\
         [budget]\n{budget}\n\
         [[notify]]\ntype = \"webhook\"\nurl = \"{webhook}/hook\"\n"
    );
    trimtab::config::from_str("t.toml", &text).unwrap()
}

async fn receiver() -> MockServer {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    hook
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn a_month_of_scaling_is_charged_exactly_and_alerts_once_per_level() {
    let fake = FakeAws::start(World::default()).await;
    let hook = receiver().await;
    // $200 a month: warning at $150 (75%), critical at $180 (90%).
    let cfg = config(&fake.uri(), &hook.uri(), "monthly_usd = 200\nwarn_at = 0.75\ncritical_at = 0.90");
    let mut agent = Agent::new(cfg, options()).await.unwrap();
    // (hour of the month, running tasks from then on). No CPU data: the agent holds, and the
    // count changes only as the world says.
    let phases = [(0, 4), (96, 10), (216, 16), (312, 4)];
    let start = utc("2026-11-01T00:00:00Z");
    let mut seen_levels = Vec::new();
    for h in (0..=456).step_by(2) {
        let count = phases.iter().rev().find(|(from, _)| h >= *from).unwrap().1;
        fake.world.lock().unwrap().desired = count;
        agent.tick(start + TimeDelta::hours(h)).await;
        let snap = agent.snapshot();
        let b = snap.cost.as_ref().unwrap().budget.as_ref().unwrap();
        seen_levels.push((h, b.forecasted));
    }
    agent.flush_notifications(Duration::from_secs(10)).await;

    // The integral by hand: 4 × 96 h + 10 × 120 h + 16 × 96 h + 4 × 144 h = 3696 task-hours.
    let expected_micros = 3696 * 24_685;
    let snap = agent.snapshot();
    let cost = snap.cost.as_ref().unwrap();
    assert_eq!(cost.ledger.month_to_date.micros(), expected_micros);
    assert_eq!(cost.ledger.today.micros(), 0, "the tick at 00:00 on the 20th starts the day");
    let published: Vec<f64> =
        fake.published().await.into_iter().filter(|(n, _)| n == "MonthToDateCost").map(|(_, v)| v).collect();
    assert_eq!(published.len(), 229, "one MonthToDateCost per tick");
    assert!((published.last().unwrap() - 91.23576).abs() < 1e-9, "{published:?}");

    // Forecast: $71 (4 tasks) → $163 (10 tasks: warning) → $238 (16: critical) → $117 (4 again).
    let events: Vec<Value> = hook
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let summary: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().into(),
                e["signal"].as_str().unwrap().into(),
                e["level"].as_str().unwrap().into(),
            )
        })
        .collect();
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        summary,
        [
            s("budget.alert", "forecast", "warning"),
            s("budget.alert", "forecast", "critical"),
            s("budget.recovery", "forecast", "critical"),
            s("budget.recovery", "forecast", "warning"),
        ],
        "{summary:#?}"
    );
    assert!(events.iter().all(|e| e["period"] == "2026-11" && e["budget_usd"] == "200.00"));
    // The README shows this first alert as the webhook body.
    let first = &events[0];
    assert_eq!(
        (&first["at"], &first["amount_usd"], &first["spent_usd"], &first["threshold_usd"]),
        (
            &Value::from("2026-11-05T22:00:00Z"),
            &Value::from("156.083255"),
            &Value::from("14.90974"),
            &Value::from("150.00")
        )
    );
    assert_eq!(
        first["message"],
        "forecast $156.08 for 2026-11 reached the warning level $150.00 (75% of $200.00)"
    );
    let warned_at = seen_levels.iter().find(|(_, l)| *l != trimtab::core::cost::Level::Ok).unwrap().0;
    assert!(
        (96..120).contains(&warned_at),
        "the warning comes within a day of the scale-out, at hour {warned_at}"
    );
    assert_eq!(snap.notifications.as_ref().unwrap().sent, 4);
}

#[tokio::test]
async fn past_the_cap_level_a_scale_out_stops_at_what_the_budget_affords() {
    let now = Utc::now();
    let mut world = World { desired: 4, ..World::default() };
    // CPU at twice its target: the load asks for 8 tasks.
    world.datapoints.insert("CPUUtilization".into(), vec![(now.timestamp() - 90, 100.0)]);
    let fake = FakeAws::start(world).await;
    let hook = receiver().await;
    // A budget that affords 6.5 tasks for the rest of the month; 4 running forecast 61% of it,
    // past the warning level (50%) at which the cap engages.
    let month_end = {
        use chrono::Datelike;
        let first = now.date_naive().with_day(1).unwrap();
        (first + chrono::Months::new(1)).and_hms_opt(0, 0, 0).unwrap().and_utc()
    };
    let hours = (month_end - now).num_seconds() as f64 / 3600.0;
    let budget_usd = 6.5 * 0.024685 * hours;
    let budget = format!("monthly_usd = {budget_usd:.6}\nwarn_at = 0.5\ncritical_at = 0.9\ncap = \"warn\"");
    let mut agent = Agent::new(config(&fake.uri(), &hook.uri(), &budget), options()).await.unwrap();
    let tick = agent.tick(now).await;
    let d = tick.decision.unwrap();
    assert_eq!((d.desired.get(), d.reason.as_str()), (6, "budget_capped"), "{}", d.message);
    assert!(
        d.message.contains("the remaining budget affords 6 tasks; held 2 below the 8 asked"),
        "{}",
        d.message
    );
    assert_eq!(fake.updates().await, [6]);
    let snap = agent.snapshot();
    let b = snap.cost.as_ref().unwrap().budget.as_ref().unwrap();
    assert_eq!((b.affordable, b.cap.map(|c| c.get())), (6, Some(6)));
}

#[tokio::test]
async fn a_week_of_low_use_yields_priced_recommendations() {
    // ECS keeps 4 tasks whatever the agent asks (its scale-ins are not applied).
    let fake = FakeAws::start(World { desired: 4, apply_updates: false, ..World::default() }).await;
    let hook = receiver().await;
    let cfg = config(&fake.uri(), &hook.uri(), "monthly_usd = 1000").to_owned();
    let mut agent = Agent::new(cfg, options()).await.unwrap();
    let start = utc("2026-11-02T00:00:00Z");
    for h in 0..=(7 * 24) {
        let now = start + TimeDelta::hours(h);
        // 10% CPU of the reservation, fresh each tick; memory is not a metric here.
        fake.world
            .lock()
            .unwrap()
            .datapoints
            .insert("CPUUtilization".into(), vec![(now.timestamp() - 90, 10.0)]);
        agent.tick(now).await;
    }
    let snap = agent.snapshot();
    let cost = snap.cost.as_ref().unwrap();
    assert_eq!(cost.efficiency.cpu.map(|c| (c * 100.0).round()), Some(10.0));
    let kinds: Vec<String> = cost
        .recommendations
        .iter()
        .map(|r| serde_json::to_value(r.kind).unwrap().as_str().unwrap().to_owned())
        .collect();
    // ARM: 4 tasks × (0.024685 − 0.01975) × 730 h = $14.41 a month.
    let arm = cost
        .recommendations
        .iter()
        .find(|r| r.title.to_lowercase().contains("arm"))
        .expect("an ARM recommendation");
    assert_eq!(arm.monthly_saving.micros(), 14_410_200, "{kinds:?}");
    assert!(kinds.contains(&"spot".to_owned()), "{kinds:?}");
    assert!(cost.recommendations.windows(2).all(|w| w[0].monthly_saving >= w[1].monthly_saving));
}
