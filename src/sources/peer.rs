//! Another task's trimtab, asked over the task network on its private IP and the API's port:
//! - a follower asks the leader's agent whether it is alive and still leads (`GET /healthz`), so
//!   that followers need no AWS call to notice a leader gone (see `agent::leader`);
//! - the leader asks every other task's agent for its own signals (`GET /peer`, with the API
//!   token): the metrics measured task by task, which it then averages across the tasks
//!   ([`across`]).

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

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
) -> Result<crate::status::Signals, String> {
    let url = format!("http://{}/peer", SocketAddr::new(ip, port));
    let mut req = http.get(&url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let text = super::read_text(req, &url).await?;
    serde_json::from_str(&text).map_err(|e| format!("GET {url}: not trimtab's /peer: {e}"))
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
}
