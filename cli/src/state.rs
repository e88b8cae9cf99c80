//! What the command keeps between runs, under the state directory: one resume record per
//! unfinished upload (so an interrupted run never sends a finished part again), and the import
//! ledger (which sources became which assets). Files are written whole (a temporary file, then
//! a rename) and readable by their owner only: a resume record holds the upload's seal seed,
//! from which its data key follows.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use cinelock_contract::uploads::{PartChecksumView, PlanView};
use serde::{Deserialize, Serialize};

use crate::CliError;

/// An upload that has not completed yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadRecord {
    pub endpoint: String,
    /// What was uploaded (see [`crate::source::Source::fingerprint`]).
    pub fingerprint: String,
    pub upload_id: String,
    pub asset_id: String,
    pub plan: PlanView,
    /// The checksum the upload's parts carry (records from before it was named: SHA-256).
    #[serde(default = "PartChecksumView::unnamed")]
    pub part_checksum: PartChecksumView,
    /// The workers' public key the stream is sealed to (hex).
    pub recipient: String,
    /// The seal seed (hex): the same seed seals the same bytes, so a part sent again after a
    /// resume is the same part.
    pub seed: String,
    /// ETags of the parts the store acknowledged.
    #[serde(default)]
    pub etags: BTreeMap<u32, String>,
}

/// One imported source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    pub asset_id: String,
    /// Where it came from (a path or an s3:// URL).
    pub source: String,
    /// Unix ms.
    pub at: i64,
}

/// The state directory of one server.
pub struct State {
    dir: PathBuf,
    endpoint: String,
}

/// A short, stable file name for `key`.
fn name(key: &str) -> String {
    hex::encode(&cinelock_core::sha256(key.as_bytes())[..12])
}

impl State {
    pub fn new(dir: &Path, endpoint: &str) -> Self {
        State {
            dir: dir.to_owned(),
            endpoint: endpoint.to_owned(),
        }
    }

    fn upload_path(&self, fingerprint: &str) -> PathBuf {
        self.dir.join("uploads").join(format!(
            "{}.json",
            name(&format!("{}\n{fingerprint}", self.endpoint))
        ))
    }

    fn ledger_path(&self) -> PathBuf {
        self.dir
            .join("imports")
            .join(format!("{}.json", name(&self.endpoint)))
    }

    /// The unfinished upload of this source, if one was recorded.
    pub fn upload(&self, fingerprint: &str) -> Result<Option<UploadRecord>, CliError> {
        let path = self.upload_path(fingerprint);
        let Some(record) = read::<UploadRecord>(&path)? else {
            return Ok(None);
        };
        // A record of another source that hashed to the same name is not this one's.
        Ok(
            (record.fingerprint == fingerprint && record.endpoint == self.endpoint)
                .then_some(record),
        )
    }

    pub fn save_upload(&self, record: &UploadRecord) -> Result<(), CliError> {
        write(&self.upload_path(&record.fingerprint), record)
    }

    pub fn forget_upload(&self, fingerprint: &str) -> Result<(), CliError> {
        let path = self.upload_path(fingerprint);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CliError::io("removing", &path, e))
            }
            _ => Ok(()),
        }
    }

    /// The sources imported into this server so far, by fingerprint.
    pub fn ledger(&self) -> Result<BTreeMap<String, Imported>, CliError> {
        Ok(read(&self.ledger_path())?.unwrap_or_default())
    }

    pub fn record_import(&self, fingerprint: &str, entry: Imported) -> Result<(), CliError> {
        let mut ledger = self.ledger()?;
        ledger.insert(fingerprint.to_owned(), entry);
        write(&self.ledger_path(), &ledger)
    }
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, CliError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            CliError::Io(format!(
                "{} is damaged ({e}); remove it to start over",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io("reading", path, e)),
    }
}

fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), CliError> {
    let dir = path.parent().expect("state files live in a directory");
    std::fs::create_dir_all(dir).map_err(|e| CliError::io("creating", dir, e))?;
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec_pretty(value).expect("state serializes");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .map_err(|e| CliError::io("writing", &tmp, e))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_data())
        .map_err(|e| CliError::io("writing", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| CliError::io("writing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_per_server_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = State::new(dir.path(), "http://a");
        let b = State::new(dir.path(), "http://b");
        let record = UploadRecord {
            endpoint: "http://a".into(),
            fingerprint: "file:/x:1:2".into(),
            upload_id: "u".into(),
            asset_id: "as".into(),
            plan: PlanView {
                growing: false,
                plaintext_len: 1,
                chunk_size: 64,
                chunks_per_part: 1,
                part_count: 1,
                sealed_len: 1,
            },
            part_checksum: PartChecksumView::Crc32c,
            recipient: "00".into(),
            seed: "00".into(),
            etags: BTreeMap::from([(1, "\"e\"".into())]),
        };
        a.save_upload(&record).unwrap();
        assert_eq!(
            a.upload("file:/x:1:2").unwrap().unwrap().etags,
            record.etags
        );
        assert!(b.upload("file:/x:1:2").unwrap().is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(a.upload_path("file:/x:1:2"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        a.forget_upload("file:/x:1:2").unwrap();
        assert!(a.upload("file:/x:1:2").unwrap().is_none());
        let entry = Imported {
            asset_id: "as".into(),
            source: "/x".into(),
            at: 5,
        };
        a.record_import("f", entry.clone()).unwrap();
        assert_eq!(a.ledger().unwrap()["f"], entry);
        assert!(b.ledger().unwrap().is_empty());
    }
}
