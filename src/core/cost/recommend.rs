//! How much of what the service pays for it uses, and what would cost less: efficiency and four
//! kinds of recommendation, each with what it would save a month.
//!
//! **Efficiency** is OpenCost's: CPU and memory efficiency are the mean use over the reservation,
//! clamped to [0, 1], and the overall figure weighs each by what it costs (on Fargate a vCPU costs
//! about nine times a GB, so idle CPU weighs more than idle memory; licence and storage are not
//! resources that idle). The idle cost is the part of the hourly bill that pays for reserved but
//! unused CPU and memory, at the mean running count.
//!
//! **Recommendations** are each measured against the current set-up, so they do not add up: Spot
//! applies to either architecture (arm64 on FARGATE_SPOT since 2024-09; not to Windows), and a
//! smaller task shrinks every other saving. A month is 730 hours (AWS's convention; 30.42 days for a daily window).
//! - *right-size* (Fargate): what [`crate::core::rightsize`] recommends (the Kubernetes VPA's
//!   method over decaying histograms of the task's use), when it is a downsize; its reasons are
//!   the detail.
//! - *arm*: the same task on Graviton, when an arm64 price is known for the region.
//! - *spot*: the same task on Fargate Spot at the price sheet's discount; firm only when the service
//!   is declared interruption tolerant, dropped when it is declared not to be.
//! - *schedule*: a service with no schedule that sits at its `min` for four or more hours every day
//!   (the min, not the load, sets the count there) could lower the min in those hours.
//!
//! Samples that are not finite are ignored throughout.

use std::cmp::Reverse;

use serde::Serialize;

use super::pricing::{Arch, Launch, Os, PriceSheet, Rate, TaskRate, TaskShape, Used};
use crate::core::Money;
use crate::core::rightsize::Sizing;

const MONTH_HOURS: u32 = 730;
/// Days in a month for a daily window, in hundredths (365 / 12).
const MONTH_DAYS_CENTI: i64 = 3042;
const MIN_SCHEDULE_HOURS: f64 = 72.0;
/// Hours of the day that must have been observed before the daily shape is trusted.
const MIN_HOURS_SEEN: usize = 20;
const MIN_QUIET_RUN: usize = 4;
/// How close to `min` an hour's mean count must be for the service to count as pinned there.
const PINNED_WITHIN: f64 = 0.5;
const UNLESS_TOLERANT: &str =
    "; only if the service tolerates interruptions (2-minute warning); set cost.interruption_tolerant";

/// What was observed of the service over some span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// CPU use in % of the task's reserved CPU (may exceed 100 on EC2), one sample per tick.
    pub cpu_pct: Vec<f64>,
    /// Memory use in % of the task's memory, one sample per tick.
    pub memory_pct: Vec<f64>,
    /// Mean running task count per hour of the day (in the budget's time zone); `None` when that
    /// hour was never observed.
    pub hourly_tasks: [Option<f64>; 24],
    /// Time-weighted mean running count over the span.
    pub mean_tasks: f64,
    /// How long the span is, in hours.
    pub observed_hours: f64,
}

/// The service as it runs now, its prices, and what was observed of it.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub shape: &'a TaskShape,
    pub rate: &'a TaskRate,
    /// Current prices, to price a changed task.
    pub sheet: &'a PriceSheet,
    /// The same region's arm64 prices, when known.
    pub arm: Option<&'a PriceSheet>,
    pub usage: &'a Usage,
    /// The policy's min, which a schedule window may lower off-hours.
    pub min_tasks: u32,
    pub has_schedules: bool,
    pub interruption_tolerant: Option<bool>,
    /// The right-sizer's latest result, when it has one.
    pub sizing: Option<&'a Sizing>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Efficiency {
    /// Mean CPU use over the reservation, 0..=1; `None` without samples.
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    /// CPU and memory efficiency weighted by what each costs.
    pub overall: Option<f64>,
    /// What the unused reservation costs per hour at the mean running count.
    #[serde(rename = "idle_cost_per_hour_usd")]
    pub idle_cost_per_hour: Rate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    RightSize,
    Arm,
    Spot,
    Schedule,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recommendation {
    pub kind: Kind,
    pub title: String,
    /// The evidence and what to do, in a sentence or two (a config snippet for a schedule).
    pub detail: String,
    #[serde(rename = "monthly_saving_usd")]
    pub monthly_saving: Money,
    pub confidence: Confidence,
}

pub fn efficiency(ctx: &Context) -> Efficiency {
    let (cpu, memory) = (utilisation(&ctx.usage.cpu_pct), utilisation(&ctx.usage.memory_pct));
    let (rc, rm) = (ctx.rate.cpu, ctx.rate.memory);
    let weight = rc.plus(rm).as_usd();
    let overall = match (cpu, memory) {
        (Some(c), Some(m)) if weight > 0.0 => Some((rc.as_usd() * c + rm.as_usd() * m) / weight),
        _ => None,
    };
    // A resource whose use is unknown counts as fully used, so the idle cost is never overstated.
    let idle = |r: Rate, used: Option<f64>| r.scale(ppm(1.0 - used.unwrap_or(1.0)), 1_000_000);
    let per_task = idle(rc, cpu).plus(idle(rm, memory));
    Efficiency { cpu, memory, overall, idle_cost_per_hour: per_task.scale(milli(ctx.usage.mean_tasks), 1000) }
}

/// The recommendations that save money, largest saving first.
pub fn recommend(ctx: &Context) -> Vec<Recommendation> {
    let mut out: Vec<_> = [right_size(ctx), arm(ctx), spot(ctx), schedule(ctx)]
        .into_iter()
        .flatten()
        .filter(|r| r.monthly_saving > Money::ZERO)
        .collect();
    out.sort_by_key(|r| Reverse(r.monthly_saving));
    out
}

/// A recommended downsize, saving the rate difference at the mean running count.
fn right_size(ctx: &Context) -> Option<Recommendation> {
    let z = ctx.sizing.filter(|z| z.recommended && ctx.shape.launch.is_fargate())?;
    let title = format!("right-size tasks to {}", z.target);
    let detail = z.reasons.join("; ");
    let monthly_saving = saving_over(ctx, z.target_rate);
    Some(Recommendation { kind: Kind::RightSize, title, detail, monthly_saving, confidence: z.confidence })
}

fn arm(ctx: &Context) -> Option<Recommendation> {
    let s = ctx.shape;
    if !(s.launch.is_fargate() && s.arch == Arch::X86_64 && s.os == Os::Linux) {
        return None;
    }
    let rate = ctx.arm?.task_rate(&TaskShape { arch: Arch::Arm64, ..s.clone() }, Used::default()).total;
    let detail = format!(
        "the same {} CPU / {} MiB task costs {rate}/task-hour on arm64 instead of {}; every image must be \
         built for arm64 (a multi-arch image)",
        s.cpu, s.memory, ctx.rate.total
    );
    let (title, monthly_saving) = ("run tasks on arm64 (Graviton)".into(), saving_over(ctx, rate));
    Some(Recommendation { kind: Kind::Arm, title, detail, monthly_saving, confidence: Confidence::Medium })
}

fn spot(ctx: &Context) -> Option<Recommendation> {
    let s = ctx.shape;
    // Spot runs Linux tasks (x86_64 and arm64); a service declared intolerant of interruptions
    // is left alone.
    if (s.launch, s.os) != (Launch::Fargate, Os::Linux) || ctx.interruption_tolerant == Some(false) {
        return None;
    }
    let rate = ctx.sheet.task_rate(&TaskShape { launch: Launch::FargateSpot, ..s.clone() }, Used::default());
    let (confidence, unless) = match ctx.interruption_tolerant {
        Some(true) => (Confidence::High, ""),
        _ => (Confidence::Low, UNLESS_TOLERANT),
    };
    let off = match &ctx.sheet.prices {
        crate::core::cost::pricing::Prices::Fargate(f) => f.spot_discount_ppm as f64 / 1e4,
        crate::core::cost::pricing::Prices::Ec2(_) => 0.0,
    };
    let caveat = format!(" ({off}% off on-demand; the Spot price floats, set cost.spot_discount)");
    let detail =
        format!("Fargate Spot costs {}/task-hour{caveat} instead of {}{unless}", rate.total, ctx.rate.total);
    let (title, monthly_saving) = ("run tasks on Fargate Spot".into(), saving_over(ctx, rate.total));
    Some(Recommendation { kind: Kind::Spot, title, detail, monthly_saving, confidence })
}

fn schedule(ctx: &Context) -> Option<Recommendation> {
    let (u, min) = (ctx.usage, ctx.min_tasks);
    let hourly = u.hourly_tasks.map(|h| h.filter(|m| m.is_finite()));
    let seen: Vec<f64> = hourly.iter().flatten().copied().collect();
    if ctx.has_schedules || min <= 1 || u.observed_hours < MIN_SCHEDULE_HOURS || seen.len() < MIN_HOURS_SEEN {
        return None;
    }
    let floor = f64::from(min);
    // At min around the clock, the min is the policy's floor rather than a pattern of the day.
    if !seen.iter().any(|&m| m > floor + PINNED_WITHIN) {
        return None;
    }
    let pinned = hourly.map(|h| h.is_some_and(|m| (m - floor).abs() <= PINNED_WITHIN));
    let (start, hours) = longest_run(&pinned).filter(|&(_, len)| len >= MIN_QUIET_RUN)?;
    let new_min = min.div_ceil(2).max(1);
    let end = (start + hours) % 24;
    let (low, peak) = seen.iter().fold((f64::INFINITY, 0.0_f64), |(l, p), &m| (l.min(m), p.max(m)));
    let clock = if peak >= 2.0 * low {
        format!(" Load follows the clock: hourly means run from {low:.1} to {peak:.1} tasks.")
    } else {
        String::new()
    };
    let detail = format!(
        "from {start:02}:00 to {end:02}:00 the service ran at its min of {min} (every hourly mean within \
         0.5 of it); a lower min there lets it run as few as {new_min}.{clock} The hours are in the \
         budget's time zone: set the window's `timezone` to it.\n\n[[schedule]]\nname = \"off-hours\"\n\
         cron = \"0 {start} * * *\"\nduration = \"{hours}h\"\nmin = {new_min}\n"
    );
    let title =
        format!("lower min to {new_min} from {start:02}:00 to {end:02}:00 with a [[schedule]] window");
    // The most it can save: the whole window at the new min, every day.
    let per_window_hour = ctx.rate.total.scale(i64::from(min - new_min) * MONTH_DAYS_CENTI, 100);
    let monthly_saving = per_window_hour.over_hours(hours as u32);
    Some(Recommendation {
        kind: Kind::Schedule,
        title,
        detail,
        monthly_saving,
        confidence: Confidence::Medium,
    })
}

/// The longest run of `true` hours, wrapping past midnight, as `(first hour, length)`, the earliest
/// on a tie; `None` when no hour, or every hour, is `true`.
fn longest_run(hours: &[bool; 24]) -> Option<(usize, usize)> {
    (0..24)
        .filter(|&h| hours[h] && !hours[(h + 23) % 24])
        .map(|h| (h, (0..24).take_while(|i| hours[(h + i) % 24]).count()))
        .max_by_key(|&(h, len)| (len, Reverse(h)))
}

/// A month of the current task rate less `rate`, at the mean running count.
fn saving_over(ctx: &Context, rate: Rate) -> Money {
    monthly(ctx.rate.total.minus(rate), ctx.usage.mean_tasks)
}

/// What `per_task_hour` comes to in a month at `tasks` mean running tasks.
fn monthly(per_task_hour: Rate, tasks: f64) -> Money {
    per_task_hour.scale(milli(tasks), 1000).over_hours(MONTH_HOURS)
}

fn finite(xs: &[f64]) -> Vec<f64> {
    xs.iter().copied().filter(|x| x.is_finite()).collect()
}

/// Mean use over the reservation, clamped to [0, 1].
fn utilisation(pct: &[f64]) -> Option<f64> {
    let v = finite(pct);
    (!v.is_empty()).then(|| (v.iter().sum::<f64>() / v.len() as f64 / 100.0).clamp(0.0, 1.0))
}

/// A fraction in [0, 1] as parts per million.
fn ppm(x: f64) -> i64 {
    (x.clamp(0.0, 1.0) * 1e6).round() as i64
}

/// A non-negative count in thousandths (anything else counts as zero).
fn milli(x: f64) -> i64 {
    if x.is_finite() && x > 0.0 { (x * 1000.0).round() as i64 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(arch: Arch) -> PriceSheet {
        crate::core::cost::pricing::test_sheet("us-east-1", arch, Os::Linux)
    }

    fn shape(cpu: u32, memory: u32) -> TaskShape {
        TaskShape { launch: Launch::Fargate, arch: Arch::X86_64, os: Os::Linux, cpu, memory, storage_gib: 20 }
    }

    /// A week of 5-minute samples at `cpu` and `memory`% with `mean_tasks`.
    fn steady(cpu: f64, memory: f64, mean_tasks: f64) -> Usage {
        Usage {
            cpu_pct: vec![cpu; 2016],
            memory_pct: vec![memory; 2016],
            mean_tasks,
            observed_hours: 168.0,
            ..Usage::default()
        }
    }

    /// Runs `f` on a us-east-1 context (x86 sheet, arm64 known, min 1, nothing declared).
    fn with<T>(shape: TaskShape, usage: Usage, f: impl FnOnce(&mut Context) -> T) -> T {
        with_sizing(shape, usage, None, f)
    }

    /// Runs `f` on a us-east-1 context (x86 sheet, arm64 known, min 1, nothing declared) with the
    /// right-sizer's `sizing`.
    fn with_sizing<T>(
        shape: TaskShape,
        usage: Usage,
        sizing: Option<&Sizing>,
        f: impl FnOnce(&mut Context) -> T,
    ) -> T {
        let (x86, arm) = (sheet(Arch::X86_64), sheet(Arch::Arm64));
        let rate = x86.task_rate(&shape, Used::default());
        let mut ctx = Context {
            shape: &shape,
            rate: &rate,
            sheet: &x86,
            arm: Some(&arm),
            usage: &usage,
            min_tasks: 1,
            has_schedules: false,
            interruption_tolerant: None,
            sizing,
        };
        f(&mut ctx)
    }

    /// The recommendations with the right-sizer's `sizing`.
    fn sized(shape: TaskShape, usage: Usage, sizing: &Sizing) -> Vec<Recommendation> {
        with_sizing(shape, usage, Some(sizing), |c| recommend(c))
    }

    fn find(recs: &[Recommendation], kind: Kind) -> Option<&Recommendation> {
        recs.iter().find(|r| r.kind == kind)
    }

    fn usd(s: &str) -> Rate {
        Rate::parse_usd(s).unwrap()
    }

    #[test]
    fn efficiency_weighs_cpu_and_memory_by_cost() {
        // 512/1024 in us-east-1: CPU 0.02024 of the 0.024685 an hour, memory 0.004445.
        let usage = Usage {
            cpu_pct: vec![40.0, f64::NAN, 60.0],
            memory_pct: vec![110.0, 130.0],
            mean_tasks: 2.0,
            ..Usage::default()
        };
        let e = with(shape(512, 1024), usage.clone(), |c| efficiency(c));
        assert_eq!((e.cpu, e.memory), (Some(0.5), Some(1.0)));
        let cpu_share = 0.02024 / 0.024685;
        assert!((e.overall.unwrap() - (1.0 - 0.5 * cpu_share)).abs() < 1e-12, "{:?}", e.overall);
        // Half the CPU idle, × 2 tasks.
        assert_eq!(e.idle_cost_per_hour, usd("0.02024"));

        let no_memory = Usage { memory_pct: vec![], ..usage };
        let e = with(shape(512, 1024), no_memory, |c| efficiency(c));
        assert_eq!((e.memory, e.overall, e.idle_cost_per_hour), (None, None, usd("0.02024")));
    }

    /// A week of samples every 5 minutes at `cpu` units and `memory` MiB, sized for `shape`.
    fn sizing(shape: &TaskShape, cpu: f64, memory: f64) -> Option<Sizing> {
        use crate::core::rightsize::{Estimator, Params, PriceCtx, Size, recommend};
        let start =
            chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let mut est = Estimator::new();
        for i in 0..2016 {
            let at = start + chrono::TimeDelta::minutes(5 * i);
            est.add_cpu(at, cpu);
            est.add_memory(at, memory);
        }
        let now = start + chrono::TimeDelta::days(7);
        let sheet = sheet(Arch::X86_64);
        let ctx = PriceCtx { shape, sheet: &sheet };
        recommend(&est, Size { cpu: shape.cpu, memory: shape.memory }, &ctx, &Params::default(), now)
    }

    #[test]
    fn a_recommended_downsize_saves_the_rate_difference_at_the_mean_count() {
        let s = shape(1024, 2048);
        let z = sizing(&s, 200.0, 600.0).unwrap();
        assert!(z.recommended, "{:?}", z.reasons);
        let recs = sized(s.clone(), steady(20.0, 30.0, 3.0), &z);
        let r = find(&recs, Kind::RightSize).unwrap();
        assert_eq!(r.title, format!("right-size tasks to {}", z.target));
        assert_eq!((r.confidence, r.detail.clone()), (z.confidence, z.reasons.join("; ")));
        // (current − target rate) × 3 tasks × 730 h
        let per_task = sheet(Arch::X86_64).task_rate(&s, Used::default()).total.minus(z.target_rate);
        assert_eq!(r.monthly_saving, per_task.scale(3000, 1000).over_hours(730));
        assert!(recs.windows(2).all(|w| w[0].monthly_saving >= w[1].monthly_saving));
        assert_eq!(serde_json::to_value(r.kind).unwrap(), "right-size");
    }

    #[test]
    fn no_right_size_without_a_recommended_sizing_or_for_a_grow() {
        let s = shape(1024, 2048);
        assert!(find(&with(s.clone(), steady(20.0, 30.0, 3.0), |c| recommend(c)), Kind::RightSize).is_none());
        // Near the limit: the right-sizer grows the task, which saves nothing.
        let grow = sizing(&s, 980.0, 1900.0).unwrap();
        assert!(grow.recommended && grow.monthly_difference_per_task < Money::ZERO, "{:?}", grow.reasons);
        let recs = sized(s, steady(95.0, 90.0, 3.0), &grow);
        assert!(find(&recs, Kind::RightSize).is_none());
    }

    #[test]
    fn arm_saves_the_price_difference() {
        let recs = with(shape(512, 1024), steady(60.0, 80.0, 2.0), |c| recommend(c));
        let r = find(&recs, Kind::Arm).unwrap();
        // (0.024685 − (0.5 × 0.03238 + 1 × 0.00356 = 0.01975)) × 2 tasks × 730 h
        assert_eq!((r.monthly_saving, r.confidence), (Money::from_micros(7_205_100), Confidence::Medium));
        assert!(r.detail.contains("multi-arch"));
        let none = with(shape(512, 1024), steady(60.0, 80.0, 2.0), |c| {
            c.arm = None;
            recommend(c)
        });
        assert!(find(&none, Kind::Arm).is_none());
    }

    #[test]
    fn spot_is_firm_only_for_a_tolerant_service() {
        let run = |tolerant| {
            with(shape(512, 1024), steady(60.0, 80.0, 2.0), |c| {
                c.interruption_tolerant = tolerant;
                find(&recommend(c), Kind::Spot).cloned()
            })
        };
        let r = run(None).unwrap();
        // 70% of 0.024685 × 2 tasks × 730 h
        assert_eq!((r.monthly_saving, r.confidence), (Money::from_micros(25_228_070), Confidence::Low));
        assert!(r.detail.contains("2-minute warning") && r.detail.contains("cost.interruption_tolerant"));
        assert_eq!(run(Some(true)).unwrap().confidence, Confidence::High);
        assert!(run(Some(false)).is_none());
    }

    #[test]
    fn a_min_that_pins_the_night_recommends_a_schedule_window() {
        // At min 4 from 22:00 to 06:00, 10 tasks otherwise.
        let mut usage = Usage { observed_hours: 168.0, mean_tasks: 8.0, ..Usage::default() };
        for (h, m) in usage.hourly_tasks.iter_mut().enumerate() {
            *m = Some(if !(6..22).contains(&h) { 4.0 } else { 10.0 });
        }
        let run = |has_schedules| {
            with(shape(512, 1024), usage.clone(), |c| {
                (c.min_tasks, c.has_schedules) = (4, has_schedules);
                find(&recommend(c), Kind::Schedule).cloned()
            })
        };
        let r = run(false).unwrap();
        assert_eq!(r.title, "lower min to 2 from 22:00 to 06:00 with a [[schedule]] window");
        // 2 tasks × 8 h × 30.42 days × 0.024685
        assert_eq!((r.monthly_saving, r.confidence), (Money::from_micros(12_014_683), Confidence::Medium));
        for part in ["cron = \"0 22 * * *\"", "duration = \"8h\"", "min = 2", "follows the clock"] {
            assert!(r.detail.contains(part), "{part} not in {}", r.detail);
        }
        assert!(run(true).is_none());
    }
}
