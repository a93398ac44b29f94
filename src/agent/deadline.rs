//! A tick's bound. Every tick has a deadline (its `agent.interval`) and may also be stopped by a
//! shutdown signal. The tick runs each read through [`Deadline::read`], which cuts the read when
//! either comes, and asks [`Deadline::check`] before it starts a change (`UpdateService`,
//! `RegisterTaskDefinition`). A change once sent is never cut: its own bound (the SDK's 8 s per
//! call, [`crate::aws::OPERATION_TIMEOUT`]) applies, so a change is either made and recorded or
//! reported as failed, never dropped half-way with nobody knowing. So a tick ends at its
//! deadline, or at most one change's bound after it.
//!
//! A cut names the call that was running, and the tick puts that in its error (logs,
//! `/status`). Time is tokio's: the tests run this under a paused clock.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Why a tick stopped before its end, and during which call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Cut {
    #[error("tick deadline ({limit:?}) passed during {call}")]
    Deadline { limit: Duration, call: String },
    #[error("shutdown signal during {call}")]
    Shutdown { call: String },
}

impl Cut {
    /// The call, named more precisely than when the cut was made.
    pub fn during(self, call: String) -> Cut {
        match self {
            Cut::Deadline { limit, .. } => Cut::Deadline { limit, call },
            Cut::Shutdown { .. } => Cut::Shutdown { call },
        }
    }

    pub fn call(&self) -> &str {
        match self {
            Cut::Deadline { call, .. } | Cut::Shutdown { call } => call,
        }
    }
}

/// When the tick in progress must stop.
#[derive(Clone, Debug)]
pub struct Deadline {
    at: Instant,
    limit: Duration,
    /// Turns true on SIGTERM/SIGINT.
    stop: Option<watch::Receiver<bool>>,
}

impl Deadline {
    /// A deadline `limit` from now, which a `true` on `stop` brings forward to at once.
    pub fn new(limit: Duration, stop: Option<watch::Receiver<bool>>) -> Self {
        Deadline { at: Instant::now() + limit, limit, stop }
    }

    /// `read` to its end, unless the deadline passes or a shutdown is signalled first (then it
    /// is dropped). `call` names it in the cut, and in a DEBUG line with how long it took.
    pub async fn read<T>(&self, call: &str, read: impl Future<Output = T>) -> Result<T, Cut> {
        self.check(call)?;
        let started = Instant::now();
        let out = tokio::select! {
            biased;
            out = read => Ok(out),
            () = tokio::time::sleep_until(self.at) => Err(self.passed(call)),
            () = self.stopped() => Err(Cut::Shutdown { call: call.to_owned() }),
        };
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(call, ms, cut = out.is_err(), "tick call done");
        out
    }

    /// Whether the call `call` may still start: the deadline has not passed and no shutdown was
    /// signalled. A change asks this once, before it is sent.
    pub fn check(&self, call: &str) -> Result<(), Cut> {
        if self.stop.as_ref().is_some_and(|s| *s.borrow()) {
            return Err(Cut::Shutdown { call: call.to_owned() });
        }
        if Instant::now() >= self.at {
            return Err(self.passed(call));
        }
        Ok(())
    }

    fn passed(&self, call: &str) -> Cut {
        Cut::Deadline { limit: self.limit, call: call.to_owned() }
    }

    /// Resolves once a shutdown is signalled; never without a signal to wait for.
    async fn stopped(&self) {
        let Some(stop) = &self.stop else { return std::future::pending().await };
        if stop.clone().wait_for(|s| *s).await.is_err() {
            // The sender is gone: no signal will ever come.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn a_read_is_cut_at_the_deadline_and_named() {
        let d = Deadline::new(15 * SECOND, None);
        let started = Instant::now();
        assert_eq!(d.read("ecs:DescribeServices", tokio::time::sleep(2 * SECOND)).await, Ok(()));
        let slow = tokio::time::sleep(60 * SECOND);
        let cut = d.read("cloudwatch:GetMetricData", slow).await.unwrap_err();
        assert_eq!(cut.to_string(), "tick deadline (15s) passed during cloudwatch:GetMetricData");
        assert_eq!(started.elapsed(), 15 * SECOND, "cut exactly at the deadline");
        // Past the deadline nothing starts, not even a change.
        assert_eq!(d.check("ecs:UpdateService").unwrap_err().call(), "ecs:UpdateService");
        let never = d.read("cloudwatch:PutMetricData", async { panic!("must not start") });
        assert!(never.await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_cuts_a_read_at_once_and_starts_no_change() {
        let (tx, rx) = watch::channel(false);
        let d = Deadline::new(15 * SECOND, Some(rx));
        let started = Instant::now();
        let signal = async {
            tokio::time::sleep(SECOND).await;
            tx.send_replace(true);
        };
        let (cut, ()) = tokio::join!(d.read("ecs:ListTasks", tokio::time::sleep(10 * SECOND)), signal);
        assert_eq!(cut.unwrap_err(), Cut::Shutdown { call: "ecs:ListTasks".into() });
        assert_eq!(started.elapsed(), SECOND);
        assert!(d.check("ecs:UpdateService").is_err(), "no change starts after the signal");
        // That a change once sent is not cut (it is not read through the deadline) is shown end
        // to end by agent_bounds::issue_14_sigterm_during_update_service_waits_for_the_change_….
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_signal_sender_only_the_deadline_counts() {
        let (tx, rx) = watch::channel(false);
        drop(tx);
        let d = Deadline::new(SECOND, Some(rx));
        let cut = d.read("x", std::future::pending::<()>()).await.unwrap_err();
        assert!(matches!(cut, Cut::Deadline { .. }), "{cut}");
    }
}
