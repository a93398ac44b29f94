//! The task's scale-in protection, set and cleared through the ECS agent's endpoint inside the
//! task (`$ECS_AGENT_URI/task-protection/v1/state`), by the rule of
//! [`crate::core::protection`].
//!
//! The endpoint, as AWS documents it (fixtures and their source in
//! `tests/fixtures/ecs-agent/`): `PUT` with `{"ProtectionEnabled": true, "ExpiresInMinutes": N}`
//! (1 to 2880; ECS's default 120) or `{"ProtectionEnabled": false}`, `GET` for the state. It
//! answers `{"protection": {"ExpirationDate", "ProtectionEnabled", "TaskArn"}}`, or
//! `{"failure": {"Arn", "Reason", "Detail"}}` (e.g. `TASK_NOT_VALID` for a task outside a
//! service), or `{"error": {"Arn", "Code", "Message"}}` (e.g. `AccessDeniedException` when the
//! task role lacks `ecs:UpdateTaskProtection`). The ECS agent makes the API call with the task
//! role's credentials; trimtab only talks to the local endpoint.
//!
//! Busy means: a pool of this agent holds a reservation, or the app's `busy_url` says so. That
//! endpoint answers `GET` with `true` or `false` (surrounding white space ignored), or a JSON
//! object with a boolean `busy`; anything else, or no answer, is "cannot tell", which changes
//! nothing. Every read is bounded in time ([`super::HTTP_TIMEOUT`]) and size
//! ([`super::MAX_BODY_BYTES`]); nothing it answers can fail the tick.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use tracing::{info, warn};

use super::pools::PoolSet;
use super::{error_chain, get_text, read_bounded};
use crate::config::model::ProtectionConfig;
use crate::core::protection::{self, Busy, Rule, State, Step};
use crate::status::ProtectionView;

/// The endpoint's path under `$ECS_AGENT_URI`.
pub const PATH: &str = "/task-protection/v1/state";

/// What the endpoint says of the task's protection.
#[derive(Clone, Debug, PartialEq)]
pub struct Protection {
    pub enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub task_arn: Option<String>,
}

/// A call to the endpoint that did not give the task's protection. `call` names the method
/// and URL.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProtectionError {
    /// No answer, a timeout, a body too large or not text.
    #[error("{0}")]
    Unreachable(String),
    #[error("{call}: the ECS agent reports failure {reason}{}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Failure { call: String, reason: String, detail: Option<String> },
    #[error("{call}: the ECS agent reports error {code}: {message}")]
    Error { call: String, code: String, message: String },
    #[error("{call}: unexpected answer (HTTP {status}): {body}")]
    Unexpected { call: String, status: u16, body: String },
}

/// The ECS agent's task protection endpoint.
#[derive(Clone, Debug)]
pub struct AgentEndpoint {
    http: reqwest::Client,
    url: String,
}

impl AgentEndpoint {
    /// The endpoint under `agent_uri` (`$ECS_AGENT_URI`).
    pub fn new(http: reqwest::Client, agent_uri: &str) -> AgentEndpoint {
        AgentEndpoint { http, url: format!("{}{PATH}", agent_uri.trim_end_matches('/')) }
    }

    /// `PUT`: protect the task for `minutes` (`ExpiresInMinutes`), or clear its protection.
    pub async fn put(&self, enabled: bool, minutes: Option<u32>) -> Result<Protection, ProtectionError> {
        let call = format!("PUT {}", self.url);
        let mut body = serde_json::json!({ "ProtectionEnabled": enabled });
        if let (true, Some(m)) = (enabled, minutes) {
            body["ExpiresInMinutes"] = m.into();
        }
        let req = self.http.put(&self.url).header("content-type", "application/json").body(body.to_string());
        answer(req, call).await
    }

    /// `GET`: the task's protection now.
    pub async fn get(&self) -> Result<Protection, ProtectionError> {
        answer(self.http.get(&self.url), format!("GET {}", self.url)).await
    }
}

async fn answer(req: reqwest::RequestBuilder, call: String) -> Result<Protection, ProtectionError> {
    let resp =
        req.send().await.map_err(|e| ProtectionError::Unreachable(format!("{call}: {}", error_chain(&e))))?;
    let status = resp.status().as_u16();
    let text = read_bounded(resp, &call).await.map_err(ProtectionError::Unreachable)?;
    parse(&call, status, &text)
}

#[derive(Deserialize)]
struct Body {
    protection: Option<RawProtection>,
    failure: Option<RawFailure>,
    error: Option<RawError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawProtection {
    expiration_date: Option<serde_json::Value>,
    protection_enabled: bool,
    task_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawFailure {
    reason: Option<String>,
    detail: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawError {
    code: Option<String>,
    message: Option<String>,
}

/// The endpoint's answer, whatever its status: the body says what happened.
fn parse(call: &str, status: u16, text: &str) -> Result<Protection, ProtectionError> {
    let unexpected = || ProtectionError::Unexpected {
        call: call.to_owned(),
        status,
        body: text.chars().take(200).collect(),
    };
    let body: Body = serde_json::from_str(text).map_err(|_| unexpected())?;
    if let Some(e) = body.error {
        let code = e.code.unwrap_or_else(|| "(no code)".into());
        let message = e.message.unwrap_or_default();
        return Err(ProtectionError::Error { call: call.to_owned(), code, message });
    }
    if let Some(f) = body.failure {
        let reason = f.reason.unwrap_or_else(|| "(no reason)".into());
        return Err(ProtectionError::Failure { call: call.to_owned(), reason, detail: f.detail });
    }
    match body.protection {
        Some(p) if (200..300).contains(&status) => Ok(Protection {
            enabled: p.protection_enabled,
            expires_at: p.expiration_date.as_ref().and_then(date),
            task_arn: p.task_arn,
        }),
        _ => Err(unexpected()),
    }
}

/// `ExpirationDate`: RFC 3339 text in AWS's example, "epoch time" in its prose; either is read.
fn date(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    match v {
        serde_json::Value::String(s) => DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc)),
        serde_json::Value::Number(n) => DateTime::from_timestamp(n.as_f64()? as i64, 0),
        _ => None,
    }
}

/// The app's busy endpoint's answer: `true`/`false`, or `{"busy": <bool>}`.
pub fn parse_busy(url: &str, text: &str) -> Result<bool, String> {
    match text.trim() {
        "true" => return Ok(true),
        "false" => return Ok(false),
        _ => {}
    }
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    v.get("busy").and_then(serde_json::Value::as_bool).ok_or_else(|| {
        let start: String = text.trim().chars().take(60).collect();
        format!("GET {url}: expected true, false or {{\"busy\": true|false}}, got {start:?}")
    })
}

/// One task's protection, kept by its agent from tick to tick.
pub struct Protector {
    endpoint: AgentEndpoint,
    http: reqwest::Client,
    rule: Rule,
    busy_url: Option<String>,
    pools: PoolSet,
    state: State,
    view: ProtectionView,
}

impl Protector {
    /// Protection of this task by `cfg`, through the ECS agent at `agent_uri`.
    pub fn new(cfg: &ProtectionConfig, agent_uri: &str, pools: PoolSet) -> Protector {
        let http = super::http_client();
        Protector {
            endpoint: AgentEndpoint::new(http.clone(), agent_uri),
            http,
            rule: cfg.rule(),
            busy_url: cfg.busy_url.clone(),
            pools,
            state: State::default(),
            view: ProtectionView::default(),
        }
    }

    /// What `/status` shows.
    pub fn view(&self) -> &ProtectionView {
        &self.view
    }

    /// Records a tick cut short while protecting (its deadline, or shutdown).
    pub fn cut(&mut self, why: String) {
        self.view.problem = Some(why);
    }

    /// One tick: is the task busy, and set, renew or clear its protection accordingly.
    pub async fn tick(&mut self, now: DateTime<Utc>) {
        let busy = self.busy(now).await;
        let (step, idle_since) = protection::next(&self.rule, &self.state, &busy, now);
        self.state.idle_since = idle_since;
        self.view.problem = match &busy {
            Busy::Unknown(why) => Some(why.clone()),
            _ => None,
        };
        (self.view.busy, self.view.why) = match busy {
            Busy::Yes(why) => (Some(true), Some(why)),
            Busy::No => (Some(false), None),
            Busy::Unknown(why) => (None, Some(why)),
        };
        self.apply(step, now).await;
        self.view.protected = self.state.protected(now);
        self.view.expires_at = self.state.known.flatten().filter(|_| self.view.protected);
        self.view.idle_since = self.state.idle_since;
    }

    async fn apply(&mut self, step: Step, now: DateTime<Utc>) {
        let (enabled, minutes) = match step {
            Step::Nothing => return,
            Step::Set { minutes } => (true, Some(minutes)),
            Step::Clear => (false, None),
        };
        match self.endpoint.put(enabled, minutes).await {
            Ok(p) if enabled => {
                let asked =
                    now + TimeDelta::minutes(i64::from(minutes.unwrap_or(protection::DEFAULT_MINUTES)));
                let until = p.expires_at.unwrap_or(asked);
                info!(until = %until, why = self.view.why.as_deref().unwrap_or(""), "task scale-in protection set");
                self.state.set(until);
                self.view.sets_total += 1;
                self.view.last_change = Some((now, "set"));
            }
            Ok(_) => {
                info!("task scale-in protection cleared: the task is idle");
                self.state.cleared();
                self.view.clears_total += 1;
                self.view.last_change = Some((now, "cleared"));
            }
            Err(e) => {
                let problem = e.to_string();
                // A lasting failure (no permission, a task outside a service) is logged once.
                if self.view.problem.as_ref() != Some(&problem) {
                    warn!(error = %e, "task scale-in protection not changed; trying again each tick");
                }
                self.view.failures_total += 1;
                self.view.problem = Some(problem);
            }
        }
    }

    /// Busy: a pool holds a reservation, or the app says so.
    async fn busy(&self, now: DateTime<Utc>) -> Busy {
        let held: Vec<String> = self
            .pools
            .view(now)
            .iter()
            .filter(|p| p.status.active > 0)
            .map(|p| format!("pool {} holds {} reservation(s)", p.name, p.status.active))
            .collect();
        if !held.is_empty() {
            return Busy::Yes(held.join(", "));
        }
        let Some(url) = &self.busy_url else { return Busy::No };
        match get_text(&self.http, url).await.and_then(|t| parse_busy(url, &t)) {
            Ok(true) => Busy::Yes(format!("{url} says busy")),
            Ok(false) => Busy::No,
            Err(why) => Busy::Unknown(why),
        }
    }
}

#[cfg(test)]
#[path = "protection_tests.rs"]
mod tests;
