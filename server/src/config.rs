//! Configuration: parsed from flags and `CINELOCK_*` environment variables, validated once at
//! start-up so that a bad setting stops the server with a clear message instead of failing later.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::AppError;

/// Command-line flags and environment variables (flags win).
#[derive(Debug, Clone, Parser)]
#[command(name = "cinelock-server", version, about)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, env = "CINELOCK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the demo pages (served at `/`).
    #[arg(long, env = "CINELOCK_DEMO_DIR", default_value = "player-demo")]
    pub demo_dir: PathBuf,
    /// Directory of the built npm package (its `dist/` and `pkg/` are served under `/sdk/`).
    #[arg(long, env = "CINELOCK_SDK_DIR", default_value = "npm")]
    pub sdk_dir: PathBuf,
}

impl Config {
    /// Checks that everything the server will serve is there.
    pub fn validate(self) -> Result<Self, AppError> {
        let must_exist = [
            (
                self.demo_dir.join("index.html"),
                "the demo pages (CINELOCK_DEMO_DIR)",
            ),
            (
                self.sdk_dir.join("dist/index.js"),
                "the built SDK (CINELOCK_SDK_DIR; run scripts/build-sdk)",
            ),
            (
                self.sdk_dir.join("pkg/cinelock_sdk_wasm_bg.wasm"),
                "the SDK's wasm (run scripts/build-sdk)",
            ),
        ];
        for (path, what) in must_exist {
            if !path.is_file() {
                return Err(AppError::Config(format!(
                    "{} not found: {what}",
                    path.display()
                )));
            }
        }
        Ok(self)
    }
}
