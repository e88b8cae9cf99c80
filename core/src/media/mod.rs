//! Encrypted media packages: what transcode workers write and players read.
//!
//! A *package* is one transcode output of an asset (the full rendition ladder, or the quick
//! preview): init and media segments per track, a poster, and a manifest, each stored as one
//! sealed object under the asset's content key. Every object's associated data names the asset,
//! the package, the track, the object kind and its index, so no object can be moved to another
//! place, package or asset without failing authentication. The manifest is sealed the same way,
//! so a player that holds the content key also authenticates the manifest. Captions (WebVTT)
//! belong to the asset rather than to one package, and are sealed at their own place. `docs/format.md`
//! specifies the bytes.

mod captions;
mod key_release;
mod manifest;
mod segment;

pub use captions::{
    CaptionSummary, MAX_CAPTION_BYTES, MAX_CAPTIONS_PER_ASSET, MAX_LABEL_CHARS, check_label,
    check_language, check_webvtt, choose_caption,
};
pub use key_release::{
    KEY_RELEASE_INFO, KEY_RELEASE_LEN, Released, SOURCE_RELEASE_INFO, open_content_key, open_key,
    seal_content_key, seal_key,
};
pub use manifest::{
    MANIFEST_VERSION, Manifest, MediaFile, ObjectNonce, PackageKind, Poster, Segment, Track,
    TrackKind,
};
pub use segment::{
    ContentKey, ObjectKind, ObjectRef, SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SEGMENT_OVERHEAD,
    check_object_header, open_object, open_pinned_object, seal_object,
};
