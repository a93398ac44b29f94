//! `[agent]`, `[service]` and `[alarms]`.

use std::net::SocketAddr;

use chrono::TimeDelta;

use super::{Keys, Limit, ONE_DAY};
use crate::config::defaults::{agent as da, alarms as dal, service as ds};
use crate::config::error::Problems;
use crate::config::model::{
    AgentConfig, AlarmsConfig, Architecture, DEFAULT_LEADER_CHECK, DEFAULT_LISTEN, LaunchType, MIN_TOKEN_LEN,
    Mode, Os, ServiceConfig,
};
use crate::config::raw::{RawAgent, RawAlarms, RawService};
use crate::core::fargate;

/// The shortest `agent.interval`. A tick reads every metric source and may call AWS several
/// times; ticks closer than a second only load the agent, the app's endpoints and the AWS
/// account's API quotas, and no scaling signal changes that fast. It also catches typos:
/// `"1ms"` for `"15s"` made 3,000 ticks in 3 s.
const MIN_INTERVAL: Limit = Limit(TimeDelta::seconds(1), "1s");
const DEFAULT_INTERVAL: &str = da::INTERVAL;

/// The shortest `agent.interval` of a controller. A service changes owner only after one
/// interval (the handover rule), and an `UpdateService` may take 8 s: a shorter interval would
/// let a new owner act while the old one's update is still under way.
const MIN_CONTROLLER_INTERVAL: Limit = Limit(TimeDelta::seconds(10), "10s");

/// `agent.mode`; `None` when the value is unknown (reported).
pub fn mode(raw: Option<&RawAgent>, p: &mut Problems) -> Option<Mode> {
    let mut k = Keys { path: "agent".into(), p };
    let text = raw.and_then(|r| r.mode.as_deref());
    k.one_of("mode", text, da::MODE, Mode::NAMES, &[Mode::Sidecar, Mode::Controller])
}

/// `[agent]`, for `mode` as [`mode`] read it (`None`: unknown, already reported).
pub fn agent(raw: Option<&RawAgent>, mode: Option<Mode>, p: &mut Problems) -> Option<AgentConfig> {
    let raw = raw.cloned().unwrap_or_default();
    let mut k = Keys { path: "agent".into(), p };
    let interval = interval(&mut k, raw.interval.as_deref());
    if mode == Some(Mode::Controller)
        && let Some(d) = interval
        && d < MIN_CONTROLLER_INTERVAL.0
    {
        let text = raw.interval.as_deref().unwrap_or(DEFAULT_INTERVAL);
        k.problem(
            "interval",
            format!(
                "controller mode needs agent.interval of at least {}: a service changes owner only after \
                 one interval, and an UpdateService takes up to 8s (got {text:?})",
                MIN_CONTROLLER_INTERVAL.1
            ),
        );
    }
    let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = listen_text.parse::<SocketAddr>().map_err(|_| {
        k.problem(
            "listen",
            format!("invalid address {listen_text:?}; expected IP:PORT, e.g. \"127.0.0.1:9464\""),
        );
    });
    if raw.api_token.as_deref().is_some_and(|t| t.trim().len() < MIN_TOKEN_LEN) {
        k.problem("api_token", format!("too short to be a secret: use at least {MIN_TOKEN_LEN} characters"));
    }
    let leader_check = k.duration_between(
        "leader_check",
        raw.leader_check.as_deref(),
        DEFAULT_LEADER_CHECK,
        Limit(TimeDelta::seconds(5), "5s"),
        ONE_DAY,
    );
    Some(AgentConfig {
        leader_check: leader_check?,
        interval: interval?,
        listen: listen.ok()?,
        dry_run: raw.dry_run.unwrap_or(da::DRY_RUN),
        api_token: raw.api_token.clone(),
        mode: mode?,
    })
}

pub fn service(raw: &RawService, p: &mut Problems) -> Option<ServiceConfig> {
    let mut k = Keys { path: "service".into(), p };
    let cluster = k.non_empty("cluster", &raw.cluster);
    let name = k.non_empty("name", &raw.name);
    region(&mut k, raw.region.as_deref());
    let launch_type = k.one_of(
        "launch_type",
        raw.launch_type.as_deref(),
        ds::LAUNCH_TYPE,
        LaunchType::NAMES,
        &[LaunchType::Fargate, LaunchType::FargateSpot, LaunchType::Ec2],
    );
    let architecture = k.one_of(
        "architecture",
        raw.architecture.as_deref(),
        ds::ARCHITECTURE,
        &["x86_64", "arm64"],
        &[Architecture::X86_64, Architecture::Arm64],
    );
    let cpu = raw.cpu.map(|c| k.count("cpu", Some(c), 0, 1, ds::MAX_CPU));
    let memory = raw.memory.map(|m| k.count("memory", Some(m), 0, 1, ds::MAX_MEMORY));
    let (cpu, memory) = (cpu.flatten(), memory.flatten());
    let os = k.one_of("os", raw.os.as_deref(), ds::OS, &["linux", "windows"], &[Os::Linux, Os::Windows]);
    let (least, most) = (ds::EPHEMERAL_STORAGE_GIB, ds::MAX_EPHEMERAL_STORAGE_GIB as u32);
    let storage_gib = k.count("ephemeral_storage_gib", raw.ephemeral_storage_gib, least, least, most);
    if os == Some(Os::Windows) && cpu.is_some_and(|c| c < 1024) {
        k.problem("cpu", "Windows tasks need at least 1 vCPU (cpu = 1024)");
    }
    if launch_type.is_some_and(LaunchType::is_fargate) {
        fargate_size(&mut k, raw, cpu, memory);
    }
    Some(ServiceConfig {
        cluster: cluster?,
        name: name?,
        region: raw.region.clone(),
        launch_type: launch_type?,
        cpu,
        memory,
        architecture: architecture?,
        endpoint_url: endpoint_url(&mut k, &raw.endpoint_url)?,
        os: os?,
        storage_gib: storage_gib?,
    })
}

/// `agent.interval`, from [`MIN_INTERVAL`] to a day.
fn interval(k: &mut Keys<'_>, v: Option<&str>) -> Option<TimeDelta> {
    k.duration_between("interval", v, DEFAULT_INTERVAL, MIN_INTERVAL, ONE_DAY)
}

/// An optional `region` key: an AWS region's name.
pub(super) fn region(k: &mut Keys<'_>, v: Option<&str>) {
    if let Some(r) = v.filter(|r| !is_region(r)) {
        k.problem("region", format!("{r:?} is not an AWS region name (e.g. \"us-east-1\")"));
    }
}

fn fargate_size(k: &mut Keys<'_>, raw: &RawService, cpu: Option<u32>, memory: Option<u32>) {
    match (cpu, memory) {
        (Some(c), _) if fargate::memory_options(c).is_empty() => {
            let valid: Vec<String> = fargate::cpu_options().map(|c| c.to_string()).collect();
            k.problem("cpu", format!("{c} is not a Fargate CPU size; valid: {}", valid.join(", ")));
        }
        (Some(c), Some(m)) if !fargate::is_valid(c, m) => {
            let options = fargate::memory_options(c);
            let (lo, hi) = (options[0], options[options.len() - 1]);
            k.problem(
                "memory",
                format!(
                    "{m} MiB is not valid with cpu = {c} on Fargate; valid: {lo}..{hi} MiB ({} sizes)",
                    options.len()
                ),
            );
        }
        _ => {}
    }
    if raw.cpu.is_none() {
        k.problem("cpu", "missing required key (Fargate tasks need a size)");
    }
    if raw.memory.is_none() {
        k.problem("memory", "missing required key (Fargate tasks need a size)");
    }
}

pub(super) fn endpoint_url(k: &mut Keys<'_>, v: &Option<String>) -> Option<Option<String>> {
    match v.as_deref() {
        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
            k.problem("endpoint_url", format!("{u:?} is not an http:// or https:// URL"));
            None
        }
        _ => Some(v.clone()),
    }
}

/// `[alarms]`; without the section, alarms are off and take their defaults.
pub fn alarms(raw: Option<&RawAlarms>, has_service: bool, p: &mut Problems) -> Option<AlarmsConfig> {
    let raw = raw.cloned().unwrap_or_default();
    let mut k = Keys { path: "alarms".into(), p };
    let enabled = raw.enabled.unwrap_or(dal::ENABLED);
    if enabled && !has_service {
        k.problem("enabled", "alarms watch a service: add a [service] section");
    }
    let percent = |k: &mut Keys<'_>, key: &str, v: Option<f64>, default: f64| {
        let v = v.unwrap_or(default);
        let ok = v > 0.0 && v <= 100.0;
        if !ok {
            k.problem(key, format!("must be a percentage above 0 and at most 100, got {v}"));
        }
        ok.then_some(v)
    };
    let cpu_high = percent(&mut k, "cpu_high", raw.cpu_high, dal::CPU_HIGH);
    let memory_high = percent(&mut k, "memory_high", raw.memory_high, dal::MEMORY_HIGH);
    let heartbeat = k.count(
        "heartbeat_minutes",
        raw.heartbeat_minutes,
        dal::HEARTBEAT_MINUTES,
        1,
        dal::MAX_HEARTBEAT_MINUTES,
    );
    let actions = raw.actions.clone().unwrap_or_default();
    for (i, a) in actions.iter().enumerate() {
        if !a.starts_with("arn:") {
            k.problem(&format!("actions[{i}]"), format!("{a:?} is not an ARN (e.g. an SNS topic ARN)"));
        }
    }
    Some(AlarmsConfig {
        enabled,
        cpu_high: cpu_high?,
        memory_high: memory_high?,
        heartbeat_minutes: heartbeat?,
        actions,
        budget_forecast: None,
    })
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`…
fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    let letters = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase());
    parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| letters(p))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::is_region;

    fn problems(toml: &str) -> Vec<String> {
        match crate::config::from_str("t.toml", toml) {
            Ok(_) => vec![],
            Err(e) => e.diagnostics().iter().map(|d| d.to_string()).collect(),
        }
    }

    /// Issue 14: `"1ms"` is a typo away from `"15s"` and made 3,000 ticks in 3 s.
    #[test]
    fn issue_14_agent_interval_is_at_least_a_second() {
        for bad in ["1ms", "999ms", "0s"] {
            let p = problems(&format!("[agent]\ninterval = \"{bad}\"\n"));
            assert_eq!(p.len(), 1, "{bad}: {p:?}");
            assert!(p[0].starts_with("t.toml:2:1: agent.interval: "), "{p:?}");
            assert!(p[0].contains("from 1s to 1d") && p[0].contains(bad), "{p:?}");
        }
        for ok in ["1s", "1500ms", "15s", "1d"] {
            assert_eq!(problems(&format!("[agent]\ninterval = \"{ok}\"\n")), Vec::<String>::new(), "{ok}");
        }
    }

    #[test]
    fn region_names() {
        for ok in ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-5"] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["us-east", "US-EAST-1", "useast1", "us-east-1a", ""] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
