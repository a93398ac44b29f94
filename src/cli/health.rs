//! `trimtab health`: asks a running agent's local API (`GET /healthz`) whether it is healthy, for
//! container health checks. The address is `--addr`, else the config's `agent.listen`.

use anyhow::Context;

use super::args::HealthArgs;
use super::setup::{file_or_env, runtime};
use crate::config;

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
    println!("{body}");
    anyhow::ensure!(status.is_success(), "{url}: HTTP {status}");
    Ok(())
}
