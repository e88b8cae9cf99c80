//! Transcode workers: claim a job, open the sealed source, run ffmpeg into the rendition
//! ladder, seal and upload every output object, then publish. Any number of workers (threads
//! of `cinelock-server worker`, on any machines sharing the database and bucket) may run.
//!
//! Plaintext exists only in this process's memory and in a private per-job directory (mode
//! 0700) that is removed when the job ends, however it ends; directories left by a worker that
//! was killed are removed when a worker next starts on that machine.

mod ffmpeg;
pub(crate) mod ladder;
mod package;
mod replay;
pub(crate) mod settings;
mod source;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cinelock_contract::ApiErrorCode;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use cinelock_core::media::{ContentKey, PackageKind};

pub use ffmpeg::ChildLimits;
pub use ffmpeg::{Plan, args as ffmpeg_args, poster_args};
pub use ladder::{Limits, Probe, Rung, ladder, probe};
pub use package::prefix as package_prefix;
pub use settings::WorkerSettings;

use crate::AppError;
use crate::jobs::{self, Claimed, JobKind, Publish};
use crate::state::AppState;

/// Seconds of source a preview covers.
pub const PREVIEW_SECONDS: f64 = 6.0;
/// Prefix of per-job work directories.
const WORK_PREFIX: &str = "cinelock-job-";

impl std::fmt::Debug for WorkerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerSettings")
            .field("secret_key", &self.secret_key)
            .field("kek", &self.kek)
            .field("work_dir", &self.work_dir)
            .field("lease", &self.lease)
            .field("preset", &self.preset)
            .field("limits", &self.limits)
            .field("job_timeout", &self.job_timeout)
            .finish_non_exhaustive()
    }
}

/// Checks that ffmpeg and ffprobe run, and removes work directories of dead workers.
pub async fn prepare(settings: &WorkerSettings) -> Result<(), AppError> {
    for tool in [&settings.ffmpeg, &settings.ffprobe] {
        let ok = tokio::process::Command::new(tool)
            .arg("-version")
            .output()
            .await
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            return Err(AppError::Config(format!(
                "{tool} does not run: transcode workers need ffmpeg and ffprobe (apt-get install ffmpeg)"
            )));
        }
    }
    std::fs::create_dir_all(&settings.work_dir).map_err(|e| {
        AppError::Config(format!(
            "cannot create {}: {e}",
            settings.work_dir.display()
        ))
    })?;
    remove_dead_work_dirs(&settings.work_dir);
    Ok(())
}

/// Work directories are named `cinelock-job-<pid>-<uuid>`; one whose process is gone holds
/// plaintext nobody will clean up otherwise.
fn remove_dead_work_dirs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(WORK_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        // Our own pid: a previous process that had it is gone (no job of ours runs yet).
        if !alive || pid == std::process::id() {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => tracing::info!(dir = name, "removed a dead worker's work directory"),
                Err(e) => {
                    tracing::warn!(dir = name, error = %e, "cannot remove a dead worker's work directory")
                }
            }
        }
    }
}

/// Runs one worker until `stop` turns true: claims jobs and processes them one at a time.
pub async fn run(
    state: AppState,
    settings: Arc<WorkerSettings>,
    name: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tracing::info!(worker = name, "transcode worker started");
    loop {
        if *stop.borrow() {
            return;
        }
        match run_once(&state, &settings, &name).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(worker = name, error = %e, "claiming a job failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Claims and processes at most one job; says whether there was one.
pub async fn run_once(
    state: &AppState,
    settings: &WorkerSettings,
    name: &str,
) -> Result<bool, AppError> {
    let lease_ms = settings.lease.as_millis() as i64;
    let Some(job) = jobs::claim(state.db(), name, lease_ms).await? else {
        return Ok(false);
    };
    tracing::info!(
        worker = name,
        job = job.id,
        asset_id = job.asset_id,
        kind = job.kind.as_str(),
        attempt = job.attempt,
        "job claimed"
    );
    let progress = Arc::new(AtomicI64::new(0));
    let work = process(state, settings, &job, progress.clone());
    let keep_lease = async {
        let mut tick = tokio::time::interval(settings.lease / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            match jobs::heartbeat(state.db(), &job, progress.load(Ordering::Relaxed), lease_ms)
                .await
            {
                Ok(()) => {}
                Err(AppError::LeaseLost) => return AppError::LeaseLost,
                // A database hiccup: the lease has slack for a few missed beats.
                Err(e) => tracing::warn!(job = job.id, error = %e, "heartbeat failed"),
            }
        }
    };
    // Losing the lease, or running out of time, drops the work future: ffmpeg is killed, the
    // work directory removed.
    let outcome = tokio::select! {
        r = work => r,
        lost = keep_lease => Err(lost),
        () = tokio::time::sleep(settings.job_timeout) => Err(AppError::Transcode {
            code: ApiErrorCode::JobTimeout,
            message: format!(
                "the transcode took longer than this server allows ({} s) and was stopped",
                settings.job_timeout.as_secs()
            ),
        }),
    };
    let prefix = package::prefix(&job.asset_id, &job.package_id);
    match outcome {
        Ok(publish) => match jobs::succeed(state.db(), &job, &publish).await {
            Ok(()) => {
                tracing::info!(
                    job = job.id,
                    asset_id = job.asset_id,
                    kind = job.kind.as_str(),
                    "package published"
                );
                remove_debris(state, &job.asset_id).await;
            }
            Err(e) => {
                tracing::warn!(job = job.id, error = %e, "publishing failed; removing the package");
                remove_prefix(state, &prefix).await;
            }
        },
        Err(AppError::LeaseLost) => {
            tracing::warn!(
                job = job.id,
                "lease lost (cancelled or taken over); work abandoned"
            );
            remove_prefix(state, &prefix).await;
        }
        Err(e) => {
            let retryable = !matches!(e, AppError::Transcode { .. } | AppError::Config(_));
            tracing::warn!(job = job.id, asset_id = job.asset_id, code = e.code().as_str(), error = %e, retryable, "job attempt failed");
            remove_prefix(state, &prefix).await;
            jobs::fail(state.db(), &job, &e, retryable).await?;
        }
    }
    Ok(true)
}

async fn remove_prefix(state: &AppState, prefix: &str) {
    if let Ok(storage) = state.storage()
        && let Err(e) = storage.delete_prefix(prefix).await
    {
        tracing::warn!(error = %e, "could not remove an unpublished package");
    }
}

/// Removes packages of dead attempts (a worker killed mid-upload leaves its objects behind).
async fn remove_debris(state: &AppState, asset_id: &str) {
    let Ok(storage) = state.storage() else { return };
    let (Ok(live), Ok(keys)) = (
        jobs::live_package_ids(state.db(), asset_id).await,
        storage
            .list_keys(&format!("assets/{asset_id}/packages/"))
            .await,
    ) else {
        return;
    };
    let mut dead: Vec<String> = keys
        .iter()
        .filter_map(|k| k.split('/').nth(3))
        .filter(|id| !live.iter().any(|l| l == id))
        .map(str::to_owned)
        .collect();
    dead.dedup();
    for id in dead {
        remove_prefix(state, &package::prefix(asset_id, &id)).await;
        tracing::info!(
            asset_id,
            package_id = id,
            "removed a dead attempt's objects"
        );
    }
}

/// One attempt at a job; returns the package to publish.
async fn process(
    state: &AppState,
    settings: &WorkerSettings,
    job: &Claimed,
    progress: Arc<AtomicI64>,
) -> Result<Publish, AppError> {
    let set = |p: f64| progress.store((p * 100.0).clamp(0.0, 99.0) as i64, Ordering::Relaxed);
    let storage = state.storage()?;
    let (object_key, sealed_len, plaintext_len): (String, i64, i64) =
        sqlx::query_as("SELECT object_key, sealed_len, plaintext_len FROM assets WHERE id = $1")
            .bind(&job.asset_id)
            .fetch_one(state.db())
            .await?;
    let work = tempfile::Builder::new()
        .prefix(&format!("{WORK_PREFIX}{}-", std::process::id()))
        .tempdir_in(&settings.work_dir)
        .map_err(|e| AppError::Worker(format!("work directory: {e}")))?;
    let source = work.path().join("source");
    // Weights of the steps in the reported progress.
    let (fetch_w, encode_w) = (0.1, 0.75);
    let sealed_source = source::Source {
        storage,
        db: state.db(),
        asset_id: &job.asset_id,
        key: &object_key,
        sealed_len: sealed_len as u64,
    };
    let (opened, source_key) =
        source::fetch_and_open(&sealed_source, &settings.secret_key, &source, |f| {
            set(f * fetch_w)
        })
        .await?;
    if opened != plaintext_len as u64 {
        return Err(AppError::Transcode {
            code: ApiErrorCode::SourceUnreadable,
            message: format!(
                "the source opened to {opened} bytes, not the {plaintext_len} uploaded"
            ),
        });
    }
    let probe = ladder::probe(&settings.ffprobe, &source).await?;
    probe.check(&settings.limits)?;
    let mut rungs = ladder::ladder(probe.width, probe.height);
    let (limit, kind) = match job.kind {
        JobKind::Preview => {
            rungs.truncate(1);
            (
                Some(PREVIEW_SECONDS.min(probe.duration)),
                PackageKind::Preview,
            )
        }
        JobKind::Full => (None, PackageKind::Full),
    };
    let encode_len = limit.unwrap_or(probe.duration);
    let out = work.path().join("out");
    for r in &rungs {
        std::fs::create_dir_all(ffmpeg::track_dir(&out, &r.id))
            .map_err(|e| AppError::Worker(format!("work directory: {e}")))?;
    }
    if probe.has_audio {
        std::fs::create_dir_all(ffmpeg::track_dir(&out, ffmpeg::AUDIO_TRACK))
            .map_err(|e| AppError::Worker(format!("work directory: {e}")))?;
    }
    let plan = Plan {
        rungs: rungs.clone(),
        audio: probe.has_audio,
        limit,
        segment_seconds: match job.kind {
            JobKind::Preview => ffmpeg::KEYFRAME_SECONDS,
            JobKind::Full => ffmpeg::SEGMENT_SECONDS,
        },
        preset: settings.preset.clone(),
    };
    let limits = settings.child_limits();
    ffmpeg::run(
        &settings.ffmpeg,
        &ffmpeg::args(&plan, &source, &out),
        limits,
        |t| {
            set(fetch_w + encode_w * (t / encode_len).min(1.0));
        },
    )
    .await?;
    let poster = match job.kind {
        JobKind::Full => {
            let path = work.path().join("poster.jpg");
            let top = rungs.last().expect("a ladder has a rung");
            let at = (probe.duration / 3.0).min(1.0);
            ffmpeg::run(
                &settings.ffmpeg,
                &ffmpeg::poster_args(&source, at, top.height, &path),
                limits,
                |_| {},
            )
            .await?;
            let h = top.height.min(720);
            let w = (f64::from(top.width) * f64::from(h) / f64::from(top.height) / 2.0).round()
                as u32
                * 2;
            Some((path, w, h))
        }
        JobKind::Preview => None,
    };
    // The source is no longer needed: remove plaintext as early as possible.
    let _ = tokio::fs::remove_file(&source).await;
    let key = crate::keys::ensure_content_key(state.db(), &settings.kek, &job.asset_id).await?;
    let source_key = ContentKey::from_bytes(*source_key.as_bytes());
    let wrapped = settings
        .kek
        .wrap(&crate::keys::source_label(&job.asset_id), &source_key)
        .await?;
    sqlx::query("UPDATE asset_keys SET source_key = $1 WHERE asset_id = $2 AND source_key IS NULL")
        .bind(&wrapped)
        .bind(&job.asset_id)
        .execute(state.db())
        .await?;
    let input = package::Input {
        asset_id: &job.asset_id,
        package_id: &job.package_id,
        kind,
        rungs: &rungs,
        audio: probe.has_audio,
        out: &out,
        poster: poster.as_ref().map(|(p, w, h)| (p.as_path(), *w, *h)),
    };
    let package::Published {
        manifest,
        nonce: manifest_nonce,
        sealed: manifest_sealed,
    } = package::seal_and_upload(storage, &key, &input, |f| {
        set(fetch_w + encode_w + (1.0 - fetch_w - encode_w) * f);
    })
    .await?;
    drop(work);
    let manifest_json = String::from_utf8(
        manifest
            .to_json()
            .map_err(|e| AppError::Worker(format!("manifest: {e}")))?,
    )
    .expect("JSON is UTF-8");
    Ok(Publish {
        prefix: package::prefix(&job.asset_id, &job.package_id),
        manifest_json,
        manifest_nonce: hex::encode(manifest_nonce.0),
        manifest_sealed: BASE64.encode(manifest_sealed),
        duration_ms: (manifest.duration * 1000.0).round() as i64,
    })
}
