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
    /// Starts `trimtab run --local` with the config `config(port)` returns (it must listen on
    /// `127.0.0.1:port`); `name` keeps the temp dirs of concurrent tests apart.
    pub fn start(name: &str, config: impl FnOnce(u16) -> String) -> LocalAgent {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("trimtab-{name}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, config(port)).unwrap();
        let child = Command::new(BIN)
            .args(["run", "--local", "--config", file.to_str().unwrap()])
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

impl Drop for LocalAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
