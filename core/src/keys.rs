//! Recipient keys, key ids, per-stream data keys and the HPKE seal that joins them.
//!
//! HPKE (RFC 9180) base mode, suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM.
//! The 32-byte data key is the HPKE plaintext; `info` is [`HPKE_INFO`] followed by the
//! stream's *context* (a length byte and up to 255 bytes: for an upload, its asset id), so a
//! stream opens only for what it was sealed for; the associated data is the header's first 27
//! bytes (magic through nonce prefix), so the wrapped key cannot be moved to a header with
//! other parameters.

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::format::{ENC_LEN, SEALED_KEY_LEN, check_chunk_size, check_context};
use crate::rng::GivenBytes;
use crate::{Error, Header};

pub(crate) type Kem = X25519HkdfSha256;

/// HPKE `info` prefix for sealing a data key; the context's length and bytes follow it.
pub const HPKE_INFO: &[u8] = b"cinelock sealed stream v2 data key";

/// `HPKE_INFO ‖ u8(len(context)) ‖ context`: the context is bound to the data key.
fn hpke_info(context: &[u8]) -> Result<Vec<u8>, Error> {
    let len = check_context(context)?;
    let mut info = Vec::with_capacity(HPKE_INFO.len() + 1 + context.len());
    info.extend_from_slice(HPKE_INFO);
    info.push(len);
    info.extend_from_slice(context);
    Ok(info)
}
const KEY_ID_DOMAIN: &[u8] = b"cinelock key id v1";

/// Random bytes one sealed stream needs: [`SEED_LEN`] of them.
pub const SEED_LEN: usize = 32 + 7 + 32;

/// Eight bytes naming a recipient key: SHA-256("cinelock key id v1" ‖ public key)[..8].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl core::fmt::Display for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl core::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A per-stream AES-256 data key. Zeroed on drop; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// Wraps 32 random bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key, for handing to a platform AES-GCM (WebCrypto).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl core::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// The randomness sealing one stream consumes, supplied by the caller.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SealSeed {
    /// The data key.
    pub data_key: [u8; 32],
    /// The header's nonce prefix.
    pub nonce_prefix: [u8; 7],
    /// HPKE's ephemeral key material (`ikmE`).
    pub ephemeral: [u8; 32],
}

impl SealSeed {
    /// Splits [`SEED_LEN`] random bytes: data key, nonce prefix, ephemeral key material.
    pub fn from_bytes(bytes: &[u8; SEED_LEN]) -> Self {
        Self {
            data_key: bytes[..32].try_into().expect("32"),
            nonce_prefix: bytes[32..39].try_into().expect("7"),
            ephemeral: bytes[39..].try_into().expect("32"),
        }
    }
}

/// A recipient's X25519 public key (the transcode workers').
#[derive(Clone, PartialEq, Eq)]
pub struct RecipientPublicKey {
    pub(crate) key: <Kem as hpke::Kem>::PublicKey,
    bytes: [u8; 32],
    id: KeyId,
}

impl core::fmt::Debug for RecipientPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RecipientPublicKey({})", self.id)
    }
}

impl RecipientPublicKey {
    /// Parses a 32-byte X25519 public key, refusing low-order points.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let key =
            <Kem as hpke::Kem>::PublicKey::from_bytes(bytes).map_err(|_| Error::InvalidKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| Error::InvalidKey)?;
        // A trial encapsulation runs HPKE's all-zero shared secret check, refusing low-order
        // points (with which every shared secret would be zero).
        hpke::setup_sender_with_rng::<AesGcm256, HkdfSha256, Kem>(
            &OpModeS::Base,
            &key,
            HPKE_INFO,
            &mut GivenBytes::new(&[1u8; 32]),
        )
        .map_err(|_| Error::InvalidKey)?;
        Ok(Self {
            key,
            bytes,
            id: key_id(&bytes),
        })
    }

    /// The key's wire form.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The key's id, as carried in headers.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Builds a header for a new stream sealed to this key for `context` (at most 255 bytes:
    /// the id of what the stream is for, which the opener must name again), and returns it
    /// with its data key.
    pub fn seal_header(
        &self,
        chunk_size: u32,
        seed: &SealSeed,
        context: &[u8],
    ) -> Result<(Header, DataKey), Error> {
        check_chunk_size(chunk_size)?;
        let info = hpke_info(context)?;
        let mut header = Header {
            chunk_size,
            key_id: self.id,
            nonce_prefix: seed.nonce_prefix,
            enc: [0; ENC_LEN],
            sealed_key: [0; SEALED_KEY_LEN],
        };
        let aad = header.bound_prefix();
        let (enc, sealed) = hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, Kem>(
            &OpModeS::Base,
            &self.key,
            &info,
            &seed.data_key,
            &aad,
            &mut GivenBytes::new(&seed.ephemeral),
        )
        .map_err(|_| Error::InvalidKey)?;
        header.enc.copy_from_slice(&enc.to_bytes());
        header.sealed_key.copy_from_slice(&sealed);
        Ok((header, DataKey::from_bytes(seed.data_key)))
    }
}

/// A recipient's X25519 secret key. Never printed.
#[derive(Clone)]
pub struct RecipientSecretKey {
    pub(crate) key: <Kem as hpke::Kem>::PrivateKey,
    public: RecipientPublicKey,
}

impl core::fmt::Debug for RecipientSecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RecipientSecretKey({})", self.public.id)
    }
}

impl RecipientSecretKey {
    /// Derives a key pair from 32 bytes of fresh randomness (RFC 9180 `DeriveKeyPair`).
    pub fn from_seed(ikm: &[u8; 32]) -> Self {
        let (key, public) = Kem::derive_keypair(ikm);
        let bytes: [u8; 32] = public.to_bytes().into();
        Self {
            key,
            public: RecipientPublicKey {
                key: public,
                bytes,
                id: key_id(&bytes),
            },
        }
    }

    /// Parses a 32-byte X25519 secret key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let key =
            <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes).map_err(|_| Error::InvalidKey)?;
        let public = <Kem as hpke::Kem>::sk_to_pk(&key);
        let pb: [u8; 32] = public.to_bytes().into();
        Ok(Self {
            key,
            public: RecipientPublicKey {
                key: public,
                bytes: pb,
                id: key_id(&pb),
            },
        })
    }

    /// The secret key's wire form. Handle with care.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }

    /// The matching public key.
    pub fn public_key(&self) -> &RecipientPublicKey {
        &self.public
    }

    /// Recovers the data key of a stream sealed to this key for `context`. Another context
    /// than the sealer's is [`Error::Decrypt`], like any other tampering.
    pub fn open_header(&self, header: &Header, context: &[u8]) -> Result<DataKey, Error> {
        let info = hpke_info(context)?;
        if header.key_id != self.public.id {
            return Err(Error::WrongRecipient {
                expected: self.public.id,
                found: header.key_id,
            });
        }
        let enc =
            <Kem as hpke::Kem>::EncappedKey::from_bytes(&header.enc).map_err(|_| Error::Decrypt)?;
        let mut key = header.sealed_key;
        let (ct, tag) = key.split_at_mut(32);
        let tag = hpke::aead::AeadTag::<AesGcm256>::from_bytes(tag).map_err(|_| Error::Decrypt)?;
        hpke::single_shot_open_inout_detached::<AesGcm256, HkdfSha256, Kem>(
            &OpModeR::Base,
            &self.key,
            &enc,
            &info,
            ct.into(),
            &header.bound_prefix(),
            &tag,
        )
        .map_err(|_| Error::Decrypt)?;
        let data_key = DataKey::from_bytes(ct.try_into().expect("32"));
        key.zeroize();
        Ok(data_key)
    }
}

fn key_id(public: &[u8; 32]) -> KeyId {
    let digest = Sha256::new()
        .chain_update(KEY_ID_DOMAIN)
        .chain_update(public)
        .finalize();
    KeyId(digest[..8].try_into().expect("8"))
}
