//! `cinelock-server`: parses and validates its configuration once, then serves [`app`] (or runs
//! an administrative command).

use std::process::ExitCode;

use cinelock_server::{AppError, AppState, Cli, Command, app, auth, now_ms, uploads};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into()),
        )
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cinelock-server: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<(), AppError> {
    let settings = cli.config.validate()?;
    let state = AppState::new(settings).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::CreateApiKey { name, scopes } => {
            let key = auth::create_api_key(state.db(), &name, &scopes).await?;
            println!("{key}");
            eprintln!("API key {name:?} created; it is shown only now and stored hashed.");
            Ok(())
        }
        Command::ConfigureBucketCors => {
            state
                .storage()?
                .configure_cors(&state.settings().allowed_origins)
                .await?;
            eprintln!("bucket CORS rules written");
            Ok(())
        }
        Command::Serve => serve(state).await,
    }
}

async fn serve(state: AppState) -> Result<(), AppError> {
    let settings = state.settings().clone();
    if let Some(key) = &settings.dev_api_key {
        auth::store_api_key(state.db(), "development", key, "uploads:write,uploads:read").await?;
        tracing::warn!(
            "!!! a well-known DEVELOPMENT API key is installed (CINELOCK_DEV_API_KEY): anyone can upload. Never do this in production. !!!"
        );
    }
    if let Ok(storage) = state.storage() {
        if settings.check_cors {
            storage
                .check_cors(&settings.allowed_origins)
                .await
                .map_err(AppError::Config)?;
        }
        let reaper = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(reaper.settings().reaper_interval);
            loop {
                tick.tick().await;
                let cutoff = now_ms() - reaper.settings().abandon_after.as_millis() as i64;
                if let Err(e) = uploads::reap_abandoned(&reaper, cutoff).await {
                    tracing::warn!(error = %e, "reaper pass failed");
                }
            }
        });
    } else {
        tracing::info!("no storage configured (CINELOCK_S3_ENDPOINT): the upload API answers 503");
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| AppError::Config(format!("cannot listen on {}: {e}", settings.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::Config(e.to_string()))?;
    // Tests and scripts read this line to find the port when listening on port 0.
    println!("cinelock-server listening on http://{addr}");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| AppError::Config(format!("server failed: {e}")))
}
