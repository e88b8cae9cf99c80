//! The TypeScript declarations of the contract, for the npm package
//! (`npm/src/generated/contract.ts`).
//!
//! `cargo test -p cinelock-contract` fails when the checked-in file is not what [`declarations`]
//! generates; `CINELOCK_BLESS=1 cargo test -p cinelock-contract` writes it.

use ts_rs::{Config, TS};

use crate::Health;
use crate::analytics::{
    AnalyticsQuery, AnalyticsReport, BeaconAccepted, BeaconGrant, BreakdownRow, Dimension,
    IngestStats, Interval, Metrics, RenditionTime, SeriesPoint, ViewEvent, ViewTimeline,
};
use crate::assets::{
    AssetList, AssetPatch, AssetQuery, AssetSummary, AssetView, DeletedAsset, DeletionStatus,
    JobError, JobView, PackageView,
};
use crate::captions::{AddCaption, CaptionKind, CaptionList, CaptionView, TextTrackGrant};
use crate::errors::{ApiErrorCode, ErrorBody, ErrorCode, ErrorDetail};
use crate::events::{
    ObjectKindName, PlayerRetryReason, PlayerRetrying, PlayerStats, Playing, RecorderEvent,
    RecorderProgress, RecorderStopReason, Rendition, RenditionChange, RenditionChangeReason, Stall,
    StallEnd, TextTrackInfo, TextTracks, UploadEvent, UploadProgress, UploadRetryReason,
    WorkerState,
};
use crate::playback::{
    CreatedViewerKey, DownloadGrant, MintRequest, MintedToken, PlayAnswer, PlayRequest,
    RenditionPick, RevokedViewerKey, StartTrack, UrlsAnswer, UrlsRequest, ViewerKeyList,
    ViewerKeyView,
};
use crate::uploads::{
    AbortedUpload, CompletePart, CompleteRequest, CompletedUpload, CreateUpload, CreatedUpload,
    ListedPartView, PartChecksumView, PlanView, RecipientView, SignPart, SignRequest,
    SignedPartUrl, SignedParts, UploadStatus, UploadView,
};

/// Where the file goes, relative to the workspace root.
pub const PATH: &str = "npm/src/generated/contract.ts";

fn decl<T: TS>(cfg: &Config, out: &mut String) {
    if let Some(docs) = T::docs() {
        out.push_str(docs.trim_end());
        out.push('\n');
    }
    out.push_str("export ");
    out.push_str(&T::decl(cfg));
    out.push_str("\n\n");
}

/// The whole file: every contract type, and the constants the package needs.
pub fn declarations() -> String {
    let cfg = Config::default().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust contract (contract/src) by `CINELOCK_BLESS=1 cargo test -p \
         cinelock-contract`.\n// Do not edit: change the Rust types, then regenerate.\n\n",
    );
    macro_rules! all {
        ($($t:ty),* $(,)?) => { $( decl::<$t>(&cfg, &mut out); )* };
    }
    all!(
        ApiErrorCode,
        ErrorCode,
        ErrorBody,
        ErrorDetail,
        Health,
        CreateUpload,
        PlanView,
        PartChecksumView,
        RecipientView,
        CreatedUpload,
        SignRequest,
        SignPart,
        SignedParts,
        SignedPartUrl,
        UploadStatus,
        ListedPartView,
        UploadView,
        CompleteRequest,
        CompletePart,
        CompletedUpload,
        AbortedUpload,
        AssetView,
        AssetPatch,
        AssetSummary,
        CaptionKind,
        AddCaption,
        CaptionView,
        CaptionList,
        TextTrackGrant,
        TextTrackInfo,
        TextTracks,
        AssetList,
        AssetQuery,
        DeletionStatus,
        DeletedAsset,
        JobView,
        JobError,
        PackageView,
        BeaconGrant,
        BeaconAccepted,
        Interval,
        Dimension,
        AnalyticsQuery,
        Metrics,
        SeriesPoint,
        BreakdownRow,
        RenditionTime,
        AnalyticsReport,
        IngestStats,
        ViewEvent,
        ViewTimeline,
        PlayRequest,
        PlayAnswer,
        RenditionPick,
        StartTrack,
        DownloadGrant,
        UrlsRequest,
        UrlsAnswer,
        MintRequest,
        MintedToken,
        CreatedViewerKey,
        ViewerKeyView,
        ViewerKeyList,
        RevokedViewerKey,
        UploadProgress,
        UploadRetryReason,
        UploadEvent,
        RecorderProgress,
        RecorderStopReason,
        RecorderEvent,
        Rendition,
        RenditionChangeReason,
        RenditionChange,
        Playing,
        Stall,
        StallEnd,
        ObjectKindName,
        PlayerRetryReason,
        PlayerRetrying,
        WorkerState,
        PlayerStats,
    );
    out.push_str(&format!(
        "/** Default plaintext chunk size, in bytes. */\nexport const DEFAULT_CHUNK_SIZE = {};\n",
        cinelock_core::DEFAULT_CHUNK_SIZE
    ));
    out
}
