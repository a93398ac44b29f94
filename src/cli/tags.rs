//! `trimtab pause`, `resume` and `override`: operator intent written into the service's own ECS
//! tags (format in [`crate::core::operator`]), from any machine with AWS credentials. The
//! controller reads the tags on its next tick; nothing else needs to be reachable.
//!
//! Each command reads the service once (`DescribeServices`, with its tags) to learn its ARN and
//! whether it carries the tag already, then tags or untags it (`TagResource`, `UntagResource`),
//! and prints one line saying what it did. Removing a tag the service does not carry is no call
//! and says so. The parts are separate so tests can check them without AWS: [`override_change`]
//! validates the flags, [`plan`] says which tags change, [`report`] words the result.
//!
//! With `--format json` the command prints what it set, as [`Done`]: `{"action","service",
//! "arn","changed","tags_set","tags_removed","override","message"}`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::args::{OverrideArgs, ServiceTarget};
use super::remote::short;
use super::setup::runtime;
use super::{UsageError, out};
use crate::aws::{AwsError, Connection, EcsFleet, ServiceInfo, sdk_config};
use crate::core::operator::{MAX_OVERRIDE, OVERRIDE_TAG, PAUSED_TAG, format_override, parse_override};
use crate::core::{ManualOverride, Replicas};

/// What a command asks of a service's tags.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// `trimtab:paused=true`.
    Pause,
    /// No `trimtab:paused`.
    Resume,
    /// `trimtab:override` holding this.
    Hold(ManualOverride),
    /// No `trimtab:override`.
    Release,
}

/// Why a tag command failed (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// ECS did not return the service (`reason`: its failure, e.g. `MISSING`).
    #[error("service {service} not found in cluster {cluster}: {reason}")]
    NotFound { cluster: String, service: String, reason: String },
    /// `DescribeServices` failed.
    #[error("cannot read service {service} of cluster {cluster}")]
    Describe {
        cluster: String,
        service: String,
        #[source]
        source: AwsError,
    },
    /// `TagResource` or `UntagResource` failed.
    #[error("cannot change the tags of {arn}")]
    Tag {
        arn: String,
        #[source]
        source: AwsError,
    },
}

/// `trimtab pause`.
pub fn pause(target: ServiceTarget) -> anyhow::Result<()> {
    execute(&target, &Change::Pause)
}

/// `trimtab resume`.
pub fn resume(target: ServiceTarget) -> anyhow::Result<()> {
    execute(&target, &Change::Resume)
}

/// `trimtab override`.
pub fn override_command(args: OverrideArgs) -> anyhow::Result<()> {
    let change = override_change(&args, Utc::now())?;
    execute(&args.target, &change)
}

fn execute(target: &ServiceTarget, change: &Change) -> anyhow::Result<()> {
    let conn = Connection {
        region: target.region.clone(),
        endpoint_url: target.endpoint_url.clone(),
        retries: true,
        static_credentials: None,
        bulk: false,
    };
    let done = runtime()?.block_on(async {
        let ecs = EcsFleet::new(&sdk_config(&conn).await);
        apply(&ecs, target, change).await
    })?;
    out::emit(target.output.format, &done, |d| format!("{}\n", d.message))?;
    Ok(())
}

/// What a tag command did to the service.
#[derive(Clone, Debug, Serialize)]
pub struct Done {
    /// `pause`, `resume`, `override` or `clear`.
    pub action: &'static str,
    /// `cluster/service`.
    pub service: String,
    pub arn: String,
    /// False when there was nothing to remove (no call was made).
    pub changed: bool,
    /// The tags set, key to value.
    pub tags_set: BTreeMap<String, String>,
    /// The tag keys removed.
    pub tags_removed: Vec<String>,
    /// The hold as stored in the tag (`override` only).
    #[serde(rename = "override")]
    pub hold: Option<ManualOverride>,
    /// The line the table form prints.
    pub message: String,
}

/// Reads the service, changes its tags as `change` asks, and says what it did.
pub async fn apply(ecs: &EcsFleet, target: &ServiceTarget, change: &Change) -> Result<Done, TagError> {
    let (cluster, service) = (&target.cluster, &target.service);
    let described = ecs.describe_services(cluster, std::slice::from_ref(service)).await;
    let described = described.map_err(|source| TagError::Describe {
        cluster: cluster.clone(),
        service: service.clone(),
        source,
    })?;
    let info = found(target, described)?;
    let (set, remove) = plan(change, &info.state.tags);
    let tagged = |source| TagError::Tag { arn: info.arn.clone(), source };
    ecs.tag(&info.arn, &set).await.map_err(tagged)?;
    ecs.untag(&info.arn, &remove).await.map_err(tagged)?;
    let name = format!("{}/{}", short(cluster), info.name);
    let changed = !(set.is_empty() && remove.is_empty());
    Ok(Done {
        action: change.action(),
        message: report(change, &name, &info.arn, changed),
        service: name,
        arn: info.arn,
        changed,
        tags_set: set.into_iter().collect(),
        tags_removed: remove,
        hold: match change {
            Change::Hold(o) => Some(o.clone()),
            _ => None,
        },
    })
}

impl Change {
    /// The command's word for the change.
    pub fn action(&self) -> &'static str {
        match self {
            Change::Pause => "pause",
            Change::Resume => "resume",
            Change::Hold(_) => "override",
            Change::Release => "clear",
        }
    }
}

/// The one service asked for, or why ECS did not return it.
fn found(
    target: &ServiceTarget,
    (services, failures): (Vec<ServiceInfo>, Vec<(String, String)>),
) -> Result<ServiceInfo, TagError> {
    services.into_iter().next().ok_or_else(|| TagError::NotFound {
        cluster: target.cluster.clone(),
        service: target.service.clone(),
        reason: failures.into_iter().next().map_or_else(|| "not returned".to_owned(), |(_, why)| why),
    })
}

/// The tags to set and the tag keys to remove for `change` on a service carrying `tags`. A
/// tag the service does not carry is not removed (no call).
pub fn plan(change: &Change, tags: &BTreeMap<String, String>) -> (Vec<(String, String)>, Vec<String>) {
    let remove = |key: &str| if tags.contains_key(key) { vec![key.to_owned()] } else { vec![] };
    match change {
        Change::Pause => (vec![(PAUSED_TAG.to_owned(), "true".to_owned())], vec![]),
        Change::Resume => (vec![], remove(PAUSED_TAG)),
        Change::Hold(o) => (vec![(OVERRIDE_TAG.to_owned(), format_override(o))], vec![]),
        Change::Release => (vec![], remove(OVERRIDE_TAG)),
    }
}

/// The line printed after `change` on `name` (`cluster/service`); `changed` is false when there
/// was nothing to remove.
pub fn report(change: &Change, name: &str, arn: &str, changed: bool) -> String {
    match (change, changed) {
        (Change::Pause, _) => {
            format!("paused {name} ({arn}): trimtab will decide and report but change nothing until resumed")
        }
        (Change::Resume, true) => format!("resumed {name} ({arn}): trimtab scales it again"),
        (Change::Resume, false) => format!("{name} ({arn}) was not paused: nothing to do"),
        (Change::Hold(o), _) => {
            let why = if o.reason.is_empty() { String::new() } else { format!(" ({})", o.reason) };
            format!(
                "override on {name} ({arn}): trimtab holds it at {} tasks, within its policy's bounds, \
                 until {}{why}",
                o.count.get(),
                o.expires_at.format("%Y-%m-%dT%H:%M:%SZ")
            )
        }
        (Change::Release, true) => {
            format!("override cleared on {name} ({arn}): trimtab scales it on its metrics again")
        }
        (Change::Release, false) => format!("{name} ({arn}) has no override: nothing to do"),
    }
}

/// The change `trimtab override` asks for at `now`: the hold exactly as the tag will store it
/// (to the second, the reason as ECS takes it), or the release. Clap has already checked that
/// either `--clear` or `--count` with `--for` or `--until` is given.
pub fn override_change(args: &OverrideArgs, now: DateTime<Utc>) -> Result<Change, UsageError> {
    if args.clear {
        return Ok(Change::Release);
    }
    let count = args.count.ok_or_else(|| UsageError("--count N is needed without --clear".into()))?;
    if count > MAX_OVERRIDE {
        return Err(UsageError(format!("--count {count} is more than {MAX_OVERRIDE}")));
    }
    let until = match (args.duration, args.until) {
        (Some(d), _) => now.checked_add_signed(d).ok_or_else(|| UsageError("--for is too long".into()))?,
        (None, Some(t)) => t,
        (None, None) => return Err(UsageError("--for DURATION or --until TIME is needed".into())),
    };
    if until <= now {
        let when = until.format("%Y-%m-%dT%H:%M:%SZ");
        return Err(UsageError(format!("the override would end at {when}, which is not in the future")));
    }
    let asked = ManualOverride {
        count: Replicas(count),
        reason: args.reason.clone().unwrap_or_default(),
        expires_at: until,
    };
    let stored = parse_override(&format_override(&asked)).map_err(UsageError)?;
    Ok(Change::Hold(stored))
}

#[cfg(test)]
#[path = "tags_tests.rs"]
mod tests;
