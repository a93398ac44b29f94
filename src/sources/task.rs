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

    /// The metrics this source reads.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.metrics.iter().map(|(n, _)| n.as_str())
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

/// This container's name (`Name` in the container metadata at the endpoint's root): which of a
/// task's containers is trimtab, for the ECS health status that elects the leader.
pub async fn own_container_name(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let url = base.trim_end_matches('/');
    let text = super::get_text(http, url).await?;
    ecs_metadata::parse_container_name(&text).map_err(|e| format!("GET {url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!("{}/tests/fixtures/ecs-metadata/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// An endpoint serving the published Fargate `/task` and these `/task/stats` bodies in turn,
    /// the last one from then on.
    async fn endpoint(stats: &[serde_json::Value]) -> MockServer {
        let server = MockServer::start().await;
        let task = ResponseTemplate::new(200).set_body_json(fixture("task-fargate.json"));
        Mock::given(method("GET")).and(path("/task")).respond_with(task).mount(&server).await;
        for (i, body) in stats.iter().enumerate() {
            let mock = Mock::given(method("GET"))
                .and(path("/task/stats"))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .with_priority(i as u8 + 1);
            let mock = if i + 1 < stats.len() { mock.up_to_n_times(1) } else { mock };
            mock.mount(&server).await;
        }
        server
    }

    async fn read(source: &mut TaskSource) -> Vec<Result<f64, String>> {
        let http = super::super::http_client();
        source.read(&http).await.into_iter().map(|(_, r)| r.map(|s| s.value)).collect()
    }

    fn metrics() -> Vec<(String, Resource)> {
        vec![("cpu".into(), Resource::Cpu), ("memory".into(), Resource::Memory)]
    }

    /// Issue 13: a Windows task read CPU 100× too low and memory as 0 %.
    #[tokio::test]
    async fn windows_task_cpu_counts_100ns_intervals_and_memory_is_the_private_working_set() {
        // The ECS agent's Windows stats, then the same container 10 s later with 2_500_000 more
        // 100 ns intervals (derived: no published Windows sample has an earlier one).
        let first = serde_json::json!({ "win": fixture("container-stats-windows.json") });
        let mut second = first.clone();
        second["win"]["read"] = "1970-01-01T00:00:09.99999999Z".into();
        second["win"]["cpu_stats"]["cpu_usage"]["total_usage"] = 2_500_100.into();
        let server = endpoint(&[first, second]).await;
        let mut source = TaskSource::new(&server.uri(), metrics());

        let [cpu, memory] = read(&mut source).await.try_into().unwrap();
        assert!(cpu.unwrap_err().contains("no earlier CPU sample"));
        // privateworkingset 85_532_672 B of 512 MiB = 15.93 %, not 0.
        assert!((memory.unwrap() - 15.931702).abs() < 0.01);
        let [cpu, _] = read(&mut source).await.try_into().unwrap();
        // 0.25 s of CPU in 10 s on 0.25 vCPU = 10 %, not 0.1 %.
        assert!((cpu.unwrap() - 10.0).abs() < 0.01);
    }

    /// Issue 13: an absent memory field is missing data, not 0 %.
    #[tokio::test]
    async fn stats_without_memory_usage_make_memory_missing_not_zero() {
        let mut stats = fixture("task-stats-fargate.json");
        let container = &mut stats["3d1f891cded94dc795608466cce8ddcf-464223573"];
        container["memory_stats"].as_object_mut().unwrap().remove("usage");
        let server = endpoint(&[stats]).await;
        let mut source = TaskSource::new(&server.uri(), metrics());
        let [cpu, memory] = read(&mut source).await.try_into().unwrap();
        let why = memory.unwrap_err();
        assert!(why.starts_with("task memory % unavailable: container 3d1f"), "{why}");
        assert!(why.ends_with("has no `memory_stats.usage` in its Linux stats"), "{why}");
        assert!((cpu.unwrap() - 0.042675).abs() < 0.001);
    }
}
