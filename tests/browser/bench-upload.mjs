// Upload benchmark in headless Chromium driven over a raw DevTools pipe (the Network domain only
// for throttling, without buffers): a disk-backed file of CINELOCK_BENCH_UPLOAD_MIB (default
// 1024) MiB goes to a local Garage (1) as a plain presigned multipart upload (the baseline),
// (2) unthrottled, as the floor of a sealed upload through the browser's APIs (WebCrypto
// AES-GCM and a Blob body per part, with and without the part's SHA-256, and nothing else) and
// (3) through cinelock.upload() after prepareUploads(), sealed, in the upload worker and on the
// page's thread; 8 MiB parts and CINELOCK_BENCH_PARALLEL (default 4, the SDK's default) in
// flight for all. It runs unthrottled and with the link throttled to 100 Mbit/s (DevTools
// network conditions on the page and on every worker). Prints MB/s, the ratio to plain, and the peak of JS heap plus
// ArrayBuffer backing stores of the page and its workers together (DevTools
// Runtime.getHeapUsage on every target, sampled every 50 ms) above the level before the upload.
import { execFileSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "./harness.mjs";
import { chromiumProcesses, launchRaw, processesSince, threadTimes } from "./cdp.mjs";
import { BUCKET } from "./garage.mjs";
import { SERVER_BIN, benchStore, memory } from "./bench-env.mjs";

const MIB = Number(process.env.CINELOCK_BENCH_UPLOAD_MIB ?? 1024);
const PARALLEL = Number(process.env.CINELOCK_BENCH_PARALLEL ?? 4);
// CINELOCK_BENCH_TRACE=1: a Chromium trace of each upload of the first link, summarised as the
// busy time of every browser thread (which process and thread the browser's CPU goes to).
const TRACE = Boolean(process.env.CINELOCK_BENCH_TRACE);
// CINELOCK_BENCH_PROCS=1 prints each upload's CPU by Chromium process kind, user and system.
const PROCS = Boolean(process.env.CINELOCK_BENCH_PROCS);
let tracer = null;
// CINELOCK_BENCH_UPLOAD_SHA256=1: cinelock.upload (upload worker) twice with CRC32C parts and
// twice through a second server whose uploads' parts carry SHA-256 (CINELOCK_PART_CHECKSUM=sha256).
const SHA256 = Boolean(process.env.CINELOCK_BENCH_UPLOAD_SHA256);
// CINELOCK_BENCH_STALL_MS: the uploads' stallTimeoutMs (0 turns the stall timeouts off).
const STALL_MS = process.env.CINELOCK_BENCH_STALL_MS;
// CINELOCK_BENCH_SAMPLE_MS: how often memory is read from the page and each worker (default 50).
const SAMPLE_MS = Number(process.env.CINELOCK_BENCH_SAMPLE_MS ?? 50);
// How long the floor's read of a part may stall before it is read again (below).
const FLOOR_STALL_MS = 1000;
// CINELOCK_BENCH_CHUNK_KIB: the sealed stream's chunk size asked for at creation (default: the server's, 256 KiB).
const CHUNK_KIB = Number(process.env.CINELOCK_BENCH_CHUNK_KIB ?? 0);
const CONDITIONS = [
  ["unthrottled", null],
  ["100 Mbit/s", { latency: 0, uploadThroughput: 100e6 / 8, downloadThroughput: 100e6 / 8 }],
].filter(([name]) => (process.env.CINELOCK_BENCH_UPLOAD_LINKS ?? "unthrottled,100 Mbit/s").split(",").includes(name));
const tmp = mkdtempSync(join(tmpdir(), "cinelock-bench-"));
const file = join(tmp, "source.bin");
function writeSource() {
  const fd = openSync(file, "w");
  const block = Buffer.alloc(16 << 20);
  for (let left = MIB << 20; left > 0; left -= block.length) writeSync(fd, randomFillSync(block), 0, Math.min(left, block.length));
  closeSync(fd);
}

/** Prints the functions with the most self time in a DevTools CPU profile. */
function printProfile(label, profile) {
  const dt = new Map();
  profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const self = new Map();
  let total = 0;
  for (const n of profile.nodes) {
    const us = dt.get(n.id) ?? 0;
    total += us;
    const f = n.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  console.log(`  ${label}: ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [k, us] of top) console.log(`    ${(us / 1000).toFixed(1).padStart(8)} ms  ${(100 * us / total).toFixed(1).padStart(5)} %  ${k}`);
}

/** CPU seconds: the machine's busy time (all cores), and Garage's and the server's own. */
function cpu() {
  const [, ...f] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const ticks = (pid) => { const s = readFileSync(`/proc/${pid}/stat`, "utf8"); const x = s.slice(s.lastIndexOf(")") + 2).split(" "); return Number(x[11]) + Number(x[12]); };
  return { busy: (f[0] + f[1] + f[2] + f[5] + f[6]) / 100, idle: (f[3] + f[4]) / 100, store: ticks(garage.pid) / 100, server: (ticks(server.pid) + (sha256Server ? ticks(sha256Server.pid) : 0)) / 100, ...(PROCS ? { chromium: chromiumProcesses() } : {}) };
}

/**
 * Runs `expression` in the page while sampling the memory of the page and of every worker
 * target every 50 ms; returns its value with `peak` (page and workers together, above the level
 * before) and `workerPeak` (the workers' share at their own peak).
 */
async function measured(page, workers, expression) {
  const targets = () => [page.send, ...workers.filter((w) => w.type === "worker").map((w) => w.send)];
  const sample = () => memory(page, workers);
  const before = await sample();
  const cpu0 = cpu();
  // CINELOCK_BENCH_PROFILE=1: a sampling CPU profile of the page and every worker over the run.
  const profiled = process.env.CINELOCK_BENCH_PROFILE ? targets() : [];
  for (const send of profiled) {
    await send("Profiler.enable", {});
    await send("Profiler.setSamplingInterval", { interval: 200 });
    await send("Profiler.start", {});
  }
  let peak = 0, workerPeak = 0, done = false;
  const sampler = (async () => {
    while (!done) {
      const s = await sample();
      peak = Math.max(peak, s.total - before.total);
      workerPeak = Math.max(workerPeak, s.workers);
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  let value;
  const stopTrace = tracer ? await tracer(["toplevel"]) : null;
  // A run that has not answered in a minute says where the page is (window.__bench, which
  // each run's code keeps), every minute: some sittings have hung with the store idle.
  const watchdog = setInterval(async () => {
    const ask = (expression, awaitPromise) => Promise.race([
      page.send("Runtime.evaluate", { expression, awaitPromise, returnByValue: true }).then((r) => r.result?.value),
      new Promise((r) => setTimeout(() => r("(no answer in 5 s)"), 5000)),
    ]);
    // Where the run is, and whether the page still runs its tasks (a timer of 10 ms).
    const mark = `${await ask("JSON.stringify({ ...window.__bench, visibility: document.visibilityState })", false)}; a timer: ${await ask("new Promise((ok) => setTimeout(() => ok('fired'), 10))", true)}`;
    console.error(`still running after ${((performance.now() - started) / 1000).toFixed(0)} s: ${mark}`);
  }, 60_000);
  const started = performance.now();
  try {
    value = await page.evaluate(expression);
  } finally {
    clearInterval(watchdog);
    done = true;
    await sampler;
  }
  if (stopTrace) {
    const rows = threadTimes(await stopTrace()).filter((r) => r.ms >= 20).slice(0, 14);
    console.log(`  busy threads (Chromium trace, top-level tasks, thread CPU time), ${(value.ms / 1000).toFixed(1)} s upload:`);
    for (const r of rows) console.log(`    ${r.ms.toFixed(0).padStart(7)} ms  ${String(r.tasks).padStart(7)} tasks  ${r.process} / ${r.thread}`);
  }
  const cpu1 = cpu();
  // (A worker that ended with the upload took its profile with it: profile worker: false.)
  for (const [i, send] of profiled.entries()) {
    const r = await send("Profiler.stop", {}).catch(() => null);
    if (r) printProfile(i === 0 ? "page" : `worker ${i}`, r.profile);
  }
  const used = Object.fromEntries(Object.keys(cpu0).filter((k) => k !== "chromium").map((k) => [k, cpu1[k] - cpu0[k]]));
  if (PROCS) {
    const rows = processesSince(cpu0.chromium, cpu1.chromium)
      .filter((r) => r.user + r.sys >= 0.05).sort((a, b) => b.user + b.sys - a.user - a.sys);
    console.log(`  CPU by process (user + system s, minor page faults), ${(value.ms / 1000).toFixed(1)} s upload:`);
    for (const r of rows) console.log(`    ${r.user.toFixed(2).padStart(6)} + ${r.sys.toFixed(2).padStart(5)} s  ${String(r.faults).padStart(9)} faults  ${r.kind}`);
  }
  return { ...value, peak, workerPeak, cpu: { ...used, share: used.busy / (used.busy + used.idle) } };
}

const { garage, s3env, env } = await benchStore(tmp);
const bin = SERVER_BIN;
const server = await startServer(env);
const sha256Server = SHA256 ? await startServer({ ...env, CINELOCK_PART_CHECKSUM: "sha256", CINELOCK_DATABASE_URL: `sqlite://${tmp}/db-sha256.sqlite?mode=rwc` }) : null;
const plainTool = join(bin, "../examples/plain_multipart");
const bytes = MIB << 20;
const part = 8 << 20, parts = Math.ceil(bytes / part);
const table = [];
let chrome = null;
try {
  for (const [condition, throttle] of CONDITIONS) {
    // New bytes for every condition: the store deduplicates blocks it has seen.
    writeSource();
    chrome = await launchRaw();
    const { page } = chrome;
    tracer = TRACE && condition === CONDITIONS[0][0] ? chrome.trace : null;
    await page.goto(`${server.url}/`);
    await page.evaluate(`(() => { const i = document.createElement("input"); i.type = "file"; i.id = "bench"; document.body.append(i); })()`);
    await page.setFile("#bench", file);
    // Workers attach as their own DevTools targets: memory is read from each, and a throttle
    // applies to each (DevTools conditions are per target).
    const workers = await page.attach(throttle);
    await page.evaluate(`import("/sdk/dist/index.js").then((c) => c.load())`);
    const results = [];

    // (1) Plain presigned multipart: file.slice() bodies, PARALLEL in flight.
    const plan = JSON.parse(execFileSync(plainTool, ["create", garage.endpoint, "garage", BUCKET, `bench/plain-${results.length}`, String(parts)], { env: { ...process.env, ...s3env } }).toString());
    const plain = await measured(page, workers, `(async () => {
      const f = document.getElementById("bench").files[0];
      const urls = ${JSON.stringify(plan.urls)};
      const etags = new Array(urls.length);
      const t = performance.now();
      let next = 0;
      const mark = window.__bench = { started: 0, finished: 0 };
      async function lane() { while (next < urls.length) { const n = next++; mark.started++; const r = await fetch(urls[n], { method: "PUT", body: f.slice(n * ${part}, (n + 1) * ${part}) }); if (!r.ok) throw new Error("PUT " + r.status); etags[n] = r.headers.get("etag"); mark.finished++; } }
      await Promise.all(Array.from({ length: ${PARALLEL} }, lane));
      return { ms: performance.now() - t, etags };
    })()`);
    execFileSync(plainTool, ["complete", garage.endpoint, "garage", BUCKET, `bench/plain-${results.length}`, plan.upload_id, JSON.stringify(plain.etags)], { env: { ...process.env, ...s3env } });
    results.push({ name: "plain presigned multipart (baseline)", ...plain });
    if (process.env.CINELOCK_BENCH_VERBOSE) console.error(`${condition}: ${results.at(-1).name} done`);

    // (2) The floor of any sealed upload through the browser's APIs (unthrottled only): the
    // plain upload's lanes and URLs, but each part read by a BYOB reader into a reused buffer,
    // sealed by WebCrypto AES-GCM in 256 KiB chunks into a reused part buffer, hashed (SHA-256)
    // or not, and sent as a Blob, as the SDK does; nothing else (no wasm, no engine, no
    // signing round trip, no checksum for the store to verify). Not a valid sealed stream.
    for (const digest of throttle ? [] : [true, false]) {
      const floorPlan = JSON.parse(execFileSync(plainTool, ["create", garage.endpoint, "garage", BUCKET, `bench/floor-${results.length}`, String(parts)], { env: { ...process.env, ...s3env } }).toString());
      const floor = await measured(page, workers, `(async () => {
        const f = document.getElementById("bench").files[0];
        const urls = ${JSON.stringify(floorPlan.urls)};
        const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
        const etags = new Array(urls.length);
        const PART = ${part}, CHUNK = 262144, TAG = 16;
        const t = performance.now();
        let next = 0;
        const mark = window.__bench = { started: 0, read: 0, sealed: 0, finished: 0, reread: 0 };
        // Chromium's BYOB read of a file slice sometimes never settles (docs/benchmarks.md: most
        // sittings on one machine hung here); as the SDK does, a part whose read has stalled for
        // ${FLOOR_STALL_MS} ms is read again from its start, into a new buffer (the stalled read
        // holds the old one), and counted.
        const stalled = Symbol("stalled");
        async function lane() {
          let buf = new ArrayBuffer(PART);
          const sealed = new Uint8Array(PART / CHUNK * (CHUNK + TAG));
          while (next < urls.length) {
            const n = next++;
            mark.started++;
            const slice = f.slice(n * PART, (n + 1) * PART);
            read: for (;;) {
              const reader = slice.stream().getReader({ mode: "byob" });
              for (let got = 0; got < slice.size;) {
                let timer;
                const r = await Promise.race([
                  reader.read(new Uint8Array(buf, got, slice.size - got)),
                  new Promise((ok) => (timer = setTimeout(() => ok(stalled), ${FLOOR_STALL_MS}))),
                ]);
                clearTimeout(timer);
                if (r === stalled) {
                  mark.reread++;
                  reader.cancel().catch(() => undefined);
                  buf = new ArrayBuffer(PART);
                  continue read;
                }
                if (r.done) break;
                buf = r.value.buffer;
                got += r.value.byteLength;
              }
              break;
            }
            mark.read++;
            const chunks = Math.ceil(slice.size / CHUNK);
            const cts = await Promise.all(Array.from({ length: chunks }, (_, c) => {
              const iv = new Uint8Array(12);
              new DataView(iv.buffer).setUint32(8, n * chunks + c);
              return crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new Uint8Array(buf, c * CHUNK, Math.min(CHUNK, slice.size - c * CHUNK)));
            }));
            let len = 0;
            for (const ct of cts) { sealed.set(new Uint8Array(ct), len); len += ct.byteLength; ct.transfer?.(0); }
            const body = sealed.subarray(0, len);
            mark.sealed++;
            ${digest ? `await crypto.subtle.digest("SHA-256", body);` : ""}
            const r = await fetch(urls[n], { method: "PUT", body: new Blob([body]) });
            if (!r.ok) throw new Error("PUT " + r.status);
            etags[n] = r.headers.get("etag");
            mark.finished++;
          }
        }
        await Promise.all(Array.from({ length: ${PARALLEL} }, lane));
        return { ms: performance.now() - t, etags, reread: mark.reread };
      })()`);
      if (floor.reread) console.error(`${condition}: the floor${digest ? " with SHA-256" : ""} read ${floor.reread} part(s) again after a stalled read`);
      execFileSync(plainTool, ["complete", garage.endpoint, "garage", BUCKET, `bench/floor-${results.length}`, floorPlan.upload_id, JSON.stringify(floor.etags)], { env: { ...process.env, ...s3env } });
      results.push({ name: `floor: WebCrypto seal${digest ? " + SHA-256" : ""} + Blob (page)`, ...floor });
      if (process.env.CINELOCK_BENCH_VERBOSE) console.error(`${condition}: ${results.at(-1).name} done`);
    }

    // (3) Cinelock, in the upload worker and on the page's own thread (parts with CRC32C), and
    // with SHA-256 parts if asked.
    // With SHA-256 rows too, in the order A B B A (then the page thread): the store slows as it
    // fills, which later rows bear, so each gets as much of it.
    const runs = sha256Server
      ? [[sha256Server, true], [server, true], [server, true], [sha256Server, true], [server, false]]
      : [[server, true], [server, false]];
    for (const [api, worker] of runs) {
      const res = await fetch(`${api.url}/v1/uploads`, { method: "POST", headers: { authorization: "Bearer clk_dev_insecure_demo_key", "content-type": "application/json" }, body: JSON.stringify({ size: bytes, ...(CHUNK_KIB ? { chunk_size: CHUNK_KIB * 1024 } : {}) }) });
      const created = await res.json();
      const r = await measured(page, workers, `(async () => {
        const c = await import("/sdk/dist/index.js");
        const f = document.getElementById("bench").files[0];
        // As an app does when the user is about to pick a file; within the memory sampled, not
        // the time (the plain uploader's code is ready too).
        await c.prepareUploads({ worker: ${worker} });
        const t = performance.now();
        const retries = {};
        const mark = window.__bench = { events: 0, partsDone: 0 };
        const onEvent = (e) => { mark.events++; if (e.type === "partDone") mark.partsDone++; if (e.type === "retrying") retries[e.reason] = (retries[e.reason] ?? 0) + 1; };
        const h = await c.upload(f, { endpoint: ${JSON.stringify(api.url)}, upload: ${JSON.stringify(created)}, worker: ${worker}, maxParallel: ${PARALLEL}${STALL_MS === undefined ? "" : `, stallTimeoutMs: ${Number(STALL_MS)}`}, onEvent });
        await h.done;
        return { ms: performance.now() - t, retries };
      })()`);
      results.push({ name: `cinelock.upload, ${created.part_checksum} parts (${worker ? "upload worker" : "page thread"})`, ...r });
      if (process.env.CINELOCK_BENCH_VERBOSE) console.error(`${condition}: ${results.at(-1).name} done`);
    }
    await chrome.close();
    chrome = null;
    const base = bytes / 1e6 / (results[0].ms / 1000);
    for (const r of results) table.push({ condition, ...r, mbs: bytes / 1e6 / (r.ms / 1000), ratio: bytes / 1e6 / (r.ms / 1000) / base });
  }
  console.log(`upload of a ${MIB} MiB disk-backed file to local Garage (release server), 8 MiB parts, ${PARALLEL} in flight for every uploader, headless Chromium over a raw DevTools pipe`);
  console.log(`${"link".padEnd(14)}${"uploader".padEnd(48)}${"MB/s".padStart(8)}${"ratio".padStart(8)}${"page+workers heap+ArrayBuffers peak".padStart(38)}${"of it in workers".padStart(18)}${"CPU busy".padStart(10)}${"store CPU".padStart(11)}${"server CPU".padStart(12)}${"browser CPU".padStart(13)}`);
  for (const r of table) {
    const c = r.cpu;
    console.log(`${r.condition.padEnd(14)}${r.name.padEnd(48)}${r.mbs.toFixed(1).padStart(8)}${r.ratio.toFixed(2).padStart(8)}${`+${(r.peak / 1048576).toFixed(1)} MiB`.padStart(38)}${`${(r.workerPeak / 1048576).toFixed(1)} MiB`.padStart(18)}${`${(100 * c.share).toFixed(0)} %`.padStart(10)}${`${c.store.toFixed(2)} s`.padStart(11)}${`${c.server.toFixed(2)} s`.padStart(12)}${`${(c.busy - c.store - c.server).toFixed(2)} s`.padStart(13)}`);
  }
  for (const r of table) if (r.retries && Object.keys(r.retries).length) console.log(`retries: ${r.condition}, ${r.name}: ${JSON.stringify(r.retries)}`);
  console.log("CPU: seconds over both cores during each upload; browser = the rest of the machine (Chromium's processes, and this script)");
} finally {
  await chrome?.close();
  await server.stop();
  await sha256Server?.stop();
  await garage.stop();
  rmSync(tmp, { recursive: true, force: true });
}
