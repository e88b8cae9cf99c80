// Browser crypto benchmark, one run in headless Chromium: raw WebCrypto AES-256-GCM against
// Cinelock's seal/open on the WebCrypto path and on the wasm fallback, at several chunk sizes.
// Prints CSV-ish rows and ratios. Run through scripts/bench (which builds everything first).
import { launchBrowser, startServer } from "./harness.mjs";

const MIB = Number(process.env.CINELOCK_BENCH_MIB ?? 64);
const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  const result = await page.evaluate(async (mib) => {
    const c = await import("/sdk/dist/index.js");
    await c.load();
    const n = mib << 20;
    const plain = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(plain.subarray(i, i + 65536));
    const keys = await c.generateRecipientKey();
    const rawKey = await crypto.subtle.importKey("raw", crypto.getRandomValues(new Uint8Array(32)), "AES-GCM", false, ["encrypt"]);
    const iv = new Uint8Array(12), aad = new Uint8Array(32);
    const mbs = (bytes, ms) => bytes / 1e6 / (ms / 1000);
    // Best of three: the first round also warms up the JIT and the crypto thread.
    const best = async (fn, bytes = n) => {
      let top = 0;
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        await fn();
        top = Math.max(top, mbs(bytes, performance.now() - t));
      }
      return top;
    };
    const raw = (chunk, depth) => async () => {
      const inflight = [];
      for (let at = 0; at < n; at += chunk) {
        new DataView(iv.buffer).setUint32(7, at / chunk);
        inflight.push(crypto.subtle.encrypt({ name: "AES-GCM", iv: iv.slice(), additionalData: aad }, rawKey, plain.subarray(at, at + chunk)));
        if (inflight.length >= depth) await inflight.shift();
      }
      await Promise.all(inflight);
    };
    const rows = [];
    for (const kib of [64, 256, 1024, 4096]) {
      const chunk = kib * 1024;
      const sealed = await c.seal(keys.publicKey, plain, { chunkSize: chunk, engine: "webcrypto" });
      const drain = async (stream) => { for await (const _ of stream); };
      rows.push({
        seal_stream: await best(() => drain(c.sealStream(keys.publicKey, plain, { chunkSize: chunk, engine: "webcrypto" }))),
        open_stream: await best(() => drain(c.openStream(keys.secretKey, sealed, { engine: "webcrypto" }))),
        chunk_kib: kib,
        raw_seq: await best(raw(chunk, 1)),
        raw_depth4: await best(raw(chunk, 4)),
        seal: await best(() => c.seal(keys.publicKey, plain, { chunkSize: chunk, engine: "webcrypto" })),
        open: await best(() => c.open(keys.secretKey, sealed, { engine: "webcrypto" })),
      });
    }
    const blob = new Blob([plain]);
    const sealedBlob = await c.seal(keys.publicKey, blob);
    const drain = async (stream) => { for await (const _ of stream); };
    const blobRow = {
      seal_blob: await best(() => c.seal(keys.publicKey, blob)),
      open_blob: await best(() => c.open(keys.secretKey, sealedBlob)),
      seal_blob_stream: await best(() => drain(c.sealStream(keys.publicKey, blob))),
      read_blob_stream: await best(() => drain(blob.stream())),
    };
    const small = plain.subarray(0, Math.min(n, 32 << 20));
    const sealedSmall = await c.seal(keys.publicKey, small, { engine: "wasm" });
    const wasmRow = {
      seal_wasm: await best(() => c.seal(keys.publicKey, small, { engine: "wasm" }), small.length),
      open_wasm: await best(() => c.open(keys.secretKey, sealedSmall, { engine: "wasm" }), small.length),
    };
    return { rows, blobRow, wasmRow, ua: navigator.userAgent };
  }, MIB);
  const f = (x) => x.toFixed(0).padStart(6);
  const r2 = (x) => x.toFixed(2);
  console.log(`browser: ${result.ua.match(/(Headless)?Chrome\/[\d.]+/)[0]}, ${MIB} MiB in memory, best of 3, MB/s`);
  console.log("seal/open: bytes in, one new Uint8Array out; *_stream: sealStream/openStream drained (no output array)");
  console.log("chunk_kib  raw_seq raw_depth4   seal   open seal_stream open_stream  stream_seal/raw_depth4  stream_open/raw_depth4  seal/raw_depth4");
  for (const r of result.rows) {
    console.log(`${String(r.chunk_kib).padStart(9)}  ${f(r.raw_seq)}     ${f(r.raw_depth4)} ${f(r.seal)} ${f(r.open)}      ${f(r.seal_stream)}      ${f(r.open_stream)}                    ${r2(r.seal_stream / r.raw_depth4)}                    ${r2(r.open_stream / r.raw_depth4)}             ${r2(r.seal / r.raw_depth4)}`);
  }
  const at256 = result.rows.find((r) => r.chunk_kib === 256);
  console.log(`Blob input (256 KiB chunks): seal to Blob ${f(result.blobRow.seal_blob)}, open to Blob ${f(result.blobRow.open_blob)}, sealStream ${f(result.blobRow.seal_blob_stream)}; reading the Blob alone (blob.stream()) ${f(result.blobRow.read_blob_stream)}`);
  console.log(`wasm fallback (256 KiB chunks): seal ${f(result.wasmRow.seal_wasm)}, open ${f(result.wasmRow.open_wasm)}; webcrypto seal / wasm seal = ${r2(at256.seal / result.wasmRow.seal_wasm)}`);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  await server.stop();
}
