// The primitives shared by the independent implementations in tests/spec/: HPKE (RFC 9180) base
// mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM, done by hand on top of
// node:crypto (docs/format.md §6.1-6.3), the test pattern of the vectors (§12) and the format
// error type. Not a test file itself.

import crypto from 'node:crypto';

export const TAG_LEN = 16;

// ---------------------------------------------------------------------------------------------
// Errors (docs/format.md, "Error model")

export class CinelockError extends Error {
  constructor(code, detail) {
    super(detail ? `${code}: ${detail}` : code);
    this.code = code;
  }
}
export const fail = (code, detail) => {
  throw new CinelockError(code, detail);
};

// ---------------------------------------------------------------------------------------------
// Small helpers

export const hex = (s) => Buffer.from(s, 'hex');
export const sha256 = (...parts) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
export const u16be = (n) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
export const u32be = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

// The fixed inputs of the test vectors (docs/format.md §12):
// pattern(len, salt)[i] = (31·i + salt) mod 256.
export const pattern = (len, salt) =>
  Buffer.from(Array.from({ length: len }, (_, i) => (31 * i + salt) % 256));

// ---------------------------------------------------------------------------------------------
// X25519 with raw 32-byte keys (RFC 7748), via DER wrappers that node:crypto accepts.

const PKCS8_X25519 = hex('302e020100300506032b656e04220420'); // + 32-byte private key
const SPKI_X25519 = hex('302a300506032b656e032100'); // + 32-byte public key

const x25519Private = (sk) =>
  crypto.createPrivateKey({ key: Buffer.concat([PKCS8_X25519, sk]), format: 'der', type: 'pkcs8' });
const x25519PublicObj = (pk) =>
  crypto.createPublicKey({ key: Buffer.concat([SPKI_X25519, pk]), format: 'der', type: 'spki' });

export function x25519Base(sk) {
  const der = crypto.createPublicKey(x25519Private(sk)).export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(SPKI_X25519.length));
}

// X25519 with the all-zero check of docs/format.md §6.3 (and §14.6 check 2): an all-zero result
// is the error `decrypt`.
export function x25519(sk, pk) {
  let dh;
  try {
    dh = crypto.diffieHellman({ privateKey: x25519Private(sk), publicKey: x25519PublicObj(pk) });
  } catch {
    // OpenSSL refuses an all-zero shared secret (a low-order public key).
    fail('decrypt', 'x25519 failed');
  }
  if (dh.every((b) => b === 0)) fail('decrypt', 'all-zero shared secret');
  return dh;
}

// X25519 exactly as RFC 7748 §5 writes it (Montgomery ladder over GF(2^255 - 19)), with NO
// all-zero check. node:crypto (OpenSSL) refuses to return an all-zero result, so the tests use
// this one to show what an opener that skips the check would compute. Never used to open.
const P25519 = 2n ** 255n - 19n;
const mod = (a) => ((a % P25519) + P25519) % P25519;
const leToBig = (b) => b.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
function modPow(b, e) {
  let r = 1n;
  for (b = mod(b); e > 0n; e >>= 1n, b = mod(b * b)) if (e & 1n) r = mod(r * b);
  return r;
}
export function x25519Unchecked(sk, pk) {
  const k = leToBig(clamp(sk));
  const uBytes = Buffer.from(pk);
  uBytes[31] &= 127; // RFC 7748 §5: mask the most significant bit of the u-coordinate
  const x1 = mod(leToBig(uBytes));
  let [x2, z2, x3, z3, swap] = [1n, 0n, x1, 1n, 0n];
  for (let t = 254n; t >= 0n; t--) {
    const kt = (k >> t) & 1n;
    swap ^= kt;
    if (swap) [x2, x3, z2, z3] = [x3, x2, z3, z2];
    swap = kt;
    const A = mod(x2 + z2);
    const AA = mod(A * A);
    const B = mod(x2 - z2);
    const BB = mod(B * B);
    const E = mod(AA - BB);
    const C = mod(x3 + z3);
    const D = mod(x3 - z3);
    const DA = mod(D * A);
    const CB = mod(C * B);
    x3 = mod((DA + CB) ** 2n);
    z3 = mod(x1 * (DA - CB) ** 2n);
    x2 = mod(AA * BB);
    z2 = mod(E * (AA + 121665n * E));
  }
  if (swap) [x2, z2] = [x3, z3];
  let u = mod(x2 * modPow(z2, P25519 - 2n));
  const out = Buffer.alloc(32);
  for (let i = 0; i < 32; i++, u >>= 8n) out[i] = Number(u & 0xffn);
  return out;
}

// RFC 7748 clamping; RFC 9180 §7.1.2: SerializePrivateKey() clamps for X25519.
export function clamp(sk) {
  const k = Buffer.from(sk);
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  return k;
}

// ---------------------------------------------------------------------------------------------
// HKDF-SHA256 and RFC 9180 labeled KDF

const hmac = (key, ...data) => {
  const h = crypto.createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
};
export const hkdfExtract = (salt, ikm) => hmac(salt.length ? salt : Buffer.alloc(32), ikm);
export function hkdfExpand(prk, info, len) {
  const out = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < len; i++) {
    t = hmac(prk, t, info, Buffer.from([i]));
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, len);
}

const HPKE_V1 = Buffer.from('HPKE-v1', 'ascii');
const KEM_ID = 0x0020; // DHKEM(X25519, HKDF-SHA256)
const KDF_ID = 0x0001; // HKDF-SHA256
const AEAD_ID = 0x0002; // AES-256-GCM
const SUITE_KEM = Buffer.concat([Buffer.from('KEM', 'ascii'), u16be(KEM_ID)]);
const SUITE_HPKE = Buffer.concat([
  Buffer.from('HPKE', 'ascii'),
  u16be(KEM_ID),
  u16be(KDF_ID),
  u16be(AEAD_ID),
]);

export const labeledExtract = (suiteId, salt, label, ikm) =>
  hkdfExtract(salt, Buffer.concat([HPKE_V1, suiteId, Buffer.from(label, 'ascii'), ikm]));
export const labeledExpand = (suiteId, prk, label, info, len) =>
  hkdfExpand(
    prk,
    Buffer.concat([u16be(len), HPKE_V1, suiteId, Buffer.from(label, 'ascii'), info]),
    len,
  );

export const EMPTY = Buffer.alloc(0);

// RFC 9180 §7.1.3 DeriveKeyPair for X25519. Returns the serialized (clamped) secret key.
export function deriveKeyPair(ikm) {
  const dkpPrk = labeledExtract(SUITE_KEM, EMPTY, 'dkp_prk', ikm);
  const sk = clamp(labeledExpand(SUITE_KEM, dkpPrk, 'sk', EMPTY, 32));
  return { sk, pk: x25519Base(sk) };
}

// RFC 9180 §4.1 DHKEM ExtractAndExpand.
export function extractAndExpand(dh, kemContext) {
  const eaePrk = labeledExtract(SUITE_KEM, EMPTY, 'eae_prk', dh);
  return labeledExpand(SUITE_KEM, eaePrk, 'shared_secret', kemContext, 32);
}

// Encap with a caller-given ikmE (for a sealed stream, the seed's last 32 bytes).
export function encap(pkR, ikmE) {
  const { sk: skE, pk: pkE } = deriveKeyPair(ikmE);
  const dh = x25519(skE, pkR);
  return { sharedSecret: extractAndExpand(dh, Buffer.concat([pkE, pkR])), enc: pkE };
}

// Decap(enc, skR). `allZeroCheck: false` skips the all-zero check of §6.3 (for the tests that
// prove a forged low-order vector is refused by that check alone); every opener keeps it.
export function decap(enc, skR, { allZeroCheck = true } = {}) {
  const pkR = x25519Base(skR);
  const dh = allZeroCheck ? x25519(skR, enc) : x25519Unchecked(skR, enc);
  return extractAndExpand(dh, Buffer.concat([enc, pkR]));
}

// RFC 9180 §5.1 KeySchedule, mode_base (0x00), no PSK. Returns the AEAD key and base nonce.
export function keySchedule(sharedSecret, info) {
  const pskIdHash = labeledExtract(SUITE_HPKE, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(SUITE_HPKE, EMPTY, 'info_hash', info);
  const context = Buffer.concat([Buffer.from([0x00]), pskIdHash, infoHash]);
  const secret = labeledExtract(SUITE_HPKE, sharedSecret, 'secret', EMPTY);
  return {
    key: labeledExpand(SUITE_HPKE, secret, 'key', context, 32),
    baseNonce: labeledExpand(SUITE_HPKE, secret, 'base_nonce', context, 12),
  };
}

// ---------------------------------------------------------------------------------------------
// AES-256-GCM

export function gcmSeal(key, nonce, aad, plaintext) {
  const c = crypto.createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

export function gcmOpen(key, nonce, aad, sealed) {
  if (sealed.length < TAG_LEN) fail('decrypt', 'shorter than a tag');
  const body = sealed.subarray(0, sealed.length - TAG_LEN);
  const d = crypto.createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
  const out = d.update(body);
  try {
    d.final();
  } catch {
    out.fill(0);
    fail('decrypt', 'tag mismatch');
  }
  return out;
}
