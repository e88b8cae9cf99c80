//! The upload engine against a simulated S3 and a simulated browser driver, on a simulated
//! clock: faults come from a seeded PRNG, results arrive out of order at simulated times, and
//! the driver really seals each part (so the object the store assembles must open to the exact
//! source bytes). The driver asserts the engine's promises as it goes: never more than
//! `max_parallel + seal_ahead` parts in memory nor `max_parallel` in flight, never more PUTs
//! than the current concurrency,
//! never a PUT with a URL inside the refresh margin, never a PUT of bytes it does not hold,
//! never a timeout in the past.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use support::Rng;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use cinelock_core::upload::{
    Action, BROWSER_PUTS_AT_ONCE, BROWSER_SEALS_AT_ONCE, ChecksumAlgorithm, CompleteFailure, Event,
    GrowingPlan, Neighbours, PUTS_LEFT_TO_PLAYERS, PartChecksum, PartLimits, PartPlan, PartSpec,
    PutFailure, RetryReason, SignedPart, Upload, UploadConfig, UploadState, share,
};
use cinelock_core::{
    ChunkCipher, DataKey, Error, Header, RecipientSecretKey, SEED_LEN, SealSeed, open, seal,
};
use sha2::{Digest, Sha256};

/// The context (asset id) the simulated uploads are sealed for.
const CONTEXT: &[u8] = b"asset-1";
const MARGIN: u64 = 1_000;

fn config() -> UploadConfig {
    UploadConfig {
        max_parallel: 4,
        seal_ahead: 1,
        max_sealing: 2,
        max_attempts: 8,
        base_backoff_ms: 100,
        max_backoff_ms: 5_000,
        sign_batch: 8,
        url_refresh_margin_ms: MARGIN,
        rate_window_ms: 2_000,
        checksum_in_signature: false,
        part_checksum: ChecksumAlgorithm::Crc32c,
        // Above every simulated PUT's latency: only a silent PUT is cut.
        put_stall_ms: Some(STALL),
        sign_timeout_ms: None,
        seal_stall_ms: Some(STALL),
        complete_timeout_ms: Some(COMPLETE_TIMEOUT),
    }
}

/// The completion timeout of the simulated uploads (ms).
const COMPLETE_TIMEOUT: u64 = 10 * STALL;

/// The stall timeout of the simulated uploads (ms).
const STALL: u64 = 5_000;

/// The plaintext and the stream's keys: what the browser holds.
struct Source {
    plaintext: Vec<u8>,
    header: Header,
    cipher: ChunkCipher,
    secret: RecipientSecretKey,
    seed: SealSeed,
    plan: PartPlan,
}

impl Source {
    /// `len` pseudo-random bytes in `chunk`-byte chunks, cut into parts of at least `part`
    /// sealed bytes (the minimum lowered to `part` so tests stay small).
    fn new(len: usize, chunk: u32, part: u64) -> Self {
        let limits = PartLimits {
            min_part_size: part,
            ..PartLimits::S3
        };
        Self::with_plan(
            len,
            PartPlan::with_limits(len as u64, chunk, part, limits).unwrap(),
        )
    }

    fn with_plan(len: usize, plan: PartPlan) -> Self {
        let mut rng = Rng(len as u64);
        let mut plaintext: Vec<u8> = (0..len.div_ceil(8))
            .flat_map(|_| rng.next().to_le_bytes())
            .collect();
        plaintext.truncate(len);
        Self::from_plaintext(plaintext, plan)
    }

    /// A recording: `len` bytes cut by a growing plan of at least `part` sealed bytes per
    /// part. The source knows the whole stream; the engine learns it as it grows.
    fn growing(len: usize, chunk: u32, part: u64) -> (Self, GrowingPlan) {
        let limits = PartLimits {
            min_part_size: part,
            ..PartLimits::S3
        };
        let sealed_chunk = u64::from(chunk) + 16;
        let growing = GrowingPlan::with_limits(chunk, part.div_ceil(sealed_chunk), limits).unwrap();
        (
            Self::with_plan(len, growing.finish(len as u64).unwrap()),
            growing,
        )
    }

    fn from_plaintext(plaintext: Vec<u8>, plan: PartPlan) -> Self {
        let secret = RecipientSecretKey::from_seed(&[9; 32]);
        let seed = SealSeed::from_bytes(&[3; SEED_LEN]);
        let (header, key): (Header, DataKey) = secret
            .public_key()
            .seal_header(plan.chunk_size(), &seed, CONTEXT)
            .unwrap();
        Self {
            plaintext,
            cipher: ChunkCipher::new(&header, &key),
            header,
            secret,
            seed,
            plan,
        }
    }

    /// What the browser does on `Seal`: the header if it leads, then each chunk sealed at its
    /// own index, the final chunk of the object flagged last.
    fn seal_part(&self, spec: &PartSpec) -> Vec<u8> {
        let mut out = Vec::with_capacity(spec.sealed_len() as usize);
        if spec.includes_header {
            out.extend_from_slice(&self.header.to_bytes());
        }
        let chunk = u64::from(self.plan.chunk_size());
        for index in spec.chunks.clone() {
            let start = (index * chunk) as usize;
            let end = ((index + 1) * chunk).min(self.plaintext.len() as u64) as usize;
            let mut buf = self.plaintext[start..end].to_vec();
            let last = spec.last && index + 1 == spec.chunks.end;
            self.cipher
                .seal_chunk(u32::try_from(index).unwrap(), last, &mut buf);
            out.extend_from_slice(&buf);
        }
        out
    }

    /// The object as a one-shot seal would produce it.
    fn expected(&self) -> Vec<u8> {
        seal(
            self.secret.public_key(),
            self.plan.chunk_size(),
            &self.seed,
            CONTEXT,
            &self.plaintext,
        )
        .unwrap()
    }

    fn check_object(&self, object: &[u8]) {
        assert_eq!(object.len() as u64, self.plan.sealed_len());
        // Crypto runs unoptimised in this crate's test build, so the megabyte-sized object
        // skips the comparison with a one-shot seal; opening it proves it whole anyway.
        if object.len() < 1 << 20 {
            assert!(
                object == self.expected(),
                "object differs from a one-shot seal"
            );
        }
        assert!(open(&self.secret, CONTEXT, object).unwrap() == self.plaintext);
    }
}

/// What the simulated store does wrong, and how slowly.
#[derive(Clone)]
struct Faults {
    /// Fraction of PUTs answered 500 or 503.
    server_error: f64,
    /// Fraction answered 429.
    throttle: f64,
    /// Fraction whose connection is cut (half of them after the store kept the part).
    cut: f64,
    /// Fraction whose bytes are damaged in transit (the store then answers BadDigest).
    corrupt: f64,
    /// Fraction the store calls expired early (a skewed store clock).
    early_expiry: f64,
    /// Every PUT in this time window is answered 429.
    storm: Range<u64>,
    /// Parts always answered with this failure.
    fixed: HashMap<u32, PutFailure>,
    /// Parts whose first this many PUTs go silent: nothing sent, never an answer.
    silent: HashMap<u32, u32>,
    /// Parts whose first this many seals never finish (a file read that never settles).
    stuck_seals: HashMap<u32, u32>,
    /// A part whose first PUT takes this long, its bytes going out steadily (progress every
    /// second) before the store answers.
    trickle: Option<(u32, u64)>,
    put_latency: Range<u64>,
    sign_latency: Range<u64>,
    /// Fraction of signing requests that fail (retryable).
    sign_fail: f64,
    /// Signing refused for good.
    sign_refused: bool,
    /// This many completion requests fail with 503 first.
    complete_failures: u32,
    /// This many completion requests (after those) are never answered: the server completes
    /// the object but its answer is lost.
    complete_silent: u32,
    url_lifetime: u64,
    /// The signing server's clock is this far behind the store's: its URLs die this much
    /// sooner than it says.
    sign_clock_lag: u64,
    /// The server refuses to complete with this status.
    complete_rejected: Option<u16>,
    /// Like AWS: a PUT's `x-amz-checksum-sha256` must be the one its URL signed (403 if the
    /// URL signed none, or another).
    checksum_must_be_signed: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            server_error: 0.0,
            throttle: 0.0,
            cut: 0.0,
            corrupt: 0.0,
            early_expiry: 0.0,
            storm: 0..0,
            fixed: HashMap::new(),
            silent: HashMap::new(),
            stuck_seals: HashMap::new(),
            trickle: None,
            put_latency: 20..200,
            sign_latency: 10..60,
            sign_fail: 0.0,
            sign_refused: false,
            complete_failures: 0,
            complete_silent: 0,
            url_lifetime: 60_000,
            sign_clock_lag: 0,
            complete_rejected: None,
            checksum_must_be_signed: false,
        }
    }
}

impl Faults {
    fn rough() -> Self {
        Self {
            server_error: 0.2,
            cut: 0.05,
            corrupt: 0.03,
            early_expiry: 0.02,
            put_latency: 10..400,
            sign_fail: 0.1,
            complete_failures: 2,
            ..Self::default()
        }
    }
}

enum Delivery {
    Sealed {
        number: u32,
        checksum: PartChecksum,
        len: u64,
    },
    Put {
        number: u32,
        attempt: u32,
        result: Result<String, PutFailure>,
        /// Cancelled by a pause: the driver already let go of it.
        cancelled: bool,
        url: String,
    },
    Signed(Vec<SignedPart>),
    SignFailed(bool),
    Complete(Result<(), CompleteFailure>),
    /// The driver has sent `sent` bytes of a PUT (upload progress).
    Progress {
        number: u32,
        attempt: u32,
        sent: u64,
    },
    /// The recording grew to `len` plaintext bytes.
    Grow {
        len: u64,
        ended: bool,
    },
}

#[derive(Default)]
struct Store {
    parts: BTreeMap<u32, (Vec<u8>, String)>,
    object: Option<Vec<u8>>,
    aborted: bool,
    complete_calls: u32,
}

struct Sim {
    now: u64,
    rng: Rng,
    faults: Faults,
    src: Source,
    max_parallel: usize,
    /// Parts the driver may hold: `max_parallel + seal_ahead`.
    max_memory_parts: usize,
    up: Upload,
    store: Store,
    queue: BTreeMap<(u64, u64), Delivery>,
    seq: u64,
    /// url → (part, expires at, checksum signed in).
    urls: HashMap<String, (u32, u64, Option<PartChecksum>)>,
    sign_checksums: bool,
    /// The driver's sealed bytes per part.
    memory: HashMap<u32, Vec<u8>>,
    in_flight: usize,
    /// PUTs a pause or a stall cancelled.
    cancelled_puts: usize,
    /// PUTs out that went silent: (part, attempt).
    silent_puts: HashSet<(u32, u32)>,
    /// Parts whose seal that is out will never finish.
    stuck: HashSet<u32>,
    // What was observed.
    actions: Vec<(u64, Action)>,
    events: Vec<(u64, Event)>,
    puts: BTreeMap<u32, u32>,
    signed_ever: HashSet<u32>,
    resigned: usize,
    expired_answers: usize,
    /// URLs the store called expired: never to be used again.
    expired_urls: HashSet<String>,
    /// How far ahead of the highest part sealed so far URLs were requested.
    max_sign_lead: i64,
    max_sealed: u32,
    bad_digests: usize,
    max_memory: usize,
    max_in_flight: usize,
    min_url_slack: u64,
    last_acked: u64,
    concurrency: Vec<(u64, usize, usize)>,
    done: BTreeMap<u32, String>,
    /// For a growing upload: plaintext bytes reported so far, and whether the end was.
    grown: Option<(u64, bool)>,
}

impl Sim {
    fn new(src: Source, config: UploadConfig, faults: Faults, seed: u64) -> Self {
        let max_memory = config.max_parallel + config.seal_ahead;
        let max_parallel = config.max_parallel;
        let sign_checksums = config.checksum_in_signature;
        let up = Upload::new(src.plan.clone(), config, seed, []).unwrap();
        Self {
            now: 1_000,
            rng: Rng(seed ^ 0xa5a5),
            faults,
            src,
            max_parallel,
            max_memory_parts: max_memory,
            up,
            store: Store::default(),
            queue: BTreeMap::new(),
            seq: 0,
            urls: HashMap::new(),
            sign_checksums,
            memory: HashMap::new(),
            in_flight: 0,
            cancelled_puts: 0,
            silent_puts: HashSet::new(),
            stuck: HashSet::new(),
            actions: Vec::new(),
            events: Vec::new(),
            puts: BTreeMap::new(),
            signed_ever: HashSet::new(),
            resigned: 0,
            expired_answers: 0,
            expired_urls: HashSet::new(),
            max_sign_lead: i64::MIN,
            max_sealed: 0,
            bad_digests: 0,
            max_memory: 0,
            max_in_flight: 0,
            min_url_slack: u64::MAX,
            last_acked: 0,
            concurrency: Vec::new(),
            done: BTreeMap::new(),
            grown: None,
        }
    }

    /// A growing upload of `src` whose stream gains `step` bytes every `every_ms`, ending
    /// with the last step.
    fn growing(
        src: Source,
        plan: GrowingPlan,
        config: UploadConfig,
        faults: Faults,
        seed: u64,
        step: u64,
        every_ms: u64,
    ) -> Self {
        let up = Upload::growing(plan, config.clone(), seed, []).unwrap();
        let len = src.plaintext.len() as u64;
        let mut sim = Self::new(src, config, faults, seed);
        sim.up = up;
        sim.grown = Some((0, false));
        let mut at = sim.now;
        let mut available = 0;
        while available < len {
            at += every_ms;
            available = (available + step).min(len);
            sim.schedule(
                at,
                Delivery::Grow {
                    len: available,
                    ended: available == len,
                },
            );
        }
        sim
    }

    fn schedule(&mut self, at: u64, d: Delivery) {
        self.seq += 1;
        self.queue.insert((at, self.seq), d);
    }

    /// Drains actions and events, as a driver does after every input.
    fn pump(&mut self) {
        loop {
            let mut busy = false;
            let mut n = 0;
            while let Some(a) = self.up.poll_action(self.now) {
                self.act(a);
                busy = true;
                n += 1;
                assert!(
                    n < 10_000,
                    "the engine keeps asking for work at {}",
                    self.now
                );
            }
            while let Some(e) = self.up.poll_event() {
                self.on_event(e);
                busy = true;
            }
            if !busy {
                break;
            }
        }
    }

    /// Parts being sealed now: their seal is out (stuck, or its result not delivered yet).
    fn sealing(&self) -> usize {
        let delivering = self
            .queue
            .values()
            .filter(|d| matches!(d, Delivery::Sealed { .. }))
            .count();
        delivering + self.stuck.len()
    }

    /// When the next delivery or engine timeout is due, if any.
    fn next_at(&self) -> Option<u64> {
        let next = self.queue.keys().next().map(|k| k.0);
        [next, self.up.poll_timeout()].into_iter().flatten().min()
    }

    /// Advances to the next delivery or engine timeout; false when nothing is left to happen.
    fn step(&mut self) -> bool {
        self.pump();
        self.concurrency
            .push((self.now, self.up.concurrency(), self.in_flight));
        let timeout = self.up.poll_timeout();
        if let Some(t) = timeout {
            assert!(t > self.now, "timeout {t} not after now {}", self.now);
        }
        let next = self.queue.keys().next().copied();
        match (next, timeout) {
            (Some(key), t) if t.is_none_or(|t| key.0 <= t) => {
                self.now = key.0;
                let d = self.queue.remove(&key).unwrap();
                self.deliver(d);
                true
            }
            (_, Some(t)) => {
                self.now = t;
                self.up.handle_timeout(t);
                true
            }
            _ => false,
        }
    }

    fn run(&mut self) {
        self.run_until(|_| false);
    }

    /// Steps until `stop` holds (true) or nothing is left to happen (false).
    fn run_until(&mut self, stop: impl Fn(&Sim) -> bool) -> bool {
        for _ in 0..1_000_000 {
            if stop(self) {
                return true;
            }
            if !self.step() {
                return stop(self);
            }
        }
        panic!("simulation did not settle");
    }

    fn act(&mut self, action: Action) {
        self.actions.push((self.now, action.clone()));
        match action {
            Action::RequestSignatures { parts } => self.sign(parts),
            Action::Seal {
                number,
                spec,
                checksum,
            } => {
                assert_eq!(Some(&spec), self.src.plan.part(number).as_ref());
                if let Some((available, ended)) = self.grown {
                    // Only bytes that exist are sealed, and a part only once it is known
                    // whether it is the last.
                    assert!(spec.plaintext.end <= available);
                    assert!(
                        ended || spec.plaintext.end < available,
                        "part {number} sealed early"
                    );
                }
                self.max_sealed = self.max_sealed.max(number);
                assert!(
                    !self.stuck.contains(&number),
                    "a second seal of part {number} out"
                );
                if let Some(left) = self.faults.stuck_seals.get_mut(&number)
                    && *left > 0
                {
                    *left -= 1;
                    // Whatever it held for the part is gone: the read never ends.
                    self.memory.remove(&number);
                    self.stuck.insert(number);
                    return;
                }
                let bytes = self.src.seal_part(&spec);
                let checksum = checksum.checksum(&bytes);
                let len = bytes.len() as u64;
                // Sealing again replaces the part's bytes.
                self.memory.insert(number, bytes);
                assert!(
                    self.memory.len() <= self.max_memory_parts,
                    "{} parts in memory",
                    self.memory.len()
                );
                self.max_memory = self.max_memory.max(self.memory.len());
                let at = self.now + self.rng.range(1..10);
                self.schedule(
                    at,
                    Delivery::Sealed {
                        number,
                        checksum,
                        len,
                    },
                );
            }
            Action::Put {
                number,
                attempt,
                url,
                checksum,
                len,
            } => {
                let body = self
                    .memory
                    .get(&number)
                    .expect("PUT of a part the driver does not hold")
                    .clone();
                assert_eq!(body.len() as u64, len);
                assert_eq!(checksum.algorithm().checksum(&body), checksum);
                let (for_part, expires, signed) = self.urls[&url];
                assert_eq!(for_part, number, "URL signed for another part");
                assert!(
                    !self.expired_urls.contains(&url),
                    "URL reused after the store said it expired"
                );
                // The engine can know a URL's end only if the signer's clock is the store's;
                // otherwise the store's refusals teach it.
                if self.faults.sign_clock_lag == 0 {
                    assert!(expires > self.now, "PUT with an expired URL");
                    self.min_url_slack = self.min_url_slack.min(expires - self.now);
                }
                self.in_flight += 1;
                assert!(self.in_flight <= self.max_parallel);
                assert!(self.in_flight <= self.up.concurrency());
                self.max_in_flight = self.max_in_flight.max(self.in_flight);
                *self.puts.entry(number).or_default() += 1;
                if let Some(left) = self.faults.silent.get_mut(&number)
                    && *left > 0
                {
                    *left -= 1;
                    self.silent_puts.insert((number, attempt));
                    return;
                }
                let result = if self.faults.checksum_must_be_signed && signed != Some(checksum) {
                    // HeadersNotSigned / SignatureDoesNotMatch.
                    Err(PutFailure::Status(403))
                } else {
                    self.store_put(number, expires, body, checksum)
                };
                if result == Err(PutFailure::Expired) {
                    self.expired_urls.insert(url.clone());
                }
                let mut at = self.now + self.rng.range(self.faults.put_latency.clone());
                if let Some((part, duration)) = self.faults.trickle
                    && part == number
                    && self.puts[&number] == 1
                {
                    for s in 1..duration / 1_000 {
                        let sent = len * s * 1_000 / duration;
                        let at = self.now + s * 1_000;
                        self.schedule(
                            at,
                            Delivery::Progress {
                                number,
                                attempt,
                                sent,
                            },
                        );
                    }
                    at = self.now + duration;
                }
                self.schedule(
                    at,
                    Delivery::Put {
                        number,
                        attempt,
                        result,
                        cancelled: false,
                        url,
                    },
                );
            }
            Action::CancelSeal { number } => {
                assert!(
                    self.stuck.remove(&number),
                    "CancelSeal of part {number}, whose seal is not stuck"
                );
            }
            Action::CancelPut { number, attempt }
                if self.silent_puts.remove(&(number, attempt)) =>
            {
                self.in_flight -= 1;
                self.cancelled_puts += 1;
                let at = self.now + 1;
                self.schedule(
                    at,
                    Delivery::Put {
                        number,
                        attempt,
                        result: Err(PutFailure::Network),
                        cancelled: true,
                        url: String::new(),
                    },
                );
            }
            Action::CancelPut { number, attempt } => {
                // The request is aborted: it is no longer out, and its outcome, which comes
                // at once, is a network failure (the store may have the part all the same).
                let key = self
                    .queue
                    .iter()
                    .find(|(_, d)| {
                        matches!(d, Delivery::Put { number: n, attempt: a, .. }
                            if *n == number && *a == attempt)
                    })
                    .map(|(k, _)| *k)
                    .expect("CancelPut of a PUT that is not out");
                let Some(Delivery::Put { result, url, .. }) = self.queue.remove(&key) else {
                    unreachable!("found as a PUT")
                };
                self.in_flight -= 1;
                self.cancelled_puts += 1;
                // Usually the abort is the outcome (and the engine never hears of a refusal);
                // sometimes the store's answer was already on its way and comes all the same.
                let result = if self.rng.chance(0.5) {
                    self.expired_urls.remove(&url);
                    Err(PutFailure::Network)
                } else {
                    result
                };
                let at = self.now + 1;
                self.schedule(
                    at,
                    Delivery::Put {
                        number,
                        attempt,
                        result,
                        cancelled: true,
                        url,
                    },
                );
            }
            Action::Complete { parts } => {
                let result = self.store_complete(&parts);
                let answered = self.store.complete_calls
                    - self.faults.complete_failures.min(self.store.complete_calls);
                if result.is_ok() && answered <= self.faults.complete_silent {
                    // As a driver does: the request is given up after the completion timeout.
                    if let Some(timeout) = self.up.config().complete_timeout_ms {
                        let at = self.now + timeout;
                        self.schedule(at, Delivery::Complete(Err(CompleteFailure::Timeout)));
                    }
                    return;
                }
                let at = self.now + self.rng.range(10..50);
                self.schedule(at, Delivery::Complete(result));
            }
            Action::Abort => self.store.aborted = true,
        }
    }

    fn sign(&mut self, parts: Vec<u32>) {
        assert!(!parts.is_empty() && parts.len() <= 8);
        for &n in &parts {
            if !self.signed_ever.insert(n) {
                self.resigned += 1;
            }
            self.max_sign_lead = self
                .max_sign_lead
                .max(i64::from(n) - i64::from(self.max_sealed));
        }
        let at = self.now + self.rng.range(self.faults.sign_latency.clone());
        if self.faults.sign_refused {
            return self.schedule(at, Delivery::SignFailed(false));
        }
        if self.rng.chance(self.faults.sign_fail) {
            return self.schedule(at, Delivery::SignFailed(true));
        }
        // Under checksum signing the driver hands the server each part's checksum; the
        // engine only asks for parts it holds sealed.
        let checksums: Vec<Option<PartChecksum>> = parts
            .iter()
            .map(|&n| {
                let c = self.up.part_checksum(n);
                assert!(
                    !self.sign_checksums || c.is_some(),
                    "asked to sign unsealed part {n}"
                );
                c.filter(|_| self.sign_checksums).map(|c| c.0)
            })
            .collect();
        let expires_at_ms =
            (at + self.faults.url_lifetime).saturating_sub(self.faults.sign_clock_lag);
        let signed = parts
            .into_iter()
            .zip(checksums)
            .map(|(number, checksum)| {
                self.seq += 1;
                let url = format!(
                    "https://store.sim/obj?partNumber={number}&X-Sig={}",
                    self.seq
                );
                self.urls
                    .insert(url.clone(), (number, expires_at_ms, checksum));
                SignedPart {
                    number,
                    url,
                    lifetime_ms: self.faults.url_lifetime,
                }
            })
            .collect();
        self.schedule(at, Delivery::Signed(signed));
    }

    /// The store's side of a PUT, decided when the request arrives.
    fn store_put(
        &mut self,
        number: u32,
        expires: u64,
        mut body: Vec<u8>,
        checksum: PartChecksum,
    ) -> Result<String, PutFailure> {
        let f = &self.faults;
        if let Some(&failure) = f.fixed.get(&number) {
            return Err(failure);
        }
        if self.store.aborted {
            return Err(PutFailure::Status(404));
        }
        if expires <= self.now || self.rng.chance(self.faults.early_expiry) {
            self.expired_answers += 1;
            return Err(PutFailure::Expired);
        }
        if self.faults.storm.contains(&self.now) {
            return Err(PutFailure::Status(429));
        }
        if self.rng.chance(self.faults.server_error) {
            let status = if self.rng.chance(0.5) { 500 } else { 503 };
            return Err(PutFailure::Status(status));
        }
        if self.rng.chance(self.faults.throttle) {
            return Err(PutFailure::Status(429));
        }
        let cut = self.rng.chance(self.faults.cut);
        if self.rng.chance(self.faults.corrupt) {
            let i = self.rng.range(0..body.len() as u64) as usize;
            body[i] ^= 0x20;
        }
        if checksum.algorithm().checksum(&body) != checksum {
            self.bad_digests += 1;
            return Err(PutFailure::BadDigest);
        }
        if cut && self.rng.chance(0.5) {
            // Cut before the store kept anything.
            return Err(PutFailure::Network);
        }
        // Like S3's MD5 ETag: a function of the content, so a resent part gets the same one.
        let digest: [u8; 32] = Sha256::digest(&body).into();
        let etag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.store.parts.insert(number, (body, etag.clone()));
        if cut {
            // The store kept the part but the response was lost.
            return Err(PutFailure::Network);
        }
        Ok(etag)
    }

    fn store_complete(&mut self, parts: &[(u32, String)]) -> Result<(), CompleteFailure> {
        self.store.complete_calls += 1;
        if self.store.complete_calls <= self.faults.complete_failures {
            return Err(CompleteFailure::Status(503));
        }
        if let Some(status) = self.faults.complete_rejected {
            return Err(CompleteFailure::Status(status));
        }
        if self.store.aborted {
            return Err(CompleteFailure::Status(404));
        }
        let numbers: Vec<u32> = parts.iter().map(|p| p.0).collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "parts not ascending"
        );
        let mut sizes = Vec::new();
        for (n, etag) in parts {
            match self.store.parts.get(n) {
                Some((bytes, stored)) if stored == etag => sizes.push((*n, bytes.len() as u64)),
                // S3's InvalidPart.
                _ => return Err(CompleteFailure::Status(400)),
            }
        }
        // What the server checks before CompleteMultipartUpload.
        self.src.plan.verify_completion(&sizes).unwrap();
        let mut object = Vec::new();
        for (n, _) in parts {
            object.extend_from_slice(&self.store.parts[n].0);
        }
        self.store.object = Some(object);
        Ok(())
    }

    fn deliver(&mut self, d: Delivery) {
        let now = self.now;
        match d {
            Delivery::Sealed {
                number,
                checksum,
                len,
            } => self.up.handle_sealed(now, number, checksum, len),
            Delivery::Put {
                number,
                attempt,
                result,
                cancelled,
                ..
            } => {
                if !cancelled {
                    self.in_flight -= 1;
                }
                // The driver keeps a cancelled PUT's bytes: the part goes again.
                if result.is_ok() && !cancelled {
                    // The driver's rule: a part's bytes go once its PUT succeeds.
                    self.memory.remove(&number);
                }
                self.up.handle_put_result(now, number, attempt, result);
            }
            Delivery::Progress {
                number,
                attempt,
                sent,
            } => self.up.handle_put_progress(now, number, attempt, sent),
            Delivery::Signed(s) => self.up.handle_signed(now, s),
            Delivery::SignFailed(retryable) => self.up.handle_sign_failed(now, retryable),
            Delivery::Complete(r) => self.up.handle_complete_result(now, r),
            Delivery::Grow { len, ended } => {
                self.grown = Some((len, ended));
                self.up.handle_available(now, len, ended);
            }
        }
    }

    fn on_event(&mut self, e: Event) {
        match &e {
            Event::Progress(p) => {
                assert!(p.acked_bytes >= self.last_acked, "acked bytes went back");
                assert!(p.sealed_bytes >= p.acked_bytes);
                assert!(p.acked_bytes <= p.total_bytes);
                if matches!(self.grown, Some((_, false))) {
                    assert!(p.total_bytes <= self.src.plan.sealed_len());
                    assert_eq!(p.eta_ms, None);
                } else {
                    assert_eq!(p.total_bytes, self.src.plan.sealed_len());
                }
                self.last_acked = p.acked_bytes;
            }
            Event::PartDone { number, etag } => {
                assert!(self.done.insert(*number, etag.clone()).is_none());
            }
            Event::Completed | Event::Failed(_) | Event::Aborted => self.memory.clear(),
            _ => {}
        }
        self.events.push((self.now, e));
    }

    /// A page reload: the engine and every in-flight request are gone, the store and the
    /// persisted ETags remain.
    fn reload(&mut self, config: UploadConfig, seed: u64) {
        let done = self.done.clone();
        self.up = Upload::new(self.src.plan.clone(), config, seed, done).unwrap();
        self.queue.clear();
        self.silent_puts.clear();
        self.stuck.clear();
        self.memory.clear();
        self.in_flight = 0;
        self.puts.clear();
        self.actions.clear();
        self.events.clear();
    }

    fn failure(&self) -> Option<&Error> {
        self.events.iter().find_map(|(_, e)| match e {
            Event::Failed(err) => Some(err),
            _ => None,
        })
    }

    fn assert_completed(&self) {
        assert_eq!(
            self.up.state(),
            UploadState::Completed,
            "failure: {:?}",
            self.failure()
        );
        self.src.check_object(self.store.object.as_ref().unwrap());
        assert!(self.memory.is_empty());
        assert_eq!(self.in_flight, 0);
    }

    fn count(&self, pred: impl Fn(&Action) -> bool) -> usize {
        self.actions.iter().filter(|(_, a)| pred(a)).count()
    }

    /// When the first action that `pred` holds for was asked for.
    fn first_at(&self, pred: impl Fn(&Action) -> bool) -> Option<u64> {
        self.actions.iter().find(|(_, a)| pred(a)).map(|(t, _)| *t)
    }
}

#[test]
fn happy_path_reassembles_byte_for_byte() {
    let src = Source::new(40_000, 256, 2_000);
    let parts = src.plan.part_count();
    assert!(parts >= 15, "want many parts, got {parts}");
    let mut sim = Sim::new(src, config(), Faults::default(), 1);
    sim.run();
    sim.assert_completed();
    // Every part sent exactly once, and the parallelism actually used.
    assert_eq!(sim.puts.len() as u32, parts);
    assert!(sim.puts.values().all(|&c| c == 1));
    assert_eq!(sim.max_in_flight, 4);
    // Four PUTs out and one part sealed ahead.
    assert_eq!(sim.max_memory, 5);
    assert_eq!(sim.store.complete_calls, 1);
    assert_eq!(sim.count(|a| matches!(a, Action::Abort)), 0);
    let sizes: Vec<(u32, u64)> = sim
        .store
        .parts
        .iter()
        .map(|(&n, (b, _))| (n, b.len() as u64))
        .collect();
    assert_eq!(sim.src.plan.verify_completion(&sizes), Ok(()));
    // URLs are asked for just ahead of need (the next max_parallel parts plus a batch), not
    // all up front where they would expire.
    assert!(
        sim.max_sign_lead <= 4 + 8,
        "signed {} parts ahead",
        sim.max_sign_lead
    );
    assert!(sim.max_sign_lead >= 4);
    // Signing is batched: far fewer requests than parts.
    let sign_requests = sim.count(|a| matches!(a, Action::RequestSignatures { .. }));
    assert!(sign_requests <= (parts as usize).div_ceil(8) + 1);
    assert_eq!(
        sim.events.last().map(|e| &e.1),
        Some(&Event::Completed),
        "Completed comes last"
    );
}

#[test]
fn faults_still_give_exact_bytes_in_bounded_memory() {
    for seed in 0..8 {
        let src = Source::new(30_000, 128, 1_500);
        let mut sim = Sim::new(src, config(), Faults::rough(), seed);
        sim.run();
        sim.assert_completed();
        // The bounds were asserted at every action; they were also reached, so they bind.
        assert_eq!(sim.max_memory, 5, "seed {seed}");
        assert!(sim.max_in_flight <= 4);
        let retries = |r: fn(&RetryReason) -> bool| {
            sim.events
                .iter()
                .filter(|(_, e)| matches!(e, Event::Retrying { reason, .. } if r(reason)))
                .count()
        };
        assert!(retries(|r| matches!(r, RetryReason::Status(500 | 503))) > 0);
        assert!(sim.puts.values().sum::<u32>() > sim.src.plan.part_count());
        // Resealed after a bad digest: more seals than parts.
        if sim.bad_digests > 0 {
            assert!(retries(|r| *r == RetryReason::BadDigest) > 0);
            assert!(
                sim.count(|a| matches!(a, Action::Seal { .. }))
                    > sim.src.plan.part_count() as usize
            );
        }
        // The two failed completions were retried.
        assert_eq!(sim.store.complete_calls, 3);
        assert_eq!(
            sim.events
                .iter()
                .filter(|(_, e)| matches!(
                    e,
                    Event::Retrying {
                        number: None,
                        reason: RetryReason::Status(503),
                        ..
                    }
                ))
                .count(),
            2
        );
    }
}

#[test]
fn faults_cover_every_kind_across_seeds() {
    // Guards the test above against a fault plan that silently stopped firing.
    let (mut digests, mut expired, mut cuts, mut sign_retries) = (0, 0, 0, 0);
    for seed in 0..8 {
        let src = Source::new(30_000, 128, 1_500);
        let mut sim = Sim::new(src, config(), Faults::rough(), seed);
        sim.run();
        sim.assert_completed();
        digests += sim.bad_digests;
        expired += sim.expired_answers;
        for (_, e) in &sim.events {
            match e {
                Event::Retrying {
                    reason: RetryReason::Network,
                    ..
                } => cuts += 1,
                Event::Retrying {
                    reason: RetryReason::SigningFailed,
                    number: None,
                    ..
                } => sign_retries += 1,
                _ => {}
            }
        }
    }
    assert!(digests > 0 && expired > 0 && cuts > 0 && sign_retries > 0);
}

#[test]
fn throttling_lowers_concurrency_to_one_and_it_recovers() {
    // Absolute simulated times; the simulation starts at 1000 ms.
    const STORM: Range<u64> = 1_500..3_500;
    let src = Source::new(100_000, 128, 700);
    assert!(src.plan.part_count() >= 100);
    let faults = Faults {
        storm: STORM,
        put_latency: 40..80,
        ..Faults::default()
    };
    let config = UploadConfig {
        max_attempts: 12,
        ..config()
    };
    let mut sim = Sim::new(src, config, faults, 5);
    sim.run();
    sim.assert_completed();
    // The storm hit mid-upload.
    assert!(
        sim.events
            .iter()
            .any(|(t, e)| *t < STORM.start && matches!(e, Event::PartDone { .. }))
    );
    // (time, concurrency, PUTs out) at every step; the driver also asserted PUTs out never
    // exceeded the concurrency of the moment.
    let during: Vec<_> = sim
        .concurrency
        .iter()
        .filter(|c| STORM.contains(&c.0))
        .collect();
    assert!(during.iter().any(|c| c.1 == 1), "never throttled down to 1");
    let after: Vec<_> = sim
        .concurrency
        .iter()
        .filter(|c| c.0 >= STORM.end)
        .collect();
    let first_four = after
        .iter()
        .position(|c| c.1 == 4)
        .expect("concurrency never recovered");
    assert!(after.iter().any(|c| c.2 == 4), "never 4 PUTs out again");
    // It climbed back one step at a time.
    let steps: HashSet<usize> = after[..first_four].iter().map(|c| c.1).collect();
    assert!(steps.contains(&2) && steps.contains(&3), "{steps:?}");
}

#[test]
fn stale_urls_are_resigned_and_never_used() {
    let src = Source::new(40_000, 128, 800);
    let faults = Faults {
        url_lifetime: 3_000,
        server_error: 0.2,
        early_expiry: 0.05,
        put_latency: 100..600,
        ..Faults::default()
    };
    let config = UploadConfig {
        base_backoff_ms: 500,
        max_attempts: 10,
        ..config()
    };
    let mut sim = Sim::new(src, config, faults, 11);
    sim.run();
    sim.assert_completed();
    assert!(sim.min_url_slack > MARGIN, "slack {}", sim.min_url_slack);
    // Parts signed again: both for the store's "expired" answers and for URLs gone stale
    // while their part waited.
    assert!(sim.expired_answers > 0);
    assert!(
        sim.resigned > sim.expired_answers,
        "{} resigned",
        sim.resigned
    );
    assert!(sim.events.iter().any(|(_, e)| matches!(
        e,
        Event::Retrying {
            reason: RetryReason::Expired,
            delay_ms: 0,
            ..
        }
    )));
}

#[test]
fn short_lived_urls_are_still_used() {
    // URLs that live less than the margin: the margin shrinks to half the lifetime rather
    // than every URL being refused and re-signed forever.
    let src = Source::new(5_000, 128, 800);
    let faults = Faults {
        url_lifetime: 800,
        put_latency: 20..100,
        ..Faults::default()
    };
    let mut sim = Sim::new(src, config(), faults, 2);
    sim.run();
    sim.assert_completed();
    assert!(sim.min_url_slack > 400);
}

#[test]
fn pause_cancels_the_puts_out_and_resume_sends_them_again() {
    for seed in 0..8 {
        let src = Source::new(30_000, 128, 1_000);
        let mut sim = Sim::new(src, config(), Faults::default(), 3 + seed);
        assert!(sim.run_until(|s| s.done.len() >= 3 && s.in_flight > 0));
        let out = sim.in_flight;
        let acked_before = sim.up.progress(sim.now).acked_bytes;
        sim.up.pause(sim.now);
        assert_eq!(sim.up.state(), UploadState::Paused);
        assert_eq!(sim.up.in_flight(), 0, "the engine counts none out");
        let mark = sim.actions.len();
        // The PUTs that were out are cancelled at once, nothing new starts, and then nothing
        // happens at all.
        assert!(!sim.run_until(|_| false));
        let after: Vec<&Action> = sim.actions[mark..].iter().map(|(_, a)| a).collect();
        assert_eq!(after.len(), out, "{after:?}");
        assert!(
            after.iter().all(|a| matches!(a, Action::CancelPut { .. })),
            "{after:?}"
        );
        assert_eq!((sim.in_flight, sim.cancelled_puts), (0, out));
        assert_eq!(
            sim.up.progress(sim.now).acked_bytes,
            acked_before,
            "a cancelled PUT's answer was taken"
        );
        assert_eq!(sim.up.poll_timeout(), None);
        assert!(sim.events.iter().any(|(_, e)| *e == Event::Paused));
        // A long pause: every URL has expired by now.
        sim.now += 120_000;
        sim.up.resume(sim.now);
        let resigned_before = sim.resigned;
        sim.run();
        sim.assert_completed();
        assert!(sim.events.iter().any(|(_, e)| *e == Event::Resumed));
        assert!(sim.resigned > resigned_before);
        // The cancelled parts went twice, every other once; no retry was spent on them.
        assert_eq!(sim.puts.values().filter(|&&c| c == 2).count(), out);
        assert!(sim.puts.values().all(|&c| c <= 2));
        assert!(
            !sim.events
                .iter()
                .any(|(_, e)| matches!(e, Event::Retrying { .. }))
        );
    }
}

#[test]
fn cancelled_puts_are_not_failures() {
    // Paused and resumed more often than a part may fail: no part runs out of attempts.
    let src = Source::new(30_000, 128, 1_000);
    let mut sim = Sim::new(src, config(), Faults::default(), 11);
    for _ in 0..(config().max_attempts + 2) {
        assert!(sim.run_until(|s| s.in_flight > 0));
        sim.up.pause(sim.now);
        assert!(!sim.run_until(|_| false));
        sim.up.resume(sim.now);
    }
    sim.run();
    sim.assert_completed();
    assert!(sim.cancelled_puts as u32 > config().max_attempts);
}

#[test]
fn progress_counts_the_bytes_of_puts_under_way() {
    let src = Source::new(30_000, 128, 1_000);
    let mut sim = Sim::new(src, config(), Faults::default(), 5);
    assert!(sim.run_until(|s| s.in_flight >= 2));
    let out: Vec<(u32, u32, u64)> = sim
        .queue
        .values()
        .filter_map(|d| match d {
            Delivery::Put {
                number,
                attempt,
                cancelled: false,
                ..
            } => Some((*number, *attempt)),
            _ => None,
        })
        .map(|(n, a)| (n, a, sim.memory[&n].len() as u64))
        .collect();
    let (n, a, len) = out[0];
    while sim.up.poll_event().is_some() {}
    let acked = sim.up.progress(sim.now).acked_bytes;
    assert_eq!(sim.up.progress(sim.now).sent_bytes, acked);
    sim.up.handle_put_progress(sim.now, n, a, len / 2);
    assert_eq!(sim.up.progress(sim.now).sent_bytes, acked + len / 2);
    // Reported as an event (at most every 100 ms), never more than the part, never back for
    // an older report, and not for another attempt.
    let mut progressed = Vec::new();
    while let Some(e) = sim.up.poll_event() {
        if let Event::Progress(p) = e {
            progressed.push(p.sent_bytes);
        }
    }
    assert_eq!(progressed, vec![acked + len / 2]);
    sim.up.handle_put_progress(sim.now + 10, n, a, len / 4);
    sim.up.handle_put_progress(sim.now + 20, n, a + 1, len);
    assert_eq!(sim.up.progress(sim.now).sent_bytes, acked + len / 2);
    sim.up.handle_put_progress(sim.now + 200, n, a, len * 2);
    assert_eq!(sim.up.progress(sim.now).sent_bytes, acked + len);
    // A pause cancels the PUT: its bytes will go again, so they no longer count as sent.
    sim.up.pause(sim.now);
    assert_eq!(sim.up.progress(sim.now).sent_bytes, acked);
}

#[test]
fn an_upload_paused_while_its_last_parts_are_out_completes_on_resume() {
    // Three parts: all of them go out at once.
    let src = Source::new(2_500, 128, 1_000);
    let parts = src.plan.part_count() as usize;
    assert!((2..=4).contains(&parts), "{parts} parts");
    let mut sim = Sim::new(src, config(), Faults::default(), 4);
    // Pause once every part has been sent and some PUT is still out: those are cancelled,
    // and the upload waits, paused, with nothing out.
    assert!(sim.run_until(|s| s.puts.len() == parts && s.in_flight > 0));
    sim.up.pause(sim.now);
    assert!(!sim.run_until(|_| false));
    assert_eq!(sim.up.state(), UploadState::Paused);
    sim.up.resume(sim.now);
    sim.run();
    sim.assert_completed();
    assert!(sim.events.iter().any(|(_, e)| *e == Event::Resumed));
}

#[test]
fn a_signer_clock_behind_the_store_is_learned_from_refusals() {
    // The server says its URLs live ten minutes, but its clock runs eight behind the
    // store's: they die after two. Parts hold URLs across pauses of 130 s; the store's
    // refusals teach the engine how long URLs really last, and then it stops using dead ones.
    let src = Source::new(60_000, 128, 1_000);
    let faults = Faults {
        url_lifetime: 600_000,
        sign_clock_lag: 480_000,
        ..Faults::default()
    };
    let mut sim = Sim::new(src, config(), faults, 5);
    let mut refused_by_round = Vec::new();
    for _ in 0..6 {
        assert!(sim.run_until(|s| s.in_flight > 0));
        sim.up.pause(sim.now);
        assert!(!sim.run_until(|_| false));
        sim.now += 130_000;
        sim.up.resume(sim.now);
        let (expired, resigned) = (sim.expired_answers, sim.resigned);
        assert!(
            sim.run_until(
                |s| s.expired_answers + s.resigned > expired + resigned && s.in_flight > 0
            )
        );
        refused_by_round.push(sim.expired_answers - expired);
    }
    sim.run();
    sim.assert_completed();
    assert!(refused_by_round[0] > 0, "{refused_by_round:?}");
    assert_eq!(refused_by_round[3..], [0, 0, 0], "{refused_by_round:?}");
}

#[test]
fn abort_emits_abort_once_and_ignores_late_results() {
    let src = Source::new(30_000, 128, 1_000);
    let mut sim = Sim::new(src, config(), Faults::default(), 4);
    assert!(sim.run_until(|s| s.done.len() >= 2 && s.in_flight >= 2));
    let done_before = sim.done.len();
    let mark = sim.actions.len();
    sim.up.abort();
    sim.up.abort();
    sim.run();
    assert_eq!(sim.up.state(), UploadState::Aborted);
    assert_eq!(sim.actions.len(), mark + 1);
    assert!(matches!(sim.actions[mark].1, Action::Abort));
    assert!(sim.store.aborted);
    // The PUTs still out came back and were ignored.
    assert!(sim.queue.is_empty() && sim.in_flight == 0);
    assert_eq!(sim.done.len(), done_before);
    let aborted = sim
        .events
        .iter()
        .filter(|(_, e)| *e == Event::Aborted)
        .count();
    assert_eq!(aborted, 1);
    assert!(sim.memory.is_empty());
    assert_eq!(sim.up.poll_action(sim.now + 100_000), None);
}

#[test]
fn reload_resumes_without_resending_done_parts() {
    let src = Source::new(40_000, 128, 1_000);
    let faults = Faults {
        server_error: 0.1,
        ..Faults::default()
    };
    let mut sim = Sim::new(src, config(), faults, 6);
    assert!(sim.run_until(|s| s.done.len() >= 8 && s.in_flight > 0));
    let done = sim.done.clone();
    let done_bytes: u64 = done
        .keys()
        .map(|&n| sim.src.plan.part(n).unwrap().sealed_len())
        .sum();
    sim.now += 5_000;
    sim.reload(config(), 7);
    // Resumed parts count as acknowledged but not toward the rate.
    let p = sim.up.progress(sim.now);
    assert_eq!(p.acked_bytes, done_bytes);
    assert_eq!(p.rate_bytes_per_s, 0.0);
    assert_eq!(p.eta_ms, None);
    sim.last_acked = done_bytes;
    sim.run();
    sim.assert_completed();
    for n in done.keys() {
        assert!(!sim.puts.contains_key(n), "part {n} sent again");
        assert_eq!(
            sim.count(|a| matches!(a, Action::Seal { number, .. } if number == n)),
            0,
            "part {n} sealed again"
        );
    }
    let remaining = sim.src.plan.part_count() as usize - done.len();
    assert_eq!(sim.puts.len(), remaining);
    // The completion lists the ETags kept from before the reload.
    let complete = sim
        .actions
        .iter()
        .find_map(|(_, a)| match a {
            Action::Complete { parts } => Some(parts.clone()),
            _ => None,
        })
        .unwrap();
    for (n, etag) in &done {
        assert!(complete.contains(&(*n, etag.clone())));
    }
}

#[test]
fn resume_with_every_part_done_just_completes() {
    let src = Source::new(5_000, 128, 800);
    let mut sim = Sim::new(src, config(), Faults::default(), 8);
    assert!(sim.run_until(|s| s.done.len() == s.src.plan.part_count() as usize));
    sim.reload(config(), 9);
    sim.run();
    sim.assert_completed();
    assert!(sim.puts.is_empty());
    assert_eq!(sim.actions.len(), 1);
}

#[test]
fn resume_refuses_etags_of_another_plan() {
    let src = Source::new(5_000, 128, 800);
    let n = src.plan.part_count();
    let err = Upload::new(src.plan.clone(), config(), 1, [(n + 1, "x".to_string())]).unwrap_err();
    assert_eq!(err, Error::UnexpectedPart(n + 1));
}

fn run_failing(faults: Faults, config: UploadConfig) -> Sim {
    let src = Source::new(20_000, 128, 1_000);
    let mut sim = Sim::new(src, config, faults, 10);
    sim.run();
    assert_eq!(sim.up.state(), UploadState::Failed);
    assert!(sim.store.object.is_none());
    assert!(sim.memory.is_empty());
    sim
}

#[test]
fn permanent_403_fails_the_upload() {
    let faults = Faults {
        fixed: HashMap::from([(3, PutFailure::Status(403))]),
        ..Faults::default()
    };
    let sim = run_failing(faults, config());
    assert_eq!(
        sim.failure(),
        Some(&Error::UploadRejected {
            part: 3,
            status: 403
        })
    );
    assert_eq!(sim.puts[&3], 1, "a 403 is not retried");
}

#[test]
fn no_such_upload_fails_the_upload() {
    let faults = Faults {
        fixed: HashMap::from([(2, PutFailure::Status(404))]),
        ..Faults::default()
    };
    let sim = run_failing(faults, config());
    assert_eq!(sim.failure(), Some(&Error::NoSuchUpload));
    assert_eq!(sim.puts[&2], 1);
}

#[test]
fn a_part_out_of_attempts_fails_the_upload() {
    let faults = Faults {
        fixed: HashMap::from([(2, PutFailure::Status(500))]),
        ..Faults::default()
    };
    let config = UploadConfig {
        max_attempts: 5,
        ..config()
    };
    let sim = run_failing(faults, config);
    assert_eq!(
        sim.failure(),
        Some(&Error::RetriesExhausted {
            part: 2,
            attempts: 5
        })
    );
    assert_eq!(sim.puts[&2], 5);
    // Each retry waited a jittered backoff under the growing cap.
    let delays: Vec<(u32, u64)> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Retrying {
                number: Some(2),
                attempt,
                delay_ms,
                ..
            } => Some((*attempt, *delay_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(delays.iter().map(|d| d.0).collect::<Vec<_>>(), [2, 3, 4, 5]);
    for (attempt, delay) in delays {
        assert!(delay <= 100 << (attempt - 2));
    }
}

#[test]
fn refused_signing_fails_the_upload() {
    let faults = Faults {
        sign_refused: true,
        ..Faults::default()
    };
    let sim = run_failing(faults, config());
    assert_eq!(sim.failure(), Some(&Error::SigningFailed));
    assert!(sim.puts.is_empty());
}

#[test]
fn progress_is_monotone_and_has_an_eta_while_running() {
    let src = Source::new(40_000, 128, 1_000);
    let total = src.plan.sealed_len();
    let mut sim = Sim::new(src, config(), Faults::rough(), 12);
    sim.run();
    sim.assert_completed();
    let progress: Vec<_> = sim
        .events
        .iter()
        .filter_map(|(t, e)| match e {
            Event::Progress(p) => Some((*t, *p)),
            _ => None,
        })
        .collect();
    assert!(progress.len() > sim.src.plan.part_count() as usize);
    let last = progress.last().unwrap().1;
    assert_eq!((last.acked_bytes, last.sealed_bytes), (total, total));
    assert_eq!(last.eta_ms, Some(0));
    let mut acked = 0;
    for (t, p) in &progress {
        assert!(p.acked_bytes >= acked);
        acked = p.acked_bytes;
        if p.acked_bytes > 0 && p.acked_bytes < total {
            assert!(p.rate_bytes_per_s > 0.0, "no rate at {t}");
            let eta = p.eta_ms.expect("an ETA while running");
            // The ETA is what the rate says is left.
            let expect = (total - p.acked_bytes) as f64 * 1000.0 / p.rate_bytes_per_s;
            assert!((eta as f64 - expect).abs() <= 1.0);
        }
    }
}

#[test]
fn real_s3_limits_on_twelve_mib() {
    let len = 12 * 1024 * 1024;
    let plan = PartPlan::new(len as u64, 256 * 1024, cinelock_core::upload::MIN_PART_SIZE).unwrap();
    assert_eq!(plan.part_count(), 3);
    let src = Source::with_plan(len, plan);
    // Retries that resend rather than reseal: sealing is the slow part of this test.
    let faults = Faults {
        server_error: 0.3,
        cut: 0.1,
        ..Faults::default()
    };
    let mut sim = Sim::new(src, config(), faults, 13);
    sim.run();
    sim.assert_completed();
    assert_eq!(sim.max_memory, 3);
    assert!(sim.puts.values().sum::<u32>() > 3, "no retry happened");
    assert_eq!(sim.count(|a| matches!(a, Action::Seal { .. })), 3);
}

#[test]
fn urls_never_show_in_debug_output() {
    let src = Source::new(1_000, 128, 800);
    let mut up = Upload::new(src.plan.clone(), config(), 1, []).unwrap();
    let secret = "https://store/p?X-Amz-Signature=TOPSECRET";
    let mut put = None;
    for now in 0..10 {
        while let Some(a) = up.poll_action(now) {
            match a {
                Action::RequestSignatures { parts } => {
                    let signed: Vec<SignedPart> = parts
                        .iter()
                        .map(|&number| SignedPart {
                            number,
                            url: secret.into(),
                            lifetime_ms: 1_000_000,
                        })
                        .collect();
                    assert!(!format!("{signed:?}").contains("TOPSECRET"));
                    up.handle_signed(now, signed);
                }
                Action::Seal { number, spec, .. } => {
                    up.handle_sealed(now, number, PartChecksum::Crc32c([0; 4]), spec.sealed_len())
                }
                a @ Action::Put { .. } => put = Some(a),
                _ => {}
            }
        }
    }
    let put = put.expect("a PUT");
    assert!(matches!(&put, Action::Put { url, .. } if url == secret));
    assert!(!format!("{put:?}").contains("TOPSECRET"));
    assert!(!format!("{up:?}").contains("TOPSECRET"));
    assert!(format!("{up:?}").contains("<redacted>"));
}

#[test]
fn results_of_stale_attempts_are_ignored() {
    let src = Source::new(500, 128, 800);
    assert_eq!(src.plan.part_count(), 1);
    let mut up = Upload::new(src.plan.clone(), config(), 1, []).unwrap();
    let mut now = 0;
    fn put(up: &mut Upload, now: u64) -> (u32, u32) {
        loop {
            match up.poll_action(now).expect("an action") {
                Action::RequestSignatures { parts } => up.handle_signed(
                    now,
                    parts
                        .iter()
                        .map(|&number| SignedPart {
                            number,
                            url: "u".into(),
                            lifetime_ms: 1_000_000,
                        })
                        .collect(),
                ),
                Action::Seal { number, spec, .. } => {
                    up.handle_sealed(now, number, PartChecksum::Crc32c([1; 4]), spec.sealed_len())
                }
                Action::Put {
                    number, attempt, ..
                } => return (number, attempt),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let (n, a1) = put(&mut up, now);
    assert_eq!(a1, 1);
    up.handle_put_result(now, n, a1, Err(PutFailure::Network));
    if let Some(t) = up.poll_timeout() {
        now = t;
        up.handle_timeout(now);
    }
    let (_, a2) = put(&mut up, now);
    assert_eq!(a2, 2);
    // A late success of attempt 1 is not taken: attempt 2 is still out.
    up.handle_put_result(now, n, a1, Ok("old".into()));
    assert_eq!(up.parts_done(), 0);
    assert_eq!(up.in_flight(), 1);
    up.handle_put_result(now, n, a2, Ok("new".into()));
    assert_eq!(up.parts_done(), 1);
    while up.poll_event().is_some() {}
    assert!(
        matches!(up.poll_action(now), Some(Action::Complete { parts }) if parts == [(1, "new".to_string())])
    );
}

#[test]
fn a_server_handing_out_dead_urls_fails_instead_of_spinning() {
    let faults = Faults {
        url_lifetime: 0,
        ..Faults::default()
    };
    let sim = run_failing(faults, config());
    assert_eq!(sim.failure(), Some(&Error::SigningFailed));
    assert!(sim.puts.is_empty());
    // Each dead batch counted as one failed try, with backoff in between.
    let requests = sim.count(|a| matches!(a, Action::RequestSignatures { .. }));
    assert_eq!(requests, 8);
    assert!(sim.now > 1_000 + 100);
}

/// Drives `up` with instant signing and sealing until it asks for a PUT, and returns it.
fn next_put(up: &mut Upload, now: u64) -> Option<(u32, u32, u64)> {
    while let Some(action) = up.poll_action(now) {
        match action {
            Action::RequestSignatures { parts } => up.handle_signed(
                now,
                parts
                    .iter()
                    .map(|&number| SignedPart {
                        number,
                        url: format!("u{number}"),
                        lifetime_ms: 3_600_000,
                    })
                    .collect(),
            ),
            Action::Seal { number, spec, .. } => {
                up.handle_sealed(now, number, PartChecksum::Crc32c([1; 4]), spec.sealed_len())
            }
            Action::Put {
                number,
                attempt,
                len,
                ..
            } => return Some((number, attempt, len)),
            other => panic!("unexpected {other:?}"),
        }
    }
    None
}

#[test]
fn rate_counts_this_sessions_acks_over_the_window() {
    let src = Source::new(5_000, 128, 800);
    let plan = src.plan.clone();
    assert!(plan.part_count() >= 4);
    let config = UploadConfig {
        max_parallel: 1,
        rate_window_ms: 2_000,
        ..config()
    };
    // Part 1 done in an earlier session.
    let mut up = Upload::new(plan.clone(), config, 1, [(1, "e1".to_string())]).unwrap();
    let resumed = plan.part(1).unwrap().sealed_len();
    let (n2, a2, l2) = next_put(&mut up, 0).unwrap();
    assert_eq!(n2, 2);
    up.handle_put_result(500, n2, a2, Ok("e2".into()));
    // One part in the first half second of the session.
    let p = up.progress(500);
    assert_eq!(p.acked_bytes, resumed + l2);
    assert_eq!(p.rate_bytes_per_s, l2 as f64 * 2.0);
    let (n3, a3, l3) = next_put(&mut up, 500).unwrap();
    assert_eq!(n3, 3);
    up.handle_put_result(1_000, n3, a3, Ok("e3".into()));
    assert_eq!(up.progress(1_000).rate_bytes_per_s, (l2 + l3) as f64);
    // At 2.6 s only part 3 is inside the 2 s window.
    let p = up.progress(2_600);
    assert_eq!(p.rate_bytes_per_s, l3 as f64 / 2.0);
    let left = plan.sealed_len() - resumed - l2 - l3;
    assert_eq!(
        p.eta_ms,
        Some((left as f64 * 1000.0 / p.rate_bytes_per_s).ceil() as u64)
    );
    // Paused: no ETA.
    up.pause(2_600);
    assert_eq!(up.progress(2_600).eta_ms, None);
}

#[test]
fn a_refused_completion_fails_the_upload() {
    let faults = Faults {
        complete_rejected: Some(400),
        ..Faults::default()
    };
    let sim = run_failing(faults, config());
    assert_eq!(
        sim.failure(),
        Some(&Error::CompleteFailed { status: Some(400) })
    );
    assert_eq!(sim.store.complete_calls, 1, "a 400 is not retried");
    assert_eq!(sim.done.len() as u32, sim.src.plan.part_count());
}

#[test]
fn checksum_signed_urls_satisfy_a_strict_store() {
    // CRC32C, the default, and SHA-256, which uploads created before it still carry.
    for seed in 0..4 {
        let config = UploadConfig {
            checksum_in_signature: true,
            part_checksum: ChecksumAlgorithm::ALL[seed as usize % 2],
            ..config()
        };
        let src = Source::new(30_000, 128, 1_500);
        let faults = Faults {
            checksum_must_be_signed: true,
            ..Faults::rough()
        };
        let mut sim = Sim::new(src, config.clone(), faults, seed);
        sim.run();
        sim.assert_completed();
        assert_eq!(sim.max_memory, 5);
        // Signing waits for sealing, so every URL was signed for bytes already held.
        assert!(sim.max_sign_lead <= 0);
    }
}

#[test]
fn seals_are_asked_with_the_uploads_algorithm_and_a_part_of_another_fails_it() {
    for algorithm in ChecksumAlgorithm::ALL {
        let src = Source::new(500, 128, 800);
        let config = UploadConfig {
            checksum_in_signature: true,
            part_checksum: algorithm,
            ..config()
        };
        let mut up = Upload::new(src.plan.clone(), config, 1, []).unwrap();
        let Some(Action::Seal {
            number: 1,
            spec,
            checksum,
        }) = up.poll_action(0)
        else {
            panic!("expected the seal of part 1");
        };
        assert_eq!(checksum, algorithm);
        // A driver that hashed with another algorithm would have every URL refused.
        let other = ChecksumAlgorithm::ALL
            .into_iter()
            .find(|&a| a != algorithm)
            .unwrap();
        up.handle_sealed(1, 1, other.checksum(b"x"), spec.sealed_len());
        assert_eq!(up.state(), UploadState::Failed);
        assert_eq!(up.part_checksum(1), None);
    }
}

#[test]
fn a_strict_store_refuses_unsigned_checksums() {
    // What the default mode meets on AWS: the upload fails loudly on the first PUT.
    let faults = Faults {
        checksum_must_be_signed: true,
        ..Faults::default()
    };
    let sim = run_failing(faults, config());
    assert!(matches!(
        sim.failure(),
        Some(Error::UploadRejected { status: 403, .. })
    ));
}

#[test]
fn the_next_part_is_sealed_and_signed_while_every_put_slot_is_busy() {
    // Two PUT slots and one part ahead: once both PUTs are out, part 3 is sealed and signed,
    // so the slot the first PUT frees is refilled at once rather than after a seal and a
    // signing round trip.
    let src = Source::new(5 * 128, 128, 128);
    let config = UploadConfig {
        max_parallel: 2,
        seal_ahead: 1,
        checksum_in_signature: true,
        ..config()
    };
    let mut up = Upload::new(src.plan.clone(), config, 1, []).unwrap();
    let mut t = 0;
    let mut put = Vec::new();
    let mut sealed = Vec::new();
    let drain = |up: &mut Upload, t: u64, put: &mut Vec<u32>, sealed: &mut Vec<u32>| {
        let mut sign = Vec::new();
        while let Some(a) = up.poll_action(t) {
            match a {
                Action::Seal { number, spec, .. } => {
                    sealed.push(number);
                    up.handle_sealed(
                        t,
                        number,
                        PartChecksum::Crc32c([number as u8; 4]),
                        spec.sealed_len(),
                    );
                }
                Action::RequestSignatures { parts } => sign.extend(parts),
                Action::Put { number, .. } => put.push(number),
                other => panic!("unexpected {other:?}"),
            }
        }
        sign
    };
    // Seal, sign, PUT: answer every signing request at once until nothing changes.
    loop {
        t += 1;
        let sign = drain(&mut up, t, &mut put, &mut sealed);
        if sign.is_empty() {
            break;
        }
        let urls = sign
            .into_iter()
            .map(|number| SignedPart {
                number,
                url: format!("u{number}"),
                lifetime_ms: 1_000_000,
            })
            .collect();
        up.handle_signed(t, urls);
    }
    assert_eq!(put, vec![1, 2], "both slots busy");
    assert_eq!(sealed, vec![1, 2, 3], "one part sealed ahead, no more");
    assert_eq!(up.in_memory(), 3);
    assert!(up.part_checksum(3).is_some());
    // Part 1's PUT succeeds: part 3 goes out in the same turn (its URL is already there), and
    // part 4 is sealed ahead in its place.
    up.handle_put_result(t, 1, 1, Ok("e1".into()));
    let sign = drain(&mut up, t, &mut put, &mut sealed);
    assert_eq!(put, vec![1, 2, 3]);
    assert_eq!(sealed, vec![1, 2, 3, 4]);
    assert_eq!(sign, vec![4]);
}

#[test]
fn no_more_parts_are_sealed_at_once_than_max_sealing() {
    let src = Source::new(8 * 128, 128, 128);
    let config = UploadConfig {
        max_parallel: 4,
        seal_ahead: 1,
        max_sealing: 2,
        ..config()
    };
    let mut up = Upload::new(src.plan.clone(), config, 1, []).unwrap();
    let seals = |up: &mut Upload, t: u64| {
        std::iter::from_fn(|| up.poll_action(t))
            .filter_map(|a| match a {
                Action::Seal { number, spec, .. } => Some((number, spec)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // Memory would allow five parts; two are sealed at once.
    let first = seals(&mut up, 1);
    assert_eq!(first.iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 2]);
    // One done: the next starts.
    up.handle_sealed(2, 1, PartChecksum::Crc32c([1; 4]), first[0].1.sealed_len());
    assert_eq!(
        seals(&mut up, 2).iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![3]
    );
}

#[test]
fn unsolicited_urls_are_not_trusted_under_checksum_signing() {
    let src = Source::new(500, 128, 800);
    let config = UploadConfig {
        checksum_in_signature: true,
        ..config()
    };
    let mut up = Upload::new(src.plan.clone(), config, 1, []).unwrap();
    // Nothing is sealed, so nothing can be signed yet: the first action is the seal.
    let Some(Action::Seal {
        number: 1, spec, ..
    }) = up.poll_action(0)
    else {
        panic!("expected the seal of part 1");
    };
    assert_eq!(up.part_checksum(1), None);
    // A URL nobody asked for covers no known checksum.
    up.handle_signed(
        1,
        vec![SignedPart {
            number: 1,
            url: "u".into(),
            lifetime_ms: 1_000_000,
        }],
    );
    up.handle_sealed(2, 1, PartChecksum::Crc32c([7; 4]), spec.sealed_len());
    assert_eq!(
        up.part_checksum(1),
        Some((PartChecksum::Crc32c([7; 4]), spec.sealed_len()))
    );
    assert_eq!(
        up.poll_action(3),
        Some(Action::RequestSignatures { parts: vec![1] })
    );
}

// ---- growing uploads (recordings) ----

/// When the stream ended, from the deliveries still queued.
fn end_time(sim: &Sim) -> u64 {
    sim.queue
        .iter()
        .find_map(|(&(at, _), d)| matches!(d, Delivery::Grow { ended: true, .. }).then_some(at))
        .unwrap()
}

#[test]
fn a_growing_upload_sends_parts_while_the_stream_grows() {
    let (src, plan) = Source::growing(40_000, 256, 2_000);
    let parts = src.plan.part_count();
    assert!(parts >= 15);
    // 1,000 bytes every 100 ms: 4 s of recording.
    let mut sim = Sim::growing(src, plan, config(), Faults::default(), 1, 1_000, 100);
    let ended_at = end_time(&sim);
    sim.run();
    sim.assert_completed();
    assert!(sim.puts.values().all(|&c| c == 1));
    // Every part but the last went out while recording; after the end only the tail is left.
    let put_times: Vec<(u64, u32)> = sim
        .actions
        .iter()
        .filter_map(|(t, a)| match a {
            Action::Put { number, .. } => Some((*t, *number)),
            _ => None,
        })
        .collect();
    let after_end: Vec<u32> = put_times
        .iter()
        .filter(|(t, _)| *t >= ended_at)
        .map(|&(_, n)| n)
        .collect();
    assert!(after_end.len() <= 2, "sent after the end: {after_end:?}");
    assert!(after_end.contains(&parts));
    let completed_at = sim
        .events
        .iter()
        .find(|(_, e)| *e == Event::Completed)
        .unwrap()
        .0;
    assert!(
        completed_at - ended_at < 1_000,
        "end to completed: {}",
        completed_at - ended_at
    );
}

#[test]
fn a_put_that_goes_silent_is_aborted_after_the_stall_timeout_and_sent_again() {
    let src = Source::new(20_000, 256, 2_000);
    let faults = Faults {
        silent: HashMap::from([(2, 1)]),
        ..Faults::default()
    };
    let mut sim = Sim::new(src, config(), faults, 7);
    sim.run();
    sim.assert_completed();
    assert_eq!(sim.puts[&2], 2);
    let sent_at = sim
        .first_at(|a| {
            matches!(
                a,
                Action::Put {
                    number: 2,
                    attempt: 1,
                    ..
                }
            )
        })
        .unwrap();
    let cancelled_at = sim
        .first_at(|a| {
            matches!(
                a,
                Action::CancelPut {
                    number: 2,
                    attempt: 1
                }
            )
        })
        .expect("the silent PUT was aborted");
    assert_eq!(cancelled_at - sent_at, STALL);
    let timeouts: Vec<_> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Retrying { number, reason, .. } if *reason == RetryReason::Timeout => {
                Some(*number)
            }
            _ => None,
        })
        .collect();
    assert_eq!(timeouts, [Some(2)]);
    // A silent connection says the link carries less: fewer PUTs at once, for a while.
    assert!(
        sim.concurrency
            .iter()
            .any(|&(t, c, _)| t >= cancelled_at && c < 4)
    );

    // Without the timeout the same PUT holds the upload forever.
    let src = Source::new(20_000, 256, 2_000);
    let faults = Faults {
        silent: HashMap::from([(2, 1)]),
        ..Faults::default()
    };
    let mut sim = Sim::new(
        src,
        UploadConfig {
            put_stall_ms: None,
            ..config()
        },
        faults,
        7,
    );
    sim.run();
    assert_eq!(sim.up.state(), UploadState::Running);
    assert_eq!(sim.puts[&2], 1);
}

#[test]
fn a_seal_that_never_finishes_is_given_up_after_the_stall_timeout_and_sealed_again() {
    let faults = || Faults {
        stuck_seals: HashMap::from([(2, 1)]),
        ..Faults::default()
    };
    let mut sim = Sim::new(Source::new(20_000, 256, 2_000), config(), faults(), 11);
    sim.run();
    sim.assert_completed();
    let seals: Vec<u64> = sim
        .actions
        .iter()
        .filter(|(_, a)| matches!(a, Action::Seal { number: 2, .. }))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(seals.len(), 2);
    let cancelled_at = sim
        .first_at(|a| matches!(a, Action::CancelSeal { number: 2 }))
        .expect("the stuck seal was given up");
    assert_eq!(cancelled_at, seals[0] + STALL);
    // Sealed again at once, in the slot it held.
    assert_eq!(seals[1], cancelled_at);
    assert!(sim.events.iter().any(|(_, e)| matches!(
        e,
        Event::Retrying {
            number: Some(2),
            reason: RetryReason::Timeout,
            ..
        }
    )));

    // Without the timeout the same seal holds the upload forever.
    let config = UploadConfig {
        seal_stall_ms: None,
        ..config()
    };
    let mut sim = Sim::new(Source::new(20_000, 256, 2_000), config, faults(), 11);
    // Ten minutes on (the waiting parts' URLs keep being signed anew).
    assert!(sim.run_until(|s| s.now > 600_000));
    assert_eq!(sim.up.state(), UploadState::Running);
    assert_eq!(
        sim.count(|a| matches!(a, Action::Seal { number: 2, .. })),
        1
    );
}

#[test]
fn a_part_whose_seals_never_finish_fails_the_upload_after_its_attempts() {
    let faults = Faults {
        stuck_seals: HashMap::from([(2, u32::MAX)]),
        ..Faults::default()
    };
    let sim = run_stalling_every_time(faults, 2);
    // Every stuck seal was given up, the last one too.
    assert_eq!(
        sim.count(|a| matches!(a, Action::CancelSeal { number: 2 })),
        8
    );
    assert!(sim.stuck.is_empty());
}

#[test]
fn a_slow_put_that_keeps_sending_is_not_aborted() {
    let src = Source::new(20_000, 256, 2_000);
    let faults = Faults {
        // Three stall timeouts long, with bytes going out every second.
        trickle: Some((2, 3 * STALL)),
        ..Faults::default()
    };
    let mut sim = Sim::new(src, config(), faults, 8);
    sim.run();
    sim.assert_completed();
    assert_eq!(sim.puts[&2], 1);
    assert_eq!(sim.count(|a| matches!(a, Action::CancelPut { .. })), 0);
}

#[test]
fn a_part_whose_puts_always_go_silent_fails_the_upload_after_its_attempts() {
    let faults = Faults {
        silent: HashMap::from([(3, u32::MAX)]),
        ..Faults::default()
    };
    let sim = run_stalling_every_time(faults, 3);
    assert_eq!(sim.puts[&3], 8);
}

#[test]
fn a_completion_with_no_answer_is_given_up_after_its_timeout_and_asked_again() {
    let src = Source::new(20_000, 256, 2_000);
    let faults = Faults {
        complete_silent: 1,
        ..Faults::default()
    };
    let mut sim = Sim::new(src, config(), faults, 7);
    sim.run();
    sim.assert_completed();
    assert_eq!(sim.store.complete_calls, 2);
    let completes: Vec<u64> = sim
        .actions
        .iter()
        .filter(|(_, a)| matches!(a, Action::Complete { .. }))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(completes.len(), 2);
    // Asked again after the timeout and a backoff, not before.
    assert!(completes[1] - completes[0] >= COMPLETE_TIMEOUT);
    assert!(completes[1] - completes[0] <= COMPLETE_TIMEOUT + 5_000);
    let retries: Vec<_> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Retrying { number, reason, .. } => Some((*number, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(retries, [(None, RetryReason::Timeout)]);

    // Without the timeout the upload waits for that answer forever.
    let src = Source::new(20_000, 256, 2_000);
    let faults = Faults {
        complete_silent: 1,
        ..Faults::default()
    };
    let config = UploadConfig {
        complete_timeout_ms: None,
        ..config()
    };
    let mut sim = Sim::new(src, config, faults, 7);
    sim.run();
    assert_eq!(sim.up.state(), UploadState::Completing);
    assert_eq!(sim.store.complete_calls, 1);
}

#[test]
fn a_completion_that_never_answers_fails_the_upload_after_its_attempts() {
    let faults = Faults {
        complete_silent: u32::MAX,
        ..Faults::default()
    };
    let src = Source::new(20_000, 128, 1_000);
    let mut sim = Sim::new(src, config(), faults, 10);
    sim.run();
    assert_eq!(sim.up.state(), UploadState::Failed);
    assert_eq!(sim.failure(), Some(&Error::CompleteFailed { status: None }));
    assert_eq!(sim.store.complete_calls, 8);
}

/// What uploads run side by side came to: the most PUTs out together, the most parts sealing
/// together, the most parts held together, the most uploads holding parts at once, and when
/// each upload completed.
struct SideBySide {
    most_puts: usize,
    /// The most PUTs out together while the page had a player.
    most_puts_playing: usize,
    /// When the PUTs out together first reached their most.
    most_puts_at: u64,
    most_sealing: usize,
    most_held: usize,
    most_holding: usize,
    completed: Vec<u64>,
}

/// Runs `sims` side by side on one clock, dividing a browser thread's slots among them before
/// every step as its driver does (`shared`; else each runs as if alone), on a page with
/// `players(now)` players.
fn run_side_by_side(sims: &mut [Sim], shared: bool, players: impl Fn(u64) -> usize) -> SideBySide {
    let mut out = SideBySide {
        most_puts: 0,
        most_puts_playing: 0,
        most_puts_at: 0,
        most_sealing: 0,
        most_held: 0,
        most_holding: 0,
        completed: vec![u64::MAX; sims.len()],
    };
    let divide = |sims: &[Sim]| {
        share(
            &sims.iter().map(|s| s.up.demands()).collect::<Vec<_>>(),
            Neighbours {
                players: players(sims[0].now),
                uploaders: 0,
            },
        )
    };
    loop {
        // Each engine acts on its shares (as the driver sets them before asking for actions);
        // shares that changed let it act again.
        loop {
            let shares = shared.then(|| divide(sims));
            if let Some(shares) = &shares {
                for (s, &share) in sims.iter_mut().zip(shares) {
                    s.up.set_shares(Some(share));
                }
            }
            for s in sims.iter_mut() {
                s.pump();
            }
            if shares.is_none_or(|shares| shares == divide(sims)) {
                break;
            }
        }
        let puts = sims.iter().map(|s| s.in_flight).sum();
        if puts > out.most_puts {
            out.most_puts = puts;
            out.most_puts_at = sims[0].now;
        }
        if players(sims[0].now) > 0 {
            out.most_puts_playing = out.most_puts_playing.max(puts);
        }
        out.most_sealing = out.most_sealing.max(sims.iter().map(Sim::sealing).sum());
        out.most_held = out.most_held.max(sims.iter().map(|s| s.memory.len()).sum());
        let holding = sims.iter().filter(|s| !s.memory.is_empty()).count();
        out.most_holding = out.most_holding.max(holding);
        for (s, at) in sims.iter().zip(out.completed.iter_mut()) {
            if s.up.state() == UploadState::Completed && *at == u64::MAX {
                *at = s.now;
            }
        }
        let Some((t, i)) = sims
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.next_at().map(|t| (t, i)))
            .min()
        else {
            return out;
        };
        for s in sims.iter_mut() {
            s.now = s.now.max(t);
        }
        sims[i].step();
    }
}

/// `n` uploads of about 20 kB each, to run side by side, with seeds from `seed` on.
fn side_by_side(n: u64, seed: u64) -> Vec<Sim> {
    (0..n)
        .map(|i| {
            let src = Source::new(20_000 + 100 * i as usize, 256, 2_000);
            Sim::new(src, config(), Faults::default(), seed + i)
        })
        .collect()
}

#[test]
fn uploads_side_by_side_never_have_more_puts_out_than_the_browser_runs() {
    let sims = || side_by_side(8, 30);
    let mut shared = sims();
    let run = run_side_by_side(&mut shared, true, |_| 0);
    for s in &shared {
        s.assert_completed();
        // Nothing waited unseen: no PUT was taken for stalled.
        assert_eq!(s.count(|a| matches!(a, Action::CancelPut { .. })), 0);
    }
    assert_eq!(run.most_puts, BROWSER_PUTS_AT_ONCE);
    // One thread seals two parts at once, whatever the number of uploads.
    assert_eq!(run.most_sealing, BROWSER_SEALS_AT_ONCE);
    // An upload with no PUT slot reads and seals nothing: the eight together hold at most one
    // part per slot and one sealed ahead per upload that has a slot.
    assert!(
        run.most_holding <= BROWSER_PUTS_AT_ONCE,
        "{}",
        run.most_holding
    );
    assert!(
        run.most_held <= 2 * BROWSER_PUTS_AT_ONCE,
        "{}",
        run.most_held
    );

    // Fewer than six: the earliest upload has the most slots, and finishes first.
    let mut three: Vec<Sim> = sims().into_iter().take(3).collect();
    let run = run_side_by_side(&mut three, true, |_| 0);
    let completed = &run.completed;
    assert!(
        completed[1..].iter().all(|&t| completed[0] < t),
        "{completed:?}"
    );

    // Each on its own, the eight have as many PUTs out as their concurrency allows (a browser
    // would queue the rest unseen), and each holds as many parts as that needs.
    let mut alone = sims();
    let run = run_side_by_side(&mut alone, false, |_| 0);
    assert!(run.most_puts > BROWSER_PUTS_AT_ONCE, "{}", run.most_puts);
    assert!(
        run.most_sealing > 2 * BROWSER_SEALS_AT_ONCE,
        "{}",
        run.most_sealing
    );
    assert!(
        run.most_held > 4 * BROWSER_PUTS_AT_ONCE,
        "{}",
        run.most_held
    );
    assert_eq!(run.most_holding, 8);
}

#[test]
fn uploads_leave_two_connections_to_a_player_on_the_page() {
    let sims = || side_by_side(3, 60);
    let check = |sims: &[Sim]| {
        for s in sims {
            s.assert_completed();
            // Nothing was taken for stalled, and nothing failed.
            assert!(
                !s.events
                    .iter()
                    .any(|(_, e)| matches!(e, Event::Retrying { .. }))
            );
        }
    };
    // A player on the page from the start: four at most.
    let mut playing = sims();
    let run = run_side_by_side(&mut playing, true, |_| 1);
    check(&playing);
    assert_eq!(run.most_puts, BROWSER_PUTS_AT_ONCE - PUTS_LEFT_TO_PLAYERS);
    assert!(playing.iter().all(|s| s.cancelled_puts == 0));
    // The same uploads on a page without one take all six.
    let mut alone = sims();
    let run = run_side_by_side(&mut alone, true, |_| 0);
    assert_eq!(run.most_puts, BROWSER_PUTS_AT_ONCE);
    // A player that comes just after six were out (the run is the same until then): those
    // beyond four are cancelled at once, not failed, and sent again; from then on, four at most.
    let mut joined = sims();
    let comes = run.most_puts_at + 1;
    let run = run_side_by_side(&mut joined, true, |now| usize::from(now >= comes));
    check(&joined);
    assert_eq!(run.most_puts, BROWSER_PUTS_AT_ONCE);
    assert_eq!(
        run.most_puts_playing,
        BROWSER_PUTS_AT_ONCE - PUTS_LEFT_TO_PLAYERS
    );
    // Those out beyond four when it came (one may have ended just before), and no more.
    let cancelled: usize = joined.iter().map(|s| s.cancelled_puts).sum();
    assert!(
        (1..=PUTS_LEFT_TO_PLAYERS).contains(&cancelled),
        "{cancelled}"
    );
}

/// An upload whose `part` stalls on every try: it fails once the part has used its 8 attempts.
fn run_stalling_every_time(faults: Faults, part: u32) -> Sim {
    let sim = run_failing(faults, config());
    assert_eq!(
        sim.failure(),
        Some(&Error::RetriesExhausted { part, attempts: 8 })
    );
    sim
}

#[test]
fn a_growing_upload_survives_faults_and_a_slow_network() {
    for seed in 0..6 {
        let (src, plan) = Source::growing(30_000, 128, 1_500);
        let faults = Faults {
            put_latency: 200..2_000,
            ..Faults::rough()
        };
        let mut sim = Sim::growing(src, plan, config(), faults, seed, 3_000, 50);
        sim.run();
        sim.assert_completed();
        assert!(sim.max_memory <= 5);
    }
}

#[test]
fn pause_holds_a_growing_upload_and_resume_catches_up() {
    let (src, plan) = Source::growing(20_000, 128, 1_000);
    let mut sim = Sim::growing(src, plan, config(), Faults::default(), 3, 500, 100);
    assert!(sim.run_until(|s| s.done.len() >= 2));
    sim.up.pause(sim.now);
    let puts = sim.puts.len();
    // The recording goes on and ends while paused; nothing new is sent.
    assert!(!sim.run_until(|_| false));
    assert_eq!(sim.up.state(), UploadState::Paused);
    assert!(sim.puts.len() <= puts + 4);
    sim.up.resume(sim.now);
    sim.run();
    sim.assert_completed();
}

#[test]
fn a_recording_cut_short_is_finished_from_what_was_sent() {
    // A recording sent its first parts, then the tab closed with part 4 sent (not as the
    // last part: more was coming) and nothing after it sealed.
    let (src, plan) = Source::growing(20_000, 128, 1_000);
    let part_len = plan.part_plaintext() as usize;
    let mut sim = Sim::growing(src, plan, config(), Faults::default(), 4, 200, 100);
    assert!(sim.run_until(|s| s.done.len() >= 4));
    let done: BTreeMap<u32, String> = sim
        .done
        .range(1..=4)
        .map(|(n, e)| (*n, e.clone()))
        .collect();
    assert_eq!(done.len(), 4);
    // At the next visit: the stream ends after part 4, whose spooled bytes end in the tail
    // (the same plaintext sealed as the last chunk).
    let cut = 4 * part_len;
    let finished = plan.finish(cut as u64).unwrap();
    assert_eq!(finished.part_count(), 4);
    let short = Source::from_plaintext(sim.src.plaintext[..cut].to_vec(), finished);
    let mut resumed = Sim::new(short, config(), Faults::default(), 5);
    resumed.store.parts = sim.store.parts.clone();
    resumed.up = Upload::growing(plan, config(), 5, done.clone()).unwrap();
    resumed.grown = Some((cut as u64, true));
    resumed.up.handle_available(resumed.now, cut as u64, true);
    resumed.run();
    resumed.assert_completed();
    // Parts 1–3 were kept; part 4 went again, now ending the stream.
    assert_eq!(resumed.puts.keys().copied().collect::<Vec<_>>(), vec![4]);
}

#[test]
fn a_growing_stream_that_shrinks_or_outgrows_its_parts_fails() {
    let (_, plan) = Source::growing(5_000, 128, 800);
    let mut up = Upload::growing(plan, config(), 1, []).unwrap();
    up.handle_available(1, 3_000, false);
    up.handle_available(2, 2_000, false);
    assert_eq!(up.state(), UploadState::Failed);

    let mut up = Upload::growing(plan, config(), 1, [(9, "e".to_string())]).unwrap();
    up.handle_available(1, 1_000, true);
    assert!(
        std::iter::from_fn(|| up.poll_event())
            .any(|e| e == Event::Failed(Error::UnexpectedPart(9)))
    );

    let mut up = Upload::growing(plan, config(), 1, []).unwrap();
    up.handle_available(1, plan.max_plaintext() + 1, false);
    assert_eq!(up.state(), UploadState::Failed);

    let fixed = PartPlan::new(100, 64, 0).unwrap();
    let mut up = Upload::new(fixed, config(), 1, []).unwrap();
    up.handle_available(1, 100, true);
    assert_eq!(up.state(), UploadState::Failed);
    assert!(Upload::growing(plan, config(), 1, [(0, "e".to_string())]).is_err());
}
