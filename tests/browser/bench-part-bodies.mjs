// Where a sealed part waits for its PUT, measured as the floor of a sealed upload in a dedicated
// worker (as the SDK's upload worker runs): each 8 MiB part of a disk-backed file read whole,
// sealed by WebCrypto AES-GCM in 256 KiB chunks, then either copied into a Blob (what the SDK
// does) or written to a file in the origin's private file system (OPFS, through a sync access
// handle, one file per lane) and sent as that file, as a plain upload sends slices of the
// user's file. No checksum, no engine: what it stores is not a valid sealed stream. Against a
// plain presigned multipart upload of the same file (the baseline), 4 parts in flight for all,
// to a local Garage. CINELOCK_BENCH_UPLOAD_MIB (default 256); CINELOCK_BENCH_BODIES_ORDER
// (default plain,blob,opfs,opfs,blob,plain). Prints MB/s, the ratio to the mean of the plain
// runs, and each Chromium process's CPU (user + system) and minor page faults.
// (Each part is read with `arrayBuffer()`: a BYOB read of a whole 8 MiB part in a worker
// never settled here, in every sitting.)
import { execFileSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "./harness.mjs";
import { launchRaw, chromiumProcesses, processesSince } from "./cdp.mjs";
import { BUCKET } from "./garage.mjs";
import { SERVER_BIN, benchStore } from "./bench-env.mjs";

const MIB = Number(process.env.CINELOCK_BENCH_UPLOAD_MIB ?? 256);
const PARALLEL = 4;
const ORDER = (process.env.CINELOCK_BENCH_BODIES_ORDER ?? "plain,blob,opfs,opfs,blob,plain").split(",");
const tmp = mkdtempSync(join(tmpdir(), "cinelock-bench-"));
const file = join(tmp, "source.bin");
const fd = openSync(file, "w");
const block = Buffer.alloc(16 << 20);
for (let left = MIB << 20; left > 0; left -= block.length) writeSync(fd, randomFillSync(block), 0, Math.min(left, block.length));
closeSync(fd);
const { garage, s3env, env } = await benchStore(tmp);
const server = await startServer(env);
const plainTool = join(SERVER_BIN, "../examples/plain_multipart");
const part = 8 << 20, parts = Math.ceil((MIB << 20) / part);
const chrome = await launchRaw();
const { page } = chrome;
await page.goto(`${server.url}/`);
await page.evaluate(`(() => { const i = document.createElement("input"); i.type = "file"; i.id = "bench"; document.body.append(i); })()`);
await page.setFile("#bench", file);
// The worker: a sealed upload's floor, its lanes reporting where each is (a hang says where).
const WORKER = `
onmessage = async (m) => {
  const { f, urls, mode, PARALLEL } = m.data;
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
  const PART = ${part}, CHUNK = 262144, TAG = 16;
  const etags = new Array(urls.length);
  const root = mode === "opfs" ? await navigator.storage.getDirectory() : null;
  const t = performance.now();
  let next = 0;
  async function lane(li) {
    let buf = new ArrayBuffer(PART);
    const sealed = new Uint8Array(PART / CHUNK * (CHUNK + TAG));
    const fh = root ? await root.getFileHandle("lane" + li, { create: true }) : null;
    while (next < urls.length) {
      const n = next++;
      postMessage({ p: [li, n, "read"] });
      const slice = f.slice(n * PART, (n + 1) * PART);
      buf = await slice.arrayBuffer();
      const chunks = Math.ceil(slice.size / CHUNK);
      const cts = await Promise.all(Array.from({ length: chunks }, (_, c) => {
        const iv = new Uint8Array(12);
        new DataView(iv.buffer).setUint32(8, n * chunks + c);
        return crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new Uint8Array(buf, c * CHUNK, Math.min(CHUNK, slice.size - c * CHUNK)));
      }));
      let body;
      if (fh) {
        const h = await fh.createSyncAccessHandle();
        let at = 0;
        for (const ct of cts) { h.write(new Uint8Array(ct), { at }); at += ct.byteLength; ct.transfer?.(0); }
        h.truncate(at);
        h.close();
        body = await fh.getFile();
      } else {
        let len = 0;
        for (const ct of cts) { sealed.set(new Uint8Array(ct), len); len += ct.byteLength; ct.transfer?.(0); }
        body = new Blob([sealed.subarray(0, len)]);
      }
      postMessage({ p: [li, n, "put"] });
      const r = await fetch(urls[n], { method: "PUT", body });
      if (!r.ok) throw new Error("PUT " + r.status);
      etags[n] = r.headers.get("etag");
      postMessage({ p: [li, n, "done"] });
    }
    postMessage({ p: [li, -1, "lane end"] });
  }
  try {
    await Promise.all(Array.from({ length: PARALLEL }, (_, i) => lane(i)));
    postMessage({ ms: performance.now() - t, etags });
  } catch (e) { postMessage({ error: String(e) }); }
};`;
const results = [];
for (const [i, mode] of ORDER.entries()) {
  const plan = JSON.parse(execFileSync(plainTool, ["create", garage.endpoint, "garage", BUCKET, `bench/bodies-${i}`, String(parts)], { env: { ...process.env, ...s3env } }).toString());
  const c0 = chromiumProcesses();
  const r = await page.evaluate(mode === "plain" ? `(async () => {
      const f = document.getElementById("bench").files[0];
      const urls = ${JSON.stringify(plan.urls)};
      const etags = new Array(urls.length);
      const t = performance.now();
      let next = 0;
      async function lane() { while (next < urls.length) { const n = next++; const r = await fetch(urls[n], { method: "PUT", body: f.slice(n * ${part}, (n + 1) * ${part}) }); if (!r.ok) throw new Error("PUT " + r.status); etags[n] = r.headers.get("etag"); } }
      await Promise.all(Array.from({ length: ${PARALLEL} }, lane));
      return { ms: performance.now() - t, etags };
    })()` : `(async () => {
      const w = new Worker(URL.createObjectURL(new Blob([${JSON.stringify(WORKER)}], { type: "text/javascript" })));
      const f = document.getElementById("bench").files[0];
      const r = await Promise.race([new Promise((ok) => setTimeout(() => ok({ error: "no answer in 5 min; lanes: " + JSON.stringify(window.__p) }), 300000)), new Promise((ok) => { w.onmessage = (m) => { if (m.data.p) { window.__p = window.__p || {}; window.__p[m.data.p[0]] = m.data.p.slice(1); } else ok(m.data); }; w.onerror = (e) => ok({ error: "worker: " + e.message }); w.postMessage({ f, urls: ${JSON.stringify(plan.urls)}, mode: ${JSON.stringify(mode)}, PARALLEL: ${PARALLEL} }); })]);
      w.terminate();
      return r;
    })()`);
  if (r.error) throw new Error(r.error);
  const procs = processesSince(c0, chromiumProcesses()).filter((p) => p.user + p.sys >= 0.05).map((p) => `${p.kind} ${p.user.toFixed(2)}+${p.sys.toFixed(2)}s ${p.faults}f`).join("; ");
  execFileSync(plainTool, ["complete", garage.endpoint, "garage", BUCKET, `bench/bodies-${i}`, plan.upload_id, JSON.stringify(r.etags)], { env: { ...process.env, ...s3env } });
  const mbs = (MIB << 20) / 1e6 / (r.ms / 1000);
  results.push({ mode, mbs });
  console.log(`${mode.padEnd(6)} ${mbs.toFixed(1)} MB/s   ${procs}`);
}
const plain = results.filter((r) => r.mode === "plain").map((r) => r.mbs);
const base = plain.reduce((a, b) => a + b, 0) / plain.length;
for (const r of results) console.log(`${r.mode}: ${(r.mbs / base).toFixed(2)}`);
await chrome.close();
await server.stop();
await garage.stop();
rmSync(tmp, { recursive: true, force: true });
