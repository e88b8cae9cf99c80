//! The CLI seals parts with the core's `seal_part`, in parallel; the parts of every positive
//! vector of docs/format.md's test vectors, sealed that way, are the vector's bytes exactly. The
//! browser's two engines are held to the same vectors (sdk-wasm/tests/engines.rs), so a file
//! sealed by the CLI and by the browser with the same seed is the same file.

use cinelock_core::upload::{ChecksumAlgorithm, PartLimits, PartPlan, seal_part};
use cinelock_core::{ChunkCipher, RecipientPublicKey, SEED_LEN, SealSeed};
use serde_json::Value;

const VECTORS: &str = include_str!("../../tests/vectors/stream-v2.json");

fn hexf(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap()).unwrap()
}

#[test]
fn parts_sealed_apart_and_in_parallel_are_the_vectors_bytes() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let pk = RecipientPublicKey::from_bytes(&hexf(&doc["recipient"], "public_key")).unwrap();
    let mut checked = 0;
    for v in doc["positive"].as_array().unwrap() {
        let seed: [u8; SEED_LEN] = hexf(v, "seed").try_into().unwrap();
        let pt = hexf(v, "plaintext");
        let cs = v["chunk_size"].as_u64().unwrap() as u32;
        let (header, key) = pk
            .seal_header(cs, &SealSeed::from_bytes(&seed), &hexf(v, "context"))
            .unwrap();
        let cipher = ChunkCipher::new(&header, &key);
        // Parts of one chunk each (the smallest the format allows), so multi-chunk vectors
        // cross part boundaries; sealed on threads, joined in part order.
        let limits = PartLimits {
            min_part_size: 1,
            max_part_size: 1 << 30,
            max_parts: 10_000,
        };
        let plan = PartPlan::with_limits(pt.len() as u64, cs, 1, limits).unwrap();
        let header = header.to_bytes();
        let parts: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (1..=plan.part_count())
                .map(|n| {
                    let spec = plan.part(n).unwrap();
                    let (cipher, header, pt) = (&cipher, &header, &pt);
                    s.spawn(move || {
                        let range = spec.plaintext.start as usize..spec.plaintext.end as usize;
                        seal_part(
                            cipher,
                            header,
                            cs,
                            &spec,
                            ChecksumAlgorithm::Crc32c,
                            &pt[range],
                        )
                        .unwrap()
                        .bytes
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(parts.concat(), hexf(v, "sealed"), "{}", v["name"]);
        checked += 1;
    }
    assert!(checked >= 3);
}
