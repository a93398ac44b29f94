//! The app's own Prometheus endpoint. One scrape per URL per tick, shared by every metric read
//! from it; rates, ratios and histogram quantiles come from the difference between this scrape
//! and the previous one, as PromQL's `increase` and `histogram_quantile` compute them.
//!
//! A metric's reading of one endpoint is first a [`Part`]: the numbers that add up across
//! endpoints the PromQL way (a gauge's value, a counter's rate, a ratio's two increases, a
//! histogram's bucket increases). [`aggregate`] turns the parts of one endpoint (a `url`) or of
//! every task (`port`, see [`super::prom_tasks`]) into the metric's value.

use chrono::{DateTime, Utc};

use super::promtext::{self, Bucket, Scrape};
use crate::config::model::{Aggregate, PromQuery, PromRead, PromTarget};
use crate::core::Sample;

pub struct Scraper {
    url: String,
    metrics: Vec<(String, PromQuery)>,
    prev: Option<(DateTime<Utc>, Scrape)>,
}

impl Scraper {
    /// One scraper per distinct URL, in first-seen order. Metrics scraped from every task
    /// (`port`) are not taken: see [`super::prom_tasks::TaskScraper::group`].
    pub fn group(metrics: Vec<(String, PromQuery)>) -> Vec<Scraper> {
        let mut out: Vec<Scraper> = Vec::new();
        for (name, q) in metrics {
            let PromTarget::Url(url) = &q.target else { continue };
            match out.iter_mut().find(|s| &s.url == url) {
                Some(s) => s.metrics.push((name, q)),
                None => out.push(Scraper { url: url.clone(), metrics: vec![(name, q)], prev: None }),
            }
        }
        out
    }

    /// Scrapes once. Samples are stamped when the response arrived (not when the tick began),
    /// so rates divide by the real time between two scrapes.
    pub async fn scrape(&mut self, http: &reqwest::Client) -> Vec<(String, Result<Sample, String>)> {
        let text = super::get_text(http, &self.url).await;
        let now = Utc::now();
        let scrape = text.and_then(|t| promtext::parse(&t).map_err(|e| format!("{}: {e}", self.url)));
        let cur = match scrape {
            Ok(s) => s,
            // A failed scrape keeps the previous one: the next good scrape gives a longer
            // interval, not a wrong rate.
            Err(why) => return self.metrics.iter().map(|(n, _)| (n.clone(), Err(why.clone()))).collect(),
        };
        let out = self
            .metrics
            .iter()
            .map(|(name, q)| {
                let v = value(q, self.prev.as_ref(), &cur, now, &self.url).map(|v| v * q.scale);
                (name.clone(), v.map(|value| Sample { value, at: now }))
            })
            .collect();
        self.prev = Some((now, cur));
        out
    }
}

/// One metric's value from the current scrape of one endpoint (and the previous one, for deltas).
pub fn value(
    q: &PromQuery,
    prev: Option<&(DateTime<Utc>, Scrape)>,
    cur: &Scrape,
    now: DateTime<Utc>,
    url: &str,
) -> Result<f64, String> {
    let p = part(q, prev, cur, now, url)?;
    aggregate(q, std::slice::from_ref(&p)).map_err(|why| format!("{url}: {why}"))
}

/// What one endpoint says about one metric, in the terms that add up across endpoints.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Gauge(f64),
    /// A counter's increase per second since the previous scrape (`rate`).
    Rate(f64),
    /// The increases of the numerator and the denominator since the previous scrape.
    Ratio {
        num: f64,
        den: f64,
    },
    /// Each bucket's increase since the previous scrape.
    Buckets(Vec<Bucket>),
}

impl Part {
    pub(super) fn gauge(&self) -> Option<f64> {
        if let Part::Gauge(v) = self { Some(*v) } else { None }
    }

    pub(super) fn rate(&self) -> Option<f64> {
        if let Part::Rate(r) = self { Some(*r) } else { None }
    }

    fn ratio(&self) -> Option<(f64, f64)> {
        if let Part::Ratio { num, den } = self { Some((*num, *den)) } else { None }
    }

    fn buckets(&self) -> Option<&[Bucket]> {
        if let Part::Buckets(b) = self { Some(b) } else { None }
    }
}

/// One endpoint's [`Part`] of `q`; an error when the series is absent or there is no previous
/// scrape to take a delta from (a first scrape, a new task).
pub fn part(
    q: &PromQuery,
    prev: Option<&(DateTime<Utc>, Scrape)>,
    cur: &Scrape,
    now: DateTime<Utc>,
    url: &str,
) -> Result<Part, String> {
    let absent = |n: &str| format!("{url}: no series {n}{}", matchers(&q.labels));
    let first = || "first scrape: a rate needs two".to_owned();
    match &q.read {
        PromRead::Gauge(n) => cur.sum(n, &q.labels).map(Part::Gauge).ok_or_else(|| absent(n)),
        PromRead::Rate(n) => {
            cur.sum(n, &q.labels).ok_or_else(|| absent(n))?;
            let (t0, p) = prev.ok_or_else(first)?;
            let secs = (now - *t0).num_milliseconds() as f64 / 1000.0;
            if secs <= 0.0 {
                return Err("two scrapes at the same instant".to_owned());
            }
            Ok(Part::Rate(increase(p, cur, n, &q.labels) / secs))
        }
        PromRead::Ratio(num, den) => {
            cur.sum(den, &q.labels).ok_or_else(|| absent(den))?;
            let (_, p) = prev.ok_or_else(first)?;
            Ok(Part::Ratio { num: increase(p, cur, num, &q.labels), den: increase(p, cur, den, &q.labels) })
        }
        PromRead::Histogram { name, .. } => {
            let c = cur.histogram(name, &q.labels).ok_or_else(|| absent(&format!("{name}_bucket")))?;
            let (_, p) = prev.ok_or_else(first)?;
            Ok(Part::Buckets(match p.histogram(name, &q.labels) {
                Some(p) => promtext::bucket_increase(&p, &c),
                None => c,
            }))
        }
    }
}

/// The value of `q` (before `scale`) from the parts of one or more endpoints, as PromQL
/// computes it across series:
///
/// - gauge: `avg`, `max` or `sum` of the endpoints' values, per `q.aggregate`;
/// - rate: `sum(rate(x[Δ]))`, the sum of each endpoint's own rate;
/// - ratio: `100 * sum(increase(num[Δ])) / sum(increase(den[Δ]))` (0 when nothing was counted:
///   no requests, no errors either);
/// - histogram: `histogram_quantile(q, sum by (le) (increase(x_bucket[Δ])))`: the buckets are
///   merged before the quantile, never the quantiles averaged.
///
/// Parts of another read than `q`'s are ignored; none at all is an error.
pub fn aggregate(q: &PromQuery, parts: &[Part]) -> Result<f64, String> {
    if parts.is_empty() {
        return Err("no endpoint to read".to_owned());
    }
    match &q.read {
        PromRead::Gauge(_) => Ok(gauge(q.aggregate, parts.iter().filter_map(|p| p.gauge()))),
        PromRead::Rate(_) => Ok(parts.iter().filter_map(|p| p.rate()).sum()),
        PromRead::Ratio(..) => {
            let pairs = parts.iter().filter_map(|p| p.ratio());
            let (num, den) = pairs.fold((0.0, 0.0), |(n, d), (pn, pd)| (n + pn, d + pd));
            Ok(if den > 0.0 { 100.0 * num / den } else { 0.0 })
        }
        PromRead::Histogram { name, quantile } => {
            let merged: Vec<Bucket> = parts.iter().filter_map(|p| p.buckets()).flatten().copied().collect();
            promtext::histogram_quantile(*quantile, &merged)
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("no {name} observations since the last scrape"))
        }
    }
}

fn gauge(how: Aggregate, values: impl Iterator<Item = f64>) -> f64 {
    let (mut n, mut sum, mut max) = (0usize, 0.0, f64::NEG_INFINITY);
    for v in values {
        n += 1;
        sum += v;
        max = max.max(v);
    }
    match how {
        Aggregate::Sum => sum,
        Aggregate::Max => max,
        Aggregate::Avg => sum / n.max(1) as f64,
    }
}

/// Increase of counter `name` between two scrapes, series by series as PromQL's `increase`
/// does and then summed: one series' reset (a restarted worker) counts as that series'
/// restart, not as the whole sum's. A series new in this scrape adds nothing yet.
fn increase(prev: &Scrape, cur: &Scrape, name: &str, matchers: &[(String, String)]) -> f64 {
    let series = |s: &Scrape| -> std::collections::BTreeMap<Vec<(String, String)>, f64> {
        s.samples
            .iter()
            .filter(|x| x.name == name && matchers.iter().all(|m| x.labels.contains(m)))
            .map(|x| {
                let mut key = x.labels.clone();
                key.sort();
                (key, x.value)
            })
            .collect()
    };
    let before = series(prev);
    series(cur)
        .into_iter()
        .filter_map(|(k, c)| before.get(&k).map(|p| promtext::counter_increase(*p, c)))
        .sum()
}

/// The series names `q` reads, so a kept scrape can drop every other line.
pub fn series_names(q: &PromQuery) -> Vec<String> {
    match &q.read {
        PromRead::Gauge(n) | PromRead::Rate(n) => vec![n.clone()],
        PromRead::Ratio(a, b) => vec![a.clone(), b.clone()],
        PromRead::Histogram { name, .. } => vec![format!("{name}_bucket")],
    }
}

fn matchers(labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn q(read: PromRead) -> PromQuery {
        PromQuery {
            target: PromTarget::Url("http://app/metrics".into()),
            labels: vec![],
            read,
            scale: 1.0,
            aggregate: Aggregate::Avg,
        }
    }

    fn scrape(t: &str) -> Scrape {
        promtext::parse(t).unwrap()
    }

    #[test]
    fn rates_ratios_and_quantiles_come_from_two_scrapes() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let t1 = t0 + chrono::TimeDelta::seconds(10);
        let a = scrape(
            "req_total 100\nerr_total 1\nlat_bucket{le=\"0.1\"} 10\nlat_bucket{le=\"0.5\"} 20\nlat_bucket{le=\"+Inf\"} 20\n",
        );
        let b = scrape(
            "req_total 300\nerr_total 5\nlat_bucket{le=\"0.1\"} 20\nlat_bucket{le=\"0.5\"} 120\nlat_bucket{le=\"+Inf\"} 120\n",
        );
        let prev = Some((t0, a));
        let url = "http://app/metrics";
        assert_eq!(value(&q(PromRead::Rate("req_total".into())), prev.as_ref(), &b, t1, url), Ok(20.0));
        let ratio = PromRead::Ratio("err_total".into(), "req_total".into());
        assert_eq!(value(&q(ratio), prev.as_ref(), &b, t1, url), Ok(2.0));
        // 100 new observations: 10 below 0.1, 90 in (0.1, 0.5]; p50 = 0.1 + 0.4 * (50-10)/90.
        let h = PromRead::Histogram { name: "lat".into(), quantile: 0.5 };
        let p50 = value(&q(h), prev.as_ref(), &b, t1, url).unwrap();
        assert!((p50 - (0.1 + 0.4 * 40.0 / 90.0)).abs() < 1e-12, "{p50}");
        // One of two workers restarts: only its own count starts again.
        let two = scrape("req_total{w=\"1\"} 1000\nreq_total{w=\"2\"} 1000\n");
        let after = scrape("req_total{w=\"1\"} 1100\nreq_total{w=\"2\"} 50\n");
        let rate = value(&q(PromRead::Rate("req_total".into())), Some(&(t0, two)), &after, t1, url);
        assert_eq!(rate, Ok((100.0 + 50.0) / 10.0));
        let first = value(&q(PromRead::Rate("req_total".into())), None, &b, t1, url);
        assert_eq!(first, Err("first scrape: a rate needs two".to_owned()));
        let missing = value(&q(PromRead::Gauge("nope".into())), None, &b, t1, url);
        assert_eq!(missing, Err("http://app/metrics: no series nope".to_owned()));
    }
}
