// What a part's checksum costs the store: Garage's own CPU (from /proc) over
// CINELOCK_BENCH_STORE_PARTS (default 64) PutObjects of 8 MiB of new random bytes, 4 in flight,
// sent from Node (so that nothing else competes with it), with the payload unsigned and (1) no checksum, (2) a signed
// x-amz-checksum-sha256, as the SDK's part URLs carry, (3) a signed x-amz-checksum-crc32c, and
// (4) no checksum with 512 bytes more (a sealed part's tags: 8 MiB is not a multiple of the
// store's 1 MiB blocks then). Two rounds (the first warms the store up); the CPU the store
// spends in the 5 s after each upload (work left behind) is printed too.
// Run: TMPDIR=/dev/shm node tests/browser/bench-store-checksums.mjs (Garage installed).
import { createHash, createHmac, randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { ACCESS_KEY, BUCKET, SECRET_KEY, startGarage } from "./garage.mjs";
const N = Number(process.env.CINELOCK_BENCH_STORE_PARTS ?? 64), LANES = 4;
const sha256hex = (d) => createHash("sha256").update(d).digest("hex");
const hmac = (k, d) => createHmac("sha256", k).update(d).digest();
/** CRC32C (Castagnoli) of `buf`, base64 of its big-endian bytes, as S3 wants it. */
function crc32c(buf) {
  let t = crc32c.t; if (!t) { t = crc32c.t = new Uint32Array(256); for (let i = 0; i < 256; i++) { let c = i; for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1; t[i] = c >>> 0; } }
  let c = 0xffffffff; for (let i = 0; i < buf.length; i++) c = t[(c ^ buf[i]) & 0xff] ^ (c >>> 8); c = (c ^ 0xffffffff) >>> 0;
  const b = Buffer.alloc(4); b.writeUInt32BE(c); return b.toString("base64");
}
const garage = await startGarage();
const cpu = () => { const f = readFileSync(`/proc/${garage.pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / 100; };
async function put(key, body, extra) {
  const url = new URL(`${garage.endpoint}/${BUCKET}/${key}`);
  const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, ""), date = amzDate.slice(0, 8);
  const headers = { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amzDate, ...extra };
  const signed = Object.keys(headers).sort();
  const canonical = ["PUT", url.pathname, "", signed.map((h) => `${h}:${headers[h]}\n`).join(""), signed.join(";"), "UNSIGNED-PAYLOAD"].join("\n");
  const scope = `${date}/garage/s3/aws4_request`;
  let k = hmac(`AWS4${SECRET_KEY}`, date); for (const p of ["garage", "s3", "aws4_request"]) k = hmac(k, p);
  const sig = createHmac("sha256", k).update(["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonical)].join("\n")).digest("hex");
  const { host, ...sent } = headers;
  sent.authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signed.join(";")}, Signature=${sig}`;
  const r = await fetch(url, { method: "PUT", headers: sent, body });
  if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
  await r.arrayBuffer();
}
const bodies = Array.from({ length: N }, () => randomFillSync(Buffer.alloc((8 << 20) + 512)));
const modes = {
  "no checksum": (b) => [b.subarray(0, 8 << 20), {}],
  "x-amz-checksum-sha256": (b) => { const x = b.subarray(0, 8 << 20); return [x, { "x-amz-checksum-sha256": createHash("sha256").update(x).digest("base64") }]; },
  "x-amz-checksum-crc32c": (b) => { const x = b.subarray(0, 8 << 20); return [x, { "x-amz-checksum-crc32c": crc32c(x) }]; },
  "no checksum, 8 MiB + 512": (b) => [b, {}],
};
try {
  for (const round of [0, 1]) for (const [name, f] of Object.entries(modes)) {
    // New bytes each time: the store deduplicates the blocks it has seen.
    for (const b of bodies) randomFillSync(b);
    const requests = bodies.map((b) => f(b));
    const c0 = cpu(), t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: LANES }, async () => { while (next < N) { const i = next++; await put(`exp/${round}/${name.replace(/\W+/g, "-")}/${i}`, ...requests[i]); } }));
    const ms = performance.now() - t0, c = cpu() - c0;
    const i0 = cpu();
    await new Promise((r) => setTimeout(r, 5000));
    const after = cpu() - i0;
    console.log(`round ${round + 1}  ${name.padEnd(28)} ${(N * 8 / (ms / 1000)).toFixed(0).padStart(5)} MiB/s   store CPU ${(c / (N * 8 / 1024)).toFixed(2)} s per GiB (${c.toFixed(2)} s), ${after.toFixed(2)} s in the 5 s after`);
  }
} finally { await garage.stop(); }
