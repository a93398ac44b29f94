//! The app's own Prometheus endpoint. One scrape per URL per tick, shared by every metric read
//! from it; rates, ratios and histogram quantiles come from the difference between this scrape
//! and the previous one, as PromQL's `increase` and `histogram_quantile` compute them.

use chrono::{DateTime, Utc};

use super::promtext::{self, Scrape};
use crate::config::model::{PromQuery, PromRead};
use crate::core::Sample;

pub struct Scraper {
    url: String,
    metrics: Vec<(String, PromQuery)>,
    prev: Option<(DateTime<Utc>, Scrape)>,
}

impl Scraper {
    /// One scraper per distinct URL, in first-seen order.
    pub fn group(metrics: Vec<(String, PromQuery)>) -> Vec<Scraper> {
        let mut out: Vec<Scraper> = Vec::new();
        for (name, q) in metrics {
            match out.iter_mut().find(|s| s.url == q.url) {
                Some(s) => s.metrics.push((name, q)),
                None => out.push(Scraper { url: q.url.clone(), metrics: vec![(name, q)], prev: None }),
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

/// One metric's value from the current scrape (and the previous one, for deltas).
pub fn value(
    q: &PromQuery,
    prev: Option<&(DateTime<Utc>, Scrape)>,
    cur: &Scrape,
    now: DateTime<Utc>,
    url: &str,
) -> Result<f64, String> {
    let absent = |n: &str| format!("{url}: no series {n}{}", matchers(&q.labels));
    let first = || "first scrape: a rate needs two".to_owned();
    match &q.read {
        PromRead::Gauge(n) => cur.sum(n, &q.labels).ok_or_else(|| absent(n)),
        PromRead::Rate(n) => {
            cur.sum(n, &q.labels).ok_or_else(|| absent(n))?;
            let (t0, p) = prev.ok_or_else(first)?;
            let secs = (now - *t0).num_milliseconds() as f64 / 1000.0;
            if secs <= 0.0 {
                return Err("two scrapes at the same instant".to_owned());
            }
            Ok(increase(p, cur, n, &q.labels) / secs)
        }
        PromRead::Ratio(num, den) => {
            cur.sum(den, &q.labels).ok_or_else(|| absent(den))?;
            let (_, p) = prev.ok_or_else(first)?;
            let dn = increase(p, cur, num, &q.labels);
            let dd = increase(p, cur, den, &q.labels);
            // No requests in the interval: no errors either.
            Ok(if dd > 0.0 { 100.0 * dn / dd } else { 0.0 })
        }
        PromRead::Histogram { name, quantile } => {
            let c = cur.histogram(name, &q.labels).ok_or_else(|| absent(&format!("{name}_bucket")))?;
            let (_, p) = prev.ok_or_else(first)?;
            let delta = match p.histogram(name, &q.labels) {
                Some(p) => promtext::bucket_increase(&p, &c),
                None => c,
            };
            promtext::histogram_quantile(*quantile, &delta)
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{url}: no {name} observations since the last scrape"))
        }
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
        PromQuery { url: "http://app/metrics".into(), labels: vec![], read, scale: 1.0 }
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
