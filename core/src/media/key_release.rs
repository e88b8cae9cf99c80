//! Releasing an asset's content key to one player: HPKE (the same suite as sealed streams) to
//! an ephemeral X25519 key the player made for this session, so the key never crosses the wire
//! in the clear, not even inside a TLS-terminating proxy.
//!
//! Wire form: enc (32) ‖ AES-256-GCM(key) (32) ‖ tag (16); the associated data is the asset id,
//! so a released key cannot be presented as another asset's. Two kinds of key are released, each
//! under its own HPKE `info` (domain separation): an asset's content key ([`KEY_RELEASE_INFO`])
//! and, for downloads, the data key of its sealed source ([`SOURCE_RELEASE_INFO`]). A release of
//! one kind never opens as the other, whatever the asset ids.

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};

use crate::keys::Kem;
use crate::media::ContentKey;
use crate::rng::GivenBytes;
use crate::{Error, RecipientPublicKey, RecipientSecretKey};

/// HPKE `info` for a released content key.
pub const KEY_RELEASE_INFO: &[u8] = b"cinelock content key release v1";
/// HPKE `info` for a released source data key (downloads).
pub const SOURCE_RELEASE_INFO: &[u8] = b"cinelock source key release v1";
/// Length of a released key: enc, sealed key, tag.
pub const KEY_RELEASE_LEN: usize = 32 + 32 + 16;

/// Which key a release carries; each has its own HPKE `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Released {
    /// The asset's content key (every package object).
    ContentKey,
    /// The data key of the asset's sealed source (a download).
    SourceKey,
}

impl Released {
    fn info(self) -> &'static [u8] {
        match self {
            Released::ContentKey => KEY_RELEASE_INFO,
            Released::SourceKey => SOURCE_RELEASE_INFO,
        }
    }
}

/// Seals `key` of `asset_id` to a player's ephemeral public key; `ephemeral` is 32 random
/// bytes from the caller (HPKE's `ikmE`).
pub fn seal_content_key(
    player: &RecipientPublicKey,
    asset_id: &str,
    key: &ContentKey,
    ephemeral: &[u8; 32],
) -> Result<[u8; KEY_RELEASE_LEN], Error> {
    seal_key(Released::ContentKey, player, asset_id, key, ephemeral)
}

/// Opens a released content key with the player's ephemeral secret key.
pub fn open_content_key(
    player: &RecipientSecretKey,
    asset_id: &str,
    released: &[u8],
) -> Result<ContentKey, Error> {
    open_key(Released::ContentKey, player, asset_id, released)
}

/// Seals a key of kind `what` (the bytes of a content or source data key) for `asset_id` to a
/// player's ephemeral public key.
pub fn seal_key(
    what: Released,
    player: &RecipientPublicKey,
    asset_id: &str,
    key: &ContentKey,
    ephemeral: &[u8; 32],
) -> Result<[u8; KEY_RELEASE_LEN], Error> {
    let (enc, sealed) = hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, Kem>(
        &OpModeS::Base,
        &player.key,
        what.info(),
        key.as_bytes(),
        asset_id.as_bytes(),
        &mut GivenBytes::new(ephemeral),
    )
    .map_err(|_| Error::InvalidKey)?;
    let mut out = [0u8; KEY_RELEASE_LEN];
    out[..32].copy_from_slice(&enc.to_bytes());
    out[32..].copy_from_slice(&sealed);
    Ok(out)
}

/// Opens a released key of kind `what` with the player's ephemeral secret key.
pub fn open_key(
    what: Released,
    player: &RecipientSecretKey,
    asset_id: &str,
    released: &[u8],
) -> Result<ContentKey, Error> {
    if released.len() != KEY_RELEASE_LEN {
        return Err(Error::Decrypt);
    }
    let enc =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(&released[..32]).map_err(|_| Error::Decrypt)?;
    let key = hpke::single_shot_open::<AesGcm256, HkdfSha256, Kem>(
        &OpModeR::Base,
        &player.key,
        &enc,
        what.info(),
        &released[32..],
        asset_id.as_bytes(),
    )
    .map_err(|_| Error::Decrypt)?;
    let bytes: [u8; 32] = key.as_slice().try_into().map_err(|_| Error::Decrypt)?;
    Ok(ContentKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_bound_to_asset_and_recipient() {
        let player = RecipientSecretKey::from_seed(&[1; 32]);
        let other = RecipientSecretKey::from_seed(&[2; 32]);
        let key = ContentKey::from_bytes([5; 32]);
        let released = seal_content_key(player.public_key(), "asset-1", &key, &[3; 32]).unwrap();
        assert_eq!(
            open_content_key(&player, "asset-1", &released).unwrap(),
            key
        );
        assert_eq!(
            open_content_key(&player, "asset-2", &released),
            Err(Error::Decrypt)
        );
        assert_eq!(
            open_content_key(&other, "asset-1", &released),
            Err(Error::Decrypt)
        );
        assert_eq!(
            open_content_key(&player, "asset-1", &released[1..]),
            Err(Error::Decrypt)
        );
        let mut bad = released;
        bad[40] ^= 1;
        assert_eq!(
            open_content_key(&player, "asset-1", &bad),
            Err(Error::Decrypt)
        );
    }

    #[test]
    fn content_and_source_releases_are_kept_apart() {
        let player = RecipientSecretKey::from_seed(&[1; 32]);
        let key = ContentKey::from_bytes([5; 32]);
        let source = seal_key(
            Released::SourceKey,
            player.public_key(),
            "a",
            &key,
            &[3; 32],
        );
        let source = source.unwrap();
        assert_eq!(
            open_key(Released::SourceKey, &player, "a", &source).unwrap(),
            key
        );
        // Neither opens as the other, whatever the asset id.
        for id in ["a", "a/source"] {
            assert_eq!(open_content_key(&player, id, &source), Err(Error::Decrypt));
        }
        let content = seal_content_key(player.public_key(), "a/source", &key, &[3; 32]).unwrap();
        assert_eq!(
            open_key(Released::SourceKey, &player, "a", &content),
            Err(Error::Decrypt)
        );
    }
}
