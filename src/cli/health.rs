//! `trimtab health`: asks a running agent's local API (`GET /healthz`) whether it is healthy, for
//! container health checks. The address is `--addr`, else the config's `agent.listen`.

use anyhow::Context;

use super::args::HealthArgs;
use super::setup::{CONFIG_ENV_NAME, config_from_env, runtime};
use crate::config;

pub fn command(args: HealthArgs) -> anyhow::Result<()> {
    let addr = match (args.addr, &args.config, config_from_env()) {
        (Some(a), _, _) => a,
        (None, Some(path), _) => config::load(path)?.agent.listen.to_string(),
        (None, None, Some(text)) => config::from_str(CONFIG_ENV_NAME, &text)?.agent.listen.to_string(),
        (None, None, None) => "127.0.0.1:9464".to_owned(),
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
