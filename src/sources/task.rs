//! This task, first-hand, from the ECS task metadata endpoint v4: CPU % of the task's CPU
//! limit from successive cumulative counters, memory % of its memory limit. What can't be
//! computed (no limit, a field the stats left out) is a problem for that metric, never a zero.

use super::ecs_metadata::{self, TaskInfo, TaskStats};
use crate::config::model::Resource;
use crate::core::Sample;

pub struct TaskSource {
    base: String,
    metrics: Vec<(String, Resource)>,
    task: Option<TaskInfo>,
    prev: Option<TaskStats>,
}

impl TaskSource {
    pub fn new(base: &str, metrics: Vec<(String, Resource)>) -> Self {
        TaskSource { base: base.trim_end_matches('/').to_owned(), metrics, task: None, prev: None }
    }

    pub async fn read(&mut self, http: &reqwest::Client) -> Vec<(String, Result<Sample, String>)> {
        let r = self.fetch(http).await;
        let (task, cur) = match r {
            Ok(x) => x,
            Err(why) => return self.metrics.iter().map(|(n, _)| (n.clone(), Err(why.clone()))).collect(),
        };
        let out = self
            .metrics
            .iter()
            .map(|(name, r)| {
                let v = match r {
                    Resource::Cpu => ecs_metadata::cpu_percent(self.prev.as_ref(), &cur, &task)
                        .map_err(|e| format!("task CPU % unavailable: {e}")),
                    Resource::Memory => ecs_metadata::memory_percent(&cur, &task)
                        .map_err(|e| format!("task memory % unavailable: {e}")),
                };
                (name.clone(), v.map(|value| Sample { value, at: cur.read }))
            })
            .collect();
        self.prev = Some(cur);
        out
    }

    async fn fetch(&mut self, http: &reqwest::Client) -> Result<(TaskInfo, TaskStats), String> {
        let task = match &self.task {
            Some(t) => t.clone(),
            None => {
                let text = super::get_text(http, &format!("{}/task", self.base)).await?;
                let t = ecs_metadata::parse_task(&text).map_err(|e| e.to_string())?;
                self.task = Some(t.clone());
                t
            }
        };
        let text = super::get_text(http, &format!("{}/task/stats", self.base)).await?;
        let stats = ecs_metadata::parse_stats(&text).map_err(|e| e.to_string())?;
        Ok((task, stats))
    }
}

/// This task's ARN, for leader election.
pub async fn own_task_arn(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let text = super::get_text(http, &format!("{}/task", base.trim_end_matches('/'))).await?;
    Ok(ecs_metadata::parse_task(&text).map_err(|e| e.to_string())?.task_arn)
}
