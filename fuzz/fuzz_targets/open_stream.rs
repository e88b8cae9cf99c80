//! Feeds arbitrary bytes to the header parser, the length arithmetic and the streaming opener.
//!
//! The input's first byte picks how the stream is cut into pieces; the rest is either used raw
//! (parser paths) or spliced after a valid header sealed to the fuzzer's key, so that the chunk
//! parser and AEAD paths are reached too. Nothing may panic, nothing unauthenticated may come out.

#![no_main]

use cinelock_core::{
    HEADER_LEN, Header, Layout, RecipientSecretKey, SEED_LEN, SealSeed, StreamOpener, open, seal,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The context the valid stream is sealed for (the vectors' context, so they open too).
const CONTEXT: &[u8] = b"0b5e7c1a-9d2f-4e8b-a6c3-1f4d8e2b7a90";

fn key() -> &'static (RecipientSecretKey, Vec<u8>) {
    static KEY: OnceLock<(RecipientSecretKey, Vec<u8>)> = OnceLock::new();
    KEY.get_or_init(|| {
        let sk = RecipientSecretKey::from_seed(&[42; 32]);
        let valid = seal(
            sk.public_key(),
            64,
            &SealSeed::from_bytes(&[9; SEED_LEN]),
            CONTEXT,
            &[5u8; 150],
        )
        .unwrap();
        (sk, valid)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (sk, valid) = key();
    let stream: Vec<u8> = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        // A valid header and a prefix of valid chunks, then fuzzer bytes.
        let keep = (usize::from(mode >> 1) * 7).min(valid.len());
        [&valid[..keep.max(HEADER_LEN)], rest].concat()
    };
    if let Ok(h) = Header::parse(&stream) {
        assert_eq!(Header::parse(&h.to_bytes()).unwrap(), h);
        let layout = h.layout();
        if let Ok(p) = layout.plaintext_len(stream.len() as u64) {
            assert_eq!(layout.sealed_len(p).unwrap(), stream.len() as u64);
        }
    }
    let whole = open(sk, CONTEXT, &stream);
    let piece = usize::from(mode % 13) + 1;
    let mut opener = StreamOpener::new(sk.clone(), CONTEXT).expect("a short context");
    let mut out = Vec::new();
    let mut ok = true;
    for p in stream.chunks(piece) {
        if opener.push(p, &mut out).is_err() {
            ok = false;
            break;
        }
    }
    let streamed = if ok {
        opener.finish(&mut out).map(|()| out)
    } else {
        Err(cinelock_core::Error::Decrypt)
    };
    // Both openers agree on acceptance; an accepted stream is the valid one's prefix semantics.
    assert_eq!(whole.is_ok(), streamed.is_ok());
    if let (Ok(a), Ok(b)) = (whole, streamed) {
        assert_eq!(a, b);
    }
});
