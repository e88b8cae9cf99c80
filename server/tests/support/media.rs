//! Media test support: worker key files, environments that may transcode, clips made by
//! ffmpeg, uploading them, running workers in-process, and reading the bucket.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::http::StatusCode;
use cinelock_core::media::ContentKey;
use cinelock_server::AppState;
use cinelock_server::kek::Kek;
use cinelock_server::transcode::{self, WorkerSettings};
use serde_json::Value;

use super::{
    Created, Db, Env, Store, call, create_with, env_with, s3_client, upload_and_complete,
    upload_call,
};

pub const KEK: [u8; 32] = [0x4b; 32];

/// Key files for workers, in their own directory (kept alive by the caller).
pub fn worker_files() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sk = dir.path().join("worker.key");
    let kek = dir.path().join("kek.key");
    let worker = cinelock_core::RecipientSecretKey::from_seed(&[5; 32]);
    std::fs::write(&sk, hex::encode(worker.to_bytes())).unwrap();
    std::fs::write(&kek, hex::encode(KEK)).unwrap();
    (dir, sk, kek)
}

/// An environment whose settings allow transcoding (workers run in the test, by hand).
pub async fn transcode_env(db: Db, lease_secs: u64) -> (Env, tempfile::TempDir, PathBuf, PathBuf) {
    transcode_env_with(db, lease_secs, &[]).await
}

/// [`transcode_env`] with extra flags.
pub async fn transcode_env_with(
    db: Db,
    lease_secs: u64,
    extra: &[&str],
) -> (Env, tempfile::TempDir, PathBuf, PathBuf) {
    transcode_env_on(Store::Garage, db, lease_secs, extra).await
}

/// [`transcode_env_with`] on a chosen store.
pub async fn transcode_env_on(
    store: Store,
    db: Db,
    lease_secs: u64,
    extra: &[&str],
) -> (Env, tempfile::TempDir, PathBuf, PathBuf) {
    let (keys, sk, kek) = worker_files();
    let lease = lease_secs.to_string();
    let work = keys.path().join("work").display().to_string();
    let flags = [
        "--worker-secret-key-file",
        sk.to_str().unwrap(),
        "--kek-file",
        kek.to_str().unwrap(),
        "--workers",
        "1",
        "--job-lease",
        &lease,
        "--work-dir",
        &work,
        "--x264-preset",
        "ultrafast",
    ];
    let flags: Vec<&str> = flags.iter().chain(extra).copied().collect();
    let env = env_with(store, db, &flags).await;
    (env, keys, sk, kek)
}

pub fn worker_settings(state: &AppState) -> Arc<WorkerSettings> {
    state.settings().worker.clone().unwrap()
}

/// A test clip made by ffmpeg: moving test pattern, optionally a tone, H.264/AAC in MP4.
pub fn clip(dir: &Path, name: &str, w: u32, h: u32, secs: f64, audio: bool) -> Vec<u8> {
    let out = dir.join(name);
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
    ])
    .arg(format!("testsrc2=size={w}x{h}:rate=30:duration={secs}"));
    if audio {
        cmd.args(["-f", "lavfi", "-i"])
            .arg(format!("sine=frequency=440:duration={secs}"))
            .args(["-c:a", "aac", "-shortest"]);
    }
    cmd.args([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ])
    .arg(&out);
    assert!(cmd.status().unwrap().success(), "ffmpeg made no clip");
    std::fs::read(out).unwrap()
}

pub async fn upload_clip(env: &Env, bytes: Vec<u8>) -> Created {
    let c = create_with(env, bytes).await;
    upload_and_complete(env, &c).await;
    c
}

pub async fn asset_id(env: &Env, c: &Created) -> String {
    let (status, v) = upload_call(env, c, "GET").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["asset_id"].as_str().unwrap().to_owned()
}

pub async fn asset(env: &Env, id: &str) -> Value {
    let (status, v) = call(
        &env.state,
        "GET",
        &format!("/v1/assets/{id}"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

pub fn job<'a>(asset: &'a Value, kind: &str) -> &'a Value {
    asset["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["kind"] == kind)
        .unwrap()
}

/// Runs workers in this process until no job is left.
pub async fn drain(env: &Env) {
    let settings = worker_settings(&env.state);
    transcode::prepare(&settings).await.unwrap();
    while transcode::run_once(&env.state, &settings, "test-worker")
        .await
        .unwrap()
    {}
}

pub async fn object(env: &Env, key: &str) -> Option<Vec<u8>> {
    let s = env.storage_settings();
    let out = s3_client(&s)
        .get_object()
        .bucket(&s.bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    Some(out.body.collect().await.unwrap().into_bytes().to_vec())
}

pub async fn all_keys(env: &Env, prefix: &str) -> Vec<String> {
    env.state
        .storage()
        .unwrap()
        .list_keys(prefix)
        .await
        .unwrap()
}

pub async fn content_key(env: &Env, asset_id: &str) -> ContentKey {
    let (wrapped,): (String,) =
        sqlx::query_as("SELECT wrapped_key FROM asset_keys WHERE asset_id = $1")
            .bind(asset_id)
            .fetch_one(env.state.db())
            .await
            .unwrap();
    assert_eq!(
        wrapped.len(),
        2 * (12 + 32 + 16),
        "stored wrapped, never raw"
    );
    Kek::from_key(KEK).unwrap(asset_id, &wrapped).await.unwrap()
}
