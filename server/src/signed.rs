//! Tokens the server signs for itself: `prefix.field….tag`, the tag an HMAC-SHA256 under the
//! server's token secret over a domain string and the rest, so a token of one kind never
//! verifies as another. Fields hold no `.`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(secret: &[u8], domain: &[u8]) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    m.update(domain);
    m
}

/// Signs `fields` as a `prefix` token.
pub(crate) fn sign(secret: &[u8], domain: &[u8], prefix: &str, fields: &[&str]) -> String {
    debug_assert!(fields.iter().all(|f| !f.contains('.')));
    let body = std::iter::once(prefix)
        .chain(fields.iter().copied())
        .collect::<Vec<_>>()
        .join(".");
    let mut m = mac(secret, domain);
    m.update(body.as_bytes());
    let tag = hex::encode(m.finalize().into_bytes());
    format!("{body}.{tag}")
}

/// The `n` fields of a `prefix` token whose tag verifies; `None` for anything else.
pub(crate) fn open<'a>(
    secret: &[u8],
    domain: &[u8],
    prefix: &str,
    token: &'a str,
    n: usize,
) -> Option<Vec<&'a str>> {
    let (body, tag) = token.rsplit_once('.')?;
    let tag = hex::decode(tag).ok()?;
    let mut m = mac(secret, domain);
    m.update(body.as_bytes());
    m.verify_slice(&tag).ok()?;
    let mut parts = body.split('.');
    if parts.next()? != prefix {
        return None;
    }
    let fields: Vec<&str> = parts.collect();
    (fields.len() == n).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_as_themselves() {
        let t = sign(b"k", b"kind a\0", "ta1", &["x", "42"]);
        assert_eq!(open(b"k", b"kind a\0", "ta1", &t, 2), Some(vec!["x", "42"]));
        assert_eq!(open(b"k", b"kind b\0", "ta1", &t, 2), None);
        assert_eq!(open(b"other", b"kind a\0", "ta1", &t, 2), None);
        assert_eq!(open(b"k", b"kind a\0", "ta1", &t, 3), None);
        assert_eq!(
            open(b"k", b"kind a\0", "ta1", &t.replace('x', "y"), 2),
            None
        );
        assert_eq!(open(b"k", b"kind a\0", "ta1", "garbage", 2), None);
    }
}
