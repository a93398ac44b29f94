//! The right-sizer against synthetic histories: steady, spiky, short, killed for memory, growing,
//! changing, and a million samples.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::core::cost::pricing::{Arch, Launch, Prices, shipped_instance};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-03-01T00:00:00Z").unwrap().with_timezone(&Utc)
}

fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

const WEEK: i64 = 7 * 24 * 60;

/// A deterministic ±20 wobble.
fn noise(i: i64) -> f64 {
    ((i * 37) % 41 - 20) as f64
}

/// Feeds a sample every `step` minutes for `span` minutes inclusive, from `from`; returns the time
/// of the last sample.
fn feed(
    est: &mut Estimator,
    from: DateTime<Utc>,
    span: i64,
    step: i64,
    cpu: impl Fn(i64) -> f64,
    memory: impl Fn(i64) -> f64,
) -> DateTime<Utc> {
    for i in (0..=span).step_by(step as usize) {
        est.add_cpu(from + minutes(i), cpu(i));
        est.add_memory(from + minutes(i), memory(i));
    }
    from + minutes(span - span % step)
}

/// A week at one sample a minute.
fn week(cpu: impl Fn(i64) -> f64, memory: impl Fn(i64) -> f64) -> (Estimator, DateTime<Utc>) {
    let mut est = Estimator::new();
    let now = feed(&mut est, t0(), WEEK, 1, cpu, memory);
    (est, now)
}

fn steady() -> (Estimator, DateTime<Utc>) {
    week(|i| 300.0 + noise(i), |i| 700.0 + noise(i))
}

fn sheet(os: Os) -> PriceSheet {
    crate::core::cost::pricing::test_sheet("us-east-1", Arch::X86_64, os)
}

fn shape(launch: Launch, os: Os, cpu: u32, memory: u32) -> TaskShape {
    TaskShape { launch, arch: Arch::X86_64, os, cpu, memory, storage_gib: 20 }
}

fn size(cpu: u32, memory: u32) -> Size {
    Size { cpu, memory }
}

/// Sizes a Linux Fargate task now at `current`.
fn sized(est: &Estimator, current: Size, now: DateTime<Utc>) -> Option<Sizing> {
    sized_on(est, current, Os::Linux, now)
}

fn sized_on(est: &Estimator, current: Size, os: Os, now: DateTime<Utc>) -> Option<Sizing> {
    let (sheet, shape) = (sheet(os), shape(Launch::Fargate, os, current.cpu, current.memory));
    recommend(est, current, &PriceCtx { shape: &shape, sheet: &sheet }, &Params::default(), now)
}

/// The nearest-rank percentile of `xs` (p in 0..=1).
fn exact_percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((p * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1]
}

fn usd(s: &str) -> Rate {
    Rate::parse_usd(s).unwrap()
}

fn width(s: &Sizing) -> f64 {
    s.raw.upper.cpu - s.raw.lower.cpu
}

#[test]
fn buckets_are_exponential_and_bounded() {
    // The last bucket starts at 1,024 vCPU (CPU units) or 1 TiB (MiB), and no earlier.
    assert!(bucket_start(BUCKETS - 1) >= 1_048_576.0 && bucket_start(BUCKETS - 2) < 1_048_576.0);
    assert_eq!((bucket_index(0.5), bucket_index(1.0), bucket_index(1e12)), (0, 1, BUCKETS - 1));
    for v in [3.0, 300.0, 7000.0, 500_000.0] {
        let i = bucket_index(v);
        assert!(bucket_start(i) <= v && v < bucket_end(i), "{v} in bucket {i}");
    }
    // Above a few units a bucket is at most ~5% wide.
    let i = bucket_index(300.0);
    assert!(bucket_end(i) / bucket_start(i) < 1.06);
}

#[test]
fn percentile_is_the_end_of_the_bucket_that_reaches_it() {
    let mut h = DecayingHistogram::default();
    assert_eq!(h.percentile(0.5), None);
    (1..=100).for_each(|v| h.add(f64::from(v), t0()));
    let p50 = h.percentile(0.5).unwrap();
    assert!((50.0..=50.0 * 1.06).contains(&p50), "{p50}");
    let p100 = h.percentile(1.0).unwrap();
    assert!((100.0..=106.0).contains(&p100), "{p100}");
    // A sample a day newer weighs twice as much: 100, then 1000 a day later, weigh 1/3 and 2/3.
    let mut d = DecayingHistogram::default();
    d.add(100.0, t0());
    d.add(1000.0, t0() + TimeDelta::hours(24));
    assert!(d.percentile(0.6).unwrap() >= 1000.0 && d.percentile(0.3).unwrap() < 110.0);
}

#[test]
fn steady_use_downsizes_to_p90_plus_margin() {
    let (est, now) = steady();
    let s = sized(&est, size(1024, 2048), now).unwrap();
    let cpu: Vec<f64> = (0..=WEEK).map(|i| 300.0 + noise(i)).collect();
    let expected = exact_percentile(cpu, 0.90) * 1.15;
    assert!((s.raw.target.cpu / expected - 1.0).abs() < 0.06, "{} vs {expected}", s.raw.target.cpu);
    assert_eq!((s.confidence, s.target), (Confidence::High, size(512, 1024)));
    for x in [s.target, s.lower, s.upper] {
        assert!(fargate::is_valid(x.cpu, x.memory), "{x}");
    }
    assert!(s.recommended && !s.within_bounds, "{:#?}", s.reasons);
    assert_eq!((s.current_rate, s.target_rate), (usd("0.04937"), usd("0.024685")));
    assert_eq!(s.monthly_difference_per_task, s.current_rate.minus(s.target_rate).over_hours(730));
    assert!(s.monthly_difference_per_task > Money::ZERO);
    assert_eq!(s.change_pct, 50.0);
    assert!(
        s.reasons.iter().any(|r| r.starts_with("recommended:") && r.contains("save")),
        "{:#?}",
        s.reasons
    );
    assert!(s.reasons.iter().any(|r| r.contains("cheapest valid Fargate size")));
    assert!(
        s.reasons[0].starts_with("over 7.0 days (10081 samples) CPU use was 303 CPU units at p50"),
        "{}",
        s.reasons[0]
    );
    assert!(
        s.reasons[1].starts_with("with a 15% safety margin")
            && s.reasons[2].starts_with("confidence is high")
    );
}

#[test]
fn spikes_widen_the_bounds() {
    let (spiky, now) = week(|i| if i % 12 == 0 { 900.0 } else { 300.0 + noise(i) }, |i| 700.0 + noise(i));
    let (calm, _) = steady();
    let (spiky, calm) =
        (sized(&spiky, size(1024, 2048), now).unwrap(), sized(&calm, size(1024, 2048), now).unwrap());
    assert!(width(&spiky) > 2.0 * width(&calm), "{} vs {}", width(&spiky), width(&calm));
    assert!(spiky.raw.upper.cpu >= 900.0 * 1.15);
}

#[test]
fn an_oom_raises_the_memory_target_past_the_kill() {
    let (mut est, now) = steady();
    let before = sized(&est, size(1024, 2048), now).unwrap();
    est.add_oom(now, 2048.0);
    let after = sized(&est, size(1024, 2048), now).unwrap();
    assert!(after.raw.target.memory > before.raw.target.memory);
    assert!(after.raw.target.memory >= 2048.0 * 1.2, "{}", after.raw.target.memory);
    assert!(after.target.memory >= 3072 && fargate::is_valid(after.target.cpu, after.target.memory));
    let oom = est.last_oom().unwrap();
    assert_eq!((oom.count, oom.used, oom.recorded), (1, 2048.0, 2048.0 * 1.2));
    assert_eq!(floor(&est).memory, 2048.0);
    assert!(after.reasons.iter().any(|r| r.contains("OOM")), "{:#?}", after.reasons);

    // A small task is bumped by at least 100 MiB; a kill long before the open interval is ignored.
    let mut small = Estimator::new();
    let end = feed(&mut small, t0(), 3 * 24 * 60, 5, |_| 100.0, |_| 200.0);
    small.add_oom(end, 300.0);
    assert_eq!(small.last_oom().unwrap().recorded, 400.0);
    small.add_oom(t0(), 300.0);
    assert_eq!(small.last_oom().unwrap().count, 1);
}

#[test]
fn short_history_is_low_confidence_with_wider_bounds_and_minutes_are_nothing() {
    let mut est = Estimator::new();
    let now = feed(&mut est, t0(), 120, 1, |i| 300.0 + noise(i), |i| 700.0 + noise(i));
    let short = sized(&est, size(1024, 2048), now).unwrap();
    let (long_est, long_now) = steady();
    let long = sized(&long_est, size(1024, 2048), long_now).unwrap();
    assert_eq!(short.confidence, Confidence::Low);
    assert!(width(&short) > 5.0 * width(&long), "{} vs {}", width(&short), width(&long));
    assert!(short.raw.upper.memory > long.raw.upper.memory);
    assert!(short.reasons.iter().any(|r| r.contains("confidence is low")));

    let mut brief = Estimator::new();
    let now = feed(&mut brief, t0(), 10, 1, |_| 300.0, |_| 700.0);
    assert!(sized(&brief, size(1024, 2048), now).is_none());
    // Nor anything from a history gone stale.
    assert!(sized(&long_est, size(1024, 2048), long_now + TimeDelta::days(9)).is_none());
}

#[test]
fn use_close_to_the_current_size_is_not_recommended() {
    let (est, now) = week(|i| 780.0 + noise(i), |i| 1500.0 + noise(i));
    let s = sized(&est, size(1024, 2048), now).unwrap();
    assert_eq!(s.target, size(1024, 2048));
    assert!(!s.recommended && s.within_bounds && s.change_pct == 0.0);
    assert_eq!(s.monthly_difference_per_task, Money::ZERO);
    assert!(s.reasons.iter().any(|r| r.contains("not recommended") && r.contains("within the bounds")));
    assert!(s.reasons.iter().any(|r| r.contains("by only 0%")), "{:#?}", s.reasons);
}

#[test]
fn use_near_the_limit_grows_the_task() {
    let (est, now) = week(|i| 973.0 + noise(i), |i| 1200.0 + noise(i));
    let s = sized(&est, size(1024, 2048), now).unwrap();
    assert!(s.target.cpu > 1024 && s.recommended, "{:#?}", s);
    assert_eq!(s.target, size(2048, 4096));
    assert!(s.monthly_difference_per_task < Money::ZERO);
    assert!(s.reasons.iter().any(|r| r.contains("cost") && r.contains("more a month")), "{:#?}", s.reasons);
}

#[test]
fn old_heavy_use_decays_and_the_target_follows_recent_use() {
    let mut est = Estimator::new();
    let heavy_end = feed(&mut est, t0(), 3 * WEEK, 5, |_| 900.0, |_| 1500.0);
    let now = feed(&mut est, heavy_end + minutes(5), WEEK, 5, |i| 200.0 + noise(i) / 4.0, |_| 600.0);
    let s = sized(&est, size(1024, 2048), now).unwrap();
    assert!(s.raw.target.cpu < 300.0 && s.raw.target.memory < 1000.0, "{:?}", s.raw);
    assert_eq!(s.target, size(256, 1024));
    // The floor still remembers the old peak.
    assert_eq!(floor(&est), Need { cpu: 900.0, memory: 1500.0 });
}

#[test]
fn memory_counts_one_peak_per_day() {
    // Ten minutes at 3000 MiB every day: every daily peak is 3000, however brief.
    let (daily, now) = week(|_| 300.0, |i| if i % (24 * 60) < 10 { 3000.0 } else { 500.0 });
    assert!(daily.peak_memory_percentile(0.5).unwrap() >= 3000.0);
    // The same ten minutes once, six days ago, is one peak among seven and has decayed.
    let (once, _) = week(|_| 300.0, |i| if (24 * 60..24 * 60 + 10).contains(&i) { 3000.0 } else { 500.0 });
    assert!(once.peak_memory_percentile(0.9).unwrap() < 550.0);
    assert_eq!(floor(&once).memory, 3000.0);
    assert!(sized(&once, size(1024, 2048), now).unwrap().raw.target.memory < 700.0);
}

#[test]
fn a_million_samples_leave_the_estimator_the_same_size() {
    let mut est = Estimator::new();
    let lens = |e: &Estimator| (e.cpu.weights.len(), e.memory_peaks.weights.len());
    let before = lens(&est);
    let step = TimeDelta::seconds(15);
    for i in 0..1_000_000_i64 {
        let at = t0() + step * i as i32;
        est.add_cpu(at, 300.0 + noise(i));
        est.add_memory(at, 700.0 + noise(i));
    }
    // 174 days: past 100 half-lives, so the reference was moved at least once.
    assert_eq!(lens(&est), before);
    assert_eq!(est.samples(), 1_000_000);
    assert!(est.cpu.reference > t0() && est.cpu.total.is_finite());
    let p90 = est.percentile_cpu(0.9).unwrap();
    assert!((300.0..=340.0).contains(&p90), "{p90}");
}

#[test]
fn bad_duplicate_and_out_of_order_samples_are_ignored() {
    let mut est = Estimator::new();
    est.add_cpu(t0(), 100.0);
    for bad in [f64::NAN, f64::INFINITY, -1.0] {
        est.add_cpu(t0() + minutes(1), bad);
        est.add_memory(t0() + minutes(1), bad);
        est.add_oom(t0() + minutes(1), bad);
    }
    est.add_cpu(t0(), 5000.0);
    est.add_cpu(t0() - minutes(1), 5000.0);
    assert_eq!((est.samples(), floor(&est), est.last_oom()), (1, Need { cpu: 100.0, memory: 0.0 }, None));
    assert_eq!(est.peak_memory_percentile(0.5), None);
    est.add_memory(t0() + minutes(5), 700.0);
    est.add_memory(t0() + minutes(4), 9000.0);
    assert_eq!(floor(&est).memory, 700.0);
}

#[test]
fn every_snapped_size_is_valid_and_windows_keeps_a_whole_vcpu() {
    let levels = [
        (5.0, 100.0),
        (100.0, 300.0),
        (700.0, 3000.0),
        (1500.0, 900.0),
        (6000.0, 20000.0),
        (30000.0, 200000.0),
    ];
    for os in [Os::Linux, Os::Windows] {
        for (cpu, memory) in levels {
            let mut est = Estimator::new();
            let now = feed(&mut est, t0(), 2 * 24 * 60, 10, |i| cpu + noise(i), |i| memory + noise(i));
            let s = sized_on(&est, size(1024, 2048), os, now).unwrap();
            for x in [s.target, s.lower, s.upper] {
                assert!(fargate::is_valid(x.cpu, x.memory), "{os:?} {cpu}/{memory}: {x}");
                assert!(os == Os::Linux || x.cpu >= 1024, "{x}");
            }
        }
    }
    let mut est = Estimator::new();
    let now = feed(&mut est, t0(), 2 * 24 * 60, 10, |_| 100.0, |_| 300.0);
    let s = sized_on(&est, size(1024, 2048), Os::Windows, now).unwrap();
    assert_eq!(s.target, size(1024, 2048));
    assert!(s.reasons.iter().any(|r| r.contains("Windows needs at least 1024 CPU")));
    // Far beyond every size: capped at the largest, and said so.
    let mut huge = Estimator::new();
    let now = feed(&mut huge, t0(), 2 * 24 * 60, 10, |_| 30000.0, |_| 1000.0);
    let s = sized(&huge, size(1024, 2048), now).unwrap();
    assert_eq!(s.target, size(16384, 32768));
    assert!(s.reasons.iter().any(|r| r.contains("no Fargate size holds the lower bound or the target")));
}

#[test]
fn on_ec2_needs_round_up_to_whole_units_and_128_mib() {
    let (est, now) = steady();
    let sheet = PriceSheet {
        prices: Prices::Ec2(shipped_instance("m6i.large").unwrap()),
        region: "us-east-1".into(),
        source: "test".into(),
        caveat: None,
    };
    let shape = shape(Launch::Ec2, Os::Linux, 1024, 2048);
    let s = recommend(
        &est,
        size(1024, 2048),
        &PriceCtx { shape: &shape, sheet: &sheet },
        &Params::default(),
        now,
    )
    .unwrap();
    assert_eq!(f64::from(s.target.cpu), s.raw.target.cpu.ceil());
    assert!(s.target.memory.is_multiple_of(128) && f64::from(s.target.memory) >= s.raw.target.memory);
    assert!(f64::from(s.target.memory) - s.raw.target.memory < 128.0);
    assert!(s.recommended && s.monthly_difference_per_task > Money::ZERO);
    assert!(s.reasons.iter().any(|r| r.contains("128 MiB")));
}
