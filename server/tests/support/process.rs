//! The `cinelock-server` binary as a process: started with exactly the environment a test gives
//! it, read until it prints its address, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The server binary: cargo names it to the server's own tests; other packages' tests (the
/// CLI's) find it beside their own executable's build directory, where a workspace build puts it.
pub fn bin() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_cinelock-server") {
        Some(b) => b.into(),
        None => {
            let exe = std::env::current_exe().unwrap();
            // target/<profile>/deps/<test> → target/<profile>/cinelock-server
            let bin = exe
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .join("cinelock-server");
            assert!(
                bin.exists(),
                "{} is missing: build it first (cargo build -p cinelock-server, or test the workspace)",
                bin.display()
            );
            bin
        }
    }
}

/// The binary with an empty environment: no CINELOCK_* from whatever runs the tests.
pub fn server() -> Command {
    let mut c = Command::new(bin());
    c.env_clear();
    c
}

/// A running server; killed on drop.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` (a [`server`] with its settings) and returns it with every line it printed
/// up to the one with its API's address, which is the last line.
pub async fn start(mut command: Command) -> (Running, Vec<String>) {
    let mut child = Running(
        command
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    // Read off the async runtime.
    let lines = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.contains("listening on http://");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    });
    let lines = tokio::time::timeout(Duration::from_secs(20), lines)
        .await
        .expect("the server printed its address within 20 s")
        .unwrap();
    (child, lines)
}

/// The API's base URL from what [`start`] read.
pub fn api_url(lines: &[String]) -> String {
    lines
        .last()
        .and_then(|l| l.split("listening on ").nth(1))
        .expect("a listening line")
        .trim()
        .to_owned()
}
