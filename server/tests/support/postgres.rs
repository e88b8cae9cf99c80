//! A throwaway PostgreSQL cluster: `initdb` in a temporary directory, then `postgres` on a free
//! loopback port, stopped and deleted on drop. PostgreSQL refuses to run as root, so as root
//! both run as the `postgres` user (which owns the directory); otherwise as the current user.
//! A missing installation fails the test: these tests prove the SQL runs on PostgreSQL, and a
//! skipped proof proves nothing.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// A PostgreSQL server for one test.
pub struct Postgres {
    child: Child,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`, no password (trust on loopback).
    pub url: String,
    dir: tempfile::TempDir,
}

/// The directory holding `initdb` and `postgres`: `CINELOCK_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian's layout, not on PATH), else whatever PATH has.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("CINELOCK_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max();
    if let Some((_, bin)) = newest {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
    })
}

/// The `postgres` user's uid and gid, from /etc/passwd.
fn postgres_user() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.first() == Some(&"postgres") && f.len() > 3)
                .then(|| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        })
        .expect("running as root needs a `postgres` user to run PostgreSQL as (apt-get install postgresql creates it)")
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default()
}

impl Postgres {
    pub fn start() -> Self {
        let bin = bin_dir().unwrap_or_else(|| {
            panic!(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, none on PATH): \
                 scripts/test installs it (apt-get install postgresql), or set CINELOCK_PG_BIN \
                 to the directory holding initdb and postgres"
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let as_root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
        let user = as_root.then(postgres_user);
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let command = |name: &str| {
            let mut c = Command::new(bin.join(name));
            // The working directory must be readable by the user PostgreSQL runs as.
            c.current_dir(dir.path()).stdin(Stdio::null());
            if let Some((uid, gid)) = user {
                c.uid(uid).gid(gid);
            }
            c
        };
        let data = dir.path().join("data");
        let out = command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}/initdb: {e} (scripts/test installs PostgreSQL; CINELOCK_PG_BIN overrides where it is)",
                    bin.display()
                )
            });
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("postgres.log")).unwrap();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path().join("postgres.log"), Some(uid), Some(gid))
                .unwrap();
        }
        // Durability is pointless for a cluster deleted after the test; skipping it is faster.
        let mut child = command("postgres")
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-p", &port.to_string()])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}/postgres: {e}", bin.display()));
        let deadline = Instant::now() + Duration::from_secs(20);
        // The port opens only once the server accepts connections (after start-up recovery).
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("postgres exited ({status}): {}", log_of(dir.path()));
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not listen within 20 s: {}",
                log_of(dir.path())
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGQUIT is PostgreSQL's immediate shutdown: it stops its backends and frees its
        // shared memory, which a SIGKILL to the postmaster would leave behind.
        let stopped = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        while stopped && Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
