//! Metric sources: each reads one kind of place and returns timestamped samples by metric name.
//! A source never fails the tick: whatever it cannot read is reported as a problem for that
//! metric, which the core then treats as missing (it never scales in on missing data).

pub mod cgroup;
pub mod cgroup_io;
pub mod cloudwatch;
pub mod ecs_metadata;
pub mod host;
pub mod local;
pub mod peer;
pub mod pools;
pub mod prom_tasks;
pub mod prometheus;
pub mod promtext;
pub mod protection;
pub mod task;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::aws::CloudWatch;
use crate::config::model::{Config, EcsScope, PromTarget, SourceSpec};
use crate::core::Sample;
pub use prom_tasks::{TaskBreakdown, TaskTarget, TaskValue};

/// What one tick read: a sample per metric that could be read, a reason per metric that could not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gathered {
    pub samples: BTreeMap<String, Sample>,
    pub problems: BTreeMap<String, String>,
    /// Metrics read from every task (`source = "prometheus"` with `port`): each task's own
    /// value and how many tasks were heard from, to show which task is hot.
    pub per_task: BTreeMap<String, TaskBreakdown>,
    /// Metrics in `problems` because some tasks were not heard from, with what the others
    /// prove: a lower bound, which may scale out but never in (`core::Observation::partial`).
    pub lower_bounds: BTreeMap<String, Sample>,
}

impl Gathered {
    /// A metric's task-by-task breakdown, and its lower bound when it is missing for want of
    /// some tasks.
    pub fn add_breakdown(&mut self, name: String, b: TaskBreakdown) {
        if let (Some(lb), true) = (b.lower_bound, self.problems.contains_key(&name)) {
            self.lower_bounds.insert(name.clone(), lb);
        }
        self.per_task.insert(name, b);
    }

    fn put(&mut self, name: &str, r: Result<Sample, String>) {
        match r {
            Ok(s) => {
                self.samples.insert(name.to_owned(), s);
            }
            Err(why) => {
                self.problems.insert(name.to_owned(), why);
            }
        }
    }
}

/// What a task without an address of its own (bridge or host network mode) shows as its IP in
/// a per-task breakdown: it is never asked.
pub const NO_ADDRESS: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

/// Timeout of every HTTP read from a local endpoint (metadata, the app's /metrics).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(2);

/// A plain-HTTP client for loopback and link-local endpoints: no proxy from the environment.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(HTTP_TIMEOUT)
        .no_proxy()
        .build()
        .expect("a client without TLS or proxies always builds")
}

/// The largest response body read from a local endpoint. An app's `/metrics` is typically tens
/// of kilobytes and a task's stats a few; this bounds what a runaway or hostile endpoint can
/// make the agent hold (its container usually has 128 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

async fn get_text(http: &reqwest::Client, url: &str) -> Result<String, String> {
    read_text(http.get(url), url).await
}

/// Sends `req` (a GET of `url`) and reads its body as text, within [`MAX_BODY_BYTES`].
async fn read_text(req: reqwest::RequestBuilder, url: &str) -> Result<String, String> {
    let resp = req.send().await.map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    read_bounded(resp, &format!("GET {url}")).await
}

/// The body of `resp` as text, at most [`MAX_BODY_BYTES`]; errors start with `call` (`GET url`).
pub(crate) async fn read_bounded(mut resp: reqwest::Response, call: &str) -> Result<String, String> {
    let too_large = || format!("{call}: response body larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024));
    if resp.content_length().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    // Read chunk by chunk, so a body without a length (or lying about it) stops at the bound.
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{call}: {}", error_chain(&e)))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| format!("{call}: the response body is not UTF-8 text"))
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Where the agent runs, as far as the sources care.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// `$ECS_CONTAINER_METADATA_URI_V4`, when running in an ECS task.
    pub metadata_uri: Option<String>,
    /// `--local`: no AWS; `ecs` metrics are read from this machine (`host`).
    pub local: bool,
    /// The task's resource pools, for `source = "pools"` metrics.
    pub pools: pools::PoolSet,
}

/// Every source of one agent, built from the config.
pub struct Sources {
    http: reqwest::Client,
    scrapers: Vec<prometheus::Scraper>,
    task_scrapers: Vec<prom_tasks::TaskScraper>,
    /// The tasks the `port` metrics scrape, as last handed over by [`Sources::set_tasks`].
    tasks: Vec<TaskTarget>,
    /// RUNNING tasks without an address, with why (see [`Sources::set_unreachable`]).
    unreachable: Vec<(String, String)>,
    host: Option<host::Host>,
    task: Option<task::TaskSource>,
    cloudwatch: cloudwatch::Batch,
    /// `source = "pools"` metrics: name and pool (`None`: the most pressed).
    pool_metrics: Vec<(String, Option<String>)>,
    pools: pools::PoolSet,
    /// Metrics that cannot be read here at all, with the reason (e.g. CloudWatch in local mode).
    unavailable: Vec<(String, String)>,
    /// The reads of the last [`Sources::gather`] that had not finished (all of them, while it
    /// runs): what to name when a tick is cut during it.
    busy: Mutex<BTreeSet<&'static str>>,
}

/// What [`Sources::busy`] names each concurrent read.
const CLOUDWATCH: &str = "cloudwatch:GetMetricData";
const PROMETHEUS: &str = "prometheus scrapes";
const TASK_METADATA: &str = "task metadata";

impl Sources {
    pub fn new(cfg: &Config, env: &Environment) -> Result<Self, String> {
        let mut host_metrics = Vec::new();
        let mut task_metrics = Vec::new();
        let mut cw = Vec::new();
        let mut prom: Vec<(String, crate::config::model::PromQuery)> = Vec::new();
        let mut unavailable = Vec::new();
        let mut pool_metrics = Vec::new();
        for src in &cfg.scaling.sources {
            let name = src.name.clone();
            match &src.spec {
                SourceSpec::Host { resource } => host_metrics.push((name, *resource)),
                SourceSpec::Ecs { resource, .. } if env.local => host_metrics.push((name, *resource)),
                SourceSpec::Ecs { resource, scope: EcsScope::Task } => task_metrics.push((name, *resource)),
                SourceSpec::Ecs { resource, scope: EcsScope::Service } => {
                    let Some(svc) = &cfg.service else {
                        return Err(format!(
                            "metric {name:?}: source = \"ecs\" needs a [service] section (or run with --local)"
                        ));
                    };
                    cw.push((name, cloudwatch::service_query(&svc.cluster, &svc.name, *resource)));
                }
                SourceSpec::Cloudwatch(_) if env.local => {
                    unavailable.push((name, "CloudWatch is not read in --local mode".to_owned()))
                }
                SourceSpec::Cloudwatch(q) => cw.push((name, q.clone())),
                SourceSpec::Prometheus(q) if env.local && matches!(q.target, PromTarget::Tasks { .. }) => {
                    unavailable.push((
                        name,
                        "port scrapes the service's tasks, which --local mode does not list; use url"
                            .to_owned(),
                    ))
                }
                SourceSpec::Prometheus(q) => prom.push((name, q.clone())),
                SourceSpec::Pools { pool } => pool_metrics.push((name, pool.clone())),
            }
        }
        let task = if task_metrics.is_empty() {
            None
        } else {
            let Some(uri) = &env.metadata_uri else {
                return Err(format!(
                    "metric {:?}: scope = \"task\" reads the ECS task metadata endpoint, but \
                     ECS_CONTAINER_METADATA_URI_V4 is not set (not running in an ECS task?)",
                    task_metrics[0].0
                ));
            };
            Some(task::TaskSource::new(uri, task_metrics))
        };
        Ok(Sources {
            http: http_client(),
            scrapers: prometheus::Scraper::group(prom.clone()),
            task_scrapers: prom_tasks::TaskScraper::group(prom),
            tasks: Vec::new(),
            unreachable: Vec::new(),
            host: (!host_metrics.is_empty()).then(|| host::Host::new(host_metrics)),
            task,
            cloudwatch: cloudwatch::Batch::new(cw),
            pool_metrics,
            pools: env.pools.clone(),
            unavailable,
            busy: Mutex::default(),
        })
    }

    /// The tasks whose endpoints the `port` Prometheus metrics scrape from the next
    /// [`Sources::gather`] on: the service's RUNNING tasks with their private IPs. A task listed
    /// twice is scraped once; a task no longer listed is forgotten.
    pub fn set_tasks(&mut self, tasks: Vec<TaskTarget>) {
        let mut seen = std::collections::HashSet::new();
        self.tasks = tasks.into_iter().filter(|t| seen.insert(t.task.clone())).collect();
    }

    /// RUNNING tasks the `port` metrics cannot scrape (no address of their own), with why: they
    /// count as not heard from.
    pub fn set_unreachable(&mut self, tasks: Vec<(String, String)>) {
        self.unreachable = tasks;
    }

    /// Reads every metric once. All sources run concurrently; CloudWatch metrics go in one
    /// batched `GetMetricData`.
    pub async fn gather(&mut self, cw: Option<&CloudWatch>, now: DateTime<Utc>) -> Gathered {
        let mut g = Gathered::default();
        for (name, why) in &self.unavailable {
            g.put(name, Err(why.clone()));
        }
        let http = &self.http;
        let busy = &self.busy;
        let mark = |read: &'static str, on: bool| {
            let mut b = busy.lock().unwrap_or_else(|e| e.into_inner());
            if on {
                b.insert(read);
            } else {
                b.remove(read);
            }
        };
        let (targets, unreachable) = (&self.tasks, &self.unreachable);
        let prom = async {
            let (mut out, mut per_task) = (Vec::new(), Vec::new());
            for s in &mut self.scrapers {
                mark(PROMETHEUS, true);
                out.extend(s.scrape(http).await);
            }
            for s in &mut self.task_scrapers {
                mark(PROMETHEUS, true);
                per_task.extend(s.scrape(http, targets, unreachable).await);
            }
            mark(PROMETHEUS, false);
            (out, per_task)
        };
        let task = async {
            match &mut self.task {
                Some(t) => {
                    mark(TASK_METADATA, true);
                    let out = t.read(http).await;
                    mark(TASK_METADATA, false);
                    out
                }
                None => Vec::new(),
            }
        };
        let cloud = async {
            mark(CLOUDWATCH, !self.cloudwatch.is_empty());
            let out = self.cloudwatch.read(cw, now).await;
            mark(CLOUDWATCH, false);
            out
        };
        let ((prom, per_task), task, cloud) = tokio::join!(prom, task, cloud);
        for (name, r, breakdown) in per_task {
            g.put(&name, r);
            g.add_breakdown(name, breakdown);
        }
        let host = self.host.as_mut().map(|h| h.read(Utc::now())).unwrap_or_default();
        for (name, r) in prom.into_iter().chain(task).chain(cloud).chain(host) {
            g.put(&name, r);
        }
        for (name, pool) in &self.pool_metrics {
            // The pools live on the wall clock, as the API that reserves from them does.
            g.put(name, self.pools.sample(pool.as_deref(), Utc::now()));
        }
        g
    }

    /// The metrics measured task by task, which the leader averages over every task's own
    /// reading (see [`peer::across`]): `source = "ecs"` with `scope = "task"`, and `pools`.
    pub fn per_task_metrics(&self) -> Vec<String> {
        let task = self.task.iter().flat_map(|t| t.names().map(str::to_owned));
        task.chain(self.pool_metrics.iter().map(|(n, _)| n.clone())).collect()
    }

    /// This task's own readings of the metrics measured task by task: what a follower serves
    /// the leader. Reads the task metadata endpoint and the pools only: nothing from AWS.
    pub async fn gather_local(&mut self) -> Gathered {
        let mut g = Gathered::default();
        if let Some(t) = &mut self.task {
            for (name, r) in t.read(&self.http).await {
                g.put(&name, r);
            }
        }
        for (name, pool) in &self.pool_metrics {
            g.put(name, self.pools.sample(pool.as_deref(), Utc::now()));
        }
        g
    }

    /// The reads the last [`Sources::gather`] left unfinished (it was dropped while they ran).
    pub fn busy(&self) -> Vec<&'static str> {
        self.busy.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect()
    }

    /// Takes a first reading of every source that needs two (CPU counters, Prometheus
    /// counters), so the first tick already has rates. CloudWatch is not read.
    pub async fn prime(&mut self) {
        let http = &self.http;
        for s in &mut self.scrapers {
            let _ = s.scrape(http).await;
        }
        for s in &mut self.task_scrapers {
            let _ = s.scrape(http, &self.tasks, &[]).await;
        }
        if let Some(t) = &mut self.task {
            let _ = t.read(http).await;
        }
        if let Some(h) = &mut self.host {
            let _ = h.read(Utc::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// Issue 16: `port` metrics scrape the tasks handed over, each listed once; --local lists
    /// no tasks, so there they are missing with the reason.
    #[tokio::test]
    async fn port_metrics_read_the_tasks_handed_over_and_not_in_local_mode() {
        let text = "[[scaling.metrics]]\nname = \"q\"\nsource = \"prometheus\"\nkind = \"custom\"\n\
                    port = 9\ngauge = \"g\"\ntarget = 1.0\n";
        let cfg = crate::config::from_str("t.toml", text).unwrap();
        let local = Environment { local: true, ..Environment::default() };
        let g = Sources::new(&cfg, &local).unwrap().gather(None, Utc::now()).await;
        assert_eq!(
            g.problems["q"],
            "port scrapes the service's tasks, which --local mode does not list; use url"
        );
        let mut s = Sources::new(&cfg, &Environment::default()).unwrap();
        assert_eq!(s.gather(None, Utc::now()).await.problems["q"], "no running task to scrape");
        let task = TaskTarget { task: "arn:t/1".into(), ip: [127, 0, 0, 1].into() };
        s.set_tasks(vec![task.clone(), task]);
        let g = s.gather(None, Utc::now()).await;
        assert_eq!((g.per_task["q"].heard, g.per_task["q"].of), (0, 1));
        assert!(
            g.problems["q"].starts_with("0 of 1 tasks answered; GET http://127.0.0.1:9/metrics: "),
            "{g:?}"
        );
    }

    /// Issue 14, defect 8: a scrape body had no size limit. One with a length over the bound is
    /// refused before it is read.
    #[tokio::test]
    async fn a_body_longer_than_the_bound_is_refused() {
        let server = wiremock::MockServer::start().await;
        let big = "x 1\n".repeat(MAX_BODY_BYTES / 4 + 1);
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_string(big))
            .mount(&server)
            .await;
        let e = get_text(&http_client(), &server.uri()).await.unwrap_err();
        assert!(e.ends_with("response body larger than 4 MiB"), "{e}");
    }

    /// ...and an endless chunked body (no length to check) stops at the bound.
    #[tokio::test]
    async fn an_endless_body_stops_at_the_bound() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut sock, &mut head).await;
            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await;
            let chunk = format!("{:x}\r\n{}\r\n", 65_536, "y".repeat(65_536));
            while sock.write_all(chunk.as_bytes()).await.is_ok() {}
        });
        let e = get_text(&http_client(), &format!("http://{addr}/metrics")).await.unwrap_err();
        assert!(e.ends_with("response body larger than 4 MiB"), "{e}");
    }
}
