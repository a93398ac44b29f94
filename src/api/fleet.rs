//! The controller's API: `/healthz` (ticks keep coming), `/status` (its membership, every
//! managed service's standing, the calls of the last tick by operation) and `/metrics`.
//! Read only: operator intent lives in the services' tags (`trimtab pause|resume|override`).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State as Extract;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::watch;

use super::connections::{self, Limits};
use super::metrics::Out;
use crate::status::{FleetView, Standing};

#[derive(Clone)]
pub struct FleetState {
    pub view: watch::Receiver<Arc<FleetView>>,
    pub started_at: DateTime<Utc>,
    pub interval_seconds: i64,
}

pub fn router(state: FleetState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/status", get(status))
        .route("/metrics", get(prometheus))
        .with_state(state)
}

/// Serves the controller's API on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: FleetState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    connections::serve(listener, router(state), Limits::DEFAULT, shutdown).await;
}

/// Healthy while ticks keep coming, by the same rule as the sidecar's.
async fn healthz(Extract(s): Extract<FleetState>) -> Response {
    let view = s.view.borrow().clone();
    let last = view.at.unwrap_or(s.started_at);
    let age = (Utc::now() - last).num_seconds();
    let healthy = age <= 3 * s.interval_seconds.max(1) + 60;
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if healthy { "ok" } else { "stalled" },
        "ticks": view.ticks,
        "last_tick_age_seconds": age,
        "role": "controller",
    });
    (code, Json(body)).into_response()
}

async fn status(Extract(s): Extract<FleetState>) -> Response {
    let view = s.view.borrow().clone();
    Json(&*view).into_response()
}

async fn prometheus(Extract(s): Extract<FleetState>) -> Response {
    let body = render(&s.view.borrow()) + &super::metrics::render_process();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// The controller's metrics in the Prometheus text format.
pub fn render(v: &FleetView) -> String {
    let mut o = Out(String::new());
    o.one("trimtab_ticks_total", "counter", "Ticks run since start.", v.ticks as f64);
    o.histogram("trimtab_tick_duration_seconds", "How long the ticks took.", &v.tick_seconds);
    o.one(
        "trimtab_controller_members",
        "gauge",
        "Healthy members seen at the last tick.",
        v.members.len() as f64,
    );
    o.one(
        "trimtab_controller_membership_ok",
        "gauge",
        "1 when the last tick could read the members (else nothing was acted on).",
        f64::from(u8::from(v.membership_error.is_none())),
    );
    o.family("trimtab_controller_services", "gauge", "Managed services by standing on this controller.");
    for standing in Standing::ALL {
        let n = v.services.values().filter(|s| s.standing == standing).count();
        o.sample("trimtab_controller_services", &[("standing", standing.as_str())], n as f64);
    }
    let problems = v.services.values().filter(|s| s.problem.is_some()).count();
    o.one(
        "trimtab_controller_services_with_problems",
        "gauge",
        "Services left alone this tick (a bad tag, not returned by ECS, unreadable).",
        problems as f64,
    );
    o.family("trimtab_aws_calls_per_tick", "gauge", "AWS calls of the last tick, by operation.");
    for (op, n) in &v.calls {
        o.sample("trimtab_aws_calls_per_tick", &[("operation", op)], f64::from(*n));
    }
    o.family("trimtab_aws_calls_total", "counter", "AWS calls since start, by operation.");
    for (op, n) in &v.calls_total {
        o.sample("trimtab_aws_calls_total", &[("operation", op)], *n as f64);
    }
    o.one(
        "trimtab_controller_cost_per_hour_usd",
        "gauge",
        "What the services this member acts for cost an hour at their running counts (those priced).",
        v.cost_per_hour_usd.as_usd(),
    );
    o.one("trimtab_scaling_actions_total", "counter", "Desired counts set since start.", v.applied as f64);
    o.one(
        "trimtab_scaling_failures_total",
        "counter",
        "Desired counts that could not be set.",
        v.failed as f64,
    );
    o.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ServiceStanding;

    #[test]
    fn the_metrics_count_calls_by_operation_and_services_by_standing() {
        let mut v = FleetView { ticks: 3, members: vec!["a".into(), "b".into()], ..FleetView::default() };
        v.calls.insert("ecs:DescribeServices", 34);
        v.calls_total.insert("ecs:DescribeServices", 102);
        let s = |standing, problem: Option<&str>| ServiceStanding {
            standing,
            policy: None,
            origin: "listed",
            desired: None,
            paused: false,
            reason: None,
            action: None,
            problem: problem.map(Into::into),
            task_per_hour_usd: None,
            per_hour_usd: None,
            cost_problem: None,
        };
        v.services.insert("prod/a".into(), s(Standing::Acting, None));
        v.services.insert("prod/b".into(), s(Standing::Elsewhere, None));
        v.services.insert(
            "prod/c".into(),
            s(Standing::Acting, Some("tag trimtab:paused = \"yes\": expected true or false")),
        );
        let text = render(&v);
        for line in [
            "trimtab_controller_members 2",
            "trimtab_controller_services{standing=\"acting\"} 2",
            "trimtab_controller_services{standing=\"elsewhere\"} 1",
            "trimtab_controller_services_with_problems 1",
            "trimtab_aws_calls_per_tick{operation=\"ecs:DescribeServices\"} 34",
            "trimtab_aws_calls_total{operation=\"ecs:DescribeServices\"} 102",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
