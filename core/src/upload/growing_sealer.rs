//! [`GrowingSealer`]: seals a stream of unknown length as it arrives (a recording), chunk by
//! chunk, into the parts of a [`GrowingPlan`].
//!
//! It seals exactly the bytes [`StreamSealer`](crate::StreamSealer) would for the same input
//! (a full chunk is sealed once more input shows it is not the last; `finish` seals the rest as
//! the last chunk), but tells the driver which part every sealed byte belongs to, so parts can
//! be spooled and sent while the stream grows.
//!
//! A stream may also end without `finish`: the tab closed, the browser crashed. For that it
//! keeps the *tail*: the newest sealed chunk sealed a second time with the last flag (a
//! different nonce, so the same plaintext under it reveals nothing; see docs/format.md §11).
//! Replacing that chunk by its tail ([`end_cut_short`]) ends the stream where it was cut with an
//! authenticated last chunk, without the plaintext, which is gone. The driver persists the tail
//! beside the spooled parts and keeps the part that holds it until a later chunk is sealed
//! ([`GrowingSealer::tail_part`]).

use super::growing::GrowingPlan;
use super::plan::PartPlan;
use crate::chunk::ChunkCipher;
use crate::{DataKey, Error, HEADER_LEN, Header, TAG_LEN};

/// Sealed bytes to append to a part's spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    /// Part number (1-based).
    pub part: u32,
    /// The bytes: the header (first in part 1) and sealed chunks, in stream order.
    pub bytes: Vec<u8>,
}

/// Seals a growing stream for a [`GrowingPlan`].
#[derive(Debug)]
pub struct GrowingSealer {
    cipher: ChunkCipher,
    header: [u8; HEADER_LEN],
    plan: GrowingPlan,
    next_index: u64,
    total: u64,
    buf: Vec<u8>,
    tail: Vec<u8>,
}

impl GrowingSealer {
    /// A sealer for the stream `header` starts, under `key`, cut by `plan` (whose chunk size
    /// must be the header's).
    pub fn new(header: &Header, key: &DataKey, plan: GrowingPlan) -> Result<Self, Error> {
        crate::format::check_chunk_size(header.chunk_size)?;
        if header.chunk_size != plan.chunk_size() {
            return Err(Error::InvalidPlan(
                "the plan's chunk size is not the header's",
            ));
        }
        Ok(Self {
            cipher: ChunkCipher::new(header, key),
            header: header.to_bytes(),
            plan,
            next_index: 0,
            total: 0,
            buf: Vec::with_capacity(header.chunk_size as usize + TAG_LEN),
            tail: Vec::new(),
        })
    }

    /// Plaintext bytes pushed so far.
    pub fn plaintext_len(&self) -> u64 {
        self.total
    }

    /// Chunks sealed so far (all full, none the last).
    pub fn sealed_chunks(&self) -> u64 {
        self.next_index
    }

    /// Parts complete and certainly not the last: what a growing upload may send now.
    pub fn parts_ready(&self) -> u32 {
        self.plan.parts_ready(self.total)
    }

    /// The part that holds the newest sealed chunk, if any: the part a stream cut short now
    /// would end in. The driver keeps this part's spooled bytes even once it is sent.
    pub fn tail_part(&self) -> Option<u32> {
        self.next_index
            .checked_sub(1)
            .map(|i| part_of(&self.plan, i))
    }

    /// The newest sealed chunk sealed as the last one (empty before any chunk is sealed).
    pub fn tail(&self) -> &[u8] {
        &self.tail
    }

    /// Feeds plaintext; returns the sealed bytes it completes, by part. Past the plan's
    /// [`max_plaintext`](GrowingPlan::max_plaintext) it is [`Error::TooLong`] and nothing of
    /// `input` is taken.
    pub fn push(&mut self, mut input: &[u8]) -> Result<Vec<Append>, Error> {
        self.total = self
            .total
            .checked_add(input.len() as u64)
            .filter(|t| *t <= self.plan.max_plaintext())
            .ok_or(Error::TooLong)?;
        let mut out: Vec<Append> = Vec::new();
        let chunk_size = self.plan.chunk_size() as usize;
        while !input.is_empty() {
            if self.buf.len() == chunk_size {
                // More input follows, so the held chunk is not the last one.
                self.emit(false, &mut out)?;
            }
            let take = (chunk_size - self.buf.len()).min(input.len());
            self.buf.extend_from_slice(&input[..take]);
            input = &input[take..];
        }
        Ok(out)
    }

    /// Seals what is held as the last chunk; returns those bytes and the finished plan.
    pub fn finish(mut self) -> Result<(Vec<Append>, PartPlan), Error> {
        let plan = self.plan.finish(self.total)?;
        let mut out = Vec::new();
        self.emit(true, &mut out)?;
        Ok((out, plan))
    }

    fn emit(&mut self, last: bool, out: &mut Vec<Append>) -> Result<(), Error> {
        let index = u32::try_from(self.next_index).map_err(|_| Error::TooLong)?;
        let part = part_of(&self.plan, self.next_index);
        if !last {
            self.tail.clear();
            self.tail.extend_from_slice(&self.buf);
            self.cipher.seal_chunk(index, true, &mut self.tail);
        }
        self.cipher.seal_chunk(index, last, &mut self.buf);
        let mut bytes = Vec::with_capacity(HEADER_LEN + self.buf.len());
        if self.next_index == 0 {
            bytes.extend_from_slice(&self.header);
        }
        bytes.extend_from_slice(&self.buf);
        self.buf.clear();
        self.next_index += 1;
        match out.last_mut() {
            Some(a) if a.part == part => a.bytes.extend_from_slice(&bytes),
            _ => out.push(Append { part, bytes }),
        }
        Ok(())
    }
}

fn part_of(plan: &GrowingPlan, chunk: u64) -> u32 {
    u32::try_from(chunk / plan.chunks_per_part() + 1).unwrap_or(u32::MAX)
}

/// The plan of a stream cut short after `sealed_chunks` full chunks (ended by its tail).
/// `None` when nothing was sealed: there is nothing to keep.
pub fn cut_short_plan(plan: &GrowingPlan, sealed_chunks: u64) -> Result<Option<PartPlan>, Error> {
    if sealed_chunks == 0 {
        return Ok(None);
    }
    let len = sealed_chunks
        .checked_mul(u64::from(plan.chunk_size()))
        .ok_or(Error::TooLong)?;
    plan.finish(len).map(Some)
}

/// How a stream cut short ends: its plan, and the tail that ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutShort {
    /// The plan of the stream up to and including the tail's chunk.
    pub plan: PartPlan,
    /// The chunk index of the tail that ends it.
    pub tail_chunk: u64,
    /// The part whose final chunk the tail replaces: the plan's last.
    pub tail_part: u32,
}

/// How a stream cut short ends, from the tails its driver persisted as `(chunk index, bytes)`:
/// with the newest whole one (a full chunk, sealed). A tail whose write was cut off is not whole
/// (a browser creates a file before it commits the bytes, so a tab closed in between leaves it
/// empty); since a driver removes a tail only once the next one is whole, the tail before it is
/// still there, and its chunk's sealed bytes were spooled before it. `None` when no tail is
/// whole: nothing can end the stream.
pub fn cut_short_end(
    plan: &GrowingPlan,
    tails: impl IntoIterator<Item = (u64, u64)>,
) -> Result<Option<CutShort>, Error> {
    let whole = u64::from(plan.chunk_size()) + TAG_LEN as u64;
    let Some(tail_chunk) = tails
        .into_iter()
        .filter(|&(_, len)| len == whole)
        .map(|(index, _)| index)
        .max()
    else {
        return Ok(None);
    };
    let Some(cut) = cut_short_plan(plan, tail_chunk.checked_add(1).ok_or(Error::TooLong)?)? else {
        return Ok(None);
    };
    Ok(Some(CutShort {
        tail_part: cut.part_count(),
        plan: cut,
        tail_chunk,
    }))
}

/// Ends a stream cut short: replaces the final sealed chunk of `part` (the spooled bytes of the
/// last part of a [`cut_short_plan`]) by the persisted `tail`, which seals the same plaintext
/// as the last chunk. Fails if the bytes do not end in a chunk of the tail's size.
pub fn end_cut_short(part: &mut Vec<u8>, tail: &[u8]) -> Result<(), Error> {
    if tail.len() <= TAG_LEN || part.len() < tail.len() {
        return Err(Error::InvalidPlan("no sealed chunk to end the stream with"));
    }
    part.truncate(part.len() - tail.len());
    part.extend_from_slice(tail);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::PartLimits;
    use crate::{RecipientSecretKey, SealSeed, StreamSealer, open};

    fn setup(seed: u8) -> (RecipientSecretKey, Header, DataKey, GrowingPlan) {
        let secret = RecipientSecretKey::from_bytes(&[7; 32]).unwrap();
        let (header, key) = secret
            .public_key()
            .seal_header(64, &SealSeed::from_bytes(&[seed; 71]), b"ctx")
            .unwrap();
        let limits = PartLimits {
            min_part_size: 100,
            max_part_size: 10_000,
            max_parts: 100,
        };
        (
            secret,
            header,
            key,
            GrowingPlan::with_limits(64, 2, limits).unwrap(),
        )
    }

    fn assemble(appends: &[Append], parts: &mut Vec<Vec<u8>>) {
        for a in appends {
            let i = a.part as usize - 1;
            if parts.len() <= i {
                parts.resize(i + 1, Vec::new());
            }
            parts[i].extend_from_slice(&a.bytes);
        }
    }

    #[test]
    fn seals_what_the_stream_sealer_seals_cut_by_the_plan() {
        let (secret, header, key, plan) = setup(3);
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        for piece in [1, 7, 64, 100, 1000] {
            let mut s = GrowingSealer::new(&header, &key, plan).unwrap();
            let mut parts = Vec::new();
            for c in data.chunks(piece) {
                assemble(&s.push(c).unwrap(), &mut parts);
                assert!(parts.len() as u32 >= s.parts_ready());
            }
            let (last, finished) = s.finish().unwrap();
            assemble(&last, &mut parts);
            assert_eq!(finished.part_count() as usize, parts.len());
            for (i, p) in parts.iter().enumerate() {
                assert_eq!(
                    finished.part(i as u32 + 1).unwrap().sealed_len(),
                    p.len() as u64
                );
            }
            let mut whole = StreamSealer::with_key(&header, &key).unwrap();
            let mut expected = header.to_bytes().to_vec();
            whole.push(&data, &mut expected).unwrap();
            whole.finish(&mut expected).unwrap();
            assert_eq!(parts.concat(), expected, "pieces of {piece}");
            assert_eq!(open(&secret, b"ctx", &expected).unwrap(), data);
        }
    }

    #[test]
    fn a_stream_cut_short_ends_with_its_tail_and_opens_to_what_was_sealed() {
        let (secret, header, key, plan) = setup(4);
        let data: Vec<u8> = (0..700u32).map(|i| (i * 13) as u8).collect();
        let mut s = GrowingSealer::new(&header, &key, plan).unwrap();
        let mut parts = Vec::new();
        assemble(&s.push(&data).unwrap(), &mut parts);
        // 700 bytes: chunks 0..=9 sealed (640 bytes), 60 held in memory and lost.
        assert_eq!(s.sealed_chunks(), 10);
        assert_eq!(s.tail_part(), Some(5));
        let plan = cut_short_plan(&plan, s.sealed_chunks()).unwrap().unwrap();
        assert_eq!(plan.part_count(), 5);
        let mut last = parts[4].clone();
        end_cut_short(&mut last, s.tail()).unwrap();
        parts[4] = last;
        let stream = parts.concat();
        assert_eq!(stream.len() as u64, plan.sealed_len());
        assert_eq!(open(&secret, b"ctx", &stream).unwrap(), &data[..640]);
        // Without the tail the stream is refused: it was cut at a chunk boundary.
        let (_, header2, key2, plan2) = setup(4);
        let mut s2 = GrowingSealer::new(&header2, &key2, plan2).unwrap();
        let mut parts2 = Vec::new();
        assemble(&s2.push(&data).unwrap(), &mut parts2);
        assert!(open(&secret, b"ctx", &parts2.concat()).is_err());
        assert_eq!(cut_short_plan(&plan2, 0).unwrap(), None);
        assert!(end_cut_short(&mut Vec::new(), s2.tail()).is_err());
    }

    #[test]
    fn a_cut_short_stream_ends_with_its_newest_whole_tail() {
        let (_, _, _, plan) = setup(6);
        let whole = 64 + TAG_LEN as u64;
        // Chunks 0..=8 sealed; the write of chunk 8's tail was cut off (an empty file), and
        // chunk 7's tail, removed only after the next one is whole, is still there.
        let end = cut_short_end(&plan, [(8, 0), (7, whole)]).unwrap().unwrap();
        assert_eq!(end.tail_chunk, 7);
        assert_eq!(end.plan, cut_short_plan(&plan, 8).unwrap().unwrap());
        assert_eq!(end.tail_part, 4);
        assert_eq!(end.tail_part, end.plan.part_count());
        // Any length but a whole sealed chunk is passed over, whatever its index.
        let end = cut_short_end(&plan, [(3, whole), (9, whole - 1), (5, whole + 1)]).unwrap();
        assert_eq!(end.map(|e| (e.tail_chunk, e.tail_part)), Some((3, 2)));
        // A tail that begins a part ends the stream in that part.
        let end = cut_short_end(&plan, [(4, whole)]).unwrap().unwrap();
        assert_eq!((end.tail_part, end.plan.part_count()), (3, 3));
        assert_eq!(cut_short_end(&plan, [(2, 0)]).unwrap(), None);
        assert_eq!(cut_short_end(&plan, []).unwrap(), None);
    }

    #[test]
    fn too_long_takes_nothing() {
        let (_, header, key, _) = setup(5);
        let limits = PartLimits {
            min_part_size: 100,
            max_part_size: 10_000,
            max_parts: 2,
        };
        let plan = GrowingPlan::with_limits(64, 2, limits).unwrap();
        let mut s = GrowingSealer::new(&header, &key, plan).unwrap();
        s.push(&[0; 256]).unwrap();
        assert_eq!(s.push(&[0; 1]), Err(Error::TooLong));
        assert_eq!(s.plaintext_len(), 256);
        assert_eq!(s.finish().unwrap().1.part_count(), 2);
    }
}
