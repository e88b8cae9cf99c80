// An independent implementation of the Cinelock sealed stream format v1, written from
// docs/format.md with nothing but node:crypto, checked against tests/vectors/stream-v1.json.
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
  fail,
  gcmOpen,
  gcmSeal,
  hex,
  keySchedule,
  sha256,
  u32be,
  x25519Base,
} from './hpke.mjs';

// ---------------------------------------------------------------------------------------------
// Constants (docs/format.md, "Constants")

const MAGIC = Buffer.from('CNLK', 'ascii');
const VERSION = 1;
const SUITE = 1;
const HEADER_LEN = 107;
const BOUND_LEN = 27; // magic .. nonce prefix: the HPKE associated data
// TAG_LEN = 16 (AES-GCM tag) comes from ./hpke.mjs
const MIN_CHUNK_SIZE = 64;
const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const MAX_CHUNKS = 2 ** 32;
const SEED_LEN = 71;
const HPKE_INFO = Buffer.from('cinelock sealed stream v1 data key', 'ascii');
const KEY_ID_DOMAIN = Buffer.from('cinelock key id v1', 'ascii');

// ---------------------------------------------------------------------------------------------
// The format (docs/format.md)

const keyId = (publicKey) => sha256(KEY_ID_DOMAIN, publicKey).subarray(0, 8);

function checkChunkSize(cs) {
  if (!(cs >= MIN_CHUNK_SIZE && cs <= MAX_CHUNK_SIZE)) fail('chunk_size', String(cs));
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

// Recovers the data key of a parsed header (wrong_recipient before any cryptography).
function openHeader(header, secretKey) {
  const mine = keyId(x25519Base(secretKey));
  if (!header.keyId.equals(mine)) fail('wrong_recipient', header.keyId.toString('hex'));
  const sharedSecret = decap(header.enc, secretKey);
  const { key, baseNonce } = keySchedule(sharedSecret, HPKE_INFO);
  return gcmOpen(key, baseNonce, header.bytes.subarray(0, BOUND_LEN), header.sealedKey);
}

function chunkCount(plaintextLen, chunkSize) {
  const n = Math.max(1, Math.ceil(plaintextLen / chunkSize));
  if (n > MAX_CHUNKS) fail('too_long');
  return n;
}

function seal(publicKey, chunkSize, seed, plaintext) {
  checkChunkSize(chunkSize);
  assert.equal(seed.length, SEED_LEN);
  const dataKey = seed.subarray(0, 32);
  const noncePrefix = seed.subarray(32, 39);
  const ikmE = seed.subarray(39, 71);

  const bound = boundPrefix(chunkSize, keyId(publicKey), noncePrefix);
  const { sharedSecret, enc } = encap(publicKey, ikmE);
  const { key, baseNonce } = keySchedule(sharedSecret, HPKE_INFO);
  const sealedKey = gcmSeal(key, baseNonce, bound, dataKey);
  const header = Buffer.concat([bound, enc, sealedKey]);
  assert.equal(header.length, HEADER_LEN);

  const aad = sha256(header);
  const n = chunkCount(plaintext.length, chunkSize);
  const out = [header];
  for (let i = 0; i < n; i++) {
    const piece = plaintext.subarray(i * chunkSize, (i + 1) * chunkSize);
    out.push(gcmSeal(dataKey, chunkNonce(noncePrefix, i, i === n - 1), aad, piece));
  }
  return Buffer.concat(out);
}

// The streaming opener of docs/format.md, "Streaming opener".
class StreamOpener {
  constructor(secretKey) {
    this.secretKey = secretKey;
    this.state = 'header';
    this.headerBuf = Buffer.alloc(0);
    this.buf = Buffer.alloc(0);
    this.index = 0;
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
      this.dataKey = openHeader(header, this.secretKey);
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
    if (this.index >= MAX_CHUNKS) fail('decrypt', 'too many chunks');
    const nonce = chunkNonce(this.noncePrefix, this.index, last);
    const plain = gcmOpen(this.dataKey, nonce, this.aad, this.buf);
    this.buf = Buffer.alloc(0);
    this.index += 1;
    return plain;
  }

  // Opens the final chunk. Success here is what proves the stream is complete.
  finish() {
    try {
      if (this.state === 'header') fail('malformed', 'header truncated');
      if (this.state !== 'body') fail('decrypt', 'opener already failed');
      if (this.buf.length === TAG_LEN && this.index > 0) fail('decrypt', 'empty final chunk');
      return this.#openHeld(true);
    } finally {
      this.state = 'failed'; // finished either way
    }
  }
}

// All or nothing.
function open(secretKey, sealed, pieceSize = sealed.length || 1) {
  const opener = new StreamOpener(secretKey);
  const out = [];
  for (let at = 0; at < sealed.length; at += pieceSize) {
    out.push(opener.push(sealed.subarray(at, at + pieceSize)));
  }
  out.push(opener.finish());
  return Buffer.concat(out);
}

// Plaintext length from sealed length (docs/format.md, "Lengths"); null when no canonical
// stream has that length.
function plaintextLen(sealedLen, chunkSize) {
  const body = sealedLen - HEADER_LEN;
  if (body < 0) return null;
  const sc = chunkSize + TAG_LEN;
  const n = Math.max(1, Math.ceil(body / sc));
  const last = body - (n - 1) * sc;
  const ok = n === 1 ? last >= TAG_LEN : last > TAG_LEN;
  if (!ok || n > MAX_CHUNKS) return null;
  return body - TAG_LEN * n;
}

const sealedLen = (ptLen, chunkSize) =>
  HEADER_LEN + ptLen + TAG_LEN * chunkCount(ptLen, chunkSize);

// ---------------------------------------------------------------------------------------------
// The vectors

const doc = JSON.parse(fs.readFileSync(new URL('../vectors/stream-v1.json', import.meta.url)));
const CATEGORIES = new Set(['decrypt', 'malformed', 'unsupported', 'wrong_recipient', 'chunk_size']);

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

describe('recipient keys', () => {
  test('recipient: DeriveKeyPair(ikm) gives secret_key, public_key, key_id', () => {
    recipientFrom(doc.recipient);
  });
  test('other_recipient: DeriveKeyPair(ikm) gives secret_key, public_key, key_id', () => {
    recipientFrom(doc.other_recipient);
  });
});

describe('positive vectors', () => {
  const me = recipientFrom(doc.recipient);
  assert.ok(doc.positive.length >= 8);
  for (const v of doc.positive) {
    const seed = hex(v.seed);
    const pt = hex(v.plaintext);
    const sealed = hex(v.sealed);

    test(`${v.name}: seal reproduces sealed byte for byte`, () => {
      const ours = seal(me.pk, v.chunk_size, seed, pt);
      assert.equal(ours.toString('hex'), v.sealed);
    });

    test(`${v.name}: open gives plaintext`, () => {
      assert.equal(open(me.sk, sealed).toString('hex'), v.plaintext);
    });

    test(`${v.name}: streaming open in 1-, 7- and 81-byte pieces gives plaintext`, () => {
      for (const piece of [1, 7, 81]) {
        assert.equal(open(me.sk, sealed, piece).toString('hex'), v.plaintext, `pieces of ${piece}`);
      }
    });

    test(`${v.name}: lengths and header fields`, () => {
      const h = parseHeader(sealed);
      assert.equal(h.chunkSize, v.chunk_size);
      assert.equal(h.keyId.toString('hex'), doc.recipient.key_id);
      assert.ok(h.noncePrefix.equals(seed.subarray(32, 39)));
      assert.equal(sealedLen(pt.length, v.chunk_size), sealed.length);
      assert.equal(plaintextLen(sealed.length, v.chunk_size), pt.length);
      assert.ok(openHeader(h, me.sk).equals(seed.subarray(0, 32)), 'data key = seed[0..32]');
    });

    test(`${v.name}: random access, last chunk first`, () => {
      const h = parseHeader(sealed);
      const dataKey = openHeader(h, me.sk);
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
  }
});

describe('negative vectors', () => {
  const me = recipientFrom(doc.recipient);
  assert.ok(doc.negative.length >= 20);
  for (const v of doc.negative) {
    const sealed = hex(v.sealed);
    test(`${v.name}: rejected as ${v.error}`, () => {
      assert.ok(CATEGORIES.has(v.error), `unknown category ${v.error}`);
      assert.throws(() => open(me.sk, sealed), expectCode(v.error));
    });

    test(`${v.name}: streaming opener in 7-byte pieces rejects it and releases only whole chunks`, () => {
      const opener = new StreamOpener(me.sk);
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
    });
  }

  test('other_recipient opens the stream sealed for it, and not ours', () => {
    const other = recipientFrom(doc.other_recipient);
    const v = doc.negative.find((x) => x.error === 'wrong_recipient');
    assert.ok(open(other.sk, hex(v.sealed)).length > 0);
    assert.throws(() => open(other.sk, hex(doc.positive[4].sealed)), expectCode('wrong_recipient'));
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

  test('chunk size bounds', () => {
    for (const cs of [0, 16, 63, MAX_CHUNK_SIZE + 1, 2 ** 32 - 1]) {
      assert.throws(() => checkChunkSize(cs), expectCode('chunk_size'));
    }
    for (const cs of [64, 65, 4096, MAX_CHUNK_SIZE]) checkChunkSize(cs);
  });
});
