//! `cinelock upload` against a plain presigned multipart upload of the same file to the same
//! Garage, through the same release server: same part size (8 MiB), same parts in flight, the
//! same HTTP stack (reqwest, file ranges read with pread). Also the sealer's MB/s on 1 and 2
//! threads. Run by `scripts/bench-cli` (release build); `CINELOCK_BENCH_MIB` (default 1024) and
//! `CINELOCK_BENCH_PARALLEL` (default 6) set the size and parts in flight.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use cinelock_core::upload::{PartPlan, seal_part};
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
async fn plain(stack: &support::Stack, file: &std::path::Path, parallel: usize, key: &str) -> f64 {
    let s3 = stack.s3();
    let len = std::fs::metadata(file).unwrap().len();
    let parts = len.div_ceil(PART) as i32;
    let started = Instant::now();
    let created = s3
        .create_multipart_upload()
        .bucket(support::BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    let upload_id = created.upload_id().unwrap().to_owned();
    let mut urls = Vec::new();
    for n in 1..=parts {
        let p = s3
            .upload_part()
            .bucket(support::BUCKET)
            .key(key)
            .upload_id(&upload_id)
            .part_number(n)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(3600)).unwrap())
            .await
            .unwrap();
        urls.push(p.uri().to_owned());
    }
    let http = cinelock_cli::api::http_client();
    let file = Arc::new(std::fs::File::open(file).unwrap());
    let etags: Vec<(i32, String)> = futures::stream::iter(urls.into_iter().enumerate())
        .map(|(i, url)| {
            let (http, file) = (http.clone(), file.clone());
            async move {
                let start = i as u64 * PART;
                let end = (start + PART).min(len);
                let body = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; (end - start) as usize];
                    std::os::unix::fs::FileExt::read_exact_at(&*file, &mut buf, start).unwrap();
                    buf
                })
                .await
                .unwrap();
                let res = http.put(url).body(body).send().await.unwrap();
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
        .map(|(n, e)| CompletedPart::builder().part_number(n).e_tag(e).build())
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

/// `cinelock upload FILE` as a user runs it. Seconds, and the process's CPU seconds.
fn cinelock(stack: &support::Stack, file: &std::path::Path, parallel: usize) -> (f64, f64) {
    let before = children_cpu();
    let started = Instant::now();
    stack
        .cinelock()
        .args(["upload", "-q", "--part-size", "8", "--parallel"])
        .arg(parallel.to_string())
        .arg(file)
        .output()
        .map(support::Run::of)
        .unwrap()
        .ok();
    (started.elapsed().as_secs_f64(), children_cpu() - before)
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

#[tokio::main]
async fn main() {
    let mib = env("CINELOCK_BENCH_MIB", 1024);
    let parallel = env("CINELOCK_BENCH_PARALLEL", 6) as usize;
    let stack = support::Stack::start(0).await;
    let file = stack.dir.path().join("source.bin");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let block = support::pattern(16 * MIB as usize, 1);
        for _ in 0..mib.div_ceil(16) {
            f.write_all(&block).unwrap();
        }
    }
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
    for round in 1..=2 {
        let (g0, s0) = (cpu_of(&garage), cpu_of(&server));
        let p = plain(&stack, &file, parallel, &format!("bench/plain-{round}")).await;
        let (g1, s1) = (cpu_of(&garage), cpu_of(&server));
        let (c, cpu) = cinelock(&stack, &file, parallel);
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
    }
    println!(
        "ratio (cinelock ÷ plain), best of {}: {:.2}",
        ratios.len(),
        ratios.iter().cloned().fold(0.0, f64::max)
    );
    let seal_mib = mib.min(512);
    for threads in [1, 2] {
        println!(
            "sealing {seal_mib} MiB in 8 MiB parts on {threads} thread(s): {:.0} MB/s",
            seal_rate(seal_mib, threads)
        );
    }
}
