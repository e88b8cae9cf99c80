//! Playback sessions, more URLs for a session, viewer tokens and viewer-token keys
//! (`docs/playback.md`).

use std::collections::BTreeMap;

use cinelock_core::media::TrackKind;
use cinelock_core::playback::{PlaybackConfig, StartOptions, TrackStart, start_tracks};
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
    /// The rendition the player starts at, as the page asked (`startRendition`); with
    /// `initial_bandwidth`, `measured_bandwidth` and `seek_budget`, what the answer's `first`
    /// is chosen by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "v720"))]
    pub start_rendition: Option<RenditionPick>,
    /// Bits per second the player assumes before it has measured anything (`initialBandwidth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub initial_bandwidth: Option<f64>,
    /// Bits per second an earlier player measured, that the page kept and hands this one
    /// (`measuredBandwidth`): the start is then chosen as a later player's is
    /// (`AbrConfig::measured_bandwidth_bps`). Ignored with `start_rendition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub measured_bandwidth: Option<f64>,
    /// The page's `seekBudget` in seconds (0: none; absent: the default, 1 s), which a start
    /// from `measured_bandwidth` is chosen within.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub seek_budget: Option<f64>,
}

impl PlayRequest {
    /// What the request says of the player's start, beside `start_rendition`: read by the
    /// rule the player reads its options by ([`cinelock_core::playback::AbrConfig::apply`]).
    pub fn start_options(&self) -> StartOptions {
        StartOptions {
            initial_bandwidth_bps: self.initial_bandwidth,
            measured_bandwidth_bps: self.measured_bandwidth,
            seek_budget_s: self.seek_budget,
        }
    }
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
    /// The paths a player started as the request says (`start_rendition`,
    /// `initial_bandwidth`, `measured_bandwidth`, `seek_budget`) fetches first, by the same
    /// rule: for a client that asks before it can run the rule itself (the npm package's
    /// JavaScript, while the wasm loads). Absent from older servers.
    #[serde(default)]
    pub first: Vec<String>,
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
    pub kind: TrackKind,
    /// Bits per second, as the manifest lists.
    #[ts(type = "number")]
    pub bandwidth: u64,
    /// Its init segment's path, then its first segment's: keys of the answer's `urls`.
    pub paths: Vec<String>,
    /// Bytes of its first segment (sealed): a player that starts from an earlier player's
    /// measurement picks the rendition whose first segment comes within its seek budget.
    /// Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub first_segment_bytes: Option<u64>,
}

impl StartTrack {
    /// The paths a player with `config` fetches first, started at `pick` (`None`: as `config`
    /// says): the init and first segments of the tracks
    /// [`start_tracks`](cinelock_core::playback::start_tracks) picks. `None` for a pick the
    /// package does not have (such a start fails), or where the pick cannot be told (a start
    /// from an earlier player's measurement, on an answer without the first segments' sizes).
    pub fn first_paths<'a>(
        tracks: &'a [StartTrack],
        config: &PlaybackConfig,
        pick: Option<&RenditionPick>,
    ) -> Option<Vec<&'a str>> {
        let mut config = config.clone();
        if let Some(pick) = pick {
            let ladder = tracks.iter().filter(|t| t.kind == TrackKind::Video);
            config.abr.start_rendition = Some(pick.rung(ladder.map(|t| t.id.as_str()))?);
        }
        let starts: Vec<_> = tracks
            .iter()
            .map(|t| TrackStart {
                kind: t.kind,
                bandwidth: t.bandwidth,
                first_segment_bytes: t.first_segment_bytes,
            })
            .collect();
        Some(
            start_tracks(&config, &starts)?
                .into_iter()
                .flat_map(|i| tracks[i].paths.iter().map(String::as_str))
                .collect(),
        )
    }

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
                first_segment_bytes: t.segments.first().map(|s| s.size),
            })
            .collect()
    }
}

/// A video rendition a player starts at (`startRendition`): its id, or its position in the
/// ladder (0 = lowest bandwidth). A number is a position, a string an id.
#[derive(Debug, Clone, PartialEq, Eq, TS)]
#[ts(type = "string | number")]
pub enum RenditionPick {
    Index(usize),
    Id(String),
}

impl std::fmt::Display for RenditionPick {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            RenditionPick::Index(i) => write!(f, "{i}"),
            RenditionPick::Id(id) => write!(f, "{id:?}"),
        }
    }
}

impl RenditionPick {
    /// The ladder rung it names among the video renditions `ids` (lowest first): a position as
    /// it is (the engine clamps it), an id where it is; `None` for an id not there.
    pub fn rung<'a>(&self, mut ids: impl Iterator<Item = &'a str>) -> Option<usize> {
        match self {
            RenditionPick::Index(i) => Some(*i),
            RenditionPick::Id(id) => ids.position(|t| t == id),
        }
    }
}

impl Serialize for RenditionPick {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RenditionPick::Index(i) => s.serialize_u64(*i as u64),
            RenditionPick::Id(id) => s.serialize_str(id),
        }
    }
}

/// A number is a position, a string an id. Written out rather than `#[serde(untagged)]`, which
/// tries `Index` first and so builds (in the browser: a JavaScript `Error` with its stack) and
/// drops an error for every id, on the first frame's path.
impl<'de> Deserialize<'de> for RenditionPick {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, Unexpected, Visitor};
        struct Ref;
        impl Visitor<'_> for Ref {
            type Value = RenditionPick;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a rendition id or its position in the ladder")
            }
            fn visit_u64<E: Error>(self, v: u64) -> Result<RenditionPick, E> {
                usize::try_from(v)
                    .map(RenditionPick::Index)
                    .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: Error>(self, v: i64) -> Result<RenditionPick, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: Error>(self, v: f64) -> Result<RenditionPick, E> {
                if v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
                    Ok(RenditionPick::Index(v as usize))
                } else {
                    Err(E::invalid_value(Unexpected::Float(v), &self))
                }
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<RenditionPick, E> {
                Ok(RenditionPick::Id(v.to_owned()))
            }
        }
        d.deserialize_any(Ref)
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

    #[test]
    fn a_rendition_pick_is_a_position_or_an_id() {
        let pick =
            |json: &str| serde_json::from_str::<RenditionPick>(json).map_err(|e| e.to_string());
        assert_eq!(pick("2"), Ok(RenditionPick::Index(2)));
        assert_eq!(pick("2.0"), Ok(RenditionPick::Index(2)));
        assert_eq!(pick(r#""v720""#), Ok(RenditionPick::Id("v720".into())));
        for bad in ["1.5", "-1", "true", "null"] {
            let e = pick(bad).unwrap_err();
            assert!(e.contains("rendition id or its position"), "{bad}: {e}");
        }
        for p in [RenditionPick::Index(3), RenditionPick::Id("v1".into())] {
            assert_eq!(pick(&serde_json::to_string(&p).unwrap()), Ok(p));
        }
    }

    #[test]
    fn the_first_paths_follow_the_pick_and_the_estimate() {
        let track = |id: &str, kind, bandwidth| StartTrack {
            id: id.into(),
            kind,
            bandwidth,
            paths: vec![format!("{id}/init.cnls"), format!("{id}/00000.cnls")],
            // Four-second segments.
            first_segment_bytes: Some(bandwidth / 2),
        };
        let tracks = [
            track("v240", TrackKind::Video, 400_000),
            track("v720", TrackKind::Video, 2_500_000),
            track("a128", TrackKind::Audio, 128_000),
        ];
        let config = PlaybackConfig::default();
        let first = |pick: Option<RenditionPick>, config: &PlaybackConfig| {
            StartTrack::first_paths(&tracks, config, pick.as_ref())
        };
        let v240 = [
            "v240/init.cnls",
            "v240/00000.cnls",
            "a128/init.cnls",
            "a128/00000.cnls",
        ];
        let v720 = [
            "v720/init.cnls",
            "v720/00000.cnls",
            "a128/init.cnls",
            "a128/00000.cnls",
        ];
        assert_eq!(first(None, &config), Some(v240.to_vec()));
        assert_eq!(
            first(Some(RenditionPick::Id("v720".into())), &config),
            Some(v720.to_vec())
        );
        assert_eq!(
            first(Some(RenditionPick::Index(7)), &config),
            Some(v720.to_vec())
        );
        assert_eq!(first(Some(RenditionPick::Id("v9".into())), &config), None);
        let mut fast = config.clone();
        fast.abr.initial_bandwidth_bps = 10e6;
        assert_eq!(first(None, &fast), Some(v720.to_vec()));
        // An earlier player's measurement: its first segment within the seek budget (1 s).
        let mut measured = config.clone();
        measured.abr.measured_bandwidth_bps = Some(10e6);
        assert_eq!(first(None, &measured), Some(v240.to_vec()));
        measured.abr.measured_bandwidth_bps = Some(20e6);
        assert_eq!(first(None, &measured), Some(v720.to_vec()));
        // A pick wins over it.
        assert_eq!(
            first(Some(RenditionPick::Index(0)), &measured),
            Some(v240.to_vec())
        );
        // An older server's answer: no sizes, no way to tell.
        let sizeless: Vec<StartTrack> = tracks
            .iter()
            .map(|t| StartTrack {
                first_segment_bytes: None,
                ..t.clone()
            })
            .collect();
        assert_eq!(StartTrack::first_paths(&sizeless, &measured, None), None);
        assert_eq!(
            StartTrack::first_paths(&sizeless, &config, None),
            Some(v240.to_vec())
        );
    }
}
