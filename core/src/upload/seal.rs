//! Sealing one part from its plaintext: what a native driver does on
//! [`Action::Seal`](super::Action::Seal). The browser's engines do the same chunk by chunk
//! (WebCrypto or the wasm cipher); both reproduce the one-shot [`seal`](crate::seal) of the whole
//! object, so a part sealed again is the same part, whoever sealed it.

use super::{ChecksumAlgorithm, PartChecksum, PartSpec};
use crate::{ChunkCipher, Error, HEADER_LEN};

/// A sealed part and the checksum of its bytes (what its presigned URL is signed for).
#[derive(Debug)]
pub struct SealedPart {
    pub bytes: Vec<u8>,
    pub checksum: PartChecksum,
}

/// Seals the part `spec` names: the stream's header if the part leads, then each chunk of
/// `plaintext` (exactly the part's plaintext range) at its own index, the object's final chunk
/// flagged last. The `checksum` is computed chunk by chunk as each is sealed, while its bytes are
/// still in cache.
pub fn seal_part(
    cipher: &ChunkCipher,
    header: &[u8; HEADER_LEN],
    chunk_size: u32,
    spec: &PartSpec,
    checksum: ChecksumAlgorithm,
    plaintext: &[u8],
) -> Result<SealedPart, Error> {
    if plaintext.len() as u64 != spec.plaintext.end - spec.plaintext.start {
        return Err(Error::Malformed("the plaintext is not the part's"));
    }
    let mut bytes = Vec::with_capacity(spec.sealed_len() as usize);
    let mut hash = checksum.hasher();
    if spec.includes_header {
        bytes.extend_from_slice(header);
        hash.update(header);
    }
    let chunk = chunk_size as usize;
    let mut rest = plaintext;
    for index in spec.chunks.clone() {
        let take = chunk.min(rest.len());
        let (this, after) = rest.split_at(take);
        rest = after;
        let at = bytes.len();
        bytes.extend_from_slice(this);
        let last = spec.last && index + 1 == spec.chunks.end;
        let index = u32::try_from(index).map_err(|_| Error::Malformed("chunk index"))?;
        let tag = cipher.seal_detached(index, last, &mut bytes[at..]);
        bytes.extend_from_slice(&tag);
        hash.update(&bytes[at..]);
    }
    debug_assert!(rest.is_empty());
    debug_assert_eq!(bytes.len() as u64, spec.sealed_len());
    Ok(SealedPart {
        bytes,
        checksum: hash.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::{PartLimits, PartPlan};
    use crate::{RecipientSecretKey, SEED_LEN, SealSeed, seal};

    const LIMITS: PartLimits = PartLimits {
        min_part_size: 8192,
        max_part_size: 1 << 30,
        max_parts: 10_000,
    };

    #[test]
    fn parts_concatenate_to_the_one_shot_seal() {
        let secret = RecipientSecretKey::from_seed(&[3; 32]);
        let seed = SealSeed::from_bytes(&[7; SEED_LEN]);
        let plaintext: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for len in [0, 1, 4096, 4097, 40_000, plaintext.len()] {
            let pt = &plaintext[..len];
            let plan = PartPlan::with_limits(len as u64, 4096, 8192, LIMITS).unwrap();
            let (header, key) = secret
                .public_key()
                .seal_header(4096, &seed, b"asset")
                .unwrap();
            let cipher = ChunkCipher::new(&header, &key);
            let mut joined = Vec::new();
            for n in 1..=plan.part_count() {
                let spec = plan.part(n).unwrap();
                let range = spec.plaintext.start as usize..spec.plaintext.end as usize;
                let algorithm =
                    [ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Sha256][n as usize % 2];
                let part = seal_part(
                    &cipher,
                    &header.to_bytes(),
                    4096,
                    &spec,
                    algorithm,
                    &pt[range],
                )
                .unwrap();
                assert_eq!(part.checksum, algorithm.checksum(&part.bytes));
                joined.extend_from_slice(&part.bytes);
            }
            let expected = seal(secret.public_key(), 4096, &seed, b"asset", pt).unwrap();
            assert_eq!(joined, expected, "{len} bytes");
        }
    }

    #[test]
    fn refuses_plaintext_of_another_length() {
        let secret = RecipientSecretKey::from_seed(&[3; 32]);
        let seed = SealSeed::from_bytes(&[7; SEED_LEN]);
        let plan = PartPlan::with_limits(10_000, 4096, 8192, LIMITS).unwrap();
        let (header, key) = secret.public_key().seal_header(4096, &seed, b"a").unwrap();
        let cipher = ChunkCipher::new(&header, &key);
        let spec = plan.part(1).unwrap();
        let crc = ChecksumAlgorithm::Crc32c;
        assert!(seal_part(&cipher, &header.to_bytes(), 4096, &spec, crc, &[0; 10]).is_err());
    }
}
