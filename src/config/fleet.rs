//! Placeholder until the config branch lands (same signature).

use super::model::{FleetConfig, ScalingConfig};
use crate::core::Bounds;

pub fn policy_for(
    fleet: &FleetConfig,
    name: &str,
    min: Option<&str>,
    max: Option<&str>,
) -> Result<ScalingConfig, String> {
    let mut s = fleet
        .policies
        .get(name)
        .or_else(|| fleet.templates.get(name))
        .cloned()
        .ok_or_else(|| format!("unknown policy {name:?}"))?;
    let n = |v: Option<&str>, d: u32| {
        v.map(|v| v.trim().parse::<u32>().map_err(|_| format!("{v:?}: not a whole number")))
            .transpose()
            .map(|x| x.unwrap_or(d))
    };
    let b = s.policy.bounds;
    s.policy.bounds = Bounds::new(n(min, b.min().get())?, n(max, b.max().get())?).ok_or("min > max")?;
    Ok(s)
}
