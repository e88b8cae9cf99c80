//! Test support. Real stores and databases in temporary directories, no mocks: a Garage
//! (`garage.rs`), the embedded S3 store, SQLite and a throwaway PostgreSQL (`postgres.rs`);
//! and the upload API driven the way a customer backend and a browser drive it (`flow.rs`).

#![allow(dead_code, unused_imports, unused_macros)]

mod flow;
mod garage;
mod media;
pub mod mmdb;
mod postgres;
pub mod process;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use cinelock_server::{AppState, Cli, Settings};
use clap::Parser;

pub use flow::*;
pub use garage::{ACCESS_KEY, Garage, SECRET_KEY};
pub use media::*;
pub use postgres::Postgres;

pub const BUCKET: &str = "cinelock-test";
/// The viewer token secret every test configuration has.
pub const VIEWER_SECRET: &str =
    "76696577657220746f6b656e20736563726574206f662074657374732121212121";
pub const TOKEN_SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stand-ins for the demo pages and the built SDK, which the configuration checks for.
pub fn fake_static(dir: &Path) -> (PathBuf, PathBuf) {
    let demo = dir.join("demo");
    let sdk = dir.join("npm");
    std::fs::create_dir_all(&demo).unwrap();
    std::fs::create_dir_all(sdk.join("dist")).unwrap();
    std::fs::create_dir_all(sdk.join("pkg")).unwrap();
    std::fs::write(demo.join("index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(sdk.join("dist/index.js"), "export {}").unwrap();
    std::fs::write(sdk.join("pkg/cinelock_sdk_wasm_bg.wasm"), b"\0asm").unwrap();
    (demo, sdk)
}

/// Parsed, unvalidated configuration for an app in `dir` on `database_url`: on `garage` if
/// given (with its credentials), else on no store unless `extra` flags name one.
pub fn config(
    dir: &Path,
    database_url: &str,
    garage: Option<&Garage>,
    worker_pk: &[u8; 32],
    extra: &[&str],
) -> cinelock_server::Config {
    let (demo, sdk) = fake_static(dir);
    let mut args = vec![
        "cinelock-server".to_owned(),
        "--demo-dir".into(),
        demo.display().to_string(),
        "--sdk-dir".into(),
        sdk.display().to_string(),
        "--database-url".into(),
        database_url.into(),
        "--worker-public-key".into(),
        hex::encode(worker_pk),
        "--s3-bucket".into(),
        BUCKET.into(),
    ];
    if let Some(g) = garage {
        args.extend(["--s3-endpoint".into(), g.endpoint.clone()]);
        args.extend(["--s3-region".into(), "garage".into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut config = Cli::try_parse_from(args).unwrap().config;
    if garage.is_some() {
        config.s3_access_key = ACCESS_KEY.into();
        config.s3_secret_key = SECRET_KEY.into();
    }
    config.token_secret = TOKEN_SECRET.into();
    config.viewer_token_secrets = VIEWER_SECRET.into();
    config
}

/// A fresh SQLite database in `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/db.sqlite?mode=rwc", dir.display())
}

/// Validated settings on SQLite (see [`config`]).
pub fn settings(
    dir: &Path,
    garage: Option<&Garage>,
    worker_pk: &[u8; 32],
    extra: &[&str],
) -> Settings {
    config(dir, &sqlite_url(dir), garage, worker_pk, extra)
        .validate()
        .unwrap()
}

/// An app on SQLite, on `garage` or on no store.
pub async fn state(dir: &Path, garage: Option<&Garage>, worker_pk: &[u8; 32]) -> AppState {
    AppState::new(settings(dir, garage, worker_pk, &[]))
        .await
        .unwrap()
}

/// For each `async fn name(db: Db)` named, tests `name::sqlite` and `name::postgres`: the
/// same scenario on both databases the server supports.
macro_rules! on_each_database {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::support::Db::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(super::support::Db::Postgres).await
            }
        }
    )*};
}
pub(crate) use on_each_database;
