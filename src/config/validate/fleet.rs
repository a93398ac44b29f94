//! Controller mode: `[controller]`, `[policies.NAME]`, `[[services]]` and `[discovery]`.
//!
//! A controller is an ECS service of its own that scales many services from outside their
//! tasks. Each service is scaled by a named policy — a `[policies.NAME]` table, read exactly as
//! `[scaling]` is, on top of a template — or by a shipped template named directly. From outside
//! the tasks only CloudWatch can be read: `ecs` metrics of the whole service (`AWS/ECS`) and
//! `cloudwatch` ones, whose dimension values may name each service as `{cluster}` and
//! `{service}`. A sidecar's sections are refused in controller mode, and a controller's in
//! sidecar mode, each with what to write instead.

use std::collections::{BTreeMap, HashMap};

use chrono::TimeDelta;

use super::scaling::scaling;
use super::{At, Keys, Limit, ONE_DAY, Templates, service};
use crate::config::error::Problems;
use crate::config::model::{
    ControllerConfig, DEFAULT_CONTAINER, DEFAULT_DISCOVERY_INTERVAL, DEFAULT_DISCOVERY_TAG, Discovery,
    EcsScope, FleetConfig, FleetService, Mode, ScalingConfig, SourceKind, SourceSpec,
};
use crate::config::raw::{RawConfig, RawController, RawDiscovery, RawFleetService, RawPolicy};

/// A sidecar's sections, whether `raw` holds each, and what a controller takes instead.
fn sidecar_sections(raw: &RawConfig) -> [(&'static str, bool, &'static str); 7] {
    [
        (
            "service",
            raw.service.is_some(),
            "controller mode scales services listed in [[services]] or found by [discovery], not one \
             [service]; list it as [[services]] with cluster, name and policy",
        ),
        (
            "scaling",
            raw.scaling.is_some(),
            "controller mode scales services listed in [[services]] or found by [discovery]; put the policy \
             in [policies.NAME]",
        ),
        (
            "schedule",
            !raw.schedule.is_empty(),
            "controller mode has no top-level [[schedule]]; put the windows in the policy they change, as \
             [[policies.NAME.schedule]]",
        ),
        (
            "pools",
            !raw.pools.is_empty(),
            "pools are served by a sidecar's local API inside the service's tasks; a controller runs outside \
             them and has none (use sidecar mode)",
        ),
        (
            "vertical",
            raw.vertical.is_some(),
            "controller mode does not right-size tasks; [vertical] works in sidecar mode, next to the one \
             service it sizes",
        ),
        (
            "protection",
            raw.protection.is_some(),
            "task scale-in protection is set from inside the busy task, by its sidecar; a controller runs \
             outside the tasks it scales (use sidecar mode)",
        ),
        (
            "budget",
            raw.budget.is_some(),
            "controller mode has no budget; a [budget] pays for the one [service] of a sidecar (use sidecar \
             mode)",
        ),
    ]
}

/// A controller's sections, and whether `raw` holds each.
fn controller_sections(raw: &RawConfig) -> [(&'static str, bool); 4] {
    [
        ("controller", raw.controller.is_some()),
        ("policies", !raw.policies.is_empty()),
        ("services", !raw.services.is_empty()),
        ("discovery", raw.discovery.is_some()),
    ]
}

/// Why a controller's section is refused in sidecar mode.
const CONTROLLER_ONLY: &str = "read only in controller mode: set agent.mode = \"controller\" to scale the \
    services listed in [[services]] or found by [discovery]; a sidecar scales the one [service] by [scaling]";

/// The shortest and longest `discovery.interval`: every look lists and describes each cluster's
/// services, so a few a minute at most; and a newly tagged service waits no more than a day.
const DISCOVERY_INTERVAL: (Limit, Limit) = (Limit(TimeDelta::seconds(30), "30s"), ONE_DAY);

use crate::config::defaults::discovery::MAX_TAG_KEY;

/// Refuses the sections that `mode` does not read (nothing when the mode itself is unknown).
pub fn refuse_other_mode(raw: &RawConfig, mode: Option<Mode>, p: &mut Problems) {
    match mode {
        Some(Mode::Controller) => {
            for (section, _, why) in sidecar_sections(raw).into_iter().filter(|s| s.1) {
                p.push(section, why);
            }
        }
        Some(Mode::Sidecar) => {
            for (section, _) in controller_sections(raw).into_iter().filter(|s| s.1) {
                p.push(section, CONTROLLER_ONLY);
            }
        }
        None => {}
    }
}

/// `raw` without a sidecar's sections (refused in controller mode, so not checked further).
pub fn without_sidecar(raw: &RawConfig) -> RawConfig {
    RawConfig {
        service: None,
        scaling: None,
        schedule: vec![],
        pools: vec![],
        vertical: None,
        protection: None,
        budget: None,
        ..raw.clone()
    }
}

/// Controller mode's sections.
pub fn fleet(raw: &RawConfig, templates: &Templates, p: &mut Problems) -> Option<FleetConfig> {
    let controller = controller(raw.controller.as_ref(), p);
    let policies = policies(&raw.policies, templates, p);
    let shipped = shipped(templates);
    let names: Vec<&str> = raw.policies.iter().map(|(n, _)| n.as_str()).collect();
    let services = services(&raw.services, &names, &shipped, p);
    let discovery = match &raw.discovery {
        Some(d) => discovery(d, p).map(Some),
        None => Some(None),
    };
    if raw.services.is_empty() && raw.discovery.is_none() {
        p.push(
            "agent.mode",
            "a controller needs services to scale: list them as [[services]] (cluster, name, policy), or \
             find them by tag with [discovery]",
        );
    }
    Some(FleetConfig {
        controller: controller?,
        policies: policies?,
        templates: shipped,
        services: services?,
        discovery: discovery?,
    })
}

fn controller(raw: Option<&RawController>, p: &mut Problems) -> Option<ControllerConfig> {
    let raw = raw.cloned().unwrap_or_default();
    let mut k = Keys { path: "controller".into(), p };
    service::region(&mut k, raw.region.as_deref());
    let endpoint_url = service::endpoint_url(&mut k, &raw.endpoint_url);
    let together = "give cluster and service together (the controller's own ECS service, whose healthy \
                    tasks share the services), or neither to run as the only controller";
    match (&raw.cluster, &raw.service) {
        (Some(_), None) => k.problem("cluster", together),
        (None, Some(_)) => k.problem("service", together),
        _ => {}
    }
    let cluster = optional(&mut k, "cluster", &raw.cluster);
    let service = optional(&mut k, "service", &raw.service);
    let container =
        k.non_empty("container", &Some(raw.container.unwrap_or_else(|| DEFAULT_CONTAINER.to_owned())));
    Some(ControllerConfig {
        region: raw.region,
        endpoint_url: endpoint_url?,
        cluster: cluster?,
        service: service?,
        container: container?,
    })
}

/// An optional string that, when given, is not blank.
fn optional(k: &mut Keys<'_>, key: &str, v: &Option<String>) -> Option<Option<String>> {
    match v {
        None => Some(None),
        Some(_) => k.non_empty(key, v).map(Some),
    }
}

/// `[policies.NAME]`, each read as `[scaling]` is, at its own key paths.
fn policies(
    raw: &[(String, Option<RawPolicy>)],
    templates: &Templates,
    p: &mut Problems,
) -> Option<BTreeMap<String, ScalingConfig>> {
    let mut out = BTreeMap::new();
    let mut all = true;
    for (name, r) in raw {
        let at = At::policy(name);
        let named = valid_name(name);
        if !named {
            let why = "a policy name must be 1-128 letters, digits, '-' or '_' (a service's tag names it)";
            p.push(at.scaling.clone(), why);
        }
        match r.as_ref().and_then(|r| scaling(&at, &r.scaling, templates, &r.schedule, p)) {
            Some(s) if named => {
                out.insert(name.clone(), s);
            }
            _ => all = false,
        }
    }
    all.then_some(out)
}

/// A policy name is a tag value and a part of key paths: no dots, quotes or spaces.
fn valid_name(n: &str) -> bool {
    (1..=128).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

/// Where a metric a controller cannot read is read from, and the key that says so (`source`,
/// or `scope` for an `ecs` metric of one task); `None` for a metric CloudWatch holds.
fn inside(source: SourceKind, task_scope: bool) -> Option<(&'static str, &'static str)> {
    match source {
        SourceKind::Cloudwatch => None,
        SourceKind::Ecs if !task_scope => None,
        SourceKind::Ecs => Some(("scope", "one task's metadata endpoint (scope = \"task\")")),
        SourceKind::Prometheus => Some(("source", "the app's Prometheus endpoint inside a task")),
        SourceKind::Host => Some(("source", "the host a task runs on")),
        SourceKind::Pools => Some(("source", "the pools of a sidecar's local API")),
    }
}

/// Why a controller cannot read the `[policies.NAME]` metric `name`, and the key to blame.
pub(super) fn unreadable(name: &str, source: SourceKind, task_scope: bool) -> Option<(&'static str, String)> {
    let (key, place) = inside(source, task_scope)?;
    let why = format!(
        "metric {name:?} reads {place}, but a controller runs outside the services' tasks and reads \
         CloudWatch only: use source = \"ecs\" (the service's CPU and memory in AWS/ECS) or source = \"cloudwatch\""
    );
    Some((key, why))
}

/// Why a controller cannot scale by the shipped template `t` as it is, if it cannot. Checked for
/// a `[[services]]` policy here, and for a tag in [`crate::config::fleet::policy_for`].
pub(in crate::config) fn unreadable_template(t: &ScalingConfig) -> Option<String> {
    let (m, place) = t.sources.iter().find_map(|m| {
        let task_scope = matches!(m.spec, SourceSpec::Ecs { scope: EcsScope::Task, .. });
        Some((m, inside(m.source, task_scope)?.1))
    })?;
    Some(format!(
        "template {:?} reads metric {:?} from {place}, but a controller reads CloudWatch only: use a \
         [policies.NAME] with template = {:?} and [[policies.NAME.metrics]] from source = \"ecs\" or \"cloudwatch\"",
        t.template, m.name, t.template
    ))
}

/// Every shipped template as a policy, so that a `[[services]]` entry or a tag may name one. The
/// templates are the binary's own and valid (the config tests load each), so a failure here is
/// a bug in trimtab, not in the user's file.
fn shipped(templates: &Templates) -> BTreeMap<String, ScalingConfig> {
    let read = |name: &str, raw| {
        let mut p = Problems::default();
        let s = scaling(&At::top(), raw, templates, &[], &mut p);
        s.unwrap_or_else(|| panic!("shipped template {name} is invalid: {:?}", p.into_inner()))
    };
    templates.iter().map(|(name, raw)| ((*name).to_owned(), read(name, raw))).collect()
}

/// `[[services]]`: each names a service and a policy a controller can read.
fn services(
    raw: &[Option<RawFleetService>],
    policies: &[&str],
    shipped: &BTreeMap<String, ScalingConfig>,
    p: &mut Problems,
) -> Option<Vec<FleetService>> {
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let mut k = Keys { path: format!("services[{i}]"), p: &mut *p };
        let Some(r) = r else {
            out.push(None);
            continue;
        };
        // Reported even when the entry has other problems.
        if let (Some(c), Some(n)) = (&r.cluster, &r.name)
            && let Some(first) = seen.insert((c, n), i)
        {
            k.problem("name", format!("duplicate service {c}/{n} (also services[{first}])"));
        }
        out.push(listed(&mut k, r, policies, shipped));
    }
    out.into_iter().collect()
}

fn listed(
    k: &mut Keys<'_>,
    r: &RawFleetService,
    policies: &[&str],
    shipped: &BTreeMap<String, ScalingConfig>,
) -> Option<FleetService> {
    let cluster = k.non_empty("cluster", &r.cluster).filter(|c| ecs_name(k, "cluster", c));
    let name = k.non_empty("name", &r.name).filter(|n| ecs_name(k, "name", n));
    let policy = k.non_empty("policy", &r.policy).filter(|n| match policy_problem(n, policies, shipped) {
        None => true,
        Some(why) => {
            k.problem_in("policy", 0, why);
            false
        }
    });
    Some(FleetService { cluster: cluster?, name: name?, policy: policy? })
}

/// What is wrong with a `[[services]]` policy name, if anything: it names a `[policies]` entry,
/// or a template a controller can read.
fn policy_problem(n: &str, policies: &[&str], shipped: &BTreeMap<String, ScalingConfig>) -> Option<String> {
    if policies.contains(&n) {
        return None;
    }
    let Some(t) = shipped.get(n) else {
        let names = crate::config::templates::names();
        let hint = crate::config::suggest::did_you_mean(n, policies.iter().chain(&names).copied());
        let policies = if policies.is_empty() { "none".to_owned() } else { policies.join(", ") };
        let templates = names.join(", ");
        return Some(format!("unknown policy {n:?}; {hint}[policies]: {policies}; templates: {templates}"));
    };
    unreadable_template(t)
}

fn discovery(raw: &RawDiscovery, p: &mut Problems) -> Option<Discovery> {
    let mut k = Keys { path: "discovery".into(), p };
    let clusters = clusters(&mut k, raw.clusters.as_deref());
    let tag = k.non_empty("tag", &Some(raw.tag.clone().unwrap_or_else(|| DEFAULT_DISCOVERY_TAG.to_owned())));
    let tag = tag.filter(|t| {
        let ok = t.chars().count() <= MAX_TAG_KEY;
        if !ok {
            let why = format!(
                "must be at most {MAX_TAG_KEY} characters (an AWS tag key), got {}",
                t.chars().count()
            );
            k.problem("tag", why);
        }
        ok
    });
    let (least, most) = DISCOVERY_INTERVAL;
    let interval =
        k.duration_between("interval", raw.interval.as_deref(), DEFAULT_DISCOVERY_INTERVAL, least, most);
    Some(Discovery { clusters: clusters?, tag: tag?, interval: interval? })
}

/// A cluster or service as a controller keys it: its name (1–255 of `A-Z a-z 0-9 - _`, as
/// ECS names them), never its ARN, so one service cannot be managed under two keys.
fn ecs_name_problem(v: &str) -> Option<String> {
    let ok =
        (1..=255).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match (ok, v.starts_with("arn:")) {
        (true, _) => None,
        (false, true) => Some(format!(
            "{v:?} is an ARN; write the name alone (the controller knows each service as cluster/name, once)"
        )),
        (false, false) => Some(format!("{v:?} is not an ECS name (1 to 255 letters, digits, - and _)")),
    }
}

/// Records `ecs_name_problem` at `key`; true when `v` is a name.
fn ecs_name(k: &mut Keys<'_>, key: &str, v: &str) -> bool {
    let problem = ecs_name_problem(v);
    if let Some(why) = &problem {
        k.problem(key, why.clone());
    }
    problem.is_none()
}

/// `discovery.clusters`: at least one, none blank, none twice, names not ARNs.
fn clusters(k: &mut Keys<'_>, raw: Option<&[String]>) -> Option<Vec<String>> {
    let Some(list) = raw else {
        k.problem("clusters", "missing required key (the clusters whose tagged services to adopt)");
        return None;
    };
    if list.is_empty() {
        k.problem("clusters", "must name at least one cluster");
        return None;
    }
    let mut ok = true;
    for (i, c) in list.iter().enumerate() {
        let why = if c.trim().is_empty() {
            "must not be empty".to_owned()
        } else if let Some(why) = ecs_name_problem(c) {
            why
        } else if list[..i].contains(c) {
            format!("duplicate cluster {c:?}")
        } else {
            continue;
        };
        k.problem(&format!("clusters[{i}]"), why);
        ok = false;
    }
    ok.then(|| list.to_vec())
}
