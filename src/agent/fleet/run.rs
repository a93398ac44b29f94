//! The controller's driver: the loop around [`Controller::tick`], as thin as the sidecar's.
//! Signals first; then a tick at every slot of `agent.interval` until SIGTERM/SIGINT, each
//! published to the API ([`crate::api::fleet`]). A tick in progress at a signal is waited for
//! within [`super::super::SHUTDOWN_GRACE`]: a change it started is bounded by its own 8 s.

use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use tracing::{Instrument, info, info_span};

use super::ports::SystemClock;
use super::{Controller, Settings};
use crate::aws::{self, CloudWatch, Connection, EcsFleet, Sns};
use crate::config::model::Config;
use crate::notify::Notifier;
use crate::status::{FleetView, Standing};

/// Runs the controller until SIGTERM/SIGINT, or for one tick with `once` (its view returned).
pub async fn run(cfg: Config, metadata_uri: Option<String>, once: bool) -> anyhow::Result<FleetView> {
    let fleet = cfg
        .fleet
        .clone()
        .with_context(|| format!("{}: controller mode needs [[services]] or [discovery]", cfg.file))?;
    let interval = cfg.agent.interval.to_std().context("agent.interval")?;
    let token = crate::agent::token::api_token(&cfg.agent, std::env::var("TRIMTAB_API_TOKEN").ok())?;
    if !once {
        crate::agent::token::check_listen(cfg.agent.listen, token.as_deref())?;
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        crate::agent::run::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let c = &fleet.controller;
    let conn = Connection {
        region: c.region.clone(),
        endpoint_url: c.endpoint_url.clone(),
        retries: true,
        ..Connection::default()
    };
    let sdk = aws::sdk_config(&conn).await;
    anyhow::ensure!(
        sdk.region().is_some(),
        "{}: no AWS region: set [controller].region or AWS_REGION",
        cfg.file
    );
    let shares = c.cluster.is_some() && c.service.is_some();
    let me = match (shares, &metadata_uri) {
        (false, _) => None,
        (true, Some(uri)) => {
            let http = crate::sources::http_client();
            let arn = crate::sources::task::own_task_arn(&http, uri)
                .await
                .map_err(anyhow::Error::msg)
                .context("cannot read this task's ARN from the task metadata endpoint")?;
            Some(arn)
        }
        (true, None) => anyhow::bail!(
            "{}: [controller] cluster and service name the service this controller shares the fleet with, \
             but this process is not in an ECS task (no ECS_CONTAINER_METADATA_URI_V4), so it cannot be one of \
             its members. Run it as that service's task, or remove [controller] cluster and service to run it alone",
            cfg.file
        ),
    };
    let region = sdk.region().map(ToString::to_string);
    let settings = Settings {
        interval,
        dry_run: cfg.agent.dry_run,
        me,
        region,
        updates_per_second: super::UPDATES_PER_SECOND,
    };
    let mut ctl = Controller::new(fleet, settings, EcsFleet::new(&sdk), CloudWatch::new(&sdk), SystemClock);
    let wants_sns = cfg.notify.iter().any(|t| matches!(t.target, crate::config::NotifyTarget::Sns { .. }));
    let notifier = notifier(&cfg, wants_sns.then(|| Sns::new(&sdk)));
    if let Some(n) = &notifier {
        ctl = ctl.with_notify(n.clone());
    }
    if once {
        let view = ctl.tick().instrument(info_span!("tick", tick = 1)).await.clone();
        flush(notifier.as_deref(), crate::agent::run::NOTIFY_FLUSH_ONCE).await;
        return Ok(view);
    }
    let listener = tokio::net::TcpListener::bind(cfg.agent.listen)
        .await
        .with_context(|| format!("cannot listen on {} (agent.listen)", cfg.agent.listen))?;
    info!(listen = %listener.local_addr()?, interval = ?interval, dry_run = cfg.agent.dry_run, "trimtab controller started");
    let (view_tx, view_rx) = tokio::sync::watch::channel(Arc::new(ctl.view().clone()));
    let state = crate::api::fleet::FleetState {
        view: view_rx,
        started_at: Utc::now(),
        interval_seconds: cfg.agent.interval.num_seconds(),
    };
    let server =
        tokio::spawn(crate::api::fleet::serve(listener, state, crate::agent::run::stopped(stop_rx.clone())));
    let mut ticker = crate::agent::Schedule::new(interval);
    let mut durations = crate::status::Histogram::default();
    loop {
        tokio::select! {
            biased;
            _ = crate::agent::run::stopped(stop_rx.clone()) => break,
            _ = ticker.tick() => {}
        }
        let started = tokio::time::Instant::now();
        // Every line of the tick carries its number; a service's own lines name the service.
        let span = info_span!("tick", tick = ctl.view().ticks + 1);
        let tick = async { ctl.tick().await.clone() }.instrument(span);
        let Some(mut view) = crate::agent::run::until_stopped(tick, stop_rx.clone()).await else { break };
        durations.observe(started.elapsed().as_secs_f64());
        view.tick_seconds = durations.clone();
        log_tick(&view);
        view_tx.send_replace(Arc::new(view));
        ticker.skip_missed();
    }
    info!("shutting down");
    flush(notifier.as_deref(), crate::agent::run::NOTIFY_FLUSH_SHUTDOWN).await;
    let _ = tokio::time::timeout(crate::agent::run::SERVER_STOP, server).await;
    Ok(view_tx.borrow().as_ref().clone())
}

/// The `[[notify]]` targets' notifier, named after the controller's own service (else
/// `controller`), when there are any.
fn notifier(cfg: &Config, sns: Option<Sns>) -> Option<Arc<Notifier>> {
    if cfg.notify.is_empty() {
        return None;
    }
    let c = cfg.fleet.as_ref().map(|f| &f.controller);
    let name = match c.and_then(|c| c.cluster.as_ref().zip(c.service.as_ref())) {
        Some((cluster, service)) => format!("{cluster}/{service}"),
        None => "controller".to_owned(),
    };
    Some(Arc::new(Notifier::new(&cfg.notify, sns, &name)))
}

async fn flush(notifier: Option<&Notifier>, limit: std::time::Duration) {
    if let Some(n) = notifier {
        n.flush(limit).await;
    }
}

/// The tick's summary: routine, DEBUG (changes and failures are logged service by service).
fn log_tick(v: &FleetView) {
    let count = |s: Standing| v.services.values().filter(|x| x.standing == s).count();
    let calls: u32 = v.calls.values().sum();
    tracing::debug!(
        members = v.members.len(),
        acting = count(Standing::Acting),
        settling = count(Standing::Settling),
        elsewhere = count(Standing::Elsewhere),
        aws_calls = calls,
        "controller tick"
    );
}
