//! Why a playback session was refused: the one outcome type of every policy check.
//!
//! A [`Deny`] is a normal answer, not a failure of the code, so it lives apart from the crate's
//! [`Error`](crate::Error). Its [`reason`](Deny::reason) is part of the API: players, dashboards
//! and customers' logs match on it, so a reason string never changes once shipped.

/// A refusal, with a stable machine-readable [`reason`](Deny::reason).
///
/// The messages are safe to show a viewer: none names the secret, the allow-lists or the
/// password, only which rule the request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Deny {
    /// The asset is private and the request carries no viewer token.
    #[error("this video needs a viewer token")]
    TokenRequired,
    /// The token is not a `clv1` token (bad shape, bad base64, too long), or its signature
    /// holds but its claims are not valid JSON claims of this version.
    #[error("the viewer token is malformed")]
    TokenMalformed,
    /// The token's signature matches none of the keys.
    #[error("the viewer token's signature is not valid")]
    TokenInvalid,
    /// The token's `exp` has passed, beyond the allowed clock skew.
    #[error("the viewer token has expired")]
    TokenExpired,
    /// The token's `iat` is in the future, beyond the allowed clock skew.
    #[error("the viewer token is not valid yet")]
    TokenNotYetValid,
    /// The token names another asset.
    #[error("the viewer token is for another video")]
    TokenWrongAsset,
    /// An origin allow-list is set and the request carries neither `Origin` nor `Referer`.
    #[error("the page embedding this video could not be identified")]
    OriginMissing,
    /// The request's origin is not on the allow-list (or is `null`, or unparseable).
    #[error("this video may not be played on this site")]
    OriginNotAllowed,
    /// The client's address is not on the allow-list.
    #[error("this video may not be played from this network")]
    IpNotAllowed,
    /// The client's country is not on the allow-list.
    #[error("this video is not available in this country")]
    GeoNotAllowed,
    /// A country allow-list is set but the client's country is not known.
    #[error("this video is restricted by country and the viewer's country is unknown")]
    GeoUnknown,
    /// The asset is password-protected and no password was given.
    #[error("this video needs a password")]
    PasswordRequired,
    /// The password given is wrong.
    #[error("wrong password")]
    PasswordWrong,
    /// Too many password attempts; try again after the given delay.
    #[error("too many attempts; retry in {retry_after_ms} ms")]
    RateLimited {
        /// Milliseconds until the next attempt is allowed.
        retry_after_ms: u64,
    },
    /// A download was asked for and the policy or the token does not allow it.
    #[error("downloading this video is not allowed")]
    DownloadNotAllowed,
}

impl Deny {
    /// A stable, machine-readable name for the refusal (for JSON bodies, logs and metrics).
    pub fn reason(&self) -> &'static str {
        match self {
            Deny::TokenRequired => "token_required",
            Deny::TokenMalformed => "token_malformed",
            Deny::TokenInvalid => "token_invalid",
            Deny::TokenExpired => "token_expired",
            Deny::TokenNotYetValid => "token_not_yet_valid",
            Deny::TokenWrongAsset => "token_wrong_asset",
            Deny::OriginMissing => "origin_missing",
            Deny::OriginNotAllowed => "origin_not_allowed",
            Deny::IpNotAllowed => "ip_not_allowed",
            Deny::GeoNotAllowed => "geo_not_allowed",
            Deny::GeoUnknown => "geo_unknown",
            Deny::PasswordRequired => "password_required",
            Deny::PasswordWrong => "password_wrong",
            Deny::RateLimited { .. } => "rate_limited",
            Deny::DownloadNotAllowed => "download_not_allowed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Deny;

    const ALL: [Deny; 15] = [
        Deny::TokenRequired,
        Deny::TokenMalformed,
        Deny::TokenInvalid,
        Deny::TokenExpired,
        Deny::TokenNotYetValid,
        Deny::TokenWrongAsset,
        Deny::OriginMissing,
        Deny::OriginNotAllowed,
        Deny::IpNotAllowed,
        Deny::GeoNotAllowed,
        Deny::GeoUnknown,
        Deny::PasswordRequired,
        Deny::PasswordWrong,
        Deny::RateLimited { retry_after_ms: 1 },
        Deny::DownloadNotAllowed,
    ];

    #[test]
    fn reasons_are_distinct_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for d in &ALL {
            let r = d.reason();
            assert!(
                r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{r}"
            );
            assert!(seen.insert(r), "duplicate reason {r}");
            assert!(!d.to_string().is_empty());
        }
    }

    #[test]
    fn rate_limited_message_names_the_delay() {
        let d = Deny::RateLimited {
            retry_after_ms: 1500,
        };
        assert_eq!(d.to_string(), "too many attempts; retry in 1500 ms");
    }
}
