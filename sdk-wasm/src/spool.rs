//! Where a recording's sealed bytes wait until the store has them: a directory per recording in
//! the origin private file system (OPFS), so memory stays flat however slow the network, and a
//! closed tab loses only what was not yet sealed. Without OPFS (some private modes) the pieces
//! are kept as Blobs in memory instead, and a closed tab loses the recording.
//!
//! The files are named so a listing rebuilds everything ([`Spool::list`]):
//! - `p{part:05}-{offset:012}`: sealed bytes of part `part` starting at `offset` within it, in
//!   the order the sealer produced them (`cinelock_core::upload::GrowingSealer`);
//! - `tail-{chunk:010}`: the newest sealed chunk sealed again as the last one (the stream's end
//!   if the recording is cut short); the one before goes only once it is written;
//! - `end-{plaintext_len}`: the recording stopped normally with this many plaintext bytes.
//!
//! Only ciphertext is written: the same bytes the bucket gets. [`SpoolBook`] keeps the index of
//! a recording's pieces and decides which may go.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use cinelock_core::upload::{Append, ChecksumAlgorithm, PartChecksum, PartSpec};

use crate::{SdkError, platform};

/// The OPFS directory all recordings' spools live in.
const ROOT: &str = "cinelock-recordings";

/// What a spool holds, parsed from its file names.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Listing {
    /// Per part: its pieces as (offset, file name, size), by offset.
    pub parts: BTreeMap<u32, Vec<(u64, String, u64)>>,
    /// Every tail: by chunk index, its file name and size. Two are left when the page ended
    /// while the newer one was being written (`cinelock_core::upload::cut_short_end` picks).
    pub tails: BTreeMap<u64, (String, u64)>,
    /// The plaintext length of a recording that stopped normally.
    pub end: Option<u64>,
}

/// One recording's spool. Clones are the same spool.
#[derive(Clone)]
pub(crate) struct Spool {
    dir: Option<JsValue>,
    memory: Rc<RefCell<BTreeMap<String, Blob>>>,
}

fn storage_error(e: JsValue) -> SdkError {
    SdkError::Storage(SdkError::describe(&e))
}

async fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &method.into())?.dyn_into()?;
    let result = f.apply(target, &args.iter().collect::<Array>())?;
    match result.dyn_into::<Promise>() {
        Ok(p) => JsFuture::from(p).await,
        Err(v) => Ok(v),
    }
}

fn create_flag() -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"create".into(), &true.into());
    o.into()
}

/// The OPFS root of recordings, if this browser has OPFS.
async fn root() -> Option<JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let storage = Reflect::get(&navigator, &"storage".into()).ok()?;
    if storage.is_undefined() || !Reflect::has(&storage, &"getDirectory".into()).ok()? {
        return None;
    }
    let top = call(&storage, "getDirectory", &[]).await.ok()?;
    call(&top, "getDirectoryHandle", &[ROOT.into(), create_flag()])
        .await
        .ok()
}

impl Spool {
    /// Opens (creating) the spool named `name` (the upload id).
    pub(crate) async fn open(name: &str) -> Spool {
        let dir = match root().await {
            Some(root) => call(&root, "getDirectoryHandle", &[name.into(), create_flag()])
                .await
                .ok(),
            None => None,
        };
        Spool {
            dir,
            memory: Rc::default(),
        }
    }

    /// Whether the spool outlives the page (OPFS).
    pub(crate) fn persistent(&self) -> bool {
        self.dir.is_some()
    }

    /// Writes a whole file.
    pub(crate) async fn write(&self, name: &str, bytes: &[u8]) -> Result<(), SdkError> {
        let data = Uint8Array::from(bytes);
        let Some(dir) = &self.dir else {
            let parts = Array::of1(&data);
            let blob = Blob::new_with_u8_array_sequence(&parts).map_err(storage_error)?;
            self.memory.borrow_mut().insert(name.to_owned(), blob);
            return Ok(());
        };
        let file = call(dir, "getFileHandle", &[name.into(), create_flag()])
            .await
            .map_err(storage_error)?;
        let writable = call(&file, "createWritable", &[])
            .await
            .map_err(storage_error)?;
        if let Err(e) = call(&writable, "write", &[data.into()]).await {
            let _ = call(&writable, "abort", &[]).await;
            return Err(storage_error(e));
        }
        call(&writable, "close", &[]).await.map_err(storage_error)?;
        Ok(())
    }

    /// A file's bytes as a (disk-backed) Blob.
    pub(crate) async fn read(&self, name: &str) -> Result<Blob, SdkError> {
        let Some(dir) = &self.dir else {
            return self
                .memory
                .borrow()
                .get(name)
                .cloned()
                .ok_or_else(|| SdkError::Storage(format!("{name} is missing")));
        };
        let file = call(dir, "getFileHandle", &[name.into()])
            .await
            .map_err(storage_error)?;
        call(&file, "getFile", &[])
            .await
            .map_err(storage_error)?
            .dyn_into()
            .map_err(storage_error)
    }

    /// Removes a file (a missing one is fine).
    pub(crate) async fn remove(&self, name: &str) {
        match &self.dir {
            Some(dir) => {
                let _ = call(dir, "removeEntry", &[name.into()]).await;
            }
            None => {
                self.memory.borrow_mut().remove(name);
            }
        }
    }

    /// Every file's name and size.
    async fn files(&self) -> Result<Vec<(String, u64)>, SdkError> {
        let Some(dir) = &self.dir else {
            return Ok(self
                .memory
                .borrow()
                .iter()
                .map(|(n, b)| (n.clone(), b.size() as u64))
                .collect());
        };
        let mut out = Vec::new();
        let entries = call(dir, "values", &[]).await.map_err(storage_error)?;
        loop {
            let step = call(&entries, "next", &[]).await.map_err(storage_error)?;
            if Reflect::get(&step, &"done".into())
                .map_err(storage_error)?
                .is_truthy()
            {
                break;
            }
            let handle = Reflect::get(&step, &"value".into()).map_err(storage_error)?;
            let kind = Reflect::get(&handle, &"kind".into()).map_err(storage_error)?;
            if kind.as_string().as_deref() != Some("file") {
                continue;
            }
            let name = Reflect::get(&handle, &"name".into())
                .map_err(storage_error)?
                .as_string()
                .unwrap_or_default();
            let file: Blob = call(&handle, "getFile", &[])
                .await
                .map_err(storage_error)?
                .dyn_into()
                .map_err(storage_error)?;
            out.push((name, file.size() as u64));
        }
        Ok(out)
    }

    /// What the spool holds.
    pub(crate) async fn list(&self) -> Result<Listing, SdkError> {
        let mut listing = Listing::default();
        for (name, size) in self.files().await? {
            if let Some(index) = name.strip_prefix("tail-").and_then(|i| i.parse().ok()) {
                listing.tails.insert(index, (name, size));
            } else if let Some(rest) = name.strip_prefix("end-") {
                listing.end = rest.parse().ok();
            } else if let Some((part, offset)) = piece_of(&name) {
                listing
                    .parts
                    .entry(part)
                    .or_default()
                    .push((offset, name, size));
            }
        }
        for pieces in listing.parts.values_mut() {
            pieces.sort();
        }
        Ok(listing)
    }

    /// Removes the whole spool.
    pub(crate) async fn destroy(&self, name: &str) {
        self.memory.borrow_mut().clear();
        if self.dir.is_some()
            && let Some(root) = root().await
        {
            let opts = Object::new();
            let _ = Reflect::set(&opts, &"recursive".into(), &true.into());
            let _ = call(&root, "removeEntry", &[name.into(), opts.into()]).await;
        }
    }
}

/// A recording's sealed pieces in its spool, and which may go: a part's pieces are deleted
/// once the store has the part, unless the part could still end the stream (it holds the tail,
/// or it is the last part), since finishing after a reload needs its bytes again.
pub(crate) struct SpoolBook {
    spool: Spool,
    state: RefCell<BookState>,
}

#[derive(Default)]
struct BookState {
    /// Per part: (offset within the part, file name, size).
    pieces: BTreeMap<u32, Vec<(u64, String, u64)>>,
    sent: BTreeSet<u32>,
    /// Parts from this one on are kept even when sent.
    keep_from: u32,
    /// Finishing a stream cut short: this part's final chunk is replaced by the tail file.
    tail: Option<(u32, String)>,
}

impl SpoolBook {
    pub(crate) fn new(spool: Spool) -> Self {
        SpoolBook {
            spool,
            state: RefCell::new(BookState {
                keep_from: 1,
                ..BookState::default()
            }),
        }
    }

    /// Writes what the sealer produced, each piece after its part's earlier ones; returns the
    /// bytes written.
    pub(crate) async fn append(&self, appends: Vec<Append>) -> Result<u64, SdkError> {
        let mut written = 0;
        for a in appends {
            let offset = self
                .state
                .borrow()
                .pieces
                .get(&a.part)
                .map_or(0, |p| p.iter().map(|(_, _, len)| len).sum());
            let name = piece_name(a.part, offset);
            self.spool.write(&name, &a.bytes).await?;
            let len = a.bytes.len() as u64;
            self.state
                .borrow_mut()
                .pieces
                .entry(a.part)
                .or_default()
                .push((offset, name, len));
            written += len;
        }
        Ok(written)
    }

    /// Part `spec` as one Blob of its spooled pieces, with its `checksum`.
    pub(crate) async fn part_body(
        &self,
        spec: &PartSpec,
        checksum: ChecksumAlgorithm,
    ) -> Result<(Blob, PartChecksum), SdkError> {
        let (names, tail) = {
            let state = self.state.borrow();
            let names: Vec<String> = state
                .pieces
                .get(&spec.number)
                .map(|p| p.iter().map(|(_, n, _)| n.clone()).collect())
                .unwrap_or_default();
            let tail = state
                .tail
                .as_ref()
                .filter(|(part, _)| *part == spec.number)
                .map(|(_, name)| name.clone());
            (names, tail)
        };
        let pieces = Array::new();
        for name in &names {
            pieces.push(&self.spool.read(name).await?.into());
        }
        let mut blob = Blob::new_with_blob_sequence(&pieces).map_err(platform::platform_error)?;
        if let Some(tail) = tail {
            // The stream ends here: its final sealed chunk becomes the last-flagged tail.
            // Pieces sealed after the tail was written (a crash between the two writes) are
            // past the stream's end: the part is cut at its planned size.
            let tail = self.spool.read(&tail).await?;
            let keep = spec.sealed_len() as f64 - tail.size();
            if keep < 0.0 || blob.size() < keep {
                return Err(SdkError::Storage(
                    "the spooled tail is larger than its part".into(),
                ));
            }
            let head = blob
                .slice_with_f64_and_f64(0.0, keep)
                .map_err(platform::platform_error)?;
            blob = Blob::new_with_blob_sequence(&Array::of2(&head, &tail))
                .map_err(platform::platform_error)?;
        }
        if blob.size() as u64 != spec.sealed_len() {
            return Err(SdkError::Storage(format!(
                "part {} is not whole in the browser's storage ({} of {} bytes)",
                spec.number,
                blob.size(),
                spec.sealed_len()
            )));
        }
        let bytes = platform::read_blob(&blob).await?;
        let checksum = platform::part_checksum(checksum, &bytes).await?;
        Ok((blob, checksum))
    }

    /// The store has `part`: its pieces go unless it may still end the stream.
    pub(crate) async fn part_sent(&self, part: u32) {
        let names = {
            let mut state = self.state.borrow_mut();
            state.sent.insert(part);
            if part >= state.keep_from {
                return;
            }
            state.pieces.remove(&part).unwrap_or_default()
        };
        for (_, name, _) in names {
            self.spool.remove(&name).await;
        }
    }

    /// The spool itself.
    pub(crate) fn spool(&self) -> &Spool {
        &self.spool
    }

    /// Takes over what a listing found (finishing after a reload); nothing is deleted until the
    /// upload completes, since every part may be needed again.
    pub(crate) fn adopt(&self, pieces: BTreeMap<u32, Vec<(u64, String, u64)>>) {
        let mut state = self.state.borrow_mut();
        state.pieces = pieces;
        state.keep_from = u32::MAX;
    }

    /// Finishing a stream cut short: `part`'s final chunk is replaced by the tail file `name`.
    pub(crate) fn end_with_tail(&self, part: u32, name: String) {
        self.state.borrow_mut().tail = Some((part, name));
    }

    /// Parts before `part` can no longer end the stream: the sent ones go.
    pub(crate) async fn keep_from(&self, part: u32) {
        let names: Vec<String> = {
            let mut state = self.state.borrow_mut();
            if part <= state.keep_from {
                return;
            }
            state.keep_from = part;
            let gone: Vec<u32> = state.sent.iter().copied().filter(|&p| p < part).collect();
            gone.iter()
                .flat_map(|p| state.pieces.remove(p).unwrap_or_default())
                .map(|(_, n, _)| n)
                .collect()
        };
        for name in names {
            self.spool.remove(&name).await;
        }
    }
}

/// The file name of the piece of part `part` at `offset`.
pub(crate) fn piece_name(part: u32, offset: u64) -> String {
    format!("p{part:05}-{offset:012}")
}

fn piece_of(name: &str) -> Option<(u32, u64)> {
    let rest = name.strip_prefix('p')?;
    let (part, offset) = rest.split_once('-')?;
    Some((part.parse().ok()?, offset.parse().ok()?))
}

/// The names of the spools on this origin (recordings a closed tab left).
pub(crate) async fn spools() -> Vec<String> {
    let Some(root) = root().await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Ok(keys) = call(&root, "keys", &[]).await else {
        return out;
    };
    while let Ok(step) = call(&keys, "next", &[]).await {
        if Reflect::get(&step, &"done".into()).is_ok_and(|d| d.is_truthy()) {
            break;
        }
        if let Some(name) = Reflect::get(&step, &"value".into())
            .ok()
            .and_then(|v| v.as_string())
        {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_names_parse_back_and_sort_in_stream_order() {
        assert_eq!(piece_of(&piece_name(3, 262_160)), Some((3, 262_160)));
        assert!(piece_name(2, 999_999) < piece_name(10, 0));
        assert!(piece_name(2, 9) < piece_name(2, 10));
        assert_eq!(piece_of("tail-0000000001"), None);
        assert_eq!(piece_of("px-1"), None);
    }
}
