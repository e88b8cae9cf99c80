//! Caption and subtitle tracks of an asset (`docs/playback.md`, "Captions"): what the owner
//! sends, what the API lists, and what a playback session hands the player.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a track is for: the `kind` of the browser's `<track>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CaptionKind {
    /// A translation of the dialogue.
    #[default]
    Subtitles,
    /// Dialogue and sounds, for viewers who cannot hear them.
    Captions,
}

/// `POST /v1/assets/{id}/captions` (API key, `uploads:write`): one WebVTT file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddCaption {
    /// BCP 47 language tag (`en`, `pt-BR`).
    pub language: String,
    /// What the player's menu shows (1 to 64 characters).
    pub label: String,
    /// `subtitles` (default) or `captions`.
    #[serde(default)]
    #[ts(optional, as = "Option<CaptionKind>")]
    pub kind: CaptionKind,
    /// The WebVTT file's text (at most 1 MiB).
    pub vtt: String,
}

/// A caption track as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaptionView {
    pub id: String,
    pub language: String,
    pub label: String,
    pub kind: CaptionKind,
    /// How many cues the file holds.
    pub cues: u32,
    /// Unix ms.
    #[ts(type = "number")]
    pub created_at: i64,
}

/// `GET /v1/assets/{id}/captions`: oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaptionList {
    pub captions: Vec<CaptionView>,
}

/// A caption track of a playback session: where its sealed WebVTT is, and the nonce the
/// player must find in it (an older object at the same place is refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextTrackGrant {
    pub id: String,
    pub language: String,
    pub label: String,
    pub kind: CaptionKind,
    /// Presigned GET URL of the sealed file; lives as long as the session's other URLs.
    pub url: String,
    /// Sealed bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// 24 hex digits.
    pub nonce: String,
}
