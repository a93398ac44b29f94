//! The SDK side of the controller's ports: `src/aws/` does the work, these only forward.

use chrono::{DateTime, Utc};

use super::ports::{Described, FleetEcs, FleetMetrics};
use crate::aws::{
    AwsError, CloudWatch, EcsFleet, MemberTask, MetricData, MetricQuery, Published, TaskDefinitionInfo,
};

impl FleetEcs for EcsFleet {
    async fn members(
        &self,
        cluster: &str,
        service: &str,
        container: &str,
    ) -> Result<Vec<MemberTask>, AwsError> {
        EcsFleet::members(self, cluster, service, container).await
    }

    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        EcsFleet::list_services(self, cluster).await
    }

    async fn describe_services(&self, cluster: &str, names: &[String]) -> Result<Described, AwsError> {
        EcsFleet::describe_services(self, cluster, names).await
    }

    async fn update_desired(&self, cluster: &str, service: &str, desired: u32) -> Result<(), AwsError> {
        EcsFleet::update_desired(self, cluster, service, desired).await
    }

    async fn task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        EcsFleet::task_definition(self, arn).await
    }
}

impl FleetMetrics for CloudWatch {
    async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<MetricData, AwsError> {
        CloudWatch::get_metric_data(self, queries, start, end).await
    }

    async fn put_metric_batch(
        &self,
        namespace: &str,
        data: &[(Vec<(String, String)>, Published)],
        now: DateTime<Utc>,
    ) -> Result<usize, AwsError> {
        CloudWatch::put_metric_batch(self, namespace, data, now).await
    }
}
