//! Controller mode at run time: the policy a service's tags ask for.
//!
//! A discovered service names its policy in the discovery tag (`trimtab:policy` unless
//! `discovery.tag` says otherwise): a `[policies]` name first, else a shipped template's. Any
//! service may set its bounds with `trimtab:min` and `trimtab:max`. Tags change while the
//! controller runs, so they are read here rather than when the config loads, by the rules the
//! config's own `[scaling]` is checked by (bounds, the way back from zero, schedule windows);
//! each refusal names the tag and its value. The controller leaves a service whose tags are
//! refused alone. Pure: the controller calls [`policy_for`] with the tags it read.

use super::model::{FleetConfig, ScalingConfig};
use super::validate::{CANNOT_LEAVE_ZERO, MAX_TASKS, can_leave_zero, conflict, unreadable_template};
use crate::core::Bounds;

/// The tag that sets a service's `min`.
pub const MIN_TAG: &str = "trimtab:min";
/// The tag that sets a service's `max`.
pub const MAX_TAG: &str = "trimtab:max";

/// The policy for a service whose policy tag says `name` and whose bound tags say `min` and
/// `max` (as written; `None`: no such tag), or why the tags cannot be used, e.g.
/// `tag trimtab:max = "lots": not a whole number`.
pub fn policy_for(
    fleet: &FleetConfig,
    name: &str,
    min: Option<&str>,
    max: Option<&str>,
) -> Result<ScalingConfig, String> {
    let mut s = lookup(fleet, name).map_err(|why| format!("tag {} = {name:?}: {why}", fleet.policy_tag()))?;
    let min = read(MIN_TAG, min)?;
    let max = read(MAX_TAG, max)?;
    s.policy.bounds = bounds(s.policy.bounds, min.as_ref(), max.as_ref())?;
    // The policy's own min = 0 was checked with the config: only a tag brings a service here.
    if s.policy.bounds.min().get() == 0 && !can_leave_zero(&s.policy, &s.sources) {
        return Err(format!("{}: {CANNOT_LEAVE_ZERO}", blame(min.as_ref(), None)));
    }
    for w in &s.policy.schedules {
        if let Some((_, why)) = conflict(s.policy.bounds, w.min, w.max, w.desired) {
            let who = blame(min.as_ref(), max.as_ref());
            return Err(format!("{who}: the policy's schedule window {:?}: {why}", w.name));
        }
    }
    Ok(s)
}

/// The policy `name` stands for, if a controller can scale by it. A `[policies]` entry was
/// checked with the config; a template is checked here, as only a tag can name one unchecked.
fn lookup(fleet: &FleetConfig, name: &str) -> Result<ScalingConfig, String> {
    if let Some(p) = fleet.policies.get(name) {
        return Ok(p.clone());
    }
    let Some(t) = fleet.templates.get(name) else {
        let list = |names: Vec<&String>| {
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        let (policies, templates) =
            (list(fleet.policies.keys().collect()), list(fleet.templates.keys().collect()));
        return Err(format!("no such policy; [policies]: {policies}; templates: {templates}"));
    };
    match unreadable_template(t) {
        Some(why) => Err(why),
        None => Ok(t.clone()),
    }
}

/// A bound tag as written, and its value.
struct Tag<'a> {
    key: &'static str,
    text: &'a str,
    value: u32,
}

impl Tag<'_> {
    fn said(&self) -> String {
        format!("{} = {:?}", self.key, self.text)
    }
}

/// The bound tag `key` written as `text`: a whole number from 0 to [`MAX_TASKS`].
fn read<'a>(key: &'static str, text: Option<&'a str>) -> Result<Option<Tag<'a>>, String> {
    let Some(text) = text else { return Ok(None) };
    let n: i64 = text.trim().parse().map_err(|_| format!("tag {key} = {text:?}: not a whole number"))?;
    let value = u32::try_from(n)
        .ok()
        .filter(|v| *v <= MAX_TASKS)
        .ok_or_else(|| format!("tag {key} = {text:?}: must be a whole number from 0 to {MAX_TASKS}"))?;
    Ok(Some(Tag { key, text, value }))
}

/// The policy's bounds with the tags' values in their place.
fn bounds(base: Bounds, min: Option<&Tag<'_>>, max: Option<&Tag<'_>>) -> Result<Bounds, String> {
    let lo = min.map_or(base.min().get(), |t| t.value);
    let hi = max.map_or(base.max().get(), |t| t.value);
    Bounds::new(lo, hi).ok_or_else(|| match (min, max) {
        (Some(_), None) => format!("{}: above the policy's max ({hi})", blame(min, max)),
        (None, Some(_)) => format!("{}: below the policy's min ({lo})", blame(min, max)),
        _ => format!("{}: min must not exceed max", blame(min, max)),
    })
}

/// The tags a refusal is about: `tag trimtab:min = "0"`, or both bound tags.
fn blame(min: Option<&Tag<'_>>, max: Option<&Tag<'_>>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("tags {} and {}", a.said(), b.said()),
        (Some(t), None) | (None, Some(t)) => format!("tag {}", t.said()),
        (None, None) => "the policy".to_owned(),
    }
}
