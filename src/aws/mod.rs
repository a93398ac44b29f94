//! The only module that sees AWS SDK types. Everything else talks to ECS and CloudWatch through
//! the small plain-Rust types defined here, so the agent's logic is testable without the SDK
//! and a new AWS call is visible in one place (the IAM policy is checked against this list).

mod cloudwatch;
mod describe;
mod ecs;
mod sns;

use std::collections::HashSet;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::primitives::DateTime as AwsTime;

pub use cloudwatch::{
    AlarmSpec, CloudWatch, Comparison, Datapoints, MAX_BODY, MAX_DATUMS, MetricData, MetricQuery, Published,
};
pub use describe::{Endpoint, describe};
pub use ecs::{
    DESCRIBE_SERVICES_MAX, Deployment, Ecs, EcsFleet, MemberTask, ServiceInfo, ServiceState,
    TaskDefinitionInfo, TaskState,
};
pub use sns::Sns;

/// What the agent calls (`trimtab run` with a `[service]`, as the sidecar): the task role of
/// the Terraform module in `terraform/` grants exactly these (plus what ECS authorizes on its
/// behalf; see `tests/iam.rs`).
pub const AGENT_OPERATIONS: &[&str] = &[
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:GetTaskProtection",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "cloudwatch:GetMetricData",
    "cloudwatch:PutMetricData",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DescribeAlarms",
    "sns:Publish",
];

/// What the fleet controller calls (issue 15): discovery (`ListServices`, `DescribeServices`
/// with tags), membership (`ListTasks`, `DescribeTasks` of its own service), the size of a
/// service's tasks for its price (`DescribeTaskDefinition`, once per revision), scaling
/// (`UpdateService`), metrics in and out. It reads the operator tags but never writes them. The
/// task role of `terraform/controller/` grants exactly these.
pub const CONTROLLER_OPERATIONS: &[&str] = &[
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "ecs:ListServices",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:DescribeTaskDefinition",
    "cloudwatch:GetMetricData",
    "cloudwatch:PutMetricData",
];

/// What `trimtab pause`, `resume` and `override` call, with the operator's own credentials:
/// the service's ARN from `DescribeServices`, then its tags.
pub const OPERATOR_OPERATIONS: &[&str] = &["ecs:DescribeServices", "ecs:TagResource", "ecs:UntagResource"];

/// What `trimtab status` and `trimtab history` call, with the operator's own credentials: the
/// service (counts, deployments, events, tags), then trimtab's own metrics of it. Both only read.
pub const REPORT_OPERATIONS: &[&str] = &["ecs:DescribeServices", "cloudwatch:GetMetricData"];

/// Every AWS API operation trimtab calls, from any of its commands: the union of
/// [`AGENT_OPERATIONS`], [`CONTROLLER_OPERATIONS`], [`OPERATOR_OPERATIONS`] and
/// [`REPORT_OPERATIONS`]. `tests/iam.rs` checks that every operation an adapter here names is in
/// it, that each one is named, and that each IAM role of `terraform/` grants exactly its list.
pub fn operations() -> std::collections::BTreeSet<&'static str> {
    [AGENT_OPERATIONS, CONTROLLER_OPERATIONS, OPERATOR_OPERATIONS, REPORT_OPERATIONS]
        .into_iter()
        .flatten()
        .copied()
        .collect()
}

/// How the clients connect: region and endpoint from config (else from the environment).
#[derive(Clone, Debug, Default)]
pub struct Connection {
    pub region: Option<String>,
    /// Overrides every service's endpoint; `AWS_ENDPOINT_URL*` are read by aws-config otherwise.
    pub endpoint_url: Option<String>,
    /// Tests that count requests turn retries off.
    pub retries: bool,
    /// Fixed `(access key, secret)` instead of the default credential chain (emulators).
    pub static_credentials: Option<(String, String)>,
    /// Bulk reads (weeks of history) get minutes, not the tick's seconds.
    pub bulk: bool,
}

impl Connection {
    /// A fake AWS on loopback (wiremock) for the adapters' tests: us-east-1, dummy
    /// credentials, no retries (the tests count requests).
    #[cfg(test)]
    pub(crate) fn fake(endpoint: &str) -> Connection {
        Connection {
            region: Some("us-east-1".into()),
            endpoint_url: Some(endpoint.into()),
            retries: false,
            static_credentials: Some(("test".into(), "test".into())),
            bulk: false,
        }
    }

    /// The connection `[service]` describes: its region and endpoint, retries on, the default
    /// credential chain.
    pub fn for_service(svc: &crate::config::model::ServiceConfig) -> Connection {
        Connection {
            region: svc.region.clone(),
            endpoint_url: svc.endpoint_url.clone(),
            retries: true,
            static_credentials: None,
            bulk: false,
        }
    }
}

/// Attempts per call (first try included) and their backoff bounds: a throttled or failed call
/// is retried inside one tick, then reported; the next tick tries again.
pub const MAX_ATTEMPTS: u32 = 3;
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// One attempt may take this long; a whole call (attempts and backoff) at most `OPERATION`.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const BULK_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
const BULK_OPERATION_TIMEOUT: Duration = Duration::from_secs(180);

/// The one SDK configuration: the default credential chain (environment, profile, ECS container
/// credentials, IMDS), the region from config or environment, an explicit retry policy and
/// timeouts, and the endpoint override.
pub async fn sdk_config(c: &Connection) -> SdkConfig {
    let retry = if c.retries {
        RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(INITIAL_BACKOFF)
            .with_max_backoff(MAX_BACKOFF)
    } else {
        RetryConfig::disabled()
    };
    let (attempt, operation) = if c.bulk {
        (BULK_ATTEMPT_TIMEOUT, BULK_OPERATION_TIMEOUT)
    } else {
        (ATTEMPT_TIMEOUT, OPERATION_TIMEOUT)
    };
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(attempt)
        .operation_timeout(operation)
        .build();
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).retry_config(retry).timeout_config(timeouts);
    if let Some(r) = &c.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some((key, secret)) = &c.static_credentials {
        let creds = aws_sdk_ecs::config::Credentials::new(key, secret, None, None, "trimtab-static");
        loader = loader.credentials_provider(creds);
    }
    if let Some(u) = &c.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

/// An SDK client and the endpoint it calls, which its errors name ([`describe`]). Derefs to
/// the client.
#[derive(Clone, Debug)]
pub(crate) struct Api<C> {
    client: C,
    endpoint: Endpoint,
}

impl<C> Api<C> {
    /// `prefix`: the service's endpoint prefix (`ecs`, `monitoring`, `sns`).
    fn new(config: &SdkConfig, prefix: &str, client: impl FnOnce(&SdkConfig) -> C) -> Self {
        Api { client: client(config), endpoint: Endpoint::of(config, prefix) }
    }

    /// Classifies an error of a call through this client (see [`classify`]).
    fn error<E>(&self, operation: &'static str, e: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        classify(operation, &self.endpoint, e)
    }
}

impl<C> std::ops::Deref for Api<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.client
    }
}

/// The [`AwsError::operation`] of a failure to load credentials (no API call was made).
pub const CREDENTIALS: &str = "loading credentials";

/// `config` with its credentials loaded now, once: the commands an operator runs from a laptop
/// learn at their start that there are none (no environment variables, profile, SSO session or
/// instance role) and say so, instead of failing their first call with a connection error; the
/// clients built from the answer sign with those credentials without resolving them again. An
/// error is [`ErrorKind::Credentials`], its message the credential chain's own account.
pub async fn with_loaded_credentials(config: &SdkConfig) -> Result<SdkConfig, AwsError> {
    use aws_sdk_ecs::config::{ProvideCredentials, SharedCredentialsProvider};
    let error = |message: String| AwsError { operation: CREDENTIALS, kind: ErrorKind::Credentials, message };
    let Some(provider) = config.credentials_provider() else {
        return Err(error("no credential provider is configured".to_owned()));
    };
    let loaded = provider.provide_credentials().await;
    let credentials = loaded.map_err(|e| error(describe::sentence(&e)))?;
    Ok(config.to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build())
}

/// Error codes AWS answers when the caller lacks a permission.
const ACCESS_DENIED_CODES: &[&str] = &["AccessDeniedException", "AccessDenied", "UnauthorizedOperation"];

/// A failed AWS call, classified for logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {kind}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub kind: ErrorKind,
    pub message: String,
}

impl AwsError {
    /// AWS refused the call for want of a permission (`AccessDeniedException`, …): a
    /// [`ErrorKind::Client`] error whose message names one of those codes.
    pub fn is_access_denied(&self) -> bool {
        self.kind == ErrorKind::Client && ACCESS_DENIED_CODES.iter().any(|c| self.message.contains(c))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Throttled,
    /// 5xx from AWS.
    Server,
    Timeout,
    /// Could not connect or send.
    Network,
    /// A response that could not be read.
    Malformed,
    /// 4xx other than throttling: a configuration or permission problem, not transient.
    Client,
    /// The credentials were refused as expired or invalid (`ExpiredTokenException`, …): they
    /// need renewing, no permission is missing. Also none found, or their provider failing.
    Credentials,
    /// Pages that do not end: a `NextToken` seen before, or more than [`MAX_PAGES`] pages.
    Pagination,
}

impl ErrorKind {
    /// Someone must act: a permission, credentials, a request AWS refuses. The other kinds
    /// (throttling, a timeout, the network, a 5xx, a garbled answer) may pass by themselves, and
    /// the next tick tries again.
    pub fn needs_someone(self) -> bool {
        matches!(self, ErrorKind::Client | ErrorKind::Credentials)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Server => "server_error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::Malformed => "malformed_response",
            ErrorKind::Client => "client_error",
            ErrorKind::Credentials => "credentials",
            ErrorKind::Pagination => "pagination",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const THROTTLING_CODES: &[&str] =
    &["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"];
/// Error codes AWS answers when the signing credentials are expired or not valid.
const CREDENTIAL_CODES: &[&str] = &[
    "ExpiredTokenException",
    "ExpiredToken",
    "RequestExpired",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
];

/// Classifies any SDK error of a call to `endpoint`; the message says it as the AWS CLI would
/// ([`describe`]).
fn classify<E>(operation: &'static str, endpoint: &Endpoint, e: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = describe(&e, endpoint);
    let kind = match &e {
        _ if describe::is_credentials(&e) => ErrorKind::Credentials,
        SdkError::TimeoutError(_) => ErrorKind::Timeout,
        SdkError::DispatchFailure(d) if d.is_timeout() => ErrorKind::Timeout,
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => ErrorKind::Network,
        SdkError::ResponseError(_) => ErrorKind::Malformed,
        SdkError::ServiceError(s) => match s.err().code() {
            Some(c) if THROTTLING_CODES.contains(&c) => ErrorKind::Throttled,
            Some(c) if CREDENTIAL_CODES.contains(&c) => ErrorKind::Credentials,
            _ if s.raw().status().is_server_error() => ErrorKind::Server,
            _ => ErrorKind::Client,
        },
        _ => ErrorKind::Network,
    };
    AwsError { operation, kind, message }
}

/// The most pages one paged read follows. `ListTasks` answers up to 100 task ARNs a page, so
/// this holds twice the 5,000 tasks a service may run; a `GetMetricData` page holds up to
/// 100,800 datapoints, and the longest read (`rightsize`, weeks at one minute) needs a few.
pub const MAX_PAGES: usize = 100;

/// Follows the `NextToken`s of one paged read, and ends it with a [`ErrorKind::Pagination`]
/// error when a token comes back a second time (the pages would go round for ever) or when
/// there would be more than [`MAX_PAGES`] pages.
#[derive(Debug)]
pub(crate) struct Pages {
    operation: &'static str,
    seen: HashSet<String>,
    pages: usize,
}

impl Pages {
    pub(crate) fn new(operation: &'static str) -> Self {
        Pages { operation, seen: HashSet::new(), pages: 0 }
    }

    /// The token to ask the next page with, given the one the page just read handed back;
    /// `None` when that was the last page (an empty token counts as none).
    pub(crate) fn next(&mut self, token: Option<&str>) -> Result<Option<String>, AwsError> {
        self.pages += 1;
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
        let error =
            |message: String| AwsError { operation: self.operation, kind: ErrorKind::Pagination, message };
        if self.seen.contains(token) {
            let n = self.pages;
            return Err(error(format!(
                "page {n} handed back a NextToken seen before; stopped after {n} pages"
            )));
        }
        if self.pages >= MAX_PAGES {
            return Err(error(format!("more than {MAX_PAGES} pages; stopped")));
        }
        self.seen.insert(token.to_owned());
        Ok(Some(token.to_owned()))
    }
}

/// 2006-01-01T00:00:00Z: no AWS answer carries a time from before AWS.
const EARLIEST: i64 = 1_136_073_600;
/// 10000-01-01T00:00:00Z: nor one past the four-digit years AWS writes.
const LATEST: i64 = 253_402_300_800;

/// A time from an AWS answer; `None` when absent or absurd (outside [`EARLIEST`]..[`LATEST`],
/// e.g. a datapoint at year 262142 or a negative `registeredAt`), so an absurd time is never
/// used, and the agent's arithmetic on the times it keeps cannot overflow (issue 14).
fn to_chrono(t: &AwsTime) -> Option<chrono::DateTime<chrono::Utc>> {
    if !(EARLIEST..LATEST).contains(&t.secs()) {
        return None;
    }
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> AwsTime {
    AwsTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_no_aws_answer_can_carry_are_absent() {
        let at = |secs| to_chrono(&AwsTime::from_secs(secs)).map(|t| t.to_rfc3339());
        assert_eq!(at(1_700_000_000), Some("2023-11-14T22:13:20+00:00".into()));
        assert_eq!(at(EARLIEST), Some("2006-01-01T00:00:00+00:00".into()));
        assert_eq!(at(LATEST - 1), Some("9999-12-31T23:59:59+00:00".into()));
        for absurd in [EARLIEST - 1, -1, 0, LATEST, i64::MAX, i64::MIN, 8_210_266_876_799] {
            assert_eq!(at(absurd), None, "{absurd}");
        }
    }

    #[test]
    fn pages_end_on_a_repeated_token_or_at_the_cap() {
        let mut p = Pages::new("ecs:ListTasks");
        assert_eq!(p.next(Some("a")), Ok(Some("a".into())));
        assert_eq!(p.next(Some("b")), Ok(Some("b".into())));
        let e = p.next(Some("a")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ecs:ListTasks: pagination: page 3 handed back a NextToken seen before; stopped after 3 pages"
        );

        let mut p = Pages::new("cloudwatch:GetMetricData");
        for i in 1..MAX_PAGES {
            assert_eq!(p.next(Some(&format!("t{i}"))), Ok(Some(format!("t{i}"))));
        }
        let e = p.next(Some("one more")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Pagination);
        assert_eq!(e.message, format!("more than {MAX_PAGES} pages; stopped"));

        let mut p = Pages::new("ecs:ListTasks");
        assert_eq!(p.next(Some("")), Ok(None), "an empty token ends the pages");
        assert_eq!(Pages::new("x").next(None), Ok(None));
    }
}
