// An independent implementation of the Cinelock encrypted media package format v2 (sealed media
// objects, content and source key release, the package manifest), written from docs/format.md
// §14 with nothing but node:crypto, checked against tests/vectors/media-v2.json.
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
  extractAndExpand,
  keySchedule,
  pattern,
  u32be,
  x25519Base,
} from './hpke.mjs';

// ---------------------------------------------------------------------------------------------
// Constants (docs/format.md §14.1)

const OBJECT_MAGIC = Buffer.from('CNLS', 'ascii');
const OBJECT_VERSION = 1;
const OBJECT_SUITE = 1;
const OBJECT_HEADER_LEN = 18;
const OBJECT_OVERHEAD = OBJECT_HEADER_LEN + TAG_LEN; // 34
const MAX_ID_LEN = 255;
const MAX_OBJECT_PLAINTEXT = 2 ** 36 - 32;
const RELEASE_INFO = Buffer.from('cinelock content key release v1', 'ascii');
const SOURCE_RELEASE_INFO = Buffer.from('cinelock source key release v1', 'ascii');
const RELEASE_LEN = 80;
const MANIFEST_VERSION = 2;

// The HPKE info of a released key, by kind (§14.6; the vectors' `kind`, §14.10.1).
const RELEASE_INFOS = { content: RELEASE_INFO, source: SOURCE_RELEASE_INFO };

const KIND_BYTE = { manifest: 0x01, init: 0x02, media: 0x03, poster: 0x04 };

// ---------------------------------------------------------------------------------------------
// Sealed media objects (§14.3) and their paths (§14.4)

// A place: { asset_id, package_id, track_id, kind, index }.
function associatedData(header, place) {
  const parts = [header, Buffer.from([KIND_BYTE[place.kind]]), u32be(place.index)];
  for (const id of [place.asset_id, place.package_id, place.track_id]) {
    const bytes = Buffer.from(id, 'utf8');
    if (bytes.length > MAX_ID_LEN) fail('malformed', 'id longer than 255 bytes');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  return Buffer.concat(parts);
}

function sealObject(contentKey, place, nonce, plaintext) {
  assert.equal(nonce.length, 12);
  if (plaintext.length > MAX_OBJECT_PLAINTEXT) fail('too_long');
  const header = Buffer.concat([OBJECT_MAGIC, Buffer.from([OBJECT_VERSION, OBJECT_SUITE]), nonce]);
  return Buffer.concat([header, gcmSeal(contentKey, nonce, associatedData(header, place), plaintext)]);
}

// §14.3.4: the checks in order, first failure wins. `pinnedNonce` (12 bytes) is the nonce the
// reader knows the object has (§14.5.4: from the manifest, or from the session for the manifest
// itself); null when the reader knows none.
function openObject(contentKey, place, object, pinnedNonce = null) {
  if (object.length < OBJECT_OVERHEAD || !object.subarray(0, 4).equals(OBJECT_MAGIC)) {
    fail('decrypt', 'not an object'); // 1
  }
  if (object[4] !== OBJECT_VERSION || object[5] !== OBJECT_SUITE) {
    fail('unsupported', `version ${object[4]} suite ${object[5]}`); // 2
  }
  if (pinnedNonce !== null && !object.subarray(6, 18).equals(pinnedNonce)) {
    fail('decrypt', 'not the pinned nonce'); // 2a
  }
  const header = object.subarray(0, OBJECT_HEADER_LEN); // 3 (in associatedData), then 4
  const aad = associatedData(header, place);
  return gcmOpen(contentKey, header.subarray(6, 18), aad, object.subarray(OBJECT_HEADER_LEN));
}

function objectPath(place) {
  switch (place.kind) {
    case 'manifest':
      return 'manifest.cnls';
    case 'poster':
      return 'poster.cnls';
    case 'init':
      return `${place.track_id}/init.cnls`;
    case 'media':
      return `${place.track_id}/${String(place.index).padStart(5, '0')}.cnls`;
    default:
      throw new Error(`unknown kind ${place.kind}`);
  }
}

const packagePrefix = (assetId, packageId) => `assets/${assetId}/packages/${packageId}/`;

// ---------------------------------------------------------------------------------------------
// Key release (§14.6): RFC 9180 SealBase / OpenBase, aad = asset id, info by kind: RELEASE_INFO
// for a content key, SOURCE_RELEASE_INFO for a source's data key (a download).

function releaseInfo(kind) {
  const info = RELEASE_INFOS[kind];
  assert.ok(info, `unknown release kind ${kind}`);
  return info;
}

// The AEAD step of SealBase, from the shared secret on (also used to forge a low-order release).
function sealReleased(enc, sharedSecret, kind, assetId, key) {
  const { key: aeadKey, baseNonce } = keySchedule(sharedSecret, releaseInfo(kind));
  return Buffer.concat([enc, gcmSeal(aeadKey, baseNonce, Buffer.from(assetId, 'utf8'), key)]);
}

function releaseKey(kind, playerPublicKey, assetId, key, ikmE) {
  let encapsulated;
  try {
    encapsulated = encap(playerPublicKey, ikmE);
  } catch {
    fail('invalid_key', 'low-order player key');
  }
  return sealReleased(encapsulated.enc, encapsulated.sharedSecret, kind, assetId, key);
}

// The checks of §14.6 in order. `allZeroCheck: false` skips check 2; it exists only for the
// tests that prove the forged low-order vector is refused by that check alone.
function openReleasedKey(kind, playerSecretKey, assetId, released, { allZeroCheck = true } = {}) {
  const info = releaseInfo(kind);
  if (released.length !== RELEASE_LEN) fail('decrypt', 'released key is not 80 bytes'); // 1
  const sharedSecret = decap(released.subarray(0, 32), playerSecretKey, { allZeroCheck }); // 2
  const { key, baseNonce } = keySchedule(sharedSecret, info);
  return gcmOpen(key, baseNonce, Buffer.from(assetId, 'utf8'), released.subarray(32)); // 3
}

// ---------------------------------------------------------------------------------------------
// Manifest parsing (§14.5.1): a strict JSON reader that keeps what JSON.parse loses (duplicate
// members, how a number was written), then the schema.

const bad = (detail) => fail('invalid_manifest', detail);

class JsonNumber {
  constructor(raw) {
    this.raw = raw;
  }
}

function parseJson(bytes) {
  let text;
  try {
    // ignoreBOM keeps a byte order mark in the text, where it is not whitespace: rejected.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    bad('not UTF-8');
  }
  let at = 0;
  const ws = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
  };
  const expect = (c) => {
    if (text[at] !== c) bad(`expected ${c} at ${at}`);
    at++;
  };
  function string() {
    expect('"');
    let out = '';
    for (;;) {
      if (at >= text.length) bad('unterminated string');
      const c = text[at++];
      if (c === '"') break;
      if (c < ' ') bad('control character in string');
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[at++];
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) {
        out += simple[e];
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(at, at + 4))) {
        out += String.fromCharCode(parseInt(text.slice(at, at + 4), 16));
        at += 4;
      } else {
        bad('bad escape');
      }
    }
    if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(out)) {
      bad('unpaired surrogate');
    }
    return out;
  }
  function value() {
    ws();
    const c = text[at];
    if (c === '{') {
      at++;
      const members = new Map();
      ws();
      if (text[at] === '}') {
        at++;
        return members;
      }
      for (;;) {
        ws();
        const k = string();
        if (members.has(k)) bad(`duplicate member ${k}`);
        ws();
        expect(':');
        members.set(k, value());
        ws();
        if (text[at] === ',') {
          at++;
          continue;
        }
        expect('}');
        return members;
      }
    }
    if (c === '[') {
      at++;
      const items = [];
      ws();
      if (text[at] === ']') {
        at++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[at] === ',') {
          at++;
          continue;
        }
        expect(']');
        return items;
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(at, at + 400));
    if (!m) bad(`unexpected input at ${at}`);
    at += m[0].length;
    return new JsonNumber(m[0]);
  }
  const v = value();
  ws();
  if (at !== text.length) bad('trailing characters');
  return v;
}

const U32_MAX = 2n ** 32n - 1n;
const U64_MAX = 2n ** 64n - 1n;

// An object with exactly the listed members: { name: [type, required] }. Absent and null
// optional members both come back as undefined.
function members(v, what, spec) {
  if (!(v instanceof Map)) bad(`${what} is not an object`);
  for (const k of v.keys()) if (!(k in spec)) bad(`unknown member ${what}.${k}`);
  const out = {};
  for (const [k, [type, required]] of Object.entries(spec)) {
    const x = v.get(k);
    if (x === undefined || (x === null && !required)) {
      if (required) bad(`missing ${what}.${k}`);
      continue;
    }
    out[k] = type(x, `${what}.${k}`);
  }
  return out;
}

const integer = (max) => (x, what) => {
  if (!(x instanceof JsonNumber) || !/^(0|[1-9][0-9]*)$/.test(x.raw)) bad(`${what} is not an integer`);
  const n = BigInt(x.raw);
  if (n > max) bad(`${what} is out of range`);
  return n;
};
const u32 = (x, what) => Number(integer(U32_MAX)(x, what));
const u64 = integer(U64_MAX);
const number = (x, what) => {
  if (!(x instanceof JsonNumber)) bad(`${what} is not a number`);
  const n = Number(x.raw);
  if (!Number.isFinite(n)) bad(`${what} is out of range`);
  return n;
};
const string = (x, what) => {
  if (typeof x !== 'string') bad(`${what} is not a string`);
  return x;
};
const oneOf =
  (...names) =>
  (x, what) => {
    if (!names.includes(x)) bad(`${what} is not one of ${names.join(', ')}`);
    return x;
  };
const arrayOf = (item) => (x, what) => {
  if (!Array.isArray(x)) bad(`${what} is not an array`);
  return x.map((e, i) => item(e, `${what}[${i}]`));
};
// A nonce: a string of exactly 24 lowercase hex digits, the object's 12 nonce bytes.
const nonce = (x, what) => {
  if (typeof x !== 'string' || !/^[0-9a-f]{24}$/.test(x)) bad(`${what} is not a nonce`);
  return hex(x);
};
const file = (x, what) =>
  members(x, what, { path: [string, true], size: [u64, true], nonce: [nonce, true] });
const segment = (x, what) =>
  members(x, what, {
    start: [number, true],
    duration: [number, true],
    path: [string, true],
    size: [u64, true],
    nonce: [nonce, true],
  });
const poster = (x, what) =>
  members(x, what, {
    path: [string, true],
    size: [u64, true],
    nonce: [nonce, true],
    mime: [string, true],
    width: [u32, true],
    height: [u32, true],
  });
const track = (x, what) =>
  members(x, what, {
    id: [string, true],
    kind: [oneOf('video', 'audio'), true],
    mime: [string, true],
    codecs: [string, true],
    bandwidth: [u64, true],
    width: [u32, false],
    height: [u32, false],
    init: [file, true],
    segments: [arrayOf(segment), true],
  });

function parseManifest(bytes) {
  return members(parseJson(bytes), 'manifest', {
    version: [u32, true],
    asset_id: [string, true],
    package_id: [string, true],
    kind: [oneOf('full', 'preview'), true],
    duration: [number, true],
    poster: [poster, false],
    tracks: [arrayOf(track), true],
  });
}

// ---------------------------------------------------------------------------------------------
// Manifest validation (§14.5.2, rules M1-M17)

const isId = (s, max) => {
  const len = Buffer.byteLength(s, 'utf8');
  return len >= 1 && len <= max && /^[a-z0-9_-]+$/.test(s);
};
const isPlainPath = (p) =>
  p.length >= 1 &&
  p.length <= 128 &&
  /^[A-Za-z0-9._/-]+$/.test(p) &&
  !p.startsWith('/') &&
  p.split('/').every((c) => c !== '' && c !== '.' && c !== '..');
const checkObject = (path, size) => {
  if (!isPlainPath(path)) bad(`path ${JSON.stringify(path)} is not a plain relative path`);
  if (!(size > BigInt(OBJECT_OVERHEAD))) bad(`${path}: size ${size} is not above 34`);
};

function validateManifest(m) {
  if (m.version !== MANIFEST_VERSION) bad('M1 version'); // M1
  if (!isId(m.asset_id, 64)) bad('M2 asset id'); // M2
  if (!isId(m.package_id, 64)) bad('M3 package id'); // M3
  if (!(Number.isFinite(m.duration) && m.duration > 0)) bad('M4 duration'); // M4
  if (m.poster) checkObject(m.poster.path, m.poster.size); // M5
  if (!m.tracks.some((t) => t.kind === 'video')) bad('M6 no video track'); // M6
  if (m.tracks.filter((t) => t.kind === 'audio').length > 1) bad('M7 two audio tracks'); // M7
  let lastVideoBandwidth = 0n;
  m.tracks.forEach((t, i) => {
    if (!isId(t.id, 32)) bad(`M8 track id ${t.id}`); // M8
    if (m.tracks.slice(0, i).some((o) => o.id === t.id)) bad(`M9 track id ${t.id} repeats`); // M9
    if (t.kind === 'video') {
      if (t.bandwidth < lastVideoBandwidth) bad('M10 video tracks out of bandwidth order'); // M10
      lastVideoBandwidth = t.bandwidth;
      if (!t.width || !t.height) bad(`M11 video track ${t.id} lacks its size`); // M11
    }
    if (t.bandwidth === 0n || t.codecs === '' || t.mime === '') bad(`M12 track ${t.id}`); // M12
    checkObject(t.init.path, t.init.size); // M13
    if (t.segments.length === 0) bad(`M14 track ${t.id} has no segments`); // M14
    let end = 0;
    for (const s of t.segments) {
      checkObject(s.path, s.size); // M15
      if (!(Number.isFinite(s.duration) && s.duration > 0 && Number.isFinite(s.start))) {
        bad(`M16 ${s.path}`); // M16
      }
      if (Math.abs(s.start - end) > 0.001) bad(`M17 ${s.path} starts at ${s.start}, not ${end}`); // M17
      end = s.start + s.duration;
    }
  });
  return m;
}

const readManifest = (bytes) => validateManifest(parseManifest(bytes));

// §14.5.4 steps 1 and 2: open pinned to the manifest's nonce (from the session), parse,
// validate, and check the ids against the place.
function openManifest(contentKey, assetId, packageId, manifestNonce, object) {
  const place = { asset_id: assetId, package_id: packageId, track_id: '', kind: 'manifest', index: 0 };
  const m = readManifest(openObject(contentKey, place, object, manifestNonce));
  if (m.asset_id !== assetId || m.package_id !== packageId) bad('manifest names another package');
  return m;
}

// §14.5.4 step 3: every object a manifest lists, with the place its structure gives it and the
// nonce it lists.
function listedObjects(m) {
  const at = (track_id, kind, index) => ({
    asset_id: m.asset_id,
    package_id: m.package_id,
    track_id,
    kind,
    index,
  });
  const listed = (o, place) => ({ path: o.path, size: o.size, nonce: o.nonce, place });
  const out = [];
  if (m.poster) out.push(listed(m.poster, at('', 'poster', 0)));
  for (const t of m.tracks) {
    out.push(listed(t.init, at(t.id, 'init', 0)));
    t.segments.forEach((s, i) => out.push(listed(s, at(t.id, 'media', i))));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The vectors

const doc = JSON.parse(fs.readFileSync(new URL('../vectors/media-v2.json', import.meta.url)));
const CODES = new Set(['decrypt', 'unsupported', 'malformed', 'invalid_manifest']);

const placeOf = (v) => ({
  asset_id: v.asset_id,
  package_id: v.package_id,
  track_id: v.track_id,
  kind: v.kind,
  index: v.index,
});

const expectCode = (code) => (e) => {
  assert.ok(e instanceof CinelockError, `not a format error: ${e}`);
  assert.equal(e.code, code);
  return true;
};

function playerFrom(p) {
  const { sk, pk } = deriveKeyPair(hex(p.ikm));
  assert.equal(sk.toString('hex'), p.secret_key, 'secret key from DeriveKeyPair(ikm)');
  assert.equal(pk.toString('hex'), p.public_key, 'public key from DeriveKeyPair(ikm)');
  assert.equal(x25519Base(hex(p.secret_key)).toString('hex'), p.public_key);
  return { sk, pk };
}

const OTHER_ASSET = 'c4a81f6e-3b2d-4f9a-8e71-6d0b5a2c9f34';
const OTHER_PACKAGE = 'e2f47b1c-'; // §14.10.3 abbreviates it; the vectors give it in full
const OLDER_OBJECT = 'older object at the same place (another nonce than the manifest lists)';
const FORGED_RELEASE = 'forged with a low-order enc (valid tag under the all-zero secret)';
const LOW_ORDER_RELEASE = 'enc replaced by a low-order point (all zero)';

describe('sealed media objects: positive vectors', () => {
  assert.ok(doc.objects.positive.length >= 16, 'the 11 + 5 positive objects of §14.10.3');
  for (const v of doc.objects.positive) {
    const place = placeOf(v);
    const key = hex(v.key);
    const sealed = hex(v.sealed);
    const pt = hex(v.plaintext);

    test(`${v.name}: associated data, sealed bytes and path`, () => {
      assert.equal(
        associatedData(sealed.subarray(0, OBJECT_HEADER_LEN), place).toString('hex'),
        v.associated_data,
      );
      assert.equal(sealObject(key, place, hex(v.nonce), pt).toString('hex'), v.sealed);
      assert.equal(sealed.length, pt.length + OBJECT_OVERHEAD);
      assert.equal(sealed.subarray(6, 18).toString('hex'), v.nonce, 'nonce = object[6..18]');
      assert.equal(objectPath(place), v.path);
    });

    test(`${v.name}: opens to the plaintext at its place only`, () => {
      assert.equal(openObject(key, place, sealed).toString('hex'), v.plaintext);
      const kinds = Object.keys(KIND_BYTE).filter((k) => k !== place.kind);
      // Another id of at most the same length.
      const alter = (id) => (id === '' ? 'x' : id.slice(0, -1) + (id.endsWith('x') ? 'y' : 'x'));
      for (const other of [
        { ...place, index: place.index + 1 },
        { ...place, kind: kinds[0] },
        { ...place, track_id: alter(place.track_id) },
        { ...place, package_id: alter(place.package_id) },
        { ...place, asset_id: alter(place.asset_id) },
      ]) {
        assert.throws(() => openObject(key, other, sealed), expectCode('decrypt'));
      }
    });

    test(`${v.name}: opens pinned to its own nonce, and not pinned to another (check 2a)`, () => {
      assert.equal(openObject(key, place, sealed, hex(v.nonce)).toString('hex'), v.plaintext);
      const other = hex(v.nonce);
      other[11] ^= 0x01;
      assert.throws(() => openObject(key, place, sealed, other), expectCode('decrypt'));
    });
  }

  test('§14.10.3: nonces, plaintexts, places and sizes follow the documented patterns', () => {
    assert.equal(doc.format, 'cinelock encrypted media package v2 (docs/format.md)');
    assert.equal(doc.content_key, pattern(32, 50).toString('hex'));
    assert.equal(doc.other_content_key, pattern(32, 51).toString('hex'));
    const pkg = doc.package;
    assert.equal(pkg.asset_id, '0b5e7c1a-9d2f-4e8b-a6c3-1f4d8e2b7a90');
    assert.equal(pkg.package_id, '6a1d3f9e-2c4b-4d7a-8e5f-0b9c2a7d4e13');
    // name, kind, track, index, plaintext bytes, sealed bytes
    const packageTable = [
      ['poster', 'poster', '', 0, 700, 734],
      ['v240 init segment', 'init', 'v240', 0, 96, 130],
      ['v240 media segment 0', 'media', 'v240', 0, 1500, 1534],
      ['v240 media segment 1', 'media', 'v240', 1, 1100, 1134],
      ['v360 init segment', 'init', 'v360', 0, 96, 130],
      ['v360 media segment 0', 'media', 'v360', 0, 2600, 2634],
      ['v360 media segment 1 (multi-KiB)', 'media', 'v360', 1, 6000, 6034],
      ['a128 init segment', 'init', 'a128', 0, 64, 98],
      ['a128 media segment 0', 'media', 'a128', 0, 800, 834],
      ['a128 media segment 1', 'media', 'a128', 1, 150, 184],
      ['manifest', 'manifest', '', 0, 1476, 1510],
    ];
    assert.deepEqual(pkg.objects, packageTable.map((r) => r[0]));
    packageTable.forEach(([name, kind, track, index, ptLen, sealedLen], k) => {
      const v = doc.objects.positive.find((x) => x.name === name);
      assert.ok(v, name);
      assert.deepEqual(placeOf(v), { ...placeOf(pkg), track_id: track, kind, index }, name);
      assert.equal(v.key, doc.content_key, `${name}: key`);
      assert.equal(v.nonce, pattern(12, 20 + k).toString('hex'), `${name}: nonce`);
      const plaintext = name === 'manifest' ? Buffer.from(pkg.manifest) : pattern(ptLen, 100 + k);
      assert.equal(v.plaintext, plaintext.toString('hex'), `${name}: plaintext`);
      assert.equal(v.plaintext.length / 2, ptLen, `${name}: plaintext bytes`);
      assert.equal(v.sealed.length / 2, sealedLen, `${name}: sealed bytes`);
    });
    // The five objects outside the package. The table abbreviates one package id as `e2f47b1c-…`.
    const outside = doc.objects.positive.filter((v) => !pkg.objects.includes(v.name));
    const e2f = outside[0].package_id;
    assert.ok(e2f.startsWith(OTHER_PACKAGE), 'package e2f47b1c-…');
    const place = (asset_id, package_id, track_id, kind, index) =>
      ({ asset_id, package_id, track_id, kind, index });
    const a = pkg.asset_id;
    // name, plaintext bytes, place, key
    const edgeTable = [
      ['empty plaintext', 0, place(a, e2f, 'v240', 'media', 0)],
      ['index above 2^24 (big-endian index)', 33, place(a, e2f, 'v360', 'media', 0x01020304)],
      ['255-byte ids', 17, place('a'.repeat(255), 'b'.repeat(255), 'c'.repeat(255), 'init', 0)],
      ['non-ASCII track id (lengths count UTF-8 bytes)', 40, place(a, e2f, 'vidéo-1', 'media', 1)],
      ['another content key', 64, place(OTHER_ASSET, pkg.package_id, 'v240', 'media', 0), 'other'],
    ];
    assert.deepEqual(outside.map((v) => v.name), edgeTable.map((r) => r[0]));
    edgeTable.forEach(([name, ptLen, expectedPlace, key], k) => {
      const v = outside[k];
      assert.deepEqual(placeOf(v), expectedPlace, `${name}: place`);
      const expectedKey = key === 'other' ? doc.other_content_key : doc.content_key;
      assert.equal(v.key, expectedKey, `${name}: key`);
      assert.equal(v.nonce, pattern(12, 40 + k).toString('hex'), `${name}: nonce`);
      assert.equal(v.plaintext, pattern(ptLen, 140 + k).toString('hex'), `${name}: plaintext`);
    });
    assert.equal(Buffer.byteLength('vidéo-1', 'utf8'), 8, '"vidéo-1" is 8 bytes');
  });
});

describe('sealed media objects: negative vectors', () => {
  assert.ok(doc.objects.negative.length >= 33, 'the 33 negative objects of §14.10.3');
  const pinned = doc.objects.negative.filter((v) => 'pinned_nonce' in v);
  assert.equal(pinned.length, 1, 'one vector has pinned_nonce');
  for (const v of doc.objects.negative) {
    test(`${v.name}: rejected as ${v.error}`, () => {
      assert.ok(CODES.has(v.error), `unknown code ${v.error}`);
      const pinned = v.pinned_nonce === undefined ? null : hex(v.pinned_nonce);
      assert.throws(
        () => openObject(hex(v.key), placeOf(v), hex(v.sealed), pinned),
        expectCode(v.error),
      );
    });
  }

  test(`${OLDER_OBJECT}: opens without the pin, only check 2a refuses it`, () => {
    const v = doc.objects.negative.find((x) => x.name === OLDER_OBJECT);
    assert.ok(v, 'the vector is present');
    const base = doc.objects.positive.find((x) => x.name === 'a128 media segment 1');
    assert.equal(v.pinned_nonce, base.nonce, "pinned to the base's nonce (the manifest lists it)");
    assert.deepEqual(placeOf(v), placeOf(base));
    const sealed = hex(v.sealed);
    assert.equal(sealed.subarray(6, 18).toString('hex'), pattern(12, 45).toString('hex'));
    const unpinned = openObject(hex(v.key), placeOf(v), sealed);
    assert.ok(unpinned.equals(pattern(150, 145)), 'authentic at its place without the pin');
    assert.throws(
      () => openObject(hex(v.key), placeOf(v), sealed, hex(v.pinned_nonce)),
      expectCode('decrypt'),
    );
  });

  test('§14.10.3: every negative object is built as the table describes', () => {
    const byName = (n) => doc.objects.positive.find((x) => x.name === n);
    const baseV = byName('a128 media segment 1');
    const base = hex(baseV.sealed);
    const at = placeOf(baseV);
    const key = doc.content_key;
    const otherPackage = byName('empty plaintext').package_id;
    const edit = (b, f) => {
      const c = Buffer.from(b);
      f(c);
      return c;
    };
    const seg0 = byName('a128 media segment 0');
    // name: [sealed, place, key]
    const expected = {
      'index changed': [base, { ...at, index: 2 }],
      'kind changed to init': [base, { ...at, kind: 'init' }],
      'track id changed': [base, { ...at, track_id: 'v240' }],
      'package id changed': [base, { ...at, package_id: otherPackage }],
      'asset id changed': [base, { ...at, asset_id: OTHER_ASSET }],
      'asset id one byte longer': [base, { ...at, asset_id: `${at.asset_id}0` }],
      'a byte moved from the package id to the asset id': [
        base,
        { ...at, asset_id: at.asset_id + at.package_id[0], package_id: at.package_id.slice(1) },
      ],
      'a byte moved from the track id to the package id': [
        base,
        { ...at, package_id: `${at.package_id}a`, track_id: '128' },
      ],
      'wrong content key': [base, at, doc.other_content_key],
      'segments 0 and 1 swapped': [hex(seg0.sealed), at],
      'segment of another track at the same index': [
        hex(byName('v240 media segment 1').sealed),
        at,
      ],
      'init segment presented as media segment 0': [
        hex(byName('v240 init segment').sealed),
        { ...at, track_id: 'v240', kind: 'media', index: 0 },
      ],
      'init segment of another track': [
        hex(byName('v240 init segment').sealed),
        { ...at, track_id: 'v360', kind: 'init', index: 0 },
      ],
      'manifest presented as poster': [
        hex(byName('manifest').sealed),
        { ...at, track_id: '', kind: 'poster', index: 0 },
      ],
      'poster presented as manifest': [
        hex(byName('poster').sealed),
        { ...at, track_id: '', kind: 'manifest', index: 0 },
      ],
      'manifest opened with a track id': [
        hex(byName('manifest').sealed),
        { ...at, track_id: 'v240', kind: 'manifest', index: 0 },
      ],
      'flipped bit in the nonce': [edit(base, (b) => (b[10] ^= 0x01)), at],
      'flipped bit in the ciphertext': [edit(base, (b) => (b[23] ^= 0x01)), at],
      'flipped bit in the tag': [edit(base, (b) => (b[b.length - 1] ^= 0x80)), at],
      'truncated by one byte': [base.subarray(0, base.length - 1), at],
      'ciphertext dropped (header and tag only)': [
        Buffer.concat([base.subarray(0, 18), base.subarray(base.length - 16)]),
        at,
      ],
      'shorter than the overhead (33 bytes)': [base.subarray(0, 33), at],
      'empty input': [Buffer.alloc(0), at],
      'one byte appended': [Buffer.concat([base, Buffer.from([0])]), at],
      'bad magic': [edit(base, (b) => (b[0] = 'X'.charCodeAt(0))), at],
      'sealed stream magic CNLK': [edit(base, (b) => (b[3] = 'K'.charCodeAt(0))), at],
      'unknown version': [edit(base, (b) => (b[4] = 0x02)), at],
      'unknown suite': [edit(base, (b) => (b[5] = 0x02)), at],
      'unknown version on an input shorter than the overhead': [
        edit(base.subarray(0, 20), (b) => (b[4] = 0x02)),
        at,
      ],
      'empty object with a flipped tag bit': [
        edit(hex(byName('empty plaintext').sealed), (b) => (b[18] ^= 0x01)),
        placeOf(byName('empty plaintext')),
      ],
      'track id longer than 255 bytes': [base, { ...at, track_id: 'c'.repeat(256) }],
      'nonce replaced by another object\'s': [
        edit(base, (b) => hex(seg0.nonce).copy(b, 6)),
        at,
      ],
      [OLDER_OBJECT]: [sealObject(hex(key), at, pattern(12, 45), pattern(150, 145)), at],
    };
    assert.deepEqual(
      doc.objects.negative.map((v) => v.name).sort(),
      Object.keys(expected).sort(),
      'the vector names are those of the table',
    );
    for (const v of doc.objects.negative) {
      const [sealed, place, k = key] = expected[v.name];
      assert.equal(v.sealed, sealed.toString('hex'), `${v.name}: input`);
      assert.deepEqual(placeOf(v), place, `${v.name}: place`);
      assert.equal(v.key, k, `${v.name}: key`);
    }
  });
});

describe('key release', () => {
  const r = doc.key_release;
  const player = playerFrom(r.player);
  const other = playerFrom(r.other_player);
  const otherKind = { content: 'source', source: 'content' };
  assert.ok(r.positive.length >= 3, 'the 3 positive releases of §14.10.3');
  assert.ok(r.negative.length >= 19, 'the 19 negative releases of §14.10.3');

  for (const v of r.positive) {
    test(`${v.name}: release reproduces the bytes and opens for its player and kind only`, () => {
      const released = releaseKey(v.kind, player.pk, v.asset_id, hex(v.key), hex(v.ephemeral));
      assert.equal(released.toString('hex'), v.released);
      assert.equal(released.length, RELEASE_LEN);
      const opened = openReleasedKey(v.kind, player.sk, v.asset_id, hex(v.released));
      assert.equal(opened.toString('hex'), v.key);
      assert.throws(
        () => openReleasedKey(v.kind, other.sk, v.asset_id, hex(v.released)),
        expectCode('decrypt'),
      );
      // Domain separation: a content key release does not open as a source key, nor the reverse.
      assert.throws(
        () => openReleasedKey(otherKind[v.kind], player.sk, v.asset_id, hex(v.released)),
        expectCode('decrypt'),
      );
    });
  }

  for (const v of r.negative) {
    test(`${v.name} (opened as a ${v.kind} key): rejected as ${v.error}`, () => {
      assert.ok(v.kind in RELEASE_INFOS, `unknown kind ${v.kind}`);
      assert.throws(
        () => openReleasedKey(v.kind, player.sk, v.asset_id, hex(v.released)),
        expectCode(v.error),
      );
    });
  }

  test(`${FORGED_RELEASE}: the tag is valid, only check 2 refuses it`, () => {
    const v = r.negative.find((x) => x.name === FORGED_RELEASE);
    assert.ok(v, 'the forged release is present');
    const released = hex(v.released);
    assert.ok(released.subarray(0, 32).equals(Buffer.alloc(32)), 'enc is 32 zero bytes');
    assert.throws(
      () => openReleasedKey(v.kind, player.sk, v.asset_id, released),
      expectCode('decrypt'),
    );
    const skipped = { allZeroCheck: false };
    const opened = openReleasedKey(v.kind, player.sk, v.asset_id, released, skipped);
    assert.equal(opened.toString('hex'), doc.content_key, 'check 2 skipped: the content key');
  });

  test(`${LOW_ORDER_RELEASE}: refused by the tag too, even with check 2 skipped`, () => {
    const v = r.negative.find((x) => x.name === LOW_ORDER_RELEASE);
    assert.ok(v, 'the low-order release is present');
    const skipped = { allZeroCheck: false };
    assert.throws(
      () => openReleasedKey(v.kind, player.sk, v.asset_id, hex(v.released), skipped),
      expectCode('decrypt'),
    );
  });

  test('a low-order player key is refused when releasing', () => {
    for (const kind of ['content', 'source']) {
      assert.throws(
        () => releaseKey(kind, Buffer.alloc(32), 'a', Buffer.alloc(32), Buffer.alloc(32, 1)),
        expectCode('invalid_key'),
      );
    }
  });

  test('§14.10.3: the player keys and releases are built as the text and table describe', () => {
    assert.equal(r.player.ikm, pattern(32, 60).toString('hex'));
    assert.equal(r.other_player.ikm, pattern(32, 61).toString('hex'));
    const asset = doc.package.asset_id;
    const positives = [
      ['content', asset, doc.content_key, pattern(32, 70)],
      ['content', OTHER_ASSET, doc.other_content_key, pattern(32, 71)],
      ['source', asset, pattern(32, 52).toString('hex'), pattern(32, 74)],
    ];
    assert.equal(r.positive.length, positives.length);
    positives.forEach(([kind, assetId, key, ephemeral], k) => {
      const v = r.positive[k];
      assert.deepEqual(
        [v.kind, v.asset_id, v.key, v.ephemeral],
        [kind, assetId, key, ephemeral.toString('hex')],
        v.name,
      );
    });
    const rel = hex(r.positive[0].released);
    const s = hex(r.positive[2].released);
    const cat = (...parts) => Buffer.concat(parts);
    const edit = (f) => {
      const b = Buffer.from(rel);
      f(b);
      return b;
    };
    const zeroSecret = extractAndExpand(Buffer.alloc(32), cat(Buffer.alloc(32), player.pk));
    // name: [input, asset id, kind]
    const expected = {
      "another asset's id": [rel, OTHER_ASSET, 'content'],
      'asset id one byte shorter': [rel, asset.slice(0, -1), 'content'],
      'asset id in upper case': [rel, asset.toUpperCase(), 'content'],
      'empty asset id': [rel, '', 'content'],
      'sealed to another player': [
        releaseKey('content', other.pk, asset, hex(doc.content_key), pattern(32, 72)),
        asset,
        'content',
      ],
      'flipped bit in enc': [edit((b) => (b[5] ^= 0x01)), asset, 'content'],
      'flipped bit in the sealed key': [edit((b) => (b[40] ^= 0x01)), asset, 'content'],
      'flipped bit in the tag': [edit((b) => (b[79] ^= 0x01)), asset, 'content'],
      'truncated by one byte': [rel.subarray(0, 79), asset, 'content'],
      'one byte appended': [cat(rel, Buffer.from([0])), asset, 'content'],
      'empty input': [Buffer.alloc(0), asset, 'content'],
      [LOW_ORDER_RELEASE]: [cat(Buffer.alloc(32), rel.subarray(32)), asset, 'content'],
      'enc of another release': [
        cat(hex(r.positive[1].released).subarray(0, 32), rel.subarray(32)),
        asset,
        'content',
      ],
      // Only its enc follows from the text alone: the sealed key's associated data is the
      // stream header's bound prefix, whose chunk size §14.10.3 does not give (checked below).
      "a sealed stream's wrapped data key (other info and aad)": [null, asset, 'content'],
      [FORGED_RELEASE]: [
        sealReleased(Buffer.alloc(32), zeroSecret, 'content', asset, hex(doc.content_key)),
        asset,
        'content',
      ],
      'a source key release': [s, asset, 'content'],
      'a source key release, for the asset id + "/source"': [s, `${asset}/source`, 'content'],
      'a content key release': [rel, asset, 'source'],
      "another asset's id (kind source)": [s, OTHER_ASSET, 'source'],
    };
    // Two vectors share the name "another asset's id"; the table tells them apart by kind.
    const keyOf = (v) =>
      v.kind === 'source' && v.name === "another asset's id" ? `${v.name} (kind source)` : v.name;
    assert.deepEqual(
      r.negative.map(keyOf).sort(),
      Object.keys(expected).sort(),
      'the names of the table',
    );
    for (const v of r.negative) {
      const [input, assetId, kind] = expected[keyOf(v)];
      if (input !== null) assert.equal(v.released, input.toString('hex'), `${keyOf(v)}: input`);
      assert.equal(v.asset_id, assetId, `${keyOf(v)}: asset id`);
      assert.equal(v.kind, kind, `${keyOf(v)}: kind`);
    }
    // The last two are the ones opened as source keys.
    assert.deepEqual(r.negative.slice(-2).map((v) => v.kind), ['source', 'source']);
    assert.ok(r.negative.slice(0, -2).every((v) => v.kind === 'content'));
    // The sealed stream's wrapped key: enc is the ephemeral public key of ikmE = seed[39..71].
    const stream = r.negative.find((x) => x.name.startsWith("a sealed stream's wrapped data key"));
    assert.equal(stream.released.length / 2, RELEASE_LEN);
    const pkE = deriveKeyPair(pattern(71, 73).subarray(39, 71)).pk;
    assert.equal(stream.released.slice(0, 64), pkE.toString('hex'), 'enc = pkE of seed[39..71]');
  });
});

describe('the package', () => {
  const pkg = doc.package;
  const byName = new Map(doc.objects.positive.map((v) => [v.name, v]));
  const members = pkg.objects.map((n) => byName.get(n));
  // The manifest's nonce comes from the session, with the package id (§14.5.4).
  const manifestNonce = hex(byName.get('manifest').nonce);

  test('a player with a released key opens the manifest and every object it lists, pinned', () => {
    assert.ok(members.every(Boolean));
    const player = playerFrom(doc.key_release.player);
    const release = doc.key_release.positive[0];
    assert.equal(release.asset_id, pkg.asset_id);
    assert.equal(release.kind, 'content');
    const contentKey = openReleasedKey('content', player.sk, pkg.asset_id, hex(release.released));
    assert.equal(contentKey.toString('hex'), doc.content_key);

    // The bucket: keys under the package prefix.
    const prefix = packagePrefix(pkg.asset_id, pkg.package_id);
    const bucket = new Map();
    for (const v of members) {
      assert.ok(!bucket.has(prefix + v.path), `${v.path} twice`);
      bucket.set(prefix + v.path, hex(v.sealed));
    }

    const manifestObject = bucket.get(`${prefix}manifest.cnls`);
    const m = openManifest(contentKey, pkg.asset_id, pkg.package_id, manifestNonce, manifestObject);
    assert.equal(m.version, MANIFEST_VERSION);
    const manifestPlace = placeOf({ ...pkg, track_id: '', kind: 'manifest', index: 0 });
    assert.equal(
      openObject(contentKey, manifestPlace, manifestObject, manifestNonce).toString(),
      pkg.manifest,
    );
    // The same manifest opened as another package's is refused by the ids check or the tag.
    const anotherPackage = `${pkg.package_id}x`;
    assert.throws(
      () => openManifest(contentKey, pkg.asset_id, anotherPackage, manifestNonce, manifestObject),
      expectCode('decrypt'),
    );
    // Pinned to another nonce than the session's, it is refused before the tag check.
    const wrongNonce = Buffer.from(manifestNonce);
    wrongNonce[0] ^= 0x01;
    assert.throws(
      () => openManifest(contentKey, pkg.asset_id, pkg.package_id, wrongNonce, manifestObject),
      expectCode('decrypt'),
    );

    const listed = listedObjects(m);
    assert.equal(listed.length + 1, members.length, 'the manifest lists every other object');
    for (const o of listed) {
      const sealed = bucket.get(prefix + o.path);
      assert.ok(sealed, `${o.path} is in the bucket`);
      assert.equal(BigInt(sealed.length), o.size, `${o.path}: size`);
      assert.ok(sealed.subarray(6, 18).equals(o.nonce), `${o.path}: listed nonce`);
      assert.equal(objectPath(o.place), o.path, `${o.path}: canonical path`);
      const pt = openObject(contentKey, o.place, sealed, o.nonce);
      const v = members.find((x) => x.path === o.path);
      assert.equal(pt.toString('hex'), v.plaintext);
    }
    assert.equal(new Set(listed.map((o) => o.path)).size, listed.length, 'distinct objects');

    // Writer rules beyond validation (§14.5.3) hold for this manifest.
    const video = m.tracks.filter((t) => t.kind === 'video');
    assert.equal(m.tracks.at(-1).kind, 'audio');
    assert.ok(video.every((t, i) => i === 0 || video[i - 1].bandwidth <= t.bandwidth));
    const ends = m.tracks.map((t) => t.segments.at(-1).start + t.segments.at(-1).duration);
    assert.equal(m.duration, Math.max(...ends));
    for (const t of m.tracks) {
      const peak = Math.max(...t.segments.map((s) => Math.ceil((Number(s.size) * 8) / s.duration)));
      assert.equal(t.bandwidth, BigInt(peak), `${t.id}: peak bandwidth`);
    }
  });

  test('an older object at a listed place is refused when pinned to the listed nonce', () => {
    const contentKey = hex(doc.content_key);
    const m = readManifest(Buffer.from(pkg.manifest));
    for (const o of listedObjects(m)) {
      const earlier = Buffer.from('an earlier attempt');
      const older = sealObject(contentKey, o.place, Buffer.alloc(12, 0xee), earlier);
      assert.equal(openObject(contentKey, o.place, older).toString(), 'an earlier attempt');
      assert.throws(() => openObject(contentKey, o.place, older, o.nonce), expectCode('decrypt'));
    }
  });

  test('a manifest naming another package than its place is refused', () => {
    const contentKey = hex(doc.content_key);
    const text = pkg.manifest.replace(pkg.package_id, 'another-package');
    const place = placeOf({ ...pkg, track_id: '', kind: 'manifest', index: 0 });
    const nonce = Buffer.alloc(12, 7);
    const sealed = sealObject(contentKey, place, nonce, Buffer.from(text));
    assert.throws(
      () => openManifest(contentKey, pkg.asset_id, pkg.package_id, nonce, sealed),
      expectCode('invalid_manifest'),
    );
  });
});

describe('manifest rules', () => {
  assert.ok(doc.manifests.valid.length >= 14, 'the 14 valid manifests of §14.10.3');
  assert.ok(doc.manifests.invalid.length >= 50);
  for (const v of doc.manifests.valid) {
    test(`valid: ${v.name}`, () => {
      readManifest(Buffer.from(v.json, 'utf8'));
    });
  }
  for (const v of doc.manifests.invalid) {
    test(`invalid: ${v.name}`, () => {
      assert.throws(() => readManifest(Buffer.from(v.json, 'utf8')), expectCode(v.error));
    });
  }
  test('the top level must be an object, not an array', () => {
    assert.throws(() => readManifest(Buffer.from('[1]')), expectCode('invalid_manifest'));
  });
  test('nonces: exactly 24 lowercase hex digits', () => {
    const good = '1433527190afceed0c2b4a69';
    const withPosterNonce = (n) => {
      const m = JSON.parse(doc.package.manifest);
      m.poster.nonce = n;
      return Buffer.from(JSON.stringify(m));
    };
    assert.ok(readManifest(withPosterNonce(good)).poster.nonce.equals(hex(good)));
    const invalid = [good.toUpperCase(), good.slice(1), `${good}0`, `${good.slice(1)}g`, ''];
    for (const n of [...invalid, null, 7, [1], {}]) {
      assert.throws(
        () => readManifest(withPosterNonce(n)),
        expectCode('invalid_manifest'),
        JSON.stringify(n),
      );
    }
  });
  test('paths and ids', () => {
    for (const p of ['manifest.cnls', 'v240/00000.cnls', 'a/b/c', '...', 'a.b/..c']) {
      assert.ok(isPlainPath(p), p);
    }
    for (const p of ['', '/a', 'a/', 'a//b', './a', 'a/..', 'a b', 'a\\b', 'é', 'p'.repeat(129)]) {
      assert.ok(!isPlainPath(p), p);
    }
    assert.ok(isId('0b5e7c1a-9d2f-4e8b-a6c3-1f4d8e2b7a90', 64));
    for (const id of ['', 'A', 'a.b', 'a/b', 'x'.repeat(33)]) assert.ok(!isId(id, 32), id);
  });
});
