//! What several commands do before their own work: load the config (from `--config`, the
//! environment, or the embedded example), start an async runtime, connect to CloudWatch, and
//! find the region to price in.

use anyhow::{Context, bail};

use super::UsageError;
use super::args::ConfigArg;
use crate::aws::{CloudWatch, Connection, sdk_config};
use crate::config::model::ServiceConfig;
use crate::config::{self, Config};

/// Where a config given as text in the environment comes from, for messages (`$TRIMTAB_CONFIG:3:1: …`).
pub const CONFIG_ENV_NAME: &str = "$TRIMTAB_CONFIG";

/// The config's TOML from `TRIMTAB_CONFIG`, when set and not blank: a task definition can pass the
/// whole config in an environment variable (or an SSM parameter mapped to one) instead of a volume.
pub fn config_from_env() -> Option<String> {
    std::env::var("TRIMTAB_CONFIG").ok().filter(|t| !t.trim().is_empty())
}

/// The config of `--config`, else the one in `$TRIMTAB_CONFIG`, else `None` (the agent's own
/// commands, `run` and `health`, take no embedded example).
pub fn file_or_env(path: Option<&std::path::Path>) -> anyhow::Result<Option<Config>> {
    Ok(match (path, config_from_env()) {
        (Some(path), _) => Some(config::load(path)?),
        (None, Some(text)) => Some(config::from_str(CONFIG_ENV_NAME, &text)?),
        (None, None) => None,
    })
}

/// The config of `--config`, else the example embedded in the binary.
pub fn load(arg: &ConfigArg) -> anyhow::Result<Config> {
    Ok(match &arg.config {
        Some(path) => config::load(path)?,
        None => config::from_str(super::EMBEDDED_NAME, super::EMBEDDED_EXAMPLE)?,
    })
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One thread: a sidecar should be small; the work per tick is a handful of requests.
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}

/// A CloudWatch client for `[service]`; `bulk` for reads of weeks of history.
pub async fn cloudwatch(svc: &ServiceConfig, bulk: bool) -> CloudWatch {
    let conn = Connection { bulk, ..Connection::for_service(svc) };
    CloudWatch::new(&sdk_config(&conn).await)
}

/// The region to price in: service.region, else `--region`, else the environment's.
pub fn region(cfg: &Config, svc: &ServiceConfig, flag: Option<String>) -> anyhow::Result<String> {
    let region = svc
        .region
        .clone()
        .or(flag)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    let Some(region) = region else {
        bail!(UsageError(format!("{}: no region: set service.region, --region or AWS_REGION", cfg.file)));
    };
    Ok(region)
}
