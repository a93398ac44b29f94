//! What one task costs per hour: the shipped price table, the user's overrides, and the rules of
//! each launch type (Fargate by requested vCPU and GB, Windows with its licence fee, Spot at a
//! discount, ephemeral storage above the free 20 GiB, EC2 by the 9:1 split of the instance).
//!
//! Prices are held exactly as integer pico-dollars per hour ([`Rate`]): every price in the table
//! is a decimal with at most 8 places, and every Fargate size divides evenly, so a task's rate is
//! exact and the ledger that multiplies it by time never rounds until it reports.
//!
//! The arithmetic saturates instead of wrapping: config bounds every price and count far below
//! the limits, and should an absurd value get through anyway the figure sticks at the largest
//! amount, never turning negative (a negative charge would silence every budget alert).

use std::fmt;

use serde::Serialize;

use crate::core::Money;

/// US dollars per hour, exactly, as integer pico-dollars (1e-12 USD); in JSON an exact decimal
/// string of dollars (`"0.04048"`, see [`crate::core::usd`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(i64);

/// Pico-dollars: twelve decimal places.
const RATE_PLACES: u32 = 12;

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::core::usd::format(self.0, RATE_PLACES))
    }
}

impl<'de> serde::Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::core::usd::deserialize(d, RATE_PLACES).map(Rate)
    }
}

const PICO_PER_USD: i64 = 1_000_000_000_000;
const PICO_PER_MICRO: i64 = 1_000_000;

impl Rate {
    pub const ZERO: Rate = Rate(0);

    pub fn pico(self) -> i64 {
        self.0
    }

    /// A decimal dollar amount written out ("0.04048"), parsed without floats; `None` for
    /// anything else or more than 12 decimal places.
    pub fn parse_usd(s: &str) -> Option<Rate> {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || frac.len() > 12
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let frac_pico: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<12}").parse().ok()? };
        whole.checked_mul(PICO_PER_USD)?.checked_add(frac_pico).map(Rate)
    }

    /// Dollars given as a float (from config), rounded to the pico-dollar.
    pub fn from_usd(usd: f64) -> Option<Rate> {
        let p = (usd * PICO_PER_USD as f64).round();
        (usd.is_finite() && usd >= 0.0 && p < 9.0e18).then_some(Rate(p as i64))
    }

    /// `self × num / den`, rounded half up.
    pub fn scale(self, num: i64, den: i64) -> Rate {
        Rate(clamp_i64(div_round(i128::from(self.0) * i128::from(num), i128::from(den))))
    }

    pub fn times(self, n: u32) -> Rate {
        Rate(self.0.saturating_mul(i64::from(n)))
    }

    pub fn plus(self, o: Rate) -> Rate {
        Rate(self.0.saturating_add(o.0))
    }

    pub fn minus(self, o: Rate) -> Rate {
        Rate(self.0.saturating_sub(o.0))
    }

    /// The money this rate costs over `hours` hours, to the micro-dollar.
    pub fn over_hours(self, hours: u32) -> Money {
        Money::from_micros(clamp_i64(div_round(
            i128::from(self.0) * i128::from(hours),
            i128::from(PICO_PER_MICRO),
        )))
    }

    pub fn as_usd(self) -> f64 {
        self.0 as f64 / PICO_PER_USD as f64
    }
}

/// An `i128` result held in an `i64`, saturating at either end.
pub(crate) fn clamp_i64(x: i128) -> i64 {
    i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
}

/// Integer division rounding half away from zero.
pub(crate) fn div_round(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d.abs() { q + n.signum() * d.signum() } else { q }
}

/// Dollars with every significant decimal (at most 12): `$0.024685`.
impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / PICO_PER_USD as u64;
        let frac = format!("{:012}", abs % PICO_PER_USD as u64);
        let frac = frac.trim_end_matches('0');
        let frac = if frac.len() < 2 { format!("{frac:0<2}") } else { frac.to_owned() };
        write!(f, "{sign}${whole}.{frac}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Windows,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Launch {
    Fargate,
    FargateSpot,
    Ec2,
}

impl Launch {
    pub const NAMES: &'static [&'static str] = &["fargate", "fargate-spot", "ec2"];

    pub fn is_fargate(self) -> bool {
        matches!(self, Launch::Fargate | Launch::FargateSpot)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Arch {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

/// How prices and messages name them: `Fargate Spot`, `Linux`, `ARM`.
impl fmt::Display for Launch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Launch::Fargate => "Fargate",
            Launch::FargateSpot => "Fargate Spot",
            Launch::Ec2 => "EC2",
        })
    }
}

impl fmt::Display for Os {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Os::Linux => "Linux",
            Os::Windows => "Windows",
        })
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86",
            Arch::Arm64 => "ARM",
        })
    }
}

/// What picks a price sheet: how the tasks are launched and on what platform (the size only
/// multiplies the sheet's prices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    pub launch: Launch,
    pub arch: Arch,
    pub os: Os,
    /// Ephemeral storage GiB: above the included 20, storage has a price of its own.
    pub storage_gib: u32,
}

impl TaskShape {
    pub fn platform(&self) -> Platform {
        Platform { launch: self.launch, arch: self.arch, os: self.os, storage_gib: self.storage_gib }
    }
}

/// What is being priced: one task of the service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskShape {
    pub launch: Launch,
    pub arch: Arch,
    pub os: Os,
    /// Task CPU units (1024 = 1 vCPU) and memory MiB: what Fargate bills, and the reservation
    /// the EC2 split uses.
    pub cpu: u32,
    pub memory: u32,
    /// Ephemeral storage GiB (Fargate includes 20).
    pub storage_gib: u32,
}

/// Fargate prices per hour for one region and platform.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FargatePrices {
    #[serde(rename = "vcpu_hour_usd")]
    pub vcpu_hour: Rate,
    #[serde(rename = "gb_hour_usd")]
    pub gb_hour: Rate,
    /// Windows' OS licence fee per vCPU-hour (zero on Linux).
    #[serde(rename = "licence_vcpu_hour_usd")]
    pub licence_vcpu_hour: Rate,
    /// Ephemeral storage above the included 20 GiB, per GB-hour.
    #[serde(rename = "storage_gb_hour_usd")]
    pub storage_gb_hour: Rate,
    /// Fargate Spot: what is taken off on-demand, in parts per million (700_000 = 70%).
    pub spot_discount_ppm: i64,
}

/// An EC2 instance the tasks share: its price and what it offers the tasks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Instance {
    pub name: String,
    #[serde(rename = "hourly_usd")]
    pub hourly: Rate,
    pub vcpus: u32,
    pub memory_gib: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Prices {
    Fargate(FargatePrices),
    Ec2(Instance),
}

/// Where each price came from, for `trimtab cost` and `/status`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceSheet {
    pub prices: Prices,
    pub region: String,
    /// e.g. "shipped table (AWS price list 2025-08, us-east-1)"; "config" parts named.
    pub source: String,
    /// Set when a price is an estimate (Spot's floating discount).
    pub caveat: Option<String>,
}

/// One task's hourly cost, split into what makes it up.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TaskRate {
    #[serde(rename = "total_usd")]
    pub total: Rate,
    #[serde(rename = "cpu_usd")]
    pub cpu: Rate,
    #[serde(rename = "memory_usd")]
    pub memory: Rate,
    #[serde(rename = "licence_usd")]
    pub licence: Rate,
    #[serde(rename = "storage_usd")]
    pub storage: Rate,
    /// Taken off by Spot (already subtracted from `total`; zero otherwise).
    #[serde(rename = "spot_saving_usd")]
    pub spot_saving: Rate,
}

/// Fargate includes this much ephemeral storage per task.
pub const FREE_STORAGE_GIB: u32 = 20;

/// Used resources above the reservation (EC2 bills `max(used, reserved)`), in the same units as
/// [`TaskShape`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Used {
    pub cpu: u32,
    pub memory: u32,
}

impl PriceSheet {
    /// One task's hourly rate. `used` matters only on EC2, where a task is charged for the larger
    /// of what it reserved and what it used.
    pub fn task_rate(&self, t: &TaskShape, used: Used) -> TaskRate {
        match &self.prices {
            Prices::Fargate(p) => fargate_rate(p, t),
            Prices::Ec2(i) => ec2_rate(i, t.cpu.max(used.cpu), t.memory.max(used.memory)),
        }
    }
}

fn fargate_rate(p: &FargatePrices, t: &TaskShape) -> TaskRate {
    let cpu = p.vcpu_hour.scale(i64::from(t.cpu), 1024);
    let memory = p.gb_hour.scale(i64::from(t.memory), 1024);
    let licence = p.licence_vcpu_hour.scale(i64::from(t.cpu), 1024);
    let storage = p.storage_gb_hour.times(t.storage_gib.saturating_sub(FREE_STORAGE_GIB));
    let on_demand = cpu.plus(memory).plus(licence).plus(storage);
    let spot_saving = match t.launch {
        Launch::FargateSpot => on_demand.scale(p.spot_discount_ppm, 1_000_000),
        _ => Rate::ZERO,
    };
    TaskRate { total: on_demand.minus(spot_saving), cpu, memory, licence, storage, spot_saving }
}

/// AWS split cost allocation: the instance's hourly cost in units where a vCPU-hour weighs 9
/// and a GB-hour 1, `unit = hourly / (GB + 9 × vCPU)` of the instance; a task costs
/// `unit × (9 × its vCPU + its GB)`.
fn ec2_rate(i: &Instance, cpu_units: u32, memory_mib: u32) -> TaskRate {
    let den = 1024 * (i64::from(i.memory_gib) + 9 * i64::from(i.vcpus));
    let total = i.hourly.scale(9 * i64::from(cpu_units) + i64::from(memory_mib), den);
    let cpu = i.hourly.scale(9 * i64::from(cpu_units), den);
    TaskRate { total, cpu, memory: total.minus(cpu), ..TaskRate::default() }
}

/// `(region, vCPU-hour, GB-hour)` for Fargate Linux/x86 on demand, 22 regions.
const LINUX_X86_CSV: &str = include_str!("../../../data/pricing/fargate_linux_x86_ondemand.csv");

/// Fargate prices known beyond the Linux/x86 table: `(region, arch, os, vCPU-hour, GB-hour,
/// licence per vCPU-hour)`. AWS price list offer file 2025-08-28; see data/pricing/SOURCES.md.
const OTHER_PLATFORMS: &[(&str, Arch, Os, &str, &str, &str)] = &[
    ("us-east-1", Arch::Arm64, Os::Linux, "0.03238", "0.00356", "0"),
    ("sa-east-1", Arch::Arm64, Os::Linux, "0.0557", "0.00612", "0"),
    ("us-east-1", Arch::X86_64, Os::Windows, "0.046552", "0.00511175", "0.046"),
];

/// Ephemeral storage above 20 GiB per GB-hour; known for us-east-1.
const STORAGE: &[(&str, &str)] = &[("us-east-1", "0.000111")];

/// EC2 on-demand, us-east-1, 2026-07: `(type, hourly, vCPUs, GiB)`.
pub const INSTANCES: &[(&str, &str, u32, u32)] = &[
    ("m6i.large", "0.096", 2, 8),
    ("m7g.large", "0.0816", 2, 8),
    ("c6i.large", "0.085", 2, 4),
    ("t3.medium", "0.0416", 2, 4),
    ("c7g.large", "0.0725", 2, 4),
    ("m6g.large", "0.077", 2, 8),
    ("t4g.medium", "0.0336", 2, 4),
];

/// Spot's discount when the user gives none: the low end of the observed 61–70%, so a budget
/// estimate errs on the expensive side.
pub const DEFAULT_SPOT_DISCOUNT_PPM: i64 = 610_000;

/// The shipped Fargate price for `(region, arch, os)`: `(vCPU-hour, GB-hour, licence)`.
pub fn shipped_fargate(region: &str, arch: Arch, os: Os) -> Option<(Rate, Rate, Rate)> {
    if (arch, os) == (Arch::X86_64, Os::Linux) {
        return LINUX_X86_CSV.lines().skip(1).find_map(|line| {
            let mut f = line.split(',');
            (f.next()? == region).then_some(())?;
            Some((Rate::parse_usd(f.next()?)?, Rate::parse_usd(f.next()?.trim())?, Rate::ZERO))
        });
    }
    OTHER_PLATFORMS
        .iter()
        .find(|r| (r.0, r.1, r.2) == (region, arch, os))
        .and_then(|r| Some((Rate::parse_usd(r.3)?, Rate::parse_usd(r.4)?, Rate::parse_usd(r.5)?)))
}

pub fn shipped_storage(region: &str) -> Option<Rate> {
    STORAGE.iter().find(|r| r.0 == region).and_then(|r| Rate::parse_usd(r.1))
}

/// The shipped Linux/x86 regions, for messages.
pub fn shipped_regions() -> Vec<&'static str> {
    LINUX_X86_CSV.lines().skip(1).filter_map(|l| l.split(',').next()).collect()
}

pub fn shipped_instance(name: &str) -> Option<Instance> {
    INSTANCES.iter().find(|i| i.0 == name).map(|i| Instance {
        name: i.0.to_owned(),
        hourly: Rate::parse_usd(i.1).unwrap_or_default(),
        vcpus: i.2,
        memory_gib: i.3,
    })
}

/// A price sheet from the shipped table with 70% off for Spot, for tests across the core.
#[cfg(test)]
pub(crate) fn test_sheet(region: &str, arch: Arch, os: Os) -> PriceSheet {
    let (vcpu_hour, gb_hour, licence_vcpu_hour) = shipped_fargate(region, arch, os).unwrap();
    PriceSheet {
        prices: Prices::Fargate(FargatePrices {
            vcpu_hour,
            gb_hour,
            licence_vcpu_hour,
            storage_gb_hour: shipped_storage(region).unwrap_or_default(),
            spot_discount_ppm: 700_000,
        }),
        region: region.into(),
        source: "test".into(),
        caveat: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(region: &str, arch: Arch, os: Os) -> PriceSheet {
        test_sheet(region, arch, os)
    }

    fn shape(launch: Launch, arch: Arch, os: Os, cpu: u32, memory: u32) -> TaskShape {
        TaskShape { launch, arch, os, cpu, memory, storage_gib: 20 }
    }

    #[test]
    fn decimal_prices_parse_exactly() {
        assert_eq!(Rate::parse_usd("0.04048"), Some(Rate(40_480_000_000)));
        assert_eq!(Rate::parse_usd("0.00511175"), Some(Rate(5_111_750_000)));
        assert_eq!(Rate::parse_usd("12"), Some(Rate(12 * PICO_PER_USD)));
        for bad in ["", ".", "1,5", "-1", "0.1234567890123", "1e3"] {
            assert_eq!(Rate::parse_usd(bad), None, "{bad}");
        }
        assert_eq!(Rate::from_usd(0.04048), Some(Rate(40_480_000_000)));
        assert_eq!(Rate(24_685_000_000).to_string(), "$0.024685");
        assert_eq!(Rate(2 * PICO_PER_USD).to_string(), "$2.00");
    }

    #[test]
    fn foundation_example_costs_what_the_price_list_says() {
        // us-east-1, Fargate x86, 512 CPU / 1024 MiB: 0.5 × 0.04048 + 1 × 0.004445.
        let s = sheet("us-east-1", Arch::X86_64, Os::Linux);
        let r = s.task_rate(&shape(Launch::Fargate, Arch::X86_64, Os::Linux, 512, 1024), Used::default());
        assert_eq!(r.total, Rate::parse_usd("0.024685").unwrap());
        assert_eq!(r.total.times(4), Rate::parse_usd("0.09874").unwrap());
        assert_eq!(r.total.times(4).over_hours(730), Money::from_micros(72_080_200));
    }

    #[test]
    fn arm_windows_spot_and_storage_follow_the_table() {
        let arm = sheet("us-east-1", Arch::Arm64, Os::Linux);
        let t = shape(Launch::Fargate, Arch::Arm64, Os::Linux, 1024, 2048);
        // 1 × 0.03238 + 2 × 0.00356
        assert_eq!(arm.task_rate(&t, Used::default()).total, Rate::parse_usd("0.03950").unwrap());

        let win = sheet("us-east-1", Arch::X86_64, Os::Windows);
        let t = shape(Launch::Fargate, Arch::X86_64, Os::Windows, 1024, 2048);
        let r = win.task_rate(&t, Used::default());
        // 1 × (0.046552 + 0.046 licence) + 2 × 0.00511175
        assert_eq!(r.licence, Rate::parse_usd("0.046").unwrap());
        assert_eq!(r.total, Rate::parse_usd("0.1027755").unwrap());

        let x86 = sheet("us-east-1", Arch::X86_64, Os::Linux);
        let spot = shape(Launch::FargateSpot, Arch::X86_64, Os::Linux, 512, 1024);
        let r = x86.task_rate(&spot, Used::default());
        // 70% off 0.024685
        assert_eq!((r.total, r.spot_saving), (Rate(7_405_500_000), Rate(17_279_500_000)));

        let mut big_disk = shape(Launch::Fargate, Arch::X86_64, Os::Linux, 512, 1024);
        big_disk.storage_gib = 50;
        let r = x86.task_rate(&big_disk, Used::default());
        assert_eq!(r.storage, Rate::parse_usd("0.00333").unwrap()); // 30 GiB × 0.000111
        assert_eq!(r.total, Rate::parse_usd("0.028015").unwrap());
    }

    #[test]
    fn regions_come_from_the_shipped_table() {
        assert_eq!(shipped_regions().len(), 22);
        let (vcpu, gb, _) = shipped_fargate("eu-central-1", Arch::X86_64, Os::Linux).unwrap();
        assert_eq!((vcpu, gb), (Rate::parse_usd("0.04656").unwrap(), Rate::parse_usd("0.00511").unwrap()));
        assert!(shipped_fargate("eu-central-1", Arch::Arm64, Os::Linux).is_none());
        assert!(shipped_fargate("mars-north-1", Arch::X86_64, Os::Linux).is_none());
    }

    #[test]
    fn ec2_splits_the_instance_nine_to_one_on_the_larger_of_used_and_reserved() {
        // m6i.large: 0.096 per hour, 2 vCPU, 8 GiB → unit = 0.096 / (8 + 9 × 2) = 0.096 / 26.
        let s = PriceSheet {
            prices: Prices::Ec2(shipped_instance("m6i.large").unwrap()),
            region: "us-east-1".into(),
            source: "test".into(),
            caveat: None,
        };
        let t = shape(Launch::Ec2, Arch::X86_64, Os::Linux, 1024, 2048);
        // (9 × 1 + 2) units = 11/26 of the instance.
        let r = s.task_rate(&t, Used::default());
        assert_eq!(r.total, Rate::parse_usd("0.096").unwrap().scale(11, 26));
        assert_eq!(r.cpu, Rate::parse_usd("0.096").unwrap().scale(9, 26));
        // A task using 1.5 vCPU of its 1 reserved is charged for 1.5.
        let r = s.task_rate(&t, Used { cpu: 1536, memory: 1024 });
        assert_eq!(r.total, Rate::parse_usd("0.096").unwrap().scale(31, 52)); // (13.5 + 2) / 26
        // The whole instance, split between tasks that fill it, sums to its price.
        let whole = shape(Launch::Ec2, Arch::X86_64, Os::Linux, 2048, 8192);
        assert_eq!(s.task_rate(&whole, Used::default()).total, Rate::parse_usd("0.096").unwrap());
    }
}
