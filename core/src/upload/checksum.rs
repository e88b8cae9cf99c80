//! A sealed part's checksum: what its presigned URL is signed for and the store verifies before
//! it keeps the part (S3's `x-amz-checksum-*` headers).
//!
//! It guards only the trip to the store: the GCM tags are the end-to-end check. So the cheapest
//! checksum every store verifies wins. CRC32C costs the store nothing measurable where a signed
//! SHA-256 costs it about 0.9 s of CPU per GiB, and in wasm it runs at about three times the
//! speed of WebCrypto's SHA-256 (docs/benchmarks.md, "The part checksum"). SHA-256 stays for
//! uploads created before CRC32C was the default: an upload keeps the algorithm it was created
//! with, because S3 refuses parts whose algorithm differs from the upload's.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest as _;

/// Which checksum an upload's parts carry (chosen when the upload is created).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChecksumAlgorithm {
    /// `x-amz-checksum-sha256`: what uploads were created with before CRC32C.
    Sha256,
    /// `x-amz-checksum-crc32c` (Castagnoli): the default.
    #[default]
    Crc32c,
}

/// CRC-32C with a 16-way sliced table: no hardware CRC in wasm, and this runs at about
/// 2.9 GB/s there (the `crc32c` crate's fallback about 2.1). The 16 KiB table is computed on
/// first use rather than at compile time, so the SDK's download does not carry it.
fn castagnoli() -> &'static crc::Crc<u32, crc::Table<16>> {
    static TABLE: std::sync::OnceLock<crc::Crc<u32, crc::Table<16>>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI))
}

impl ChecksumAlgorithm {
    /// Every algorithm, the default first.
    pub const ALL: [ChecksumAlgorithm; 2] = [ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Sha256];

    /// The name on the wire, in storage and in S3's header (`x-amz-checksum-{name}`).
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Sha256 => "sha256",
            ChecksumAlgorithm::Crc32c => "crc32c",
        }
    }

    /// The algorithm named `name` ([`ChecksumAlgorithm::name`]).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The header a PUT carries the checksum in, base64.
    pub fn header(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
        }
    }

    /// Bytes in a checksum.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Sha256 => 32,
            ChecksumAlgorithm::Crc32c => 4,
        }
    }

    /// A hasher to feed a part through, piece by piece.
    pub fn hasher(self) -> PartHasher {
        PartHasher(match self {
            ChecksumAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            ChecksumAlgorithm::Crc32c => Hasher::Crc32c(castagnoli().digest()),
        })
    }

    /// The checksum of `data`.
    pub fn checksum(self, data: &[u8]) -> PartChecksum {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A part's checksum, as S3 carries it (big-endian bytes, sent in base64).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartChecksum {
    Sha256([u8; 32]),
    Crc32c([u8; 4]),
}

impl PartChecksum {
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        match self {
            PartChecksum::Sha256(_) => ChecksumAlgorithm::Sha256,
            PartChecksum::Crc32c(_) => ChecksumAlgorithm::Crc32c,
        }
    }

    /// The checksum's bytes, as S3 base64-encodes them.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            PartChecksum::Sha256(b) => b,
            PartChecksum::Crc32c(b) => b,
        }
    }

    /// A checksum of `algorithm` from its bytes; `None` if they are not its length.
    pub fn from_bytes(algorithm: ChecksumAlgorithm, bytes: &[u8]) -> Option<Self> {
        Some(match algorithm {
            ChecksumAlgorithm::Sha256 => PartChecksum::Sha256(bytes.try_into().ok()?),
            ChecksumAlgorithm::Crc32c => PartChecksum::Crc32c(bytes.try_into().ok()?),
        })
    }

    /// The form S3's header, the sign request and the server's records carry: standard base64
    /// of [`PartChecksum::as_bytes`].
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.as_bytes())
    }

    /// A checksum of `algorithm` from its base64 form; `None` if it is not base64 of the
    /// algorithm's length.
    pub fn from_base64(algorithm: ChecksumAlgorithm, b64: &str) -> Option<Self> {
        Self::from_bytes(algorithm, &STANDARD.decode(b64).ok()?)
    }
}

impl fmt::Debug for PartChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.algorithm().name(),
            hex::encode(self.as_bytes())
        )
    }
}

/// A checksum being computed (see [`ChecksumAlgorithm::hasher`]).
#[derive(Clone)]
pub struct PartHasher(Hasher);

#[derive(Clone)]
enum Hasher {
    Sha256(sha2::Sha256),
    Crc32c(crc::Digest<'static, u32, crc::Table<16>>),
}

impl PartHasher {
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Crc32c(h) => h.update(data),
        }
    }

    pub fn finish(self) -> PartChecksum {
        match self.0 {
            Hasher::Sha256(h) => PartChecksum::Sha256(h.finalize().into()),
            Hasher::Crc32c(h) => PartChecksum::Crc32c(h.finalize().to_be_bytes()),
        }
    }
}

impl fmt::Debug for PartHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algorithm = match self.0 {
            Hasher::Sha256(_) => ChecksumAlgorithm::Sha256,
            Hasher::Crc32c(_) => ChecksumAlgorithm::Crc32c,
        };
        f.debug_tuple("PartHasher").field(&algorithm).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_published_check_value_and_s3s_byte_order() {
        // CRC-32C's check value (RFC 3720 B.4): "123456789" → 0xE3069283, sent big-endian.
        let c = ChecksumAlgorithm::Crc32c.checksum(b"123456789");
        assert_eq!(c, PartChecksum::Crc32c([0xe3, 0x06, 0x92, 0x83]));
        assert_eq!(c.to_base64(), "4waSgw==");
        // RFC 3720 B.4: 32 bytes of zeros.
        let zeros = ChecksumAlgorithm::Crc32c.checksum(&[0; 32]);
        assert_eq!(zeros.as_bytes(), &0x8a91_36aa_u32.to_be_bytes());
    }

    #[test]
    fn pieces_hash_as_the_whole() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 253) as u8).collect();
        for algorithm in ChecksumAlgorithm::ALL {
            let mut h = algorithm.hasher();
            for piece in data.chunks(4099) {
                h.update(piece);
            }
            assert_eq!(h.finish(), algorithm.checksum(&data));
        }
        assert_eq!(
            ChecksumAlgorithm::Sha256.checksum(&data),
            PartChecksum::Sha256(crate::sha256(&data))
        );
    }

    #[test]
    fn names_and_lengths_round_trip() {
        for algorithm in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::parse(algorithm.name()), Some(algorithm));
            let c = algorithm.checksum(b"x");
            assert_eq!(c.as_bytes().len(), algorithm.digest_len());
            assert_eq!(PartChecksum::from_bytes(algorithm, c.as_bytes()), Some(c));
            assert_eq!(PartChecksum::from_bytes(algorithm, &[0; 5]), None);
            assert_eq!(
                PartChecksum::from_base64(algorithm, &c.to_base64()),
                Some(c)
            );
            assert_eq!(PartChecksum::from_base64(algorithm, "AAAAAAA="), None);
            assert_eq!(PartChecksum::from_base64(algorithm, "not base64!"), None);
            assert!(algorithm.header().ends_with(algorithm.name()));
        }
        assert_eq!(ChecksumAlgorithm::parse("md5"), None);
    }
}
