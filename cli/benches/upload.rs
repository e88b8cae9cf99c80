//! `cinelock upload` against a plain presigned multipart upload of the same file to the same
//! Garage, through the same release server: same part size (8 MiB), same parts in flight, the
//! same HTTP stack (reqwest, file ranges read with pread). Also the sealer's MB/s on 1 and 2
//! threads. Run by `scripts/bench-cli` (release build); `CINELOCK_BENCH_MIB` (default 1024),
//! `CINELOCK_BENCH_PARALLEL` (default 6) and `CINELOCK_BENCH_ROUNDS` (default 3) set the size,
//! the parts in flight and the rounds. `CINELOCK_BENCH_CHECKSUMS=1` also times the plain
//! upload with each part checksum the store verifies (none, SHA-256, CRC32C).

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use cinelock_core::upload::{ChecksumAlgorithm, PartPlan, seal_part};
use cinelock_core::{ChunkCipher, RecipientSecretKey, SEED_LEN, SealSeed};
use futures::StreamExt;

const MIB: u64 = 1024 * 1024;
const PART: u64 = 8 * MIB;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A plain (unencrypted) presigned multipart upload: URLs presigned for every part, PUT
/// `parallel` at a time, completed. Seconds.
#[derive(Clone, Copy, Debug)]
enum Check {
    None,
    Sha256,
    Crc32c,
}

async fn plain(stack: &support::Stack, file: &std::path::Path, parallel: usize, key: &str) -> f64 {
    plain_with(stack, file, parallel, key, Check::None).await
}

async fn plain_with(
    stack: &support::Stack,
    file: &std::path::Path,
    parallel: usize,
    key: &str,
    check: Check,
) -> f64 {
    let s3 = stack.s3();
    let len = std::fs::metadata(file).unwrap().len();
    let parts = len.div_ceil(PART) as i32;
    let started = Instant::now();
    let algo = match check {
        Check::None => None,
        Check::Sha256 => Some(aws_sdk_s3::types::ChecksumAlgorithm::Sha256),
        Check::Crc32c => Some(aws_sdk_s3::types::ChecksumAlgorithm::Crc32C),
    };
    let created = s3
        .create_multipart_upload()
        .bucket(support::BUCKET)
        .key(key)
        .set_checksum_algorithm(algo)
        .send()
        .await
        .unwrap();
    let upload_id = created.upload_id().unwrap().to_owned();
    let http = cinelock_cli::api::http_client();
    let file = Arc::new(std::fs::File::open(file).unwrap());
    let checks = std::sync::Mutex::new(Vec::new());
    let etags: Vec<(i32, String)> = futures::stream::iter(0..parts as usize)
        .map(|i| {
            let (http, file, s3, upload_id) =
                (http.clone(), file.clone(), s3.clone(), upload_id.clone());
            let checks = &checks;
            async move {
                let start = i as u64 * PART;
                let end = (start + PART).min(len);
                let (body, sum) = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; (end - start) as usize];
                    std::os::unix::fs::FileExt::read_exact_at(&*file, &mut buf, start).unwrap();
                    use base64::Engine;
                    let b64 = base64::engine::general_purpose::STANDARD;
                    let sum = match check {
                        Check::None => None,
                        Check::Sha256 => Some(b64.encode(cinelock_core::sha256(&buf))),
                        Check::Crc32c => Some(b64.encode(crc32c::crc32c(&buf).to_be_bytes())),
                    };
                    (buf, sum)
                })
                .await
                .unwrap();
                let mut req = s3
                    .upload_part()
                    .bucket(support::BUCKET)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(i as i32 + 1);
                req = match (check, &sum) {
                    (Check::Sha256, Some(s)) => req.checksum_sha256(s),
                    (Check::Crc32c, Some(s)) => req.checksum_crc32_c(s),
                    _ => req,
                };
                let p = req
                    .presigned(PresigningConfig::expires_in(Duration::from_secs(3600)).unwrap())
                    .await
                    .unwrap();
                let mut put = http.put(p.uri()).body(body);
                for (k, v) in p.headers() {
                    put = put.header(k, v);
                }
                checks.lock().unwrap().push((i as i32 + 1, sum));
                let res = put.send().await.unwrap();
                assert!(res.status().is_success(), "{}", res.status());
                let etag = res.headers()["etag"].to_str().unwrap().to_owned();
                (i as i32 + 1, etag)
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let mut done: Vec<CompletedPart> = etags
        .into_iter()
        .map(|(n, e)| {
            let sum = checks
                .lock()
                .unwrap()
                .iter()
                .find(|c| c.0 == n)
                .and_then(|c| c.1.clone());
            let b = CompletedPart::builder().part_number(n).e_tag(e);
            match check {
                Check::Sha256 => b.set_checksum_sha256(sum),
                Check::Crc32c => b.set_checksum_crc32_c(sum),
                Check::None => b,
            }
            .build()
        })
        .collect();
    done.sort_by_key(|p| p.part_number());
    s3.complete_multipart_upload()
        .bucket(support::BUCKET)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap();
    started.elapsed().as_secs_f64()
}

/// `cinelock upload FILE` as a user runs it. Seconds, the process's CPU seconds, and when (s
/// after the start) its JSON lines said it started, finished its last part and completed.
fn cinelock(
    stack: &support::Stack,
    file: &std::path::Path,
    parallel: usize,
) -> (f64, f64, [f64; 3], String) {
    use std::io::BufRead;
    let before = children_cpu();
    let started = Instant::now();
    let mut child = stack
        .cinelock()
        .args(["upload", "--json", "--part-size", "8", "--parallel"])
        .arg(parallel.to_string())
        .arg(file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut marks = [0.0; 3];
    let mut asset = String::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let at = started.elapsed().as_secs_f64();
        if line.contains(r#""type":"started""#) {
            marks[0] = at;
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            asset = v["assetId"].as_str().unwrap().to_owned();
        } else if line.contains(r#""type":"partDone""#) {
            marks[1] = at;
        } else if line.contains(r#""type":"retrying""#) {
            eprintln!("{line}");
        } else if line.contains(r#""type":"completed""#) {
            marks[2] = at;
        }
    }
    assert!(child.wait().unwrap().success());
    (
        started.elapsed().as_secs_f64(),
        children_cpu() - before,
        marks,
        format!("assets/{asset}/source.cnlk"),
    )
}

/// CPU seconds (user + system) of the finished child processes.
fn children_cpu() -> f64 {
    let mut u = std::mem::MaybeUninit::<libc_rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe { getrusage(-1, u.as_mut_ptr()) };
    let u = unsafe { u.assume_init() };
    let tv = |t: [i64; 2]| t[0] as f64 + t[1] as f64 / 1e6;
    tv(u.utime) + tv(u.stime)
}

/// CPU seconds so far of the processes whose command line mentions `needle`, or whose pid it
/// is.
fn cpu_of(needle: &str) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let dir = entry.path();
        let Ok(cmd) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmd).contains(needle) && entry.file_name() != needle {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split(' ').collect();
        total += (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / tick;
    }
    total
}

/// `struct rusage`'s leading time fields (Linux, 64-bit); the rest is padding here.
#[repr(C)]
struct libc_rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    rest: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut libc_rusage) -> i32;
}

/// Seals `mib` MiB in 8 MiB parts on `threads` threads; MB/s.
fn seal_rate(mib: u64, threads: usize) -> f64 {
    let secret = RecipientSecretKey::from_seed(&[1; 32]);
    let plan = PartPlan::new(mib * MIB, 256 * 1024, PART).unwrap();
    let (header, key) = secret
        .public_key()
        .seal_header(
            plan.chunk_size(),
            &SealSeed::from_bytes(&[2; SEED_LEN]),
            b"bench",
        )
        .unwrap();
    let cipher = ChunkCipher::new(&header, &key);
    let header = header.to_bytes();
    let part_plain = vec![7u8; plan.part(1).unwrap().plaintext.end as usize];
    let next = std::sync::atomic::AtomicU32::new(1);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(spec) = plan.part(n) else { break };
                    let len = (spec.plaintext.end - spec.plaintext.start) as usize;
                    let sealed = seal_part(
                        &cipher,
                        &header,
                        plan.chunk_size(),
                        &spec,
                        ChecksumAlgorithm::default(),
                        &part_plain[..len],
                    )
                    .unwrap();
                    std::hint::black_box(sealed);
                }
            });
        }
    });
    (mib * MIB) as f64 / started.elapsed().as_secs_f64() / 1e6
}

/// Writes `mib` MiB of random bytes to `path`.
fn fresh_file(path: &std::path::Path, mib: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut block = vec![0u8; 16 * MIB as usize];
    for _ in 0..mib.div_ceil(16) {
        rand::fill(&mut block[..]);
        f.write_all(&block).unwrap();
    }
}

/// Flushes dirty pages, so each upload starts from the same state of the disk cache (the store
/// writes every block it is sent).
fn settle() {
    std::process::Command::new("sync").status().unwrap();
}

#[tokio::main]
async fn main() {
    let mib = env("CINELOCK_BENCH_MIB", 1024);
    let parallel = env("CINELOCK_BENCH_PARALLEL", 6) as usize;
    let stack = support::Stack::start(0).await;
    let file = stack.dir.path().join("source.bin");
    fresh_file(&file, mib);
    let size = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
    println!(
        "{} MiB, 8 MiB parts, {parallel} in flight, Garage and the release server on loopback",
        mib.div_ceil(16) * 16
    );
    println!(
        "| run | plain MB/s | cinelock MB/s | ratio | CPU s: store, server (plain) | CPU s: cinelock, store, server (cinelock) |"
    );
    println!("|---|---|---|---|---|---|");
    let garage = stack.garage.dir.path().display().to_string();
    let server = stack.server.0.id().to_string();
    let mut ratios = Vec::new();
    for round in 1..=env("CINELOCK_BENCH_ROUNDS", 3) {
        // New bytes every round: Garage deduplicates blocks by hash, so a file it stored before
        // would cost it no writes.
        if round > 1 {
            fresh_file(&file, mib);
        }
        settle();
        let (g0, s0) = (cpu_of(&garage), cpu_of(&server));
        let p = plain(&stack, &file, parallel, &format!("bench/plain-{round}")).await;
        settle();
        let (g1, s1) = (cpu_of(&garage), cpu_of(&server));
        let (c, cpu, marks, sealed) = cinelock(&stack, &file, parallel);
        // The store keeps only what one upload needs (it may be on tmpfs).
        for key in [format!("bench/plain-{round}"), sealed] {
            stack
                .s3()
                .delete_object()
                .bucket(support::BUCKET)
                .key(key)
                .send()
                .await
                .unwrap();
        }
        let (g2, s2) = (cpu_of(&garage), cpu_of(&server));
        let (pr, cr) = (size / p, size / c);
        ratios.push(cr / pr);
        println!(
            "| {round} | {pr:.0} | {cr:.0} | {:.2} | {:.1}, {:.1} | {cpu:.1}, {:.1}, {:.1} |",
            cr / pr,
            g1 - g0,
            s1 - s0,
            g2 - g1,
            s2 - s1
        );
        println!(
            "  (cinelock: started at {:.2} s, last part acknowledged at {:.2} s, completed at {:.2} s)",
            marks[0], marks[1], marks[2]
        );
    }
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "ratio (cinelock ÷ plain), median of {} rounds: {:.2}",
        sorted.len(),
        sorted[sorted.len() / 2]
    );
    if std::env::var_os("CINELOCK_BENCH_CHECKSUMS").is_some() {
        for check in [
            Check::None,
            Check::Sha256,
            Check::Crc32c,
            Check::None,
            Check::Sha256,
            Check::Crc32c,
        ] {
            fresh_file(&file, mib);
            settle();
            let g0 = cpu_of(&garage);
            let t = plain_with(
                &stack,
                &file,
                parallel,
                &format!("bench/plain-{check:?}"),
                check,
            )
            .await;
            println!(
                "plain with {check:?}: {:.0} MB/s, Garage {:.1} CPU s",
                size / t,
                cpu_of(&garage) - g0
            );
            let key = format!("bench/plain-{check:?}");
            stack
                .s3()
                .delete_object()
                .bucket(support::BUCKET)
                .key(key)
                .send()
                .await
                .unwrap();
        }
    }
    let seal_mib = mib.min(512);
    for threads in [1, 2] {
        println!(
            "sealing {seal_mib} MiB in 8 MiB parts on {threads} thread(s): {:.0} MB/s",
            seal_rate(seal_mib, threads)
        );
    }
}
