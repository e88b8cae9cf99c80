//! Playback sessions: a short HMAC token the player shows to ask for more segment URLs, bound
//! to the asset, the package, the asset's policy epoch and an expiry. It grants URLs for objects
//! listed in that package's manifest only (never the source), and only while the policy it
//! was granted under is unchanged: any policy change ends every open session of the asset (the
//! player then asks for a new one, which the new policy decides).

use cinelock_contract::ApiErrorCode;

use crate::signed;

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

/// Issues a session token.
pub fn issue(secret: &[u8], s: &Session) -> String {
    signed::sign(
        secret,
        DOMAIN,
        PREFIX,
        &[
            &s.asset_id,
            &s.package_id,
            &s.policy_epoch.to_string(),
            &s.expires_ms.to_string(),
        ],
    )
}

/// Checks a session token: `Err(ApiErrorCode::SessionInvalid | ApiErrorCode::SessionExpired)`.
pub fn verify(secret: &[u8], token: &str, now_ms: i64) -> Result<Session, ApiErrorCode> {
    let Some([asset_id, package_id, epoch, exp]) =
        signed::open(secret, DOMAIN, PREFIX, token, 4).and_then(|f| <[&str; 4]>::try_from(f).ok())
    else {
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
