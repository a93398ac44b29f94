//! `trimtab health`: asks a running agent's local API (`GET /healthz`) whether it is healthy, for
//! container health checks. The address is `--addr`, else the config's `agent.listen`. Exit 0
//! when the agent answers 2xx, else 1. The table form prints the agent's answer as it came;
//! `--format json` wraps it: `{"url","http_status","healthy","response"}`, `response` being the
//! agent's JSON (or its text, when it is not JSON).

use anyhow::Context;
use serde::Serialize;

use super::args::HealthArgs;
use super::out;
use super::setup::{file_or_env, runtime};
use crate::config;

/// `trimtab health --format json`.
#[derive(Debug, Serialize)]
pub struct Health {
    pub url: String,
    pub http_status: u16,
    pub healthy: bool,
    pub response: serde_json::Value,
}

pub fn command(args: HealthArgs) -> anyhow::Result<()> {
    let addr = match args.addr {
        Some(a) => a,
        None => file_or_env(args.config.as_deref())?
            .map_or_else(|| config::model::DEFAULT_LISTEN.to_owned(), |c| c.agent.listen.to_string()),
    };
    let url = format!("http://{addr}/healthz");
    let rt = runtime()?;
    let (status, body) = rt
        .block_on(async {
            let resp = crate::sources::http_client().get(&url).send().await?;
            let status = resp.status();
            anyhow::Ok((status, resp.text().await?))
        })
        .with_context(|| format!("GET {url}"))?;
    let health = Health {
        url: url.clone(),
        http_status: status.as_u16(),
        healthy: status.is_success(),
        response: serde_json::from_str(&body).unwrap_or_else(|_| serde_json::Value::String(body.clone())),
    };
    let written = out::emit(args.output.format, &health, |_| format!("{body}\n"));
    // An unhealthy agent fails the check even when nobody reads what was printed.
    if health.healthy {
        written?
    } else {
        out::before_failing(written)?
    }
    anyhow::ensure!(health.healthy, "{url}: HTTP {status}");
    Ok(())
}
