//! Plans for streams whose length is not known when the upload starts (a recording).
//!
//! A growing upload fixes the chunk size and the chunks per part up front, so every part but
//! the last has one known size and can be sealed, signed and sent while the stream is still
//! being written. Part `n` (1-based) holds plaintext `[(n-1)·P, n·P)` with `P` = chunks per
//! part × chunk size, exactly as [`PartPlan`] cuts a stream of known length. A part is ready
//! only once at least one byte *after* it exists: until then it might be the last part, whose
//! final chunk carries the format's last flag. When the stream ends, its length turns the
//! growing plan into an ordinary [`PartPlan`] ([`GrowingPlan::finish`]), and the server checks
//! the completed parts against that plan as it does for any upload.

use super::plan::{PartLimits, PartPlan, PartSpec};
use crate::format::MAX_STREAM_PLAINTEXT;
use crate::{Error, HEADER_LEN, Layout};

/// The fixed part size of an upload of unknown length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowingPlan {
    layout: Layout,
    chunks_per_part: u64,
    limits: PartLimits,
}

impl GrowingPlan {
    /// Parts of at least `target_part_size` sealed bytes (and at least the store's minimum).
    pub fn new(chunk_size: u32, target_part_size: u64) -> Result<Self, Error> {
        let layout = Layout::new(chunk_size)?;
        let limits = PartLimits::S3;
        let target = target_part_size.max(limits.min_part_size);
        Self::with_limits(
            chunk_size,
            target.div_ceil(layout.sealed_chunk_size()),
            limits,
        )
    }

    /// Rebuilds the plan from its two numbers, checking the store's limits.
    pub fn from_parts(chunk_size: u32, chunks_per_part: u64) -> Result<Self, Error> {
        Self::with_limits(chunk_size, chunks_per_part, PartLimits::S3)
    }

    /// [`GrowingPlan::from_parts`] under other limits.
    pub fn with_limits(
        chunk_size: u32,
        chunks_per_part: u64,
        limits: PartLimits,
    ) -> Result<Self, Error> {
        let layout = Layout::new(chunk_size)?;
        if chunks_per_part == 0 {
            return Err(Error::InvalidPlan("a part must hold at least one chunk"));
        }
        let plan = Self {
            layout,
            chunks_per_part,
            limits,
        };
        let part_sealed = chunks_per_part.saturating_mul(layout.sealed_chunk_size());
        if part_sealed < limits.min_part_size {
            return Err(Error::InvalidPlan(
                "a part is smaller than the store allows",
            ));
        }
        if part_sealed.saturating_add(HEADER_LEN as u64) > limits.max_part_size {
            return Err(Error::InvalidPlan("a part is larger than the store allows"));
        }
        Ok(plan)
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> u32 {
        self.layout.chunk_size()
    }

    /// Chunks in every part but the last.
    pub fn chunks_per_part(&self) -> u64 {
        self.chunks_per_part
    }

    /// Plaintext bytes in every part but the last.
    pub fn part_plaintext(&self) -> u64 {
        self.chunks_per_part * u64::from(self.layout.chunk_size())
    }

    /// The longest stream the plan can carry: the store's part count, or the format's limit.
    pub fn max_plaintext(&self) -> u64 {
        (self.part_plaintext() * u64::from(self.limits.max_parts)).min(MAX_STREAM_PLAINTEXT)
    }

    /// Most parts.
    pub fn max_parts(&self) -> u32 {
        self.limits.max_parts
    }

    /// How many parts are ready (complete, and certainly not the last) once `available`
    /// plaintext bytes of the stream exist.
    pub fn parts_ready(&self, available: u64) -> u32 {
        let full = available.saturating_sub(1) / self.part_plaintext();
        u32::try_from(full)
            .unwrap_or(u32::MAX)
            .min(self.limits.max_parts)
    }

    /// Part `number` as it is before the end is known: a full part, never the last. `None`
    /// for 0 or past the store's part limit.
    pub fn part(&self, number: u32) -> Option<PartSpec> {
        if number == 0 || number > self.limits.max_parts {
            return None;
        }
        let first = u64::from(number - 1) * self.chunks_per_part;
        let end = first + self.chunks_per_part;
        let chunk_size = u64::from(self.layout.chunk_size());
        let start = if number == 1 {
            0
        } else {
            self.layout.chunk_offset(first)
        };
        Some(PartSpec {
            number,
            chunks: first..end,
            plaintext: first * chunk_size..end * chunk_size,
            sealed: start..self.layout.chunk_offset(end),
            includes_header: number == 1,
            last: false,
        })
    }

    /// The plan of the whole stream once its length is known. Every part the growing plan
    /// called ready is the same part in it; only the last part is new.
    pub fn finish(&self, plaintext_len: u64) -> Result<PartPlan, Error> {
        if plaintext_len > self.max_plaintext() {
            return Err(Error::InvalidPlan("more parts than the store allows"));
        }
        PartPlan::from_parts_with_limits(
            plaintext_len,
            self.layout.chunk_size(),
            self.chunks_per_part,
            self.limits,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> GrowingPlan {
        let limits = PartLimits {
            min_part_size: 100,
            max_part_size: 10_000,
            max_parts: 50,
        };
        // 64-byte chunks (80 sealed), 2 per part: 128 plaintext bytes per part.
        GrowingPlan::with_limits(64, 2, limits).unwrap()
    }

    #[test]
    fn a_part_is_ready_only_once_a_byte_follows_it() {
        let g = small();
        assert_eq!(g.part_plaintext(), 128);
        assert_eq!(g.parts_ready(0), 0);
        assert_eq!(g.parts_ready(128), 0);
        assert_eq!(g.parts_ready(129), 1);
        assert_eq!(g.parts_ready(256), 1);
        assert_eq!(g.parts_ready(257), 2);
        assert_eq!(g.parts_ready(u64::MAX), 50);
    }

    #[test]
    fn ready_parts_are_the_finished_plans_parts() {
        let g = small();
        for len in [129, 200, 256, 257, 1000, 128 * 50] {
            let plan = g.finish(len).unwrap();
            for n in 1..=g.parts_ready(len) {
                assert_eq!(g.part(n), plan.part(n), "len {len} part {n}");
            }
            let last = plan.part(plan.part_count()).unwrap();
            assert!(last.last && last.plaintext.end == len);
        }
        assert!(g.finish(128 * 50 + 1).is_err());
        assert_eq!(g.part(0), None);
        assert_eq!(g.part(51), None);
    }

    #[test]
    fn limits_are_checked() {
        assert!(GrowingPlan::from_parts(256 * 1024, 1).is_err());
        assert!(GrowingPlan::from_parts(256 * 1024, 0).is_err());
        let g = GrowingPlan::new(256 * 1024, 0).unwrap();
        assert!(g.chunks_per_part() * (256 * 1024 + 16) >= crate::upload::MIN_PART_SIZE);
        assert_eq!(
            GrowingPlan::from_parts(256 * 1024, g.chunks_per_part()),
            Ok(g)
        );
        assert!(GrowingPlan::from_parts(16 * 1024 * 1024, 400).is_err());
    }
}
