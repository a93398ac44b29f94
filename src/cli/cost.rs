//! `trimtab cost`: what one task costs and why, what the service costs at its bounds and at N
//! tasks, what the budget affords, and (with `--what-if`) how a change of size, platform or count
//! compares.

use anyhow::bail;
use serde::Serialize;

use super::args::CostArgs;
use super::setup::{load, region};
use super::table::Table;
use super::{UsageError, out};
use crate::config::model::{Config, ServiceConfig};
use crate::config::price_sheet;
use crate::core::Money;
use crate::core::cost::pricing::{Arch, Launch, Os, PriceSheet, Prices, Rate, TaskRate, TaskShape, Used};
use crate::core::cost::{Budget, Level, PeriodKind};
use crate::core::fargate;

/// `trimtab cost`: prices the service, and the change `--what-if` describes.
pub fn command(args: CostArgs) -> anyhow::Result<()> {
    let cfg = load(&args.config)?;
    let Some(svc) = &cfg.service else {
        bail!(UsageError(format!("{}: cost needs a [service] section (the task to price)", cfg.file)));
    };
    let region = region(&cfg, svc, args.region)?;
    let what_if = match args.what_if.as_deref().map(WhatIf::parse) {
        Some(Err(e)) => bail!(UsageError(format!("--what-if: {e}"))),
        Some(Ok(w)) => Some(w),
        None => None,
    };
    let report = report(&cfg, &region, args.tasks, what_if.as_ref())
        .map_err(|e| UsageError(format!("{}: {e}", cfg.file)))?;
    out::emit(args.output.format, &report, render)?;
    Ok(())
}

/// The hours AWS uses for a month in its price examples.
pub const MONTH_HOURS: u32 = 730;

/// One way to run the service, priced.
#[derive(Clone, Debug, Serialize)]
pub struct Priced {
    pub shape: TaskShape,
    pub prices: PriceSheet,
    pub per_task_hour: TaskRate,
    /// `(label, tasks, per hour, per 730-hour month)`.
    pub counts: Vec<AtCount>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AtCount {
    pub label: String,
    pub tasks: u32,
    #[serde(rename = "per_hour_usd")]
    pub per_hour: Rate,
    #[serde(rename = "per_month_usd")]
    pub per_month: Money,
}

#[derive(Clone, Debug, Serialize)]
pub struct CostReport {
    pub service: String,
    pub current: Priced,
    /// With `--what-if`: the changed setup, and the monthly difference at its task count.
    pub what_if: Option<Priced>,
    #[serde(rename = "monthly_difference_usd")]
    pub monthly_difference: Option<Money>,
    pub budget: Option<BudgetLine>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BudgetLine {
    #[serde(rename = "amount_usd")]
    pub amount: Money,
    pub period: PeriodKind,
    #[serde(rename = "warn_at_usd")]
    pub warn_at: Money,
    #[serde(rename = "critical_at_usd")]
    pub critical_at: Money,
    pub cap: Option<Level>,
    /// Tasks the whole budget keeps running around the clock for a whole period.
    pub affords_tasks: u32,
}

/// A change asked for with `--what-if cpu=1024,memory=2048,arch=arm64,tasks=6`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WhatIf {
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub arch: Option<Arch>,
    pub os: Option<Os>,
    pub launch: Option<Launch>,
    pub storage_gib: Option<u32>,
    pub tasks: Option<u32>,
}

impl WhatIf {
    pub fn parse(text: &str) -> Result<WhatIf, String> {
        let mut w = WhatIf::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or(format!("{part:?}: expected KEY=VALUE"))?;
            let number = |v: &str| v.parse::<u32>().map_err(|_| format!("{k}={v}: expected a whole number"));
            match k {
                "cpu" => w.cpu = Some(number(v)?),
                "memory" => w.memory = Some(number(v)?),
                "tasks" => w.tasks = Some(number(v)?),
                "storage" => w.storage_gib = Some(number(v)?),
                "arch" => {
                    w.arch = Some(match v {
                        "x86_64" | "x86" => Arch::X86_64,
                        "arm64" | "arm" => Arch::Arm64,
                        _ => return Err(format!("arch={v}: expected x86_64 or arm64")),
                    })
                }
                "os" => {
                    w.os = Some(match v {
                        "linux" => Os::Linux,
                        "windows" => Os::Windows,
                        _ => return Err(format!("os={v}: expected linux or windows")),
                    })
                }
                "launch" | "launch_type" => {
                    w.launch = Some(match v {
                        "fargate" => Launch::Fargate,
                        "fargate-spot" | "spot" => Launch::FargateSpot,
                        "ec2" => Launch::Ec2,
                        _ => return Err(format!("launch={v}: expected fargate, fargate-spot or ec2")),
                    })
                }
                _ => {
                    return Err(format!(
                        "unknown key {k:?}; expected cpu, memory, arch, os, launch, storage, tasks"
                    ));
                }
            }
        }
        Ok(w)
    }

    /// The service as changed.
    fn apply(&self, s: &ServiceConfig) -> Result<ServiceConfig, String> {
        let mut s = s.clone();
        s.cpu = self.cpu.or(s.cpu);
        s.memory = self.memory.or(s.memory);
        s.architecture = self.arch.unwrap_or(s.architecture);
        s.os = self.os.unwrap_or(s.os);
        s.launch_type = self.launch.unwrap_or(s.launch_type);
        s.storage_gib = self.storage_gib.unwrap_or(s.storage_gib);
        if let (true, Some(c), Some(m)) = (s.launch_type.is_fargate(), s.cpu, s.memory)
            && !fargate::is_valid(c, m)
        {
            let options: Vec<String> = fargate::memory_options(c).iter().map(u32::to_string).collect();
            return Err(match options.is_empty() {
                true => {
                    format!("cpu={c} is not a Fargate size; valid: 256, 512, 1024, 2048, 4096, 8192, 16384")
                }
                false => {
                    format!("memory={m} is not valid with cpu={c} on Fargate; valid: {}", options.join(", "))
                }
            });
        }
        Ok(s)
    }
}

/// Prices the config's service at `tasks` (and at its bounds), and the `what_if` change.
pub fn report(
    cfg: &Config,
    region: &str,
    tasks: Option<u32>,
    what_if: Option<&WhatIf>,
) -> Result<CostReport, String> {
    let svc = cfg.service.as_ref().ok_or("cost needs a [service] section")?;
    let bounds = cfg.scaling.policy.bounds;
    let n = tasks.unwrap_or(bounds.min().get());
    let mut counts = vec![("min", bounds.min().get()), ("max", bounds.max().get())];
    if let Some(t) = tasks {
        counts.insert(1, ("N", t));
    }
    let current = priced(cfg, svc, region, &counts)?;
    let what_if = match what_if {
        None => None,
        Some(w) => {
            let changed = w.apply(svc)?;
            let m = w.tasks.unwrap_or(n);
            Some(priced(cfg, &changed, region, &[("N", m)])?)
        }
    };
    let monthly_difference = what_if.as_ref().map(|w| {
        let now = current.per_task_hour.total.times(n).over_hours(MONTH_HOURS);
        Money::from_micros(w.counts[0].per_month.micros() - now.micros())
    });
    let budget = cfg.budget.as_ref().map(|b| budget_line(b, current.per_task_hour.total));
    Ok(CostReport {
        service: format!("{}/{}", svc.cluster, svc.name),
        current,
        what_if,
        monthly_difference,
        budget,
    })
}

fn priced(cfg: &Config, svc: &ServiceConfig, region: &str, counts: &[(&str, u32)]) -> Result<Priced, String> {
    let shape = svc.shape().ok_or("pricing needs the task's size: set service.cpu and service.memory")?;
    let prices =
        price_sheet(&svc.platform(), &cfg.cost, region).map_err(|(key, msg)| format!("{key}: {msg}"))?;
    let per_task_hour = prices.task_rate(&shape, Used::default());
    let counts = counts
        .iter()
        .map(|(label, tasks)| {
            let per_hour = per_task_hour.total.times(*tasks);
            AtCount {
                label: (*label).to_owned(),
                tasks: *tasks,
                per_hour,
                per_month: per_hour.over_hours(MONTH_HOURS),
            }
        })
        .collect();
    Ok(Priced { shape, prices, per_task_hour, counts })
}

fn budget_line(b: &Budget, per_task: Rate) -> BudgetLine {
    let hours = match b.period {
        PeriodKind::Monthly => MONTH_HOURS,
        PeriodKind::Daily => 24,
    };
    let per_period = per_task.over_hours(hours).micros();
    BudgetLine {
        amount: b.amount,
        period: b.period,
        warn_at: b.threshold(Level::Warning),
        critical_at: b.threshold(Level::Critical),
        cap: b.cap,
        affords_tasks: if per_period > 0 {
            u32::try_from(b.amount.micros() / per_period).unwrap_or(u32::MAX)
        } else {
            0
        },
    }
}

/// How a task's hourly rate is made up, e.g. `0.5 vCPU × $0.04048 + 1 GB × $0.004445`.
pub fn formula(p: &Priced) -> String {
    let s = &p.shape;
    let (vcpu, gb) = (f64::from(s.cpu) / 1024.0, f64::from(s.memory) / 1024.0);
    match &p.prices.prices {
        Prices::Fargate(f) => {
            let mut parts =
                vec![format!("{vcpu} vCPU × {}", f.vcpu_hour), format!("{gb} GB × {}", f.gb_hour)];
            if p.per_task_hour.licence != Rate::ZERO {
                parts.push(format!("{vcpu} vCPU × {} Windows licence", f.licence_vcpu_hour));
            }
            if p.per_task_hour.storage != Rate::ZERO {
                parts.push(format!("{} GiB storage × {}", s.storage_gib - 20, f.storage_gb_hour));
            }
            let spot = match s.launch {
                Launch::FargateSpot => format!(", less {}% Spot discount", f.spot_discount_ppm as f64 / 1e4),
                _ => String::new(),
            };
            format!("{}{spot}", parts.join(" + "))
        }
        Prices::Ec2(i) => format!(
            "{} × (9 × {vcpu} vCPU + {gb} GB) / (9 × {} vCPU + {} GB) of {} (9:1 split)",
            i.hourly, i.vcpus, i.memory_gib, i.name
        ),
    }
}

/// `Fargate Linux x86, 512 CPU / 1024 MiB`.
pub fn describe(s: &TaskShape) -> String {
    format!("{} {} {}, {} CPU / {} MiB", s.launch, s.os, s.arch, s.cpu, s.memory)
}

/// The table `trimtab cost` prints.
pub fn render(r: &CostReport) -> String {
    let c = &r.current;
    let mut out = format!("{}: {} in {}\n", r.service, describe(&c.shape), c.prices.region);
    out += &format!("prices: {}\n", c.prices.source);
    if let Some(caveat) = &c.prices.caveat {
        out += &format!("note: {caveat}\n");
    }
    out += &format!("per task-hour: {} = {}\n\n", c.per_task_hour.total, formula(c));
    let mut t = Table::new(["", "tasks", "per hour", "per day", "per 730-h month"]);
    for a in &c.counts {
        t.row(vec![
            format!("at {}", a.label),
            a.tasks.to_string(),
            a.per_hour.to_string(),
            a.per_hour.over_hours(24).to_string(),
            a.per_month.to_string(),
        ]);
    }
    out += &t.render();
    if let (Some(w), Some(diff)) = (&r.what_if, r.monthly_difference) {
        let a = &w.counts[0];
        out += &format!(
            "\nwhat if: {} in {}\nper task-hour: {} = {}\n{} tasks: {} per hour, {} per 730-h month ({}{} per month)\n",
            describe(&w.shape),
            w.prices.region,
            w.per_task_hour.total,
            formula(w),
            a.tasks,
            a.per_hour,
            a.per_month,
            if diff.micros() >= 0 { "+" } else { "" },
            diff
        );
        if let Some(caveat) = &w.prices.caveat {
            out += &format!("note: {caveat}\n");
        }
    }
    if let Some(b) = &r.budget {
        let (per, whole) = match b.period {
            PeriodKind::Monthly => ("month", "a 730-h month"),
            PeriodKind::Daily => ("day", "a day"),
        };
        let cap = b.cap.map_or("none".to_owned(), |l| l.to_string());
        out += &format!(
            "\nbudget: {}/{per}, warning at {}, critical at {}, cap {cap}; it keeps {} tasks running for {whole}\n",
            b.amount, b.warn_at, b.critical_at, b.affords_tasks
        );
    }
    out
}

/// The agent's spend after a tick (`run --once`): rate, totals, forecast, budget.
pub fn live(c: &crate::status::CostView) -> String {
    let l = &c.ledger;
    let mut out = format!(
        "\ncost: {} per hour ({} running × {}); today {}, month to date {} ({})\n",
        l.per_hour, l.running, l.per_task_hour, l.today, l.month_to_date, l.month
    );
    match &c.budget {
        None => {
            out +=
                &format!("forecast for {}: {} ({})\n", l.month, c.forecast.total, c.forecast.method.as_str())
        }
        Some(b) => {
            out += &format!(
                "budget {}: {} of {} spent (level {}); forecast {} (level {}, {}: {})\n",
                b.period.key,
                b.spent,
                b.budget,
                b.actual,
                b.forecast.total,
                b.forecasted,
                b.forecast.method.as_str(),
                b.forecast.explanation
            );
            out += &match b.cap {
                Some(cap) => format!("budget cap engaged: scale-out stops at {cap} tasks\n"),
                None => {
                    format!("the rest of the budget affords {} tasks to the period's end\n", b.affordable)
                }
            };
        }
    }
    if let Some(o) = c.efficiency.overall {
        out += &format!(
            "efficiency: {:.0}% (cost-weighted CPU and memory use of the reservation); idle {} per hour\n",
            o * 100.0,
            c.efficiency.idle_cost_per_hour
        );
    }
    for r in &c.recommendations {
        use crate::core::cost::Confidence;
        let confidence = match r.confidence {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        };
        out += &format!(
            "recommendation ({confidence} confidence): {}: saves {} a month\n  {}\n",
            r.title, r.monthly_saving, r.detail
        );
    }
    for e in &c.events {
        let kind = match e.kind {
            crate::core::cost::EventKind::Alert => "alert",
            crate::core::cost::EventKind::Recovery => "recovery",
        };
        out += &format!("budget {kind}: {}\n", e.message);
    }
    out
}

/// `explain --spent USD`: the budget as the agent would see it at `now` with `current` tasks
/// running and `spent` gone: the cap for the decision (when engaged) and a line saying why.
pub fn budget_for_explain(
    cfg: &Config,
    now: chrono::DateTime<chrono::Utc>,
    current: u32,
    spent: Money,
) -> Result<(Option<crate::core::Replicas>, String), String> {
    use crate::core::cost::{budget, forecast};
    let b = cfg.budget.as_ref().ok_or("--spent needs a [budget] section")?;
    let (svc, sheet) = match (&cfg.service, &cfg.prices) {
        (Some(svc), Some(sheet)) => (svc, sheet),
        _ => return Err("--spent needs a [service] with its region and task size, to price the tasks".into()),
    };
    let shape = svc.shape().ok_or("--spent needs service.cpu and service.memory")?;
    let rate = sheet.task_rate(&shape, Used::default()).total;
    let p = &cfg.scaling.policy;
    let period = b.period(now);
    let fc = forecast::forecast(spent, now, period.end, rate, f64::from(current), p.bounds, &p.schedules);
    let st = budget::status(b, now, spent, fc, rate);
    let cap = match (b.cap, st.cap) {
        (None, _) => "cap none: the budget never limits scaling".to_owned(),
        (Some(level), None) => format!("cap at {level}: not reached, scaling is not limited"),
        (Some(level), Some(n)) => format!("cap at {level}: reached, scale-out stops at {n} tasks"),
    };
    let line = format!(
        "budget {}: {} of {} spent (level {}); forecast {} (level {}) at {current} tasks; the rest affords {} tasks; {cap}\n",
        period.key, st.spent, st.budget, st.actual, st.forecast.total, st.forecasted, st.affordable
    );
    Ok((st.cap, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Config {
        crate::config::from_str("t.toml", super::super::EMBEDDED_EXAMPLE).unwrap()
    }

    #[test]
    fn four_tasks_of_the_example_cost_what_the_issue_says() {
        let r = report(&example(), "us-east-1", Some(4), None).unwrap();
        let at4 = &r.current.counts[1];
        assert_eq!(
            (at4.tasks, at4.per_hour.to_string(), at4.per_month.to_string()),
            (4, "$0.09874".into(), "$72.08".into())
        );
        let text = render(&r);
        assert!(text.contains("per task-hour: $0.024685 = 0.5 vCPU × $0.04048 + 1 GB × $0.004445"), "{text}");
        assert!(text.contains("it keeps 27 tasks running for a 730-h month"), "{text}");
    }

    #[test]
    fn what_if_compares_a_change() {
        let w = WhatIf::parse("cpu=1024,memory=2048,arch=arm64,tasks=6").unwrap();
        let r = report(&example(), "us-east-1", Some(4), Some(&w)).unwrap();
        let wi = r.what_if.as_ref().unwrap();
        // ARM 1 vCPU × 0.03238 + 2 GB × 0.00356 = 0.0395 per task-hour; 6 tasks × 730 h = 173.01
        assert_eq!(wi.per_task_hour.total, Rate::parse_usd("0.0395").unwrap());
        assert_eq!(wi.counts[0].per_month, Money::from_micros(173_010_000));
        assert_eq!(r.monthly_difference, Some(Money::from_micros(173_010_000 - 72_080_200)));
        assert!(WhatIf::parse("cpu=512,memory=9999").unwrap().apply(&example().service.unwrap()).is_err());
        assert!(WhatIf::parse("gpu=1").is_err());
        // No shipped ARM price in eu-west-1: an error that names the key.
        let e =
            report(&example(), "eu-west-1", None, Some(&WhatIf::parse("arch=arm64").unwrap())).unwrap_err();
        assert!(e.starts_with("cost.vcpu_hour_usd: no shipped Fargate Linux ARM price for eu-west-1"), "{e}");
    }
}
