//! `cinelock import`: every file of a folder, or every object under a prefix of another S3
//! bucket, into its own asset. Each source is streamed through the sealer part by part (no
//! local copy of a bucket's object). What was imported is recorded in the import ledger by the
//! source's fingerprint, so a second run skips it; `--watch` keeps a folder in sync, importing
//! each new file once it has stopped changing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::CliError;
use crate::api::Api;
use crate::output::Output;
use crate::source::{Bucket, BucketAccess, Source, parse_s3_url};
use crate::state::{Imported, State};
use crate::upload::{UploadOptions, upload};

/// How an import chooses and repeats.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Only files with these extensions (lower case, no dot); all when empty.
    pub extensions: Vec<String>,
    /// Import again what the ledger says was imported.
    pub force: bool,
    /// Keep watching the folder.
    pub watch: bool,
    pub interval: Duration,
}

/// What one pass did.
#[derive(Debug, Default)]
struct Tally {
    imported: usize,
    skipped: usize,
    failed: Vec<CliError>,
}

/// `import DIR` or `import s3://bucket/prefix`.
pub async fn run(
    api: &Api,
    state: &State,
    from: &str,
    access: &BucketAccess,
    upload_opts: &UploadOptions,
    opts: &ImportOptions,
    out: &Output,
) -> Result<(), CliError> {
    let ctx = Ctx {
        api,
        state,
        upload_opts,
        opts,
        out,
    };
    if from.starts_with("s3://") {
        if opts.watch {
            return Err(CliError::Usage(
                "--watch follows a folder; run the import of a bucket again to pick up new objects"
                    .into(),
            ));
        }
        let (bucket, prefix) = parse_s3_url(from)?;
        let bucket = Arc::new(Bucket::connect(&bucket, access)?);
        let sources: Vec<Source> = bucket
            .list(&prefix)
            .await?
            .into_iter()
            .filter(|s| opts.wants(&s.describe()))
            .collect();
        let tally = ctx.import_all(sources).await?;
        return ctx.finish(tally);
    }
    let dir = Path::new(from);
    if !dir.is_dir() {
        return Err(CliError::Usage(format!("{from} is not a folder")));
    }
    if !opts.watch {
        let sources = scan(dir, opts)?
            .into_keys()
            .map(|p| Source::file(&p))
            .collect::<Result<Vec<_>, _>>()?;
        let tally = ctx.import_all(sources).await?;
        return ctx.finish(tally);
    }
    ctx.watch(dir).await
}

impl ImportOptions {
    fn wants(&self, name: &str) -> bool {
        if self.extensions.is_empty() {
            return true;
        }
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        self.extensions.contains(&ext)
    }
}

/// A file's size and modification time: when both stay put between two looks, it is complete.
type Stamp = (u64, SystemTime);

/// The files under `dir` the options want (hidden ones never), in path order.
fn scan(dir: &Path, opts: &ImportOptions) -> Result<BTreeMap<PathBuf, Stamp>, CliError> {
    let mut found = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| CliError::io("reading", &d, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| CliError::io("reading", &d, e))?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            // Symbolic links are followed (metadata, not symlink_metadata).
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                todo.push(path);
            } else if meta.is_file() && opts.wants(&name.to_string_lossy()) {
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.insert(path, (meta.len(), modified));
            }
        }
    }
    Ok(found)
}

struct Ctx<'a> {
    api: &'a Api,
    state: &'a State,
    upload_opts: &'a UploadOptions,
    opts: &'a ImportOptions,
    out: &'a Output,
}

impl Ctx<'_> {
    /// Imports each source the ledger does not hold yet; one that fails is reported and the
    /// rest go on (Ctrl-C stops all).
    async fn import_all(&self, sources: Vec<Source>) -> Result<Tally, CliError> {
        let mut tally = Tally::default();
        let ledger = self.state.ledger()?;
        for source in sources {
            let fingerprint = source.fingerprint();
            let what = source.describe();
            if let Some(entry) = ledger.get(&fingerprint).filter(|_| !self.opts.force) {
                tally.skipped += 1;
                self.out
                    .event(json!({"type": "skipped", "source": what, "assetId": entry.asset_id}));
                self.out
                    .note(&format!("{what}: imported before as {}", entry.asset_id));
                continue;
            }
            if source.is_empty() {
                self.out
                    .event(json!({"type": "skipped", "source": what, "reason": "empty"}));
                self.out.note(&format!("{what}: empty, skipped"));
                tally.skipped += 1;
                continue;
            }
            match upload(self.api, self.state, &source, self.upload_opts, self.out).await {
                Ok(done) => {
                    self.state.record_import(
                        &fingerprint,
                        Imported {
                            asset_id: done.asset_id.clone(),
                            source: what.clone(),
                            at: now_ms(),
                        },
                    )?;
                    tally.imported += 1;
                    self.out.result(
                        &done.asset_id,
                        &format!("{}  {what}", done.asset_id),
                        json!({"type": "imported", "source": what, "assetId": done.asset_id, "bytes": done.size, "seconds": done.seconds}),
                    );
                }
                Err(CliError::Interrupted) => return Err(CliError::Interrupted),
                Err(e) => {
                    self.out.event(json!({"type": "failed", "source": what, "kind": e.kind(), "error": e.to_string()}));
                    if self.out.mode() != crate::output::Mode::Json {
                        eprintln!("cinelock: {what}: {e}");
                    }
                    tally.failed.push(e);
                }
            }
        }
        Ok(tally)
    }

    /// Reports the pass; the first failure decides the exit code.
    fn finish(&self, mut tally: Tally) -> Result<(), CliError> {
        self.out.event(json!({
            "type": "summary",
            "imported": tally.imported,
            "skipped": tally.skipped,
            "failed": tally.failed.len(),
        }));
        self.out.note(&format!(
            "imported {}, skipped {} already imported or empty, failed {}",
            tally.imported,
            tally.skipped,
            tally.failed.len()
        ));
        if tally.failed.is_empty() {
            Ok(())
        } else {
            Err(tally.failed.remove(0))
        }
    }

    /// Imports new files until Ctrl-C. A file is taken once its size and modification time
    /// held still for one interval (or it was last changed longer ago than that), so a file
    /// still being copied in is not sealed half-way.
    async fn watch(&self, dir: &Path) -> Result<(), CliError> {
        let mut seen: BTreeMap<PathBuf, Stamp> = BTreeMap::new();
        let interrupt = tokio::signal::ctrl_c();
        tokio::pin!(interrupt);
        self.out.note(&format!(
            "watching {} every {} s (Ctrl-C stops)",
            dir.display(),
            self.opts.interval.as_secs_f64()
        ));
        loop {
            let now = SystemTime::now();
            let found = scan(dir, self.opts)?;
            let ledger = self.state.ledger()?;
            let mut ready = Vec::new();
            for (path, stamp) in &found {
                let settled = seen.get(path) == Some(stamp)
                    || now
                        .duration_since(stamp.1)
                        .is_ok_and(|age| age >= self.opts.interval);
                if !settled {
                    continue;
                }
                match Source::file(path) {
                    Ok(s) if !ledger.contains_key(&s.fingerprint()) && !s.is_empty() => {
                        ready.push(s)
                    }
                    _ => {}
                }
            }
            seen = found;
            if !ready.is_empty() {
                let tally = tokio::select! {
                    t = self.import_all(ready) => t?,
                    _ = &mut interrupt => return Ok(()),
                };
                for e in &tally.failed {
                    // Tried again next pass: a failed file is not in the ledger.
                    self.out.note(&format!("will try again: {e}"));
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.opts.interval) => {}
                _ = &mut interrupt => return Ok(()),
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
