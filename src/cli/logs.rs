//! Where logs go and what they may say: `tracing` to stderr, as text or one JSON object a line,
//! filtered by `RUST_LOG` (default `info`) and, whatever `RUST_LOG` says, by a floor for the
//! crates that handle credentials and raw requests. At DEBUG and TRACE the AWS SDK logs its
//! config bag and the identity it signs with (the access key id, issue 14), and the HTTP stack
//! can show requests; those crates never log below INFO. The floor is a second filter on the
//! same layer, so both must let an event through and no `RUST_LOG` directive, however
//! specific, can lift it. trimtab's own events never carry a secret: a webhook is named by its
//! host, the API token is never logged.

use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// Target prefixes held at INFO: every AWS SDK crate (`aws_config`, `aws_sigv4`, `aws_runtime`,
/// `aws_smithy_*`, `aws_sdk_*`, `aws_credential_types`) and the HTTP and TLS stack beneath it
/// and the notifier (`hyper`, `hyper_util`, `h2`, `rustls`, `reqwest`).
pub const HELD_AT_INFO: &[&str] = &["aws_", "hyper", "h2", "rustls", "reqwest"];

/// The floor: [`HELD_AT_INFO`] at INFO at most, everything else as `RUST_LOG` says.
pub fn floor() -> Targets {
    HELD_AT_INFO.iter().fold(Targets::new().with_default(LevelFilter::TRACE), |t, prefix| {
        t.with_target(*prefix, LevelFilter::INFO)
    })
}

/// `RUST_LOG` (default `info`), over the floor.
fn filter(
    rust_log: Option<&str>,
) -> impl tracing_subscriber::layer::Filter<tracing_subscriber::Registry> + use<> {
    let env = rust_log.and_then(|s| EnvFilter::try_new(s).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    tracing_subscriber::filter::FilterExt::and(env, floor())
}

/// Installs the global subscriber: stderr, no colours, `json` for CloudWatch Logs.
pub fn init(json: bool) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let layer = fmt::layer().with_writer(std::io::stderr).with_ansi(false);
    let layer = if json { layer.json().flatten_event(true).boxed() } else { layer.boxed() };
    tracing_subscriber::registry().with(layer.with_filter(filter(rust_log.as_deref()))).init();
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn credential_bearing_targets_stay_at_info() {
        let f = floor();
        for target in [
            "aws_sigv4::http_request::sign",
            "aws_smithy_runtime::client::orchestrator::auth",
            "aws_smithy_runtime::client::orchestrator::endpoints",
            "aws_config::meta::credentials::chain",
            "aws_credential_types::provider",
            "aws_sdk_ecs::config",
            "hyper_util::client::legacy::connect::http",
            "h2::codec",
            "reqwest::async_impl::client",
        ] {
            assert!(!f.would_enable(target, &Level::DEBUG), "{target}");
            assert!(f.would_enable(target, &Level::INFO), "{target}");
        }
        assert!(f.would_enable("trimtab::agent", &Level::TRACE));
        assert!(f.would_enable("tokio::runtime", &Level::DEBUG));
    }
}
