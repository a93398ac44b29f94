//! `trimtab run --once` in controller mode: one tick of the controller, reported service by
//! service.

use super::table::Table;
use crate::status::FleetView;

/// The tick's membership, calls and every managed service's standing and action.
pub fn report(v: &FleetView) -> String {
    let mut out = String::new();
    match &v.membership_error {
        Some(e) => out.push_str(&format!("members: unknown ({e}): nothing was acted on\n")),
        None => out.push_str(&format!("members: {} ({} is this controller)\n", v.members.len(), v.me)),
    }
    if let Some(d) = &v.discovery {
        out.push_str(&format!("discovery: {} adopted, {} released", d.adopted, d.released));
        if let Some(e) = &d.error {
            out.push_str(&format!(" ({e})"));
        }
        out.push('\n');
    }
    let calls: Vec<String> = v.calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
    let total: u32 = v.calls.values().sum();
    out.push_str(&format!("aws calls: {total} ({})\n", calls.join(", ")));
    out.push_str(&format!(
        "cost of the services acted for: ${:.4} an hour\n\n",
        v.cost_per_hour_usd.as_usd()
    ));
    let mut t = Table::new(["service", "standing", "policy", "desired", "$/hour", "reason", "action"]);
    for (key, s) in &v.services {
        let action = match (&s.problem, &s.action) {
            (Some(p), _) => format!("left alone: {p}"),
            (None, Some(a)) => a.to_string(),
            (None, None) => "-".to_owned(),
        };
        t.row(vec![
            key.clone(),
            s.standing.as_str().to_owned(),
            s.policy.clone().unwrap_or_else(|| "-".into()),
            s.desired.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
            s.per_hour_usd.map(|c| format!("{:.4}", c.as_usd())).unwrap_or_else(|| "-".into()),
            s.reason.clone().unwrap_or_else(|| "-".into()),
            action,
        ]);
    }
    out.push_str(&t.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Action, ServiceStanding};

    #[test]
    fn the_report_shows_each_service_and_why_one_is_left_alone() {
        let mut v = FleetView { me: "self".into(), members: vec!["self".into()], ..FleetView::default() };
        v.calls.insert("ecs:DescribeServices", 2);
        v.calls.insert("cloudwatch:GetMetricData", 1);
        let s = |desired, action, problem: Option<&str>| ServiceStanding {
            standing: crate::status::Standing::Acting,
            policy: Some("web".into()),
            origin: "discovered",
            desired,
            paused: false,
            reason: Some("scale_out".into()),
            action,
            problem: problem.map(Into::into),
            task_per_hour_usd: None,
            per_hour_usd: None,
            cost_problem: None,
        };
        v.services.insert("prod/web".into(), s(Some(2), Some(Action::Applied { from: 2, to: 4 }), None));
        v.services.insert(
            "prod/bad".into(),
            s(Some(2), Some(Action::Skipped), Some("tag trimtab:max = \"lots\": not a whole number")),
        );
        let r = report(&v);
        assert!(
            r.starts_with(
                "members: 1 (self is this controller)\naws calls: 3 (cloudwatch:GetMetricData 1, ecs:DescribeServices 2)\n\
                 cost of the services acted for: $0.0000 an hour\n"
            ),
            "{r}"
        );
        assert!(
            r.contains("prod/web  acting    web     2        -       scale_out  desired count set 2 -> 4"),
            "{r}"
        );
        assert!(r.contains("left alone: tag trimtab:max = \"lots\": not a whole number"), "{r}");
    }
}
