//! AWS emulators for integration tests: moto (ECS, SNS) and LocalStack (CloudWatch, SNS).
//!
//! Include with `#[path = "common/emulators.rs"] mod emulators;`. Each server is started once per
//! test process by `tests/emulators/emulator.sh` (which installs it into `target/emulators` on
//! first use) and is killed by that script's watchdog when this process exits. Tests in one
//! process share the server, so give resources unique names rather than relying on a clean state.
//!
//! Set `TRIMTAB_MOTO_URL` / `TRIMTAB_LOCALSTACK_URL` to use servers that are already running.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/emulators/emulator.sh");

/// Base URL (`http://127.0.0.1:PORT`) of a moto server for ECS.
pub fn moto() -> &'static str {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(|| start("moto", "TRIMTAB_MOTO_URL")).as_deref().unwrap_or_else(|e| panic!("{e}"))
}

/// Base URL (`http://127.0.0.1:PORT`) of a LocalStack server for CloudWatch.
pub fn localstack() -> &'static str {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(|| start("localstack", "TRIMTAB_LOCALSTACK_URL"))
        .as_deref()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Starts the server, or returns why it could not (remembered, so later tests fail fast).
fn start(name: &str, env_var: &str) -> Result<String, String> {
    if let Some(url) = std::env::var(env_var).ok().filter(|url| !url.is_empty()) {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let pid = std::process::id().to_string();
    let out = Command::new("bash")
        .args([SCRIPT, "start", name, &pid])
        .output()
        .map_err(|e| format!("cannot run `bash {SCRIPT}`: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.trim().lines().last() {
        Some(url) if out.status.success() && url.starts_with("http://") => {
            eprint!("{stderr}");
            Ok(url.to_owned())
        }
        _ => Err(format!(
            "could not start the {name} emulator ({status}).\n\
             --- emulator.sh stderr ---\n{stderr}--- end ---\n\
             Install it by hand with `bash {SCRIPT} install {name}` (needs PyPI access; \
             see target/emulators/{name}-install.log), or set {env_var} to a running server.",
            status = out.status,
        )),
    }
}

/// How the tests' in-process clients reach an emulator at `endpoint`: us-east-1, fixed dummy
/// credentials, retries on.
pub fn connection(endpoint: &str) -> trimtab::aws::Connection {
    trimtab::aws::Connection {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.into()),
        retries: true,
        static_credentials: Some(("test".into(), "test".into())),
        bulk: false,
    }
}

/// The binary with dummy credentials and nothing of this machine's AWS setup in its
/// environment (no profile, no instance metadata).
pub fn binary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trimtab"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    c
}

/// Runs [`binary`] configured by the standard AWS variables only: ECS on moto, CloudWatch on
/// LocalStack (off the test's runtime, which may be serving a fake app meanwhile).
pub async fn trimtab(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (moto, localstack) = (moto(), localstack());
    let run = move || {
        binary()
            .args(&args)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_ECS", moto)
            .env("AWS_ENDPOINT_URL_CLOUDWATCH", localstack)
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    };
    tokio::task::spawn_blocking(run).await.unwrap()
}

/// Wipes all state of the moto server at `url` (`POST /moto-api/reset`). This affects every test
/// in the process that uses the same server.
pub fn moto_reset(url: &str) {
    let addr = url.strip_prefix("http://").unwrap_or(url).trim_end_matches('/');
    let mut stream =
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to moto at {url}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "POST /moto-api/reset HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response);
    let status_line = response.lines().next().unwrap_or_default();
    assert_eq!(
        status_line.split_whitespace().nth(1),
        Some("200"),
        "POST {url}/moto-api/reset failed: {status_line}"
    );
}
