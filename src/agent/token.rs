//! The local API's bearer token, and where the API may listen without one.
//!
//! The token comes from `agent.api_token` in the config or, at run time, from the
//! `TRIMTAB_API_TOKEN` environment variable (so a config can be shared, or kept in a task
//! definition, without the secret). That is why `trimtab check` cannot refuse an `agent.listen`
//! other hosts can reach for want of a token: the token may come only when the agent runs.
//! `trimtab run` refuses it then, before anything else, and exits 2 like a config error.
//! A loopback address (`127.0.0.0/8`, `::1`) is reachable only from the task itself; any other,
//! `0.0.0.0` above all, lets other hosts in, and then the token must guard the writes.

use std::net::SocketAddr;

use crate::config::model::AgentConfig;
pub use crate::config::model::MIN_TOKEN_LEN;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("TRIMTAB_API_TOKEN is too short to be a secret: use at least {MIN_TOKEN_LEN} characters")]
    TooShort,
    #[error(
        "agent.listen = \"{listen}\" lets other hosts reach the API, and no API token is set: set \
         agent.api_token or TRIMTAB_API_TOKEN (at least {MIN_TOKEN_LEN} characters), or listen on 127.0.0.1"
    )]
    OpenWithoutToken { listen: SocketAddr },
}

/// The token the API's writes need: the config's, else `env` (`TRIMTAB_API_TOKEN`); a blank
/// one is none.
pub fn api_token(agent: &AgentConfig, env: Option<String>) -> Result<Option<String>, TokenError> {
    let token = agent.api_token.clone().or(env).filter(|t| !t.is_empty());
    match token {
        Some(t) if t.trim().len() < MIN_TOKEN_LEN => Err(TokenError::TooShort),
        token => Ok(token),
    }
}

/// Refuses to serve the API beyond loopback without a token.
pub fn check_listen(listen: SocketAddr, token: Option<&str>) -> Result<(), TokenError> {
    if token.is_none() && !listen.ip().to_canonical().is_loopback() {
        return Err(TokenError::OpenWithoutToken { listen });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(listen: &str, token: Option<&str>) -> AgentConfig {
        AgentConfig {
            interval: chrono::TimeDelta::seconds(15),
            listen: listen.parse().unwrap(),
            dry_run: false,
            api_token: token.map(str::to_owned),
            mode: crate::config::model::Mode::Sidecar,
            leader_check: chrono::TimeDelta::seconds(60),
        }
    }

    const SECRET: &str = "0123456789abcdef";

    #[test]
    fn the_token_comes_from_the_config_else_the_environment() {
        let from_env = Some(SECRET.to_owned());
        assert_eq!(api_token(&agent("127.0.0.1:9464", None), None), Ok(None));
        assert_eq!(api_token(&agent("127.0.0.1:9464", None), Some(String::new())), Ok(None));
        assert_eq!(api_token(&agent("127.0.0.1:9464", None), from_env.clone()), Ok(from_env.clone()));
        let file = "fedcba9876543210-from-the-file";
        assert_eq!(api_token(&agent("127.0.0.1:9464", Some(file)), from_env), Ok(Some(file.to_owned())));
        assert_eq!(
            api_token(&agent("127.0.0.1:9464", None), Some("short".into())),
            Err(TokenError::TooShort)
        );
    }

    /// Issue 14: `listen = "0.0.0.0:…"` without a token used to be accepted silently.
    #[test]
    fn issue_14_beyond_loopback_the_api_needs_a_token() {
        for open in ["0.0.0.0:9464", "[::]:9464", "10.0.1.17:9464", "[::ffff:10.0.1.17]:9464"] {
            let e = check_listen(open.parse().unwrap(), None).unwrap_err();
            assert_eq!(e, TokenError::OpenWithoutToken { listen: open.parse().unwrap() });
            let text = e.to_string();
            assert!(text.contains("agent.listen") && text.contains("agent.api_token"), "{text}");
            assert!(text.contains("TRIMTAB_API_TOKEN"), "{text}");
            assert_eq!(check_listen(open.parse().unwrap(), Some(SECRET)), Ok(()), "{open}");
        }
        for closed in ["127.0.0.1:9464", "127.3.2.1:80", "[::1]:9464", "[::ffff:127.0.0.1]:9464"] {
            assert_eq!(check_listen(closed.parse().unwrap(), None), Ok(()), "{closed}");
        }
    }
}
