//! What the server says about an asset: its processing state, its transcode jobs and its
//! published packages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ApiErrorCode;

/// `GET /v1/assets/{id}` (and the `asset` of `GET /v1/uploads/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetView {
    pub asset_id: String,
    /// `uploading`, `uploaded`, `processing`, `ready`, `failed`, `cancelled`, `aborted` or
    /// `abandoned`.
    pub status: String,
    pub filename: Option<String>,
    /// Plaintext bytes.
    #[ts(type = "number")]
    pub size: i64,
    /// Unix ms.
    #[ts(type = "number")]
    pub created_at: i64,
    /// The owner's name for it (`PATCH /v1/assets/{id}`).
    #[serde(default)]
    pub title: Option<String>,
    /// The owner's identifier for it (unique per API key).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The owner's string pairs.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Whether the preview package is published.
    pub preview_ready: bool,
    /// A recording that ended before its source did (its tab closed mid-recording): it holds
    /// what was sealed until then.
    #[serde(default)]
    pub cut_short: bool,
    /// Assets created to go with this one (`linked_to`), in both directions: a screen
    /// recording and its camera.
    #[serde(default)]
    pub linked: Vec<String>,
    pub jobs: Vec<JobView>,
    pub packages: Vec<PackageView>,
}

/// A transcode job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobView {
    pub id: String,
    /// `preview` or `full`.
    pub kind: String,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// 0 to 100.
    #[ts(type = "number")]
    pub progress: i64,
    #[ts(type = "number")]
    pub attempts: i64,
    #[ts(type = "number")]
    pub max_attempts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<JobError>,
    /// Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub started_at: Option<i64>,
    /// Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub finished_at: Option<i64>,
}

/// Why a job's last attempt failed: a code, and a short message without paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobError {
    pub code: ApiErrorCode,
    pub message: String,
}

/// A published package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageView {
    pub package_id: String,
    /// `full` or `preview`.
    pub kind: String,
    #[ts(type = "number")]
    pub duration_ms: i64,
    /// Unix ms.
    #[ts(type = "number")]
    pub created_at: i64,
}

/// Where an asset's deletion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeletionStatus {
    /// Everything is gone.
    Deleted,
    /// Its keys are gone (nothing left is readable); the rest is being removed and the
    /// background sweep finishes it.
    Deleting,
}

/// The answer to `DELETE /v1/assets/{id}` (the same for a repeated one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletedAsset {
    pub asset_id: String,
    pub status: DeletionStatus,
}

/// Most metadata pairs on one asset.
pub const MAX_METADATA_PAIRS: usize = 32;
/// Longest metadata key, in bytes.
pub const MAX_METADATA_KEY: usize = 64;
/// Longest metadata value, title or external id, in bytes.
pub const MAX_METADATA_VALUE: usize = 512;

/// `PATCH /v1/assets/{id}`: the fields given change, the others stay. `null` clears a title or
/// an external id; `metadata` replaces the pairs (an empty object clears them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssetPatch {
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(optional, type = "string | null")]
    pub title: Option<Option<String>>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(optional, type = "string | null")]
    pub external_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A field that may be absent (`None`), null (`Some(None)`) or set.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().and_then(|i| i.as_ref()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

impl AssetPatch {
    /// Why the patch cannot be stored, if it cannot: a field over its limit or holding control
    /// characters.
    pub fn problem(&self) -> Option<String> {
        let bad = |s: &str, max: usize| s.len() > max || s.chars().any(char::is_control);
        for (name, v) in [("title", &self.title), ("external_id", &self.external_id)] {
            if let Some(Some(v)) = v
                && (v.is_empty() || bad(v, MAX_METADATA_VALUE))
            {
                return Some(format!(
                    "{name} must be 1 to {MAX_METADATA_VALUE} bytes without control characters"
                ));
            }
        }
        let metadata = self.metadata.as_ref()?;
        if metadata.len() > MAX_METADATA_PAIRS {
            return Some(format!("at most {MAX_METADATA_PAIRS} metadata pairs"));
        }
        metadata.iter().find_map(|(k, v)| {
            (k.is_empty() || bad(k, MAX_METADATA_KEY) || bad(v, MAX_METADATA_VALUE)).then(|| {
                format!(
                    "metadata keys are 1 to {MAX_METADATA_KEY} bytes and values at most \
                     {MAX_METADATA_VALUE}, without control characters"
                )
            })
        })
    }
}

/// One asset of `GET /v1/assets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetSummary {
    pub asset_id: String,
    pub status: String,
    pub title: Option<String>,
    pub external_id: Option<String>,
    pub filename: Option<String>,
    #[ts(type = "number")]
    pub size: i64,
    /// Unix ms.
    #[ts(type = "number")]
    pub created_at: i64,
    pub cut_short: bool,
}

/// `GET /v1/assets`: a page of the API key's assets, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetList {
    pub assets: Vec<AssetSummary>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// The query of `GET /v1/assets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AssetQuery {
    /// Only assets in this status.
    #[serde(default)]
    #[ts(optional)]
    pub status: Option<String>,
    /// Only assets created at or after (Unix ms).
    #[serde(default)]
    #[ts(optional, type = "number")]
    pub created_after: Option<i64>,
    /// Only assets created before (Unix ms).
    #[serde(default)]
    #[ts(optional, type = "number")]
    pub created_before: Option<i64>,
    /// Only the asset with this external id.
    #[serde(default)]
    #[ts(optional)]
    pub external_id: Option<String>,
    /// 1 to 100 (default 50).
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<u32>,
    #[serde(default)]
    #[ts(optional)]
    pub cursor: Option<String>,
}
