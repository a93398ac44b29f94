//! SDK errors built as the SDK builds them, described as the AWS CLI says them.

use std::io;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ConnectorError, ErrorMetadata, SdkError};
use aws_sdk_ecs::operation::update_service::UpdateServiceError;

use super::*;
use crate::aws::{ErrorKind, classify};

type Error = SdkError<UpdateServiceError, HttpResponse>;

fn endpoint() -> Endpoint {
    Endpoint("http://127.0.0.1:1/".into())
}

fn response(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status.try_into().unwrap(), body.to_owned().into())
}

fn service(code: Option<&str>, message: Option<&str>, status: u16) -> Error {
    let mut meta = ErrorMetadata::builder();
    if let Some(c) = code {
        meta = meta.code(c);
    }
    if let Some(m) = message {
        meta = meta.message(m);
    }
    SdkError::service_error(UpdateServiceError::generic(meta.build()), response(status, "{}"))
}

fn refused() -> Error {
    // What hyper's connector hands the SDK: its own errors around the io::Error.
    let io = io::Error::new(io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
    SdkError::dispatch_failure(ConnectorError::io(Box::new(io)))
}

fn no_debug(s: &str) {
    for dump in ["DispatchFailure", "ConnectorError", "{", "Some(", "source:"] {
        assert!(!s.contains(dump), "a Debug dump in {s:?}");
    }
}

#[test]
fn a_refused_connection_names_the_endpoint_url_and_the_cause() {
    let s = describe(&refused(), &endpoint());
    assert_eq!(
        s,
        "could not connect to the endpoint URL \"http://127.0.0.1:1/\" (Connection refused (os error 111))"
    );
    no_debug(&s);
    let e = classify("ecs:UpdateService", &endpoint(), refused());
    assert_eq!(e.kind, ErrorKind::Network);
    assert_eq!(e.to_string(), format!("ecs:UpdateService: network: {s}"));
}

#[test]
fn a_service_error_is_its_code_and_message() {
    let denied = "User: arn:aws:sts::123456789012:assumed-role/app/t is not authorized to perform: \
                  ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/c/web";
    let e = service(Some("AccessDeniedException"), Some(denied), 400);
    assert_eq!(describe(&e, &endpoint()), format!("AccessDeniedException: {denied}"));
    assert_eq!(classify("ecs:UpdateService", &endpoint(), e).kind, ErrorKind::Client);

    let e = service(Some("ServiceNotFoundException"), Some("Service not found."), 400);
    assert_eq!(describe(&e, &endpoint()), "ServiceNotFoundException: Service not found.");

    let e = service(Some("ThrottlingException"), Some("Rate exceeded"), 400);
    assert_eq!(describe(&e, &endpoint()), "ThrottlingException: Rate exceeded");
    assert_eq!(classify("ecs:UpdateService", &endpoint(), e).kind, ErrorKind::Throttled);

    // What little a bare 5xx says.
    let e = service(None, None, 503);
    assert_eq!(describe(&e, &endpoint()), "HTTP 503 with no error code");
    assert_eq!(classify("ecs:UpdateService", &endpoint(), e).kind, ErrorKind::Server);
    assert_eq!(describe(&service(Some("ServerException"), None, 500), &endpoint()), "ServerException");
    assert_eq!(describe(&service(None, Some("slow down"), 500), &endpoint()), "HTTP 500: slow down");
}

#[test]
fn timeouts_say_so() {
    let e: Error = SdkError::timeout_error(Box::new(io::Error::new(io::ErrorKind::TimedOut, "elapsed")));
    assert_eq!(describe(&e, &endpoint()), "the request timed out");
    assert_eq!(classify("ecs:UpdateService", &endpoint(), e).kind, ErrorKind::Timeout);

    let e: Error = SdkError::dispatch_failure(ConnectorError::timeout(Box::new(io::Error::new(
        io::ErrorKind::TimedOut,
        "connect timed out",
    ))));
    assert_eq!(describe(&e, &endpoint()), "connect timeout on endpoint URL \"http://127.0.0.1:1/\"");
    assert_eq!(classify("ecs:UpdateService", &endpoint(), e).kind, ErrorKind::Timeout);
}

#[test]
fn missing_credentials_are_unable_to_locate_credentials() {
    let creds = CredentialsError::not_loaded("no providers in chain provided credentials");
    let e: Error = SdkError::dispatch_failure(ConnectorError::other(Box::new(creds), None));
    assert_eq!(describe(&e, &endpoint()), "unable to locate credentials");
    assert_eq!(classify("ecs:UpdateService", &endpoint(), e).kind, ErrorKind::Credentials);

    let slow = CredentialsError::provider_timed_out(std::time::Duration::from_secs(5));
    let e: Error = SdkError::dispatch_failure(ConnectorError::other(Box::new(slow), None));
    assert_eq!(
        describe(&e, &endpoint()),
        "could not load credentials: credentials provider timed out after 5 seconds"
    );
}

#[test]
fn an_unreadable_response_says_what_came_back() {
    let parse = io::Error::new(io::ErrorKind::InvalidData, "expected value at line 1 column 1");
    let e: Error = SdkError::response_error(Box::new(parse), response(200, "<html>"));
    let s = describe(&e, &endpoint());
    assert_eq!(s, "could not read the response (HTTP 200): expected value at line 1 column 1");
    no_debug(&s);
    assert_eq!(classify("ecs:UpdateService", &endpoint(), e).kind, ErrorKind::Malformed);
}

#[test]
fn the_endpoint_is_the_configured_one_else_the_regional_one() {
    let config = |url: Option<&str>| {
        let mut b = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .behavior_version(aws_config::BehaviorVersion::latest());
        if let Some(u) = url {
            b = b.endpoint_url(u);
        }
        b.build()
    };
    assert_eq!(Endpoint::of(&config(None), "ecs").as_str(), "https://ecs.eu-west-1.amazonaws.com/");
    assert_eq!(
        Endpoint::of(&config(None), "monitoring").as_str(),
        "https://monitoring.eu-west-1.amazonaws.com/"
    );
    assert_eq!(Endpoint::of(&config(Some("http://127.0.0.1:4566")), "ecs").as_str(), "http://127.0.0.1:4566");
}
