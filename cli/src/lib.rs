//! The `cinelock` command: a native client of a Cinelock server's public API, for terminals,
//! servers and scripts. It seals with the core at native speed (every core), into exactly the
//! format the browser writes, and drives the same sans-IO upload engine, so retries, URL
//! expiry and resume behave as in the browser.
//!
//! `cli` declares the command line; [`run`] resolves the settings and hands each command to
//! the module that owns it: [`upload`] (the engine's driver), [`import`] (folders and buckets),
//! [`assets`] (list, show, wait), [`download`]. Every failure is a [`CliError`], whose exit
//! code scripts can rely on (docs/cli.md).

pub mod api;
pub mod assets;
pub mod cli;
pub mod config;
pub mod download;
mod error;
pub mod import;
pub mod output;
pub mod source;
pub mod state;
pub mod upload;

use std::time::Duration;

pub use error::CliError;

use crate::api::Api;
use crate::cli::{AssetsCommand, Cli, Command};
use crate::output::Output;
use crate::source::{BucketAccess, Source};
use crate::state::State;
use crate::upload::UploadOptions;
use cinelock_core::upload::UploadConfig;

/// Runs one parsed command line.
pub async fn run(cli: Cli, out: &Output) -> Result<(), CliError> {
    let settings = config::resolve(&cli.given())?;
    let api = Api::new(&settings);
    let state = State::new(&settings.state_dir, &settings.endpoint);
    match cli.command {
        Command::Upload { files, upload } => {
            let opts = upload.options(&settings.profile)?;
            let mut first_error = None;
            for file in &files {
                let result = match Source::file(file) {
                    Ok(source) if source.is_empty() => Err(CliError::Usage(format!(
                        "{} is empty: there is nothing to upload",
                        file.display()
                    ))),
                    Ok(source) => upload::upload(&api, &state, &source, &opts, out).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(done) => out.result(
                        &done.asset_id,
                        &format!(
                            "{}  {} ({}, {:.1} MB/s{})",
                            done.asset_id,
                            file.display(),
                            assets::human_bytes(done.size),
                            done.size as f64 / done.seconds.max(1e-3) / 1e6,
                            if done.resumed_parts > 0 {
                                format!(", {} parts resumed", done.resumed_parts)
                            } else {
                                String::new()
                            }
                        ),
                        serde_json::json!({
                            "type": "uploaded",
                            "file": file,
                            "assetId": done.asset_id,
                            "uploadId": done.upload_id,
                            "bytes": done.size,
                            "seconds": done.seconds,
                            "resumedParts": done.resumed_parts,
                            "sentParts": done.sent_parts,
                        }),
                    ),
                    Err(CliError::Interrupted) => return Err(CliError::Interrupted),
                    Err(e) => {
                        report(out, &e, Some(&file.display().to_string()));
                        first_error.get_or_insert(e);
                    }
                }
            }
            // Every file was tried; the first failure decides the exit code (already reported).
            first_error.map_or(Ok(()), |e| Err(CliError::Reported(Box::new(e))))
        }
        Command::Import {
            from,
            upload,
            source,
            ext,
            force,
            watch,
            interval,
        } => {
            let opts = upload.options(&settings.profile)?;
            let p = &settings.profile;
            let access = BucketAccess {
                endpoint: source.source_endpoint.or_else(|| p.source_endpoint.clone()),
                region: source.source_region.or_else(|| p.source_region.clone()),
                access_key: source
                    .source_access_key
                    .or_else(|| p.source_access_key.clone()),
                secret_key: source
                    .source_secret_key
                    .or_else(|| p.source_secret_key.clone()),
            };
            let import = import::ImportOptions {
                extensions: ext
                    .iter()
                    .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                    .collect(),
                force,
                watch,
                interval: Duration::from_secs_f64(interval.max(0.1)),
            };
            import::run(&api, &state, &from, &access, &opts, &import, out).await
        }
        Command::Assets { command } => match command {
            AssetsCommand::Ls { status, limit, all } => {
                assets::list(&api, status.as_deref(), (!all).then_some(limit), out).await
            }
            AssetsCommand::Show { id } => assets::show(&api, &id, out).await,
            AssetsCommand::Wait {
                id,
                timeout,
                interval,
            } => {
                assets::wait(
                    &api,
                    &id,
                    Duration::from_secs_f64(timeout),
                    Duration::from_secs_f64(interval.max(0.1)),
                    out,
                )
                .await
            }
        },
        Command::Download {
            id,
            out: path,
            token,
            password,
        } => {
            download::download(
                &api,
                &id,
                download::Credentials { token, password },
                &path,
                out,
            )
            .await
        }
    }
}

/// Prints a failure: a line on stderr, or a JSON line with `--json`.
pub fn report(out: &Output, e: &CliError, about: Option<&str>) {
    if out.mode() == output::Mode::Json {
        let mut line = serde_json::json!({"type": "error", "kind": e.kind(), "error": e.to_string(), "exitCode": e.exit_code()});
        if let Some(a) = about {
            line["file"] = a.into();
        }
        if let CliError::Refused { code, reason, .. } = e {
            line["code"] = code.clone().into();
            if let Some(r) = reason {
                line["reason"] = r.clone().into();
            }
        }
        println!("{line}");
    } else {
        match about {
            Some(a) => eprintln!("cinelock: {a}: {e}"),
            None => eprintln!("cinelock: {e}"),
        }
    }
}

/// The default parts in flight: enough to keep a fast link busy while every core seals.
pub const DEFAULT_PARALLEL: usize = 6;

impl cli::UploadArgs {
    /// The upload options these flags (and the profile) give.
    pub fn options(&self, profile: &config::Profile) -> Result<UploadOptions, CliError> {
        let insecure_seed = match &self.insecure_seed {
            Some(h) => Some(
                hex::decode(h)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| {
                        CliError::Usage(format!(
                            "--insecure-seed must be {} bytes in hex",
                            cinelock_core::SEED_LEN
                        ))
                    })?,
            ),
            None => None,
        };
        let parallel = self
            .parallel
            .or(profile.parallel)
            .unwrap_or(DEFAULT_PARALLEL);
        if !(1..=32).contains(&parallel) {
            return Err(CliError::Usage(format!(
                "--parallel must be 1 to 32, not {parallel}"
            )));
        }
        let complete_timeout_ms = match self.complete_timeout {
            None => UploadConfig::default().complete_timeout_ms,
            Some(0.0) => None,
            Some(s) if s.is_finite() && s > 0.0 => Some((s * 1000.0).ceil() as u64),
            Some(s) => {
                return Err(CliError::Usage(format!(
                    "--complete-timeout must be seconds, 0 or more, not {s}"
                )));
            }
        };
        Ok(UploadOptions {
            parallel,
            part_size: self.part_size_mib.map(|m| m * 1024 * 1024),
            chunk_size: self.chunk_size,
            complete_timeout_ms,
            insecure_seed,
        })
    }
}
