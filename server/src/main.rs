//! `cinelock-server`: parses and validates its configuration once, then serves [`app`] (or runs
//! an administrative command).

use std::process::ExitCode;

use cinelock_server::analytics::{self, salts::Salts};
use cinelock_server::{
    AppError, AppState, Cli, Command, Role, admin, app, auth, deletion, embedded_s3, kek, now_ms,
    playback, transcode, uploads, webhooks, worker_key,
};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // s3s and s3s-fs (the embedded store) log whole requests, presigned query strings
    // included, below warn: those levels stay off whatever RUST_LOG asks for.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into())
        .add_directive("s3s=warn".parse().expect("static directive"))
        .add_directive("s3s_fs=warn".parse().expect("static directive"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cinelock-server: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<(), AppError> {
    let command = cli.command.unwrap_or(Command::Serve);
    // Needs no settings: it makes the key that the settings then name.
    if let Command::GenerateWorkerKey { out } = &command {
        let (public, created) = worker_key::ensure(out)?;
        println!("{}", hex::encode(public.to_bytes()));
        if created {
            eprintln!("worker secret key written to {} (mode 0600)", out.display());
        } else {
            eprintln!("kept the worker secret key already in {}", out.display());
        }
        return Ok(());
    }
    if let Command::GenerateKek { out } = &command {
        if kek::ensure_file(out)? {
            eprintln!(
                "key-encryption key written to {} (mode 0600)",
                out.display()
            );
        } else {
            eprintln!("kept the key-encryption key already in {}", out.display());
        }
        return Ok(());
    }
    let role = if matches!(command, Command::Worker { .. }) {
        Role::Worker
    } else {
        Role::Serve
    };
    let mut settings = cli.config.validate_for(role)?;
    // Serves for as long as the command runs.
    let _embedded = embedded_s3::start_if_configured(&mut settings).await?;
    let state = AppState::new(settings).await?;
    match command {
        Command::GenerateWorkerKey { .. } | Command::GenerateKek { .. } => {
            unreachable!("handled above")
        }
        Command::Worker { concurrency } => {
            let stop = start_workers(&state, concurrency.max(1)).await?;
            let _ = tokio::signal::ctrl_c().await;
            // Jobs in hand are abandoned: their leases run out and another worker takes them.
            let _ = stop.send(true);
            Ok(())
        }
        Command::CreateApiKey { name, scopes } => {
            let key = auth::create_api_key(state.db(), &name, &scopes).await?;
            println!("{key}");
            eprintln!("API key {name:?} created; it is shown only now and stored hashed.");
            Ok(())
        }
        Command::ListApiKeys => {
            for k in auth::list_api_keys(state.db()).await? {
                println!("{}", serde_json::to_string(&k).expect("serialises"));
            }
            Ok(())
        }
        Command::RevokeApiKey { id } => {
            if auth::revoke_api_key(state.db(), &id).await? {
                eprintln!("API key {id} revoked: it is refused from now on.");
                Ok(())
            } else {
                Err(AppError::Config(format!(
                    "no API key {id} that is not revoked already (list-api-keys shows them)"
                )))
            }
        }
        Command::ConfigureBucketCors if state.settings().embedded_s3.is_some() => {
            eprintln!(
                "the embedded S3 store needs no bucket CORS rules: it answers CORS for the allowed origins itself"
            );
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

/// Starts `n` transcode workers in this process; send `true` to stop them.
async fn start_workers(
    state: &AppState,
    n: usize,
) -> Result<tokio::sync::watch::Sender<bool>, AppError> {
    let settings = state
        .settings()
        .worker
        .clone()
        .ok_or_else(|| AppError::Config("no worker settings".into()))?;
    transcode::prepare(&settings).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    for i in 0..n {
        let name = format!("{host}-{}-{i}", std::process::id());
        tokio::spawn(transcode::run(
            state.clone(),
            settings.clone(),
            name,
            stopped.clone(),
        ));
    }
    Ok(stop)
}

async fn serve(state: AppState) -> Result<(), AppError> {
    let settings = state.settings().clone();
    let _workers = if settings.workers > 0 {
        Some(start_workers(&state, settings.workers).await?)
    } else {
        None
    };
    match &settings.dev_api_key {
        Some(key) => {
            auth::store_dev_api_key(state.db(), key).await?;
            tracing::warn!(
                "!!! a well-known DEVELOPMENT API key is installed (CINELOCK_DEV_API_KEY): anyone can upload. Never do this in production. !!!"
            );
        }
        // A development key outlives its demo only until the server starts without it.
        None => {
            let revoked = auth::revoke_dev_api_keys(state.db()).await?;
            if revoked > 0 {
                tracing::info!(
                    revoked,
                    "revoked the development API key (CINELOCK_DEV_API_KEY is not set)"
                );
            }
        }
    }
    if let Ok(storage) = state.storage() {
        if settings.check_cors {
            storage
                .check_cors(&settings.allowed_origins)
                .await
                .map_err(AppError::Config)?;
        }
        // Webhooks are delivered from the outbox by every serving process (leases keep two
        // from sending the same delivery).
        tokio::spawn(webhooks::delivery::run(state.clone()));
        let reaper = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(reaper.settings().reaper_interval);
            loop {
                tick.tick().await;
                let cutoff = now_ms() - reaper.settings().abandon_after.as_millis() as i64;
                if let Err(e) = uploads::reap_abandoned(&reaper, cutoff).await {
                    tracing::warn!(error = %e, "reaper pass failed");
                }
                if let Err(e) = playback::guesses::purge(reaper.db(), now_ms()).await {
                    tracing::warn!(error = %e, "purging password-guess limits failed");
                }
                if let Err(e) = deletion::sweep(&reaper).await {
                    tracing::warn!(error = %e, "deletion sweep failed");
                }
            }
        });
    } else {
        tracing::info!(
            "no storage configured (CINELOCK_S3_ENDPOINT or CINELOCK_EMBEDDED_S3_DIR): the upload API answers 503"
        );
    }
    // Old analytics go whether or not storage is configured, and also when analytics are off
    // now but were on before (their rows and salts still age out).
    let reaper = state.clone();
    let retention = settings.analytics.retention.as_millis() as i64;
    tokio::spawn(async move {
        let idle = Salts::default();
        let mut tick = tokio::time::interval(reaper.settings().reaper_interval);
        loop {
            tick.tick().await;
            let salts = reaper.analytics().map_or(&idle, |a| a.salts());
            let purged = analytics::retention::purge(reaper.db(), salts, retention, now_ms()).await;
            if let Err(e) = purged {
                tracing::warn!(error = %e, "purging old analytics failed");
            }
        }
    });
    // Metrics on the admin address only. Printed before the API's line, which tests and
    // scripts read up to (they may stop reading there).
    let admin = tokio::net::TcpListener::bind(settings.admin_listen)
        .await
        .map_err(|e| {
            AppError::Config(format!(
                "cannot listen on {} (CINELOCK_ADMIN_LISTEN): {e}",
                settings.admin_listen
            ))
        })?;
    let admin_addr = admin
        .local_addr()
        .map_err(|e| AppError::Config(e.to_string()))?;
    println!("cinelock-server admin (metrics) on http://{admin_addr}/metrics");
    let admin_app = admin::admin_app(state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(admin, admin_app).await {
            tracing::warn!(error = %e, "the admin server stopped");
        }
    });
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| AppError::Config(format!("cannot listen on {}: {e}", settings.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::Config(e.to_string()))?;
    // Tests and scripts read this line to find the port when listening on port 0.
    println!("cinelock-server listening on http://{addr}");
    // The peer address feeds IP allow-lists (unless a trusted proxy header is configured).
    let drain = state.clone();
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| AppError::Config(format!("server failed: {e}")))?;
    // Beacons already answered 202 are written before the process ends.
    if let Some(a) = drain.analytics()
        && !a.intake().drained(std::time::Duration::from_secs(10)).await
    {
        tracing::warn!("stopped with analytics events still unwritten");
    }
    Ok(())
}
