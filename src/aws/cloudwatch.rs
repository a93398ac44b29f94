//! CloudWatch: metric queries (batched), the agent's own metrics, and alarms.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricDataResult, MetricDatum, MetricStat,
    ScanBy, StandardUnit, Statistic, StatusCode,
};
use chrono::{DateTime, Utc};

use super::{Api, AwsError, Pages, from_chrono, to_chrono};

/// `GetMetricData` takes at most this many queries per call.
pub const MAX_QUERIES: usize = 500;

/// One metric series to read.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricQuery {
    /// Unique within one request: `[a-z][a-zA-Z0-9_]*`.
    pub id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub statistic: String,
    pub period_seconds: i32,
}

/// A query's datapoints, newest first: `(period start, value)`.
pub type Datapoints = Vec<(DateTime<Utc>, f64)>;

/// What one [`CloudWatch::get_metric_data`] read: datapoints by query id, and the queries
/// CloudWatch did not answer in full.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricData {
    /// Newest first. A query without data has no entry.
    pub points: BTreeMap<String, Datapoints>,
    /// Queries whose last word was not `Complete` (`PartialData` after every page,
    /// `InternalError`, `Forbidden`) or that the answer left out, with why. Their datapoints are
    /// not in `points`: such a metric is missing, never read as what it did send, never zero.
    pub incomplete: BTreeMap<String, String>,
}

/// One value of the agent's own metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub name: &'static str,
    pub value: f64,
    /// Unit `Count`; otherwise no unit.
    pub count: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Above,
    Below,
}

/// An alarm as the agent wants it; read back from `DescribeAlarms` for the idempotency check.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmSpec {
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    /// `Average`, `Sum`, `SampleCount`, `Minimum`, `Maximum`.
    pub statistic: String,
    pub period_seconds: i32,
    pub evaluation_periods: i32,
    pub threshold: f64,
    pub comparison: Comparison,
    /// `breaching`, `notBreaching`, `ignore`, `missing`.
    pub treat_missing_data: String,
    pub actions: Vec<String>,
}

/// `PutMetricData` takes at most this many values (datums) per call. AWS: "Each PutMetricData
/// request is limited to 1 MB in size for HTTP POST requests. [...] Each request is also limited
/// to no more than 1000 different metrics."
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html>,
/// read 2026-12; the limits were 20 metrics and 40 KB before 2023.)
pub const MAX_DATUMS: usize = 1_000;
/// The most request body one `PutMetricData` call may have, uncompressed (1 MB, same source).
pub const MAX_BODY: usize = 1_000_000;
/// Body kept free in every call for the namespace and the request's own framing.
const BODY_RESERVE: usize = 4_096;
/// An upper bound on what one datum adds to the body besides its metric name and dimensions
/// (member names, value, unit, timestamp): about 75 bytes in rpc-v2-cbor; the wiremock test
/// checks the bound against the bodies the SDK really sends.
const DATUM_FRAME: usize = 96;
/// Likewise for one dimension besides its name and value (about 18 bytes).
const DIMENSION_FRAME: usize = 24;

#[derive(Clone, Debug)]
pub struct CloudWatch {
    client: Api<Client>,
}

fn dimensions(d: &[(String, String)]) -> Vec<Dimension> {
    d.iter().map(|(n, v)| Dimension::builder().name(n).value(v).build()).collect()
}

impl CloudWatch {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        CloudWatch { client: Api::new(config, "monitoring", Client::new) }
    }

    /// All `queries` over `[start, end)`, in as few calls as the API allows (one per 500
    /// queries, plus pages, at most [`super::MAX_PAGES`] per 500).
    pub async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<MetricData, AwsError> {
        let mut out = MetricData::default();
        for chunk in queries.chunks(MAX_QUERIES) {
            self.read_chunk(chunk, (start, end), &mut out).await?;
        }
        for points in out.points.values_mut() {
            points.sort_by_key(|p| std::cmp::Reverse(p.0));
        }
        Ok(out)
    }

    /// One call's worth of queries, every page, into `out`.
    async fn read_chunk(
        &self,
        chunk: &[MetricQuery],
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        out: &mut MetricData,
    ) -> Result<(), AwsError> {
        const OP: &str = "cloudwatch:GetMetricData";
        let sdk_queries: Vec<MetricDataQuery> = chunk.iter().map(sdk_query).collect();
        // Each query's last word: `None` for complete, else why not.
        let mut last: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut pages = Pages::new(OP);
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(sdk_queries.clone()))
                .start_time(from_chrono(start))
                .end_time(from_chrono(end))
                .scan_by(ScanBy::TimestampDescending)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.client.error(OP, e))?;
            for r in page.metric_data_results() {
                let Some(id) = r.id() else { continue };
                let points =
                    r.timestamps().iter().zip(r.values()).filter_map(|(t, v)| Some((to_chrono(t)?, *v)));
                out.points.entry(id.to_owned()).or_default().extend(points);
                last.insert(id.to_owned(), incomplete(r));
            }
            token = pages.next(page.next_token())?;
            if token.is_none() {
                break;
            }
        }
        for q in chunk {
            let why =
                last.remove(&q.id).unwrap_or_else(|| Some("left out of CloudWatch's answer".to_owned()));
            if let Some(why) = why {
                out.points.remove(&q.id);
                out.incomplete.insert(q.id.clone(), why);
            }
        }
        Ok(())
    }

    /// One `PutMetricData` with all `values`, stamped `at`.
    pub async fn put_metric_data(
        &self,
        namespace: &str,
        dims: &[(String, String)],
        values: &[Published],
        at: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        let data = values.iter().map(|p| datum(dims, p, at)).collect();
        self.put(namespace, data).await
    }

    /// Many services' values, each with its own dimensions, stamped `now`, in as few
    /// `PutMetricData` calls as the API allows ([`MAX_DATUMS`] values and [`MAX_BODY`] bytes a
    /// call); returns how many calls it made (none for no values). Stops at the first call that
    /// fails: the calls before it were published.
    pub async fn put_metric_batch(
        &self,
        namespace: &str,
        data: &[(Vec<(String, String)>, Published)],
        now: DateTime<Utc>,
    ) -> Result<usize, AwsError> {
        let batches = batches(namespace, data);
        for range in &batches {
            let datums = data[range.clone()].iter().map(|(dims, p)| datum(dims, p, now)).collect();
            self.put(namespace, datums).await?;
        }
        Ok(batches.len())
    }

    async fn put(&self, namespace: &str, data: Vec<MetricDatum>) -> Result<(), AwsError> {
        self.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|e| self.client.error("cloudwatch:PutMetricData", e))?;
        Ok(())
    }

    pub async fn put_alarm(&self, a: &AlarmSpec) -> Result<(), AwsError> {
        let comparison = match a.comparison {
            Comparison::Above => ComparisonOperator::GreaterThanThreshold,
            Comparison::Below => ComparisonOperator::LessThanThreshold,
        };
        self.client
            .put_metric_alarm()
            .alarm_name(&a.name)
            .alarm_description(&a.description)
            .namespace(&a.namespace)
            .metric_name(&a.metric)
            .set_dimensions(Some(dimensions(&a.dimensions)))
            .statistic(Statistic::from(a.statistic.as_str()))
            .period(a.period_seconds)
            .evaluation_periods(a.evaluation_periods)
            .datapoints_to_alarm(a.evaluation_periods)
            .threshold(a.threshold)
            .comparison_operator(comparison)
            .treat_missing_data(&a.treat_missing_data)
            .set_alarm_actions(Some(a.actions.clone()))
            .set_ok_actions(Some(a.actions.clone()))
            .send()
            .await
            .map_err(|e| self.client.error("cloudwatch:PutMetricAlarm", e))?;
        Ok(())
    }

    /// The metric alarms whose names start with `prefix`, as specs (to compare with the wanted).
    pub async fn alarms(&self, prefix: &str) -> Result<Vec<AlarmSpec>, AwsError> {
        const OP: &str = "cloudwatch:DescribeAlarms";
        let mut specs = Vec::new();
        let mut pages = Pages::new(OP);
        let mut token = None;
        loop {
            let out = self
                .client
                .describe_alarms()
                .alarm_name_prefix(prefix)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.client.error(OP, e))?;
            specs.extend(out.metric_alarms().iter().map(|m| {
                AlarmSpec {
                    name: m.alarm_name().unwrap_or_default().to_owned(),
                    description: m.alarm_description().unwrap_or_default().to_owned(),
                    namespace: m.namespace().unwrap_or_default().to_owned(),
                    metric: m.metric_name().unwrap_or_default().to_owned(),
                    dimensions: m
                        .dimensions()
                        .iter()
                        .map(|d| {
                            (
                                d.name().unwrap_or_default().to_owned(),
                                d.value().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect(),
                    statistic: m.statistic().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    period_seconds: m.period().unwrap_or(0),
                    evaluation_periods: m.evaluation_periods().unwrap_or(0),
                    threshold: m.threshold().unwrap_or(f64::NAN),
                    comparison: match m.comparison_operator() {
                        Some(ComparisonOperator::LessThanThreshold) => Comparison::Below,
                        _ => Comparison::Above,
                    },
                    treat_missing_data: m.treat_missing_data().unwrap_or("missing").to_owned(),
                    actions: m.alarm_actions().to_vec(),
                }
            }));
            token = pages.next(out.next_token())?;
            if token.is_none() {
                break;
            }
        }
        Ok(specs)
    }
}

/// Why a result is not the whole answer; `None` when it is (`Complete`, or no status given).
fn incomplete(r: &MetricDataResult) -> Option<String> {
    let status = r.status_code().filter(|s| **s != StatusCode::Complete)?;
    let said = r.messages().iter().filter_map(|m| m.value()).collect::<Vec<_>>().join("; ");
    if said.is_empty() {
        Some(format!("StatusCode {}", status.as_str()))
    } else {
        Some(format!("StatusCode {}: {said}", status.as_str()))
    }
}

fn sdk_query(q: &MetricQuery) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(&q.namespace)
        .metric_name(&q.metric)
        .set_dimensions(Some(dimensions(&q.dimensions)))
        .build();
    let stat = MetricStat::builder().metric(metric).period(q.period_seconds).stat(&q.statistic).build();
    MetricDataQuery::builder().id(&q.id).metric_stat(stat).return_data(true).build()
}

fn datum(dims: &[(String, String)], p: &Published, at: DateTime<Utc>) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(p.name)
        .set_dimensions(Some(dimensions(dims)))
        .value(p.value)
        .unit(if p.count { StandardUnit::Count } else { StandardUnit::None })
        .timestamp(from_chrono(at))
        .build()
}

/// An upper bound on the bytes one datum adds to a `PutMetricData` body.
fn datum_size(dims: &[(String, String)], p: &Published) -> usize {
    let dims: usize = dims.iter().map(|(n, v)| DIMENSION_FRAME + n.len() + v.len()).sum();
    DATUM_FRAME + p.name.len() + dims
}

/// `data` cut into consecutive calls, each of at most [`MAX_DATUMS`] datums and [`MAX_BODY`]
/// bytes; a datum is never split from its dimensions, and every call holds at least one.
fn batches(namespace: &str, data: &[(Vec<(String, String)>, Published)]) -> Vec<std::ops::Range<usize>> {
    let budget = MAX_BODY - BODY_RESERVE - namespace.len();
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (dims, p)) in data.iter().enumerate() {
        let size = datum_size(dims, p);
        if i > start && (i - start == MAX_DATUMS || bytes + size > budget) {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < data.len() {
        out.push(start..data.len());
    }
    out
}

#[cfg(test)]
#[path = "cloudwatch_tests.rs"]
mod tests;
