// An independent implementation of the Cinelock encrypted media package format v1 (sealed media
// objects, content key release, the package manifest), written from docs/format.md §14 with
// nothing but node:crypto, checked against tests/vectors/media-v1.json.
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
const RELEASE_LEN = 80;
const MANIFEST_VERSION = 1;

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

// §14.3.4: the checks in order, first failure wins.
function openObject(contentKey, place, object) {
  if (object.length < OBJECT_OVERHEAD || !object.subarray(0, 4).equals(OBJECT_MAGIC)) {
    fail('decrypt', 'not an object');
  }
  if (object[4] !== OBJECT_VERSION || object[5] !== OBJECT_SUITE) {
    fail('unsupported', `version ${object[4]} suite ${object[5]}`);
  }
  const header = object.subarray(0, OBJECT_HEADER_LEN);
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
// Content key release (§14.6): RFC 9180 SealBase / OpenBase, info RELEASE_INFO, aad = asset id.

function releaseContentKey(playerPublicKey, assetId, contentKey, ikmE) {
  let encapsulated;
  try {
    encapsulated = encap(playerPublicKey, ikmE);
  } catch {
    fail('invalid_key', 'low-order player key');
  }
  const { sharedSecret, enc } = encapsulated;
  const { key, baseNonce } = keySchedule(sharedSecret, RELEASE_INFO);
  return Buffer.concat([enc, gcmSeal(key, baseNonce, Buffer.from(assetId, 'utf8'), contentKey)]);
}

function openReleasedKey(playerSecretKey, assetId, released) {
  if (released.length !== RELEASE_LEN) fail('decrypt', 'released key is not 80 bytes');
  const sharedSecret = decap(released.subarray(0, 32), playerSecretKey);
  const { key, baseNonce } = keySchedule(sharedSecret, RELEASE_INFO);
  return gcmOpen(key, baseNonce, Buffer.from(assetId, 'utf8'), released.subarray(32));
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
const file = (x, what) => members(x, what, { path: [string, true], size: [u64, true] });
const segment = (x, what) =>
  members(x, what, {
    start: [number, true],
    duration: [number, true],
    path: [string, true],
    size: [u64, true],
  });
const poster = (x, what) =>
  members(x, what, {
    path: [string, true],
    size: [u64, true],
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

// §14.5.4: open, parse, validate, and check the ids against the place.
function openManifest(contentKey, assetId, packageId, object) {
  const place = { asset_id: assetId, package_id: packageId, track_id: '', kind: 'manifest', index: 0 };
  const m = readManifest(openObject(contentKey, place, object));
  if (m.asset_id !== assetId || m.package_id !== packageId) bad('manifest names another package');
  return m;
}

// Every object a manifest lists, with the place its structure gives it.
function listedObjects(m) {
  const at = (track_id, kind, index) => ({
    asset_id: m.asset_id,
    package_id: m.package_id,
    track_id,
    kind,
    index,
  });
  const out = [];
  if (m.poster) out.push({ path: m.poster.path, size: m.poster.size, place: at('', 'poster', 0) });
  for (const t of m.tracks) {
    out.push({ path: t.init.path, size: t.init.size, place: at(t.id, 'init', 0) });
    t.segments.forEach((s, i) => out.push({ path: s.path, size: s.size, place: at(t.id, 'media', i) }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The vectors

const doc = JSON.parse(fs.readFileSync(new URL('../vectors/media-v1.json', import.meta.url)));
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

describe('sealed media objects: positive vectors', () => {
  assert.ok(doc.objects.positive.length >= 12);
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
  }
});

describe('sealed media objects: negative vectors', () => {
  assert.ok(doc.objects.negative.length >= 25);
  for (const v of doc.objects.negative) {
    test(`${v.name}: rejected as ${v.error}`, () => {
      assert.ok(CODES.has(v.error), `unknown code ${v.error}`);
      assert.throws(() => openObject(hex(v.key), placeOf(v), hex(v.sealed)), expectCode(v.error));
    });
  }
});

describe('content key release', () => {
  const r = doc.key_release;
  const player = playerFrom(r.player);
  const other = playerFrom(r.other_player);

  for (const v of r.positive) {
    test(`${v.name}: release reproduces the bytes and opens for its player only`, () => {
      const released = releaseContentKey(player.pk, v.asset_id, hex(v.content_key), hex(v.ephemeral));
      assert.equal(released.toString('hex'), v.released);
      assert.equal(released.length, RELEASE_LEN);
      const opened = openReleasedKey(player.sk, v.asset_id, hex(v.released));
      assert.equal(opened.toString('hex'), v.content_key);
      assert.throws(
        () => openReleasedKey(other.sk, v.asset_id, hex(v.released)),
        expectCode('decrypt'),
      );
    });
  }

  for (const v of r.negative) {
    test(`${v.name}: rejected as ${v.error}`, () => {
      assert.throws(() => openReleasedKey(player.sk, v.asset_id, hex(v.released)), expectCode(v.error));
    });
  }

  test('a low-order player key is refused when releasing', () => {
    assert.throws(
      () => releaseContentKey(Buffer.alloc(32), 'a', Buffer.alloc(32), Buffer.alloc(32, 1)),
      expectCode('invalid_key'),
    );
  });
});

describe('the package', () => {
  const pkg = doc.package;
  const byName = new Map(doc.objects.positive.map((v) => [v.name, v]));
  const members = pkg.objects.map((n) => byName.get(n));

  test('a player with a released key opens the manifest and every object it lists', () => {
    assert.ok(members.every(Boolean));
    const player = playerFrom(doc.key_release.player);
    const release = doc.key_release.positive[0];
    assert.equal(release.asset_id, pkg.asset_id);
    const contentKey = openReleasedKey(player.sk, pkg.asset_id, hex(release.released));
    assert.equal(contentKey.toString('hex'), doc.content_key);

    // The bucket: keys under the package prefix.
    const prefix = packagePrefix(pkg.asset_id, pkg.package_id);
    const bucket = new Map();
    for (const v of members) {
      assert.ok(!bucket.has(prefix + v.path), `${v.path} twice`);
      bucket.set(prefix + v.path, hex(v.sealed));
    }

    const manifestObject = bucket.get(`${prefix}manifest.cnls`);
    const m = openManifest(contentKey, pkg.asset_id, pkg.package_id, manifestObject);
    const manifestPlace = placeOf({ ...pkg, track_id: '', kind: 'manifest', index: 0 });
    assert.equal(openObject(contentKey, manifestPlace, manifestObject).toString(), pkg.manifest);
    // The same manifest opened as another package's is refused by the ids check or the tag.
    assert.throws(
      () => openManifest(contentKey, pkg.asset_id, `${pkg.package_id}x`, manifestObject),
      expectCode('decrypt'),
    );

    const listed = listedObjects(m);
    assert.equal(listed.length + 1, members.length, 'the manifest lists every other object');
    for (const o of listed) {
      const sealed = bucket.get(prefix + o.path);
      assert.ok(sealed, `${o.path} is in the bucket`);
      assert.equal(BigInt(sealed.length), o.size, `${o.path}: size`);
      assert.equal(objectPath(o.place), o.path, `${o.path}: canonical path`);
      const pt = openObject(contentKey, o.place, sealed);
      const v = members.find((x) => x.path === o.path);
      assert.equal(pt.toString('hex'), v.plaintext);
    }

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

  test('a manifest naming another package than its place is refused', () => {
    const contentKey = hex(doc.content_key);
    const text = pkg.manifest.replace(pkg.package_id, 'another-package');
    const place = placeOf({ ...pkg, track_id: '', kind: 'manifest', index: 0 });
    const sealed = sealObject(contentKey, place, Buffer.alloc(12, 7), Buffer.from(text));
    assert.throws(
      () => openManifest(contentKey, pkg.asset_id, pkg.package_id, sealed),
      expectCode('invalid_manifest'),
    );
  });
});

describe('manifest rules', () => {
  assert.ok(doc.manifests.valid.length >= 10);
  assert.ok(doc.manifests.invalid.length >= 40);
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
