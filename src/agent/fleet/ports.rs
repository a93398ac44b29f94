//! The controller's ports: the few calls it makes to the world, as traits. `src/aws/`
//! implements them with the SDK (the impls below only forward); tests and the benchmark use
//! the hand-written fakes in [`super::fake`] under a paused clock.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::aws::{AwsError, MemberTask, MetricData, MetricQuery, Published, ServiceInfo, TaskDefinitionInfo};

/// What `DescribeServices` answers for one batch: the services found, and the ones ECS could
/// not return with why.
pub type Described = (Vec<ServiceInfo>, Vec<(String, String)>);

/// ECS, as the controller uses it.
pub trait FleetEcs: Send + Sync {
    /// The controller service's tasks (`ListTasks` + `DescribeTasks`), with the health of the
    /// container named `container`.
    fn members(
        &self,
        cluster: &str,
        service: &str,
        container: &str,
    ) -> impl Future<Output = Result<Vec<MemberTask>, AwsError>> + Send;
    /// The ARNs of every service of `cluster` (`ListServices`, every page).
    fn list_services(&self, cluster: &str) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
    /// Up to [`DESCRIBE_BATCH`] services of one cluster, with their tags, in one call.
    fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> impl Future<Output = Result<Described, AwsError>> + Send;
    fn update_desired(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// A task definition (`DescribeTaskDefinition`), read once per revision to price a service.
    fn task_definition(&self, arn: &str)
    -> impl Future<Output = Result<TaskDefinitionInfo, AwsError>> + Send;
}

/// CloudWatch, as the controller uses it.
pub trait FleetMetrics: Send + Sync {
    /// Up to [`METRIC_BATCH`] queries in one `GetMetricData` (its pages followed).
    fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> impl Future<Output = Result<MetricData, AwsError>> + Send;
    /// Many services' datapoints, each with its own dimensions, in as few `PutMetricData`
    /// calls as the API allows; returns how many it made.
    fn put_metric_batch(
        &self,
        namespace: &str,
        data: &[(Vec<(String, String)>, Published)],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<usize, AwsError>> + Send;
}

/// The wall clock decisions are made at. Durations the handover rule measures use tokio's
/// monotonic clock, which tests pause and advance; the fake clock follows it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// `DescribeServices` takes at most 10 services per call.
pub const DESCRIBE_BATCH: usize = 10;
/// `GetMetricData` takes at most 500 queries per call.
pub const METRIC_BATCH: usize = 500;

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
