//! One sealed media object (segment, init segment, poster, manifest): AES-256-GCM under the
//! asset's content key with a random nonce, bound to its place by the associated data.
//!
//! Layout: `"CNLS"` ‖ version 0x01 ‖ suite 0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16).
//! Associated data: the 18 header bytes ‖ kind (u8) ‖ index (u32 BE) ‖ then asset id, package
//! id and track id, each as a length byte and its UTF-8 bytes.
//!
//! The nonce is random (passed in): the same content key seals every package of an asset, and
//! a retried transcode re-encodes the same positions with other bytes, so a nonce derived from
//! the position alone would repeat.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;
use crate::chunk::TAG_LEN;

/// First four bytes of every sealed media object.
pub const SEGMENT_MAGIC: [u8; 4] = *b"CNLS";
/// Bytes before the ciphertext: magic, version, suite, nonce.
pub const SEGMENT_HEADER_LEN: usize = 4 + 1 + 1 + 12;
/// Sealed size minus plaintext size.
pub const SEGMENT_OVERHEAD: usize = SEGMENT_HEADER_LEN + TAG_LEN;
const VERSION: u8 = 1;
const SUITE: u8 = 1;

/// An asset's 256-bit content key. Never printed; wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct ContentKey([u8; 32]);

impl ContentKey {
    /// Wraps 32 key bytes (random, from the caller).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key, for wrapping or handing to WebCrypto.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl core::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ContentKey(..)")
    }
}

/// What an object is; part of its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectKind {
    /// The package manifest (track id empty, index 0).
    Manifest,
    /// A track's initialization segment (index 0).
    Init,
    /// A track's media segment; the index is its position in the track.
    Media,
    /// The poster image (track id empty, index 0).
    Poster,
    /// A caption or subtitle track (WebVTT) of the asset, not of one package: package id
    /// empty, the caption's id as track id, index 0 (see [`ObjectRef::caption`]).
    Caption,
}

impl ObjectKind {
    fn byte(self) -> u8 {
        match self {
            ObjectKind::Manifest => 1,
            ObjectKind::Init => 2,
            ObjectKind::Media => 3,
            ObjectKind::Poster => 4,
            ObjectKind::Caption => 5,
        }
    }
}

/// Where an object belongs: the associated data binds all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRef<'a> {
    pub asset_id: &'a str,
    pub package_id: &'a str,
    pub track_id: &'a str,
    pub kind: ObjectKind,
    pub index: u32,
}

impl<'a> ObjectRef<'a> {
    /// The place of caption `caption_id` of `asset_id`: captions belong to the asset, so every
    /// package (preview or full) plays with them.
    pub fn caption(asset_id: &'a str, caption_id: &'a str) -> Self {
        Self {
            asset_id,
            package_id: "",
            track_id: caption_id,
            kind: ObjectKind::Caption,
            index: 0,
        }
    }

    /// The associated data for an object with this `header`. Ids longer than 255 bytes are
    /// refused (they could not be length-prefixed unambiguously).
    pub fn associated_data(&self, header: &[u8; SEGMENT_HEADER_LEN]) -> Result<Vec<u8>, Error> {
        let mut aad = Vec::with_capacity(
            SEGMENT_HEADER_LEN
                + 8
                + self.asset_id.len()
                + self.package_id.len()
                + self.track_id.len(),
        );
        aad.extend_from_slice(header);
        aad.push(self.kind.byte());
        aad.extend_from_slice(&self.index.to_be_bytes());
        for id in [self.asset_id, self.package_id, self.track_id] {
            let len =
                u8::try_from(id.len()).map_err(|_| Error::Malformed("id longer than 255 bytes"))?;
            aad.push(len);
            aad.extend_from_slice(id.as_bytes());
        }
        Ok(aad)
    }
}

fn header(nonce: &[u8; 12]) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..4].copy_from_slice(&SEGMENT_MAGIC);
    h[4] = VERSION;
    h[5] = SUITE;
    h[6..].copy_from_slice(nonce);
    h
}

/// Seals `plaintext` as the object `at`, with a fresh random `nonce` from the caller.
pub fn seal_object(
    key: &ContentKey,
    at: &ObjectRef<'_>,
    nonce: &[u8; 12],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let header = header(nonce);
    let aad = at.associated_data(&header)?;
    let ct = Aes256Gcm::new(key.as_bytes().into())
        .encrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| Error::TooLong)?;
    let mut out = Vec::with_capacity(SEGMENT_HEADER_LEN + ct.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The checks of an object's header that come before its tag (`docs/format.md` §14.3.4): its
/// length and magic ([`Error::Decrypt`]), its version and suite ([`Error::Unsupported`]) and,
/// when the reader knows which nonce the object must carry (the manifest lists each object's
/// nonce; the session names the manifest's), that nonce ([`Error::Decrypt`]). Returns the
/// header. Every engine (the core's AES-GCM, WebCrypto) runs exactly these checks.
pub fn check_object_header(
    sealed: &[u8],
    pinned: Option<&[u8; 12]>,
) -> Result<[u8; SEGMENT_HEADER_LEN], Error> {
    if sealed.len() < SEGMENT_OVERHEAD || sealed[..4] != SEGMENT_MAGIC {
        return Err(Error::Decrypt);
    }
    if sealed[4] != VERSION || sealed[5] != SUITE {
        return Err(Error::Unsupported {
            version: sealed[4],
            suite: sealed[5],
        });
    }
    let header: [u8; SEGMENT_HEADER_LEN] = sealed[..SEGMENT_HEADER_LEN].try_into().expect("18");
    // An older object sealed at the same place opens under the same key: only its nonce,
    // which the manifest pins, tells it apart.
    if pinned.is_some_and(|n| header[6..] != n[..]) {
        return Err(Error::Decrypt);
    }
    Ok(header)
}

/// Opens the object `at`. Anything wrong with the bytes, the key or the place is the one opaque
/// [`Error::Decrypt`], except a version or suite this build does not know
/// ([`Error::Unsupported`]) and an id of `at` longer than 255 bytes ([`Error::Malformed`]).
pub fn open_object(key: &ContentKey, at: &ObjectRef<'_>, sealed: &[u8]) -> Result<Vec<u8>, Error> {
    open_checked(key, at, check_object_header(sealed, None)?, sealed)
}

/// [`open_object`] for an object whose nonce the reader knows (from the manifest): an object
/// with another nonce (an older one sealed at the same place, say) is [`Error::Decrypt`].
pub fn open_pinned_object(
    key: &ContentKey,
    at: &ObjectRef<'_>,
    nonce: &[u8; 12],
    sealed: &[u8],
) -> Result<Vec<u8>, Error> {
    open_checked(key, at, check_object_header(sealed, Some(nonce))?, sealed)
}

fn open_checked(
    key: &ContentKey,
    at: &ObjectRef<'_>,
    header: [u8; SEGMENT_HEADER_LEN],
    sealed: &[u8],
) -> Result<Vec<u8>, Error> {
    let aad = at.associated_data(&header)?;
    Aes256Gcm::new(key.as_bytes().into())
        .decrypt(
            &Nonce::from(<[u8; 12]>::try_from(&header[6..]).expect("12")),
            Payload {
                msg: &sealed[SEGMENT_HEADER_LEN..],
                aad: &aad,
            },
        )
        .map_err(|_| Error::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(kind: ObjectKind, index: u32) -> ObjectRef<'static> {
        ObjectRef {
            asset_id: "a1",
            package_id: "p1",
            track_id: "v360",
            kind,
            index,
        }
    }

    #[test]
    fn round_trip_and_every_binding() {
        let key = ContentKey::from_bytes([7; 32]);
        let sealed = seal_object(&key, &at(ObjectKind::Media, 3), &[9; 12], b"moof mdat").unwrap();
        assert_eq!(sealed.len(), 9 + SEGMENT_OVERHEAD);
        assert_eq!(
            open_object(&key, &at(ObjectKind::Media, 3), &sealed).unwrap(),
            b"moof mdat"
        );
        let others = [
            at(ObjectKind::Media, 4),
            at(ObjectKind::Init, 3),
            ObjectRef {
                asset_id: "a2",
                ..at(ObjectKind::Media, 3)
            },
            ObjectRef {
                package_id: "p2",
                ..at(ObjectKind::Media, 3)
            },
            ObjectRef {
                track_id: "v240",
                ..at(ObjectKind::Media, 3)
            },
            // Length prefixes: moving a byte between ids changes the associated data.
            ObjectRef {
                asset_id: "a1p",
                package_id: "1",
                ..at(ObjectKind::Media, 3)
            },
        ];
        for other in others {
            assert_eq!(
                open_object(&key, &other, &sealed),
                Err(Error::Decrypt),
                "{other:?}"
            );
        }
        assert_eq!(
            open_object(
                &ContentKey::from_bytes([8; 32]),
                &at(ObjectKind::Media, 3),
                &sealed
            ),
            Err(Error::Decrypt)
        );
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x20;
            assert!(
                open_object(&key, &at(ObjectKind::Media, 3), &bad).is_err(),
                "byte {i}"
            );
        }
        assert_eq!(
            open_object(&key, &at(ObjectKind::Media, 3), &sealed[..20]),
            Err(Error::Decrypt)
        );
    }

    #[test]
    fn a_pinned_nonce_refuses_an_older_object_at_the_same_place() {
        let key = ContentKey::from_bytes([7; 32]);
        let place = at(ObjectKind::Media, 3);
        let current = seal_object(&key, &place, &[9; 12], b"new").unwrap();
        let older = seal_object(&key, &place, &[1; 12], b"old").unwrap();
        // Without the pin both open: the older object is authentic at this place.
        assert_eq!(open_object(&key, &place, &older).unwrap(), b"old");
        assert_eq!(
            open_pinned_object(&key, &place, &[9; 12], &current).unwrap(),
            b"new"
        );
        assert_eq!(
            open_pinned_object(&key, &place, &[9; 12], &older),
            Err(Error::Decrypt)
        );
    }
}
