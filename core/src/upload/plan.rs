//! Where the sealed object is cut into multipart parts, and the check that an upload is whole.
//!
//! Parts fall on chunk boundaries, so a browser can seal any part on its own (the chunk indices
//! and the last-chunk flag follow from the part number alone) and a reseal after a reload gives
//! the same bytes. Part 1 also carries the header. Every part but the last holds the same number
//! of chunks, so the whole plan is three numbers (plaintext length, chunk size, chunks per
//! part) that the server can store and re-derive to check a completion.

use core::ops::Range;

use crate::{Error, HEADER_LEN, Layout};

/// S3's smallest part, except the last: 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's most parts in one multipart upload.
pub const MAX_PARTS: u32 = 10_000;
/// Part size [`PartPlan::new`] is usually asked for: big enough to amortise a request, small
/// enough that a retry costs little and a few parts fit in a browser's memory.
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;

/// The multipart limits a plan must respect. [`PartLimits::S3`] is the one to use; tests and
/// stores with other rules can pass their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartLimits {
    /// Smallest sealed size of every part but the last.
    pub min_part_size: u64,
    /// Largest sealed size of any part.
    pub max_part_size: u64,
    /// Most parts.
    pub max_parts: u32,
}

impl PartLimits {
    /// Amazon S3's limits (which S3-compatible stores share).
    pub const S3: PartLimits = PartLimits {
        min_part_size: MIN_PART_SIZE,
        max_part_size: MAX_PART_SIZE,
        max_parts: MAX_PARTS,
    };
}

impl Default for PartLimits {
    fn default() -> Self {
        Self::S3
    }
}

/// How one sealed object is split into parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartPlan {
    layout: Layout,
    plaintext_len: u64,
    chunk_count: u64,
    chunks_per_part: u64,
    part_count: u32,
}

/// One part of a [`PartPlan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSpec {
    /// 1-based S3 part number.
    pub number: u32,
    /// Indices of the chunks this part holds.
    pub chunks: Range<u64>,
    /// The plaintext bytes those chunks seal.
    pub plaintext: Range<u64>,
    /// Where the part sits in the sealed object.
    pub sealed: Range<u64>,
    /// Whether the part starts with the header (part 1 only).
    pub includes_header: bool,
    /// Whether this is the final part (whose final chunk is sealed as the last one).
    pub last: bool,
}

impl PartSpec {
    /// Sealed bytes in this part.
    pub fn sealed_len(&self) -> u64 {
        self.sealed.end - self.sealed.start
    }
}

impl PartPlan {
    /// Plans parts of at least `target_part_size` sealed bytes (and at least S3's 5 MiB),
    /// growing them as needed to stay within 10,000 parts.
    pub fn new(plaintext_len: u64, chunk_size: u32, target_part_size: u64) -> Result<Self, Error> {
        Self::with_limits(plaintext_len, chunk_size, target_part_size, PartLimits::S3)
    }

    /// [`PartPlan::new`] under other limits.
    pub fn with_limits(
        plaintext_len: u64,
        chunk_size: u32,
        target_part_size: u64,
        limits: PartLimits,
    ) -> Result<Self, Error> {
        let layout = Layout::new(chunk_size)?;
        let chunk_count = layout.chunk_count(plaintext_len)?;
        let target = target_part_size.max(limits.min_part_size).max(1);
        let for_size = target.div_ceil(layout.sealed_chunk_size());
        let for_count = chunk_count.div_ceil(u64::from(limits.max_parts.max(1)));
        // The smallest part that satisfies both; more chunks than exist is just one part.
        let chunks_per_part = for_size.max(for_count).min(chunk_count);
        Self::build(layout, plaintext_len, chunk_count, chunks_per_part, limits)
    }

    /// Rebuilds the plan an uploader chose from its three numbers, checking S3's limits.
    pub fn from_parts(
        plaintext_len: u64,
        chunk_size: u32,
        chunks_per_part: u64,
    ) -> Result<Self, Error> {
        Self::from_parts_with_limits(plaintext_len, chunk_size, chunks_per_part, PartLimits::S3)
    }

    /// [`PartPlan::from_parts`] under other limits.
    pub fn from_parts_with_limits(
        plaintext_len: u64,
        chunk_size: u32,
        chunks_per_part: u64,
        limits: PartLimits,
    ) -> Result<Self, Error> {
        let layout = Layout::new(chunk_size)?;
        let chunk_count = layout.chunk_count(plaintext_len)?;
        Self::build(layout, plaintext_len, chunk_count, chunks_per_part, limits)
    }

    fn build(
        layout: Layout,
        plaintext_len: u64,
        chunk_count: u64,
        chunks_per_part: u64,
        limits: PartLimits,
    ) -> Result<Self, Error> {
        if chunks_per_part == 0 {
            return Err(Error::InvalidPlan("a part must hold at least one chunk"));
        }
        let part_count = chunk_count.div_ceil(chunks_per_part);
        if part_count > u64::from(limits.max_parts) {
            return Err(Error::InvalidPlan("more parts than the store allows"));
        }
        let part_count = u32::try_from(part_count).expect("at most max_parts");
        let plan = Self {
            layout,
            plaintext_len,
            chunk_count,
            chunks_per_part,
            part_count,
        };
        // Part 1 is the largest (header plus a full set of chunks); the smallest part that must
        // meet the minimum is the last-but-one.
        if plan.part_size(1) > limits.max_part_size {
            return Err(Error::InvalidPlan("a part is larger than the store allows"));
        }
        if part_count >= 2 && plan.part_size(part_count - 1) < limits.min_part_size {
            return Err(Error::InvalidPlan(
                "a part is smaller than the store allows",
            ));
        }
        Ok(plan)
    }

    /// Number of parts.
    pub fn part_count(&self) -> u32 {
        self.part_count
    }

    /// Chunks in every part but the last.
    pub fn chunks_per_part(&self) -> u64 {
        self.chunks_per_part
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> u32 {
        self.layout.chunk_size()
    }

    /// Plaintext length of the object.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Sealed length of the object, header included.
    pub fn sealed_len(&self) -> u64 {
        self.chunk_end_offset(self.chunk_count)
    }

    /// The chunk layout the plan is cut from.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Part `number` (1-based), or `None` outside `1..=part_count`.
    pub fn part(&self, number: u32) -> Option<PartSpec> {
        if number == 0 || number > self.part_count {
            return None;
        }
        let first = u64::from(number - 1) * self.chunks_per_part;
        let end = (first + self.chunks_per_part).min(self.chunk_count);
        let chunk_size = u64::from(self.layout.chunk_size());
        Some(PartSpec {
            number,
            chunks: first..end,
            plaintext: first * chunk_size..(end * chunk_size).min(self.plaintext_len),
            sealed: self.part_start(number)..self.chunk_end_offset(end),
            includes_header: number == 1,
            last: number == self.part_count,
        })
    }

    /// Sealed size of part `number`; the caller keeps `number` in range.
    fn part_size(&self, number: u32) -> u64 {
        let end = (u64::from(number) * self.chunks_per_part).min(self.chunk_count);
        self.chunk_end_offset(end) - self.part_start(number)
    }

    fn part_start(&self, number: u32) -> u64 {
        if number == 1 {
            0
        } else {
            self.layout
                .chunk_offset(u64::from(number - 1) * self.chunks_per_part)
        }
    }

    /// Where the sealed chunks before chunk `end` stop: the final chunk may be short.
    fn chunk_end_offset(&self, end: u64) -> u64 {
        if end == self.chunk_count {
            HEADER_LEN as u64 + self.plaintext_len + crate::TAG_LEN as u64 * self.chunk_count
        } else {
            self.layout.chunk_offset(end)
        }
    }

    /// Checks that `parts` (part number, sealed size as the store reports it) are exactly parts
    /// `1..=part_count` at their planned sizes, in any order: what the server confirms before
    /// it completes the multipart upload.
    pub fn verify_completion(&self, parts: &[(u32, u64)]) -> Result<(), Error> {
        let mut seen = vec![false; self.part_count as usize];
        for &(number, size) in parts {
            let spec = self.part(number).ok_or(Error::UnexpectedPart(number))?;
            let slot = &mut seen[number as usize - 1];
            if *slot {
                return Err(Error::DuplicatePart(number));
            }
            *slot = true;
            if size != spec.sealed_len() {
                return Err(Error::PartSize {
                    part: number,
                    expected: spec.sealed_len(),
                    found: size,
                });
            }
        }
        match seen.iter().position(|s| !s) {
            Some(i) => Err(Error::MissingPart(i as u32 + 1)),
            None => Ok(()),
        }
    }
}
