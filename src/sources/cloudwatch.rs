//! CloudWatch metrics, including the service-wide `AWS/ECS` CPU and memory: every metric of a
//! tick in one batched `GetMetricData`.

use chrono::{DateTime, TimeDelta, Utc};

use crate::aws::{CloudWatch, MetricData, MetricQuery};
use crate::config::model::{CloudwatchQuery, Resource};
use crate::core::Sample;
use crate::core::types::{earlier, later};

/// `AWS/ECS` utilization of the whole service (the average over its tasks).
pub fn service_query(cluster: &str, service: &str, r: Resource) -> CloudwatchQuery {
    let metric = match r {
        Resource::Cpu => "CPUUtilization",
        Resource::Memory => "MemoryUtilization",
    };
    CloudwatchQuery {
        namespace: "AWS/ECS".into(),
        metric: metric.into(),
        dimensions: vec![("ClusterName".into(), cluster.into()), ("ServiceName".into(), service.into())],
        statistic: "Average".into(),
        period: TimeDelta::seconds(60),
    }
}

pub struct Batch {
    /// Query ids are this prefix and the metric's index: `m0`, `m1`, … for one service, one
    /// prefix per service when a controller reads many in one request.
    prefix: String,
    metrics: Vec<(String, CloudwatchQuery)>,
}

impl Batch {
    pub fn new(metrics: Vec<(String, CloudwatchQuery)>) -> Self {
        Batch::with_prefix("m", metrics)
    }

    /// `prefix` must start with a lower-case letter and hold only letters, digits and `_`.
    pub fn with_prefix(prefix: &str, metrics: Vec<(String, CloudwatchQuery)>) -> Self {
        Batch { prefix: prefix.to_owned(), metrics }
    }

    pub fn len(&self) -> usize {
        self.metrics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// How far back a tick looks: CloudWatch publishes with a delay of a minute or two, so
    /// the newest datapoint is searched for in the last five periods (at least five minutes).
    pub fn lookback(&self) -> TimeDelta {
        let longest = self.metrics.iter().map(|(_, q)| q.period).max().unwrap_or(TimeDelta::seconds(60));
        (longest * 5).max(TimeDelta::minutes(5))
    }

    pub fn queries(&self) -> Vec<MetricQuery> {
        self.metrics
            .iter()
            .enumerate()
            .map(|(i, (_, q))| MetricQuery {
                id: format!("{}{i}", self.prefix),
                namespace: q.namespace.clone(),
                metric: q.metric.clone(),
                dimensions: q.dimensions.clone(),
                statistic: q.statistic.clone(),
                period_seconds: i32::try_from(q.period.num_seconds()).unwrap_or(60),
            })
            .collect()
    }

    /// The newest complete datapoint of each metric, read in one `GetMetricData`.
    pub async fn read(
        &self,
        cw: Option<&CloudWatch>,
        now: DateTime<Utc>,
    ) -> Vec<(String, Result<Sample, String>)> {
        if self.metrics.is_empty() {
            return Vec::new();
        }
        let Some(cw) = cw else { return self.all_failed("no CloudWatch client") };
        match cw.get_metric_data(&self.queries(), earlier(now, self.lookback()), now).await {
            Ok(d) => self.interpret(&d, now),
            Err(e) => self.all_failed(&e.to_string()),
        }
    }

    /// Every metric missing, for `why`.
    pub fn all_failed(&self, why: &str) -> Vec<(String, Result<Sample, String>)> {
        self.metrics.iter().map(|(n, _)| (n.clone(), Err(why.to_owned()))).collect()
    }

    /// The newest complete datapoint of each metric in `data` (which may hold other batches'
    /// answers too). Its time is the end of its period, so staleness is judged on when the
    /// data was complete, not when it began.
    pub fn interpret(&self, data: &MetricData, now: DateTime<Utc>) -> Vec<(String, Result<Sample, String>)> {
        self.metrics
            .iter()
            .enumerate()
            .map(|(i, (name, q))| {
                // A period that has not ended yet holds part of its data (a `Sum` would read
                // low): only complete periods count. The arithmetic saturates: a datapoint at
                // the end of time is simply never complete.
                let complete = |p: &&(DateTime<Utc>, f64)| later(p.0, q.period) <= now;
                let id = format!("{}{i}", self.prefix);
                if let Some(why) = data.incomplete.get(&id) {
                    let why =
                        format!("CloudWatch did not answer {}/{} in full: {why}", q.namespace, q.metric);
                    return (name.clone(), Err(why));
                }
                let newest = data.points.get(&id).and_then(|points| points.iter().find(complete));
                let r = match newest {
                    Some((t, v)) if v.is_finite() => Ok(Sample { value: *v, at: later(*t, q.period) }),
                    Some((_, v)) => Err(format!("CloudWatch returned {v} for {}/{}", q.namespace, q.metric)),
                    None => Err(format!(
                        "no CloudWatch datapoints for {}/{} in the last {} min",
                        q.namespace,
                        q.metric,
                        self.lookback().num_minutes()
                    )),
                };
                (name.clone(), r)
            })
            .collect()
    }
}
