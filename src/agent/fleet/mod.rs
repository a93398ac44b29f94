//! The controller: one process that scales many services, as one member of an ECS service of
//! N such processes. Each tick:
//!
//! 1. **membership**: the controller service's RUNNING, HEALTHY tasks ([`membership`]);
//! 2. **discovery**, when due: `ListServices` and `DescribeServices` (with tags) of each
//!    `[discovery]` cluster adopt the services that carry the tag and release those that lost it;
//! 3. **ownership**: the services this member owns by rendezvous hashing, and whether each has
//!    been owned for an interval (the handover rule);
//! 4. **observe**: `DescribeServices` of the owned services, 10 a call, tags included (policy,
//!    bounds, pause, override); a service new to this owner gets its cooldowns back from its
//!    events and its own published metrics (`restore`, batched);
//! 5. **metrics**: every owned service's queries in as few `GetMetricData` calls as fit (500
//!    queries a call);
//! 6. **decide → plan → act**: each service's [`Reconciler`] decides, [`plan::plan`] says what
//!    to do, and `UpdateService` is called for the updates (a few at a time), none started
//!    later than `interval − 8 s` after the membership read;
//! 7. **publish**: the acting services' own metrics in batched `PutMetricData` calls.
//!
//! A service is never scaled on missing data (the core holds), never on a membership that could
//! not be read (the controller then owns nothing), and a service whose tags cannot be read is
//! reported and left alone while the others go on.

mod aws_ports;
pub mod cost;
pub mod fake;
pub mod membership;
pub mod ports;
pub mod run;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::time::Instant;
use tracing::{info, warn};

use super::events::{OperatorWatch, operator_events};
use super::{Reconciler, plan, restore};
use crate::aws::{AwsError, OPERATION_TIMEOUT, Published, ServiceInfo};
use crate::config::fleet::{MAX_TAG, MIN_TAG};
use crate::config::model::{CloudwatchQuery, EcsScope, FleetConfig, ScalingConfig, SourceSpec};
use crate::core::cost::Rate;
use crate::core::{Decision, Observation, Replicas, operator};
use crate::notify::event::{self, Scaling};
use crate::notify::{Event, Notify};
use crate::sources::cloudwatch::{Batch, service_query};
use crate::status::{Action, DiscoveryView, FleetView, ServiceStanding};
use membership::{Ownership, Standing};
use ports::{Clock, DESCRIBE_BATCH, FleetEcs, FleetMetrics, METRIC_BATCH};

/// Each metric's newest sample, or why it is missing, by metric name.
type Readings = Vec<(String, Result<crate::core::Sample, String>)>;

/// How many `DescribeServices` or `UpdateService` calls are in flight at once.
const CALLS_IN_FLIGHT: usize = 8;

/// At most this many `DescribeTaskDefinition` calls a tick (a service is priced once its
/// revision has been read).
pub const TASK_DEFINITIONS_PER_TICK: usize = 20;

/// `UpdateService` calls per second the whole controller service spends, shared among its
/// members. ECS refills its service-modify bucket at 5 a second (burst 50) for the account and
/// region (the ECS API reference, "Request throttling"); this leaves a fifth of it to deploy
/// tools and people. Changes past a member's share of a tick wait for its next tick, scale-outs
/// first.
pub const UPDATES_PER_SECOND: f64 = 4.0;

/// The member name of a controller that runs alone (no `[controller]` service to share with).
pub const SOLE: &str = "self";

/// How a controller runs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub interval: Duration,
    pub dry_run: bool,
    /// This controller's task ARN; `None` with no `[controller]` service: it runs alone, owns
    /// every service and acts at once (there is no one to hand over from). Run that way only
    /// as a single process; two such processes would both act.
    pub me: Option<String>,
    /// The services' region, for their prices; `None`: not priced.
    pub region: Option<String>,
    /// The `UpdateService` calls a second the controller service spends, shared among its
    /// members ([`UPDATES_PER_SECOND`] in a deployment).
    pub updates_per_second: f64,
}

impl Settings {
    /// A controller that runs alone every `interval`: not in dry run, no region (its services
    /// are not priced), the account's [`UPDATES_PER_SECOND`].
    pub fn alone(interval: Duration) -> Settings {
        Settings { interval, dry_run: false, me: None, region: None, updates_per_second: UPDATES_PER_SECOND }
    }
}

/// Where a managed service came from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Origin {
    /// `[[services]]`, with its policy.
    Listed(String),
    /// Found by the discovery tag.
    Discovered,
}

/// A policy as a service's tags resolve it: its name and the bound tags.
type PolicyKey = (String, Option<String>, Option<String>);

/// The part of a managed service that exists while this controller owns it.
struct Owned {
    key: PolicyKey,
    policy_name: String,
    rec: Reconciler,
    metrics: Vec<(String, CloudwatchQuery)>,
}

struct Managed {
    cluster: String,
    name: String,
    origin: Origin,
    owned: Option<Owned>,
    /// The operator intent told while this controller owns it.
    operator: OperatorWatch,
    view: ServiceStanding,
}

impl Managed {
    fn new(cluster: &str, name: &str, origin: Origin) -> Self {
        let view = ServiceStanding {
            standing: Standing::Elsewhere,
            policy: match &origin {
                Origin::Listed(p) => Some(p.clone()),
                Origin::Discovered => None,
            },
            origin: match origin {
                Origin::Listed(_) => "listed",
                Origin::Discovered => "discovered",
            },
            desired: None,
            paused: false,
            reason: None,
            action: None,
            problem: None,
            task_per_hour_usd: None,
            per_hour_usd: None,
            cost_problem: None,
        };
        let operator = OperatorWatch::default();
        Managed { cluster: cluster.to_owned(), name: name.to_owned(), origin, owned: None, operator, view }
    }

    /// Reported and not decided this tick, for `why`.
    fn leave_alone(&mut self, why: String) {
        self.view.problem = Some(why);
        self.view.reason = None;
        self.view.action = Some(Action::Skipped);
    }
}

/// A decision this tick, with what the plan made of it.
struct Decided {
    key: String,
    decision: Decision,
    intent: plan::Intent,
}

pub struct Controller<E, M, C> {
    ecs: E,
    cw: M,
    clock: C,
    fleet: FleetConfig,
    settings: Settings,
    ownership: Ownership,
    /// By `cluster/name`, the key ownership is hashed on.
    managed: BTreeMap<String, Managed>,
    next_discovery: Option<DateTime<Utc>>,
    /// Task definitions read, by ARN (once per revision; kept while a managed service runs it).
    task_definitions: BTreeMap<String, Result<crate::aws::TaskDefinitionInfo, String>>,
    view: FleetView,
    /// Where scaling, operator and ownership events go, if anywhere (`[[notify]]`).
    notify: Option<Arc<dyn Notify>>,
    /// The services this member owned at its last membership read.
    owned_before: Vec<String>,
}

/// Counts `n` calls of `op`.
fn count(calls: &mut BTreeMap<&'static str, u32>, op: &'static str, n: u32) {
    if n > 0 {
        *calls.entry(op).or_default() += n;
    }
}

impl<E: FleetEcs, M: FleetMetrics, C: Clock> Controller<E, M, C> {
    pub fn new(fleet: FleetConfig, settings: Settings, ecs: E, cw: M, clock: C) -> Self {
        let mut managed = BTreeMap::new();
        for s in &fleet.services {
            managed.insert(
                format!("{}/{}", s.cluster, s.name),
                Managed::new(&s.cluster, &s.name, Origin::Listed(s.policy.clone())),
            );
        }
        let me = settings.me.clone().unwrap_or_else(|| SOLE.to_owned());
        let view = FleetView { me, ..FleetView::default() };
        Controller {
            ecs,
            cw,
            clock,
            ownership: Ownership::new(settings.interval),
            fleet,
            settings,
            managed,
            next_discovery: None,
            task_definitions: BTreeMap::new(),
            view,
            notify: None,
            owned_before: Vec::new(),
        }
    }

    /// The same controller, telling `notify` what it does.
    pub fn with_notify(self, notify: Arc<dyn Notify>) -> Self {
        Controller { notify: Some(notify), ..self }
    }

    fn emit(&self, event: Event) {
        if let Some(n) = &self.notify {
            n.notify(event);
        }
    }

    /// Tells the services this member took and handed over since its last read of the members.
    fn tell_ownership(&mut self, owned: &[String], members: usize, now: DateTime<Utc>) {
        let change = event::Ownership::change(&self.view.me, members, &self.owned_before, owned, now);
        if let Some(o) = change {
            info!(took = o.took_count, handed_over = o.handed_over_count, members, "ownership changed");
            self.emit(Event::Ownership(o));
        }
        self.owned_before = owned.to_vec();
    }

    pub fn view(&self) -> &FleetView {
        &self.view
    }

    /// The services this controller acted for at its last tick (owned for an interval).
    pub fn acting(&self) -> impl Iterator<Item = &str> {
        self.managed.iter().filter(|(_, m)| m.view.standing == Standing::Acting).map(|(k, _)| k.as_str())
    }

    /// One tick (see the module's documentation). Never fails: problems are in the view.
    pub async fn tick(&mut self) -> &FleetView {
        let mut calls = BTreeMap::new();
        // Discovery first: its reads must not eat into the time to start changes, which runs
        // from the membership read.
        let now = self.clock.now();
        let interval = self.settings.interval;
        if self.fleet.discovery.is_some() && self.next_discovery.is_none_or(|t| now >= t) {
            // Bounded like every read of the tick: what it had not found yet waits for the next look.
            if tokio::time::timeout(interval, self.discover(now, &mut calls)).await.is_err() {
                warn!(limit = ?interval, "discovery overran the interval; it looks again at its next turn");
            }
        }
        let read_at = Instant::now();
        let now = self.clock.now();
        let members = match tokio::time::timeout_at(read_at + interval, self.read_members(&mut calls)).await {
            Ok(m) => m,
            Err(_) => Err(format!("the membership read overran the interval ({interval:?})")),
        };
        // Rule 2: no change starts later than this, so each has ended within an interval of the
        // read's start. Rule 1 counts ownership from the read's end, when it was surely seen.
        let act_by = read_at + self.settings.interval.saturating_sub(OPERATION_TIMEOUT);
        let seen = Instant::now();
        let me = self.view.me.clone();
        let owned: Vec<String> = match &members {
            Ok(m) if m.contains(&me) => self
                .managed
                .keys()
                .filter(|k| membership::owner(k, m) == Some(me.as_str()))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let standing = match &members {
            // Alone by configuration: no one to hand over from, it acts at once.
            Ok(_) if self.settings.me.is_none() => {
                owned.iter().map(|k| (k.clone(), Standing::Acting)).collect()
            }
            Ok(_) => self.ownership.observe(seen, owned.iter().map(String::as_str)),
            Err(_) => {
                self.ownership.reset(seen);
                BTreeMap::new()
            }
        };
        for (key, m) in &mut self.managed {
            m.view.standing = match standing.get(key) {
                None => {
                    // Not ours: what we knew of it goes stale; a later owner rebuilds it.
                    m.owned = None;
                    m.operator = OperatorWatch::default();
                    let fresh = Managed::new(&m.cluster, &m.name, m.origin.clone()).view;
                    m.view = ServiceStanding { policy: m.view.policy.take(), ..fresh };
                    Standing::Elsewhere
                }
                Some(s) => *s,
            };
        }
        // A membership that could not be read changes no ownership: the next read says.
        if let Ok(m) = &members {
            self.tell_ownership(&owned, m.len(), now);
        }
        // Every read of the tick ends within the interval of the membership read; past it
        // nothing is decided this tick (what was read is stale by then).
        let reads = async {
            let infos = self.describe_owned(&owned, &mut calls).await;
            let new = self.resolve(&infos, now);
            self.restore(&new, &infos, now, &mut calls).await;
            self.price(&infos, &mut calls).await;
            let samples = self.read_metrics(&infos, now, &mut calls).await;
            (infos, samples)
        };
        self.view.error = match tokio::time::timeout_at(read_at + interval, reads).await {
            Ok((infos, samples)) => {
                let decided = self.decide(&infos, samples, &standing, now);
                let n = members.as_ref().map_or(1, Vec::len);
                self.act(decided, (now, act_by, n), &mut calls).await;
                None
            }
            Err(_) => {
                warn!(limit = ?interval, "the tick's reads overran the interval: nothing decided this tick");
                Some(format!("the tick's reads overran the interval ({interval:?}): nothing decided"))
            }
        };
        self.view.members = members.clone().unwrap_or_default();
        self.view.membership_error = members.err();
        for (op, n) in &calls {
            *self.view.calls_total.entry(op).or_default() += u64::from(*n);
        }
        self.view.calls = calls;
        self.view.services = self.managed.iter().map(|(k, m)| (k.clone(), m.view.clone())).collect();
        self.view.cost_per_hour_usd = self
            .managed
            .values()
            .filter(|m| m.view.standing == Standing::Acting)
            .filter_map(|m| m.view.per_hour_usd)
            .fold(Rate::ZERO, Rate::plus);
        self.view.at = Some(now);
        self.view.ticks += 1;
        &self.view
    }

    /// The members, sorted; this controller alone when it has no service to share with.
    async fn read_members(&self, calls: &mut BTreeMap<&'static str, u32>) -> Result<Vec<String>, String> {
        let c = &self.fleet.controller;
        let (Some(cluster), Some(service), Some(_)) = (&c.cluster, &c.service, &self.settings.me) else {
            return Ok(vec![self.view.me.clone()]);
        };
        count(calls, "ecs:ListTasks", 1);
        count(calls, "ecs:DescribeTasks", 1);
        match self.ecs.members(cluster, service, &c.container).await {
            Ok(tasks) => {
                let members = membership::members(&tasks);
                let own = tasks.iter().find(|t| Some(&t.arn) == self.settings.me.as_ref());
                if let Some(t) = own.filter(|t| !members.contains(&t.arn)) {
                    let (status, health) = (t.last_status.as_str(), t.health.as_deref());
                    if health.is_none() {
                        warn!(container = %c.container, "this task has no container named so: it is never a member and scales nothing ([controller] container)");
                    } else if health == Some("UNHEALTHY") {
                        warn!(status, "this task is UNHEALTHY: not a member, it scales nothing");
                    } else {
                        info!(
                            status,
                            health, "this task is not a member yet (RUNNING and HEALTHY): it scales nothing"
                        );
                    }
                }
                Ok(members)
            }
            Err(e) => {
                warn!(error = %e, "cannot read the controller's members: acting on nothing this tick");
                Err(e.to_string())
            }
        }
    }

    /// Adopts every service of the discovery clusters that carries the tag; releases the
    /// discovered ones that no longer do (their count is left as it is). A cluster that cannot
    /// be read keeps what it had.
    async fn discover(&mut self, now: DateTime<Utc>, calls: &mut BTreeMap<&'static str, u32>) {
        let Some(d) = self.fleet.discovery.clone() else { return };
        // Members look at different moments (up to a fifth of the interval apart, by a hash
        // of the member), so N controllers do not spend the account's read burst together.
        let jitter = d.interval / 5 * membership::spread(&self.view.me, 1000) / 1000;
        self.next_discovery = crate::core::types::later(now, d.interval + jitter).into();
        let (mut adopted, mut released, mut errors) = (0, 0, Vec::new());
        for cluster in &d.clusters {
            let tagged = match self.tagged(cluster, &d.tag, calls).await {
                Ok(t) => t,
                Err(e) => {
                    warn!(cluster, error = %e, "discovery: cannot read the cluster; keeping what it had");
                    errors.push(format!("{cluster}: {e}"));
                    continue;
                }
            };
            let prefix = format!("{cluster}/");
            let gone: Vec<String> = self
                .managed
                .iter()
                .filter(|(k, m)| {
                    m.origin == Origin::Discovered && k.starts_with(&prefix) && !tagged.contains(*k)
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in gone {
                self.release(&k);
                released += 1;
            }
            for k in tagged {
                if !self.managed.contains_key(&k) {
                    let name = &k[prefix.len()..];
                    info!(service = %k, "adopted by tag");
                    self.managed.insert(k.clone(), Managed::new(cluster, name, Origin::Discovered));
                    adopted += 1;
                }
            }
        }
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        self.view.discovery = Some(DiscoveryView { at: now, adopted, released, error });
    }

    /// The `cluster/name` of every service of `cluster` that carries `tag`.
    async fn tagged(
        &self,
        cluster: &str,
        tag: &str,
        calls: &mut BTreeMap<&'static str, u32>,
    ) -> Result<BTreeSet<String>, AwsError> {
        let arns = self.ecs.list_services(cluster).await?;
        count(calls, "ecs:ListServices", u32::try_from(arns.len().div_ceil(100).max(1)).unwrap_or(u32::MAX));
        let chunks: Vec<Vec<String>> = arns.chunks(DESCRIBE_BATCH).map(<[String]>::to_vec).collect();
        count(calls, "ecs:DescribeServices", u32::try_from(chunks.len()).unwrap_or(u32::MAX));
        let ecs = &self.ecs;
        let answers: Vec<_> = futures_util::stream::iter(chunks)
            .map(|chunk| async move { ecs.describe_services(cluster, &chunk).await })
            .buffer_unordered(CALLS_IN_FLIGHT)
            .collect()
            .await;
        let mut tagged = BTreeSet::new();
        for answer in answers {
            let (found, _) = answer?;
            tagged.extend(
                found
                    .iter()
                    .filter(|s| s.state.status == "ACTIVE" && s.state.tags.contains_key(tag))
                    .map(|s| format!("{cluster}/{}", s.name)),
            );
        }
        Ok(tagged)
    }

    /// `DescribeServices` of the owned services, 10 a call per cluster.
    async fn describe_owned(
        &mut self,
        owned: &[String],
        calls: &mut BTreeMap<&'static str, u32>,
    ) -> BTreeMap<String, ServiceInfo> {
        let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for k in owned {
            if let Some(m) = self.managed.get(k) {
                by_cluster.entry(m.cluster.clone()).or_default().push(m.name.clone());
            }
        }
        let batches: Vec<(String, Vec<String>)> = by_cluster
            .into_iter()
            .flat_map(|(cluster, names)| {
                names.chunks(DESCRIBE_BATCH).map(|c| (cluster.clone(), c.to_vec())).collect::<Vec<_>>()
            })
            .collect();
        count(calls, "ecs:DescribeServices", u32::try_from(batches.len()).unwrap_or(u32::MAX));
        // A few calls in flight: a thousand services are a hundred calls.
        let ecs = &self.ecs;
        let answers: Vec<_> = futures_util::stream::iter(batches)
            .map(|(cluster, chunk)| async move {
                let answer = ecs.describe_services(&cluster, &chunk).await;
                (cluster, chunk, answer)
            })
            .buffer_unordered(CALLS_IN_FLIGHT)
            .collect()
            .await;
        let mut infos = BTreeMap::new();
        for (cluster, chunk, answer) in answers {
            match answer {
                Ok((found, failures)) => {
                    for s in found {
                        let key = format!("{cluster}/{}", s.name);
                        if s.state.status == "ACTIVE" {
                            infos.insert(key, s);
                        } else {
                            // Deleted (INACTIVE) or being deleted (DRAINING): nothing to scale.
                            let why = format!("the service is {}: left alone", s.state.status);
                            self.problem(&key, why);
                        }
                    }
                    for (name, why) in failures {
                        let short = name.rsplit('/').next().unwrap_or(&name);
                        let key = format!("{cluster}/{short}");
                        self.problem(&key, format!("ECS did not return the service: {why}"));
                    }
                }
                Err(e) => {
                    warn!(cluster, error = %e, "cannot read services; not deciding them this tick");
                    for n in &chunk {
                        self.problem(&format!("{cluster}/{n}"), format!("cannot read the service: {e}"));
                    }
                }
            }
        }
        infos
    }

    fn problem(&mut self, key: &str, why: String) {
        if let Some(m) = self.managed.get_mut(key) {
            m.leave_alone(why);
        }
    }

    /// A discovered service that lost its tag: forgotten, its count left as it is.
    fn release(&mut self, key: &str) {
        info!(service = %key, "released: the service no longer carries the discovery tag; its count is left as it is");
        self.managed.remove(key);
    }

    /// Reads each described service's tags: the policy and bounds (discovered services), pause
    /// and override. A discovered service whose tag is gone is released; one whose tags cannot
    /// be read is reported and left alone.
    fn resolve(&mut self, infos: &BTreeMap<String, ServiceInfo>, now: DateTime<Utc>) -> Vec<String> {
        let tag = self.fleet.discovery.as_ref().map(|d| d.tag.clone());
        let mut release = Vec::new();
        let mut new = Vec::new();
        for (key, info) in infos {
            let Some(m) = self.managed.get_mut(key) else { continue };
            m.view.desired = Some(info.state.desired);
            m.view.problem = None;
            let policy_name = match (&m.origin, &tag) {
                (Origin::Listed(p), _) => p.clone(),
                (Origin::Discovered, Some(t)) => match info.state.tags.get(t) {
                    Some(v) => v.trim().to_owned(),
                    None => {
                        release.push(key.clone());
                        continue;
                    }
                },
                (Origin::Discovered, None) => continue,
            };
            let bound = |k: &str| info.state.tags.get(k).cloned();
            let pkey: PolicyKey = (policy_name.clone(), bound(MIN_TAG), bound(MAX_TAG));
            if m.owned.as_ref().is_none_or(|o| o.key != pkey) {
                match resolve_policy(&self.fleet, &pkey, &m.cluster, &m.name) {
                    Ok((scaling, metrics)) => {
                        // A service new to this owner: its cooldowns from the service's events
                        // now, and from its own metrics before it acts (see `restore`).
                        // A policy that changed keeps the service's memory (history, the count
                        // seen last).
                        let rec = match m.owned.take() {
                            Some(mut o) => {
                                o.rec.policy = scaling.policy.clone();
                                o.rec
                            }
                            None => {
                                new.push(key.clone());
                                let mut rec = Reconciler::new(scaling.policy.clone());
                                rec.history = restore::rebuild(
                                    &scaling.policy,
                                    &BTreeMap::new(),
                                    &info.state.events,
                                    now,
                                )
                                .0;
                                rec
                            }
                        };
                        m.owned = Some(Owned { key: pkey, policy_name: policy_name.clone(), rec, metrics });
                    }
                    Err(why) => {
                        // Left alone, not forgotten: what it remembers stays for when the tags
                        // are mended.
                        warn!(service = %key, problem = %why, "left alone: its tags cannot be read");
                        m.leave_alone(why);
                        continue;
                    }
                }
            }
            m.view.policy = m.owned.as_ref().map(|o| o.policy_name.clone());
        }
        for k in release {
            self.release(&k);
        }
        new.retain(|k| self.managed.get(k).is_some_and(|m| m.owned.is_some()));
        new
    }

    /// Services new to this owner: their cooldowns and stabilization window from the
    /// `ScaleOut`, `ScaleIn` and `RecommendedCount` series their previous owner (or sidecar)
    /// published, with the service's events, in as few `GetMetricData` calls as fit. A failed
    /// read leaves what the events gave.
    async fn restore(
        &mut self,
        new: &[String],
        infos: &BTreeMap<String, ServiceInfo>,
        now: DateTime<Utc>,
        calls: &mut BTreeMap<&'static str, u32>,
    ) {
        let per = restore::queries("c", "s").len();
        for chunk in new.chunks(METRIC_BATCH / per) {
            let mut queries = Vec::new();
            let mut window = chrono::TimeDelta::zero();
            for (i, key) in chunk.iter().enumerate() {
                let (Some(m), Some(_)) = (self.managed.get(key), infos.get(key)) else { continue };
                let Some(o) = &m.owned else { continue };
                window = window.max(restore::window(&o.rec.policy));
                for mut q in restore::queries(&m.cluster, &m.name) {
                    q.id = format!("r{i}_{}", q.id);
                    queries.push(q);
                }
            }
            if queries.is_empty() {
                continue;
            }
            count(calls, "cloudwatch:GetMetricData", 1);
            let start = crate::core::types::earlier(now, window);
            // Up to a minute ahead, so the minute in progress (a change its previous owner
            // made seconds ago) is read whatever the store's alignment of periods.
            let end = crate::core::types::later(now, chrono::TimeDelta::minutes(1));
            let data = match self.cw.get_metric_data(&queries, start, end).await {
                Ok(d) => d,
                Err(e) => {
                    warn!(error = %e, services = chunk.len(), "restore: cannot read the services' own metrics; using their events only");
                    continue;
                }
            };
            for (i, key) in chunk.iter().enumerate() {
                let (Some(m), Some(info)) = (self.managed.get_mut(key), infos.get(key)) else { continue };
                let Some(o) = m.owned.as_mut() else { continue };
                let prefix = format!("r{i}_");
                let points: BTreeMap<String, crate::aws::Datapoints> = data
                    .points
                    .iter()
                    .filter_map(|(id, p)| Some((id.strip_prefix(&prefix)?.to_owned(), p.clone())))
                    .collect();
                o.rec.history = restore::rebuild(&o.rec.policy, &points, &info.state.events, now).0;
            }
        }
    }

    /// What each owned service costs an hour: its task definition read once per revision (a
    /// few at a time), priced by [`cost`]. A service that cannot be priced says why; scaling
    /// does not depend on it.
    async fn price(
        &mut self,
        infos: &BTreeMap<String, ServiceInfo>,
        calls: &mut BTreeMap<&'static str, u32>,
    ) {
        // No region, no prices: nothing is read for them.
        let in_use: BTreeSet<String> = match &self.settings.region {
            // Only Fargate services are priced: the others' task definitions are not read.
            Some(_) => infos
                .values()
                .filter(|i| cost::placement(&i.state).is_ok())
                .filter_map(|i| i.state.task_definition.clone())
                .collect(),
            None => BTreeSet::new(),
        };
        self.task_definitions.retain(|arn, _| in_use.contains(arn));
        // A few revisions a tick: a thousand services are priced over their first minutes,
        // never at the cost of a burst of reads (ECS's buckets are shared with everything else).
        let missing: Vec<String> = in_use
            .into_iter()
            .filter(|a| !self.task_definitions.contains_key(a))
            .take(TASK_DEFINITIONS_PER_TICK)
            .collect();
        count(calls, "ecs:DescribeTaskDefinition", u32::try_from(missing.len()).unwrap_or(u32::MAX));
        let ecs = &self.ecs;
        let read: Vec<_> = futures_util::stream::iter(missing)
            .map(|arn| async move {
                let td = ecs.task_definition(&arn).await.map_err(|e| e.to_string());
                (arn, td)
            })
            .buffer_unordered(CALLS_IN_FLIGHT)
            .collect()
            .await;
        self.task_definitions.extend(read);
        let region = self.settings.region.clone();
        for (key, info) in infos {
            let Some(m) = self.managed.get_mut(key) else { continue };
            let td = info.state.task_definition.as_ref().and_then(|a| self.task_definitions.get(a));
            let rate = match (&region, td) {
                (None, _) => Err("no region to price it in".to_owned()),
                (_, _) if let Err(why) = cost::placement(&info.state) => Err(why),
                (_, None) if info.state.task_definition.is_none() => {
                    Err("ECS names no task definition for it".to_owned())
                }
                (_, None) => Err("not priced yet: its task definition is read in turn".to_owned()),
                (_, Some(Err(e))) => Err(format!("cannot read its task definition: {e}")),
                (Some(r), Some(Ok(td))) => cost::shape(&info.state, td).and_then(|t| cost::task_rate(r, &t)),
            };
            match rate {
                Ok(r) => {
                    m.view.task_per_hour_usd = Some(r);
                    m.view.per_hour_usd = Some(r.times(info.state.running));
                    m.view.cost_problem = None;
                }
                Err(why) => {
                    m.view.task_per_hour_usd = None;
                    m.view.per_hour_usd = None;
                    m.view.cost_problem = Some(why);
                }
            }
        }
    }

    /// Every owned, resolved service's metrics, in as few `GetMetricData` calls as fit.
    async fn read_metrics(
        &self,
        infos: &BTreeMap<String, ServiceInfo>,
        now: DateTime<Utc>,
        calls: &mut BTreeMap<&'static str, u32>,
    ) -> BTreeMap<String, Readings> {
        let batches: Vec<(String, Batch)> = infos
            .keys()
            .filter_map(|k| {
                let o = self.managed.get(k)?.owned.as_ref()?;
                Some((k.clone(), o.metrics.clone()))
            })
            .enumerate()
            .map(|(i, (k, metrics))| (k, Batch::with_prefix(&format!("s{i}m"), metrics)))
            .collect();
        let mut out = BTreeMap::new();
        let mut group: Vec<&(String, Batch)> = Vec::new();
        let mut size = 0;
        let mut groups = Vec::new();
        for b in &batches {
            if size + b.1.len() > METRIC_BATCH && !group.is_empty() {
                groups.push(std::mem::take(&mut group));
                size = 0;
            }
            size += b.1.len();
            group.push(b);
        }
        if !group.is_empty() {
            groups.push(group);
        }
        for group in groups {
            let queries: Vec<_> = group.iter().flat_map(|(_, b)| b.queries()).collect();
            let lookback = group.iter().map(|(_, b)| b.lookback()).max().unwrap_or_default();
            count(calls, "cloudwatch:GetMetricData", 1);
            let start = crate::core::types::earlier(now, lookback);
            let read = self.cw.get_metric_data(&queries, start, now).await;
            for (k, b) in group {
                let r = match &read {
                    Ok(data) => b.interpret(data, now),
                    Err(e) => b.all_failed(&e.to_string()),
                };
                out.insert(k.clone(), r);
            }
        }
        out
    }

    /// Each owned service's decision and plan.
    fn decide(
        &mut self,
        infos: &BTreeMap<String, ServiceInfo>,
        mut samples: BTreeMap<String, Readings>,
        standing: &BTreeMap<String, Standing>,
        now: DateTime<Utc>,
    ) -> Vec<Decided> {
        let mut decided = Vec::new();
        for (key, info) in infos {
            let Some(m) = self.managed.get_mut(key) else { continue };
            let Some(o) = m.owned.as_mut() else { continue };
            // The count first, even for a service left alone: a change made meanwhile (by a
            // previous owner, an operator) starts its cooldown.
            o.rec.observe(info.state.desired, now);
            if m.view.problem.is_some() {
                continue;
            }
            let op = match operator::read(&info.state.tags) {
                Ok(op) => op,
                Err(why) => {
                    warn!(service = %key, problem = %why, "left alone: its tags cannot be read");
                    m.leave_alone(why);
                    continue;
                }
            };
            // Told by the owner that acts: a settling one waits until the previous owner is done.
            if standing.get(key) == Some(&Standing::Acting) {
                let told = m.operator.observe(op.paused, op.active_override(now), now);
                for e in operator_events(key, told, now) {
                    if let Some(n) = &self.notify {
                        n.notify(e);
                    }
                }
            }
            let mut obs = Observation {
                current: Replicas(info.state.desired),
                manual_override: op.active_override(now).cloned(),
                deployment_in_progress: info.state.deployment_in_progress(),
                ..Observation::default()
            };
            for (name, r) in samples.remove(key).unwrap_or_default() {
                match r {
                    Ok(s) => {
                        obs.samples.insert(name, s);
                    }
                    Err(why) => {
                        tracing::debug!(service = %key, metric = %name, problem = %why, "metric missing")
                    }
                }
            }
            let d = o.rec.decide(&obs, now);
            // A change too late to start is deferred by `act`, which checks the time again
            // before each call.
            let cx = plan::Context {
                acts: standing.get(key).is_some(),
                settling: standing.get(key) == Some(&Standing::Settling),
                paused: op.paused,
                dry_run: self.settings.dry_run,
                cut: None,
                // A controller runs outside the tasks: ECS still stops no protected task.
                tasks_protected: None,
            };
            let intent = plan::plan(&d, &cx);
            m.view.paused = op.paused;
            m.view.reason = Some(d.reason.as_str().to_owned());
            m.view.action = intent.action();
            decided.push(Decided { key: key.clone(), decision: d, intent });
        }
        decided
    }

    /// Carries out the updates, a few at a time, none started after `act_by`; then publishes
    /// the acting services' metrics.
    async fn act(
        &mut self,
        decided: Vec<Decided>,
        (now, act_by, members): (DateTime<Utc>, Instant, usize),
        calls: &mut BTreeMap<&'static str, u32>,
    ) {
        let mut updates: Vec<(String, String, String, u32, u32)> = decided
            .iter()
            .filter_map(|d| match d.intent {
                plan::Intent::Update { from, to } => {
                    let m = self.managed.get(&d.key)?;
                    Some((d.key.clone(), m.cluster.clone(), m.name.clone(), from, to))
                }
                _ => None,
            })
            .collect();
        // This member's share of the account's UpdateService rate for one tick; the rest wait,
        // scale-outs first, the largest change first.
        let budget = update_budget(self.settings.interval, self.settings.updates_per_second, members);
        updates.sort_by(|a, b| {
            let (out_a, out_b) = (a.4 > a.3, b.4 > b.3);
            let change =
                |u: &(String, String, String, u32, u32)| f64::from(u.4.abs_diff(u.3)) / f64::from(u.3.max(1));
            out_b.cmp(&out_a).then(change(b).total_cmp(&change(a))).then(a.0.cmp(&b.0))
        });
        let deferred: Vec<(String, Action)> = updates
            .split_off(budget.min(updates.len()))
            .into_iter()
            .map(|(key, _, _, from, to)| {
                let why = format!("this tick's UpdateService share ({budget}) is spent");
                (key, Action::Deferred { from, to, why })
            })
            .collect();
        let ecs = &self.ecs;
        let results: Vec<(String, Action)> = futures_util::stream::iter(updates)
            .map(|(key, cluster, name, from, to)| async move {
                if Instant::now() > act_by {
                    let why = "the tick's time to start changes has passed".to_owned();
                    return (key, false, Action::Deferred { from, to, why });
                }
                match ecs.update_desired(&cluster, &name, to).await {
                    Ok(()) => (key, true, Action::Applied { from, to }),
                    Err(e) => (key, true, Action::Failed { from, to, error: e.to_string() }),
                }
            })
            .buffer_unordered(CALLS_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|(key, called, action)| {
                if called {
                    count(calls, "ecs:UpdateService", 1);
                }
                (key, action)
            })
            .collect();
        let mut applied: BTreeMap<String, Action> = results.into_iter().chain(deferred).collect();
        let mut data = Vec::new();
        for d in &decided {
            let Some(m) = self.managed.get_mut(&d.key) else { continue };
            if let Some(action) = applied.remove(&d.key) {
                match &action {
                    Action::Applied { from, to } => {
                        info!(service = %d.key, from, to, reason = %d.decision.reason, "{}", d.decision.message);
                        if let Some(o) = m.owned.as_mut() {
                            o.rec.applied(&d.decision, now);
                        }
                        if let Some(n) = &self.notify {
                            n.notify(Event::Scaling(Scaling::applied(&d.key, &d.decision, *from, *to)));
                        }
                        self.view.applied += 1;
                    }
                    Action::Failed { error, .. } => {
                        warn!(service = %d.key, error, "could not set the desired count");
                        self.view.failed += 1;
                    }
                    _ => {}
                }
                m.view.action = Some(action);
            }
            if m.view.standing == Standing::Acting && !self.settings.dry_run {
                data.extend(published(&m.cluster, &m.name, &d.decision, m.view.action.as_ref()));
            }
        }
        if !data.is_empty() {
            match self.cw.put_metric_batch(restore::NAMESPACE, &data, now).await {
                Ok(n) => count(calls, "cloudwatch:PutMetricData", u32::try_from(n).unwrap_or(u32::MAX)),
                Err(e) => warn!(error = %e, "could not publish the controller's metrics"),
            }
        }
    }
}

/// How many `UpdateService` calls one of `members` controllers may make in a tick of
/// `interval`, `per_second` shared among them; at least one.
pub fn update_budget(interval: Duration, per_second: f64, members: usize) -> usize {
    let share = interval.as_secs_f64() * per_second / members.max(1) as f64;
    (share.floor() as usize).max(1)
}

/// The policy a service's tags name, and its CloudWatch queries.
fn resolve_policy(
    fleet: &FleetConfig,
    key: &PolicyKey,
    cluster: &str,
    name: &str,
) -> Result<(ScalingConfig, Vec<(String, CloudwatchQuery)>), String> {
    let scaling = crate::config::fleet::policy_for(fleet, &key.0, key.1.as_deref(), key.2.as_deref())?;
    let metrics = queries(&scaling, cluster, name)?;
    Ok((scaling, metrics))
}

/// A policy's metrics as CloudWatch queries for one service: `ecs` metrics read `AWS/ECS`,
/// `cloudwatch` ones have `{cluster}` and `{service}` in their dimensions filled in.
pub fn queries(
    scaling: &ScalingConfig,
    cluster: &str,
    name: &str,
) -> Result<Vec<(String, CloudwatchQuery)>, String> {
    scaling
        .sources
        .iter()
        .map(|s| {
            let q = match &s.spec {
                SourceSpec::Ecs { resource, scope: EcsScope::Service } => {
                    service_query(cluster, name, *resource)
                }
                SourceSpec::Cloudwatch(q) => {
                    let mut q = q.clone();
                    for (_, v) in &mut q.dimensions {
                        *v = v.replace("{cluster}", cluster).replace("{service}", name);
                    }
                    q
                }
                _ => return Err(format!("metric {}: a controller reads CloudWatch metrics only", s.name)),
            };
            Ok((s.name.clone(), q))
        })
        .collect()
}

/// The acting service's own metrics for the tick, as the sidecar publishes them.
fn published(
    cluster: &str,
    name: &str,
    d: &Decision,
    action: Option<&Action>,
) -> Vec<(Vec<(String, String)>, Published)> {
    let (out, inn) = match action {
        Some(Action::Applied { from, to }) => {
            (f64::from(u8::from(to > from)), f64::from(u8::from(to < from)))
        }
        _ => (0.0, 0.0),
    };
    let dims = restore::dimensions(cluster, name);
    [
        (restore::DESIRED, f64::from(d.desired.get())),
        (restore::RECOMMENDED, f64::from(d.recommended.get())),
        (restore::HEARTBEAT, 1.0),
        (restore::SCALE_OUT, out),
        (restore::SCALE_IN, inn),
    ]
    .into_iter()
    .map(|(name, value)| (dims.clone(), Published { name, value, count: true }))
    .collect()
}
