//! Beacon credentials: what a playback session grants its player to report its views with.
//! A `clb1` token signed by the server ([`crate::signed`]), bound to the asset, its owner and a
//! random session nonce (the unit beacons are rate-limited by), valid for [`LIFETIME_MS`]: long
//! enough for a view that outlasts its session's URLs.

use rand::RngCore;

use crate::signed;

const PREFIX: &str = "clb1";
const DOMAIN: &[u8] = b"cinelock beacon credential v1\0";
/// How long a credential is taken.
pub const LIFETIME_MS: i64 = 12 * 3_600_000;

/// What a valid credential names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub asset_id: String,
    /// The asset's owner (its API key id).
    pub tenant: String,
    /// Random per session.
    pub nonce: String,
    pub expires_ms: i64,
}

/// A fresh credential for a session of `asset_id`, owned by `tenant`.
pub fn issue(secret: &[u8], asset_id: &str, tenant: &str, now_ms: i64) -> String {
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    signed::sign(
        secret,
        DOMAIN,
        PREFIX,
        &[
            asset_id,
            tenant,
            &hex::encode(nonce),
            &(now_ms + LIFETIME_MS).to_string(),
        ],
    )
}

/// The credential, if `token` is one and has not expired at `now_ms`.
pub fn verify(secret: &[u8], token: &str, now_ms: i64) -> Option<Credential> {
    let [asset_id, tenant, nonce, exp] =
        <[&str; 4]>::try_from(signed::open(secret, DOMAIN, PREFIX, token, 4)?).ok()?;
    let expires_ms: i64 = exp.parse().ok()?;
    (now_ms < expires_ms).then(|| Credential {
        asset_id: asset_id.to_owned(),
        tenant: tenant.to_owned(),
        nonce: nonce.to_owned(),
        expires_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_and_expiring() {
        let t = issue(b"k", "a1", "key1", 1_000);
        let c = verify(b"k", &t, 1_000).unwrap();
        assert_eq!((c.asset_id.as_str(), c.tenant.as_str()), ("a1", "key1"));
        assert_eq!(c.expires_ms, 1_000 + LIFETIME_MS);
        assert!(verify(b"k", &t, 1_000 + LIFETIME_MS).is_none());
        assert!(verify(b"other", &t, 1_000).is_none());
        assert!(verify(b"k", &t.replace("a1", "a2"), 1_000).is_none());
        // A playback session token is not a credential, however signed.
        let session = crate::playback::session::issue(
            b"k",
            &crate::playback::session::Session {
                asset_id: "a1".into(),
                package_id: "p".into(),
                policy_epoch: 0,
                expires_ms: i64::MAX,
            },
        );
        assert!(verify(b"k", &session, 0).is_none());
        assert_ne!(issue(b"k", "a1", "key1", 0), issue(b"k", "a1", "key1", 0));
    }
}
