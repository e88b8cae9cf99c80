// Many-files upload benchmark, to a local Garage in headless Chromium over a raw DevTools pipe.
// Each upload's create request is made beforehand, as a customer's backend makes it.
// (1) One after another: CINELOCK_BENCH_FILES (default 20) in-memory files of
// CINELOCK_BENCH_FILE_MIB (default 2) MiB through cinelock.upload(), as an uploader's queue
// sends a folder of clips. Rows run in the order page thread, upload worker, upload worker, page
// thread (the store slows as it fills); the baseline is the page thread (`worker: false`),
// which starts no worker. Prints milliseconds per file (mean and median) and the ratio of files
// per second to the baseline's.
// (2) At once: CINELOCK_BENCH_AT_ONCE (default 8) files of CINELOCK_BENCH_AT_ONCE_MIB (default
// 24) MiB started together in the upload worker, against one such file alone (the baseline):
// MB/s, and the peak of JS heap plus ArrayBuffers of the page and its workers (DevTools, every
// 50 ms) above the level before, with its ratio to the baseline's.
// (3) A page's first upload, on a first visit: a new browser (a new profile: no cached code)
// loads the page and calls `load()`, as a player page does, for each of
// CINELOCK_BENCH_FIRST_ROUNDS (default 5) rounds, and one file of
// CINELOCK_BENCH_FILE_MIB MiB goes up at once, or after `prepareUploads()`, in the upload
// worker and on the page's thread. Prints the median milliseconds from `upload()` to done,
// against the median of the uploads that follow it in the same page (the baseline).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "./harness.mjs";
import { launchRaw } from "./cdp.mjs";
import { benchStore, withMemoryPeak } from "./bench-env.mjs";

const FILES = Number(process.env.CINELOCK_BENCH_FILES ?? 20);
const FILE_MIB = Number(process.env.CINELOCK_BENCH_FILE_MIB ?? 2);
const ORDER = [false, true, true, false];
const AT_ONCE = Number(process.env.CINELOCK_BENCH_AT_ONCE ?? 8);
const AT_ONCE_MIB = Number(process.env.CINELOCK_BENCH_AT_ONCE_MIB ?? 24);
const FIRST_ROUNDS = Number(process.env.CINELOCK_BENCH_FIRST_ROUNDS ?? 5);

const tmp = mkdtempSync(join(tmpdir(), "cinelock-bench-"));
const { garage, env } = await benchStore(tmp);
const server = await startServer(env);
const size = FILE_MIB << 20;
let chrome = null;
try {
  chrome = await launchRaw();
  const { page } = chrome;
  await page.goto(`${server.url}/`);
  // Workers are their own DevTools targets: memory is read from each.
  const workers = await page.attach();
  await page.evaluate(`import("/sdk/dist/index.js").then((c) => c.load())`);
  // Files made in the page as `window[name]`: `n` of `bytes` random bytes each.
  const makeFiles = (name, n, bytes) => page.evaluate(`(() => {
    window.${name} = Array.from({ length: ${n} }, (_, i) => {
      const data = new Uint8Array(${bytes});
      for (let at = 0; at < data.length; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
      return new File([data], "clip-" + i + ".mp4", { lastModified: i });
    });
    return true;
  })()`);
  await makeFiles("benchFiles", FILES, size);
  const create = async (n, bytes) => {
    const created = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${server.url}/v1/uploads`, { method: "POST", headers: { authorization: "Bearer clk_dev_insecure_demo_key", "content-type": "application/json" }, body: JSON.stringify({ size: bytes, filename: `clip-${i}.mp4` }) });
      created.push(await res.json());
    }
    return created;
  };
  const rows = [];
  for (const worker of ORDER) {
    const created = await create(FILES, size);
    const r = await page.evaluate(`(async () => {
      const c = await import("/sdk/dist/index.js");
      const created = ${JSON.stringify(created)};
      const each = [];
      const t = performance.now();
      for (let i = 0; i < created.length; i++) {
        const t0 = performance.now();
        const h = await c.upload(window.benchFiles[i], { endpoint: ${JSON.stringify(server.url)}, upload: created[i], worker: ${worker} });
        await h.done;
        if (h.stats().worker !== ${JSON.stringify(worker ? "running" : "off")}) throw new Error("ran " + h.stats().worker);
        each.push(performance.now() - t0);
      }
      return { ms: performance.now() - t, each };
    })()`);
    rows.push({ worker, ...r });
  }
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const base = mean(rows.filter((r) => !r.worker).map((r) => r.ms));
  console.log(`${FILES} files of ${FILE_MIB} MiB, one after another, through cinelock.upload() to local Garage (release server unless CINELOCK_SERVER_BIN says otherwise), headless Chromium`);
  console.log(`${"run".padEnd(42)}${"total ms".padStart(10)}${"ms per file".padStart(13)}${"median".padStart(9)}${"first".padStart(8)}${"files/s ratio".padStart(15)}`);
  for (const r of rows) {
    const name = r.worker ? "cinelock.upload, upload worker" : "cinelock.upload, page thread (baseline)";
    console.log(`${name.padEnd(42)}${r.ms.toFixed(0).padStart(10)}${(r.ms / FILES).toFixed(1).padStart(13)}${median(r.each).toFixed(1).padStart(9)}${r.each[0].toFixed(0).padStart(8)}${(base / r.ms).toFixed(2).padStart(15)}`);
  }

  // (2) At once, against one alone.
  const big = AT_ONCE_MIB << 20;
  await makeFiles("bigFiles", AT_ONCE, big);
  // Let the page's collector take the arrays the files were made from, and the worker of the
  // runs above go, before measuring.
  await new Promise((r) => setTimeout(r, 12_000));
  await page.send("HeapProfiler.collectGarbage", {});
  const together = [];
  for (const n of [1, AT_ONCE]) {
    const created = await create(n, big);
    const { value, peak } = await withMemoryPeak(page, workers, () => page.evaluate(`(async () => {
      const c = await import("/sdk/dist/index.js");
      const created = ${JSON.stringify(created)};
      const t = performance.now();
      const handles = await Promise.all(created.map((cr, i) => c.upload(window.bigFiles[i], { endpoint: ${JSON.stringify(server.url)}, upload: cr })));
      await Promise.all(handles.map((h) => h.done));
      return { ms: performance.now() - t };
    })()`));
    together.push({ n, ms: value.ms, peak });
  }
  const [alone] = together;
  console.log(`\n${AT_ONCE} files of ${AT_ONCE_MIB} MiB started at once in the upload worker, against one alone (the baseline)`);
  console.log(`${"run".padEnd(42)}${"MB/s".padStart(8)}${"page+workers peak".padStart(20)}${"peak ratio".padStart(12)}`);
  for (const r of together) {
    const name = r.n === 1 ? "one file alone (baseline)" : `${r.n} files at once`;
    console.log(`${name.padEnd(42)}${(r.n * big / 1e6 / (r.ms / 1000)).toFixed(1).padStart(8)}${`+${(r.peak / 1048576).toFixed(1)} MiB`.padStart(20)}${(r.peak / alone.peak).toFixed(2).padStart(12)}`);
  }

  // (3) A page's first upload, prepared or not, against the uploads after it.
  /** A first visit: a new browser loads the page and uploads three files, one after another. */
  const firstVisit = async (worker, prepared) => {
    const visit = await launchRaw();
    try {
      await visit.page.goto(`${server.url}/`);
      await visit.page.evaluate(`import("/sdk/dist/index.js").then((c) => c.load())`);
      const created = await create(3, size);
      return await visit.page.evaluate(`(async () => {
        const c = await import("/sdk/dist/index.js");
        const created = ${JSON.stringify(created)};
        const t = performance.now();
        const stats = ${prepared} ? await c.prepareUploads({ worker: ${worker} }) : null;
        const prepareMs = performance.now() - t;
        const each = [];
        for (let i = 0; i < created.length; i++) {
          const data = new Uint8Array(${size});
          for (let at = 0; at < data.length; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
          const file = new File([data], "clip-" + i + ".mp4", { lastModified: i });
          const t0 = performance.now();
          const h = await c.upload(file, { endpoint: ${JSON.stringify(server.url)}, upload: created[i], worker: ${worker} });
          await h.done;
          if (h.stats().worker !== ${JSON.stringify(worker ? "running" : "off")}) throw new Error("ran " + h.stats().worker);
          if (stats && stats.worker !== h.stats().worker) throw new Error("prepared " + stats.worker);
          each.push(performance.now() - t0);
        }
        return { prepareMs, each };
      })()`);
    } finally {
      await visit.close();
    }
  };
  const first = new Map();
  const record = (key, ms) => first.set(key, [...(first.get(key) ?? []), ms]);
  for (let round = 0; round < FIRST_ROUNDS; round++) {
    for (const worker of [true, false]) {
      // Alternated, so that neither always runs first.
      for (const prepared of round % 2 ? [true, false] : [false, true]) {
        const r = await firstVisit(worker, prepared);
        const where = worker ? "upload worker" : "page thread";
        record(`${where}, first upload${prepared ? " after prepareUploads()" : ""}`, r.each[0]);
        record(`${where}, uploads after the first (baseline)`, r.each[1]);
        record(`${where}, uploads after the first (baseline)`, r.each[2]);
        if (prepared) record(`${where}, prepareUploads() itself`, r.prepareMs);
      }
    }
  }
  console.log(`\nA page's first upload of ${FILE_MIB} MiB, ${FIRST_ROUNDS} pages each: median ms from upload() to done (prepareUploads(): until it resolved)`);
  console.log(`${"run".padEnd(58)}${"median ms".padStart(10)}${"ratio".padStart(8)}   every round`);
  for (const where of ["upload worker", "page thread"]) {
    const base = median(first.get(`${where}, uploads after the first (baseline)`));
    for (const [key, xs] of first) {
      if (!key.startsWith(where)) continue;
      console.log(`${key.padEnd(58)}${median(xs).toFixed(1).padStart(10)}${(key.endsWith("itself") ? "—" : (median(xs) / base).toFixed(2)).padStart(8)}   ${xs.map((x) => x.toFixed(0)).join(" ")}`);
    }
  }
} finally {
  await chrome?.close();
  await server.stop();
  await garage.stop();
  rmSync(tmp, { recursive: true, force: true });
}
