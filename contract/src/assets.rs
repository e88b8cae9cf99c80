//! What the server says about an asset: its processing state, its transcode jobs and its
//! published packages.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ApiErrorCode;

/// `GET /v1/assets/{id}` (and the `asset` of `GET /v1/uploads/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
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
pub struct JobError {
    pub code: ApiErrorCode,
    pub message: String,
}

/// A published package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
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
pub struct DeletedAsset {
    pub asset_id: String,
    pub status: DeletionStatus,
}
