//! The upload API (`docs/uploads.md`): creating an upload, signing part URLs, listing what the
//! store holds, completing and aborting.

use std::collections::BTreeMap;

use cinelock_core::upload::{ChecksumAlgorithm, PartChecksum, Upload};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::assets::AssetView;

/// `POST /v1/uploads` (a customer's backend, with its API key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUpload {
    /// The file's size in bytes. Leave it out for a *growing* upload (a recording, whose
    /// length is known only at the end): every part but the last then has one fixed size, and
    /// the size comes with `complete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub size: Option<u64>,
    /// A growing upload's largest plaintext size in bytes (default and ceiling: the server's
    /// `CINELOCK_MAX_GROWING_BYTES`); part URLs past it are refused. Only without `size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub max_size: Option<u64>,
    /// Another asset of the same API key this one belongs with (a screen recording's camera
    /// track, say): each lists the other in `linked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub linked_to: Option<String>,
    /// Plaintext bytes per sealed chunk (default 256 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub chunk_size: Option<u32>,
    /// Target sealed bytes per part (default 8 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub part_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub content_type: Option<String>,
}

/// Where the sealed object is cut into parts (`cinelock_core::upload::PartPlan`, or
/// `GrowingPlan` for a growing upload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanView {
    /// A growing upload (created without a size): until it completes, `plaintext_len`,
    /// `part_count` and `sealed_len` are 0 and every part but the last has
    /// `chunks_per_part` chunks.
    #[serde(default)]
    pub growing: bool,
    #[ts(type = "number")]
    pub plaintext_len: u64,
    pub chunk_size: u32,
    #[ts(type = "number")]
    pub chunks_per_part: u64,
    pub part_count: u32,
    #[ts(type = "number")]
    pub sealed_len: u64,
}

impl From<&cinelock_core::upload::PartPlan> for PlanView {
    fn from(p: &cinelock_core::upload::PartPlan) -> Self {
        Self {
            growing: false,
            plaintext_len: p.plaintext_len(),
            chunk_size: p.chunk_size(),
            chunks_per_part: p.chunks_per_part(),
            part_count: p.part_count(),
            sealed_len: p.sealed_len(),
        }
    }
}

impl From<&cinelock_core::upload::GrowingPlan> for PlanView {
    fn from(p: &cinelock_core::upload::GrowingPlan) -> Self {
        Self {
            growing: true,
            plaintext_len: 0,
            chunk_size: p.chunk_size(),
            chunks_per_part: p.chunks_per_part(),
            part_count: 0,
            sealed_len: 0,
        }
    }
}

impl PlanView {
    /// A growing upload's plan, re-derived and checked by the core; `None` for a fixed plan.
    pub fn to_growing(
        &self,
    ) -> Option<Result<cinelock_core::upload::GrowingPlan, cinelock_core::Error>> {
        self.growing.then(|| {
            cinelock_core::upload::GrowingPlan::from_parts(self.chunk_size, self.chunks_per_part)
        })
    }

    /// The plan, re-derived and checked by the core.
    pub fn to_plan(&self) -> Result<cinelock_core::upload::PartPlan, cinelock_core::Error> {
        cinelock_core::upload::PartPlan::from_parts(
            self.plaintext_len,
            self.chunk_size,
            self.chunks_per_part,
        )
    }
}

/// The checksum an upload's parts carry, chosen when it is created
/// (`cinelock_core::upload::ChecksumAlgorithm`): each part's URL is signed for it and the store
/// verifies it. Uploads are created with `crc32c`; answers from servers before it name none,
/// and mean `sha256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PartChecksumView {
    Crc32c,
    Sha256,
}

impl PartChecksumView {
    /// What an answer that names no algorithm means: servers before CRC32C signed SHA-256.
    pub fn unnamed() -> Self {
        PartChecksumView::Sha256
    }
}

impl From<ChecksumAlgorithm> for PartChecksumView {
    fn from(a: ChecksumAlgorithm) -> Self {
        match a {
            ChecksumAlgorithm::Crc32c => PartChecksumView::Crc32c,
            ChecksumAlgorithm::Sha256 => PartChecksumView::Sha256,
        }
    }
}

impl From<PartChecksumView> for ChecksumAlgorithm {
    fn from(v: PartChecksumView) -> Self {
        match v {
            PartChecksumView::Crc32c => ChecksumAlgorithm::Crc32c,
            PartChecksumView::Sha256 => ChecksumAlgorithm::Sha256,
        }
    }
}

/// The transcode workers' public key, which the browser seals to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecipientView {
    /// 32 bytes in hex.
    pub public_key: String,
    /// 16 hex digits.
    pub key_id: String,
}

/// The answer to `POST /v1/uploads`: what the customer's backend hands the page for
/// `upload(file, { endpoint, upload })`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedUpload {
    pub upload_id: String,
    /// The asset the upload makes: also the context the file is sealed for.
    pub asset_id: String,
    /// The single-upload bearer token for the browser.
    pub token: String,
    /// Unix ms.
    #[ts(type = "number")]
    pub token_expires_at: i64,
    pub plan: PlanView,
    /// The checksum every part is sealed with and signed for.
    #[serde(default = "PartChecksumView::unnamed")]
    pub part_checksum: PartChecksumView,
    pub recipient: RecipientView,
}

/// `POST /v1/uploads/{id}/sign`: URLs for these sealed parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    pub parts: Vec<SignPart>,
}

/// One sealed part to sign a URL for, with its checksum in the upload's algorithm
/// (`part_checksum`): exactly one of `crc32c` and `sha256`. The URL's signature covers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignPart {
    pub number: u32,
    /// Base64 of the sealed part's CRC-32C, big-endian (4 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub crc32c: Option<String>,
    /// Base64 SHA-256 of the sealed part (32 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub sha256: Option<String>,
    #[ts(type = "number")]
    pub size: u64,
}

impl SignPart {
    /// The request for part `number` of `size` sealed bytes with `checksum`.
    pub fn new(number: u32, checksum: PartChecksum, size: u64) -> Self {
        let b64 = Some(checksum.to_base64());
        let (crc32c, sha256) = match checksum.algorithm() {
            ChecksumAlgorithm::Crc32c => (b64, None),
            ChecksumAlgorithm::Sha256 => (None, b64),
        };
        SignPart {
            number,
            crc32c,
            sha256,
            size,
        }
    }

    /// The part's checksum, which must be of `algorithm` (the upload's); the error says why
    /// not.
    pub fn checksum(&self, algorithm: ChecksumAlgorithm) -> Result<PartChecksum, String> {
        let (given, other) = match algorithm {
            ChecksumAlgorithm::Crc32c => (&self.crc32c, &self.sha256),
            ChecksumAlgorithm::Sha256 => (&self.sha256, &self.crc32c),
        };
        let name = algorithm.name();
        if other.is_some() {
            return Err(format!(
                "part {}: the upload's parts carry {name}, and only {name}",
                self.number
            ));
        }
        let given = given
            .as_ref()
            .ok_or_else(|| format!("part {}: {name} is missing", self.number))?;
        PartChecksum::from_base64(algorithm, given).ok_or_else(|| {
            format!(
                "part {}: {name} must be {} bytes in base64",
                self.number,
                algorithm.digest_len()
            )
        })
    }
}

impl SignRequest {
    /// The request for the URLs of `parts`, each with the checksum and length `upload` holds
    /// for it sealed ([`Upload::part_checksum`]); a part it no longer holds sealed is left out.
    pub fn for_parts(upload: &Upload, parts: &[u32]) -> Self {
        Self {
            parts: parts
                .iter()
                .filter_map(|&number| {
                    let (checksum, size) = upload.part_checksum(number)?;
                    Some(SignPart::new(number, checksum, size))
                })
                .collect(),
        }
    }
}

/// The answer to a sign request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedParts {
    pub parts: Vec<SignedPartUrl>,
}

impl SignedParts {
    /// What the upload engine takes, each part with the headers its URL was signed with (the
    /// PUT must carry them).
    pub fn into_engine(self) -> Vec<(cinelock_core::upload::SignedPart, Vec<(String, String)>)> {
        self.parts
            .into_iter()
            .map(|p| {
                let part = cinelock_core::upload::SignedPart {
                    number: p.number,
                    url: p.url,
                    lifetime_ms: p.expires_in_ms,
                };
                (part, p.headers.into_iter().collect())
            })
            .collect()
    }
}

/// A presigned part URL and the headers the PUT must carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedPartUrl {
    pub number: u32,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    /// Unix ms, on the server's clock.
    #[ts(type = "number")]
    pub expires_at: i64,
    /// How long the URL lives from when it was signed: clients time URLs with this, so their
    /// own clock's error does not matter.
    #[ts(type = "number")]
    pub expires_in_ms: u64,
}

/// An upload's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UploadStatus {
    Open,
    Completed,
    Aborted,
    Abandoned,
}

impl UploadStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadStatus::Open => "open",
            UploadStatus::Completed => "completed",
            UploadStatus::Aborted => "aborted",
            UploadStatus::Abandoned => "abandoned",
        }
    }

    /// The status of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            UploadStatus::Open,
            UploadStatus::Completed,
            UploadStatus::Aborted,
            UploadStatus::Abandoned,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A part the store holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListedPartView {
    pub number: u32,
    #[ts(type = "number")]
    pub size: u64,
    /// Some stores list no ETags.
    pub etag: Option<String>,
}

/// `GET /v1/uploads/{id}`: the upload, the parts the store holds, and its asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadView {
    pub upload_id: String,
    pub asset_id: String,
    pub status: UploadStatus,
    pub plan: PlanView,
    /// The checksum every part is sealed with and signed for.
    #[serde(default = "PartChecksumView::unnamed")]
    pub part_checksum: PartChecksumView,
    pub parts: Vec<ListedPartView>,
    pub asset: AssetView,
}

/// `POST /v1/uploads/{id}/complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub parts: Vec<CompletePart>,
    /// The plaintext size: required for a growing upload (checked against the parts the store
    /// holds), and if given for another, it must be the size it was created with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub size: Option<u64>,
    /// A growing upload that ended before its source did (a recording whose tab closed):
    /// the asset is marked `cut_short`, never passed off as complete.
    #[serde(default)]
    pub cut_short: bool,
}

impl CompleteRequest {
    /// The request for the engine's `Complete { parts }`.
    pub fn of(parts: &[(u32, String)], size: Option<u64>, cut_short: bool) -> Self {
        CompleteRequest {
            parts: parts
                .iter()
                .map(|(number, etag)| CompletePart {
                    number: *number,
                    etag: etag.clone(),
                })
                .collect(),
            size,
            cut_short,
        }
    }
}

/// A part and the ETag the store answered its PUT with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompletePart {
    pub number: u32,
    pub etag: String,
}

/// The answer to a completion (the same for a repeated one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompletedUpload {
    pub upload_id: String,
    pub asset_id: String,
    pub status: UploadStatus,
    #[ts(type = "number")]
    pub sealed_len: u64,
}

/// The answer to `DELETE /v1/uploads/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AbortedUpload {
    pub upload_id: String,
    pub status: UploadStatus,
}
