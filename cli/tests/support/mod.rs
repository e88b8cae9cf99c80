//! The CLI's test bench: a real Garage and the real `cinelock-server` binary (the server's own
//! test helpers, shared by path), and the `cinelock` binary run as a user runs it, with an
//! environment of its own.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use cinelock_core::RecipientSecretKey;

#[path = "../../../server/tests/support/garage.rs"]
pub mod garage;
#[path = "../../../server/tests/support/process.rs"]
pub mod process;

pub use garage::Garage;

pub const BUCKET: &str = "cinelock-test";
pub const API_KEY: &str = "clk_dev_cli_tests_key";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Garage, the server (with `workers` transcode workers) and a state directory for the CLI.
pub struct Stack {
    pub server: process::Running,
    pub api: String,
    pub garage: Garage,
    pub dir: tempfile::TempDir,
    pub worker: RecipientSecretKey,
}

impl Stack {
    pub async fn start(workers: u32) -> Self {
        let garage = Garage::start();
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let worker_file = dir.path().join("worker.key");
        let kek = dir.path().join("kek.key");
        let made = process::server()
            .args(["generate-worker-key", "--out"])
            .arg(&worker_file)
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
        let made = process::server()
            .args(["generate-kek", "--out"])
            .arg(&kek)
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
        let secret = std::fs::read_to_string(&worker_file).unwrap();
        let worker = RecipientSecretKey::from_bytes(&hex::decode(secret.trim()).unwrap()).unwrap();
        // The pages and the SDK are not what these tests use; the configuration checks for them.
        let sdk = dir.path().join("npm");
        std::fs::create_dir_all(sdk.join("dist")).unwrap();
        std::fs::create_dir_all(sdk.join("pkg")).unwrap();
        std::fs::write(sdk.join("dist/index.js"), "export {}").unwrap();
        std::fs::write(sdk.join("pkg/cinelock_sdk_wasm_bg.wasm"), b"\0asm").unwrap();
        let mut c = process::server();
        c.current_dir(root)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CINELOCK_LISTEN", "127.0.0.1:0")
            .env("CINELOCK_ADMIN_LISTEN", "127.0.0.1:0")
            .env("CINELOCK_DEMO_DIR", root.join("player-demo"))
            .env("CINELOCK_SDK_DIR", &sdk)
            .env(
                "CINELOCK_DATABASE_URL",
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("db.sqlite").display()
                ),
            )
            .env("CINELOCK_S3_ENDPOINT", &garage.endpoint)
            .env("CINELOCK_S3_REGION", "garage")
            .env("CINELOCK_S3_BUCKET", BUCKET)
            .env("CINELOCK_S3_ACCESS_KEY", garage::ACCESS_KEY)
            .env("CINELOCK_S3_SECRET_KEY", garage::SECRET_KEY)
            .env(
                "CINELOCK_TOKEN_SECRET",
                "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            )
            .env(
                "CINELOCK_WORKER_PUBLIC_KEY",
                hex::encode(worker.public_key().to_bytes()),
            )
            .env("CINELOCK_WORKER_SECRET_KEY_FILE", &worker_file)
            .env("CINELOCK_KEK_FILE", &kek)
            .env("CINELOCK_WORKERS", workers.to_string())
            .env("CINELOCK_WORK_DIR", dir.path())
            .env("CINELOCK_DEV_API_KEY", API_KEY)
            // No browser reads this bucket.
            .env("CINELOCK_SKIP_CORS_CHECK", "true");
        let (server, lines) = process::start(c).await;
        Stack {
            api: process::api_url(&lines),
            server,
            garage,
            dir,
            worker,
        }
    }

    /// The `cinelock` binary with this stack's endpoint, key and state directory, and nothing
    /// else from the environment (no profile file: HOME is the test's directory).
    pub fn cinelock(&self) -> Command {
        let mut c = cinelock();
        c.env("CINELOCK_ENDPOINT", &self.api)
            .env("CINELOCK_API_KEY", API_KEY)
            .env("CINELOCK_STATE_DIR", self.dir.path().join("state"))
            .env("HOME", self.dir.path());
        c
    }

    /// Runs `cinelock ARGS` to its end.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.cinelock().args(args).output().unwrap())
    }

    /// The bucket's client.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        s3_client(
            &self.garage.endpoint,
            garage::ACCESS_KEY,
            garage::SECRET_KEY,
        )
    }

    /// The sealed source of `asset`, as the bucket holds it.
    pub async fn sealed_source(&self, asset: &str) -> Vec<u8> {
        get(&self.s3(), BUCKET, &format!("assets/{asset}/source.cnlk")).await
    }

    /// The plaintext of `asset`'s sealed source, opened with the workers' key.
    pub async fn opened_source(&self, asset: &str) -> Vec<u8> {
        let sealed = self.sealed_source(asset).await;
        cinelock_core::open(&self.worker, asset.as_bytes(), &sealed).unwrap()
    }

    /// `PATCH /v1/assets/{id}/policy` with the API key.
    pub async fn patch_policy(&self, asset: &str, body: serde_json::Value) {
        let res = reqwest::Client::new()
            .patch(format!("{}/v1/assets/{asset}/policy", self.api))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
}

/// The `cinelock` binary with an empty environment.
pub fn cinelock() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cinelock"));
    c.env_clear();
    c
}

pub fn s3_client(endpoint: &str, access: &str, secret: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("garage"))
        .credentials_provider(Credentials::new(access, secret, None, None, "test"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

/// What a finished run said.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        }
    }

    /// The `--json` lines.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    /// The `--json` lines of `type`.
    pub fn events(&self, kind: &str) -> Vec<serde_json::Value> {
        self.json()
            .into_iter()
            .filter(|v| v["type"] == kind)
            .collect()
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
}

/// Bytes that differ everywhere (no two chunks alike).
pub fn pattern(len: usize, salt: u8) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(salt);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

pub fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
    path.to_owned()
}

/// A proxy in front of the server that passes every request on, but withholds the server's
/// answer to the first upload completion: the server completes, and the CLI never hears so.
pub struct HoldFirstCompletion {
    pub url: String,
    completions: Arc<AtomicUsize>,
}

struct Upstream {
    url: String,
    client: reqwest::Client,
    completions: Arc<AtomicUsize>,
}

impl HoldFirstCompletion {
    pub async fn start(upstream: &str) -> Self {
        let completions = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(Upstream {
            url: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            completions: completions.clone(),
        });
        let app = axum::Router::new().fallback(pass_on).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        HoldFirstCompletion { url, completions }
    }

    /// How many completion requests reached the server.
    pub fn completions(&self) -> usize {
        self.completions.load(Ordering::SeqCst)
    }
}

async fn pass_on(
    axum::extract::State(up): axum::extract::State<Arc<Upstream>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let target = format!(
        "{}{}",
        up.url,
        parts.uri.path_and_query().map_or("", |p| p.as_str())
    );
    let mut headers = parts.headers.clone();
    headers.remove(axum::http::header::HOST);
    let answer = up
        .client
        .request(parts.method.clone(), target)
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let completion =
        parts.method == axum::http::Method::POST && parts.uri.path().ends_with("/complete");
    if completion && up.completions.fetch_add(1, Ordering::SeqCst) == 0 {
        // The server answered; the CLI waits for that answer for ever, unless it gives up.
        std::future::pending::<()>().await;
    }
    let mut response = axum::response::Response::builder().status(answer.status());
    for (k, v) in answer.headers() {
        response = response.header(k, v);
    }
    response
        .body(axum::body::Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}
