//! Feeds caller-supplied random bytes to APIs that want an RNG.
//!
//! The core never draws randomness itself; `hpke` asks for a `CryptoRng` only to pick the
//! ephemeral key, so this adapter hands it exactly the bytes the caller passed in.

use core::convert::Infallible;

pub(crate) struct GivenBytes<'a> {
    bytes: &'a [u8],
}

impl<'a> GivenBytes<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
}

impl rand_core::TryRng for GivenBytes<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        // Running dry means a caller bug (the seed sizes are fixed by the suite), so fail loudly
        // rather than hand out predictable bytes.
        assert!(dst.len() <= self.bytes.len(), "seed exhausted");
        let (now, rest) = self.bytes.split_at(dst.len());
        dst.copy_from_slice(now);
        self.bytes = rest;
        Ok(())
    }
}

impl rand_core::TryCryptoRng for GivenBytes<'_> {}
