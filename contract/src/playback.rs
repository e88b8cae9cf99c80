//! Playback sessions, more URLs for a session, viewer tokens and viewer-token keys
//! (`docs/playback.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// `POST /v1/play/{id}`: a session for the player's one-time key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlayRequest {
    /// The player's ephemeral X25519 public key, 32 bytes in hex.
    pub public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub password: Option<String>,
    /// Whether the session is for a download of the original.
    #[serde(default, skip_serializing_if = "is_false")]
    #[ts(as = "Option<bool>", optional)]
    pub download: bool,
    /// `full` or `preview` (default: full when ready, else the preview).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub package: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A granted session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlayAnswer {
    pub asset_id: String,
    pub package_id: String,
    /// `full` or `preview`.
    pub kind: String,
    /// The content key released to the request's public key (80 bytes in hex).
    pub key: String,
    pub manifest_url: String,
    /// The sealed manifest's nonce (24 hex): the player opens only this manifest.
    pub manifest_nonce: String,
    /// The sealed manifest object itself (standard base64), so the player can start without
    /// fetching `manifest_url` first. Absent for packages published before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub manifest: Option<String>,
    /// Presigned GET URLs of the first objects, by path in the manifest.
    pub urls: BTreeMap<String, String>,
    /// Every track of the package with its first objects, in the manifest's order, so that a
    /// player can ask for those it starts with while it opens the key and the manifest
    /// (`cinelock_core::playback::start_tracks` picks them). Absent from older servers.
    #[serde(default)]
    pub start: Vec<StartTrack>,
    /// Asks for more URLs.
    pub session: String,
    /// Unix ms when these URLs expire, on the server's clock.
    #[ts(type = "number")]
    pub expires_at: i64,
    /// How long these URLs live from when they were signed: clients time URLs with this, so
    /// their own clock's error does not matter.
    #[ts(type = "number")]
    pub expires_in_ms: u64,
    /// The token's `viewer` claim, if a token was shown.
    pub viewer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub download: Option<DownloadGrant>,
    /// The asset's caption and subtitle tracks, oldest first.
    #[serde(default)]
    pub text_tracks: Vec<crate::captions::TextTrackGrant>,
    /// Where the session's views report (absent when the server's analytics are off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub beacon: Option<crate::analytics::BeaconGrant>,
}

/// A track as a player needs it to start before its manifest is opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartTrack {
    pub id: String,
    #[ts(type = "\"video\" | \"audio\"")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "video"))]
    pub kind: cinelock_core::media::TrackKind,
    /// Bits per second, as the manifest lists.
    #[ts(type = "number")]
    pub bandwidth: u64,
    /// Its init segment's path, then its first segment's: keys of the answer's `urls`.
    pub paths: Vec<String>,
}

impl StartTrack {
    /// Every track of `manifest`, in its order.
    pub fn list(manifest: &cinelock_core::media::Manifest) -> Vec<StartTrack> {
        manifest
            .tracks
            .iter()
            .map(|t| StartTrack {
                id: t.id.clone(),
                kind: t.kind,
                bandwidth: t.bandwidth,
                paths: std::iter::once(&t.init.path)
                    .chain(t.segments.first().map(|s| &s.path))
                    .cloned()
                    .collect(),
            })
            .collect()
    }
}

/// A download the policy allows: the sealed original and its data key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadGrant {
    pub url: String,
    /// The source's data key released to the request's public key (80 bytes in hex).
    pub key: String,
    pub filename: Option<String>,
    /// Plaintext bytes.
    #[ts(type = "number")]
    pub size: i64,
}

/// `POST /v1/play/{id}/urls`: more presigned URLs for a session's package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UrlsRequest {
    pub session: String,
    pub paths: Vec<String>,
}

/// The answer to a URL request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UrlsAnswer {
    pub urls: BTreeMap<String, String>,
    /// Unix ms, on the server's clock.
    #[ts(type = "number")]
    pub expires_at: i64,
    /// How long these URLs live from when they were signed.
    #[ts(type = "number")]
    pub expires_in_ms: u64,
}

/// `POST /v1/assets/{id}/viewer-tokens`: a token minted by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    /// Seconds (1 s to 30 days; default 3600).
    #[serde(default = "default_ttl")]
    #[ts(as = "Option<u64>", optional)]
    pub ttl: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub viewer: Option<String>,
    /// May download (needs `uploads:write`).
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub download: bool,
    /// May skip the password (needs `uploads:write`).
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub skip_password: bool,
}

fn default_ttl() -> u64 {
    3600
}

/// A minted token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MintedToken {
    pub token: String,
    /// Unix seconds.
    #[ts(type = "number")]
    pub expires_at: u64,
}

/// A customer's new viewer-token secret: shown only in this answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedViewerKey {
    /// The key id `clv2` tokens name.
    pub id: String,
    /// 32 bytes in hex: the HMAC-SHA256 key.
    pub secret: String,
}

/// A viewer-token key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewerKeyView {
    pub id: String,
    /// Unix ms.
    #[ts(type = "number")]
    pub created_at: i64,
    /// Unix ms.
    #[ts(type = "number | null")]
    pub revoked_at: Option<i64>,
}

/// `GET /v1/viewer-token-keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewerKeyList {
    pub keys: Vec<ViewerKeyView>,
}

/// The answer to `DELETE /v1/viewer-token-keys/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedViewerKey {
    pub id: String,
    pub revoked: bool,
}

/// The body of `PUT /v1/assets/{id}/policy`: the policy's fields
/// (`cinelock_core::policy::AssetPolicy`, all optional) plus an optional `password`, which
/// sets `password_required` (a body may not set that flag itself: a password-protected asset
/// without a password could never be played). An empty password clears it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyUpdate {
    pub policy: cinelock_core::policy::AssetPolicy,
    pub password: Option<String>,
}

/// The longest password a policy may carry, in bytes.
pub const MAX_POLICY_PASSWORD: usize = 1024;

impl<'de> Deserialize<'de> for PolicyUpdate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_json::Value;
        let mut body = serde_json::Map::<String, Value>::deserialize(d)?;
        let password = match body.remove("password") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.is_empty() => None,
            Some(Value::String(p)) if p.len() <= MAX_POLICY_PASSWORD => Some(p),
            Some(_) => {
                return Err(D::Error::custom(format!(
                    "password must be a string of at most {MAX_POLICY_PASSWORD} bytes"
                )));
            }
        };
        if body.contains_key("password_required") {
            return Err(D::Error::custom(
                "set a password instead of password_required",
            ));
        }
        // The flag is the server's to set: an unknown field's message lists `password` in its
        // place.
        let mut policy: cinelock_core::policy::AssetPolicy =
            serde_json::from_value(Value::Object(body)).map_err(|e| {
                D::Error::custom(e.to_string().replace("password_required", "password"))
            })?;
        policy.password_required = password.is_some();
        Ok(PolicyUpdate { policy, password })
    }
}

/// An asset's policy as the API shows it: the policy (`cinelock_core::policy::AssetPolicy`,
/// whose serde form is the wire form) and whether a password is set, never the password. The
/// SDK never reads it, so it has no TypeScript declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyView {
    #[serde(flatten)]
    pub policy: cinelock_core::policy::AssetPolicy,
    pub password_set: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: &str) -> Result<PolicyUpdate, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_password_sets_the_flag_and_an_empty_one_clears_it() {
        let u = update(r#"{"visibility":"public","password":"hunter2"}"#).unwrap();
        assert!(u.policy.password_required);
        assert_eq!(u.password.as_deref(), Some("hunter2"));
        let u = update(r#"{"visibility":"public","password":""}"#).unwrap();
        assert!(!u.policy.password_required && u.password.is_none());
        assert_eq!(update("{}").unwrap().policy, Default::default());
    }

    #[test]
    fn the_flag_alone_bad_passwords_and_unknown_fields_are_refused() {
        let e = update(r#"{"password_required":true}"#).unwrap_err();
        assert!(e.contains("set a password"), "{e}");
        assert!(update(r#"{"password":7}"#).is_err());
        let long = format!(
            r#"{{"password":"{}"}}"#,
            "x".repeat(MAX_POLICY_PASSWORD + 1)
        );
        assert!(update(&long).is_err());
        let e = update(r#"{"geo_block":["de"]}"#).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }
}
