//! Forging what a correct implementation must refuse: an HPKE wrap (RFC 9180 `SealBase`, suite
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM) computed as if the X25519 result
//! were all zero, which is what a low-order encapsulated key gives. Every tag of such a wrap is
//! valid; only the all-zero check of the recipient (`docs/format.md` §6.3) refuses it. The
//! `hpke` crate rightly will not compute this, so the key schedule is written out here from the
//! RFC, for the vector generators only.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SUITE_KEM: &[u8] = b"KEM\x00\x20";
const SUITE_HPKE: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x02";

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn labeled_extract(suite: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> [u8; 32] {
    // An empty salt is HKDF's default: 32 zero bytes as the HMAC key.
    let salt = if salt.is_empty() {
        &[0u8; 32][..]
    } else {
        salt
    };
    hmac(salt, &[b"HPKE-v1", suite, label, ikm])
}

/// `LabeledExpand` for outputs of one hash block (`len` ≤ 32), all this needs.
fn labeled_expand(suite: &[u8], prk: &[u8], label: &[u8], info: &[u8], len: u16) -> Vec<u8> {
    assert!(len <= 32);
    let t1 = hmac(
        prk,
        &[&len.to_be_bytes(), b"HPKE-v1", suite, label, info, &[1]],
    );
    t1[..usize::from(len)].to_vec()
}

/// `enc ‖ ct` for `enc` = 32 zero bytes, sealing `plaintext` (32 bytes) to `pk_r` with `info`
/// and `aad`, under the shared secret that an all-zero X25519 result gives.
pub fn wrap_under_zero_secret(
    pk_r: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> [u8; 48] {
    let enc = [0u8; 32];
    let eae_prk = labeled_extract(SUITE_KEM, b"", b"eae_prk", &[0u8; 32]);
    let kem_context = [&enc[..], pk_r].concat();
    let shared = labeled_expand(SUITE_KEM, &eae_prk, b"shared_secret", &kem_context, 32);
    let psk_id_hash = labeled_extract(SUITE_HPKE, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(SUITE_HPKE, b"", b"info_hash", info);
    let ksc = [&[0u8][..], &psk_id_hash, &info_hash].concat();
    let secret = labeled_extract(SUITE_HPKE, &shared, b"secret", b"");
    let key = labeled_expand(SUITE_HPKE, &secret, b"key", &ksc, 32);
    let nonce: [u8; 12] = labeled_expand(SUITE_HPKE, &secret, b"base_nonce", &ksc, 12)
        .try_into()
        .expect("12");
    let ct = Aes256Gcm::new_from_slice(&key)
        .expect("32")
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("small");
    ct.try_into().expect("32 + 16")
}
