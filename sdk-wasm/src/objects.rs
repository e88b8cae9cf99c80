//! Opening sealed media objects (`docs/format.md` §14.3) under an asset's content key, with the
//! same two engines as sealed streams: WebCrypto AES-GCM (fast, off the main thread) or the
//! core's [`open_object`] compiled to wasm. The header checks and the associated data come from
//! the core either way, so both engines accept and refuse exactly the same objects.

use cinelock_core::media::{
    ContentKey, ObjectKind, ObjectNonce, ObjectRef, SEGMENT_HEADER_LEN, SEGMENT_OVERHEAD,
    check_object_header, open_pinned_object,
};
use js_sys::{Array, Uint8Array};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, CryptoKey, SubtleCrypto};

use crate::SdkError;
use crate::engine::{EngineChoice, import_aes_gcm_key};

/// Opens the objects of one package.
pub(crate) struct ObjectCipher {
    asset_id: String,
    package_id: String,
    kind: Kind,
}

enum Kind {
    WebCrypto {
        subtle: SubtleCrypto,
        key: CryptoKey,
    },
    Wasm {
        key: ContentKey,
    },
}

impl ObjectCipher {
    /// A cipher for `package_id` of `asset_id` under `key`, on the engine `choice` resolves to.
    pub(crate) async fn new(
        choice: EngineChoice,
        key: &ContentKey,
        asset_id: &str,
        package_id: &str,
    ) -> Result<Self, SdkError> {
        let kind = match choice.subtle()? {
            Some(subtle) => {
                let usages = Array::of1(&"decrypt".into());
                let key = import_aes_gcm_key(&subtle, key.as_bytes(), &usages).await?;
                Kind::WebCrypto { subtle, key }
            }
            None => Kind::Wasm { key: key.clone() },
        };
        Ok(Self {
            asset_id: asset_id.to_owned(),
            package_id: package_id.to_owned(),
            kind,
        })
    }

    /// `"webcrypto"` or `"wasm"`.
    pub(crate) fn engine(&self) -> &'static str {
        match self.kind {
            Kind::WebCrypto { .. } => "webcrypto",
            Kind::Wasm { .. } => "wasm",
        }
    }

    /// Opens `sealed` as the object `(track_id, kind, index)` of this package, which must
    /// carry `nonce` (the manifest's). Any failure of the bytes is the core's opaque
    /// [`cinelock_core::Error::Decrypt`]; no plaintext is returned unless the tag checked.
    pub(crate) async fn open(
        &self,
        track_id: &str,
        kind: ObjectKind,
        index: u32,
        nonce: &ObjectNonce,
        sealed: &Uint8Array,
    ) -> Result<Uint8Array, SdkError> {
        let at = ObjectRef {
            asset_id: &self.asset_id,
            package_id: &self.package_id,
            track_id,
            kind,
            index,
        };
        self.open_at(&at, nonce, sealed).await
    }

    /// Caption `caption_id` of this cipher's asset (captions belong to no package).
    pub(crate) async fn open_caption(
        &self,
        caption_id: &str,
        nonce: &ObjectNonce,
        sealed: &Uint8Array,
    ) -> Result<Uint8Array, SdkError> {
        let at = ObjectRef::caption(&self.asset_id, caption_id);
        self.open_at(&at, nonce, sealed).await
    }

    async fn open_at(
        &self,
        at: &ObjectRef<'_>,
        nonce: &ObjectNonce,
        sealed: &Uint8Array,
    ) -> Result<Uint8Array, SdkError> {
        match &self.kind {
            Kind::Wasm { key } => Ok(Uint8Array::from(
                &open_pinned_object(key, at, &nonce.0, &sealed.to_vec())?[..],
            )),
            Kind::WebCrypto { subtle, key } => {
                // The core's checks before the tag (length, magic, version and suite, the
                // pinned nonce, then the ids in the associated data), then the tag check on
                // WebCrypto with the core's associated data.
                // The first 34 bytes (or fewer: too short) stand for the whole object in these
                // checks, which look at its length (at least 34) and its header only.
                let len = sealed.length() as usize;
                let mut head = vec![0u8; len.min(SEGMENT_OVERHEAD)];
                sealed.subarray(0, head.len() as u32).copy_to(&mut head);
                let header = check_object_header(&head, Some(&nonce.0))?;
                let aad = Uint8Array::from(&at.associated_data(&header)?[..]);
                let iv = Uint8Array::from(&header[6..]);
                let params = AesGcmParams::new_with_u8_array("AES-GCM", &iv);
                params.set_additional_data_u8_array(&aad);
                let body = sealed.subarray(SEGMENT_HEADER_LEN as u32, len as u32);
                let promise = subtle
                    .decrypt_with_object_and_buffer_source(&params, key, &body)
                    .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
                // WebCrypto rejects a bad tag with OperationError: opaque, like the core.
                let plain = JsFuture::from(promise)
                    .await
                    .map_err(|_| SdkError::Core(cinelock_core::Error::Decrypt))?;
                Ok(Uint8Array::new(&plain))
            }
        }
    }
}

/// `"manifest"`, `"init"`, `"media"` or `"poster"`, as [`parse_kind`] reads them.
pub(crate) fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Manifest => "manifest",
        ObjectKind::Init => "init",
        ObjectKind::Media => "media",
        _ => "poster",
    }
}

/// The object kind named `"manifest"`, `"init"`, `"media"` or `"poster"`.
pub(crate) fn parse_kind(kind: &str) -> Result<ObjectKind, SdkError> {
    Ok(match kind {
        "manifest" => ObjectKind::Manifest,
        "init" => ObjectKind::Init,
        "media" => ObjectKind::Media,
        "poster" => ObjectKind::Poster,
        other => return Err(SdkError::InvalidArgument(format!("unknown kind {other:?}"))),
    })
}

/// Opens one sealed media object, which must carry `nonce`, on the chosen engine (`"auto"`,
/// `"webcrypto"`, `"wasm"`): for tests of both engines against the known-answer vectors, and
/// for pages that open objects themselves. `kind` is `"manifest"`, `"init"`, `"media"` or `"poster"`.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub async fn open_media_object(
    engine: &str,
    content_key: &[u8],
    asset_id: &str,
    package_id: &str,
    track_id: &str,
    kind: &str,
    index: u32,
    nonce: &[u8; 12],
    sealed: &Uint8Array,
) -> Result<Uint8Array, SdkError> {
    let key: [u8; 32] = content_key
        .try_into()
        .map_err(|_| SdkError::InvalidArgument("content key must be 32 bytes".into()))?;
    let kind = parse_kind(kind)?;
    let cipher = ObjectCipher::new(
        EngineChoice::parse(Some(engine.to_owned()))?,
        &ContentKey::from_bytes(key),
        asset_id,
        package_id,
    )
    .await?;
    cipher
        .open(track_id, kind, index, &ObjectNonce(*nonce), sealed)
        .await
}
