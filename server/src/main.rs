//! `cinelock-server`: parses and validates its configuration once, then serves [`app`].

use cinelock_server::{AppState, Config, app};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let config = match Config::parse().validate() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cinelock-server: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cinelock-server: cannot listen on {}: {e}", config.listen);
            return std::process::ExitCode::from(2);
        }
    };
    let addr = listener.local_addr().expect("bound socket has an address");
    // Tests and scripts read this line to find the port when listening on port 0.
    println!("cinelock-server listening on http://{addr}");
    let state = AppState::new(config);
    let serve = axum::serve(listener, app(state)).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    if let Err(e) = serve.await {
        eprintln!("cinelock-server: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
