//! The source-specific keys of `[[scaling.metrics]]`: which keys each `source` takes, what they
//! must hold, and a clear error for a key that the chosen source would silently ignore.

use super::{Keys, ONE_DAY};
use crate::config::defaults::metric as dm;
use crate::config::model::{
    Aggregate, CloudwatchQuery, EcsScope, Mode, PromQuery, PromRead, PromTarget, Resource, SourceKind,
    SourceSpec,
};
use crate::config::raw::RawMetric;
use crate::core::MetricKind;

/// CloudWatch's five plain statistics; extended ones (`p99`, `tm90`, …) are checked by shape.
const STATISTICS: &[&str] = &["Average", "Sum", "Minimum", "Maximum", "SampleCount"];

/// The keys each source reads, besides the common `name`, `source`, `kind`, `weight`, `target`.
fn own_keys(source: SourceKind) -> &'static [&'static str] {
    match source {
        SourceKind::Ecs => &["scope"],
        SourceKind::Host => &[],
        SourceKind::Pools => &["pool"],
        SourceKind::Cloudwatch => &["namespace", "metric", "dimensions", "statistic", "period"],
        SourceKind::Prometheus => &[
            "url",
            "port",
            "path",
            "aggregate",
            "gauge",
            "rate",
            "ratio",
            "histogram",
            "quantile",
            "scale",
            "labels",
        ],
    }
}

/// The source-specific keys the user wrote, by name.
fn written(r: &RawMetric) -> Vec<&'static str> {
    let set = [
        ("scope", r.scope.is_some()),
        ("url", r.url.is_some()),
        ("port", r.port.is_some()),
        ("path", r.path.is_some()),
        ("aggregate", r.aggregate.is_some()),
        ("gauge", r.gauge.is_some()),
        ("rate", r.rate.is_some()),
        ("ratio", r.ratio.is_some()),
        ("histogram", r.histogram.is_some()),
        ("quantile", r.quantile.is_some()),
        ("scale", r.scale.is_some()),
        ("labels", r.labels.is_some()),
        ("namespace", r.namespace.is_some()),
        ("metric", r.metric.is_some()),
        ("dimensions", r.dimensions.is_some()),
        ("statistic", r.statistic.is_some()),
        ("period", r.period.is_some()),
        ("pool", r.pool.is_some()),
    ];
    set.into_iter().filter(|(_, on)| *on).map(|(k, _)| k).collect()
}

pub fn spec(
    k: &mut Keys<'_>,
    r: &RawMetric,
    source: SourceKind,
    kind: Option<MetricKind>,
    mode: Mode,
) -> Option<SourceSpec> {
    let allowed = own_keys(source);
    let stray: Vec<_> = written(r).into_iter().filter(|key| !allowed.contains(key)).collect();
    for key in &stray {
        let name = SourceKind::NAMES[source as usize];
        k.problem(key, format!("not used by source = {name:?} (it takes: {})", list(allowed)));
    }
    let spec = match source {
        SourceKind::Ecs => {
            let scope = k.one_of(
                "scope",
                r.scope.as_deref(),
                dm::SCOPE,
                dm::SCOPES,
                &[EcsScope::Service, EcsScope::Task],
            );
            Some(SourceSpec::Ecs { resource: resource(k, kind, "ecs")?, scope: scope? })
        }
        SourceKind::Host => Some(SourceSpec::Host { resource: resource(k, kind, "host")? }),
        SourceKind::Cloudwatch => cloudwatch(k, r, mode).map(SourceSpec::Cloudwatch),
        SourceKind::Prometheus => prometheus(k, r).map(SourceSpec::Prometheus),
        // Whether the pool exists is checked against `[pools]` once both are read.
        SourceKind::Pools => Some(SourceSpec::Pools { pool: r.pool.clone() }),
    };
    if stray.is_empty() { spec } else { None }
}

fn list(keys: &[&str]) -> String {
    if keys.is_empty() { "no extra keys".to_owned() } else { keys.join(", ") }
}

/// `ecs` and `host` measure CPU or memory; which one comes from the metric's kind (or name).
fn resource(k: &mut Keys<'_>, kind: Option<MetricKind>, source: &str) -> Option<Resource> {
    match kind? {
        MetricKind::Cpu => Some(Resource::Cpu),
        MetricKind::Memory => Some(Resource::Memory),
        other => {
            k.problem(
                "kind",
                format!(
                    "source = {source:?} measures cpu or memory, not {}; name the metric \"cpu\" or \
                     \"memory\", or set kind",
                    dm::KINDS[other as usize]
                ),
            );
            None
        }
    }
}

fn cloudwatch(k: &mut Keys<'_>, r: &RawMetric, mode: Mode) -> Option<CloudwatchQuery> {
    let namespace = k.non_empty("namespace", &r.namespace);
    let metric = k.non_empty("metric", &r.metric);
    let statistic = r.statistic.clone().unwrap_or_else(|| dm::STATISTIC.to_owned());
    let statistic_ok = STATISTICS.contains(&statistic.as_str()) || is_extended_statistic(&statistic);
    if !statistic_ok {
        k.problem(
            "statistic",
            format!(
                "unknown statistic {statistic:?}; expected one of {}, or a percentile like p99",
                STATISTICS.join(", ")
            ),
        );
    }
    let period = k.positive_duration("period", r.period.as_deref(), dm::PERIOD, ONE_DAY).filter(|p| {
        let s = p.num_seconds();
        let ok = p.subsec_nanos() == 0 && (matches!(s, 1 | 5 | 10 | 30) || s % 60 == 0);
        if !ok {
            k.problem("period", "must be 1s, 5s, 10s, 30s or a multiple of 60s (CloudWatch periods)");
        }
        ok
    });
    let dimensions: Vec<(String, String)> = r.dimensions.clone().unwrap_or_default().into_iter().collect();
    if dimensions.len() > dm::MAX_DIMENSIONS {
        let most = dm::MAX_DIMENSIONS;
        k.problem(
            "dimensions",
            format!("CloudWatch allows at most {most} dimensions, got {}", dimensions.len()),
        );
        return None;
    }
    if !placeholders(k, &dimensions, mode) {
        return None;
    }
    Some(CloudwatchQuery {
        namespace: namespace?,
        metric: metric?,
        dimensions,
        statistic: statistic_ok.then_some(statistic)?,
        period: period?,
    })
}

/// What a controller fills in, per service, in a dimension value of a `[policies.NAME]` metric.
const PLACEHOLDERS: &[&str] = &["{cluster}", "{service}"];

/// Checks the `{word}` placeholders of dimension values in a controller's policy: only
/// [`PLACEHOLDERS`], which are kept as written (the controller fills them in per service). Other
/// braces are plain text, and a sidecar's `[scaling]` takes any value as written.
fn placeholders(k: &mut Keys<'_>, dimensions: &[(String, String)], mode: Mode) -> bool {
    if mode == Mode::Sidecar {
        return true;
    }
    let mut ok = true;
    for (dim, value) in dimensions {
        for (at, word) in braced(value).filter(|(_, w)| !PLACEHOLDERS.contains(w)) {
            let known = PLACEHOLDERS.join(" and ");
            k.problem_in(
                &format!("dimensions.{dim}"),
                at,
                format!("unknown placeholder {word}; a controller fills in {known}"),
            );
            ok = false;
        }
    }
    ok
}

/// Each `{word}` in `s` (lower-case letters and `_`), with its byte offset.
fn braced(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.match_indices('{').filter_map(|(i, _)| {
        let end = i + 1 + s[i + 1..].find('}')?;
        let word = &s[i + 1..end];
        let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        plain.then(|| (i, &s[i..=end]))
    })
}

/// `p99`, `p99.9`, `tm90`, `wm95`, `tc90`, `ts99`, `IQM`: CloudWatch's extended statistics.
fn is_extended_statistic(s: &str) -> bool {
    if s == "IQM" {
        return true;
    }
    let digits = ["p", "tm", "wm", "tc", "ts"].iter().find_map(|prefix| s.strip_prefix(prefix));
    digits.and_then(|d| d.parse::<f64>().ok()).is_some_and(|v| (0.0..=100.0).contains(&v))
}

fn prometheus(k: &mut Keys<'_>, r: &RawMetric) -> Option<PromQuery> {
    let target = prom_target(k, r);
    let reads = [r.gauge.is_some(), r.rate.is_some(), r.ratio.is_some(), r.histogram.is_some()];
    let read = match reads.iter().filter(|on| **on).count() {
        1 => prom_read(k, r),
        n => {
            let what = if n == 0 { "one of" } else { "only one of" };
            k.problem("gauge", format!("a prometheus metric needs {what} gauge, rate, ratio, histogram"));
            None
        }
    };
    if r.quantile.is_some() && r.histogram.is_none() {
        k.problem("quantile", "only used with histogram");
    }
    let aggregate = aggregate(k, r);
    let scale = r.scale.unwrap_or(dm::SCALE);
    let scale_ok = scale.is_finite() && scale > 0.0;
    if !scale_ok {
        k.problem("scale", format!("must be a number > 0, got {scale}"));
    }
    let labels = r.labels.clone().unwrap_or_default().into_iter().collect();
    Some(PromQuery {
        target: target?,
        labels,
        read: read?,
        scale: scale_ok.then_some(scale)?,
        aggregate: aggregate?,
    })
}

/// The metrics path of a `port` metric when `path` is not set.
pub const DEFAULT_PATH: &str = dm::PATH;

/// `url` (one endpoint) or `port` + `path` (every RUNNING task), never both.
fn prom_target(k: &mut Keys<'_>, r: &RawMetric) -> Option<PromTarget> {
    if r.path.is_some() && r.port.is_none() {
        k.problem("path", "only used with port (with url, the path is part of the URL)");
    }
    match (&r.url, r.port) {
        (Some(_), Some(_)) => {
            k.problem("port", "use url (one endpoint) or port (every running task), not both");
            None
        }
        (None, None) => {
            k.problem("url", "missing: set url (one endpoint) or port (every running task of the service)");
            None
        }
        (Some(u), None) => prom_url(k, u).map(PromTarget::Url),
        (None, Some(port)) => {
            let port = u16::try_from(port).ok().filter(|p| *p > 0);
            if port.is_none() {
                k.problem("port", format!("must be a TCP port from 1 to 65535, got {}", r.port.unwrap_or(0)));
            }
            let path = prom_path(k, r.path.as_deref().unwrap_or(DEFAULT_PATH));
            Some(PromTarget::Tasks { port: port?, path: path? })
        }
    }
}

fn prom_url(k: &mut Keys<'_>, u: &str) -> Option<String> {
    let ok = !u.trim().is_empty() && u.strip_prefix("http://").is_some_and(|rest| !rest.is_empty());
    if !ok {
        k.problem("url", format!("{u:?} is not an http:// URL (the app's metrics endpoint, e.g. \"http://127.0.0.1:8080/metrics\")"));
    }
    ok.then(|| u.to_owned())
}

/// A path goes after `http://IP:PORT` as written: it must start with `/` and hold no blanks,
/// control characters or fragment.
fn prom_path(k: &mut Keys<'_>, path: &str) -> Option<String> {
    let bad = path.chars().any(|c| c.is_whitespace() || c.is_control() || c == '#');
    if !path.starts_with('/') || bad || path.len() > 1024 {
        k.problem("path", format!("{path:?} is not a URL path (e.g. \"/metrics\")"));
        return None;
    }
    Some(path.to_owned())
}

/// `aggregate` combines one gauge across tasks; every other read has a fixed PromQL rule.
fn aggregate(k: &mut Keys<'_>, r: &RawMetric) -> Option<Aggregate> {
    let Some(text) = r.aggregate.as_deref() else { return Some(Aggregate::default()) };
    let fixed = if r.rate.is_some() {
        Some("a rate is summed across tasks: sum(rate(x[Δ]))")
    } else if r.ratio.is_some() {
        Some("a ratio divides the summed increases: sum(increase(num[Δ])) / sum(increase(den[Δ]))")
    } else if r.histogram.is_some() {
        Some(
            "a histogram merges the tasks' buckets: histogram_quantile(q, sum by (le) (increase(x_bucket[Δ])))",
        )
    } else {
        None
    };
    if let Some(rule) = fixed {
        k.problem("aggregate", format!("only used with gauge; {rule}"));
        return None;
    }
    if r.port.is_none() {
        k.problem("aggregate", "only used with port (url reads one endpoint: there is nothing to aggregate)");
        return None;
    }
    k.one_of("aggregate", Some(text), dm::AGGREGATE, Aggregate::NAMES, &Aggregate::ALL)
}

fn prom_read(k: &mut Keys<'_>, r: &RawMetric) -> Option<PromRead> {
    let name_ok = |k: &mut Keys<'_>, key: &str, n: &str| {
        let ok = is_metric_name(n);
        if !ok {
            k.problem(key, format!("{n:?} is not a Prometheus metric name"));
        }
        ok
    };
    if let Some(g) = &r.gauge {
        return name_ok(k, "gauge", g).then(|| PromRead::Gauge(g.clone()));
    }
    if let Some(c) = &r.rate {
        return name_ok(k, "rate", c).then(|| PromRead::Rate(c.clone()));
    }
    if let Some(pair) = &r.ratio {
        let [num, den] = pair.as_slice() else {
            k.problem("ratio", format!("expected [numerator, denominator], got {} names", pair.len()));
            return None;
        };
        let ok = name_ok(k, "ratio", num) & name_ok(k, "ratio", den);
        return ok.then(|| PromRead::Ratio(num.clone(), den.clone()));
    }
    let h = r.histogram.as_ref()?;
    let name = h.strip_suffix("_bucket").unwrap_or(h);
    let quantile = k.required("quantile", &r.quantile).filter(|q| {
        let ok = *q > 0.0 && *q < 1.0;
        if !ok {
            k.problem("quantile", format!("must be between 0 and 1 (exclusive), got {q}"));
        }
        ok
    });
    let ok = name_ok(k, "histogram", name);
    Some(PromRead::Histogram { name: ok.then(|| name.to_owned())?, quantile: quantile? })
}

fn is_metric_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}
