// Upload benchmark, one run in headless Chromium driven over a raw DevTools pipe (no Network
// domain): a disk-backed file of CINELOCK_BENCH_UPLOAD_MIB (default 1024) MiB goes to a local
// Garage (1) as a plain presigned multipart upload, 8 MiB parts, 4 in flight (the baseline),
// and (2) through cinelock.upload(), sealed, in the upload worker and on the page's thread.
// Prints MB/s, the ratio, and the page's peak JS heap during each.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomFillSync } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startServer } from "./harness.mjs";
import { launchRaw } from "./cdp.mjs";
import { ACCESS_KEY, BUCKET, SECRET_KEY, startGarage } from "./garage.mjs";

const MIB = Number(process.env.CINELOCK_BENCH_UPLOAD_MIB ?? 1024);
const tmp = mkdtempSync(join(tmpdir(), "cinelock-bench-"));
const file = join(tmp, "source.bin");
const fd = openSync(file, "w");
const block = Buffer.alloc(16 << 20);
for (let left = MIB << 20; left > 0; left -= block.length) writeSync(fd, randomFillSync(block), 0, Math.min(left, block.length));
closeSync(fd);

const { publicKey } = generateKeyPairSync("x25519");
const pk = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url").toString("hex");
const garage = await startGarage();
const s3env = { CINELOCK_S3_ACCESS_KEY: ACCESS_KEY, CINELOCK_S3_SECRET_KEY: SECRET_KEY };
const env = {
  ...s3env, CINELOCK_S3_ENDPOINT: garage.endpoint, CINELOCK_S3_REGION: "garage", CINELOCK_S3_BUCKET: BUCKET,
  CINELOCK_TOKEN_SECRET: "ef".repeat(32), CINELOCK_WORKER_PUBLIC_KEY: pk, CINELOCK_DEV_API_KEY: "clk_dev_insecure_demo_key",
  CINELOCK_DATABASE_URL: `sqlite://${tmp}/db.sqlite?mode=rwc`, CINELOCK_ALLOWED_ORIGINS: "*",
};
const bin = join(ROOT, "target/debug/cinelock-server");
for (let i = 0; ; i++) {
  try { execFileSync(bin, ["configure-bucket-cors"], { cwd: ROOT, env: { ...process.env, ...env }, stdio: "ignore", timeout: 20000 }); break; } catch (e) { if (i > 50) throw e; await new Promise((r) => setTimeout(r, 200)); }
}
const server = await startServer(env);
const chrome = await launchRaw(["--enable-precise-memory-info"]);
const plainTool = join(ROOT, "target/debug/examples/plain_multipart");
try {
  const { page } = chrome;
  await page.goto(`${server.url}/`);
  await page.evaluate(`(() => { const i = document.createElement("input"); i.type = "file"; i.id = "bench"; document.body.append(i); })()`);
  await page.setFile("#bench", file);
  const HEAP = `(() => { window.__peak = 0; window.__base = performance.memory.usedJSHeapSize; clearInterval(window.__t); window.__t = setInterval(() => { window.__peak = Math.max(window.__peak, performance.memory.usedJSHeapSize); }, 20); })()`;
  const results = [];

  // (1) Plain presigned multipart: slice, PUT, 4 in flight.
  const part = 8 << 20, parts = Math.ceil((MIB << 20) / part);
  const plan = JSON.parse(execFileSync(plainTool, ["create", garage.endpoint, "garage", BUCKET, "bench/plain", String(parts)], { env: { ...process.env, ...s3env } }).toString());
  await page.evaluate(HEAP);
  const plain = await page.evaluate(`(async () => {
    const f = document.getElementById("bench").files[0];
    const urls = ${JSON.stringify(plan.urls)};
    const etags = new Array(urls.length);
    const t = performance.now();
    let next = 0;
    async function lane() { while (next < urls.length) { const n = next++; const r = await fetch(urls[n], { method: "PUT", body: f.slice(n * ${part}, (n + 1) * ${part}) }); if (!r.ok) throw new Error("PUT " + r.status); etags[n] = r.headers.get("etag"); } }
    await Promise.all([lane(), lane(), lane(), lane()]);
    return { ms: performance.now() - t, etags, peak: window.__peak - window.__base };
  })()`);
  execFileSync(plainTool, ["complete", garage.endpoint, "garage", BUCKET, "bench/plain", plan.upload_id, JSON.stringify(plain.etags)], { env: { ...process.env, ...s3env } });
  results.push({ name: "plain presigned multipart (baseline)", ms: plain.ms, peak: plain.peak });

  // (2) Cinelock, in the upload worker and on the page's own thread.
  for (const worker of [true, false]) {
    const res = await fetch(`${server.url}/v1/uploads`, { method: "POST", headers: { authorization: "Bearer clk_dev_insecure_demo_key", "content-type": "application/json" }, body: JSON.stringify({ size: MIB << 20 }) });
    const created = await res.json();
    await page.evaluate(HEAP);
    const r = await page.evaluate(`(async () => {
      const c = await import("/sdk/dist/index.js");
      await c.load();
      const f = document.getElementById("bench").files[0];
      const t = performance.now();
      const h = await c.upload(f, { endpoint: location.origin, upload: ${JSON.stringify(created)}, worker: ${worker} });
      await h.done;
      return { ms: performance.now() - t, peak: window.__peak - window.__base };
    })()`);
    results.push({ name: `cinelock.upload, sealed (${worker ? "upload worker" : "page thread"})`, ms: r.ms, peak: r.peak });
  }
  const bytes = MIB << 20;
  const base = bytes / 1e6 / (results[0].ms / 1000);
  console.log(`upload of a ${MIB} MiB disk-backed file to local Garage, headless Chromium over a raw DevTools pipe`);
  for (const r of results) {
    const mbs = bytes / 1e6 / (r.ms / 1000);
    console.log(`${r.name.padEnd(48)} ${mbs.toFixed(1).padStart(7)} MB/s   ratio ${(mbs / base).toFixed(2)}   page JS heap peak +${(r.peak / 1048576).toFixed(1)} MiB`);
  }
} finally {
  await chrome.close();
  await server.stop();
  await garage.stop();
  rmSync(tmp, { recursive: true, force: true });
}
