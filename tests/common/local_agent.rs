//! A `trimtab run --local` process for tests: its config in a temp dir, its API on a free
//! loopback port; killed and cleaned up when dropped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_trimtab");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct LocalAgent {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
    /// The temp dir holding the config; removed on drop.
    pub dir: PathBuf,
}

impl LocalAgent {
    /// Polls `GET {path}` (JSON) until `f` holds, for at most `secs`; the last answer.
    pub async fn poll(
        &self,
        path: &str,
        secs: u64,
        what: &str,
        f: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let r = self.http.get(format!("{}{path}", self.base)).send().await;
            let v = match r {
                Ok(r) => serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            if f(&v) {
                return v;
            }
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}: {v}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Starts `trimtab run --local` with the config `config(port)` returns (it must listen on
    /// `127.0.0.1:port`); `name` keeps the temp dirs of concurrent tests apart.
    pub fn start(name: &str, config: impl FnOnce(u16) -> String) -> LocalAgent {
        Self::spawn(name, None, &[], config)
    }

    /// As [`LocalAgent::start`], with these environment variables set for the agent.
    pub fn start_with_env(
        name: &str,
        env: &[(&str, &str)],
        config: impl FnOnce(u16) -> String,
    ) -> LocalAgent {
        Self::spawn(name, None, env, config)
    }

    /// As [`LocalAgent::start`], with the agent's open files limited to `open_files` (`ulimit
    /// -n`, as a small container might set it).
    pub fn start_with_open_files(
        name: &str,
        open_files: u32,
        config: impl FnOnce(u16) -> String,
    ) -> LocalAgent {
        Self::spawn(name, Some(open_files), &[], config)
    }

    fn spawn(
        name: &str,
        open_files: Option<u32>,
        env: &[(&str, &str)],
        config: impl FnOnce(u16) -> String,
    ) -> LocalAgent {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("trimtab-{name}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, config(port)).unwrap();
        let mut command = match open_files {
            // `exec` keeps the pid: it is the agent's.
            Some(n) => {
                let mut c = Command::new("sh");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), BIN]);
                c
            }
            None => Command::new(BIN),
        };
        let child = command
            .args(["run", "--local", "--config", file.to_str().unwrap()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        LocalAgent {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            dir,
        }
    }
}

impl LocalAgent {
    /// A `kB` field of the agent's `/proc/<pid>/status`: `VmRSS`, `VmHWM` (the peak RSS)…
    pub fn proc_status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for LocalAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
