//! An SDK error in the words the AWS CLI uses for it, never a Rust `Debug` dump: a log line or
//! a `/status` error reads `AccessDeniedException: User … is not authorized to perform
//! ecs:UpdateService …`, `could not connect to the endpoint URL "https://ecs.…/"`, `the request
//! timed out` or `unable to locate credentials`, not `DispatchFailure(DispatchFailure { … })`.
//!
//! [`describe`] is the one place SDK errors become text: [`super::classify`] calls it for every
//! adapter (ECS, CloudWatch, SNS), so every message of a failed AWS call is made here. The
//! SDK's errors do not carry the URL they were sent to, so each adapter names its endpoint
//! ([`Endpoint`]), as the CLI does.

use std::error::Error;

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ConnectorError, ProvideErrorMetadata, SdkError};

/// The URL a client sends its requests to, for messages: the configured endpoint
/// (`[service].endpoint_url`, `AWS_ENDPOINT_URL`), else the service's regional endpoint in the
/// `aws` partition, as the SDK resolves it by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    /// `prefix` is the service's endpoint prefix: `ecs`, `monitoring` (CloudWatch), `sns`.
    pub fn of(config: &SdkConfig, prefix: &str) -> Self {
        match (config.endpoint_url(), config.region()) {
            (Some(url), _) => Endpoint(url.to_owned()),
            (None, Some(region)) => Endpoint(format!("https://{prefix}.{region}.amazonaws.com/")),
            (None, None) => Endpoint(format!("https://{prefix}.amazonaws.com/")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The error as the AWS CLI would say it (see the module's essay).
pub fn describe<E>(e: &SdkError<E, HttpResponse>, endpoint: &Endpoint) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let url = endpoint.as_str();
    match e {
        SdkError::ServiceError(s) => service_error(s.err(), s.raw().status().as_u16()),
        SdkError::TimeoutError(_) => "the request timed out".to_owned(),
        SdkError::DispatchFailure(_) if credentials(e).is_some() => credentials_message(e),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            format!("connect timeout on endpoint URL \"{url}\"")
        }
        SdkError::DispatchFailure(d) if d.is_io() => {
            format!("could not connect to the endpoint URL \"{url}\" ({})", root_cause(e))
        }
        SdkError::DispatchFailure(_) => format!("could not send the request to \"{url}\": {}", causes(e)),
        SdkError::ResponseError(r) => {
            format!("could not read the response (HTTP {}): {}", r.raw().status().as_u16(), causes(e))
        }
        SdkError::ConstructionFailure(_) if credentials(e).is_some() => credentials_message(e),
        SdkError::ConstructionFailure(_) => format!("could not build the request: {}", causes(e)),
        _ => causes(e),
    }
}

/// Whether the error comes from loading credentials, not from AWS.
pub(super) fn is_credentials<E: Error + 'static>(e: &SdkError<E, HttpResponse>) -> bool {
    credentials(e).is_some()
}

/// `Code: message`, as the service said it; the HTTP status when it gave neither.
fn service_error(e: &impl ProvideErrorMetadata, status: u16) -> String {
    match (e.code(), e.message().filter(|m| !m.is_empty())) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        (None, Some(message)) => format!("HTTP {status}: {message}"),
        (None, None) => format!("HTTP {status} with no error code"),
    }
}

fn credentials<E: Error + 'static>(e: &SdkError<E, HttpResponse>) -> Option<&CredentialsError> {
    chain(e).find_map(|s| s.downcast_ref::<CredentialsError>())
}

fn credentials_message<E: Error + 'static>(e: &SdkError<E, HttpResponse>) -> String {
    match credentials(e) {
        Some(CredentialsError::CredentialsNotLoaded(_)) => "unable to locate credentials".to_owned(),
        Some(c) => {
            let mut why = c.to_string();
            let more: Vec<String> = chain_of(c).skip(1).map(ToString::to_string).collect();
            for m in more {
                push_cause(&mut why, &m);
            }
            format!("could not load credentials: {why}")
        }
        None => causes(e),
    }
}

/// The causes below the SDK's own wrappers ("dispatch failure", "io error", "other", …).
fn chain<'a, E: Error + 'static>(
    e: &'a SdkError<E, HttpResponse>,
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(e.source(), |s: &&(dyn Error + 'static)| (*s).source())
        .filter(|s| !s.is::<ConnectorError>())
}

fn chain_of<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(e), |s: &&(dyn Error + 'static)| (*s).source())
}

/// Every cause's `Display`, outermost first, joined by `: `; one that repeats what the line
/// already says is left out.
fn causes<E: Error + 'static>(e: &SdkError<E, HttpResponse>) -> String {
    let mut out = String::new();
    for s in chain(e) {
        push_cause(&mut out, &s.to_string());
    }
    if out.is_empty() { e.to_string() } else { out }
}

/// Every cause of `e`, itself first, as [`causes`] joins them (for errors that are no SdkError,
/// such as a credential chain's).
pub(super) fn sentence(e: &(dyn Error + 'static)) -> String {
    let mut out = String::new();
    for s in chain_of(e) {
        push_cause(&mut out, &s.to_string());
    }
    out
}

fn push_cause(out: &mut String, cause: &str) {
    if cause.is_empty() || out.contains(cause) {
        return;
    }
    if !out.is_empty() {
        out.push_str(": ");
    }
    out.push_str(cause);
}

/// The two innermost causes: what failed and why (`tcp connect error: Connection refused (os
/// error 111)`, `dns error: failed to lookup address information: …`), without the HTTP
/// client's wrappers above them.
fn root_cause<E: Error + 'static>(e: &SdkError<E, HttpResponse>) -> String {
    let all: Vec<String> = chain(e).map(|s| s.to_string()).collect();
    let mut out = String::new();
    for c in &all[all.len().saturating_sub(2)..] {
        push_cause(&mut out, c);
    }
    if out.is_empty() { e.to_string() } else { out }
}

#[cfg(test)]
#[path = "describe_tests.rs"]
mod tests;
