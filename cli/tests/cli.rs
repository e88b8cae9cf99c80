//! The `cinelock` binary against the real server and a real Garage, as a user runs it: a
//! multi-part upload (sealed exactly as the format's one-shot seal), a run killed mid-way and
//! resumed, imports of a folder and of another bucket's prefix, waiting for a transcode,
//! downloads allowed and refused, and every bad input failing with a message and its exit code.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use cinelock_core::{RecipientPublicKey, SEED_LEN, SealSeed};
use serde_json::Value;
use support::{HoldFirstCompletion, Run, Stack, pattern, write};

const MIB: usize = 1024 * 1024;

fn seal_like_the_browser(
    pk: &RecipientPublicKey,
    seed: &[u8; SEED_LEN],
    asset: &str,
    data: &[u8],
) -> Vec<u8> {
    cinelock_core::seal(
        pk,
        256 * 1024,
        &SealSeed::from_bytes(seed),
        asset.as_bytes(),
        data,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_a_multipart_file_sealed_byte_for_byte_as_the_format_says() {
    let stack = Stack::start(0).await;
    let data = pattern(12 * MIB + 12_345, 1);
    let file = write(&stack.dir.path().join("in/clip.mp4"), &data);
    let seed = [42u8; SEED_LEN];
    let run = stack
        .run(&[
            "upload",
            file.to_str().unwrap(),
            "--part-size",
            "5",
            "--json",
            "--insecure-seed",
            &hex::encode(seed),
        ])
        .ok();
    let started = &run.events("started")[0];
    assert_eq!(started["parts"], 3, "{run:?}");
    assert_eq!(run.events("partDone").len(), 3);
    let done = &run.events("uploaded")[0];
    let asset = done["assetId"].as_str().unwrap();
    assert_eq!(done["bytes"], data.len());
    assert_eq!(done["sentParts"], 3);
    // The parts, sealed in parallel, are the one-shot seal of the whole file with that seed:
    // what both browser engines produce (sdk-wasm/tests/engines.rs holds them to the same
    // vectors; tests/sealing.rs holds this sealer to them).
    let stored = stack.sealed_source(asset).await;
    assert_eq!(
        stored,
        seal_like_the_browser(stack.worker.public_key(), &seed, asset, &data)
    );
    assert_eq!(stack.opened_source(asset).await, data);
    // Done uploads leave no resume record behind.
    let records = std::fs::read_dir(stack.dir.path().join("state/uploads"))
        .unwrap()
        .count();
    assert_eq!(records, 0);
    // The asset is the API key's, named after the file.
    let shown = stack.run(&["assets", "show", asset, "--json"]).ok();
    let v: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(v["filename"], "clip.mp4");
    assert_eq!(v["size"], data.len());
    // Quiet mode prints the asset id alone, for scripts.
    let other = write(&stack.dir.path().join("in/two.mp4"), &pattern(1000, 2));
    let quiet = stack.run(&["upload", "-q", other.to_str().unwrap()]).ok();
    assert_eq!(quiet.stdout.trim().len(), 36, "{quiet:?}");
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_upload_resumes_without_sending_finished_parts() {
    let stack = Stack::start(0).await;
    let data = pattern(60 * MIB, 3);
    let file = write(&stack.dir.path().join("big.mov"), &data);
    let path = file.to_str().unwrap();
    let mut child = stack
        .cinelock()
        .args([
            "upload",
            path,
            "--part-size",
            "5",
            "--parallel",
            "1",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut parts = 0;
    let mut asset = String::new();
    for line in BufReader::new(stdout).lines() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["type"] == "started" {
            parts = v["parts"].as_u64().unwrap();
            asset = v["assetId"].as_str().unwrap().to_owned();
        }
        if v["type"] == "partDone" {
            // SIGKILL: no chance to tidy up.
            child.kill().unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(parts, 12);
    let resumed = stack
        .run(&["upload", path, "--part-size", "5", "--json"])
        .ok();
    let started = &resumed.events("started")[0];
    assert_eq!(
        started["assetId"],
        asset.as_str(),
        "the same upload goes on"
    );
    let skipped = started["resumedParts"].as_u64().unwrap();
    assert!((1..parts).contains(&skipped), "{resumed:?}");
    // Finished parts are not sent again: this run PUT only the others.
    let sent: Vec<u64> = resumed
        .events("partDone")
        .iter()
        .map(|v| v["number"].as_u64().unwrap())
        .collect();
    assert_eq!(sent.len() as u64, parts - skipped, "{sent:?}");
    assert_eq!(resumed.events("uploaded")[0]["resumedParts"], skipped);
    assert_eq!(stack.opened_source(&asset).await, data);
    // And once done, the same command says so without uploading anything.
    let again = stack.run(&["upload", path, "--json"]).ok();
    assert_ne!(
        again.events("uploaded")[0]["assetId"],
        asset.as_str(),
        "a finished file uploads anew"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_completion_whose_answer_never_comes_is_asked_again_after_the_timeout() {
    let stack = Stack::start(0).await;
    let proxy = HoldFirstCompletion::start(&stack.api).await;
    let data = pattern(6 * MIB + 3, 9);
    let file = write(&stack.dir.path().join("held.mov"), &data);
    let path = file.to_str().unwrap().to_owned();
    let mut command = stack.cinelock();
    command.args([
        "--endpoint",
        &proxy.url,
        "upload",
        &path,
        "--complete-timeout",
        "2",
        "--json",
    ]);
    let started = Instant::now();
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    // Off the runtime's threads, which the proxy runs on; a CLI that waits for ever is killed.
    let waited = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || Run::of(child.wait_with_output().unwrap())),
    )
    .await;
    let Ok(run) = waited else {
        let _ = std::process::Command::new("kill").arg(&pid).status();
        panic!("the upload still waited for its completion after 60 s");
    };
    let run = run.unwrap().ok();
    let took = started.elapsed();
    // The first completion reached the server and its answer was withheld; the second got it.
    assert_eq!(proxy.completions(), 2, "{run:?}");
    assert!(took >= Duration::from_secs(2), "asked again after {took:?}");
    let retries = run.events("retrying");
    assert_eq!(retries.len(), 1, "{run:?}");
    assert_eq!(retries[0]["reason"], "timeout", "{run:?}");
    assert!(retries[0]["number"].is_null(), "{run:?}");
    let asset = run.events("uploaded")[0]["assetId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stack.opened_source(&asset).await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn imports_a_folder_and_a_prefix_of_another_bucket_once() {
    let stack = Stack::start(0).await;
    let dir = stack.dir.path().join("media");
    let a = pattern(300_000, 4);
    let b = pattern(6 * MIB, 5);
    write(&dir.join("a.mp4"), &a);
    write(&dir.join("season 1/b.MOV"), &b);
    write(&dir.join(".DS_Store"), b"junk");
    write(&dir.join("notes.txt"), b"not a video");
    let from = dir.to_str().unwrap();
    let first = stack
        .run(&["import", from, "--ext", "mp4,mov", "--json"])
        .ok();
    let imported = first.events("imported");
    assert_eq!(imported.len(), 2, "{first:?}");
    for (v, data) in imported.iter().zip([&a, &b]) {
        assert_eq!(
            &stack.opened_source(v["assetId"].as_str().unwrap()).await,
            data
        );
    }
    // Again: nothing new.
    let second = stack
        .run(&["import", from, "--ext", "mp4,mov", "--json"])
        .ok();
    assert_eq!(second.events("imported").len(), 0, "{second:?}");
    assert_eq!(second.events("skipped").len(), 2);
    // A new file: only it.
    let c = pattern(1000, 6);
    write(&dir.join("c.mp4"), &c);
    let third = stack
        .run(&["import", from, "--ext", "mp4,mov", "--json"])
        .ok();
    let imported = third.events("imported");
    assert_eq!(imported.len(), 1, "{third:?}");
    assert!(imported[0]["source"].as_str().unwrap().ends_with("c.mp4"));

    // Another customer's bucket, with its own keys.
    let (access, secret) = (
        "GK0123456789abcdef01234567",
        "0000000000000000000000000000000000000000000000000000000000000001",
    );
    let source = support::Garage::start_with(access, secret, "their-archive");
    let s3 = support::s3_client(&source.endpoint, access, secret);
    let x = pattern(5 * MIB + 7, 7);
    let y = pattern(70_000, 8);
    support::put(&s3, "their-archive", "2026/x.mp4", x.clone()).await;
    support::put(&s3, "their-archive", "2026/y.mp4", y.clone()).await;
    support::put(&s3, "their-archive", "2025/old.mp4", pattern(10, 9)).await;
    let import = |extra: &[&str], key: &str| {
        let mut c = stack.cinelock();
        c.args([
            "import",
            "s3://their-archive/2026/",
            "--json",
            "--part-size",
            "5",
        ])
        .args(extra)
        .env("CINELOCK_SOURCE_ENDPOINT", &source.endpoint)
        .env("CINELOCK_SOURCE_REGION", "garage")
        .env("AWS_ACCESS_KEY_ID", access)
        .env("AWS_SECRET_ACCESS_KEY", key);
        support::Run::of(c.output().unwrap())
    };
    let wrong = import(
        &[],
        "0000000000000000000000000000000000000000000000000000000000000002",
    );
    assert_eq!(wrong.code, 4, "{wrong:?}");
    assert_eq!(wrong.events("error")[0]["kind"], "refused");
    let bucket = import(&[], secret).ok();
    let imported = bucket.events("imported");
    assert_eq!(imported.len(), 2, "{bucket:?}");
    assert_eq!(imported[0]["source"], "s3://their-archive/2026/x.mp4");
    assert_eq!(
        &stack
            .opened_source(imported[0]["assetId"].as_str().unwrap())
            .await,
        &x
    );
    assert_eq!(
        &stack
            .opened_source(imported[1]["assetId"].as_str().unwrap())
            .await,
        &y
    );
    let again = import(&[], secret).ok();
    assert_eq!(again.events("skipped").len(), 2, "{again:?}");
    assert_eq!(again.events("imported").len(), 0);
    // A changed object is a new source.
    support::put(&s3, "their-archive", "2026/y.mp4", pattern(70_001, 10)).await;
    let changed = import(&[], secret).ok();
    assert_eq!(changed.events("imported").len(), 1, "{changed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_imports_new_files_once_they_settle() {
    let stack = Stack::start(0).await;
    let dir = stack.dir.path().join("drop");
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = stack
        .cinelock()
        .args([
            "import",
            dir.to_str().unwrap(),
            "--watch",
            "--interval",
            "0.3",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let data = pattern(200_000, 11);
    write(&dir.join("new.mp4"), &data);
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let imported = loop {
        let v: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        if v["type"] == "imported" {
            break v;
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(imported["source"].as_str().unwrap().ends_with("new.mp4"));
    assert_eq!(
        stack
            .opened_source(imported["assetId"].as_str().unwrap())
            .await,
        data
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn waits_for_the_transcode_and_downloads_only_where_allowed() {
    let stack = Stack::start(1).await;
    let clip = stack.dir.path().join("clip.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
            "-t",
            "2",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(made.success());
    let up = stack.run(&["upload", "-q", clip.to_str().unwrap()]).ok();
    let asset = up.stdout.trim().to_owned();
    let wait = stack
        .run(&[
            "assets",
            "wait",
            &asset,
            "--interval",
            "0.2",
            "--timeout",
            "120",
            "--json",
        ])
        .ok();
    assert_eq!(wait.events("ready").len(), 1, "{wait:?}");
    let listed = stack.run(&["assets", "ls", "--json"]).ok();
    let mine = listed
        .json()
        .into_iter()
        .find(|v| v["asset_id"] == asset.as_str())
        .unwrap();
    assert_eq!(mine["status"], "ready");
    let human = stack.run(&["assets", "show", &asset]).ok();
    assert!(
        human.stdout.contains("job      full succeeded 100%"),
        "{human:?}"
    );

    // The default policy allows no downloads.
    let out = stack.dir.path().join("back.mp4");
    let refused = stack.run(&["download", &asset, "-o", out.to_str().unwrap(), "--json"]);
    assert_eq!(refused.code, 4, "{refused:?}");
    let e = &refused.events("error")[0];
    assert_eq!(
        (e["code"].as_str(), e["reason"].as_str()),
        (Some("denied"), Some("download_not_allowed"))
    );
    assert!(!out.exists());
    // Allowed: the original, byte for byte.
    stack
        .patch_policy(&asset, serde_json::json!({"download_allowed": true}))
        .await;
    stack
        .run(&["download", &asset, "-o", out.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&clip).unwrap());
    // To standard output too.
    let piped = stack
        .cinelock()
        .args(["download", &asset, "-o", "-"])
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert_eq!(piped.stdout, std::fs::read(&clip).unwrap());
    // Altered in the bucket: refused as not authentic, and nothing is left under the name.
    let mut sealed = stack.sealed_source(&asset).await;
    let at = sealed.len() - 100;
    sealed[at] ^= 1;
    support::put(
        &stack.s3(),
        support::BUCKET,
        &format!("assets/{asset}/source.cnlk"),
        sealed,
    )
    .await;
    let altered = stack.dir.path().join("altered.mp4");
    let bad = stack.run(&["download", &asset, "-o", altered.to_str().unwrap()]);
    assert_eq!(bad.code, 5, "{bad:?}");
    assert!(bad.stderr.contains("did not open"), "{bad:?}");
    assert!(!altered.exists());
    let leftovers: Vec<_> = std::fs::read_dir(stack.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".cinelock-download")
        })
        .collect();
    assert!(leftovers.is_empty());
    // Waiting for an asset that does not exist is refused at once.
    let missing = stack.run(&["assets", "wait", "no-such-asset"]);
    assert_eq!(missing.code, 4, "{missing:?}");
}

/// Arguments, environment changes (an empty value removes the variable), the exit code, and
/// what stderr must say.
type Case = (
    Vec<String>,
    Vec<(&'static str, &'static str)>,
    i32,
    &'static str,
);

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_fails_with_a_clear_message_and_exit_code() {
    let stack = Stack::start(0).await;
    let d = stack.dir.path();
    let empty = write(&d.join("empty.mp4"), b"");
    let small = write(&d.join("small.mp4"), b"0123456789");
    let p = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let cases: Vec<Case> = vec![
        (
            vec!["upload".into(), p(&d.join("missing.mp4"))],
            vec![],
            2,
            "no such file",
        ),
        (vec!["upload".into(), p(&empty)], vec![], 2, "is empty"),
        (vec!["upload".into(), p(d)], vec![], 2, "is not a file"),
        (vec!["upload".into()], vec![], 2, "required"),
        (
            vec!["upload".into(), p(&small), "--parallel".into(), "0".into()],
            vec![],
            2,
            "--parallel",
        ),
        (
            vec!["upload".into(), p(&small), "--complete-timeout=-1".into()],
            vec![],
            2,
            "--complete-timeout",
        ),
        (
            vec![
                "upload".into(),
                p(&small),
                "--insecure-seed".into(),
                "abc".into(),
            ],
            vec![],
            2,
            "--insecure-seed",
        ),
        (
            vec!["upload".into(), p(&small), "--part-size".into(), "1".into()],
            vec![],
            4,
            "invalid_plan",
        ),
        (
            vec!["upload".into(), p(&small)],
            vec![("CINELOCK_API_KEY", "")],
            3,
            "no API key",
        ),
        (
            vec!["upload".into(), p(&small)],
            vec![("CINELOCK_API_KEY", "clk_not_a_key")],
            4,
            "unauthorized",
        ),
        (
            vec!["upload".into(), p(&small)],
            vec![("CINELOCK_API_KEY", "secret")],
            3,
            "clk_",
        ),
        (
            vec!["assets".into(), "ls".into()],
            vec![("CINELOCK_ENDPOINT", "")],
            3,
            "no server",
        ),
        (
            vec!["assets".into(), "ls".into()],
            vec![("CINELOCK_ENDPOINT", "ftp://x")],
            3,
            "http(s)",
        ),
        (
            vec!["assets".into(), "ls".into()],
            vec![("CINELOCK_ENDPOINT", "http://127.0.0.1:9")],
            1,
            "cannot reach the server",
        ),
        (
            vec![
                "assets".into(),
                "ls".into(),
                "--profile".into(),
                "staging".into(),
            ],
            vec![],
            3,
            "no profile file",
        ),
        (
            vec!["assets".into(), "show".into(), "nope".into()],
            vec![],
            4,
            "unknown_asset",
        ),
        (
            vec![
                "download".into(),
                "nope".into(),
                "-o".into(),
                p(&d.join("no/such/dir/f")),
            ],
            vec![],
            2,
            "not a directory",
        ),
        (
            vec![
                "download".into(),
                "nope".into(),
                "-o".into(),
                p(&d.join("f")),
            ],
            vec![],
            4,
            "unknown_asset",
        ),
        (
            vec!["import".into(), "s3://x".into()],
            vec![],
            2,
            "not a bucket name",
        ),
        (vec!["import".into(), p(&small)], vec![], 2, "not a folder"),
        (
            vec!["import".into(), "s3://some-bucket/p".into()],
            vec![],
            3,
            "credentials",
        ),
        (
            vec![
                "import".into(),
                "s3://some-bucket/p".into(),
                "--watch".into(),
            ],
            vec![],
            2,
            "--watch",
        ),
        (
            vec!["frobnicate".into()],
            vec![],
            2,
            "unrecognized subcommand",
        ),
    ];
    for (args, env, code, says) in cases {
        let mut c = stack.cinelock();
        c.args(&args);
        for (k, v) in &env {
            if v.is_empty() {
                c.env_remove(k);
            } else {
                c.env(k, v);
            }
        }
        let run = support::Run::of(c.output().unwrap());
        assert_eq!(run.code, code, "{args:?} {env:?}: {run:?}");
        assert!(
            run.stderr.contains(says),
            "{args:?}: {:?} lacks {says:?}",
            run.stderr
        );
    }
    // With --json the failure is a JSON line on stdout too.
    let run = stack.run(&["assets", "show", "nope", "--json"]);
    let e = &run.events("error")[0];
    assert_eq!(
        (
            e["kind"].as_str(),
            e["code"].as_str(),
            e["exitCode"].as_i64()
        ),
        (Some("refused"), Some("unknown_asset"), Some(4))
    );
    // A profile file: its endpoint and key are used when no flag or variable says otherwise.
    let profile = write(
        &d.join("profiles.toml"),
        format!(
            "[staging]\nendpoint = \"{}\"\napi_key = \"{}\"\n",
            stack.api,
            support::API_KEY
        )
        .as_bytes(),
    );
    let run = support::Run::of(
        support::cinelock()
            .args([
                "assets",
                "ls",
                "-q",
                "--profile",
                "staging",
                "--config",
                profile.to_str().unwrap(),
            ])
            .env("CINELOCK_STATE_DIR", d.join("state"))
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{run:?}");
}
