//! Playback sessions: a short HMAC token the player shows to ask for more segment URLs, bound
//! to the asset, the package, the asset's policy epoch and an expiry. It grants URLs for objects
//! listed in that package's manifest only (never the source), and only while the policy it
//! was granted under is unchanged: any policy change ends every open session of the asset (the
//! player then asks for a new one, which the new policy decides).

use cinelock_contract::ApiErrorCode;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "cls2";
const DOMAIN: &[u8] = b"cinelock playback session v2\0";

/// What a valid session names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub asset_id: String,
    pub package_id: String,
    /// The asset policy's epoch when the session was granted.
    pub policy_epoch: i64,
    pub expires_ms: i64,
}

fn mac(secret: &[u8], body: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    m.update(DOMAIN);
    m.update(body.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// Issues a session token.
pub fn issue(secret: &[u8], s: &Session) -> String {
    let body = format!(
        "{PREFIX}.{}.{}.{}.{}",
        s.asset_id, s.package_id, s.policy_epoch, s.expires_ms
    );
    let tag = hex::encode(mac(secret, &body));
    format!("{body}.{tag}")
}

/// Checks a session token: `Err(ApiErrorCode::SessionInvalid | ApiErrorCode::SessionExpired)`.
pub fn verify(secret: &[u8], token: &str, now_ms: i64) -> Result<Session, ApiErrorCode> {
    let (body, tag) = token.rsplit_once('.').ok_or(ApiErrorCode::SessionInvalid)?;
    let tag = hex::decode(tag).map_err(|_| ApiErrorCode::SessionInvalid)?;
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    m.update(DOMAIN);
    m.update(body.as_bytes());
    m.verify_slice(&tag)
        .map_err(|_| ApiErrorCode::SessionInvalid)?;
    let mut parts = body.split('.');
    let (Some(PREFIX), Some(asset_id), Some(package_id), Some(epoch), Some(exp), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(ApiErrorCode::SessionInvalid);
    };
    let policy_epoch: i64 = epoch.parse().map_err(|_| ApiErrorCode::SessionInvalid)?;
    let expires_ms: i64 = exp.parse().map_err(|_| ApiErrorCode::SessionInvalid)?;
    if now_ms >= expires_ms {
        return Err(ApiErrorCode::SessionExpired);
    }
    Ok(Session {
        asset_id: asset_id.to_owned(),
        package_id: package_id.to_owned(),
        policy_epoch,
        expires_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_and_expiring() {
        let s = Session {
            asset_id: "a1".into(),
            package_id: "p1".into(),
            policy_epoch: 3,
            expires_ms: 1000,
        };
        let t = issue(b"k", &s);
        assert_eq!(verify(b"k", &t, 999), Ok(s));
        assert_eq!(verify(b"k", &t, 1000), Err(ApiErrorCode::SessionExpired));
        assert_eq!(verify(b"other", &t, 0), Err(ApiErrorCode::SessionInvalid));
        assert_eq!(
            verify(b"k", &t.replace("a1", "a2"), 0),
            Err(ApiErrorCode::SessionInvalid)
        );
        assert_eq!(
            verify(b"k", "garbage", 0),
            Err(ApiErrorCode::SessionInvalid)
        );
    }
}
