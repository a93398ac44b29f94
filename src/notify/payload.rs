//! What a budget notification says on each kind of target: the event as JSON (generic webhook,
//! SNS message), a Slack-compatible `{"text": ...}`, and an SNS subject. The other events are
//! said by [`super::render`], in the same shape.

use chrono::SecondsFormat;
use serde_json::json;

use crate::core::cost::{BudgetEvent, EventKind};

/// The event as a generic webhook receives it, and the SNS message. Dollar amounts are exact
/// decimal strings (`"463.104999"`, as every JSON trimtab writes them: [`crate::core::usd`]);
/// `at` is RFC 3339 in UTC.
pub fn json(service: &str, e: &BudgetEvent) -> String {
    let event = match e.kind {
        EventKind::Alert => "budget.alert",
        EventKind::Recovery => "budget.recovery",
    };
    json!({
        "source": "trimtab",
        "kind": "budget",
        "service": service,
        "event": event,
        "signal": e.signal.as_str(),
        "level": e.level.as_str(),
        "period": e.period,
        "amount_usd": e.amount,
        "threshold_usd": e.threshold,
        "budget_usd": e.budget,
        "spent_usd": e.spent,
        "forecast_usd": e.forecast,
        "at": e.at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "message": e.message,
    })
    .to_string()
}

/// A Slack-compatible body (Slack, Mattermost, Teams workflows): the service in bold and a
/// headline, the event's own message, where spend stands, and a context line.
pub fn slack(service: &str, e: &BudgetEvent) -> String {
    let text = format!(
        "*{service}* {} for {}\n{}\nspent {} of {}, forecast {}\n_trimtab · budget · {}_",
        headline(e),
        e.period,
        e.message,
        e.spent,
        e.budget,
        e.forecast,
        e.at.format("%Y-%m-%d %H:%M UTC"),
    );
    let escaped = super::render::escape(&text);
    json!({ "text": escaped }).to_string()
}

/// E.g. `trimtab prod/web: budget warning (forecast)`; `aws::Sns` makes it a valid SNS subject.
pub fn subject(service: &str, e: &BudgetEvent) -> String {
    format!("trimtab {service}: {}", headline(e))
}

/// `budget warning (forecast)`, `budget warning recovered (forecast)`.
fn headline(e: &BudgetEvent) -> String {
    let recovered = match e.kind {
        EventKind::Alert => "",
        EventKind::Recovery => " recovered",
    };
    format!("budget {}{recovered} ({})", e.level, e.signal)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    use super::*;
    use crate::core::Money;
    use crate::core::cost::{Level, Signal};

    fn event(kind: EventKind) -> BudgetEvent {
        let usd = |d: f64| Money::from_usd(d).unwrap();
        BudgetEvent {
            kind,
            signal: Signal::Forecast,
            level: Level::Warning,
            period: "2026-11".into(),
            amount: usd(463.104999),
            threshold: usd(375.0),
            budget: usd(500.0),
            spent: usd(310.005),
            forecast: usd(463.104999),
            at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 30, 0).unwrap(),
            message: "forecast $463.10 for 2026-11 crossed the warning level $375.00 (75% of $500.00)".into(),
        }
    }

    #[test]
    fn the_webhook_json_has_every_amount_in_exact_dollars() {
        let got: Value = serde_json::from_str(&json("prod/web", &event(EventKind::Alert))).unwrap();
        let want = serde_json::json!({
            "source": "trimtab",
            "kind": "budget",
            "service": "prod/web",
            "event": "budget.alert",
            "signal": "forecast",
            "level": "warning",
            "period": "2026-11",
            "amount_usd": "463.104999",
            "threshold_usd": "375.00",
            "budget_usd": "500.00",
            "spent_usd": "310.005",
            "forecast_usd": "463.104999",
            "at": "2026-11-22T10:30:00Z",
            "message": "forecast $463.10 for 2026-11 crossed the warning level $375.00 (75% of $500.00)",
        });
        assert_eq!(got, want);
    }

    #[test]
    fn a_recovery_is_its_own_event() {
        let e = event(EventKind::Recovery);
        let got: Value = serde_json::from_str(&json("prod/web", &e)).unwrap();
        assert_eq!(got["event"], "budget.recovery");
        assert_eq!(subject("prod/web", &e), "trimtab prod/web: budget warning recovered (forecast)");
    }

    #[test]
    fn the_slack_text_names_service_level_signal_and_amounts() {
        let got: Value = serde_json::from_str(&slack("prod/web", &event(EventKind::Alert))).unwrap();
        assert_eq!(
            got,
            serde_json::json!({ "text": "*prod/web* budget warning (forecast) for 2026-11\n\
                forecast $463.10 for 2026-11 crossed the warning level $375.00 (75% of $500.00)\n\
                spent $310.01 of $500.00, forecast $463.10\n\
                _trimtab · budget · 2026-11-22 10:30 UTC_" })
        );
    }

    #[test]
    fn the_subject_is_a_headline() {
        assert_eq!(
            subject("prod/web", &event(EventKind::Alert)),
            "trimtab prod/web: budget warning (forecast)"
        );
    }

    #[test]
    fn amounts_are_exact_not_rounded_to_the_cent() {
        let mut e = event(EventKind::Alert);
        e.spent = Money::from_micros(-4_999);
        let got: Value = serde_json::from_str(&json("prod/web", &e)).unwrap();
        assert_eq!(got["spent_usd"], "-0.004999");
        assert_eq!(Money::from_micros(12_345_678).to_string(), "$12.35", "people read cents");
    }
}
