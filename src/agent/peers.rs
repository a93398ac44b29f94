//! The leader's view of every task: each task's own signals (`GET /peer`, see
//! [`sources::peer`]) averaged over the service, and the busiest task's app for the right-sizer.

use super::Agent;
use super::deadline::{Cut, Deadline};
use super::spend::Spend;
use crate::sources;
use crate::status::{AppLoad, Signals};

impl Agent {
    /// This task's own readings of the metrics measured task by task, for `GET /peer`.
    pub(super) fn own_signals(&self, g: &sources::Gathered) -> Signals {
        let mut own =
            Signals { task: self.own_task.clone(), app: self.monitor.app_load(), ..Signals::default() };
        for m in self.sources.per_task_metrics() {
            if let Some(s) = g.samples.get(&m) {
                own.samples.insert(m, *s);
            } else if let Some(why) = g.problems.get(&m) {
                own.problems.insert(m, why.clone());
            }
        }
        own
    }

    /// The leader: the metrics measured task by task become their average over every RUNNING
    /// task, from each other task's agent (`GET /peer` on its private IP, with the API token),
    /// at most 16 asked at once (see [`sources::peer::across`]). Without a way to reach the other
    /// agents (the API on `127.0.0.1`), this task's own readings stand for the service.
    pub(super) async fn across_tasks(&mut self, g: &mut sources::Gathered, dl: &Deadline) -> Result<(), Cut> {
        use futures_util::StreamExt;
        let metrics = self.sources.per_task_metrics();
        // The other tasks are asked when a metric or the right-sizer needs them.
        let sizes = self.spend.as_ref().is_some_and(Spend::sizes);
        let (Some(port), Some(own), true) =
            (self.probe_port, self.own_task.clone(), !metrics.is_empty() || sizes)
        else {
            return Ok(());
        };
        let running = self.tasks.iter().filter(|t| t.last_status == "RUNNING");
        let own_ip = self.tasks.iter().find(|t| t.arn == own).and_then(|t| t.address.clone().ok());
        let me = sources::TaskTarget { task: own.clone(), ip: own_ip.unwrap_or(sources::NO_ADDRESS) };
        let (http, token) = (&self.http, self.peer_token.as_deref());
        let ask = |t: &crate::aws::TaskState| {
            let target = sources::TaskTarget {
                task: t.arn.clone(),
                ip: t.address.clone().unwrap_or(sources::NO_ADDRESS),
            };
            let address = t.address.clone();
            async move {
                let answer = match address {
                    Ok(ip) => sources::peer::signals(http, ip, port, token).await,
                    Err(why) => Err(why),
                };
                (target, answer)
            }
        };
        let others =
            futures_util::stream::iter(running.filter(|t| t.arn != own)).map(ask).buffered(16).collect();
        let answers: Vec<_> = dl.read("other tasks' /peer", others).await?;
        // Right-sizing: the busiest task's app (see `AppLoad::busiest`).
        let loads: Vec<Option<AppLoad>> = std::iter::once(self.monitor.app_load())
            .chain(answers.iter().map(|(_, a)| a.as_ref().ok().and_then(|s| s.app)))
            .collect();
        self.busiest = AppLoad::busiest(&loads);
        for m in metrics {
            let mine = match (g.samples.remove(&m), g.problems.remove(&m)) {
                (Some(s), _) => Ok(s),
                (None, why) => Err(why.unwrap_or_else(|| format!("no reading of {m}"))),
            };
            let (r, breakdown) = sources::peer::across(&m, (&me, mine), &answers);
            match r {
                Ok(s) => g.samples.insert(m.clone(), s).map(|_| ()),
                Err(why) => g.problems.insert(m.clone(), why).map(|_| ()),
            };
            g.add_breakdown(m, breakdown);
        }
        Ok(())
    }
}
