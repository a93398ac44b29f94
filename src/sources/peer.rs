//! Another task's trimtab, asked over the task network on its private IP and the API's port:
//! - a follower asks the leader's agent whether it is alive and still leads (`GET /healthz`), so
//!   that followers need no AWS call to notice a leader gone (see `agent::leader`);
//! - the leader asks every other task's agent for its own signals (`GET /peer`, with the API
//!   token): the metrics measured task by task, which it then averages across the tasks
//!   ([`across`]).

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

use super::{TaskBreakdown, TaskTarget, TaskValue};
use crate::core::Sample;
use crate::status::Signals;

/// What a peer's `/healthz` says of itself.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PeerHealth {
    /// `leader`, `follower` or `sole`.
    pub role: String,
    /// Its task's ARN, when it knows it.
    #[serde(default)]
    pub task: Option<String>,
}

/// Asks the agent at `ip:port` how it is. An agent whose ticks have stalled answers 503, which
/// is an error here like no answer at all.
pub async fn probe(http: &reqwest::Client, ip: IpAddr, port: u16) -> Result<PeerHealth, String> {
    let url = format!("http://{}/healthz", SocketAddr::new(ip, port));
    let text = super::get_text(http, &url).await?;
    serde_json::from_str(&text).map_err(|e| format!("GET {url}: not trimtab's /healthz: {e}"))
}

/// The signals of the agent at `ip:port` (`GET /peer`), with the service's API token.
pub async fn signals(
    http: &reqwest::Client,
    ip: IpAddr,
    port: u16,
    token: Option<&str>,
) -> Result<Signals, String> {
    let url = format!("http://{}/peer", SocketAddr::new(ip, port));
    let mut req = http.get(&url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let text = super::read_text(req, &url).await?;
    serde_json::from_str(&text).map_err(|e| format!("GET {url}: not trimtab's /peer: {e}"))
}

/// One metric measured task by task, across the service: this task's own reading and every
/// other task's answer to `GET /peer`. The value is the average over the tasks — utilization
/// averaged as the HPA averages it over pods — and only when every task gave one: a task not
/// heard from, or without a reading of the metric, makes the metric missing for the tick ("2 of
/// 3 tasks answered; …"), so the core holds rather than scale in on part of the service. The
/// sample's time is the oldest reading's.
pub fn across(
    metric: &str,
    own: (&TaskTarget, Result<Sample, String>),
    others: &[(TaskTarget, Result<Signals, String>)],
) -> (Result<Sample, String>, TaskBreakdown) {
    let theirs = others.iter().map(|(t, answer)| {
        let reading =
            answer.as_ref().map_err(Clone::clone).and_then(|s| match (&s.task, s.samples.get(metric)) {
                // An address taken over by another task (or service) answers for itself, not for `t`.
                (Some(task), _) if *task != t.task => Err(format!("the agent there is task {task}'s")),
                (_, Some(sample)) => Ok(*sample),
                (_, None) => {
                    Err(s.problems.get(metric).cloned().unwrap_or_else(|| format!("no reading of {metric}")))
                }
            });
        (t, reading.map_err(|why| format!("task {}: {}", t.ip, bounded(&why))))
    });
    let readings: Vec<(&TaskTarget, Result<Sample, String>)> = std::iter::once(own).chain(theirs).collect();
    let tasks: Vec<TaskValue> = readings
        .iter()
        .map(|(t, r)| TaskValue {
            task: t.task.clone(),
            ip: t.ip,
            value: r.as_ref().map(|s| s.value).map_err(Clone::clone),
        })
        .collect();
    let of = readings.len();
    let ok: Vec<Sample> = readings.iter().filter_map(|(_, r)| r.as_ref().ok().copied()).collect();
    let mut breakdown = TaskBreakdown { heard: ok.len(), of, tasks, lower_bound: None };
    if ok.len() < of {
        // The unheard counted as 0: the average is at least this (readings are never negative).
        let sum: f64 = ok.iter().map(|s| s.value).sum();
        let at = ok.iter().map(|s| s.at).min();
        breakdown.lower_bound =
            at.filter(|_| ok.iter().all(|s| s.value >= 0.0)).map(|at| Sample { value: sum / of as f64, at });
        let reasons = readings.into_iter().filter_map(|(_, r)| r.err());
        return (Err(super::prom_tasks::not_all_answered(ok.len(), of, reasons)), breakdown);
    }
    let value = ok.iter().map(|s| s.value).sum::<f64>() / of as f64;
    let at = ok.iter().map(|s| s.at).min().expect("this task's own reading at least");
    (Ok(Sample { value, at }), breakdown)
}

/// The most of another agent's reason kept: its answer is outside input, and the reasons go
/// into every tick of the history.
const REASON_CHARS: usize = 200;

fn bounded(why: &str) -> String {
    match why.char_indices().nth(REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &why[..cut]),
        None => why.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn a_stalled_or_foreign_peer_is_an_error_and_a_live_one_says_its_role() {
        let server = MockServer::start().await;
        let addr = *server.address();
        let answer = |code: u16, body: &str| {
            Mock::given(method("GET"))
                .and(path("/healthz"))
                .respond_with(ResponseTemplate::new(code).set_body_string(body))
        };
        answer(200, r#"{"status":"ok","role":"leader","task":"arn:task/a","ticks":3}"#)
            .up_to_n_times(1)
            .mount(&server)
            .await;
        answer(503, r#"{"status":"stalled","role":"leader"}"#).up_to_n_times(1).mount(&server).await;
        answer(200, "<html>someone else</html>").mount(&server).await;
        let http = crate::sources::http_client();
        let live = probe(&http, addr.ip(), addr.port()).await.unwrap();
        assert_eq!(live, PeerHealth { role: "leader".into(), task: Some("arn:task/a".into()) });
        let stalled = probe(&http, addr.ip(), addr.port()).await.unwrap_err();
        assert!(stalled.ends_with("HTTP 503 Service Unavailable"), "{stalled}");
        let foreign = probe(&http, addr.ip(), addr.port()).await.unwrap_err();
        assert!(foreign.contains("not trimtab's /healthz"), "{foreign}");
    }

    fn target(i: u8) -> TaskTarget {
        TaskTarget { task: format!("arn:task/{i}"), ip: IpAddr::from([10, 0, 0, i]) }
    }

    fn signals(i: u8, jobs: Option<f64>, at: chrono::DateTime<chrono::Utc>) -> Signals {
        let mut s = Signals { task: Some(format!("arn:task/{i}")), ..Signals::default() };
        match jobs {
            Some(v) => s.samples.insert("jobs".into(), Sample { value: v, at }).map(|_| ()),
            None => s.problems.insert("jobs".into(), "no pool \"jobs\" in this agent".into()).map(|_| ()),
        };
        s
    }

    #[test]
    fn the_average_needs_every_task_and_the_heard_ones_give_a_lower_bound() {
        let t0 = chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap();
        let t1 = t0 + chrono::TimeDelta::seconds(5);
        let own = Sample { value: 10.0, at: t1 };
        let all = [(target(2), Ok(signals(2, Some(10.0), t0))), (target(3), Ok(signals(3, Some(100.0), t1)))];
        let (r, b) = across("jobs", (&target(1), Ok(own)), &all);
        assert_eq!(r, Ok(Sample { value: 40.0, at: t0 }), "the average, at the oldest reading's time");
        assert_eq!((b.heard, b.of, b.lower_bound), (3, 3, None));

        // Task 3 silent, task 2 without the metric, an address now answered by another task.
        let some = [
            (target(2), Ok(signals(2, None, t0))),
            (target(3), Err("GET http://10.0.0.3:9464/peer: connection refused".to_owned())),
            (target(4), Ok(signals(9, Some(50.0), t0))),
            (target(5), Ok(signals(5, Some(30.0), t0))),
        ];
        let (r, b) = across("jobs", (&target(1), Ok(own)), &some);
        let why = r.unwrap_err();
        assert!(
            why.starts_with(
                "2 of 5 tasks answered; task 10.0.0.2: no pool \"jobs\" in this agent; task 10.0.0.3: GET"
            ),
            "{why}"
        );
        assert!(why.contains("task 10.0.0.4: the agent there is task arn:task/9's"), "{why}");
        // (10 + 30) / 5, the unheard counted as 0.
        assert_eq!(b.lower_bound, Some(Sample { value: 8.0, at: t0 }));

        let long = [(target(2), Err("x".repeat(10_000)))];
        let (r, _) = across("jobs", (&target(1), Ok(own)), &long);
        assert!(r.unwrap_err().len() < 300, "another agent's reason is bounded");
    }
}
