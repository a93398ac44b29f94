//! The loop that drives an [`Agent`]: startup (signals first, then alarms, restore, priming),
//! then a tick at every slot of `agent.interval` and a local-monitor sample at every
//! `local.sample_interval`, until SIGTERM/SIGINT.
//!
//! Ticks keep the interval's cadence ([`Schedule`]): a tick that overran is followed by the next
//! slot still ahead, never at once by another. On a signal the tick in progress stops its reads
//! at once and only a change already sent is waited for (see [`super::deadline`]), so the
//! process exits within [`SHUTDOWN_BOUND`]; the Terraform module's `stopTimeout` leaves room.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tracing::{info, warn};

use super::{Agent, Options, alarms};
use crate::aws::{self, CloudWatch, Connection};
use crate::config::model::Config;
use crate::core::Policy;
use crate::status::{Action, CostView, Tick};

/// How long a tick in progress may still run after SIGTERM/SIGINT. The tick itself stops its
/// reads at the signal; only a change already sent (`UpdateService`, at most
/// [`aws::OPERATION_TIMEOUT`]) is waited for, and this bounds even that.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(9);

/// At shutdown, how long the API server may take to close its connections.
pub(crate) const SERVER_STOP: Duration = Duration::from_millis(400);
/// At shutdown, how long the runtime may wait for blocking work (a DNS lookup) before exiting.
pub const RUNTIME_STOP: Duration = Duration::from_millis(200);

/// The process exits within this long of SIGTERM/SIGINT: [`SHUTDOWN_GRACE`], then at most
/// [`NOTIFY_FLUSH_SHUTDOWN`] for notifications, [`SERVER_STOP`] for the API server and
/// [`RUNTIME_STOP`] for the runtime. The Terraform module's `stopTimeout` for the trimtab
/// container leaves room for it (a test compares them).
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(10);

const _: () = assert!(
    SHUTDOWN_GRACE.as_millis()
        + NOTIFY_FLUSH_SHUTDOWN.as_millis()
        + SERVER_STOP.as_millis()
        + RUNTIME_STOP.as_millis()
        <= SHUTDOWN_BOUND.as_millis(),
    "the shutdown steps must fit in SHUTDOWN_BOUND"
);

/// How the run ended.
pub struct Outcome {
    /// The last tick decided and, if it acted, succeeded.
    pub ok: bool,
    pub last: Option<Tick>,
    pub policy: Policy,
    /// Spend and budget after the last tick, when tracked.
    pub cost: Option<CostView>,
}

/// How long `run --once` waits for budget notifications (a delivery retries for up to 16.5 s).
pub(crate) const NOTIFY_FLUSH_ONCE: Duration = Duration::from_secs(20);
/// At shutdown, how long budget notifications still being delivered may take.
pub(crate) const NOTIFY_FLUSH_SHUTDOWN: Duration = Duration::from_millis(300);

/// Sources that need two readings get their first one this long before the first tick.
const PRIME: Duration = Duration::from_secs(1);

/// Runs the agent until SIGTERM/SIGINT (or one tick with `once`).
pub async fn run(cfg: Config, opts: Options, once: bool) -> anyhow::Result<Outcome> {
    let listen = cfg.agent.listen;
    let interval = cfg.agent.interval.to_std().context("agent.interval")?;
    let token = super::token::api_token(&cfg.agent, std::env::var("TRIMTAB_API_TOKEN").ok())?;
    if !once {
        super::token::check_listen(listen, token.as_deref())?;
    }
    let opts = Options { api_token: token.clone(), ..opts };
    // Signals first: startup (restore, alarms) can take a while, and as PID 1 in a container
    // an unhandled SIGTERM would be ignored.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let policy = cfg.scaling.policy.clone();
    let startup = async {
        let alarms = cfg.alarms.enabled && !opts.local && !cfg.agent.dry_run;
        if alarms && let Some(svc) = &cfg.service {
            put_alarms(svc, &cfg.alarms, &opts).await;
        }
        let mut agent = Agent::new(cfg, opts).await?;
        agent.restore(Utc::now()).await;
        agent.prime().await;
        tokio::time::sleep(PRIME).await;
        anyhow::Ok(agent)
    };
    let mut agent = tokio::select! {
        a = startup => a?,
        _ = stopped(stop_rx.clone()) => {
            info!("signal received during startup: stopping");
            return Ok(Outcome { ok: true, last: None, policy, cost: None });
        }
    };
    agent.stop_on(stop_rx.clone());
    if once {
        let t = agent.tick(Utc::now()).await;
        agent.flush_notifications(NOTIFY_FLUSH_ONCE).await;
        let ok = t.error.is_none() && !matches!(t.action, Action::Failed { .. });
        return Ok(Outcome { ok, last: Some(t), cost: agent.snap.cost.clone(), policy: agent.rec.policy });
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (agent.listen)"))?;
    info!(listen = %listener.local_addr()?, interval = ?interval, mode = agent.snap.mode, dry_run = agent.snap.dry_run, "trimtab agent started");
    let (snap_tx, snap_rx) = tokio::sync::watch::channel(agent.snapshot());
    let api_state = agent.api_state(snap_rx, token);
    let server = tokio::spawn(crate::api::serve(listener, api_state, stopped(stop_rx.clone())));
    let mut ticker = Schedule::new(interval);
    let mut sampler =
        tokio::time::interval(agent.cfg.local.sample_interval.to_std().context("local.sample_interval")?);
    sampler.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ok = true;
    let mut last = None;
    loop {
        tokio::select! {
            biased;
            _ = stopped(stop_rx.clone()) => break,
            _ = ticker.tick() => {}
            _ = sampler.tick() => {
                agent.sample_local(Utc::now()).await;
                continue;
            }
        }
        let Some(t) = tick_until_stopped(&mut agent, stop_rx.clone()).await else { break };
        ok = t.error.is_none();
        last = Some(t);
        snap_tx.send_replace(agent.snapshot());
        ticker.skip_missed();
    }
    info!("shutting down");
    agent.flush_notifications(NOTIFY_FLUSH_SHUTDOWN).await;
    let _ = tokio::time::timeout(SERVER_STOP, server).await;
    Ok(Outcome { ok, last, cost: agent.snap.cost.clone(), policy: agent.rec.policy })
}

/// One tick of the loop. The tick sees a shutdown signal itself (see [`Agent::stop_on`]): its
/// reads stop at once and only a change already sent is waited for, so it ends within that
/// change's bound; [`SHUTDOWN_GRACE`] bounds even that. `None` when it did not end in time.
async fn tick_until_stopped(agent: &mut Agent, stop: tokio::sync::watch::Receiver<bool>) -> Option<Tick> {
    until_stopped(agent.tick(Utc::now()), stop).await
}

/// Runs `tick` to its end; after a shutdown signal, for at most [`SHUTDOWN_GRACE`] more (a
/// tick sees the signal itself and stops its reads; a change it sent is waited for). `None`
/// when it did not end in time. The sidecar's loop and the controller's use it.
pub(crate) async fn until_stopped<F: Future>(
    tick: F,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Option<F::Output> {
    tokio::pin!(tick);
    tokio::select! {
        t = &mut tick => Some(t),
        _ = stopped(stop) => {
            info!("signal received during a tick: its reads stop, a change in flight is waited for");
            let t = tokio::time::timeout(SHUTDOWN_GRACE, tick).await;
            if t.is_err() {
                warn!(grace = ?SHUTDOWN_GRACE, "the tick did not end within the shutdown grace; stopping without it");
            }
            t.ok()
        }
    }
}

/// When ticks start: at once, then on the slots `interval` apart. The loop calls
/// [`Schedule::skip_missed`] after each tick, so a tick that overran (its reads stop at the
/// interval, a change may take its 8 s more) is followed by the next slot still ahead, never at
/// once by another: ticks are not stacked behind a slow one, and the cadence is kept. (Tokio's
/// `Interval` fires a missed tick at once whatever its `MissedTickBehavior`.)
#[derive(Debug)]
pub struct Schedule {
    next: tokio::time::Instant,
    interval: Duration,
}

impl Schedule {
    pub fn new(interval: Duration) -> Self {
        Schedule { next: tokio::time::Instant::now(), interval }
    }

    /// Resolves at the next slot. Cancel-safe: dropped before that, it loses nothing.
    pub async fn tick(&mut self) {
        tokio::time::sleep_until(self.next).await;
        self.next += self.interval;
    }

    /// Moves the next slot past now, if it went by (while a tick ran).
    pub fn skip_missed(&mut self) {
        let now = tokio::time::Instant::now();
        if self.next <= now && !self.interval.is_zero() {
            let into = (now - self.next).as_nanos() % self.interval.as_nanos();
            self.next = now + (self.interval - Duration::from_nanos(into as u64));
        }
    }
}

/// `[alarms] enabled`: puts the alarms on start; a failure is logged and scaling goes on.
async fn put_alarms(
    svc: &crate::config::model::ServiceConfig,
    a: &crate::config::model::AlarmsConfig,
    opts: &Options,
) {
    let conn =
        Connection { static_credentials: opts.static_credentials.clone(), ..Connection::for_service(svc) };
    let cw = CloudWatch::new(&aws::sdk_config(&conn).await);
    match alarms::apply(&cw, svc, a).await {
        Ok(plan) => {
            for (spec, change) in plan {
                info!(alarm = %spec.name, change = change.as_str(), "alarm");
            }
        }
        Err(e) => warn!(error = %e, "could not put the alarms; scaling goes on"),
    }
}

/// Resolves once `stop` turns true.
pub(crate) async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => info!("SIGTERM"),
        _ = tokio::signal::ctrl_c() => info!("SIGINT"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14: a tick that overran its interval was followed at once by the next one, so under
    /// a slow AWS the ticks ran back to back. The next tick now waits for the next slot.
    #[tokio::test(start_paused = true)]
    async fn a_tick_that_overran_is_not_followed_at_once_by_another() {
        let start = tokio::time::Instant::now();
        let mut ticker = Schedule::new(Duration::from_secs(15));
        let mut ticks = Vec::new();
        // Ticks that take 2 s, 20 s (reads cut at 15 s, then a change's bound), 2 s, 31 s, 2 s.
        for took in [2, 20, 2, 31, 2] {
            ticker.tick().await;
            ticks.push(start.elapsed().as_secs());
            tokio::time::sleep(Duration::from_secs(took)).await;
            ticker.skip_missed();
        }
        ticker.tick().await;
        ticks.push(start.elapsed().as_secs());
        assert_eq!(ticks, [0, 15, 45, 60, 105, 120], "on the slots, never at once behind a slow tick");
    }

    #[tokio::test(start_paused = true)]
    async fn a_tick_dropped_before_its_slot_loses_nothing() {
        let start = tokio::time::Instant::now();
        let mut ticker = Schedule::new(Duration::from_secs(15));
        ticker.tick().await;
        // The loop's other branch (the local sampler) wins the select now and then.
        let _ = tokio::time::timeout(Duration::from_secs(5), ticker.tick()).await;
        ticker.skip_missed();
        ticker.tick().await;
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }
}
