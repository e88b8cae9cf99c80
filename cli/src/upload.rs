//! The native driver of the core's upload engine ([`cinelock_core::upload::Upload`]): the same
//! state machine the browser runs decides what to seal, sign, send, retry and complete; this
//! file only performs the I/O it asks for and feeds the outcomes back.
//!
//! One loop owns the engine. Reads, seals, signing requests and PUTs run as tasks that report
//! through one channel. Sealing runs on the blocking pool, so the parts the engine allows in
//! flight are sealed in parallel on every core. A part's sealed bytes are held only until its
//! PUT succeeds, and the engine allows at most `parallel` such parts: memory stays flat
//! whatever the source's size.
//!
//! Each acknowledged part's ETag goes to the resume record ([`crate::state`]) before anything
//! else happens, so a run killed at any point resumes without sending a finished part again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cinelock_contract::events::UploadEvent;
use cinelock_contract::retryable_status;
use cinelock_contract::uploads::{
    CompleteRequest, CreateUpload, CreatedUpload, SignRequest, SignedParts, UploadStatus,
    UploadView,
};
use cinelock_core::upload::{
    Action, CompleteFailure, Event, ListedPart, PartChecksum, PutFailure, SignedPart, Upload,
    UploadConfig, done_parts, seal_part,
};
use cinelock_core::{ChunkCipher, HEADER_LEN, RecipientPublicKey, SEED_LEN, SealSeed};
use reqwest::Method;
use serde_json::json;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use crate::CliError;
use crate::api::{Api, refusal, segment};
use crate::output::Output;
use crate::source::Source;
use crate::state::{State, UploadRecord};

/// How uploads are made.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Parts sealed or in flight at once.
    pub parallel: usize,
    /// Target sealed bytes per part (the server's default when absent).
    pub part_size: Option<u64>,
    /// Plaintext bytes per sealed chunk (the server's default when absent).
    pub chunk_size: Option<u32>,
    /// How long the completion's answer is waited for before it is asked again (`None`: for
    /// ever); the engine's default unless the user sets it.
    pub complete_timeout_ms: Option<u64>,
    /// A fixed seal seed, for tests that compare sealed bytes. Never for real content: two
    /// files sealed with one seed share their key and nonces.
    pub insecure_seed: Option<[u8; SEED_LEN]>,
}

/// A finished upload.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub asset_id: String,
    pub upload_id: String,
    /// Parts an earlier run had sent.
    pub resumed_parts: u32,
    /// Parts this run sent.
    pub sent_parts: u32,
    pub size: u64,
    pub seconds: f64,
}

/// Messages into the loop that owns the engine.
enum Msg {
    Sealed {
        number: u32,
        bytes: Bytes,
        checksum: PartChecksum,
    },
    SealFailed(CliError),
    Signed(Vec<(SignedPart, Vec<(String, String)>)>),
    SignFailed {
        retryable: bool,
        why: String,
    },
    Put {
        number: u32,
        attempt: u32,
        result: Result<String, PutFailure>,
    },
    Completed(Result<(), CompleteFailure>, Option<String>),
}

/// The tasks of PUTs that are out; aborted when the upload ends, however it ends.
#[derive(Default)]
struct Puts(HashMap<u32, (u32, JoinHandle<()>)>);

impl Drop for Puts {
    fn drop(&mut self) {
        for (_, (_, task)) in self.0.drain() {
            task.abort();
        }
    }
}

/// Uploads `source` as a new asset, or resumes the unfinished upload an earlier run recorded
/// for it.
pub async fn upload(
    api: &Api,
    state: &State,
    source: &Source,
    opts: &UploadOptions,
    out: &Output,
) -> Result<Uploaded, CliError> {
    let started = Instant::now();
    let fingerprint = source.fingerprint();
    let label = source.filename().unwrap_or_else(|| source.describe());
    let (mut record, listed) = match resumable(api, state, &fingerprint).await? {
        Resumable::Completed(record) => {
            state.forget_upload(&fingerprint)?;
            return Ok(Uploaded {
                asset_id: record.asset_id,
                upload_id: record.upload_id,
                resumed_parts: record.plan.part_count,
                sent_parts: 0,
                size: source.len(),
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        Resumable::Open(record, listed) => (record, listed),
        Resumable::No => (create(api, state, source, opts).await?, Vec::new()),
    };
    let plan = record.plan.to_plan()?;
    if plan.plaintext_len() != source.len() {
        return Err(CliError::Usage(format!(
            "{} has {} bytes, but its upload was created for {}",
            source.describe(),
            source.len(),
            plan.plaintext_len()
        )));
    }
    let recipient = hex::decode(&record.recipient)
        .ok()
        .and_then(|b| RecipientPublicKey::from_bytes(&b).ok())
        .ok_or_else(|| CliError::Server("the server's worker key is not an X25519 key".into()))?;
    let seed: Zeroizing<[u8; SEED_LEN]> = Zeroizing::new(
        hex::decode(&record.seed)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| CliError::Io("the resume record's seed is damaged".into()))?,
    );
    let (header, key) = recipient.seal_header(
        plan.chunk_size(),
        &SealSeed::from_bytes(&seed),
        record.asset_id.as_bytes(),
    )?;
    let sealing = Arc::new(Sealing {
        cipher: ChunkCipher::new(&header, &key),
        header: header.to_bytes(),
        chunk_size: plan.chunk_size(),
    });
    let done = done_parts(&plan, &listed, &record.etags);
    let resumed_parts = done.len() as u32;
    // The record keeps only what the store agrees it holds.
    record.etags = done.iter().cloned().collect();
    state.save_upload(&record)?;
    out.event(json!({
        "type": "started",
        "file": source.describe(),
        "assetId": record.asset_id,
        "uploadId": record.upload_id,
        "parts": plan.part_count(),
        "resumedParts": resumed_parts,
    }));
    if resumed_parts > 0 {
        out.note(&format!(
            "{label}: resuming; {resumed_parts} of {} parts are already in the store",
            plan.part_count()
        ));
    }
    let config = UploadConfig {
        max_parallel: opts.parallel.clamp(1, 32),
        // Parts seal on the blocking pool, one per core at once.
        max_sealing: std::thread::available_parallelism().map_or(2, |n| n.get()),
        part_checksum: record.part_checksum.into(),
        // reqwest tells nothing of bytes sent, so the engine could not tell a slow PUT from a
        // silent one: each PUT's own timeout (`put`, 300 s) bounds it instead.
        put_stall_ms: None,
        // Parts are as large as the user asks (up to 5 GiB), read from a local file.
        seal_stall_ms: None,
        complete_timeout_ms: opts.complete_timeout_ms,
        ..UploadConfig::default()
    };
    let total_parts = plan.part_count();
    let upload = Upload::new(plan, config, rand::random(), done)?;
    let bar = out.bytes_bar(record.plan.sealed_len, &label);
    let driver = Driver {
        api: api.clone(),
        source: source.clone(),
        sealing,
        file: source.describe(),
        parts: HashMap::new(),
        headers: HashMap::new(),
        puts: Puts::default(),
        last_refusal: None,
        started: Instant::now(),
    };
    let result = driver.run(upload, &mut record, state, out, &bar).await;
    bar.finish_and_clear();
    result?;
    state.forget_upload(&fingerprint)?;
    Ok(Uploaded {
        asset_id: record.asset_id,
        upload_id: record.upload_id,
        resumed_parts,
        sent_parts: total_parts - resumed_parts,
        size: source.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

enum Resumable {
    No,
    Open(UploadRecord, Vec<ListedPart>),
    Completed(UploadRecord),
}

/// What became of the upload an earlier run recorded for this source.
async fn resumable(api: &Api, state: &State, fingerprint: &str) -> Result<Resumable, CliError> {
    let Some(record) = state.upload(fingerprint)? else {
        return Ok(Resumable::No);
    };
    let view: UploadView = match api
        .get(&format!("/v1/uploads/{}", segment(&record.upload_id)))
        .await
    {
        Ok(v) => v,
        // Gone (deleted, or another server's): start over.
        Err(CliError::Refused { status: 404, .. }) => {
            state.forget_upload(fingerprint)?;
            return Ok(Resumable::No);
        }
        Err(e) => return Err(e),
    };
    Ok(match view.status {
        UploadStatus::Open => {
            // The server's word on the upload's algorithm (records before it named none).
            let record = UploadRecord {
                part_checksum: view.part_checksum,
                ..record
            };
            let listed = view
                .parts
                .into_iter()
                .map(|p| ListedPart {
                    number: p.number,
                    size: p.size,
                    etag: p.etag,
                })
                .collect();
            Resumable::Open(record, listed)
        }
        UploadStatus::Completed => Resumable::Completed(record),
        UploadStatus::Aborted | UploadStatus::Abandoned => {
            state.forget_upload(fingerprint)?;
            Resumable::No
        }
    })
}

/// Creates the upload and records it before any part is sealed.
async fn create(
    api: &Api,
    state: &State,
    source: &Source,
    opts: &UploadOptions,
) -> Result<UploadRecord, CliError> {
    let filename = source.filename();
    let request = CreateUpload {
        size: Some(source.len()),
        max_size: None,
        linked_to: None,
        chunk_size: opts.chunk_size,
        part_size: opts.part_size,
        content_type: filename.as_deref().and_then(content_type).map(String::from),
        filename,
    };
    let created: CreatedUpload = api.post("/v1/uploads", &request).await?;
    let seed = match opts.insecure_seed {
        Some(s) => s,
        None => {
            let mut s = [0u8; SEED_LEN];
            rand::fill(&mut s[..]);
            s
        }
    };
    let record = UploadRecord {
        endpoint: api.endpoint().to_owned(),
        fingerprint: source.fingerprint(),
        upload_id: created.upload_id,
        asset_id: created.asset_id,
        plan: created.plan,
        part_checksum: created.part_checksum,
        recipient: created.recipient.public_key,
        seed: hex::encode(seed),
        etags: Default::default(),
    };
    state.save_upload(&record)?;
    Ok(record)
}

/// The media type of a file name's extension, for the common containers.
fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "mpg" | "mpeg" => "video/mpeg",
        "ts" => "video/mp2t",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        _ => return None,
    })
}

/// How parts are sealed: the stream's cipher and the header that leads part 1.
struct Sealing {
    cipher: ChunkCipher,
    header: [u8; HEADER_LEN],
    chunk_size: u32,
}

struct Driver {
    api: Api,
    source: Source,
    sealing: Arc<Sealing>,
    file: String,
    /// Sealed parts kept until their PUT succeeds (at most `parallel`, the engine's limit).
    parts: HashMap<u32, Bytes>,
    /// Headers each part's URL was signed with (the checksum).
    headers: HashMap<u32, Vec<(String, String)>>,
    puts: Puts,
    /// What the server last said when it refused a request, for the failure's message.
    last_refusal: Option<String>,
    started: Instant,
}

impl Driver {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    async fn run(
        mut self,
        mut upload: Upload,
        record: &mut UploadRecord,
        state: &State,
        out: &Output,
        bar: &indicatif::ProgressBar,
    ) -> Result<(), CliError> {
        let (tx, mut rx) = unbounded_channel();
        let interrupt = tokio::signal::ctrl_c();
        tokio::pin!(interrupt);
        loop {
            let t = self.now();
            while let Some(action) = upload.poll_action(t) {
                self.dispatch(action, &upload, &record.upload_id, &tx);
            }
            while let Some(event) = upload.poll_event() {
                if let Event::PartDone { number, etag } = &event {
                    // Kept before anything else: a run killed now must not send it again.
                    record.etags.insert(*number, etag.clone());
                    state.save_upload(record)?;
                }
                if let Event::Progress(p) = &event {
                    bar.set_position(p.sent_bytes);
                }
                if let Event::Retrying { number, reason, .. } = &event {
                    out.note(&format!(
                        "{}: retrying {} ({reason:?})",
                        self.file,
                        number.map_or("the signing request".into(), |n| format!("part {n}"))
                    ));
                }
                let mut line =
                    serde_json::to_value(UploadEvent::from(&event)).expect("events serialize");
                line["file"] = self.file.clone().into();
                out.event(line);
                match event {
                    Event::Completed => return Ok(()),
                    Event::Failed(e) => {
                        let why = self
                            .last_refusal
                            .take()
                            .map_or(String::new(), |r| format!(" ({r})"));
                        return Err(CliError::Upload(format!("{}: {e}{why}", self.file)));
                    }
                    Event::Aborted => {
                        return Err(CliError::Upload(format!("{}: aborted", self.file)));
                    }
                    _ => {}
                }
            }
            let deadline = upload
                .poll_timeout()
                .map(|at| tokio::time::Instant::from_std(self.started + Duration::from_millis(at)));
            let msg = tokio::select! {
                msg = rx.recv() => msg.expect("the loop holds a sender"),
                () = sleep_until(deadline) => {
                    upload.handle_timeout(self.now());
                    continue;
                }
                _ = &mut interrupt => return Err(CliError::Interrupted),
            };
            let t = self.now();
            match msg {
                Msg::Sealed {
                    number,
                    bytes,
                    checksum,
                } => {
                    let len = bytes.len() as u64;
                    self.parts.insert(number, bytes);
                    upload.handle_sealed(t, number, checksum, len);
                }
                Msg::SealFailed(e) => return Err(e),
                Msg::Signed(parts) => {
                    let mut signed = Vec::with_capacity(parts.len());
                    for (part, headers) in parts {
                        self.headers.insert(part.number, headers);
                        signed.push(part);
                    }
                    upload.handle_signed(t, signed);
                }
                Msg::SignFailed { retryable, why } => {
                    self.last_refusal = Some(why);
                    upload.handle_sign_failed(t, retryable);
                }
                Msg::Put {
                    number,
                    attempt,
                    result,
                } => {
                    let current = self.puts.0.get(&number).is_some_and(|(a, _)| *a == attempt);
                    if current {
                        self.puts.0.remove(&number);
                        if result.is_ok() {
                            self.parts.remove(&number);
                        }
                    }
                    upload.handle_put_result(t, number, attempt, result);
                }
                Msg::Completed(result, why) => {
                    if why.is_some() {
                        self.last_refusal = why;
                    }
                    upload.handle_complete_result(t, result);
                }
            }
        }
    }

    fn dispatch(
        &mut self,
        action: Action,
        upload: &Upload,
        upload_id: &str,
        tx: &UnboundedSender<Msg>,
    ) {
        let tx = tx.clone();
        let api = self.api.clone();
        let path = format!("/v1/uploads/{}", segment(upload_id));
        match action {
            Action::Seal {
                number,
                spec,
                checksum,
            } => {
                let (source, sealing) = (self.source.clone(), self.sealing.clone());
                tokio::spawn(async move {
                    let sealed = async {
                        let plaintext = source.read(spec.plaintext.clone()).await?;
                        tokio::task::spawn_blocking(move || {
                            seal_part(
                                &sealing.cipher,
                                &sealing.header,
                                sealing.chunk_size,
                                &spec,
                                checksum,
                                &plaintext,
                            )
                        })
                        .await
                        .map_err(|e| CliError::Io(format!("sealing: {e}")))?
                        .map_err(CliError::from)
                    };
                    let _ = tx.send(match sealed.await {
                        Ok(p) => Msg::Sealed {
                            number,
                            bytes: Bytes::from(p.bytes),
                            checksum: p.checksum,
                        },
                        Err(e) => Msg::SealFailed(e),
                    });
                });
            }
            // Never asked for: seals here have no stall timeout (`seal_stall_ms`).
            Action::CancelSeal { .. } => {}
            Action::RequestSignatures { parts } => {
                let body = SignRequest::for_parts(upload, &parts);
                tokio::spawn(async move {
                    let _ = tx.send(match sign(&api, &path, &body).await {
                        Ok(signed) => Msg::Signed(signed),
                        Err((retryable, why)) => Msg::SignFailed { retryable, why },
                    });
                });
            }
            Action::Put {
                number,
                attempt,
                url,
                ..
            } => {
                let body = self.parts.get(&number).cloned();
                let headers = self.headers.get(&number).cloned().unwrap_or_default();
                let http = api.http().clone();
                let task = tokio::spawn(async move {
                    let result = match body {
                        Some(body) => put(&http, &url, &headers, body).await,
                        // The engine only asks to PUT sealed parts; a missing one is a bug.
                        None => Err(PutFailure::Status(0)),
                    };
                    let _ = tx.send(Msg::Put {
                        number,
                        attempt,
                        result,
                    });
                });
                self.puts.0.insert(number, (attempt, task));
            }
            Action::CancelPut { number, attempt } => {
                if self.puts.0.get(&number).is_some_and(|(a, _)| *a == attempt)
                    && let Some((_, task)) = self.puts.0.remove(&number)
                {
                    task.abort();
                }
            }
            Action::Complete { parts } => {
                let body = CompleteRequest::of(&parts, None, false);
                // The server answers once the store has put the object together, which can
                // take minutes: the engine's completion timeout, not the minute of other calls.
                let timeout = upload
                    .config()
                    .complete_timeout_ms
                    .map(Duration::from_millis);
                tokio::spawn(async move {
                    let path = format!("{path}/complete");
                    let sent = api.send_within(Method::POST, &path, Some(&body), true, None);
                    let answer = match timeout {
                        Some(t) => tokio::time::timeout(t, sent).await,
                        None => Ok(sent.await),
                    };
                    let _ = tx.send(match answer {
                        Err(_) => Msg::Completed(
                            Err(CompleteFailure::Timeout),
                            Some("no answer within the completion timeout".into()),
                        ),
                        Ok(answer) => match answer {
                            Ok((s, _)) if s.is_success() => Msg::Completed(Ok(()), None),
                            Ok((s, text)) => Msg::Completed(
                                Err(CompleteFailure::Status(s.as_u16())),
                                Some(refusal(s, &text).to_string()),
                            ),
                            Err(e) => {
                                Msg::Completed(Err(CompleteFailure::Network), Some(e.to_string()))
                            }
                        },
                    });
                });
            }
            Action::Abort => {
                tokio::spawn(async move {
                    let _ = api.send(Method::DELETE, &path, None::<&()>, true).await;
                });
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Asks for part URLs; on failure, whether to try again and why.
async fn sign(
    api: &Api,
    path: &str,
    body: &SignRequest,
) -> Result<Vec<(SignedPart, Vec<(String, String)>)>, (bool, String)> {
    let (status, text) = api
        .send(Method::POST, &format!("{path}/sign"), Some(body), true)
        .await
        .map_err(|e| (true, e.to_string()))?;
    if !status.is_success() {
        return Err((
            retryable_status(status.as_u16()),
            refusal(status, &text).to_string(),
        ));
    }
    let answer: SignedParts =
        serde_json::from_str(&text).map_err(|e| (true, format!("a sign answer: {e}")))?;
    Ok(answer.into_engine())
}

/// PUTs one sealed part to its presigned URL; the store's ETag, or how it failed.
async fn put(
    http: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    body: Bytes,
) -> Result<String, PutFailure> {
    let mut req = http.put(url).timeout(Duration::from_secs(300)).body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let res = req.send().await.map_err(|_| PutFailure::Network)?;
    let status = res.status().as_u16();
    if res.status().is_success() {
        return res
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .ok_or(PutFailure::Status(status));
    }
    let text = res.text().await.unwrap_or_default();
    Err(PutFailure::from_response(status, &text))
}
