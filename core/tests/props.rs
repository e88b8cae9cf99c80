//! Property tests: round trips at every size around chunk boundaries, and every tamper case on
//! arbitrary streams. Native only (proptest); the vectors carry the same checks into wasm.

#![cfg(not(target_arch = "wasm32"))]

use cinelock_core::{
    HEADER_LEN, Layout, RecipientSecretKey, SEED_LEN, SealSeed, StreamOpener, StreamSealer, open,
    seal,
};
use proptest::prelude::*;

fn key() -> RecipientSecretKey {
    RecipientSecretKey::from_seed(&[7u8; 32])
}

/// The context every stream here is sealed for.
const CTX: &[u8] = b"asset-1";

fn seed(s: u8) -> SealSeed {
    SealSeed::from_bytes(&[s; SEED_LEN])
}

/// Lengths clustered on the interesting places: 0, 1, k·chunk−1, k·chunk, k·chunk+1.
fn len_near_boundary(chunk: u32) -> impl Strategy<Value = usize> {
    let c = chunk as usize;
    prop_oneof![
        Just(0usize),
        Just(1usize),
        (1usize..6, -1i64..=1)
            .prop_map(move |(k, d)| (k * c) as i64 + d)
            .prop_map(|l| l.max(0) as usize),
        0usize..6 * c,
    ]
}

fn plaintext(chunk: u32) -> impl Strategy<Value = Vec<u8>> {
    len_near_boundary(chunk).prop_flat_map(|len| proptest::collection::vec(any::<u8>(), len))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_whole((chunk, pt) in (64u32..300).prop_flat_map(|c| (Just(c), plaintext(c))), s in any::<u8>()) {
        let sk = key();
        let sealed = seal(sk.public_key(), chunk, &seed(s), CTX, &pt).unwrap();
        let layout = Layout::new(chunk).unwrap();
        prop_assert_eq!(sealed.len() as u64, layout.sealed_len(pt.len() as u64).unwrap());
        prop_assert_eq!(layout.plaintext_len(sealed.len() as u64).unwrap(), pt.len() as u64);
        prop_assert_eq!(open(&sk, CTX, &sealed).unwrap(), pt);
    }

    #[test]
    fn round_trip_in_arbitrary_pieces(
        (chunk, pt) in (64u32..200).prop_flat_map(|c| (Just(c), plaintext(c))),
        cuts in proptest::collection::vec(1usize..150, 1..20),
    ) {
        let sk = key();
        let mut sealer = StreamSealer::new(sk.public_key(), chunk, &seed(1), CTX).unwrap();
        let mut sealed = sealer.header().to_vec();
        let mut rest = &pt[..];
        for &c in cuts.iter().cycle().take(pt.len() + 1) {
            if rest.is_empty() { break; }
            let (a, b) = rest.split_at(c.min(rest.len()));
            sealer.push(a, &mut sealed).unwrap();
            rest = b;
        }
        sealer.finish(&mut sealed).unwrap();
        // Sealing in pieces gives the same bytes as sealing at once.
        prop_assert_eq!(&sealed, &seal(sk.public_key(), chunk, &seed(1), CTX, &pt).unwrap());
        let mut opener = StreamOpener::new(sk.clone(), CTX).unwrap();
        let mut out = Vec::new();
        for (i, piece) in sealed.chunks(cuts[0]).enumerate() {
            opener.push(piece, &mut out).unwrap();
            // Never more plaintext out than whole authenticated chunks.
            prop_assert!(out.len() <= (i + 1) * cuts[0]);
        }
        opener.finish(&mut out).unwrap();
        prop_assert_eq!(out, pt);
    }

    #[test]
    fn any_flipped_bit_is_rejected(
        pt in proptest::collection::vec(any::<u8>(), 0..400),
        at in any::<proptest::sample::Index>(),
        bit in 0u8..8,
    ) {
        let sk = key();
        let mut sealed = seal(sk.public_key(), 64, &seed(2), CTX, &pt).unwrap();
        let i = at.index(sealed.len());
        sealed[i] ^= 1 << bit;
        prop_assert!(open(&sk, CTX, &sealed).is_err());
    }

    #[test]
    fn any_truncation_or_extension_is_rejected(
        pt in proptest::collection::vec(any::<u8>(), 0..400),
        cut in any::<proptest::sample::Index>(),
        extra in proptest::collection::vec(any::<u8>(), 1..100),
    ) {
        let sk = key();
        let sealed = seal(sk.public_key(), 64, &seed(3), CTX, &pt).unwrap();
        let at = cut.index(sealed.len());
        prop_assert!(open(&sk, CTX, &sealed[..at]).is_err());
        prop_assert!(open(&sk, CTX, &[&sealed[..], &extra[..]].concat()).is_err());
    }

    #[test]
    fn reordered_dropped_or_duplicated_chunks_are_rejected(
        n in 2usize..6,
        tail in 1usize..=64,
        a in any::<proptest::sample::Index>(),
        b in any::<proptest::sample::Index>(),
        op in 0u8..3,
    ) {
        let sk = key();
        let pt: Vec<u8> = (0..(n - 1) * 64 + tail).map(|i| i as u8).collect();
        let sealed = seal(sk.public_key(), 64, &seed(4), CTX, &pt).unwrap();
        let mut chunks: Vec<&[u8]> = sealed[HEADER_LEN..].chunks(80).collect();
        prop_assert_eq!(chunks.len(), n);
        let (i, j) = (a.index(n), b.index(n));
        match op {
            0 if i != j => chunks.swap(i, j),
            0 => { chunks.remove(i); }
            1 => { chunks.remove(i); }
            _ => { let c = chunks[i]; chunks.insert(j, c); }
        }
        let tampered = [&sealed[..HEADER_LEN], &chunks.concat()[..]].concat();
        prop_assert!(open(&sk, CTX, &tampered).is_err());
    }

    #[test]
    fn header_from_another_stream_is_rejected(pt in proptest::collection::vec(any::<u8>(), 1..300)) {
        let sk = key();
        let one = seal(sk.public_key(), 64, &seed(5), CTX, &pt).unwrap();
        let two = seal(sk.public_key(), 64, &seed(6), CTX, &pt).unwrap();
        let swapped = [&two[..HEADER_LEN], &one[HEADER_LEN..]].concat();
        prop_assert!(open(&sk, CTX, &swapped).is_err());
    }

    #[test]
    fn plaintext_len_rejects_impossible_lengths(chunk in 64u32..300, len in 0u64..5000) {
        let layout = Layout::new(chunk).unwrap();
        match layout.plaintext_len(len) {
            Ok(p) => prop_assert_eq!(layout.sealed_len(p).unwrap(), len),
            Err(e) => prop_assert_eq!(e.code(), "decrypt"),
        }
    }
}

#[test]
fn chunk_size_bounds_are_enforced() {
    let sk = key();
    assert_eq!(
        seal(sk.public_key(), 63, &seed(1), CTX, b"x")
            .unwrap_err()
            .code(),
        "chunk_size"
    );
    assert_eq!(
        seal(sk.public_key(), 16 * 1024 * 1024 + 1, &seed(1), CTX, b"x")
            .unwrap_err()
            .code(),
        "chunk_size"
    );
    assert!(seal(sk.public_key(), 16 * 1024 * 1024, &seed(1), CTX, b"x").is_ok());
}

#[test]
fn low_order_recipient_keys_are_refused_not_panicked_on() {
    for bad in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        assert_eq!(
            cinelock_core::RecipientPublicKey::from_bytes(&bad)
                .unwrap_err()
                .code(),
            "invalid_key"
        );
    }
}

#[test]
fn opener_refuses_input_after_a_failure() {
    let sk = key();
    let mut sealed = seal(sk.public_key(), 64, &seed(9), CTX, &[1u8; 200]).unwrap();
    sealed[HEADER_LEN] ^= 1;
    let mut opener = StreamOpener::new(sk.clone(), CTX).unwrap();
    let mut out = Vec::new();
    assert!(opener.push(&sealed, &mut out).is_err());
    assert!(out.is_empty());
    assert!(opener.push(&[0u8; 10], &mut out).is_err());
}
