//! Native seal/open throughput of the core, for comparison with the browser figures.
//! `cargo run --release -p cinelock-core --example bench_native [MiB]`

use std::time::Instant;

use cinelock_core::{RecipientSecretKey, SEED_LEN, SealSeed, StreamOpener, StreamSealer};

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let len = mib << 20;
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761) as u8)
        .collect();
    let sk = RecipientSecretKey::from_seed(&[3; 32]);
    println!("native,chunk_kib,seal_mb_s,open_mb_s");
    for chunk_kib in [64u32, 256, 1024, 4096] {
        let chunk = chunk_kib * 1024;
        let mut best = (0f64, 0f64);
        for round in 0..3u8 {
            let seed = SealSeed::from_bytes(&[round; SEED_LEN]);
            let t = Instant::now();
            let mut sealer = StreamSealer::new(sk.public_key(), chunk, &seed, b"bench").unwrap();
            let mut sealed = Vec::with_capacity(len + len / 1000 + 4096);
            sealed.extend_from_slice(sealer.header());
            // Feed in 8 MiB pieces as a reader would.
            for piece in data.chunks(8 << 20) {
                sealer.push(piece, &mut sealed).unwrap();
            }
            sealer.finish(&mut sealed).unwrap();
            let seal_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let mut opener = StreamOpener::new(sk.clone(), b"bench").unwrap();
            let mut out = Vec::with_capacity(len);
            for piece in sealed.chunks(8 << 20) {
                opener.push(piece, &mut out).unwrap();
            }
            opener.finish(&mut out).unwrap();
            let open_s = t.elapsed().as_secs_f64();
            assert!(out == data);
            let mbs = |s: f64| len as f64 / 1e6 / s;
            best = (best.0.max(mbs(seal_s)), best.1.max(mbs(open_s)));
        }
        println!("native,{chunk_kib},{:.0},{:.0}", best.0, best.1);
    }
}
