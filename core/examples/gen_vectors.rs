//! Writes the known-answer vectors in `tests/vectors/stream-v2.json`.
//!
//! Everything is derived from fixed seeds, so rerunning reproduces the file byte for byte; the
//! tests check the committed file, never a regenerated one. Run:
//! `cargo run -p cinelock-core --example gen_vectors > tests/vectors/stream-v2.json`

#[path = "support/forge.rs"]
mod forge;

use cinelock_core::{
    ChunkCipher, DataKey, HEADER_LEN, Header, RecipientSecretKey, SEED_LEN, SealSeed, seal,
};
use serde_json::{Value, json};

/// The context every vector is sealed for unless it says otherwise (an asset id).
const CONTEXT: &[u8] = b"0b5e7c1a-9d2f-4e8b-a6c3-1f4d8e2b7a90";

fn bytes(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(u32::from(salt)) as u8)
        .collect()
}

fn seed(salt: u8) -> [u8; SEED_LEN] {
    bytes(SEED_LEN, salt).try_into().unwrap()
}

fn recipient(salt: u8) -> (RecipientSecretKey, Value) {
    let ikm: [u8; 32] = bytes(32, salt).try_into().unwrap();
    let sk = RecipientSecretKey::from_seed(&ikm);
    let v = json!({
        "ikm": hex::encode(ikm),
        "secret_key": hex::encode(sk.to_bytes()),
        "public_key": hex::encode(sk.public_key().to_bytes()),
        "key_id": sk.public_key().key_id().to_string(),
    });
    (sk, v)
}

fn main() {
    let (sk, recipient_json) = recipient(1);
    let (other, other_json) = recipient(2);
    let pk = sk.public_key();

    let long_context = bytes(255, 90);
    let cases: &[(&str, u32, usize, &[u8])] = &[
        ("empty", 64, 0, CONTEXT),
        ("one byte", 64, 1, CONTEXT),
        ("chunk minus one", 64, 63, CONTEXT),
        ("exactly one chunk", 64, 64, CONTEXT),
        ("chunk plus one", 64, 65, CONTEXT),
        ("exactly three chunks", 64, 192, CONTEXT),
        ("many chunks with a short tail", 100, 1234, CONTEXT),
        ("larger chunk size", 4096, 10000, CONTEXT),
        ("empty context", 64, 100, b""),
        ("255-byte context", 64, 100, &long_context),
    ];
    let mut positive = Vec::new();
    for (i, &(name, chunk_size, len, context)) in cases.iter().enumerate() {
        let s = seed(10 + i as u8);
        let pt = bytes(len, 100 + i as u8);
        let sealed = seal(pk, chunk_size, &SealSeed::from_bytes(&s), context, &pt).unwrap();
        positive.push(json!({
            "name": name, "chunk_size": chunk_size, "seed": hex::encode(s),
            "context": hex::encode(context),
            "plaintext": hex::encode(&pt), "sealed": hex::encode(&sealed),
        }));
    }

    // Negative vectors start from one 3-chunk stream (chunk size 64, 150 bytes: 64+64+22).
    let base_pt = bytes(150, 7);
    let base = seal(pk, 64, &SealSeed::from_bytes(&seed(40)), CONTEXT, &base_pt).unwrap();
    let c = 64 + 16;
    let (h, c0, c1, c2) = (
        &base[..HEADER_LEN],
        &base[HEADER_LEN..HEADER_LEN + c],
        &base[HEADER_LEN + c..HEADER_LEN + 2 * c],
        &base[HEADER_LEN + 2 * c..],
    );
    let cat = |parts: &[&[u8]]| parts.concat();
    let flip = |at: usize| {
        let mut b = base.clone();
        b[at] ^= 0x01;
        b
    };
    // A full-chunk stream (2 × 64) for the "empty final chunk after data" case.
    let full_pt = bytes(128, 9);
    let full = seal(pk, 64, &SealSeed::from_bytes(&seed(41)), CONTEXT, &full_pt).unwrap();
    let other_stream = seal(pk, 64, &SealSeed::from_bytes(&seed(42)), CONTEXT, &base_pt).unwrap();
    let for_other = seal(
        other.public_key(),
        64,
        &SealSeed::from_bytes(&seed(43)),
        CONTEXT,
        &base_pt,
    )
    .unwrap();

    let mut bad_version = base.clone();
    bad_version[4] = 3;
    let mut version_one = base.clone();
    version_one[4] = 1;
    let mut bad_magic = base.clone();
    bad_magic[0] = b'X';
    let mut reserved = base.clone();
    reserved[7] = 1;
    let mut chunk_size_field = base.clone();
    chunk_size_field[8..12].copy_from_slice(&128u32.to_be_bytes());
    let mut bad_suite = base.clone();
    bad_suite[5] = 2;
    let mut huge_chunks = base.clone();
    huge_chunks[8..12].copy_from_slice(&(16 * 1024 * 1024 + 1u32).to_be_bytes());
    let mut other_key_id = base.clone();
    other_key_id[12] ^= 0x80;
    // enc replaced by a low-order X25519 point (the all-zero encoding): decapsulation must fail.
    let mut low_order_enc = base.clone();
    low_order_enc[27..59].fill(0);
    let mut tiny_chunks = base.clone();
    tiny_chunks[8..12].copy_from_slice(&16u32.to_be_bytes());
    // The stream `full` with its two chunks, then an extra empty chunk sealed by someone who
    // knew the key: the format forbids an empty final chunk after data.
    let full_header = Header::parse(&full).unwrap();
    let full_key = sk.open_header(&full_header, CONTEXT).unwrap();
    let cipher = ChunkCipher::new(&full_header, &full_key);
    let mut relabelled = full[..HEADER_LEN + c].to_vec(); // header + chunk 0 (sealed non-last)
    let mut c1_again = full_pt[64..].to_vec();
    cipher.seal_chunk(1, false, &mut c1_again); // chunk 1 sealed as NOT last
    let mut empty_last = Vec::new();
    cipher.seal_chunk(2, true, &mut empty_last);
    relabelled.extend_from_slice(&c1_again);
    relabelled.extend_from_slice(&empty_last);

    // A stream forged with the all-zero (low-order) encapsulated key: its data key is wrapped
    // under the shared secret an all-zero X25519 result gives, so every tag is valid and only
    // the all-zero check of §6.3 refuses it.
    let forged_seed = SealSeed::from_bytes(&seed(44));
    let mut forged_header = Header::parse(&base).unwrap();
    forged_header.nonce_prefix = forged_seed.nonce_prefix;
    forged_header.enc = [0; 32];
    forged_header.sealed_key = forge::wrap_under_zero_secret(
        &pk.to_bytes(),
        &[cinelock_core::HPKE_INFO, &[CONTEXT.len() as u8], CONTEXT].concat(),
        &forged_header.to_bytes()[..27],
        &forged_seed.data_key,
    );
    let forged_cipher =
        ChunkCipher::new(&forged_header, &DataKey::from_bytes(forged_seed.data_key));
    let mut forged = forged_header.to_bytes().to_vec();
    for (i, chunk) in base_pt.chunks(64).enumerate() {
        let mut buf = chunk.to_vec();
        forged_cipher.seal_chunk(i as u32, i == 2, &mut buf);
        forged.extend_from_slice(&buf);
    }

    let other_context = b"c4a81f6e-3b2d-4f9a-8e71-6d0b5a2c9f34";
    let longer_context = [CONTEXT, b"0"].concat();
    let negative: Vec<(&str, Vec<u8>, &str, &[u8])> = vec![
        (
            "flipped bit in first chunk body",
            flip(HEADER_LEN + 3),
            "decrypt",
        ),
        (
            "flipped bit in last chunk tag",
            flip(base.len() - 1),
            "decrypt",
        ),
        ("flipped bit in the sealed data key", flip(70), "decrypt"),
        ("flipped bit in the encapsulated key", flip(30), "decrypt"),
        ("flipped bit in the nonce prefix", flip(22), "decrypt"),
        ("chunk size field changed", chunk_size_field, "decrypt"),
        ("chunk size below the minimum", tiny_chunks, "chunk_size"),
        ("chunks 0 and 1 swapped", cat(&[h, c1, c0, c2]), "decrypt"),
        ("middle chunk dropped", cat(&[h, c0, c2]), "decrypt"),
        (
            "last chunk dropped (truncated at a chunk boundary)",
            cat(&[h, c0, c1]),
            "decrypt",
        ),
        (
            "truncated inside the last chunk",
            base[..base.len() - 5].to_vec(),
            "decrypt",
        ),
        (
            "first chunk duplicated",
            cat(&[h, c0, c0, c1, c2]),
            "decrypt",
        ),
        (
            "last chunk duplicated",
            cat(&[h, c0, c1, c2, c2]),
            "decrypt",
        ),
        (
            "bytes appended after the last chunk",
            cat(&[&base, b"extra"]),
            "decrypt",
        ),
        (
            "header swapped from another stream",
            cat(&[&other_stream[..HEADER_LEN], c0, c1, c2]),
            "decrypt",
        ),
        (
            "chunk spliced from another stream",
            cat(&[h, &other_stream[HEADER_LEN..HEADER_LEN + c], c1, c2]),
            "decrypt",
        ),
        ("empty final chunk after data", relabelled, "decrypt"),
        ("header only", h.to_vec(), "decrypt"),
        ("truncated header", base[..50].to_vec(), "malformed"),
        ("bad magic", bad_magic, "malformed"),
        ("reserved bits set", reserved, "malformed"),
        ("unknown version", bad_version, "unsupported"),
        ("sealed for another recipient", for_other, "wrong_recipient"),
        ("unknown suite", bad_suite, "unsupported"),
        ("chunk size above the maximum", huge_chunks, "chunk_size"),
        ("key id changed", other_key_id, "wrong_recipient"),
        ("low-order encapsulated key", low_order_enc, "decrypt"),
        (
            "forged with a low-order encapsulated key",
            forged,
            "decrypt",
        ),
        ("version 1 stream", version_one, "unsupported"),
    ]
    .into_iter()
    .map(|(name, sealed, error)| (name, sealed, error, CONTEXT))
    .chain([
        (
            "opened for another context",
            base.clone(),
            "decrypt",
            &other_context[..],
        ),
        (
            "opened for a longer context",
            base.clone(),
            "decrypt",
            &longer_context[..],
        ),
        (
            "opened for the empty context",
            base.clone(),
            "decrypt",
            &b""[..],
        ),
    ])
    .collect();
    let negative: Vec<Value> = negative
        .into_iter()
        .map(|(name, sealed, error, context)| {
            json!({"name": name, "context": hex::encode(context), "sealed": hex::encode(sealed), "error": error})
        })
        .collect();

    let doc = json!({
        "format": "cinelock sealed stream v2 (docs/format.md)",
        "recipient": recipient_json,
        "other_recipient": other_json,
        "positive": positive,
        "negative": negative,
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap());
}
