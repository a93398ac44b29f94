//! The notifier against loopback receivers: wiremock webhooks (the payloads, retries, a receiver
//! that never answers) and SNS on moto, which delivers to an HTTP subscription on wiremock.

#[path = "common/emulators.rs"]
mod emulators;

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::Value;
use trimtab::aws::{Connection, Sns};
use trimtab::config::model::NotifyTarget;
use trimtab::core::Money;
use trimtab::core::cost::{BudgetEvent, EventKind, Level, Signal};
use trimtab::notify::{Notifier, NotifyCounters, Retry};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Long enough for any loopback delivery in these tests to finish.
const FLUSH: Duration = Duration::from_secs(30);

fn event() -> BudgetEvent {
    let usd = |d: f64| Money::from_usd(d).unwrap();
    BudgetEvent {
        kind: EventKind::Alert,
        signal: Signal::Forecast,
        level: Level::Warning,
        period: "2026-11".into(),
        amount: usd(463.10),
        threshold: usd(375.0),
        budget: usd(500.0),
        spent: usd(310.0),
        forecast: usd(463.10),
        at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 30, 0).unwrap(),
        message: "forecast $463.10 for 2026-11 crossed the warning level $375.00 (75% of $500.00)".into(),
    }
}

/// What `event()` looks like as JSON, for a webhook and as an SNS message.
fn alert_json() -> Value {
    serde_json::json!({
        "source": "trimtab",
        "kind": "budget",
        "service": "prod/web",
        "event": "budget.alert",
        "signal": "forecast",
        "level": "warning",
        "period": "2026-11",
        "amount_usd": "463.10",
        "threshold_usd": "375.00",
        "budget_usd": "500.00",
        "spent_usd": "310.00",
        "forecast_usd": "463.10",
        "at": "2026-11-22T10:30:00Z",
        "message": "forecast $463.10 for 2026-11 crossed the warning level $375.00 (75% of $500.00)",
    })
}

fn sent_failed(c: &NotifyCounters) -> (u64, u64) {
    (c.sent, c.failed)
}

/// A receiver at `/hook` that answers `status`.
async fn receiver(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

fn webhook(server: &MockServer) -> NotifyTarget {
    NotifyTarget::Webhook { url: format!("{}/hook", server.uri()) }
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

/// Sends one event to `target` with the default retries, waits for it, and returns the counters
/// and how long delivery took.
async fn deliver(target: NotifyTarget) -> (NotifyCounters, Duration) {
    let notifier = Notifier::new(&[target.into()], None, "prod/web");
    let start = Instant::now();
    notifier.send(event());
    notifier.flush(FLUSH).await;
    (notifier.counters(), start.elapsed())
}

#[tokio::test]
async fn an_alert_is_one_json_post_with_every_field() {
    let server = receiver(200).await;
    let (counters, _) = deliver(webhook(&server)).await;

    assert_eq!(sent_failed(&counters), (1, 0));
    let got = requests(&server).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers["content-type"], "application/json");
    assert_eq!(got[0].headers["user-agent"], concat!("trimtab/", env!("CARGO_PKG_VERSION")));
    assert_eq!(got[0].body_json::<Value>().unwrap(), alert_json());
}

#[tokio::test]
async fn a_slack_target_gets_a_text_payload() {
    let server = receiver(200).await;
    let (counters, _) = deliver(NotifyTarget::Slack { url: format!("{}/hook", server.uri()) }).await;

    assert_eq!(counters.sent, 1);
    let body: Value = requests(&server).await[0].body_json().unwrap();
    let text = body["text"].as_str().unwrap();
    for part in ["prod/web", "warning", "forecast", "$463.10", "$310.00", "$500.00"] {
        assert!(text.contains(part), "{part:?} missing from {text:?}");
    }
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;

    let (counters, took) = deliver(webhook(&server)).await;

    assert_eq!(sent_failed(&counters), (1, 0));
    assert_eq!(requests(&server).await.len(), 3);
    // The default pauses: 0.5 s after the first failure, 1 s after the second.
    assert!(took >= Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let server = receiver(400).await;
    let (counters, took) = deliver(webhook(&server)).await;

    assert_eq!(sent_failed(&counters), (0, 1));
    assert_eq!(requests(&server).await.len(), 1);
    assert!(took < Duration::from_millis(500), "{took:?}");
}

#[tokio::test]
async fn a_receiver_that_never_answers_neither_blocks_nor_fails_the_caller() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&server)
        .await;
    let retry =
        Retry { attempts: 3, backoff: Duration::from_millis(20), timeout: Duration::from_millis(300) };
    let notifier = Notifier::with_retry(&[webhook(&server).into()], None, "prod/web", retry);

    let start = Instant::now();
    notifier.send(event());
    let send_took = start.elapsed();
    assert!(send_took < Duration::from_millis(100), "send blocked for {send_took:?}");

    // A flush gives up at its limit while the delivery is still trying.
    let start = Instant::now();
    notifier.flush(Duration::from_millis(100)).await;
    assert!(start.elapsed() < Duration::from_millis(250), "{:?}", start.elapsed());
    assert_eq!(notifier.counters(), NotifyCounters::default());

    notifier.flush(FLUSH).await;
    assert_eq!(sent_failed(&notifier.counters()), (0, 1));
    assert_eq!(requests(&server).await.len(), 3, "every timeout is retried");
}

#[tokio::test]
async fn an_sns_topic_delivers_the_json_to_its_http_subscribers() {
    let connection = Connection {
        region: Some("us-east-1".into()),
        endpoint_url: Some(emulators::moto().into()),
        retries: true,
        static_credentials: Some(("test".into(), "test".into())),
        bulk: false,
    };
    let config = trimtab::aws::sdk_config(&connection).await;
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = format!("trimtab-notify-{}", std::process::id());
    let topic_arn = sns.create_topic().name(&topic).send().await.unwrap().topic_arn().unwrap().to_owned();
    let subscriber = receiver(200).await;
    let endpoint = format!("{}/hook", subscriber.uri());
    sns.subscribe().topic_arn(&topic_arn).protocol("http").endpoint(&endpoint).send().await.unwrap();

    let target = NotifyTarget::Sns { topic_arn: topic_arn.clone() };
    let notifier = Notifier::new(&[target.into()], Some(Sns::new(&config)), "prod/web");
    notifier.send(event());
    notifier.flush(FLUSH).await;

    assert_eq!(sent_failed(&notifier.counters()), (1, 0));
    // moto confirms HTTP subscriptions itself (no SubscriptionConfirmation) and POSTs the
    // notification (JSON, though labelled text/plain) before it answers `Publish`.
    let got: Vec<Value> = requests(&subscriber).await.iter().map(|r| r.body_json().unwrap()).collect();
    assert_eq!(got.len(), 1, "{got:?}");
    let envelope = &got[0];
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], topic_arn.as_str());
    assert_eq!(envelope["Subject"], "trimtab prod/web: budget warning (forecast)");
    let message: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message, alert_json());
}
