//! Notifications. Each [`Event`] (a budget alert, an applied scaling change, a resize, a local
//! alert, a pause or override, a controller's ownership change; see [`event`]) goes to every
//! `[[notify]]` target that opted into its type (`events`, budget alone by default): a generic
//! webhook (the event as JSON), a Slack-compatible webhook (`{"text": ...}` in mrkdwn) or an
//! SNS topic (a short subject, the same JSON as message). [`render`] says what each looks like.
//!
//! The agent and the controller emit through the [`Notify`] port wherever a thing happens; the
//! [`Notifier`] implements it. Before anything is sent, [`gate`] drops an event that repeats one
//! let through within the de-duplication window, and a target whose token bucket is empty
//! skips it (budget alerts excepted: the budget watch already sends each one once); both are counted in [`NotifyCounters`] (`duplicates`, `rate_limited`).
//!
//! A notification never holds up the tick and never fails it. [`Notifier::send`] spawns one
//! delivery per target on the current runtime and returns. An HTTP delivery makes up to
//! [`Retry::attempts`] POSTs, each bounded by [`Retry::timeout`], doubling the pause between
//! them from [`Retry::backoff`]; network errors, timeouts, 429 and 5xx are retried, any other
//! answer is final. An SNS delivery is one `Publish`: the SDK retries the same faults itself
//! (`aws::sdk_config`). A delivery that still fails is logged as a warning and counted in
//! [`NotifyCounters`]; nothing else happens. [`Notifier::flush`] waits, within a limit, for the
//! deliveries in flight, so that `run --once` and shutdown do not cut them off.

pub mod event;
pub mod gate;
pub mod payload;
pub mod render;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::aws::Sns;
use crate::config::model::{EventType, NotifyConfig, NotifyTarget};
pub use crate::core::cost::NotifyCounters;
pub use event::Event;
pub use gate::Limits;

/// The port through which the agent and the controller report what happened. Sending never
/// blocks and never fails the caller.
pub trait Notify: Send + Sync {
    fn notify(&self, event: Event);
}

/// How hard one HTTP delivery tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// POSTs in all, the first included (at least one is made).
    pub attempts: u32,
    /// The pause after the first failed attempt; it doubles after each further one.
    pub backoff: Duration,
    /// One attempt, connecting included, may take this long.
    pub timeout: Duration,
}

impl Default for Retry {
    /// Three attempts, 0.5 s then 1 s apart, 5 s each: at most 16.5 s per delivery.
    fn default() -> Self {
        Retry { attempts: 3, backoff: Duration::from_millis(500), timeout: Duration::from_secs(5) }
    }
}

/// Sends events to the configured targets in the background.
#[derive(Debug)]
pub struct Notifier {
    targets: Vec<NotifyConfig>,
    /// Names the service in notifications whose event names none, e.g. `prod/web`.
    service: String,
    shared: Arc<Shared>,
    /// Deliveries spawned and not yet finished.
    in_flight: watch::Sender<usize>,
    gate: std::sync::Mutex<Gate>,
}

/// The de-duplication window, and each target's bucket (same order as the targets).
#[derive(Debug)]
struct Gate {
    dedup: gate::Dedup,
    buckets: Vec<gate::Bucket>,
}

/// What the delivery tasks share.
#[derive(Debug)]
struct Shared {
    http: reqwest::Client,
    sns: Option<Sns>,
    retry: Retry,
    sent: AtomicU64,
    failed: AtomicU64,
    duplicates: AtomicU64,
    rate_limited: AtomicU64,
    last_failure: std::sync::Mutex<Option<String>>,
}

/// One rendered notification for one target.
enum Message {
    Post { url: String, body: String },
    Publish { topic_arn: String, subject: String, body: String },
}

impl Notifier {
    /// A notifier with the default [`Retry`] and [`Limits`]. `sns` is only needed (and should
    /// only be built) when a target is an SNS topic; without it, deliveries to topics fail.
    pub fn new(targets: &[NotifyConfig], sns: Option<Sns>, service: &str) -> Self {
        Notifier::with_retry(targets, sns, service, Retry::default())
    }

    pub fn with_retry(targets: &[NotifyConfig], sns: Option<Sns>, service: &str, retry: Retry) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("trimtab/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .connect_timeout(retry.timeout)
            .build()
            .expect("an HTTP client with the built-in TLS backend and no proxies builds");
        let shared = Shared {
            http,
            sns,
            retry,
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            last_failure: std::sync::Mutex::default(),
        };
        Notifier {
            targets: targets.to_vec(),
            service: service.to_owned(),
            shared: Arc::new(shared),
            in_flight: watch::Sender::new(0),
            gate: std::sync::Mutex::new(Gate::new(&Limits::default(), targets.len())),
        }
    }

    /// The same notifier with other de-duplication and rate limits.
    pub fn with_limits(self, limits: Limits) -> Self {
        let gate = Gate::new(&limits, self.targets.len());
        Notifier { gate: std::sync::Mutex::new(gate), ..self }
    }

    /// Starts delivering `event` to every target that wants its type, unless it repeats one
    /// sent within the window or a target's rate limit is spent, and returns at once. Without
    /// a tokio runtime (a bug in the caller) the notification is dropped and counted as failed.
    pub fn send(&self, event: impl Into<Event>) {
        let event = event.into();
        let kind = event.kind();
        let wanted: Vec<&NotifyConfig> = self.targets.iter().filter(|t| t.wants(kind)).collect();
        if wanted.is_empty() {
            return;
        }
        let Ok(runtime) = Handle::try_current() else {
            warn!(kind = %kind, targets = wanted.len(), "no async runtime: notification dropped");
            *self.shared.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                Some("no async runtime: dropped".to_owned());
            self.shared.failed.fetch_add(wanted.len() as u64, Ordering::Relaxed);
            return;
        };
        let json = render::json(&self.service, &event);
        for target in self.admit(&event) {
            let message = self.render(target, &event, &json);
            let shared = Arc::clone(&self.shared);
            let in_flight = InFlight::start(&self.in_flight);
            runtime.spawn(async move {
                let _in_flight = in_flight;
                shared.deliver(message, kind).await;
            });
        }
    }

    /// The targets `event` goes to now: none for a repeat, else those that want it and have a
    /// token left. What is dropped is counted.
    fn admit(&self, event: &Event) -> Vec<&NotifyTarget> {
        let now = tokio::time::Instant::now();
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        let key = event.key();
        if gate.dedup.repeats(&key, now) {
            debug!(kind = %event.kind(), key, "notification dropped: it repeats one sent within the window");
            self.shared.duplicates.fetch_add(1, Ordering::Relaxed);
            return Vec::new();
        }
        // Budget alerts skip the rate limit: the budget watch already sends each (signal, level,
        // period) once, and a burst of scaling events must not crowd one out.
        let exempt = matches!(event, Event::Budget(_));
        let mut admitted = Vec::new();
        for (t, bucket) in self.targets.iter().zip(&mut gate.buckets).filter(|(t, _)| t.wants(event.kind())) {
            if exempt || bucket.take(now, &destination(&t.target)) {
                admitted.push(&t.target);
            } else {
                self.shared.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Only what went somewhere counts as sent: an event every target's bucket refused may
        // still go out when it comes again.
        if !admitted.is_empty() {
            gate.dedup.remember(&key, now);
        }
        admitted
    }

    /// Waits until no delivery is in flight, or `limit` has passed.
    pub async fn flush(&self, limit: Duration) {
        let mut in_flight = self.in_flight.subscribe();
        if tokio::time::timeout(limit, in_flight.wait_for(|n| *n == 0)).await.is_err() {
            let left = *self.in_flight.borrow();
            warn!(in_flight = left, ?limit, "stopped waiting for notifications");
        }
    }

    pub fn counters(&self) -> NotifyCounters {
        NotifyCounters {
            sent: self.shared.sent.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
            duplicates: self.shared.duplicates.load(Ordering::Relaxed),
            rate_limited: self.shared.rate_limited.load(Ordering::Relaxed),
            last_failure: self.shared.last_failure.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    fn render(&self, target: &NotifyTarget, event: &Event, json: &str) -> Message {
        match target {
            NotifyTarget::Webhook { url } => Message::Post { url: url.clone(), body: json.to_owned() },
            NotifyTarget::Slack { url } => {
                Message::Post { url: url.clone(), body: render::slack(&self.service, event) }
            }
            NotifyTarget::Sns { topic_arn } => Message::Publish {
                topic_arn: topic_arn.clone(),
                subject: render::subject(&self.service, event),
                body: json.to_owned(),
            },
        }
    }
}

impl Notify for Notifier {
    fn notify(&self, event: Event) {
        self.send(event);
    }
}

impl Gate {
    fn new(limits: &Limits, targets: usize) -> Self {
        let now = tokio::time::Instant::now();
        Gate {
            dedup: gate::Dedup::new(limits),
            buckets: (0..targets).map(|_| gate::Bucket::new(limits, now)).collect(),
        }
    }
}

/// Where a target is, for logs: a webhook's host only (Slack URLs carry a secret in the path).
fn destination(target: &NotifyTarget) -> String {
    match target {
        NotifyTarget::Webhook { url } | NotifyTarget::Slack { url } => post_to(url),
        NotifyTarget::Sns { topic_arn } => format!("sns {topic_arn}"),
    }
}

fn post_to(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("POST {}", u.host_str().unwrap_or("?")),
        Err(_) => "POST (invalid URL)".to_owned(),
    }
}

impl Message {
    /// Where it goes, for logs (see [`destination`]).
    fn destination(&self) -> String {
        match self {
            Message::Post { url, .. } => post_to(url),
            Message::Publish { topic_arn, .. } => format!("sns {topic_arn}"),
        }
    }
}

/// Counts one delivery in flight until dropped (when the task ends or is cancelled).
struct InFlight(watch::Sender<usize>);

impl InFlight {
    fn start(counter: &watch::Sender<usize>) -> Self {
        counter.send_modify(|n| *n += 1);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    why: String,
    transient: bool,
}

impl Shared {
    async fn deliver(&self, message: Message, kind: EventType) {
        let destination = message.destination();
        let result = match message {
            Message::Post { url, body } => self.post(&url, body).await,
            Message::Publish { topic_arn, subject, body } => self.publish(&topic_arn, &subject, &body).await,
        };
        match result {
            Ok(()) => {
                self.sent.fetch_add(1, Ordering::Relaxed);
                info!(destination, kind = %kind, "sent notification");
            }
            Err(error) => {
                warn!(destination, kind = %kind, error, "notification failed");
                *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(format!("{destination}: {error}"));
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    async fn post(&self, url: &str, body: String) -> Result<(), String> {
        let mut pause = self.retry.backoff;
        let mut attempt = 1;
        loop {
            match self.post_once(url, body.clone()).await {
                Ok(()) => return Ok(()),
                Err(f) if f.transient && attempt < self.retry.attempts => {
                    debug!(attempt, error = f.why, ?pause, "notification attempt failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                Err(f) => return Err(format!("{} (attempt {attempt} of {})", f.why, self.retry.attempts)),
            }
        }
    }

    async fn post_once(&self, url: &str, body: String) -> Result<(), Failure> {
        let request =
            self.http.post(url).header(CONTENT_TYPE, "application/json").timeout(self.retry.timeout);
        let status = match request.body(body).send().await {
            Ok(response) => response.status(),
            // A request that could not even be built (a bad URL) will not build next time.
            Err(e) => return Err(Failure { transient: !e.is_builder(), why: error_chain(&e.without_url()) }),
        };
        if status.is_success() {
            return Ok(());
        }
        let transient = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        Err(Failure { transient, why: format!("HTTP {status}") })
    }

    async fn publish(&self, topic_arn: &str, subject: &str, body: &str) -> Result<(), String> {
        let sns = self.sns.as_ref().ok_or("no SNS client was set up")?;
        let id = sns.publish(topic_arn, subject, body).await.map_err(|e| e.to_string())?;
        debug!(message_id = id, "published to SNS");
        Ok(())
    }
}

/// An error and its causes, `: `-separated (reqwest's own message hides the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    std::iter::successors(Some(e), |e| e.source()).map(ToString::to_string).collect::<Vec<_>>().join(": ")
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::core::Money;
    use crate::core::cost::{BudgetEvent, EventKind, Level, Signal};
    use event::{OperatorChange, Scaling};

    fn budget() -> BudgetEvent {
        BudgetEvent {
            kind: EventKind::Alert,
            signal: Signal::Actual,
            level: Level::Critical,
            period: "2026-11".into(),
            amount: Money::ZERO,
            threshold: Money::ZERO,
            budget: Money::ZERO,
            spent: Money::ZERO,
            forecast: Money::ZERO,
            at: Utc::now(),
            message: String::new(),
        }
    }

    fn scaling(from: u32, to: u32) -> Event {
        Event::Scaling(Scaling {
            service: "prod/web".into(),
            at: Utc::now(),
            from,
            to,
            reason: "scale_out".into(),
            message: String::new(),
            metrics: vec![],
        })
    }

    fn hook(name: &str, events: &[EventType]) -> NotifyConfig {
        let target = NotifyTarget::Webhook { url: format!("http://127.0.0.1:9/{name}") };
        NotifyConfig { target, events: events.iter().copied().collect() }
    }

    fn urls(targets: &[&NotifyTarget]) -> Vec<String> {
        targets
            .iter()
            .map(|t| match t {
                NotifyTarget::Webhook { url } | NotifyTarget::Slack { url } => url.clone(),
                NotifyTarget::Sns { topic_arn } => topic_arn.clone(),
            })
            .collect()
    }

    #[test]
    fn send_outside_a_runtime_counts_failures_and_does_not_panic() {
        let targets: [NotifyConfig; 2] = [
            NotifyTarget::Webhook { url: "http://127.0.0.1:9/hook".into() }.into(),
            NotifyTarget::Sns { topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into() }.into(),
        ];
        let notifier = Notifier::new(&targets, None, "prod/web");
        notifier.send(budget());
        let c = notifier.counters();
        assert_eq!((c.sent, c.failed), (0, 2));
        notifier.send(scaling(4, 6));
        assert_eq!(notifier.counters().failed, 2, "no target takes scaling events: nothing to fail");
    }

    #[tokio::test(start_paused = true)]
    async fn each_event_goes_only_to_the_targets_that_opted_into_its_type() {
        let targets = [
            hook("budget", &[EventType::Budget]),
            hook("scaling", &[EventType::Scaling, EventType::Operator]),
        ];
        let n = Notifier::new(&targets, None, "prod/web");
        assert_eq!(urls(&n.admit(&budget().into())), ["http://127.0.0.1:9/budget"]);
        assert_eq!(urls(&n.admit(&scaling(4, 6))), ["http://127.0.0.1:9/scaling"]);
        let resumed = Event::Operator(event::Operator {
            service: "prod/web".into(),
            at: Utc::now(),
            change: OperatorChange::Resumed,
        });
        assert_eq!(urls(&n.admit(&resumed)), ["http://127.0.0.1:9/scaling"]);
        assert_eq!(n.counters(), NotifyCounters::default());
    }

    #[tokio::test(start_paused = true)]
    async fn repeats_and_a_spent_rate_limit_are_dropped_and_counted() {
        let limits = Limits { per_minute: 6, burst: 2, ..Limits::default() };
        let n = Notifier::new(&[hook("a", &[EventType::Scaling])], None, "prod/web").with_limits(limits);
        assert_eq!(n.admit(&scaling(4, 6)).len(), 1);
        assert_eq!(n.admit(&scaling(4, 6)).len(), 0, "the same change again");
        assert_eq!(n.admit(&scaling(6, 8)).len(), 1);
        assert_eq!(n.admit(&scaling(8, 10)).len(), 0, "the burst of 2 is spent");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(n.admit(&scaling(10, 12)).len(), 1, "a token every 10 s");
        let c = n.counters();
        assert_eq!((c.duplicates, c.rate_limited), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_the_rate_limit_dropped_is_not_then_dropped_as_a_repeat() {
        let limits = Limits { per_minute: 6, burst: 1, ..Limits::default() };
        let n = Notifier::new(&[hook("a", &[EventType::Scaling])], None, "prod/web").with_limits(limits);
        assert_eq!(n.admit(&scaling(4, 6)).len(), 1);
        assert_eq!(n.admit(&scaling(6, 8)).len(), 0, "the burst of 1 is spent");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(n.admit(&scaling(6, 8)).len(), 1, "sent once a token is back, not a repeat");
        assert_eq!(n.counters().duplicates, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_alert_is_not_crowded_out_by_a_burst_of_scaling_events() {
        let limits = Limits { per_minute: 6, burst: 1, ..Limits::default() };
        let both = [EventType::Scaling, EventType::Budget];
        let n = Notifier::new(&[hook("a", &both)], None, "prod/web").with_limits(limits);
        assert_eq!(n.admit(&scaling(4, 6)).len(), 1);
        assert_eq!(n.admit(&scaling(6, 8)).len(), 0, "the burst of 1 is spent");
        assert_eq!(n.admit(&Event::Budget(budget())).len(), 1, "the budget alert still goes out");
    }

    #[test]
    fn logs_name_a_webhook_by_host_only() {
        let m = Message::Post {
            url: "https://hooks.slack.com/services/T0/B0/secret".into(),
            body: String::new(),
        };
        assert_eq!(m.destination(), "POST hooks.slack.com");
    }
}
