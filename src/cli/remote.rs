//! What `trimtab status` and `trimtab history` read from AWS, with the operator's own
//! credentials and no need to reach the agent: the service as ECS describes it (counts,
//! deployments, its last events, its tags) and trimtab's own metrics of it in CloudWatch (see
//! [`crate::agent::record`]). Two calls at most per read, `DescribeServices` and
//! `GetMetricData` (paged, the pages bounded by [`crate::aws::MAX_PAGES`]); both only read.
//!
//! The region and endpoint come from the flags as for `pause`/`resume`/`override`
//! ([`ServiceTarget`]); the credentials are loaded once up front, so "no credentials" is said
//! as such. Each failure is a [`ReadError`] naming the service and cluster.

use chrono::{DateTime, Utc};

use super::UsageError;
use super::args::ServiceTarget;
use crate::aws::{
    AwsError, CREDENTIALS, CloudWatch, Connection, EcsFleet, ErrorKind, MetricData, ServiceInfo, sdk_config,
    with_loaded_credentials,
};

/// Why a read failed (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// ECS did not return the service (`reason`: its failure, e.g. `MISSING`).
    #[error("service {service} not found in cluster {cluster}: {reason}")]
    NotFound { cluster: String, service: String, reason: String },
    /// No credentials could be found (environment, profile, SSO, container or instance role).
    #[error(
        "could not load credentials to read service {service} of cluster {cluster} (set AWS_PROFILE, \
         or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`)"
    )]
    Credentials {
        cluster: String,
        service: String,
        #[source]
        source: AwsError,
    },
    /// AWS refused the credentials as expired or not valid.
    #[error(
        "AWS refused the credentials (expired or not valid) reading service {service} of cluster {cluster}"
    )]
    Refused {
        cluster: String,
        service: String,
        #[source]
        source: AwsError,
    },
    /// AWS refused the call for want of a permission.
    #[error("access denied: {operation} on service {service} of cluster {cluster} needs that permission")]
    AccessDenied {
        operation: &'static str,
        cluster: String,
        service: String,
        #[source]
        source: AwsError,
    },
    /// Any other failure of `DescribeServices`.
    #[error("cannot read service {service} of cluster {cluster}")]
    Describe {
        cluster: String,
        service: String,
        #[source]
        source: AwsError,
    },
    /// Any other failure of `GetMetricData`.
    #[error("cannot read trimtab's metrics of service {service} of cluster {cluster} from CloudWatch")]
    Metrics {
        cluster: String,
        service: String,
        #[source]
        source: AwsError,
    },
}

/// The clients of one read, connected as `target` says.
pub struct Remote {
    ecs: EcsFleet,
    cw: CloudWatch,
    target: ServiceTarget,
}

impl Remote {
    /// Connects with the default credential chain, loaded now. No region anywhere (flag,
    /// environment, profile) is a usage error.
    /// `bulk` for reads of weeks of history (minutes, not seconds, per call).
    pub async fn connect(target: &ServiceTarget, bulk: bool) -> anyhow::Result<Remote> {
        let conn = Connection {
            region: target.region.clone(),
            endpoint_url: target.endpoint_url.clone(),
            retries: true,
            static_credentials: None,
            bulk,
        };
        let config = sdk_config(&conn).await;
        if config.region().is_none() {
            anyhow::bail!(UsageError("no AWS region: pass --region or set AWS_REGION".to_owned()));
        }
        let config = with_loaded_credentials(&config).await.map_err(|e| error(target, e, false))?;
        Ok(Remote::from_parts(EcsFleet::new(&config), CloudWatch::new(&config), target.clone()))
    }

    pub fn from_parts(ecs: EcsFleet, cw: CloudWatch, target: ServiceTarget) -> Remote {
        Remote { ecs, cw, target }
    }

    /// The service, with its tags and last events (`DescribeServices`).
    pub async fn service(&self) -> Result<ServiceInfo, ReadError> {
        let (cluster, service) = (&self.target.cluster, &self.target.service);
        let described = self.ecs.describe_services(cluster, std::slice::from_ref(service)).await;
        let (services, failures) = described.map_err(|e| error(&self.target, e, false))?;
        services.into_iter().next().ok_or_else(|| ReadError::NotFound {
            cluster: cluster.clone(),
            service: service.clone(),
            reason: failures.into_iter().next().map_or_else(|| "not returned".to_owned(), |(_, why)| why),
        })
    }

    /// trimtab's metrics of the service over `[start, end)` widened to whole buckets of
    /// `period` seconds (see [`aligned`]).
    pub async fn record(
        &self,
        period: i32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<MetricData, ReadError> {
        let cluster = short(&self.target.cluster);
        let queries = crate::agent::record::queries(cluster, &self.name(), period);
        let (start, end) = aligned(period, start, end);
        self.cw.get_metric_data(&queries, start, end).await.map_err(|e| error(&self.target, e, true))
    }

    /// The service's name as the agent's metrics carry it (`Service` dimension): the last part
    /// of an ARN, a name as it is.
    fn name(&self) -> String {
        short(&self.target.service).to_owned()
    }
}

/// `[start, end)` widened to whole buckets of `period` seconds since the epoch: CloudWatch
/// answers fastest so, and its buckets then start on the minute (the hour) whatever the clock
/// read, as trimtab's rows show them; the bucket under way is included.
pub fn aligned(period: i32, start: DateTime<Utc>, end: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let p = i64::from(period.max(1));
    let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let (s, e) = (start.timestamp(), end.timestamp());
    (at(s - s.rem_euclid(p)), at(e.saturating_add((p - e.rem_euclid(p)) % p)))
}

/// The last part of an ARN (`…:cluster/prod` → `prod`); a name as it is. The agent's metrics
/// carry the names its config gives, which are names, not ARNs.
pub fn short(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}

/// `e` as the [`ReadError`] an operator can act on; `metrics`: it came from CloudWatch.
fn error(target: &ServiceTarget, e: AwsError, metrics: bool) -> ReadError {
    let (cluster, service) = (target.cluster.clone(), target.service.clone());
    match e.kind {
        ErrorKind::Credentials if e.operation == CREDENTIALS => {
            ReadError::Credentials { cluster, service, source: e }
        }
        ErrorKind::Credentials => ReadError::Refused { cluster, service, source: e },
        _ if e.is_access_denied() => {
            ReadError::AccessDenied { operation: e.operation, cluster, service, source: e }
        }
        _ if metrics => ReadError::Metrics { cluster, service, source: e },
        _ => ReadError::Describe { cluster, service, source: e },
    }
}

/// A time as RFC 3339 to the second, UTC (`2026-12-08T18:00:00Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How long ago `then` was, as of `now`, in words (`3 min ago`, `2 h 5 min ago`).
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    if secs < 0 {
        return "in the future".to_owned();
    }
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s ago"),
        (0, 0, m) => format!("{m} min ago"),
        (0, h, m) => format!("{h} h {m} min ago"),
        (d, h, _) => format!("{d} d {h} h ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ages_read_as_words() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let at = |s: i64| now - chrono::TimeDelta::seconds(s);
        assert_eq!(ago(at(42), now), "42 s ago");
        assert_eq!(ago(at(180), now), "3 min ago");
        assert_eq!(ago(at(7_500), now), "2 h 5 min ago");
        assert_eq!(ago(at(2 * 86_400 + 3 * 3_600), now), "2 d 3 h ago");
        assert_eq!(ago(at(-5), now), "in the future");
        assert_eq!(rfc3339(now), "2026-12-07T12:00:00Z");
    }

    #[test]
    fn reads_cover_whole_buckets() {
        let t = |h, m, s| Utc.with_ymd_and_hms(2026, 12, 7, h, m, s).unwrap();
        assert_eq!(aligned(60, t(10, 0, 31), t(12, 0, 31)), (t(10, 0, 0), t(12, 1, 0)));
        assert_eq!(aligned(60, t(10, 0, 0), t(12, 0, 0)), (t(10, 0, 0), t(12, 0, 0)));
        assert_eq!(aligned(3600, t(10, 59, 59), t(12, 0, 1)), (t(10, 0, 0), t(13, 0, 0)));
        assert_eq!(aligned(300, t(10, 7, 0), t(10, 7, 0)), (t(10, 5, 0), t(10, 10, 0)));
    }

    #[test]
    fn refusals_name_the_service_and_the_permission() {
        let target = ServiceTarget {
            cluster: "prod".into(),
            service: "web".into(),
            region: None,
            endpoint_url: None,
            output: Default::default(),
        };
        let aws = |kind, message: &str| AwsError {
            operation: "cloudwatch:GetMetricData",
            kind,
            message: message.into(),
        };
        let denied =
            error(&target, aws(ErrorKind::Client, "AccessDeniedException: User: x is not authorized"), true);
        assert_eq!(
            denied.to_string(),
            "access denied: cloudwatch:GetMetricData on service web of cluster prod needs that permission"
        );
        let expired = error(&target, aws(ErrorKind::Credentials, "ExpiredTokenException"), false);
        assert_eq!(
            expired.to_string(),
            "AWS refused the credentials (expired or not valid) reading service web of cluster prod"
        );
        let none = AwsError { operation: CREDENTIALS, kind: ErrorKind::Credentials, message: "none".into() };
        let none = error(&target, none, false);
        assert!(
            none.to_string().starts_with("could not load credentials to read service web of cluster prod")
        );
        let other = error(&target, aws(ErrorKind::Server, "500"), true);
        assert_eq!(
            other.to_string(),
            "cannot read trimtab's metrics of service web of cluster prod from CloudWatch"
        );
    }
}
