//! A real Garage (S3-compatible store) on free loopback ports in a temporary directory.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

pub const ACCESS_KEY: &str = "GK31c2f218a2e44f485b94239e";
pub const SECRET_KEY: &str = "b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f9d769d67f16c3835";

/// A Garage server for one test; killed on drop.
pub struct Garage {
    child: Child,
    pub endpoint: String,
    pub dir: tempfile::TempDir,
}

impl Garage {
    /// A Garage with the tests' keys and bucket.
    pub fn start() -> Self {
        Self::start_with(ACCESS_KEY, SECRET_KEY, super::BUCKET)
    }

    /// A Garage whose one bucket and key are these (`GK` + 24 hex digits, 64 hex digits): another
    /// customer's store, say.
    pub fn start_with(access_key: &str, secret_key: &str, bucket: &str) -> Self {
        let bin = std::env::var("CINELOCK_GARAGE").unwrap_or_else(|_| "garage".into());
        let dir = tempfile::tempdir().unwrap();
        let (s3, rpc) = (free_port(), free_port());
        let toml = format!(
            "metadata_dir = \"{d}/meta\"\ndata_dir = \"{d}/data\"\ndb_engine = \"sqlite\"\nreplication_factor = 1\n\
             rpc_bind_addr = \"127.0.0.1:{rpc}\"\nrpc_public_addr = \"127.0.0.1:{rpc}\"\n\
             [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3}\"\n",
            d = dir.path().display()
        );
        std::fs::write(dir.path().join("garage.toml"), toml).unwrap();
        let log = std::fs::File::create(dir.path().join("garage.log")).unwrap();
        let child = Command::new(&bin)
            .arg("-c")
            .arg(dir.path().join("garage.toml"))
            .args(["server", "--single-node", "--default-bucket"])
            .env(
                "GARAGE_RPC_SECRET",
                "5f1c7b8e2a9d4c3b6e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d",
            )
            .env("GARAGE_DEFAULT_ACCESS_KEY", access_key)
            .env("GARAGE_DEFAULT_SECRET_KEY", secret_key)
            .env("GARAGE_DEFAULT_BUCKET", bucket)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start Garage ({bin}): {e}; scripts/setup installs it")
            });
        let endpoint = format!("http://127.0.0.1:{s3}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", s3)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Garage did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            endpoint,
            dir,
        }
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
