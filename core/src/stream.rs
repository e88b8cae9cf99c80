//! Streaming seal and open over caller-owned buffers: constant memory for any stream length.
//!
//! Both sides hold at most one chunk. The opener cannot know a full-size chunk is the last one
//! until more bytes or the end arrive, so it holds each chunk back until then; it releases only
//! authenticated chunks, and [`StreamOpener::finish`] is what proves the stream was not cut
//! short. A consumer must treat everything it received as invalid unless `finish` succeeds.

use crate::chunk::ChunkCipher;
use crate::format::{MAX_STREAM_PLAINTEXT, check_context};
use crate::{
    DataKey, Error, HEADER_LEN, Header, RecipientPublicKey, RecipientSecretKey, SealSeed, TAG_LEN,
};

/// Seals a stream of plaintext pushed in pieces of any size.
#[derive(Debug)]
pub struct StreamSealer {
    cipher: ChunkCipher,
    header: [u8; HEADER_LEN],
    chunk_size: usize,
    next_index: u64,
    /// Plaintext bytes pushed so far (bounded by [`MAX_STREAM_PLAINTEXT`]).
    total: u64,
    buf: Vec<u8>,
}

impl StreamSealer {
    /// Starts a stream sealed to `recipient` for `context` (see
    /// [`RecipientPublicKey::seal_header`]).
    pub fn new(
        recipient: &RecipientPublicKey,
        chunk_size: u32,
        seed: &SealSeed,
        context: &[u8],
    ) -> Result<Self, Error> {
        let (header, key) = recipient.seal_header(chunk_size, seed, context)?;
        Self::with_key(&header, &key)
    }

    /// A sealer for an existing header and data key, starting again at chunk 0.
    ///
    /// Every (key, nonce) pair must only ever seal one plaintext: resealing after a reload is
    /// safe only for the *same* bytes at the same chunk indices, which reproduces the same
    /// ciphertext exactly. New content needs a new header (a fresh [`SealSeed`]).
    pub fn with_key(header: &Header, key: &DataKey) -> Result<Self, Error> {
        crate::format::check_chunk_size(header.chunk_size)?;
        let chunk_size = header.chunk_size as usize;
        Ok(Self {
            cipher: ChunkCipher::new(header, key),
            header: header.to_bytes(),
            chunk_size,
            next_index: 0,
            total: 0,
            buf: Vec::with_capacity(chunk_size + TAG_LEN),
        })
    }

    /// The header, which the stream's consumer must receive before any chunk.
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// The per-chunk cipher, for sealing chunks out of order (parallel upload parts).
    pub fn cipher(&self) -> &ChunkCipher {
        &self.cipher
    }

    /// Feeds plaintext; appends every chunk that is now complete to `out`. More than
    /// [`MAX_STREAM_PLAINTEXT`] bytes in all is [`Error::TooLong`].
    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.total = self
            .total
            .checked_add(input.len() as u64)
            .filter(|t| *t <= MAX_STREAM_PLAINTEXT)
            .ok_or(Error::TooLong)?;
        while !input.is_empty() {
            if self.buf.len() == self.chunk_size {
                // More input follows, so the held chunk is not the last one.
                self.emit(false, out)?;
            }
            let take = (self.chunk_size - self.buf.len()).min(input.len());
            self.buf.extend_from_slice(&input[..take]);
            input = &input[take..];
        }
        Ok(())
    }

    /// Seals the final chunk and appends it to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.emit(true, out)
    }

    fn emit(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), Error> {
        let index = u32::try_from(self.next_index).map_err(|_| Error::TooLong)?;
        self.cipher.seal_chunk(index, last, &mut self.buf);
        out.extend_from_slice(&self.buf);
        self.buf.clear();
        self.next_index += 1;
        Ok(())
    }
}

/// Opens a sealed stream pushed in pieces of any size.
#[derive(Debug)]
pub struct StreamOpener {
    secret: RecipientSecretKey,
    context: Vec<u8>,
    state: OpenState,
}

#[derive(Debug)]
enum OpenState {
    Header(Vec<u8>),
    Body {
        // Boxed: the AES key schedule would make every state as large as this one.
        cipher: Box<ChunkCipher>,
        sealed_chunk: usize,
        next_index: u64,
        /// Plaintext bytes released so far (bounded by [`MAX_STREAM_PLAINTEXT`]).
        released: u64,
        buf: Vec<u8>,
    },
    Failed,
}

impl StreamOpener {
    /// An opener for streams sealed to `secret` for `context`: a stream sealed for any other
    /// context fails with [`Error::Decrypt`] once its header is in. A context longer than 255
    /// bytes is [`Error::Malformed`].
    pub fn new(secret: RecipientSecretKey, context: &[u8]) -> Result<Self, Error> {
        check_context(context)?;
        Ok(Self {
            secret,
            context: context.to_vec(),
            state: OpenState::Header(Vec::with_capacity(HEADER_LEN)),
        })
    }

    /// An opener for a stream whose header was already parsed and whose key is known.
    pub fn with_key(
        secret: RecipientSecretKey,
        header: &Header,
        key: &DataKey,
    ) -> Result<Self, Error> {
        crate::format::check_chunk_size(header.chunk_size)?;
        let sealed_chunk = header.chunk_size as usize + TAG_LEN;
        Ok(Self {
            secret,
            context: Vec::new(),
            state: OpenState::Body {
                cipher: Box::new(ChunkCipher::new(header, key)),
                sealed_chunk,
                next_index: 0,
                released: 0,
                buf: Vec::with_capacity(sealed_chunk),
            },
        })
    }

    /// Feeds sealed bytes; appends the plaintext of every chunk now known authentic to `out`.
    /// After an error the opener refuses all further input.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        let result = self.push_inner(input, out);
        if result.is_err() {
            self.state = OpenState::Failed;
        }
        result
    }

    fn push_inner(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        if let OpenState::Header(h) = &mut self.state {
            let take = (HEADER_LEN - h.len()).min(input.len());
            h.extend_from_slice(&input[..take]);
            input = &input[take..];
            if h.len() < HEADER_LEN {
                return Ok(());
            }
            let header = Header::parse(h)?;
            let key = self.secret.open_header(&header, &self.context)?;
            let context = core::mem::take(&mut self.context);
            *self = Self::with_key(self.secret.clone(), &header, &key)?;
            self.context = context;
        }
        let OpenState::Body {
            cipher,
            sealed_chunk,
            next_index,
            released,
            buf,
        } = &mut self.state
        else {
            return Err(Error::Decrypt);
        };
        while !input.is_empty() {
            if buf.len() == *sealed_chunk {
                // More bytes follow, so the held chunk must not be the last one.
                open_into(cipher, next_index, released, false, buf, out)?;
            }
            let take = (*sealed_chunk - buf.len()).min(input.len());
            buf.extend_from_slice(&input[..take]);
            input = &input[take..];
        }
        Ok(())
    }

    /// Opens the final chunk; succeeds only if the stream ended exactly where its sealer ended it.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self.state {
            OpenState::Body {
                cipher,
                mut next_index,
                mut released,
                mut buf,
                ..
            } => {
                // Only an empty stream may end in an empty chunk.
                if buf.len() == TAG_LEN && next_index > 0 {
                    return Err(Error::Decrypt);
                }
                open_into(&cipher, &mut next_index, &mut released, true, &mut buf, out)
            }
            OpenState::Header(h) if h.len() < HEADER_LEN => {
                Err(Error::Malformed("header truncated"))
            }
            _ => Err(Error::Decrypt),
        }
    }
}

/// Opens the held chunk. Every chunk checks the bounds (index below `2^32`, at most
/// [`MAX_STREAM_PLAINTEXT`] released in all) before anything is released.
fn open_into(
    cipher: &ChunkCipher,
    next_index: &mut u64,
    released: &mut u64,
    last: bool,
    buf: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let index = u32::try_from(*next_index).map_err(|_| Error::Decrypt)?;
    let total = released
        .checked_add(buf.len().saturating_sub(TAG_LEN) as u64)
        .filter(|t| *t <= MAX_STREAM_PLAINTEXT)
        .ok_or(Error::Decrypt)?;
    let plain = cipher.open_chunk(index, last, buf)?;
    out.extend_from_slice(plain);
    buf.clear();
    *next_index += 1;
    *released = total;
    Ok(())
}

/// Seals a whole in-memory plaintext for `context` (convenience over [`StreamSealer`]).
pub fn seal(
    recipient: &RecipientPublicKey,
    chunk_size: u32,
    seed: &SealSeed,
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut sealer = StreamSealer::new(recipient, chunk_size, seed, context)?;
    let mut out = Vec::with_capacity(
        crate::Layout::new(chunk_size)?.sealed_len(plaintext.len() as u64)? as usize,
    );
    out.extend_from_slice(sealer.header());
    sealer.push(plaintext, &mut out)?;
    sealer.finish(&mut out)?;
    Ok(out)
}

/// Opens a whole in-memory sealed stream sealed for `context` (convenience over
/// [`StreamOpener`]); all or nothing.
pub fn open(secret: &RecipientSecretKey, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Error> {
    let mut opener = StreamOpener::new(secret.clone(), context)?;
    let mut out = Vec::with_capacity(sealed.len());
    opener.push(sealed, &mut out)?;
    opener.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Layout, SEED_LEN};

    const CTX: &[u8] = b"asset-1";

    fn key() -> RecipientSecretKey {
        RecipientSecretKey::from_seed(&[7; 32])
    }

    #[test]
    fn one_data_key_seals_at_most_the_stream_limit() {
        let sk = key();
        let seed = SealSeed::from_bytes(&[1; SEED_LEN]);
        let mut sealer = StreamSealer::new(sk.public_key(), 64, &seed, CTX).unwrap();
        // As if 1 TiB less one byte had been sealed already.
        sealer.total = MAX_STREAM_PLAINTEXT - 1;
        let mut out = Vec::new();
        assert_eq!(sealer.push(b"xy", &mut out), Err(Error::TooLong));
        assert!(sealer.push(b"x", &mut out).is_ok());
        let layout = Layout::new(MAX_CHUNK).unwrap();
        assert!(layout.chunk_count(MAX_STREAM_PLAINTEXT).is_ok());
        assert_eq!(
            layout.chunk_count(MAX_STREAM_PLAINTEXT + 1),
            Err(Error::TooLong)
        );
        let at_limit = layout.sealed_len(MAX_STREAM_PLAINTEXT).unwrap();
        assert_eq!(layout.plaintext_len(at_limit), Ok(MAX_STREAM_PLAINTEXT));
        assert_eq!(
            layout.plaintext_len(at_limit + 1 + TAG_LEN as u64),
            Err(Error::Decrypt)
        );
    }

    const MAX_CHUNK: u32 = crate::MAX_CHUNK_SIZE;

    #[test]
    fn the_opener_checks_the_bounds_at_every_chunk() {
        let sk = key();
        let seed = SealSeed::from_bytes(&[2; SEED_LEN]);
        let sealed = seal(sk.public_key(), 64, &seed, CTX, &[5; 200]).unwrap();
        let mut out = Vec::new();
        // Past the plaintext limit: the next full chunk is refused before it is released.
        let mut opener = StreamOpener::new(sk.clone(), CTX).unwrap();
        opener.push(&sealed[..HEADER_LEN], &mut out).unwrap();
        if let OpenState::Body { released, .. } = &mut opener.state {
            *released = MAX_STREAM_PLAINTEXT - 63;
        }
        assert_eq!(
            opener.push(&sealed[HEADER_LEN..], &mut out),
            Err(Error::Decrypt)
        );
        assert!(out.is_empty());
        // Past the last chunk index: refused at the chunk, not only at the end.
        let mut opener = StreamOpener::new(sk.clone(), CTX).unwrap();
        opener.push(&sealed[..HEADER_LEN], &mut out).unwrap();
        if let OpenState::Body { next_index, .. } = &mut opener.state {
            *next_index = 1 << 32;
        }
        assert_eq!(
            opener.push(&sealed[HEADER_LEN..], &mut out),
            Err(Error::Decrypt)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn a_stream_opens_only_for_its_context() {
        let sk = key();
        let seed = SealSeed::from_bytes(&[3; SEED_LEN]);
        let sealed = seal(sk.public_key(), 64, &seed, b"asset-a", b"video").unwrap();
        assert_eq!(open(&sk, b"asset-a", &sealed).unwrap(), b"video");
        for other in [&b"asset-b"[..], b"asset-a ", b"", b"asset-"] {
            assert_eq!(open(&sk, other, &sealed), Err(Error::Decrypt));
        }
    }
}
