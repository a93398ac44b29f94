//! Phase two's result: the validated configuration. Every value here has been checked; code
//! that holds a `Config` need not check again.

use std::net::SocketAddr;

use chrono::TimeDelta;
use serde::Serialize;

use crate::core::{Money, Policy};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it came from, for messages.
    pub file: String,
    pub agent: AgentConfig,
    pub service: Option<ServiceConfig>,
    pub scaling: ScalingConfig,
    pub budget: Option<BudgetConfig>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    pub interval: TimeDelta,
    pub listen: SocketAddr,
    pub dry_run: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LaunchType {
    Fargate,
    FargateSpot,
    Ec2,
}

impl LaunchType {
    pub const NAMES: &'static [&'static str] = &["fargate", "fargate-spot", "ec2"];

    pub fn is_fargate(self) -> bool {
        matches!(self, LaunchType::Fargate | LaunchType::FargateSpot)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceConfig {
    pub cluster: String,
    pub name: String,
    /// `None`: taken from the environment's AWS configuration at run time.
    pub region: Option<String>,
    pub launch_type: LaunchType,
    /// Task CPU units and memory MiB; required for Fargate.
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub architecture: Architecture,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Ecs,
    Cloudwatch,
    Prometheus,
    Host,
    Pools,
}

impl SourceKind {
    pub const NAMES: &'static [&'static str] = &["ecs", "cloudwatch", "prometheus", "host", "pools"];
}

/// Where a metric of the policy comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSource {
    pub name: String,
    pub source: SourceKind,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScalingConfig {
    /// The template the policy was built on.
    pub template: String,
    pub policy: Policy,
    /// One per `policy.metrics` entry, same order.
    pub sources: Vec<MetricSource>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BudgetConfig {
    pub monthly: Money,
    pub warn_at: f64,
    pub critical_at: f64,
}
