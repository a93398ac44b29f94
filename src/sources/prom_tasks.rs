//! The app's Prometheus endpoint on every task of the service (`port` + `path` instead of a
//! `url`), aggregated the way PromQL aggregates series.
//!
//! The model: each RUNNING task is one more set of series, as each target is in Prometheus.
//! Every tick the agent hands the scraper the tasks to read ([`super::Sources::set_tasks`]);
//! each is scraped once at `http://<task IP>:<port><path>`, all concurrently but at most
//! [`MAX_IN_FLIGHT`] at a time, each within the per-request timeout. A task's previous scrape
//! is kept by task ARN, so its counters are differenced against its own past only: a new task
//! has no rate yet, a restarted one counts as that task's counter reset (PromQL's `increase`),
//! and a task that left is forgotten (memory is bounded by the running tasks, and only the
//! series the metrics read are kept).
//!
//! Across tasks, each read has one PromQL rule ([`super::prometheus::aggregate`]): a rate is
//! `sum(rate(x[Δ]))`, a ratio `sum(increase(num[Δ])) / sum(increase(den[Δ]))`, a histogram
//! `histogram_quantile(q, sum by (le) (increase(x_bucket[Δ])))` (buckets merged, never
//! quantiles averaged), and a gauge `avg`, `max` or `sum` as configured.
//!
//! **Missing tasks.** A sum over some of the tasks is smaller than the truth, so it must never
//! pass for the whole: when a task does not answer, lacks the series, or is on its first scrape,
//! the metric is a problem for the tick ("2 of 3 tasks answered; …" with each reason), and the
//! core treats it as missing data, which never scales in. The per-task breakdown
//! ([`TaskBreakdown`]) is reported either way, to show which task is hot.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::prometheus::{Part, aggregate, part, series_names};
use super::promtext::{self, Scrape};
use crate::config::model::{Aggregate, PromQuery, PromRead, PromTarget};
use crate::core::Sample;

/// The most task scrapes in flight at once.
pub const MAX_IN_FLIGHT: usize = 16;

/// How many tasks' reasons a missing metric's message names; the rest are counted.
const REASONS_SHOWN: usize = 3;

/// One task to scrape: its ARN (the key of its history) and its private IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskTarget {
    pub task: String,
    pub ip: IpAddr,
}

/// One task's own value of a metric (its rate, ratio, quantile or gauge, scaled), or why not.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskValue {
    pub task: String,
    pub ip: IpAddr,
    pub value: Result<f64, String>,
}

/// One metric, task by task: `heard` of `of` tasks gave a usable reading this tick.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskBreakdown {
    pub heard: usize,
    pub of: usize,
    pub tasks: Vec<TaskValue>,
    /// When some tasks were not heard from: what the others alone prove, a value the whole is
    /// at least (a sum or rate over the tasks heard, an average counting the unheard as 0, the
    /// highest heard). Scales out, never in (see `core::Observation::partial`). `None` for a
    /// ratio or a quantile, which the heard tasks do not bound.
    pub lower_bound: Option<Sample>,
}

/// What one metric read from the tasks this tick: its aggregate (or why not) and the breakdown.
pub type Reading = (String, Result<Sample, String>, TaskBreakdown);

/// One task's answer to this tick's scrape, stamped when it arrived.
#[derive(Clone, Debug)]
pub struct Answer {
    pub target: TaskTarget,
    pub at: DateTime<Utc>,
    pub scrape: Result<Scrape, String>,
}

/// The metrics read from one `port` + `path` on every task, and each task's previous scrape.
pub struct TaskScraper {
    port: u16,
    path: String,
    metrics: Vec<(String, PromQuery)>,
    /// The series names the metrics read: all a kept scrape needs.
    names: BTreeSet<String>,
    prev: HashMap<String, (DateTime<Utc>, Scrape)>,
}

impl TaskScraper {
    /// One scraper per distinct `port` + `path`, in first-seen order; `url` metrics are skipped.
    pub fn group(metrics: Vec<(String, PromQuery)>) -> Vec<TaskScraper> {
        let mut out: Vec<TaskScraper> = Vec::new();
        for (name, q) in metrics {
            let PromTarget::Tasks { port, path } = &q.target else { continue };
            let at = out.iter().position(|s| s.port == *port && &s.path == path);
            let s = match at {
                Some(i) => &mut out[i],
                None => {
                    out.push(TaskScraper::new(*port, path));
                    out.last_mut().expect("just pushed")
                }
            };
            s.names.extend(series_names(&q));
            s.metrics.push((name, q));
        }
        out
    }

    fn new(port: u16, path: &str) -> TaskScraper {
        let (metrics, names, prev) = Default::default();
        TaskScraper { port, path: path.to_owned(), metrics, names, prev }
    }

    /// `http://IP:PORT/path`, IPv6 in brackets.
    pub fn url(&self, ip: IpAddr) -> String {
        format!("http://{}{}", SocketAddr::new(ip, self.port), self.path)
    }

    /// Scrapes every task once and reads every metric from the answers.
    /// Scrapes `tasks`; `unreachable` are RUNNING tasks with no address to scrape (bridge or
    /// host network mode), each with why: they count as not heard from, so a sum over the
    /// others never passes for the whole.
    pub async fn scrape(
        &mut self,
        http: &reqwest::Client,
        tasks: &[TaskTarget],
        unreachable: &[(String, String)],
    ) -> Vec<Reading> {
        let mut answers = self.fetch(http, tasks).await;
        answers.extend(unreachable.iter().map(|(task, why)| Answer {
            target: TaskTarget { task: task.clone(), ip: super::NO_ADDRESS },
            at: Utc::now(),
            scrape: Err(why.clone()),
        }));
        self.combine(answers)
    }

    /// All tasks' answers, in the order of `tasks`, at most [`MAX_IN_FLIGHT`] requests at once.
    async fn fetch(&self, http: &reqwest::Client, tasks: &[TaskTarget]) -> Vec<Answer> {
        let one = |target: TaskTarget| async move {
            let url = self.url(target.ip);
            let text = super::get_text(http, &url).await;
            let at = Utc::now();
            let scrape = text.and_then(|t| promtext::parse(&t).map_err(|e| format!("{url}: {e}")));
            Answer { target, at, scrape }
        };
        futures_util::stream::iter(tasks.iter().cloned()).map(one).buffered(MAX_IN_FLIGHT).collect().await
    }

    /// Reads every metric from this tick's answers, then keeps each answered task's scrape for
    /// the next tick and forgets the tasks that are gone. A task whose scrape failed keeps its
    /// previous one: its next good scrape gives a longer interval, not a wrong rate.
    pub fn combine(&mut self, answers: Vec<Answer>) -> Vec<Reading> {
        let readings: Vec<Reading> = self
            .metrics
            .iter()
            .map(|(name, q)| {
                let (sample, breakdown) = self.read(q, &answers);
                (name.clone(), sample, breakdown)
            })
            .collect();
        let live: HashSet<&str> = answers.iter().map(|a| a.target.task.as_str()).collect();
        self.prev.retain(|task, _| live.contains(task.as_str()));
        for a in answers {
            if let Ok(scrape) = a.scrape {
                self.prev.insert(a.target.task, (a.at, self.kept(scrape)));
            }
        }
        readings
    }

    /// One metric across the tasks: the aggregate only when every task gave its part.
    fn read(&self, q: &PromQuery, answers: &[Answer]) -> (Result<Sample, String>, TaskBreakdown) {
        let parts: Vec<Result<Part, String>> = answers.iter().map(|a| self.part(q, a)).collect();
        let tasks = answers
            .iter()
            .zip(&parts)
            .map(|(a, p)| TaskValue {
                task: a.target.task.clone(),
                ip: a.target.ip,
                value: p.clone().and_then(|p| aggregate(q, &[p])).map(|v| v * q.scale),
            })
            .collect();
        let heard = parts.iter().filter(|p| p.is_ok()).count();
        let lower_bound = (heard < answers.len()).then(|| lower_bound(q, answers, &parts)).flatten();
        let breakdown = TaskBreakdown { heard, of: answers.len(), tasks, lower_bound };
        (whole(q, answers, parts), breakdown)
    }

    fn part(&self, q: &PromQuery, a: &Answer) -> Result<Part, String> {
        let cur = a.scrape.as_ref().map_err(Clone::clone)?;
        let prev = self.prev.get(&a.target.task);
        part(q, prev, cur, a.at, &self.url(a.target.ip)).map_err(|why| match why.starts_with("http://") {
            true => why,
            false => format!("{}: {why}", self.url(a.target.ip)),
        })
    }

    /// Only the series the metrics read.
    fn kept(&self, mut scrape: Scrape) -> Scrape {
        scrape.samples.retain(|s| self.names.contains(&s.name));
        scrape
    }
}

/// The metric's value over all tasks, stamped with the oldest answer's time; a problem naming
/// how many tasks were heard from and why the others were not, when any was not.
fn whole(q: &PromQuery, answers: &[Answer], parts: Vec<Result<Part, String>>) -> Result<Sample, String> {
    let of = parts.len();
    if of == 0 {
        return Err("no running task to scrape".to_owned());
    }
    let (ok, failed): (Vec<_>, Vec<_>) = parts.into_iter().partition(Result::is_ok);
    if !failed.is_empty() {
        return Err(not_all_answered(ok.len(), of, failed.into_iter().filter_map(Result::err)));
    }
    let parts: Vec<Part> = ok.into_iter().flatten().collect();
    let value = aggregate(q, &parts).map_err(|why| format!("across {of} tasks: {why}"))?;
    let at = answers.iter().map(|a| a.at).min().expect("at least one answer");
    Ok(Sample { value: value * q.scale, at })
}

/// What the tasks heard from prove of the whole (see [`TaskBreakdown::lower_bound`]).
fn lower_bound(q: &PromQuery, answers: &[Answer], parts: &[Result<Part, String>]) -> Option<Sample> {
    let heard: Vec<f64> =
        parts.iter().filter_map(|p| p.as_ref().ok()).filter_map(|p| p.gauge().or(p.rate())).collect();
    if heard.is_empty() || heard.iter().any(|v| *v < 0.0 || !v.is_finite()) {
        return None;
    }
    let sum: f64 = heard.iter().sum();
    let value = match (&q.read, q.aggregate) {
        (PromRead::Rate(_), _) | (PromRead::Gauge(_), Aggregate::Sum) => sum,
        (PromRead::Gauge(_), Aggregate::Avg) => sum / answers.len() as f64,
        (PromRead::Gauge(_), Aggregate::Max) => heard.iter().copied().fold(0.0, f64::max),
        _ => return None,
    };
    let at = answers.iter().zip(parts).filter(|(_, p)| p.is_ok()).map(|(a, _)| a.at).min()?;
    Some(Sample { value: value * q.scale, at })
}

/// "2 of 3 tasks answered; <why>; …": the first few reasons, then how many more.
pub(super) fn not_all_answered(heard: usize, of: usize, reasons: impl Iterator<Item = String>) -> String {
    let mut why: Vec<String> = reasons.take(REASONS_SHOWN).collect();
    if of - heard > REASONS_SHOWN {
        why.push(format!("and {} more", of - heard - REASONS_SHOWN));
    }
    format!("{heard} of {of} tasks answered; {}", why.join("; "))
}

#[cfg(test)]
#[path = "prom_tasks_tests.rs"]
mod tests;
