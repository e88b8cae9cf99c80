// An independent implementation of the Cinelock sealed stream format v2, written from
// docs/format.md (§1-§13) with nothing but node:crypto, checked against
// tests/vectors/stream-v2.json.
//
// Run: node --test tests/spec/

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';

import {
  CinelockError,
  TAG_LEN,
  decap,
  deriveKeyPair,
  encap,
  extractAndExpand,
  fail,
  gcmOpen,
  gcmSeal,
  hex,
  keySchedule,
  pattern,
  sha256,
  u32be,
  x25519,
  x25519Base,
  x25519Unchecked,
} from './hpke.mjs';

// ---------------------------------------------------------------------------------------------
// Constants (docs/format.md §3)

const MAGIC = Buffer.from('CNLK', 'ascii');
const VERSION = 2;
const SUITE = 1;
const HEADER_LEN = 107;
const BOUND_LEN = 27; // magic .. nonce prefix: the HPKE associated data
// TAG_LEN = 16 (AES-GCM tag) comes from ./hpke.mjs
const MIN_CHUNK_SIZE = 64;
const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const MAX_CHUNKS = 2 ** 32;
const SEED_LEN = 71;
const HPKE_INFO = Buffer.from('cinelock sealed stream v2 data key', 'ascii');
const KEY_ID_DOMAIN = Buffer.from('cinelock key id v1', 'ascii');
const MAX_CONTEXT_LEN = 255;
const MAX_STREAM_PLAINTEXT = 2 ** 42;

// ---------------------------------------------------------------------------------------------
// The format (docs/format.md)

const keyId = (publicKey) => sha256(KEY_ID_DOMAIN, publicKey).subarray(0, 8);

function checkChunkSize(cs) {
  if (!(cs >= MIN_CHUNK_SIZE && cs <= MAX_CHUNK_SIZE)) fail('chunk_size', String(cs));
}

// §6.2: info = HPKE_INFO ‖ I2OSP(len(context), 1) ‖ context. A longer context is an argument
// error (`malformed`) before any cryptography.
function hpkeInfo(context) {
  if (context.length > MAX_CONTEXT_LEN) fail('malformed', 'context longer than 255 bytes');
  return Buffer.concat([HPKE_INFO, Buffer.from([context.length]), context]);
}

function boundPrefix(chunkSize, kid, noncePrefix) {
  return Buffer.concat([
    MAGIC,
    Buffer.from([VERSION, SUITE, 0, 0]),
    u32be(chunkSize),
    kid,
    noncePrefix,
  ]);
}

// §9.1 checks 1-5 (check 6 and 7 are in openHeader).
function parseHeader(bytes) {
  if (bytes.length < HEADER_LEN) fail('malformed', 'header truncated');
  const h = bytes.subarray(0, HEADER_LEN);
  if (!h.subarray(0, 4).equals(MAGIC)) fail('malformed', 'bad magic');
  if (h[4] !== VERSION || h[5] !== SUITE) fail('unsupported', `version ${h[4]} suite ${h[5]}`);
  if (h[6] !== 0 || h[7] !== 0) fail('malformed', 'reserved bytes set');
  const chunkSize = h.readUInt32BE(8);
  checkChunkSize(chunkSize);
  return {
    bytes: Buffer.from(h),
    chunkSize,
    keyId: h.subarray(12, 20),
    noncePrefix: h.subarray(20, 27),
    enc: h.subarray(27, 59),
    sealedKey: h.subarray(59, 107),
  };
}

function chunkNonce(noncePrefix, index, last) {
  return Buffer.concat([noncePrefix, u32be(index), Buffer.from([last ? 1 : 0])]);
}

// §9.1 checks 6 and 7: recovers the data key of a parsed header for the expected context
// (wrong_recipient before any cryptography). `allZeroCheck: false` exists only for the tests
// that prove the forged low-order vector is refused by the all-zero check of §6.3 alone.
function openHeader(header, secretKey, context, { allZeroCheck = true } = {}) {
  const info = hpkeInfo(context);
  const mine = keyId(x25519Base(secretKey));
  if (!header.keyId.equals(mine)) fail('wrong_recipient', header.keyId.toString('hex'));
  const sharedSecret = decap(header.enc, secretKey, { allZeroCheck });
  const { key, baseNonce } = keySchedule(sharedSecret, info);
  return gcmOpen(key, baseNonce, header.bytes.subarray(0, BOUND_LEN), header.sealedKey);
}

// §7.1: n = max(1, ceil(P / cs)), n ≤ 2^32 and P ≤ 2^42, else `too_long`.
function chunkCount(plaintextLen, chunkSize) {
  const n = Math.max(1, Math.ceil(plaintextLen / chunkSize));
  if (n > MAX_CHUNKS || plaintextLen > MAX_STREAM_PLAINTEXT) fail('too_long');
  return n;
}

// §6.2 from the shared secret on: the header, given its bound prefix and `enc`.
function wrapDataKey(bound, enc, sharedSecret, context, dataKey) {
  const { key, baseNonce } = keySchedule(sharedSecret, hpkeInfo(context));
  const header = Buffer.concat([bound, enc, gcmSeal(key, baseNonce, bound, dataKey)]);
  assert.equal(header.length, HEADER_LEN);
  return header;
}

// §7.2: the chunks of `plaintext` under a header.
function sealChunks(header, dataKey, noncePrefix, chunkSize, plaintext) {
  const aad = sha256(header);
  const n = chunkCount(plaintext.length, chunkSize);
  const out = [];
  for (let i = 0; i < n; i++) {
    const piece = plaintext.subarray(i * chunkSize, (i + 1) * chunkSize);
    out.push(gcmSeal(dataKey, chunkNonce(noncePrefix, i, i === n - 1), aad, piece));
  }
  return Buffer.concat(out);
}

function seal(publicKey, context, chunkSize, seed, plaintext) {
  hpkeInfo(context); // argument check first
  checkChunkSize(chunkSize);
  assert.equal(seed.length, SEED_LEN);
  const dataKey = seed.subarray(0, 32);
  const noncePrefix = seed.subarray(32, 39);
  const ikmE = seed.subarray(39, 71);
  chunkCount(plaintext.length, chunkSize);

  const bound = boundPrefix(chunkSize, keyId(publicKey), noncePrefix);
  let encapsulated;
  try {
    encapsulated = encap(publicKey, ikmE);
  } catch {
    fail('invalid_key', 'low-order recipient public key'); // §6.2: dh all zero
  }
  const { sharedSecret, enc } = encapsulated;
  const header = wrapDataKey(bound, enc, sharedSecret, context, dataKey);
  return Buffer.concat([header, sealChunks(header, dataKey, noncePrefix, chunkSize, plaintext)]);
}

// The streaming opener of §9.2.
class StreamOpener {
  constructor(secretKey, context) {
    hpkeInfo(context); // a context longer than 255 bytes: `malformed`, before any input
    this.secretKey = secretKey;
    this.context = context;
    this.state = 'header';
    this.headerBuf = Buffer.alloc(0);
    this.buf = Buffer.alloc(0);
    this.index = 0; // i of §9.2
    this.released = 0; // R of §9.2: plaintext bytes released so far
  }

  // Returns the plaintext of every chunk now known authentic.
  push(input) {
    try {
      return this.#push(Buffer.from(input));
    } catch (e) {
      this.state = 'failed';
      throw e;
    }
  }

  #push(input) {
    if (this.state === 'failed') fail('decrypt', 'opener already failed');
    const released = [];
    if (this.state === 'header') {
      const take = Math.min(HEADER_LEN - this.headerBuf.length, input.length);
      this.headerBuf = Buffer.concat([this.headerBuf, input.subarray(0, take)]);
      input = input.subarray(take);
      if (this.headerBuf.length < HEADER_LEN) return Buffer.alloc(0);
      const header = parseHeader(this.headerBuf);
      this.dataKey = openHeader(header, this.secretKey, this.context);
      this.noncePrefix = header.noncePrefix;
      this.aad = sha256(header.bytes);
      this.sealedChunk = header.chunkSize + TAG_LEN;
      this.state = 'body';
    }
    while (input.length > 0) {
      if (this.buf.length === this.sealedChunk) {
        // More bytes follow: the held chunk is not the last one.
        released.push(this.#openHeld(false));
      }
      const take = Math.min(this.sealedChunk - this.buf.length, input.length);
      this.buf = Buffer.concat([this.buf, input.subarray(0, take)]);
      input = input.subarray(take);
    }
    return Buffer.concat(released);
  }

  #openHeld(last) {
    // §9.2 step 2: both bounds, before opening any chunk; nothing of the chunk is released.
    if (this.index >= MAX_CHUNKS) fail('decrypt', 'too many chunks');
    if (this.released + (this.buf.length - TAG_LEN) > MAX_STREAM_PLAINTEXT) {
      fail('decrypt', 'more than 2^42 plaintext bytes');
    }
    const nonce = chunkNonce(this.noncePrefix, this.index, last);
    const plain = gcmOpen(this.dataKey, nonce, this.aad, this.buf);
    this.buf = Buffer.alloc(0);
    this.index += 1;
    this.released += plain.length;
    return plain;
  }

  // Opens the final chunk (§9.2 step 3). Success here is what proves the stream is complete.
  finish() {
    try {
      if (this.state === 'header') fail('malformed', 'header truncated');
      if (this.state !== 'body') fail('decrypt', 'opener already failed');
      if (this.buf.length === TAG_LEN && this.index > 0) fail('decrypt', 'empty final chunk');
      if (this.buf.length < TAG_LEN) fail('decrypt', 'last chunk shorter than a tag');
      return this.#openHeld(true);
    } finally {
      this.state = 'failed'; // finished either way
    }
  }
}

// All or nothing.
function open(secretKey, context, sealed, pieceSize = sealed.length || 1) {
  const opener = new StreamOpener(secretKey, context);
  const out = [];
  for (let at = 0; at < sealed.length; at += pieceSize) {
    out.push(opener.push(sealed.subarray(at, at + pieceSize)));
  }
  out.push(opener.finish());
  return Buffer.concat(out);
}

// Plaintext length from sealed length (§8); null when no canonical stream has that length.
function plaintextLen(sealedLen, chunkSize) {
  const body = sealedLen - HEADER_LEN;
  if (body < 0) return null;
  const sc = chunkSize + TAG_LEN;
  const n = Math.max(1, Math.ceil(body / sc));
  const last = body - (n - 1) * sc;
  const ok = n === 1 ? last >= TAG_LEN : last > TAG_LEN;
  const p = body - TAG_LEN * n;
  if (!ok || n > MAX_CHUNKS || p > MAX_STREAM_PLAINTEXT) return null;
  return p;
}

const sealedLen = (ptLen, chunkSize) =>
  HEADER_LEN + ptLen + TAG_LEN * chunkCount(ptLen, chunkSize);

// ---------------------------------------------------------------------------------------------
// The vectors

const doc = JSON.parse(fs.readFileSync(new URL('../vectors/stream-v2.json', import.meta.url)));
const CATEGORIES = new Set(['decrypt', 'malformed', 'unsupported', 'wrong_recipient', 'chunk_size']);

// §12.3: "the context", C.
const C = Buffer.from('0b5e7c1a-9d2f-4e8b-a6c3-1f4d8e2b7a90', 'ascii');
const FORGED = 'forged with a low-order encapsulated key';
const LOW_ORDER = 'low-order encapsulated key';

function recipientFrom(r) {
  const { sk, pk } = deriveKeyPair(hex(r.ikm));
  assert.equal(sk.toString('hex'), r.secret_key, 'secret key from DeriveKeyPair(ikm)');
  assert.equal(pk.toString('hex'), r.public_key, 'public key from DeriveKeyPair(ikm)');
  assert.equal(keyId(pk).toString('hex'), r.key_id, 'key id');
  // The serialized secret key alone gives back the public key.
  assert.equal(x25519Base(hex(r.secret_key)).toString('hex'), r.public_key);
  return { sk: hex(r.secret_key), pk: hex(r.public_key) };
}

const expectCode = (code) => (e) => {
  assert.ok(e instanceof CinelockError, `not a format error: ${e}`);
  assert.equal(e.code, code);
  return true;
};

// Another context of at most the same length.
const otherContext = (ctx) => {
  if (ctx.length === 0) return Buffer.from([0]);
  const c = Buffer.from(ctx);
  c[c.length - 1] ^= 0x01;
  return c;
};

// §12.2 item 5: unwrap a header's data key with the all-zero check skipped, then open every
// chunk under it (the chunk layer of §9.2, with the header's data key).
function openSkippingAllZeroCheck(sk, context, sealed) {
  const h = parseHeader(sealed);
  const dataKey = openHeader(h, sk, context, { allZeroCheck: false });
  const aad = sha256(h.bytes);
  const sc = h.chunkSize + TAG_LEN;
  const n = chunkCount(plaintextLen(sealed.length, h.chunkSize), h.chunkSize);
  const out = [];
  for (let i = 0; i < n; i++) {
    const chunk = sealed.subarray(HEADER_LEN + i * sc, HEADER_LEN + (i + 1) * sc);
    out.push(gcmOpen(dataKey, chunkNonce(h.noncePrefix, i, i === n - 1), aad, chunk));
  }
  return { dataKey, plaintext: Buffer.concat(out) };
}

describe('recipient keys', () => {
  test('recipient: DeriveKeyPair(ikm) gives secret_key, public_key, key_id', () => {
    recipientFrom(doc.recipient);
  });
  test('other_recipient: DeriveKeyPair(ikm) gives secret_key, public_key, key_id', () => {
    recipientFrom(doc.other_recipient);
  });
  test('§12.1: recipient ikm is pattern(32, 1), other_recipient ikm is pattern(32, 2)', () => {
    assert.equal(doc.format, 'cinelock sealed stream v2 (docs/format.md)');
    assert.equal(doc.recipient.ikm, pattern(32, 1).toString('hex'));
    assert.equal(doc.other_recipient.ikm, pattern(32, 2).toString('hex'));
  });
  test('the RFC 7748 ladder used to skip the all-zero check agrees with node:crypto', () => {
    const me = recipientFrom(doc.recipient);
    const other = recipientFrom(doc.other_recipient);
    assert.ok(x25519Unchecked(me.sk, other.pk).equals(x25519(me.sk, other.pk)));
    assert.ok(x25519Unchecked(other.sk, me.pk).equals(x25519(other.sk, me.pk)));
    // A low-order point: every scalar gives the all-zero result, which the checked X25519 refuses.
    assert.ok(x25519Unchecked(me.sk, Buffer.alloc(32)).equals(Buffer.alloc(32)));
    assert.throws(() => x25519(me.sk, Buffer.alloc(32)), expectCode('decrypt'));
  });
});

describe('positive vectors', () => {
  const me = recipientFrom(doc.recipient);
  assert.ok(doc.positive.length >= 10, 'at least the 10 positive vectors of §12.3');
  for (const v of doc.positive) {
    const seed = hex(v.seed);
    const pt = hex(v.plaintext);
    const sealed = hex(v.sealed);
    const context = hex(v.context);

    test(`${v.name}: seal reproduces sealed byte for byte`, () => {
      const ours = seal(me.pk, context, v.chunk_size, seed, pt);
      assert.equal(ours.toString('hex'), v.sealed);
    });

    test(`${v.name}: open gives plaintext`, () => {
      assert.equal(open(me.sk, context, sealed).toString('hex'), v.plaintext);
    });

    test(`${v.name}: streaming open in 1-, 7- and 81-byte pieces gives plaintext`, () => {
      for (const piece of [1, 7, 81]) {
        assert.equal(
          open(me.sk, context, sealed, piece).toString('hex'),
          v.plaintext,
          `pieces of ${piece}`,
        );
      }
    });

    test(`${v.name}: lengths and header fields`, () => {
      const h = parseHeader(sealed);
      assert.equal(h.bytes[4], VERSION);
      assert.equal(h.chunkSize, v.chunk_size);
      assert.equal(h.keyId.toString('hex'), doc.recipient.key_id);
      assert.ok(h.noncePrefix.equals(seed.subarray(32, 39)));
      assert.equal(sealedLen(pt.length, v.chunk_size), sealed.length);
      assert.equal(plaintextLen(sealed.length, v.chunk_size), pt.length);
      const dataKey = openHeader(h, me.sk, context);
      assert.ok(dataKey.equals(seed.subarray(0, 32)), 'data key = seed[0..32]');
    });

    test(`${v.name}: random access, last chunk first`, () => {
      const h = parseHeader(sealed);
      const dataKey = openHeader(h, me.sk, context);
      const aad = sha256(sealed.subarray(0, HEADER_LEN));
      const cs = h.chunkSize;
      const n = chunkCount(plaintextLen(sealed.length, cs), cs);
      for (let i = n - 1; i >= 0; i--) {
        const off = HEADER_LEN + i * (cs + TAG_LEN);
        const chunk = sealed.subarray(off, Math.min(off + cs + TAG_LEN, sealed.length));
        const last = i === n - 1;
        const plain = gcmOpen(dataKey, chunkNonce(h.noncePrefix, i, last), aad, chunk);
        assert.ok(plain.equals(pt.subarray(i * cs, i * cs + plain.length)), `chunk ${i}`);
        assert.throws(
          () => gcmOpen(dataKey, chunkNonce(h.noncePrefix, i, !last), aad, chunk),
          expectCode('decrypt'),
        );
      }
    });

    test(`${v.name}: opening for any other context fails with decrypt`, () => {
      assert.throws(() => open(me.sk, otherContext(context), sealed), expectCode('decrypt'));
      if (context.length > 0) {
        assert.throws(() => open(me.sk, Buffer.alloc(0), sealed), expectCode('decrypt'));
        const shorter = context.subarray(0, context.length - 1);
        assert.throws(() => open(me.sk, shorter, sealed), expectCode('decrypt'));
      }
      if (context.length < MAX_CONTEXT_LEN) {
        const longer = Buffer.concat([context, Buffer.from('0')]);
        assert.throws(() => open(me.sk, longer, sealed), expectCode('decrypt'));
      }
    });
  }

  test('§12.3: inputs follow the documented patterns, contexts and sizes', () => {
    // name, chunk_size, plaintext bytes, chunks, sealed bytes, context
    const table = [
      ['empty', 64, 0, 1, 123, C],
      ['one byte', 64, 1, 1, 124, C],
      ['chunk minus one', 64, 63, 1, 186, C],
      ['exactly one chunk', 64, 64, 1, 187, C],
      ['chunk plus one', 64, 65, 2, 204, C],
      ['exactly three chunks', 64, 192, 3, 347, C],
      ['many chunks with a short tail', 100, 1234, 13, 1549, C],
      ['larger chunk size', 4096, 10000, 3, 10155, C],
      ['empty context', 64, 100, 2, 239, Buffer.alloc(0)],
      ['255-byte context', 64, 100, 2, 239, pattern(255, 90)],
    ];
    assert.equal(doc.positive.length, table.length);
    table.forEach(([name, cs, ptLen, chunks, sealedBytes, context], k) => {
      const v = doc.positive[k];
      assert.equal(v.name, name);
      assert.equal(v.chunk_size, cs, name);
      assert.equal(v.seed, pattern(71, 10 + k).toString('hex'), `${name}: seed`);
      assert.equal(v.plaintext, pattern(ptLen, 100 + k).toString('hex'), `${name}: plaintext`);
      assert.equal(v.context, context.toString('hex'), `${name}: context`);
      assert.equal(chunkCount(ptLen, cs), chunks, `${name}: chunks`);
      assert.equal(v.sealed.length / 2, sealedBytes, `${name}: sealed bytes`);
    });
  });
});

describe('negative vectors', () => {
  const me = recipientFrom(doc.recipient);
  assert.ok(doc.negative.length >= 32, 'at least the 32 negative vectors of §12.3');
  for (const v of doc.negative) {
    const sealed = hex(v.sealed);
    const context = hex(v.context);
    test(`${v.name}: rejected as ${v.error}`, () => {
      assert.ok(CATEGORIES.has(v.error), `unknown category ${v.error}`);
      assert.throws(() => open(me.sk, context, sealed), expectCode(v.error));
    });

    test(`${v.name}: streaming opener in 7-byte pieces rejects it, releasing whole chunks`, () => {
      const opener = new StreamOpener(me.sk, context);
      let released = 0;
      let err;
      try {
        for (let at = 0; at < sealed.length; at += 7) {
          released += opener.push(sealed.subarray(at, at + 7)).length;
        }
        released += opener.finish().length;
      } catch (e) {
        err = e;
      }
      assert.ok(err, 'accepted');
      expectCode(v.error)(err);
      // Every vector here uses chunk size 64 (or a header that never authenticates).
      assert.equal(released % 64, 0);
      // After an error the opener refuses all further input (§9.2 step 4).
      assert.throws(() => opener.push(Buffer.alloc(1)), expectCode('decrypt'));
    });
  }

  test('other_recipient opens the stream sealed for it, and not ours', () => {
    const other = recipientFrom(doc.other_recipient);
    const v = doc.negative.find((x) => x.name === 'sealed for another recipient');
    assert.equal(v.error, 'wrong_recipient');
    assert.ok(open(other.sk, hex(v.context), hex(v.sealed)).equals(pattern(150, 7)));
    const p = doc.positive[4];
    assert.throws(
      () => open(other.sk, hex(p.context), hex(p.sealed)),
      expectCode('wrong_recipient'),
    );
  });

  test(`${FORGED}: every tag is valid, only the all-zero check refuses it (§12.2 item 5)`, () => {
    const v = doc.negative.find((x) => x.name === FORGED);
    assert.ok(v, 'the forged vector is present');
    const sealed = hex(v.sealed);
    const h = parseHeader(sealed);
    assert.ok(h.enc.equals(Buffer.alloc(32)), 'enc is 32 zero bytes');
    // With the check: the data key does not unwrap.
    assert.throws(() => openHeader(h, me.sk, hex(v.context)), expectCode('decrypt'));
    // Without it: the tag verifies, the data key is seed pattern(71, 44)[0..32], every chunk opens.
    const { dataKey, plaintext } = openSkippingAllZeroCheck(me.sk, hex(v.context), sealed);
    assert.ok(dataKey.equals(pattern(71, 44).subarray(0, 32)), 'data key of pattern(71, 44)');
    assert.ok(plaintext.equals(pattern(150, 7)), 'the base plaintext');
    // The all-zero result does not depend on the secret key: other_recipient's key would do too.
    const other = recipientFrom(doc.other_recipient);
    assert.ok(decap(h.enc, other.sk, { allZeroCheck: false }).length === 32);
  });

  test(`${LOW_ORDER}: refused by the tag too, even with the all-zero check skipped`, () => {
    const v = doc.negative.find((x) => x.name === LOW_ORDER);
    assert.ok(v, 'the low-order vector is present');
    const h = parseHeader(hex(v.sealed));
    assert.ok(h.enc.equals(Buffer.alloc(32)));
    assert.throws(() => openHeader(h, me.sk, hex(v.context)), expectCode('decrypt'));
    assert.throws(
      () => openHeader(h, me.sk, hex(v.context), { allZeroCheck: false }),
      expectCode('decrypt'),
    );
  });

  test('§12.3: every negative vector is built as the table describes', () => {
    const other = recipientFrom(doc.other_recipient);
    const base = seal(me.pk, C, 64, pattern(71, 40), pattern(150, 7));
    assert.equal(base.length, 305);
    const h = base.subarray(0, 107);
    const [c0, c1, c2] = [base.subarray(107, 187), base.subarray(187, 267), base.subarray(267)];
    const edit = (f) => {
      const b = Buffer.from(base);
      f(b);
      return b;
    };
    const cat = (...parts) => Buffer.concat(parts);
    const second = seal(me.pk, C, 64, pattern(71, 42), pattern(150, 7));

    // Empty final chunk after data: a data-key holder reseals two full chunks with last = 0.
    const emptySeed = pattern(71, 41);
    const emptyHeader = seal(me.pk, C, 64, emptySeed, pattern(128, 9)).subarray(0, HEADER_LEN);
    const emptyAad = sha256(emptyHeader);
    const [emptyKey, emptyPrefix] = [emptySeed.subarray(0, 32), emptySeed.subarray(32, 39)];
    const reseal = (i, last, pt) =>
      gcmSeal(emptyKey, chunkNonce(emptyPrefix, i, last), emptyAad, pt);
    const emptyFinal = cat(
      emptyHeader,
      reseal(0, false, pattern(128, 9).subarray(0, 64)),
      reseal(1, false, pattern(128, 9).subarray(64)),
      reseal(2, true, Buffer.alloc(0)),
    );

    // Forged: enc = 32 zero bytes, sealed key from the shared secret of an all-zero X25519 result.
    const forgedSeed = pattern(71, 44);
    const [forgedKey, forgedPrefix] = [forgedSeed.subarray(0, 32), forgedSeed.subarray(32, 39)];
    const forgedBound = boundPrefix(64, keyId(me.pk), forgedPrefix);
    const zeroEnc = Buffer.alloc(32);
    const zeroSecret = extractAndExpand(Buffer.alloc(32), cat(zeroEnc, me.pk));
    const forgedHeader = wrapDataKey(forgedBound, zeroEnc, zeroSecret, C, forgedKey);
    const forged = cat(
      forgedHeader,
      sealChunks(forgedHeader, forgedKey, forgedPrefix, 64, pattern(150, 7)),
    );

    const expected = {
      'flipped bit in first chunk body': [edit((b) => (b[110] ^= 0x01))],
      'flipped bit in last chunk tag': [edit((b) => (b[b.length - 1] ^= 0x01))],
      'flipped bit in the sealed data key': [edit((b) => (b[70] ^= 0x01))],
      'flipped bit in the encapsulated key': [edit((b) => (b[30] ^= 0x01))],
      'flipped bit in the nonce prefix': [edit((b) => (b[22] ^= 0x01))],
      'chunk size field changed': [edit((b) => b.writeUInt32BE(128, 8))],
      'chunk size below the minimum': [edit((b) => b.writeUInt32BE(16, 8))],
      'chunks 0 and 1 swapped': [cat(h, c1, c0, c2)],
      'middle chunk dropped': [cat(h, c0, c2)],
      'last chunk dropped (truncated at a chunk boundary)': [cat(h, c0, c1)],
      'truncated inside the last chunk': [base.subarray(0, base.length - 5)],
      'first chunk duplicated': [cat(h, c0, c0, c1, c2)],
      'last chunk duplicated': [cat(h, c0, c1, c2, c2)],
      'bytes appended after the last chunk': [cat(base, Buffer.from('extra'))],
      'header swapped from another stream': [cat(second.subarray(0, 107), c0, c1, c2)],
      'chunk spliced from another stream': [cat(h, second.subarray(107, 187), c1, c2)],
      'empty final chunk after data': [emptyFinal],
      'header only': [h],
      'truncated header': [base.subarray(0, 50)],
      'bad magic': [edit((b) => (b[0] = 'X'.charCodeAt(0)))],
      'reserved bits set': [edit((b) => (b[7] = 0x01))],
      'unknown version': [edit((b) => (b[4] = 0x03))],
      'sealed for another recipient': [seal(other.pk, C, 64, pattern(71, 43), pattern(150, 7))],
      'unknown suite': [edit((b) => (b[5] = 0x02))],
      'chunk size above the maximum': [edit((b) => b.writeUInt32BE(16777217, 8))],
      'key id changed': [edit((b) => (b[12] ^= 0x80))],
      [LOW_ORDER]: [edit((b) => b.fill(0, 27, 59))],
      [FORGED]: [forged],
      'version 1 stream': [edit((b) => (b[4] = 0x01))],
      'opened for another context': [base, Buffer.from('c4a81f6e-3b2d-4f9a-8e71-6d0b5a2c9f34')],
      'opened for a longer context': [base, cat(C, Buffer.from('0'))],
      'opened for the empty context': [base, Buffer.alloc(0)],
    };
    assert.deepEqual(
      doc.negative.map((v) => v.name).sort(),
      Object.keys(expected).sort(),
      'the vector names are those of the table',
    );
    for (const v of doc.negative) {
      const [sealed, context = C] = expected[v.name];
      assert.equal(v.sealed, sealed.toString('hex'), `${v.name}: sealed`);
      assert.equal(v.context, context.toString('hex'), `${v.name}: context`);
    }
  });
});

describe('contexts and limits', () => {
  const me = recipientFrom(doc.recipient);
  const v = doc.positive.find((x) => x.name === 'exactly three chunks');

  test('a context longer than 255 bytes is malformed, for sealing and for opening', () => {
    const long = Buffer.alloc(MAX_CONTEXT_LEN + 1, 0x61);
    assert.throws(
      () => seal(me.pk, long, 64, hex(v.seed), hex(v.plaintext)),
      expectCode('malformed'),
    );
    assert.throws(() => open(me.sk, long, hex(v.sealed)), expectCode('malformed'));
    assert.throws(() => new StreamOpener(me.sk, long), expectCode('malformed'));
    assert.equal(hpkeInfo(Buffer.alloc(MAX_CONTEXT_LEN)).length, 34 + 1 + 255);
    assert.equal(hpkeInfo(Buffer.alloc(0)).length, 35);
  });

  test('a low-order recipient public key is refused when sealing', () => {
    assert.throws(
      () => seal(Buffer.alloc(32), C, 64, hex(v.seed), hex(v.plaintext)),
      expectCode('invalid_key'),
    );
  });

  // §9.2 step 2: an opener at chunk index i and with R bytes released so far. The counters are
  // set by hand after the header: no test can feed 2^42 bytes.
  const openFrom = (index, released) => {
    const sealed = hex(v.sealed);
    const opener = new StreamOpener(me.sk, hex(v.context));
    assert.equal(opener.push(sealed.subarray(0, HEADER_LEN)).length, 0);
    opener.index = index;
    opener.released = released;
    let out = 0;
    try {
      out += opener.push(sealed.subarray(HEADER_LEN)).length;
      out += opener.finish().length;
    } catch (e) {
      return { error: e, out };
    }
    return { out };
  };

  test('an opener refuses a chunk that would take the plaintext past 2^42 bytes', () => {
    // 192 plaintext bytes in three chunks: exactly 2^42 in all is allowed.
    assert.equal(openFrom(0, MAX_STREAM_PLAINTEXT - 192).out, 192);
    // One byte more: refused before the last chunk opens (its 64 bytes would end at 2^42 + 1).
    const r = openFrom(0, MAX_STREAM_PLAINTEXT - 191);
    expectCode('decrypt')(r.error);
    assert.equal(r.out, 128, 'only the first two chunks were released');
    // Refused at the first chunk, nothing released.
    const r0 = openFrom(0, MAX_STREAM_PLAINTEXT - 63);
    expectCode('decrypt')(r0.error);
    assert.equal(r0.out, 0);
  });

  test('an opener refuses chunk index 2^32 before opening it', () => {
    const r = openFrom(MAX_CHUNKS, 0);
    expectCode('decrypt')(r.error);
    assert.equal(r.out, 0);
  });

  test('sealing more than 2^32 chunks or 2^42 bytes is too_long', () => {
    assert.equal(chunkCount(MAX_STREAM_PLAINTEXT, 1024), MAX_CHUNKS);
    assert.equal(chunkCount(MAX_CHUNKS * 64, 64), MAX_CHUNKS);
    assert.throws(() => chunkCount(MAX_CHUNKS * 64 + 1, 64), expectCode('too_long'));
    assert.throws(() => chunkCount(MAX_STREAM_PLAINTEXT + 1, 4096), expectCode('too_long'));
    assert.throws(
      () => chunkCount(MAX_STREAM_PLAINTEXT + 1, MAX_CHUNK_SIZE),
      expectCode('too_long'),
    );
  });
});

describe('layout arithmetic', () => {
  test('plaintext length round-trips and non-canonical lengths are refused', () => {
    for (const cs of [64, 100, 4096]) {
      for (let len = 0; len <= 3 * cs + 5; len++) {
        assert.equal(plaintextLen(sealedLen(len, cs), cs), len);
      }
      // Valid sealed lengths are exactly the images of sealedLen.
      const valid = new Set();
      for (let len = 0; len <= 4 * cs; len++) valid.add(sealedLen(len, cs));
      for (let L = 0; L <= sealedLen(3 * cs, cs); L++) {
        assert.equal(plaintextLen(L, cs) !== null, valid.has(L), `sealed length ${L}`);
      }
    }
  });

  test('sealed lengths at the maximum size (§8)', () => {
    // cs = 64: 2^32 chunks hold 256 GiB; one more byte needs chunk 2^32.
    const max64 = MAX_CHUNKS * 64;
    assert.equal(plaintextLen(sealedLen(max64, 64), 64), max64);
    assert.equal(plaintextLen(HEADER_LEN + max64 + 1 + 16 * (MAX_CHUNKS + 1), 64), null);
    // cs = 4096: 2^42 bytes; 2^42 + 1 would fit in 2^32 chunks but is over the byte limit.
    for (const cs of [1024, 4096, MAX_CHUNK_SIZE]) {
      assert.equal(plaintextLen(sealedLen(MAX_STREAM_PLAINTEXT, cs), cs), MAX_STREAM_PLAINTEXT);
    }
    const over = MAX_STREAM_PLAINTEXT + 1;
    assert.equal(plaintextLen(HEADER_LEN + over + 16 * Math.ceil(over / 4096), 4096), null);
  });

  test('chunk size bounds', () => {
    for (const cs of [0, 16, 63, MAX_CHUNK_SIZE + 1, 2 ** 32 - 1]) {
      assert.throws(() => checkChunkSize(cs), expectCode('chunk_size'));
    }
    for (const cs of [64, 65, 4096, MAX_CHUNK_SIZE]) checkChunkSize(cs);
  });
});
