//! The live agent: each `agent.interval` it reads the service and the metrics, calls the same
//! `core::decide` the simulator uses, and acts if it is the leader.
//!
//! One tick, in order: `DescribeServices` → leader election (sidecars only) → every source
//! (CloudWatch in one batched `GetMetricData`) → `decide` → `UpdateService` only when the
//! count changes → one `PutMetricData` (leader only) → a new snapshot for the API. A failure
//! anywhere is logged, counted and shown in `/status`; the loop goes on. Without the service's
//! state nothing is decided; without metrics the core holds.
//!
//! Every tick is bounded ([`deadline`]): its reads stop at its deadline (the interval) or at a
//! shutdown signal, and the error names the call that overran; a change already sent finishes
//! within its own 8 s bound. The loop that drives the ticks, and shutdown, are in [`run`].

pub mod alarms;
pub mod deadline;
mod election;
mod events;
pub mod fleet;
pub mod leader;
pub mod local;
mod peers;
pub mod plan;
mod protect;
pub mod reconciler;
pub mod record;
pub mod replay;
pub mod restore;
pub(crate) mod run;
pub mod spend;
mod target;
pub mod token;
pub mod vertical;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::aws::{self, AwsError, CloudWatch, Connection, Ecs, Published, ServiceState, Sns};
use crate::config::model::Config;
use crate::core::{self, History, ManualOverride, Observation, Policy, Replicas};
use crate::notify::event::{Resize, Scaling};
use crate::notify::{Event, Notifier, Notify};
use crate::sources::{self, Environment, Sources};
use crate::status::{
    Action, ActionRecord, Cooldowns, Counters, OverrideSlot, PerTask, PolicyView, Role, Series, ServiceView,
    Snapshot, Tick, push_bounded,
};
use deadline::{Cut, Deadline};
pub use reconciler::Reconciler;
pub use run::{Outcome, RUNTIME_STOP, SHUTDOWN_BOUND, SHUTDOWN_GRACE, Schedule, run};
use spend::Spend;
pub use target::Target;

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Run against this machine: `host` metrics, a pretend service, no AWS.
    pub local: bool,
    /// `$ECS_CONTAINER_METADATA_URI_V4`, when in an ECS task.
    pub metadata_uri: Option<String>,
    /// Retry AWS calls (off only in tests that count requests).
    pub retries: bool,
    /// Fixed AWS credentials instead of the default chain (emulators).
    pub static_credentials: Option<(String, String)>,
    /// The API token (`agent.api_token`, else `$TRIMTAB_API_TOKEN`), as `run` resolved it: the
    /// leader sends it to the other tasks' `GET /peer`.
    pub api_token: Option<String>,
    /// `$ECS_AGENT_URI`: the ECS agent's endpoint, for task scale-in protection (`[protection]`).
    pub agent_uri: Option<String>,
}

pub struct Agent {
    cfg: Config,
    /// The service's policy and memory: the same reconciler the controller holds per service.
    rec: Reconciler,
    sources: Sources,
    target: Target,
    cw: Option<CloudWatch>,
    http: reqwest::Client,
    metadata_uri: Option<String>,
    own_task: Option<String>,
    /// This agent's container name, whose ECS health status elects the leader.
    own_container: Option<String>,
    role: Role,
    /// The service's tasks as last read (every tick by the leader).
    tasks: Vec<crate::aws::TaskState>,
    /// When a follower reads the tasks (see [`leader::Checks`]).
    checks: Option<leader::Checks>,
    /// The handover bookkeeping: when this agent took the lead, and whether it may act.
    lead: leader::Lead,
    /// The API's port, when other tasks can reach it: followers then ask the leader's agent.
    probe_port: Option<u16>,
    /// The API token, which other tasks' agents ask for at `GET /peer`.
    peer_token: Option<String>,
    /// This tick's busiest task's app CPU and memory %, for the right-sizer.
    busiest: Option<(Option<f64>, Option<f64>)>,
    overrides: OverrideSlot,
    /// `trimtab:paused = true` on the service at the last tick.
    paused: bool,
    /// Cost tracking, when the service's task can be priced.
    spend: Option<Spend>,
    notifier: Option<Notifier>,
    /// The operator intent and the size recommendation last told to the notifier.
    operator_seen: events::OperatorWatch,
    recommended: events::Recommended,
    pools: sources::pools::PoolSet,
    monitor: local::LocalMonitor,
    vertical: vertical::Applier,
    /// `[protection]` with `$ECS_AGENT_URI`: this task's scale-in protection, every tick.
    protector: Option<sources::protection::Protector>,
    snap: Snapshot,
    /// A tick's reads stop this long after it starts: `agent.interval`.
    tick_limit: Duration,
    /// Turns true on SIGTERM/SIGINT (see [`Agent::stop_on`]).
    stop: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Agent {
    pub async fn new(cfg: Config, opts: Options) -> anyhow::Result<Agent> {
        let pools = sources::pools::PoolSet::new(&cfg.pools, task_limits(&cfg))
            .map_err(anyhow::Error::msg)
            .context(cfg.file.clone())?;
        let env =
            Environment { metadata_uri: opts.metadata_uri.clone(), local: opts.local, pools: pools.clone() };
        let sources = Sources::new(&cfg, &env).map_err(anyhow::Error::msg).context(cfg.file.clone())?;
        let policy = cfg.scaling.policy.clone();
        let tick_limit = cfg.agent.interval.to_std().context("agent.interval")?;
        let mut sdk_region = None;
        let mut sns = None;
        let wants_sns =
            cfg.notify.iter().any(|t| matches!(t.target, crate::config::NotifyTarget::Sns { .. }));
        let (target, cw, name) = if opts.local {
            (Target::Local { desired: policy.bounds.min().get().max(1) }, None, "local".to_owned())
        } else {
            let svc = cfg.service.as_ref().with_context(|| {
                format!("{}: `trimtab run` needs a [service] section (cluster, name), or --local", cfg.file)
            })?;
            let conn = Connection {
                retries: opts.retries,
                static_credentials: opts.static_credentials.clone(),
                ..Connection::for_service(svc)
            };
            let sdk = aws::sdk_config(&conn).await;
            anyhow::ensure!(
                sdk.region().is_some(),
                "{}: no AWS region: set [service].region or AWS_REGION",
                cfg.file
            );
            sdk_region = sdk.region().map(ToString::to_string);
            if wants_sns {
                sns = Some(Sns::new(&sdk));
            }
            let ecs = Ecs::new(&sdk, &svc.cluster, &svc.name);
            (Target::Ecs(ecs), Some(CloudWatch::new(&sdk)), format!("{}/{}", svc.cluster, svc.name))
        };
        let spend = Spend::new(&cfg, sdk_region.as_deref()).map_err(anyhow::Error::msg)?;
        if spend.is_none() && cfg.budget.is_some() {
            warn!("the budget cannot be tracked: the task's price is unknown (no region?)");
        }
        if wants_sns && sns.is_none() {
            let conn = cfg.service.as_ref().map(Connection::for_service).unwrap_or_default();
            sns = Some(Sns::new(&aws::sdk_config(&conn).await));
        }
        let notifier = (!cfg.notify.is_empty()).then(|| Notifier::new(&cfg.notify, sns, &name));
        // A sidecar acts only once it has won an election.
        let role = if opts.metadata_uri.is_some() && !opts.local {
            Role::Follower { task: None, leader: None, why: "not elected yet".into() }
        } else {
            Role::Sole
        };
        let snap = Snapshot {
            version: env!("CARGO_PKG_VERSION"),
            started_at: Utc::now(),
            mode: if opts.local { "local" } else { "ecs" },
            dry_run: cfg.agent.dry_run,
            interval_seconds: cfg.agent.interval.num_seconds(),
            service: name,
            ticks: 0,
            role: role.clone(),
            last: None,
            cooldowns: Cooldowns::default(),
            manual_override: None,
            counters: Counters::default(),
            history: VecDeque::new(),
            actions: VecDeque::new(),
            series: Series::new(policy.metrics.iter().map(|m| m.name.clone()).collect()),
            cost: None,
            notifications: None,
            vertical: None,
            protection: None,
            policy: PolicyView::of(&policy),
            signals: None,
        };
        let protector = opts
            .agent_uri
            .as_deref()
            .filter(|_| cfg.protection.enabled)
            .map(|uri| sources::protection::Protector::new(&cfg.protection, uri, pools.clone()));
        Ok(Agent {
            rec: Reconciler::new(policy),
            sources,
            target,
            cw,
            http: sources::http_client(),
            metadata_uri: if opts.local { None } else { opts.metadata_uri.clone() },
            own_task: None,
            own_container: None,
            role,
            tasks: Vec::new(),
            checks: None,
            lead: leader::Lead::default(),
            probe_port: reachable_port(cfg.agent.listen),
            busiest: None,
            peer_token: opts.api_token.clone(),
            overrides: Arc::new(Mutex::new(None)),
            paused: false,
            spend,
            notifier,
            operator_seen: events::OperatorWatch::default(),
            recommended: events::Recommended::default(),
            pools,
            // The app's containers, in ECS and under `--local` against a fake endpoint alike.
            monitor: local::LocalMonitor::new(&cfg.local, opts.metadata_uri.as_deref()),
            vertical: vertical::Applier::default(),
            protector,
            snap,
            cfg,
            tick_limit,
            stop: None,
        })
    }

    /// Ticks stop their reads, and start no change, once `stop` turns true (SIGTERM/SIGINT).
    pub fn stop_on(&mut self, stop: tokio::sync::watch::Receiver<bool>) {
        self.stop = Some(stop);
    }

    pub fn pools(&self) -> sources::pools::PoolSet {
        self.pools.clone()
    }

    /// What the local API serves: this agent's snapshot, override slot, pools and monitor.
    pub fn api_state(
        &self,
        snapshot: tokio::sync::watch::Receiver<Arc<Snapshot>>,
        token: Option<String>,
    ) -> crate::api::State {
        crate::api::State {
            snapshot,
            overrides: self.overrides(),
            token,
            pools: self.pools(),
            local: self.monitor.shared(),
        }
    }

    /// One reading of the local monitor (see [`local`]); an out-of-memory kill goes to the
    /// right-sizer.
    pub async fn sample_local(&mut self, now: DateTime<Utc>) {
        let (oom, alerts) = self.monitor.sample(now).await;
        for a in &alerts {
            self.emit(events::local_alert(&self.snap.service, self.own_task.as_deref(), a));
        }
        if let (Some(spend), Some(oom)) = (&mut self.spend, oom) {
            spend.record_oom(now, oom.mib);
        }
    }

    pub fn overrides(&self) -> OverrideSlot {
        self.overrides.clone()
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::new(self.snap.clone())
    }

    /// Rebuilds cooldowns and the stabilization window from CloudWatch and the service's
    /// events (see [`restore`]). Failures are logged; the agent then starts with what it has.
    pub async fn restore(&mut self, now: DateTime<Utc>) {
        let span = info_span!("restore", service = %self.snap.service);
        self.restore_inner(now).instrument(span).await;
    }

    async fn restore_inner(&mut self, now: DateTime<Utc>) {
        let (Some(ecs), Some(cw), Some(svc)) = (self.target.ecs(), &self.cw, &self.cfg.service) else {
            return;
        };
        let since = crate::core::types::earlier(now, restore::window(&self.rec.policy));
        let metrics = match cw.get_metric_data(&restore::queries(&svc.cluster, &svc.name), since, now).await {
            Ok(m) => {
                if !m.incomplete.is_empty() {
                    warn!(queries = ?m.incomplete, "restore: CloudWatch answered only in part; those series are left out");
                }
                m.points
            }
            Err(e) => {
                log_aws(&e, "restore: could not read the agent's own metrics; using service events only");
                count_error(&mut self.snap.counters, &e);
                BTreeMap::new()
            }
        };
        let events = match ecs.describe_service().await {
            Ok(s) => {
                self.live_size(s.task_definition.as_deref()).await;
                s.events
            }
            Err(e) => {
                log_aws(&e, "restore: could not read the service's events");
                count_error(&mut self.snap.counters, &e);
                vec![]
            }
        };
        let (history, r) = restore::rebuild(&self.rec.policy, &metrics, &events, now);
        info!(
            last_scale_out = ?r.last_scale_out,
            last_scale_in = ?r.last_scale_in,
            recommendations = r.recommendations,
            "restored scaling history"
        );
        self.rec.history = history;
        self.snap.cooldowns = cooldowns(&self.rec.policy, &self.rec.history);
        self.restore_spend(now).await;
    }

    /// In apply mode the task may have been resized since the config was written: the live task
    /// definition's size is the one to price and size from.
    async fn live_size(&mut self, task_definition: Option<&str>) {
        let apply = self.cfg.vertical.mode == crate::config::model::VerticalMode::Apply;
        let (Some(ecs), Some(spend), Some(arn), true) =
            (self.target.ecs(), &mut self.spend, task_definition, apply)
        else {
            return;
        };
        match ecs.task_definition(arn).await {
            Ok(td) => {
                let configured = self.cfg.service.as_ref().map(|s| (s.cpu, s.memory));
                if let (Some(cpu), Some(memory)) = (td.cpu, td.memory)
                    && configured != Some((Some(cpu), Some(memory)))
                {
                    info!(
                        cpu,
                        memory,
                        task_definition = arn,
                        "the task definition's size differs from the config; using it"
                    );
                    spend.resize(cpu, memory);
                }
            }
            Err(e) => {
                log_aws(&e, "could not read the task definition; sizing from the config");
                count_error(&mut self.snap.counters, &e);
            }
        }
    }

    /// Continues the month-to-date from the agent's own cost metrics: the last three hours at
    /// one-minute resolution, else the month so far by the hour.
    async fn restore_spend(&mut self, now: DateTime<Utc>) {
        let (Some(spend), Some(cw), Some(svc)) = (&mut self.spend, &self.cw, &self.cfg.service) else {
            return;
        };
        let a_month_ago = now - chrono::TimeDelta::days(31);
        for (since, period) in [(now - chrono::TimeDelta::hours(3), 60), (a_month_ago, 3600)] {
            let queries = Spend::restore_queries(&svc.cluster, &svc.name, period);
            match cw.get_metric_data(&queries, since, now).await {
                Ok(m) if m.points.contains_key("mtd") => {
                    let mtd = spend.restore(&m.points, i64::from(period), now);
                    info!(month_to_date = ?mtd.map(|m| m.to_string()), "restored spend");
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    log_aws(&e, "restore: could not read the cost metrics; the month-to-date starts at zero");
                    count_error(&mut self.snap.counters, &e);
                    return;
                }
            }
        }
        info!("no cost metrics this month yet: the month-to-date starts at zero");
    }

    /// First readings for sources that need two (see [`Sources::prime`]).
    pub async fn prime(&mut self) {
        self.sources.prime().await;
    }

    /// One tick, bounded by its deadline (see [`deadline`]). Never fails: problems are in the
    /// returned [`Tick`].
    pub async fn tick(&mut self, now: DateTime<Utc>) -> Tick {
        let started = tokio::time::Instant::now();
        let deadline = Deadline::new(self.tick_limit, self.stop.clone());
        // Every line of the tick carries the service and the tick's number.
        let span = info_span!("tick", service = %self.snap.service, tick = self.snap.ticks + 1);
        let mut tick = self.tick_inner(now, &deadline).instrument(span).await;
        let took = started.elapsed();
        tick.duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        self.snap.counters.tick_seconds.observe(took.as_secs_f64());
        self.snap.ticks += 1;
        self.snap.role = self.role.clone();
        self.snap.cooldowns = cooldowns(&self.rec.policy, &self.rec.history);
        self.snap.manual_override = self.current_override(now);
        self.snap.cost = self.spend.as_ref().and_then(|s| s.view().cloned());
        self.snap.notifications = self.notifier.as_ref().map(Notifier::counters);
        if tick.error.is_some() {
            self.snap.counters.failed_ticks += 1;
        }
        for name in tick.problems.keys() {
            *self.snap.counters.metric_problems.entry(name.clone()).or_default() += 1;
        }
        push_bounded(&mut self.snap.history, tick.clone());
        self.snap.series.record(&tick, self.snap.cost.as_ref());
        self.snap.last = Some(tick.clone());
        tick
    }

    async fn tick_inner(&mut self, now: DateTime<Utc>, dl: &Deadline) -> Tick {
        let mut tick = Tick {
            at: now,
            duration_ms: 0,
            service: None,
            decision: None,
            action: Action::Skipped,
            problems: BTreeMap::new(),
            error: None,
            per_task: BTreeMap::new(),
        };
        match self.elect(now, dl).await {
            Ok(None) => {}
            Ok(Some(why)) => {
                warn!(problem = %why, "not deciding this tick");
                tick.error = Some(why);
                return tick;
            }
            Err(cut) => return stopped_tick(tick, cut),
        }
        if !self.role.acts() {
            // Followers make no AWS call: the leader decides for the whole service, from every
            // task's signals, which a follower reads locally and serves at `GET /peer`.
            tick.action = Action::Following;
            self.protect(now, dl).await;
            match dl.read("task metadata", self.sources.gather_local()).await {
                Ok(g) => self.snap.signals = Some(self.own_signals(&g)),
                Err(cut) => return stopped_tick(tick, cut),
            }
            return tick;
        }
        let state = match dl.read("ecs:DescribeServices", self.target.describe()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                log_aws(&e, "cannot read the service; not deciding this tick");
                count_error(&mut self.snap.counters, &e);
                tick.error = Some(format!("cannot read the service: {e}"));
                return tick;
            }
            Err(cut) => return stopped_tick(tick, cut),
        };
        self.rec.observe(state.desired, now);
        // Operator intent in the service's tags (`trimtab pause|override`), as a controller reads it.
        let operator = match core::operator::read(&state.tags) {
            Ok(op) => op,
            Err(why) => {
                warn!(problem = %why, "the service's tags cannot be read; not deciding this tick");
                tick.error = Some(format!("left alone: {why}"));
                return tick;
            }
        };
        self.paused = operator.paused;
        tick.service = Some(ServiceView {
            desired: state.desired,
            running: state.running,
            pending: state.pending,
            deployment_in_progress: state.deployment_in_progress(),
        });
        let gathered = match dl.read("metric sources", self.sources.gather(self.cw.as_ref(), now)).await {
            Ok(g) => g,
            Err(cut) => {
                let busy = self.sources.busy();
                let call = if busy.is_empty() {
                    "metric sources".to_owned()
                } else {
                    format!("metric sources ({})", busy.join(", "))
                };
                return stopped_tick(tick, cut.during(call));
            }
        };
        let mut gathered = gathered;
        self.snap.signals = Some(self.own_signals(&gathered));
        if let Err(cut) = self.across_tasks(&mut gathered, dl).await {
            return stopped_tick(tick, cut);
        }
        for (name, why) in &gathered.problems {
            warn!(metric = %name, problem = %why, "metric missing this tick");
        }
        tick.per_task = gathered
            .per_task
            .iter()
            .map(|(m, b)| {
                (m.clone(), PerTask::of(b.tasks.iter().map(|t| (t.task.clone(), t.ip, t.value.clone()))))
            })
            .collect();
        tick.problems = gathered.problems;
        self.protect(now, dl).await;
        let budget_cap = self.charge(now, state.running);
        // A metric some tasks did not answer for is missing, but what the others prove may
        // still scale out.
        let mut samples = gathered.samples;
        samples.extend(gathered.lower_bounds.iter().map(|(m, s)| (m.clone(), *s)));
        let obs = Observation {
            current: Replicas(state.desired),
            samples,
            partial: gathered.lower_bounds.into_keys().collect(),
            // An override set through this agent's API comes first, then the service's tag.
            manual_override: self.current_override(now).or_else(|| operator.active_override(now).cloned()),
            budget_cap,
            deployment_in_progress: state.deployment_in_progress(),
        };
        for e in events::operator_events(
            &self.snap.service,
            self.operator_seen.observe(operator.paused, obs.manual_override.as_ref(), now),
            now,
        ) {
            self.emit(e);
        }
        let d = self.rec.decide(&obs, now);
        self.tell_recommendation(now);
        if let Some(spend) = &mut self.spend {
            // The busiest task's app, when every task's is known; else the service's metrics.
            let used = |kind| d.score.contributions.iter().find(|c| c.kind == kind).and_then(|c| c.value);
            let (cpu, memory) =
                self.busiest.take().unwrap_or((used(core::MetricKind::Cpu), used(core::MetricKind::Memory)));
            spend.record_usage(now, cpu, memory);
        }
        let cut = self.resize(&state, now, dl).await.err();
        *self.snap.counters.decisions.entry(d.reason.as_str().to_owned()).or_default() += 1;
        let (action, cut) = self.act(&d, cut, now, dl).await;
        tick.action = action;
        log_decision(&d, &tick.action, &self.role);
        if tick.action != Action::None {
            let record = ActionRecord {
                at: now,
                action: tick.action.clone(),
                reason: d.reason.as_str().to_owned(),
                message: d.message.clone(),
            };
            push_bounded(&mut self.snap.actions, record);
        }
        tick.error = match cut {
            Some(cut) => Some(note_cut(&cut)),
            None => self.publish(&d, &tick.action, now, dl).await.err(),
        };
        tick.decision = Some(d);
        tick
    }

    /// Carries out the plan for `d` ([`plan::plan`]): only an update calls the service. A cut
    /// before (`cut`, or the deadline passing now) leaves the change undone and reported.
    async fn act(
        &mut self,
        d: &core::Decision,
        cut: Option<Cut>,
        now: DateTime<Utc>,
        dl: &Deadline,
    ) -> (Action, Option<Cut>) {
        let why = cut.as_ref().map(Cut::to_string);
        let cx = plan::Context {
            acts: self.role.acts(),
            dry_run: self.cfg.agent.dry_run,
            cut: why.as_deref(),
            paused: self.paused,
            settling: self.settling(now),
            tasks_protected: None,
        };
        let mut intent = plan::plan(d, &cx);
        // Only a service whose tasks protect themselves (`[protection]`) is asked.
        if let plan::Intent::Update { from, to } = intent
            && to < from
            && self.cfg.protection.enabled
            && let Some(why) = self.tasks_protected(now, dl).await
        {
            intent = plan::plan(d, &plan::Context { tasks_protected: Some(&why), ..cx });
        }
        let plan::Intent::Update { from, to } = intent else {
            // Keep and withhold call nothing; a cut stays the tick's error.
            return (intent.action().unwrap_or(Action::None), cut);
        };
        // The deadline may have passed since the plan: a change is only started within it.
        if let Err(late) = dl.check("ecs:UpdateService") {
            warn!(from, to, reason = %d.reason, "the change was not started: {late}");
            return (Action::Failed { from, to, error: late.to_string() }, Some(late));
        }
        // Sent, this change is not cut: the SDK's own bound applies (see `deadline`).
        let action = match self.target.set_desired(to).await {
            Ok(()) => {
                self.rec.applied(d, now);
                self.emit(Event::Scaling(Scaling::applied(&self.snap.service, d, from, to)));
                if to > from {
                    self.snap.counters.scale_out += 1;
                } else {
                    self.snap.counters.scale_in += 1;
                }
                Action::Applied { from, to }
            }
            Err(e) => {
                log_aws(&e, &format!("could not scale from {from} to {to} tasks"));
                count_error(&mut self.snap.counters, &e);
                Action::Failed { from, to, error: e.to_string() }
            }
        };
        (action, None)
    }

    /// Charges the tick to the ledger and sends the budget alerts due (the leader, or a lone
    /// agent, only: followers track the same figures quietly). Returns the budget cap.
    fn charge(&mut self, now: DateTime<Utc>, running: u32) -> Option<Replicas> {
        let spend = self.spend.as_mut()?;
        let (cap, events) = spend.tick(now, running, &self.rec.policy);
        for e in events.iter().filter(|_| self.role.acts()) {
            warn!(kind = ?e.kind, signal = %e.signal, level = %e.level, period = %e.period, "budget: {}", e.message);
            if let Some(n) = &self.notifier {
                n.send(e);
            }
        }
        cap
    }

    /// `vertical.mode = "apply"`: the leader resizes the task when the right-sizer says so (see
    /// [`vertical`]); not in dry-run.
    async fn resize(&mut self, state: &ServiceState, now: DateTime<Utc>, dl: &Deadline) -> Result<(), Cut> {
        let vcfg = &self.cfg.vertical;
        let applies = vcfg.mode == crate::config::model::VerticalMode::Apply && !self.cfg.agent.dry_run;
        let (Some(ecs), Some(spend), true) =
            (self.target.ecs(), &mut self.spend, applies && self.role.acts())
        else {
            return Ok(());
        };
        let Some((sizing, floor)) = spend.sizing().map(|(z, f)| (z.clone(), f)) else { return Ok(()) };
        let resized = self.vertical.consider(ecs, state, (&sizing, floor), vcfg, now, dl).await;
        self.snap.vertical = self.vertical.last.clone();
        if let Some(size) = resized? {
            spend.resize(size.cpu, size.memory);
            let td = self.vertical.last.as_ref().and_then(|v| v.task_definition.clone());
            self.emit(Event::Resize(Resize::applied(&self.snap.service, &sizing, td, now)));
        }
        Ok(())
    }

    /// A firm size recommendation not applied here (`vertical.mode = "recommend"`, or `apply`
    /// in dry run), told once per size by the agent that acts.
    fn tell_recommendation(&mut self, now: DateTime<Utc>) {
        use crate::config::model::VerticalMode;
        let mode = self.cfg.vertical.mode;
        let recommends =
            mode == VerticalMode::Recommend || (mode == VerticalMode::Apply && self.cfg.agent.dry_run);
        if !recommends || !self.role.acts() {
            return;
        }
        let sizing = self.spend.as_ref().and_then(Spend::sizing).map(|(z, _)| z);
        if let Some(e) = self.recommended.observe(&self.snap.service, sizing, now) {
            self.emit(e);
        }
    }

    /// Hands `event` to the notifier, if there are `[[notify]]` targets.
    fn emit(&self, event: Event) {
        if let Some(n) = &self.notifier {
            n.notify(event);
        }
    }

    /// Waits (within `limit`) for notifications still being delivered.
    pub async fn flush_notifications(&self, limit: Duration) {
        if let Some(n) = &self.notifier {
            n.flush(limit).await;
        }
    }

    fn current_override(&self, now: DateTime<Utc>) -> Option<ManualOverride> {
        let mut slot = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|o| !o.is_active(now)) {
            info!("manual override expired");
            *slot = None;
        }
        slot.clone()
    }

    /// The leader's metrics for the tick, in one `PutMetricData`; also the durable record the
    /// next start rebuilds from. Not in dry-run (it changes AWS) and not from followers. A
    /// failure is the tick's error: without this record a restart rebuilds its cooldowns from
    /// the service's events only (see [`restore`]), and the heartbeat alarm fires.
    async fn publish(
        &mut self,
        d: &core::Decision,
        action: &Action,
        now: DateTime<Utc>,
        dl: &Deadline,
    ) -> Result<(), String> {
        let (Some(cw), Some(svc)) = (&self.cw, &self.cfg.service) else { return Ok(()) };
        if self.cfg.agent.dry_run || !self.role.acts() {
            return Ok(());
        }
        let (out, inn) = match action {
            Action::Applied { from, to } => (f64::from(u8::from(to > from)), f64::from(u8::from(to < from))),
            _ => (0.0, 0.0),
        };
        let mut values = vec![
            Published { name: restore::DESIRED, value: f64::from(d.desired.get()), count: true },
            Published { name: restore::RECOMMENDED, value: f64::from(d.recommended.get()), count: true },
            Published { name: restore::HEARTBEAT, value: 1.0, count: true },
            Published { name: restore::SCALE_OUT, value: out, count: true },
            Published { name: restore::SCALE_IN, value: inn, count: true },
        ];
        if let Some(s) = d.score.value {
            values.push(Published { name: restore::SCORE, value: s, count: false });
        }
        values.extend(self.spend.iter().flat_map(Spend::published));
        let dims = restore::dimensions(&svc.cluster, &svc.name);
        let put = cw.put_metric_data(restore::NAMESPACE, &dims, &values, now);
        match dl.read("cloudwatch:PutMetricData", put).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                log_aws(&e, "could not publish the agent's metrics");
                count_error(&mut self.snap.counters, &e);
                Err(format!("could not publish the agent's metrics: {e}"))
            }
            Err(cut) => Err(note_cut(&cut)),
        }
    }
}

/// The task's CPU and memory limits for `"auto"` pools: the cgroup's, else the configured size.
fn task_limits(cfg: &Config) -> sources::pools::Limits {
    let cgroup = sources::cgroup::Cgroup::from_system();
    let cpu = cgroup.as_ref().and_then(|c| c.cpu_limit_cores()).map(|c| (c * 1024.0).round() as u64);
    let memory = cgroup.as_ref().and_then(|c| c.memory_limit_bytes()).map(|b| b / (1024 * 1024));
    let svc = cfg.service.as_ref();
    sources::pools::Limits {
        cpu_units: cpu.or_else(|| svc.and_then(|s| s.cpu).map(u64::from)),
        memory_mib: memory.or_else(|| svc.and_then(|s| s.memory).map(u64::from)),
    }
}

/// The API's port when other tasks can reach it: any listen address but the default loopback
/// ones (`127.0.0.1`, `::1`). Tests put several agents on 127.0.0.2, 127.0.0.3, ….
fn reachable_port(listen: std::net::SocketAddr) -> Option<u16> {
    let only_here =
        [std::net::IpAddr::from([127, 0, 0, 1]), std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)];
    (!only_here.contains(&listen.ip())).then_some(listen.port())
}

/// A tick that stopped at `cut` before it could decide.
fn stopped_tick(mut tick: Tick, cut: Cut) -> Tick {
    tick.error = Some(note_cut(&cut));
    tick
}

/// Logs a cut tick; returns the tick's error.
fn note_cut(cut: &Cut) -> String {
    match cut {
        Cut::Deadline { limit, call } => {
            warn!(call, limit = ?limit, "tick deadline passed: the tick stops here");
        }
        Cut::Shutdown { call } => info!(call, "shutdown: the tick stops here"),
    }
    cut.to_string()
}

fn count_error(c: &mut Counters, e: &AwsError) {
    *c.aws_errors.entry(format!("{} {}", e.operation, e.kind)).or_default() += 1;
}

fn cooldowns(p: &Policy, h: &History) -> Cooldowns {
    let (out, inn) = core::decide::cooldowns(p, h);
    Cooldowns {
        last_scale_out: h.last_scale_out(),
        last_scale_in: h.last_scale_in(),
        scale_out_until: out.map(|(until, _)| until),
        scale_in_until: inn.map(|(until, _)| until),
    }
}

/// The tick's outcome at its level: a change made is INFO; a hold (within the band, a
/// cooldown, the stabilization window, a bound) or a change withheld (dry run, paused, a
/// follower, a handover) is routine, DEBUG. A change that failed was logged where it failed,
/// with its error ([`Agent::act`]).
fn log_decision(d: &core::Decision, action: &Action, role: &Role) {
    let score = d.score.value.map(|s| format!("{s:.3}")).unwrap_or_else(|| "none".into());
    let (current, desired, role) = (d.current.get(), d.desired.get(), role.name());
    match action {
        Action::Applied { .. } => {
            info!(current, desired, reason = %d.reason, score, role, "{action}: {}", d.message);
        }
        Action::Failed { .. } => {}
        _ => debug!(current, desired, reason = %d.reason, score, role, "{action}: {}", d.message),
    }
}

/// Logs a failed AWS call: ERROR when someone must act (a permission, credentials), else WARN
/// (the next tick tries again). The error reads as the AWS CLI says it ([`aws::describe`]).
pub(crate) fn log_aws(e: &AwsError, what: &str) {
    if e.kind.needs_someone() {
        error!(error = %e, "{what}");
    } else {
        warn!(error = %e, "{what}");
    }
}
