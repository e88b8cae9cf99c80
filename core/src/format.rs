//! The header and the arithmetic of where each chunk sits.
//!
//! Layout (all integers big-endian), 107 bytes:
//!
//! | offset | len | field                                   |
//! |-------:|----:|-----------------------------------------|
//! |      0 |   4 | magic `CNLK`                            |
//! |      4 |   1 | version = 2                             |
//! |      5 |   1 | suite = 1                               |
//! |      6 |   2 | reserved, must be zero                  |
//! |      8 |   4 | plaintext chunk size                    |
//! |     12 |   8 | recipient key id                        |
//! |     20 |   7 | nonce prefix                            |
//! |     27 |  32 | HPKE encapsulated key (`enc`)           |
//! |     59 |  48 | HPKE-sealed data key (32 + 16 tag)      |

use crate::{Error, KeyId, TAG_LEN};

/// `CNLK`.
pub const MAGIC: [u8; 4] = *b"CNLK";
/// The only format version this build writes and reads. Version 2 binds the data key to the
/// stream's context (what it was sealed for); version 1 streams are refused as `unsupported`.
pub const VERSION: u8 = 2;
/// X25519/HKDF-SHA256/AES-256-GCM for HPKE, AES-256-GCM for chunks.
pub const SUITE: u8 = 1;
/// Bytes in a header.
pub const HEADER_LEN: usize = 107;
/// Smallest plaintext chunk size a header may declare.
pub const MIN_CHUNK_SIZE: u32 = 64;
/// Largest plaintext chunk size a header may declare (bounds every reader's buffer).
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// The chunk size uploads use unless asked otherwise: 256 KiB is where WebCrypto AES-GCM
/// peaks in Chromium, and the per-chunk overhead (a 16-byte tag) is under 0.01%
/// (docs/benchmarks.md).
pub const DEFAULT_CHUNK_SIZE: u32 = 256 * 1024;
/// Most plaintext bytes one data key may seal (4 TiB, below S3's 5 TiB object limit): far
/// inside AES-GCM's bounds for one key.
pub const MAX_STREAM_PLAINTEXT: u64 = 1 << 42;
/// Longest context (the id a stream is bound to), in bytes.
pub const MAX_CONTEXT_LEN: usize = 255;

pub(crate) const NONCE_PREFIX_LEN: usize = 7;
pub(crate) const ENC_LEN: usize = 32;
pub(crate) const SEALED_KEY_LEN: usize = 32 + TAG_LEN;
/// The part of the header that the HPKE seal of the data key authenticates.
pub(crate) const BOUND_PREFIX_LEN: usize = 27;

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Plaintext bytes in every chunk but the last.
    pub chunk_size: u32,
    /// Which recipient key can open the data key.
    pub key_id: KeyId,
    /// Random per-stream nonce prefix.
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
    /// HPKE encapsulated ephemeral public key.
    pub enc: [u8; ENC_LEN],
    /// HPKE ciphertext of the 32-byte data key.
    pub sealed_key: [u8; SEALED_KEY_LEN],
}

impl Header {
    /// Parses the first [`HEADER_LEN`] bytes of `bytes` (extra bytes are ignored).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let h: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::Malformed("header truncated"))?;
        if h[0..4] != MAGIC {
            return Err(Error::Malformed("bad magic"));
        }
        if h[4] != VERSION || h[5] != SUITE {
            return Err(Error::Unsupported {
                version: h[4],
                suite: h[5],
            });
        }
        if h[6..8] != [0, 0] {
            return Err(Error::Malformed("reserved bits set"));
        }
        let chunk_size = u32::from_be_bytes(h[8..12].try_into().expect("4 bytes"));
        check_chunk_size(chunk_size)?;
        Ok(Self {
            chunk_size,
            key_id: KeyId(h[12..20].try_into().expect("8 bytes")),
            nonce_prefix: h[20..27].try_into().expect("7 bytes"),
            enc: h[27..59].try_into().expect("32 bytes"),
            sealed_key: h[59..107].try_into().expect("48 bytes"),
        })
    }

    /// The header's wire form.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..BOUND_PREFIX_LEN].copy_from_slice(&self.bound_prefix());
        h[27..59].copy_from_slice(&self.enc);
        h[59..107].copy_from_slice(&self.sealed_key);
        h
    }

    /// Magic through nonce prefix: the parameters the sealed data key is bound to.
    pub(crate) fn bound_prefix(&self) -> [u8; BOUND_PREFIX_LEN] {
        let mut p = [0u8; BOUND_PREFIX_LEN];
        p[0..4].copy_from_slice(&MAGIC);
        p[4] = VERSION;
        p[5] = SUITE;
        p[8..12].copy_from_slice(&self.chunk_size.to_be_bytes());
        p[12..20].copy_from_slice(&self.key_id.0);
        p[20..27].copy_from_slice(&self.nonce_prefix);
        p
    }

    /// Where the chunks of this stream sit.
    pub fn layout(&self) -> Layout {
        Layout {
            chunk_size: self.chunk_size,
        }
    }
}

/// Refuses a context longer than [`MAX_CONTEXT_LEN`] (it could not be length-prefixed).
pub(crate) fn check_context(context: &[u8]) -> Result<u8, Error> {
    u8::try_from(context.len()).map_err(|_| Error::Malformed("context longer than 255 bytes"))
}

pub(crate) fn check_chunk_size(chunk_size: u32) -> Result<(), Error> {
    if (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(())
    } else {
        Err(Error::ChunkSize(chunk_size))
    }
}

/// Offsets and lengths of a sealed stream with a given chunk size.
///
/// Every chunk but the last holds exactly `chunk_size` plaintext bytes; the last holds
/// `1..=chunk_size`, or 0 only when the whole stream is empty. So the plaintext length follows
/// from the sealed length, and chunk *i* starts at `HEADER_LEN + i * (chunk_size + 16)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    chunk_size: u32,
}

impl Layout {
    /// A layout for `chunk_size`, checked against the format's bounds.
    pub fn new(chunk_size: u32) -> Result<Self, Error> {
        check_chunk_size(chunk_size)?;
        Ok(Self { chunk_size })
    }

    /// Plaintext bytes per full chunk.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Sealed bytes per full chunk (plaintext + tag).
    pub fn sealed_chunk_size(&self) -> u64 {
        u64::from(self.chunk_size) + TAG_LEN as u64
    }

    /// Number of chunks for a plaintext of `len` bytes (an empty stream has one empty chunk).
    /// [`Error::TooLong`] past [`MAX_STREAM_PLAINTEXT`] or `2^32` chunks.
    pub fn chunk_count(&self, plaintext_len: u64) -> Result<u64, Error> {
        let n = plaintext_len.div_ceil(u64::from(self.chunk_size)).max(1);
        if n > 1 << 32 || plaintext_len > MAX_STREAM_PLAINTEXT {
            Err(Error::TooLong)
        } else {
            Ok(n)
        }
    }

    /// Total sealed length, header included, of a plaintext of `len` bytes.
    pub fn sealed_len(&self, plaintext_len: u64) -> Result<u64, Error> {
        Ok(HEADER_LEN as u64 + plaintext_len + TAG_LEN as u64 * self.chunk_count(plaintext_len)?)
    }

    /// Plaintext length of a sealed stream of `sealed_len` bytes (header included), or
    /// [`Error::Decrypt`] when no well-formed stream has that length.
    pub fn plaintext_len(&self, sealed_len: u64) -> Result<u64, Error> {
        let body = sealed_len
            .checked_sub(HEADER_LEN as u64)
            .ok_or(Error::Decrypt)?;
        let n = body.div_ceil(self.sealed_chunk_size()).max(1);
        let last = body
            .checked_sub((n - 1) * self.sealed_chunk_size())
            .ok_or(Error::Decrypt)?;
        let canonical_last = if n == 1 {
            last >= TAG_LEN as u64
        } else {
            last > TAG_LEN as u64
        };
        if !canonical_last || n > 1 << 32 {
            return Err(Error::Decrypt);
        }
        let plaintext = body - TAG_LEN as u64 * n;
        if plaintext > MAX_STREAM_PLAINTEXT {
            return Err(Error::Decrypt);
        }
        Ok(plaintext)
    }

    /// Byte offset of sealed chunk `index` from the start of the stream.
    pub fn chunk_offset(&self, index: u64) -> u64 {
        HEADER_LEN as u64 + index * self.sealed_chunk_size()
    }

    /// Plaintext offset of chunk `index`.
    pub fn plaintext_offset(&self, index: u64) -> u64 {
        index * u64::from(self.chunk_size)
    }
}
