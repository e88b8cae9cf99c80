//! Transcoding end to end, on a real store (Garage), real ffmpeg and both databases: clips made
//! by ffmpeg go up through the upload API sealed as a browser seals them; workers claim the
//! queued jobs, and the packages they publish are read back from the bucket, opened with the
//! asset's content key and checked with ffprobe. Also: a tampered source fails its job for
//! good, and a worker killed mid-job loses its lease to another that finishes the job.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use cinelock_core::media::{Manifest, ObjectKind, ObjectRef, TrackKind, open_object};
use cinelock_server::now_ms;
use cinelock_server::transcode;
use serde_json::Value;
use support::*;

/// A published package, read back from the bucket and opened: its manifest, and each track's
/// init + media segments as one plaintext fMP4 file.
struct Opened {
    manifest: Manifest,
    tracks: Vec<(String, Vec<u8>)>,
    plaintext_objects: Vec<Vec<u8>>,
}

async fn open_package(env: &Env, asset_id: &str, kind: &str) -> Opened {
    let (package_id, prefix, stored): (String, String, String) = sqlx::query_as(
        "SELECT id, prefix, manifest FROM packages WHERE asset_id = $1 AND kind = $2",
    )
    .bind(asset_id)
    .bind(kind)
    .fetch_one(env.state.db())
    .await
    .unwrap();
    let key = content_key(env, asset_id).await;
    let at = |track: &'static str, kind, index| ObjectRef {
        asset_id,
        package_id: &package_id,
        track_id: track,
        kind,
        index,
    };
    let sealed = object(env, &format!("{prefix}manifest.cnls"))
        .await
        .unwrap();
    let json = open_object(&key, &at("", ObjectKind::Manifest, 0), &sealed).unwrap();
    let manifest = Manifest::from_json(&json).unwrap();
    assert_eq!(Manifest::from_json(stored.as_bytes()).unwrap(), manifest);
    assert_eq!(manifest.package_id, package_id);
    let mut tracks = Vec::new();
    let mut plaintext_objects = vec![json];
    for t in &manifest.tracks {
        let id: &'static str = Box::leak(t.id.clone().into_boxed_str());
        let sealed = object(env, &format!("{prefix}{}", t.init.path))
            .await
            .unwrap();
        assert_eq!(sealed.len() as u64, t.init.size);
        let mut file = open_object(&key, &at(id, ObjectKind::Init, 0), &sealed).unwrap();
        plaintext_objects.push(file.clone());
        for (i, s) in t.segments.iter().enumerate() {
            let sealed = object(env, &format!("{prefix}{}", s.path))
                .await
                .unwrap_or_else(|| panic!("{} missing", s.path));
            assert_eq!(sealed.len() as u64, s.size);
            // Bound to its place: the next index (or another track) does not open it.
            assert!(open_object(&key, &at(id, ObjectKind::Media, i as u32 + 1), &sealed).is_err());
            let plain = open_object(&key, &at(id, ObjectKind::Media, i as u32), &sealed).unwrap();
            plaintext_objects.push(plain.clone());
            file.extend_from_slice(&plain);
        }
        tracks.push((t.id.clone(), file));
    }
    if let Some(p) = &manifest.poster {
        let sealed = object(env, &format!("{prefix}{}", p.path)).await.unwrap();
        let jpeg = open_object(&key, &at("", ObjectKind::Poster, 0), &sealed).unwrap();
        assert_eq!(&jpeg[..2], [0xff, 0xd8], "a JPEG");
        plaintext_objects.push(jpeg);
    }
    Opened {
        manifest,
        tracks,
        plaintext_objects,
    }
}

/// ffprobe's view of a plaintext fMP4 file: (codec, width, height, duration).
fn ffprobe(bytes: &[u8]) -> (String, u64, u64, f64) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(f.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    (
        s["codec_name"].as_str().unwrap().to_owned(),
        s["width"].as_u64().unwrap_or(0),
        s["height"].as_u64().unwrap_or(0),
        v["format"]["duration"].as_str().unwrap().parse().unwrap(),
    )
}

/// No object in the bucket holds plaintext: every one starts with a Cinelock magic, and none
/// contains any 32-byte run of the source or of any opened package object.
async fn assert_bucket_sealed(env: &Env, plaintexts: &[&[u8]]) {
    let keys = all_keys(env, "").await;
    assert!(!keys.is_empty());
    let mut probes: Vec<&[u8]> = Vec::new();
    for p in plaintexts {
        let step = (p.len() / 8).max(32);
        probes.extend(p.chunks_exact(32).step_by(step / 32 + 1).take(8));
    }
    for key in keys {
        let body = object(env, &key).await.unwrap();
        assert!(
            body.starts_with(b"CNLK") || body.starts_with(b"CNLS"),
            "{key} is not sealed"
        );
        for probe in &probes {
            assert!(
                !body.windows(32).any(|w| w == *probe),
                "{key} contains plaintext"
            );
        }
    }
}

fn approx(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// A 640×360 clip with audio: two workers at once take the preview and the full job; the
/// preview is published first; the full package holds 240p and 360p renditions plus audio, all
/// of which ffprobe accepts with the source's duration; the asset is `ready`.
async fn ladder_with_audio(db: Db) {
    let (env, keys, _, _) = transcode_env(db, 30).await;
    let source = clip(keys.path(), "a.mp4", 640, 360, 7.3, true);
    let c = upload_clip(&env, source.clone()).await;
    let id = asset_id(&env, &c).await;
    let a = asset(&env, &id).await;
    assert_eq!(a["status"], "uploaded");
    assert_eq!(job(&a, "preview")["status"], "queued");
    assert_eq!(job(&a, "full")["status"], "queued");

    let settings = worker_settings(&env.state);
    transcode::prepare(&settings).await.unwrap();
    let (one, two) = tokio::join!(
        transcode::run_once(&env.state, &settings, "w1"),
        transcode::run_once(&env.state, &settings, "w2"),
    );
    assert!(one.unwrap() && two.unwrap(), "each worker got its own job");
    let a = asset(&env, &id).await;
    assert_eq!(a["status"], "ready", "{a}");
    let (p, f) = (job(&a, "preview"), job(&a, "full"));
    assert_eq!(
        (p["status"].as_str(), f["status"].as_str()),
        (Some("succeeded"), Some("succeeded"))
    );
    assert_eq!(
        (p["progress"].as_i64(), f["progress"].as_i64()),
        (Some(100), Some(100))
    );
    // The queue hands out the preview first. Which of two jobs running at once on two cores
    // finishes first depends on the machine's load for a clip this short (measured: the
    // preview took 1.47 s and the full ladder 1.40 s in one run), so finishing order is not
    // asserted here; the preview's lead on real clips is in docs/benchmarks.md.
    // Each worker stamps `started_at` from its own clock reading, taken before its claim
    // commits: two workers claiming at the same moment can carry stamps a few ms out of the
    // order the queue handed the jobs out in (seen: the full ladder 1 ms "before" the preview).
    let (ps, fs) = (
        p["started_at"].as_i64().unwrap(),
        f["started_at"].as_i64().unwrap(),
    );
    assert!(ps <= fs + 50, "preview claimed first: {a}");
    assert_eq!(a["preview_ready"], true);
    // The uploading browser sees the same through its upload token.
    let (_, u) = upload_call(&env, &c, "GET").await;
    assert_eq!(u["asset"]["status"], "ready");

    let full = open_package(&env, &id, "full").await;
    let m = &full.manifest;
    let ids: Vec<&str> = m.tracks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["v240", "v360", "a128"]);
    assert!(approx(m.duration, 7.3, 0.15), "{}", m.duration);
    assert!(m.poster.is_some());
    for (track, file) in &full.tracks {
        let t = m.track(track).unwrap();
        let (codec, w, h, duration) = ffprobe(file);
        assert!(approx(duration, 7.3, 0.2), "{track}: {duration}");
        assert!(approx(t.end(), 7.3, 0.15), "{track}: {}", t.end());
        // 2-4 s segments (the last may be shorter).
        for s in &t.segments[..t.segments.len() - 1] {
            assert!((1.9..=4.1).contains(&s.duration), "{track}: {}", s.duration);
        }
        match t.kind {
            TrackKind::Video => {
                assert_eq!(codec, "h264");
                assert_eq!((Some(w as u32), Some(h as u32)), (t.width, t.height));
                // avc1.PPCCLL, read from the rendition's own init segment.
                assert!(
                    t.codecs.starts_with("avc1.") && t.codecs.len() == 11,
                    "{}",
                    t.codecs
                );
            }
            TrackKind::Audio => assert_eq!(codec, "aac"),
        }
    }
    assert_eq!(full.tracks[0].0, "v240");
    assert_eq!(ffprobe(&full.tracks[1].1).1, 640);
    // Renditions switch at the same times: segment boundaries agree across video tracks.
    let starts = |t: &str| {
        m.track(t)
            .unwrap()
            .segments
            .iter()
            .map(|s| (s.start * 10.0).round() as i64)
            .collect::<Vec<_>>()
    };
    assert_eq!(starts("v240"), starts("v360"));

    let preview = open_package(&env, &id, "preview").await;
    let ids: Vec<&str> = preview
        .manifest
        .tracks
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(ids, ["v240", "a128"], "lowest rendition only");
    assert!(
        approx(preview.manifest.duration, 6.0, 0.15),
        "first seconds: {}",
        preview.manifest.duration
    );

    let mut plaintexts: Vec<&[u8]> = vec![&source];
    plaintexts.extend(full.plaintext_objects.iter().map(Vec::as_slice));
    plaintexts.extend(preview.plaintext_objects.iter().map(Vec::as_slice));
    assert_bucket_sealed(&env, &plaintexts).await;
    // The worker left no plaintext behind.
    let work = settings.work_dir.read_dir().unwrap().count();
    assert_eq!(work, 0, "work directories removed");
}

support::on_each_database!(ladder_with_audio);

/// Odd shapes: a 3.3 s 320×240 clip without audio makes one 240p rendition and no audio track;
/// a portrait 360×640 clip gets portrait renditions; a 160×120 clip (below the lowest rung)
/// keeps its own size.
#[tokio::test]
async fn odd_sizes_durations_and_no_audio() {
    let (env, keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    let cases = [
        ("s.mp4", 320, 240, 3.3, false, vec![("v240", 320, 240)]),
        (
            "p.mp4",
            360,
            640,
            5.1,
            true,
            vec![("v240", 240, 426), ("v360", 360, 640)],
        ),
        ("t.mp4", 160, 120, 2.5, false, vec![("v120", 160, 120)]),
    ];
    let mut ids = Vec::new();
    for (name, w, h, secs, audio, _) in &cases {
        let c = upload_clip(&env, clip(keys.path(), name, *w, *h, *secs, *audio)).await;
        ids.push(asset_id(&env, &c).await);
    }
    drain(&env).await;
    for ((_, _, _, secs, audio, want), id) in cases.iter().zip(&ids) {
        assert_eq!(asset(&env, id).await["status"], "ready");
        let full = open_package(&env, id, "full").await;
        let m = &full.manifest;
        let video: Vec<(&str, u32, u32)> = m
            .video()
            .map(|t| (t.id.as_str(), t.width.unwrap(), t.height.unwrap()))
            .collect();
        assert_eq!(&video, want);
        assert_eq!(m.audio().is_some(), *audio);
        assert!(approx(m.duration, *secs, 0.15), "{} vs {secs}", m.duration);
        for (track, file) in &full.tracks {
            let (_, w, h, duration) = ffprobe(file);
            assert!(approx(duration, *secs, 0.2), "{track}: {duration}");
            if let Some(t) = m.track(track).filter(|t| t.kind == TrackKind::Video) {
                assert_eq!((Some(w as u32), Some(h as u32)), (t.width, t.height));
            }
        }
    }
}

/// The demo's embedded store (s3s-fs) carries the whole pipeline too: streamed source reads,
/// object writes, listing and deleting.
#[tokio::test]
async fn transcodes_on_the_embedded_store() {
    let (env, keys, _, _) = transcode_env_on(Store::Embedded, Db::Sqlite, 30, &[]).await;
    let c = upload_clip(&env, clip(keys.path(), "e.mp4", 320, 240, 3.0, true)).await;
    let id = asset_id(&env, &c).await;
    drain(&env).await;
    assert_eq!(asset(&env, &id).await["status"], "ready");
    let full = open_package(&env, &id, "full").await;
    assert_eq!(full.manifest.tracks.len(), 2);
    for (track, file) in &full.tracks {
        let (_, _, _, duration) = ffprobe(file);
        assert!(approx(duration, 3.0, 0.2), "{track}: {duration}");
    }
}

/// A source modified in the bucket after upload fails its jobs at once with a clear reason,
/// without retries, and publishes nothing.
#[tokio::test]
async fn tampered_source_fails_the_job() {
    let (env, keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    let c = upload_clip(&env, clip(keys.path(), "a.mp4", 320, 240, 2.0, false)).await;
    let id = asset_id(&env, &c).await;
    let (object_key,): (String,) = sqlx::query_as("SELECT object_key FROM assets WHERE id = $1")
        .bind(&id)
        .fetch_one(env.state.db())
        .await
        .unwrap();
    let mut sealed = object(&env, &object_key).await.unwrap();
    let at = sealed.len() / 2;
    sealed[at] ^= 0x01;
    let s = env.storage_settings();
    s3_client(&s)
        .put_object()
        .bucket(&s.bucket)
        .key(&object_key)
        .body(sealed.into())
        .send()
        .await
        .unwrap();

    drain(&env).await;
    let a = asset(&env, &id).await;
    assert_eq!(a["status"], "failed", "{a}");
    for kind in ["preview", "full"] {
        let j = job(&a, kind);
        assert_eq!(j["status"], "failed", "{a}");
        assert_eq!(j["attempts"], 1, "not retried: {a}");
        assert_eq!(j["error"]["code"], "source_tampered");
        assert!(
            j["error"]["message"]
                .as_str()
                .unwrap()
                .contains("failed authentication"),
            "{a}"
        );
    }
    assert!(
        all_keys(&env, &format!("assets/{id}/packages/"))
            .await
            .is_empty()
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM packages")
        .fetch_one(env.state.db())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// A worker process killed with SIGKILL in the middle of the full transcode: the asset is not
/// ready and lists no package; once the lease runs out another worker claims the job (attempt
/// 2) and finishes it; every segment of the published manifest is in the bucket, and the dead
/// attempt's objects are gone.
#[tokio::test]
async fn killed_worker_job_is_claimed_again() {
    let lease = 5;
    let (env, keys, sk, kek) = transcode_env(Db::Sqlite, lease).await;
    let c = upload_clip(&env, clip(keys.path(), "long.mp4", 1280, 720, 24.0, true)).await;
    let id = asset_id(&env, &c).await;
    let s = env.storage_settings();
    let work = keys.path().join("work-child");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cinelock-server"))
        .arg("worker")
        .env("CINELOCK_DATABASE_URL", &env.state.settings().database_url)
        .env("CINELOCK_S3_ENDPOINT", &s.endpoint)
        .env("CINELOCK_S3_REGION", &s.region)
        .env("CINELOCK_S3_BUCKET", &s.bucket)
        .env("CINELOCK_S3_ACCESS_KEY", &s.access_key)
        .env("CINELOCK_S3_SECRET_KEY", &s.secret_key)
        .env("CINELOCK_WORKER_SECRET_KEY_FILE", &sk)
        .env("CINELOCK_KEK_FILE", &kek)
        .env("CINELOCK_JOB_LEASE", lease.to_string())
        .env("CINELOCK_WORK_DIR", &work)
        .env("CINELOCK_X264_PRESET", "medium")
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    // Wait for the full transcode to be under way in the child.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let a = asset(&env, &id).await;
        let f = job(&a, "full");
        if f["status"] == "running" && f["progress"].as_i64().unwrap() >= 15 {
            break;
        }
        assert!(
            f["status"] != "succeeded",
            "the job finished before it could be killed"
        );
        assert!(child.try_wait().unwrap().is_none(), "worker exited early");
        assert!(
            Instant::now() < deadline,
            "the full job never got going: {a}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let killed_at = now_ms();
    let a = asset(&env, &id).await;
    assert_eq!(a["status"], "processing");
    assert_eq!(job(&a, "full")["attempts"], 1);
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM packages WHERE asset_id = $1 AND kind = 'full'")
            .bind(&id)
            .fetch_one(env.state.db())
            .await
            .unwrap();
    assert_eq!(n, 0, "nothing published by the dead worker");
    // Its plaintext directory is still on disk: the next worker start on this machine removes it.
    assert_eq!(work.read_dir().unwrap().count(), 1);

    // Until the lease runs out, nobody else may take the job.
    let settings = worker_settings(&env.state);
    assert!(
        !transcode::run_once(&env.state, &settings, "early")
            .await
            .unwrap()
    );
    while now_ms() < killed_at + (lease as i64) * 1000 + 200 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut rescuer = (*settings).clone();
    rescuer.work_dir = work.clone();
    transcode::prepare(&rescuer).await.unwrap();
    assert_eq!(
        work.read_dir().unwrap().count(),
        0,
        "dead worker's plaintext removed"
    );
    assert!(
        transcode::run_once(&env.state, &rescuer, "rescuer")
            .await
            .unwrap()
    );
    let a = asset(&env, &id).await;
    assert_eq!(a["status"], "ready", "{a}");
    assert_eq!(job(&a, "full")["attempts"], 2);
    let full = open_package(&env, &id, "full").await;
    assert_eq!(full.manifest.video().count(), 4, "240p to 720p");
    assert!(approx(full.manifest.duration, 24.0, 0.2));
    // Only published packages remain under the asset.
    let (ids,): (String,) = sqlx::query_as("SELECT string_agg_ids FROM (SELECT group_concat(id) AS string_agg_ids FROM packages WHERE asset_id = $1)")
        .bind(&id)
        .fetch_one(env.state.db())
        .await
        .unwrap();
    for key in all_keys(&env, &format!("assets/{id}/packages/")).await {
        let pid = key.split('/').nth(3).unwrap();
        assert!(ids.split(',').any(|p| p == pid), "debris left: {key}");
    }
}

/// Benchmark (ignored by default; `scripts/bench-transcode`): wall time of the sealed full
/// transcode of a 30 s 720p clip with audio (fetch and open the sealed source, ffmpeg ladder,
/// poster, seal and upload every object, publish) against plain ffmpeg running the same ladder
/// and poster on the same plaintext, in the same run.
#[tokio::test]
#[ignore = "benchmark: run with scripts/bench-transcode"]
async fn bench_sealed_vs_plain_transcode() {
    let (env, keys, _, _) = transcode_env(Db::Sqlite, 60).await;
    let secs = 30.0;
    let source = clip(keys.path(), "bench.mp4", 1280, 720, secs, true);
    let mut settings = (*worker_settings(&env.state)).clone();
    settings.preset = "veryfast".into();
    transcode::prepare(&settings).await.unwrap();
    let plain_dir = keys.path().join("plain");
    let input = keys.path().join("bench.mp4");
    let probe = transcode::probe("ffprobe", &input).await.unwrap();
    let rungs = transcode::ladder(probe.width, probe.height);
    for dir in rungs.iter().map(|r| r.id.as_str()).chain(["a128"]) {
        std::fs::create_dir_all(plain_dir.join(dir)).unwrap();
    }
    let plan = transcode::Plan {
        rungs: rungs.clone(),
        audio: true,
        limit: None,
        segment_seconds: 4,
        preset: settings.preset.clone(),
    };
    let top = rungs.last().unwrap();
    // Alternating runs, so a neighbour's load hits both sides alike.
    let (mut sealed, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        let t = Instant::now();
        let ok = Command::new("ffmpeg")
            .args(transcode::ffmpeg_args(&plan, &input, &plain_dir))
            .output()
            .unwrap();
        assert!(ok.status.success());
        let poster = transcode::poster_args(&input, 1.0, top.height, &plain_dir.join("poster.jpg"));
        assert!(
            Command::new("ffmpeg")
                .args(poster)
                .output()
                .unwrap()
                .status
                .success()
        );
        plain.push(t.elapsed().as_secs_f64());

        let c = upload_clip(&env, source.clone()).await;
        let id = asset_id(&env, &c).await;
        // The preview goes first (not timed).
        assert!(
            transcode::run_once(&env.state, &settings, "bench")
                .await
                .unwrap()
        );
        let t = Instant::now();
        assert!(
            transcode::run_once(&env.state, &settings, "bench")
                .await
                .unwrap()
        );
        sealed.push(t.elapsed().as_secs_f64());
        assert_eq!(asset(&env, &id).await["status"], "ready");
    }
    let (sealed_sum, plain_sum): (f64, f64) = (sealed.iter().sum(), plain.iter().sum());
    println!(
        "transcode of a {secs} s 1280x720 clip with audio ({} renditions + audio + poster, x264 {}): sealed {sealed:.2?} s, plain ffmpeg {plain:.2?} s, ratio {:.3}",
        rungs.len(),
        settings.preset,
        sealed_sum / plain_sum
    );
}

/// One worker: its first job is the preview, published (the asset can play) while the full
/// ladder still waits in the queue.
#[tokio::test]
async fn a_single_worker_publishes_the_preview_before_it_starts_the_ladder() {
    let (env, keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    let c = upload_clip(&env, clip(keys.path(), "s.mp4", 320, 240, 3.0, true)).await;
    let id = asset_id(&env, &c).await;
    let settings = worker_settings(&env.state);
    transcode::prepare(&settings).await.unwrap();
    assert!(
        transcode::run_once(&env.state, &settings, "only")
            .await
            .unwrap()
    );
    let a = asset(&env, &id).await;
    assert_eq!(
        (
            a["preview_ready"].as_bool(),
            job(&a, "full")["status"].as_str()
        ),
        (Some(true), Some("queued")),
        "{a}"
    );
    assert_ne!(a["status"], "ready");
    assert!(
        transcode::run_once(&env.state, &settings, "only")
            .await
            .unwrap()
    );
    assert_eq!(asset(&env, &id).await["status"], "ready");
}
