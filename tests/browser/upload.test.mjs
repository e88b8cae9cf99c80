// The upload path end to end in headless Chromium against a real Garage: the npm API seals a
// file part by part and PUTs it straight to the store; the object is ciphertext and opens
// natively (Rust core, the workers' code) to the exact source. Faults and a page reload too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, launchBrowser, startServer } from "./harness.mjs";
import { ACCESS_KEY, BUCKET, SECRET_KEY, freePort, startFaultProxy, startGarage } from "./garage.mjs";

// The demo's well-known development key (scripts/demo installs the same).
const DEV_KEY = "clk_dev_insecure_demo_key";
const MiB = 1048576;

// Deterministic bytes, generated identically here and in the page (xorshift32 per 4 bytes).
const FILL = `(buf, seed) => { let x = seed >>> 0 || 1; const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength); let i = 0; for (; i + 4 <= buf.length; i += 4) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; v.setUint32(i, x, true); } for (; i < buf.length; i++) buf[i] = i & 255; return buf; }`;
const fill = eval(FILL);

// In the page: the `nth` Blob stream made from now on (counting from 1) gives nothing and
// never ends, as a file read that never settles; `streams` records each stream made and
// whether it was cancelled, `restore()` puts the browser's own back.
const HANG_STREAM = `(nth) => {
  const real = Blob.prototype.stream;
  const streams = [];
  Blob.prototype.stream = function () {
    const s = { cancelled: false };
    streams.push(s);
    if (streams.length !== nth) return real.call(this);
    return new ReadableStream({ type: "bytes", pull: () => new Promise(() => {}), cancel: () => { s.cancelled = true; } });
  };
  return { streams, restore: () => { Blob.prototype.stream = real; } };
}`;

// In the page: the first request whose URL ends with `suffix` gets no answer (a connection that
// went silent) until its signal aborts it; with `send`, it still reaches the server, whose answer
// is lost. `calls` records each such request (when, its status if sent, how it was aborted),
// `restore()` puts the browser's own fetch back.
const HOLD_FIRST = `(suffix, { send = false } = {}) => {
  const real = globalThis.fetch;
  const calls = [];
  globalThis.fetch = (url, init) => {
    if (!String(url).endsWith(suffix)) return real(url, init);
    const call = { at: performance.now(), aborted: null, status: null };
    calls.push(call);
    const sent = () => real(url, init).then((res) => { call.status = res.status; return res; });
    if (calls.length > 1) return sent();
    if (send) sent().catch(() => {});
    return new Promise((_, fail) => init?.signal?.addEventListener("abort", () => {
      call.aborted = { name: init.signal.reason?.name, after: performance.now() - call.at };
      fail(init.signal.reason);
    }));
  };
  return { calls, restore: () => { globalThis.fetch = real; } };
}`;

/**
 * A page with the test's fill function installed before any page script runs (the pages'
 * Content-Security-Policy forbids `eval` in them; a script the browser is told to add is not
 * page script).
 */
async function newPage() {
  const page = await browser.newPage();
  // MediaSources made in the page: an upload makes none (only `load()` rehearses a player).
  const counted = "window.mediaSources = 0; window.MediaSource = class extends MediaSource { constructor() { super(); window.mediaSources++; } };";
  await page.addInitScript({ content: `window.fill = ${FILL}; window.hangStream = ${HANG_STREAM}; window.holdFirst = ${HOLD_FIRST}; ${counted}` });
  return page;
}

function workerKey() {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  const hex = (b64u) => Buffer.from(b64u, "base64url").toString("hex");
  return { pk: hex(publicKey.export({ format: "jwk" }).x), sk: hex(privateKey.export({ format: "jwk" }).d) };
}

let garage, browser, worker, tmp;
const servers = [];

async function serverFor(s3Endpoint) {
  const env = {
    CINELOCK_S3_ENDPOINT: s3Endpoint,
    CINELOCK_S3_REGION: "garage",
    CINELOCK_S3_BUCKET: BUCKET,
    CINELOCK_S3_ACCESS_KEY: ACCESS_KEY,
    CINELOCK_S3_SECRET_KEY: SECRET_KEY,
    CINELOCK_TOKEN_SECRET: "ab".repeat(32),
    CINELOCK_WORKER_PUBLIC_KEY: worker.pk,
    CINELOCK_DEV_API_KEY: DEV_KEY,
    CINELOCK_DATABASE_URL: `sqlite://${tmp}/db-${servers.length}.sqlite?mode=rwc`,
    CINELOCK_ALLOWED_ORIGINS: "*",
  };
  const server = await startServer(env);
  servers.push(server);
  return server;
}

/** A server on its embedded S3 store (s3s-fs), configured as scripts/demo does. */
async function embeddedServer() {
  const port = await freePort();
  const env = {
    CINELOCK_EMBEDDED_S3_DIR: join(tmp, `s3-${servers.length}`),
    CINELOCK_EMBEDDED_S3_LISTEN: `127.0.0.1:${port}`,
    CINELOCK_S3_ACCESS_KEY: ACCESS_KEY,
    CINELOCK_S3_SECRET_KEY: SECRET_KEY,
    CINELOCK_TOKEN_SECRET: "cd".repeat(32),
    CINELOCK_WORKER_PUBLIC_KEY: worker.pk,
    CINELOCK_DEV_API_KEY: DEV_KEY,
    CINELOCK_DATABASE_URL: `sqlite://${tmp}/db-${servers.length}.sqlite?mode=rwc`,
  };
  const server = await startServer(env);
  servers.push(server);
  server.store = { endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", bucket: "cinelock" };
  return server;
}

async function createUpload(server, size, extra = {}) {
  const res = await fetch(`${server.url}/v1/uploads`, {
    method: "POST",
    headers: { authorization: `Bearer ${DEV_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ size, filename: "clip.bin", ...extra }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

/** Fetches the object with the Rust core (as a worker would), returns { sealed, plain }. */
function fetchAndOpen(assetId, store = { endpoint: garage.endpoint, region: "garage", bucket: BUCKET }) {
  const sealedPath = join(tmp, `${assetId}.sealed`), plainPath = join(tmp, `${assetId}.plain`);
  execFileSync(join(ROOT, "target/debug/examples/fetch_and_open"),
    [store.endpoint, store.region, store.bucket, `assets/${assetId}/source.cnlk`, assetId, worker.sk, sealedPath, plainPath],
    { env: { ...process.env, CINELOCK_S3_ACCESS_KEY: ACCESS_KEY, CINELOCK_S3_SECRET_KEY: SECRET_KEY } });
  return { sealed: readFileSync(sealedPath), plain: readFileSync(plainPath) };
}

/** In the page: builds the file and uploads it through the npm API; resolves to events seen. */
async function uploadInPage(page, server, created, { size, seed, maxParallel = 4, worker = true, stallTimeoutMs }) {
  return page.evaluate(async ({ endpoint, created, size, seed, maxParallel, worker, stallTimeoutMs, FILL }) => {
    const c = await import("/sdk/dist/index.js");
    const fill = window.fill;
    const file = new File([fill(new Uint8Array(size), seed)], "clip.bin", { lastModified: 1700000000000 });
    const events = [];
    const retries = [];
    const onEvent = (e) => {
      events.push(e.type);
      if (e.type === "retrying") retries.push({ number: e.number, reason: e.reason, at: performance.now() });
    };
    const handle = await c.upload(file, { endpoint, upload: created, maxParallel, worker, stallTimeoutMs, onEvent });
    let heapPeak = 0;
    const timer = setInterval(() => { heapPeak = Math.max(heapPeak, performance.memory?.usedJSHeapSize ?? 0); }, 50);
    try { await handle.done; } finally { clearInterval(timer); }
    return { events, retries, heapPeak, mediaSources: window.mediaSources };
  }, { endpoint: server.url, created, size, seed, maxParallel, worker, stallTimeoutMs, FILL });
}

/** The bucket needs CORS rules before a browser may PUT (the server refuses to start without):
 * set once, directly on the store, with the server's own admin command. */
async function configureCors() {
  const bin = process.env.CINELOCK_SERVER_BIN ?? join(ROOT, "target/debug/cinelock-server");
  const env = {
    ...process.env,
    CINELOCK_S3_ENDPOINT: garage.endpoint, CINELOCK_S3_REGION: "garage", CINELOCK_S3_BUCKET: BUCKET,
    CINELOCK_S3_ACCESS_KEY: ACCESS_KEY, CINELOCK_S3_SECRET_KEY: SECRET_KEY, CINELOCK_TOKEN_SECRET: "ab".repeat(32),
    CINELOCK_WORKER_PUBLIC_KEY: worker.pk, CINELOCK_DATABASE_URL: `sqlite://${tmp}/admin.sqlite?mode=rwc`, CINELOCK_ALLOWED_ORIGINS: "*",
  };
  for (let i = 0; ; i++) {
    // Garage creates its bucket just after it starts listening: retry briefly.
    const r = spawnSync(bin, ["configure-bucket-cors"], { cwd: ROOT, env, encoding: "utf8", timeout: 20_000 });
    if (r.status === 0) return;
    if (i > 50) throw new Error(`configure-bucket-cors failed: ${r.stderr}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "cinelock-e2e-"));
  worker = workerKey();
  garage = await startGarage();
  await configureCors();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  for (const s of servers) await s.stop();
  await garage?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

for (const store of ["Garage", "the embedded store"]) {
  test(`a 64 MiB file uploads sealed to ${store}; the object is ciphertext and opens natively to the exact source`, async () => {
    const server = store === "Garage" ? await serverFor(garage.endpoint) : await embeddedServer();
    const size = 64 * MiB + 12345;
    const created = await createUpload(server, size);
    assert.equal(created.plan.part_count, 9);
    const page = await newPage();
    await page.goto(server.url);
    const r = await uploadInPage(page, server, created, { size, seed: 7 });
    assert.ok(r.events.includes("completed"), r.events.join(","));
    assert.equal(r.events.filter((e) => e === "partDone").length, 9);
    assert.equal(r.mediaSources, 0, "an upload rehearses no player");
    const source = fill(Buffer.alloc(size), 7);
    const { sealed, plain } = fetchAndOpen(created.asset_id, server.store);
    assert.equal(sealed.length, created.plan.sealed_len);
    assert.equal(createHash("sha256").update(plain).digest("hex"), createHash("sha256").update(source).digest("hex"));
    for (let i = 0; i < 64; i++) {
      const at = Math.floor((i / 64) * (size - 64));
      assert.equal(sealed.indexOf(source.subarray(at, at + 32)), -1, `plaintext window at ${at} is in the bucket`);
    }
    const status = await (await fetch(`${server.url}/v1/uploads/${created.upload_id}`, { headers: { authorization: `Bearer ${created.token}` } })).json();
    assert.equal(status.status, "completed");
    await page.close();
  });
}

test("the landing page uploads a chosen file and shows progress and the asset id; /upload.html leads there", async () => {
  const server = await embeddedServer();
  const page = await newPage();
  // Old links to the upload page land on the home page, which is the upload page now.
  await page.goto(`${server.url}/upload.html`);
  await page.waitForURL(`${server.url}/`);
  await page.waitForSelector("#file");
  const size = 11 * MiB + 5;
  const workers = [];
  page.on("worker", (w) => workers.push(w.url()));
  // As a user picks it: the click that opens the file chooser also readies the upload worker.
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.click("#file")]);
  await chooser.setFiles({ name: "holiday.mp4", mimeType: "video/mp4", buffer: fill(Buffer.alloc(size), 3) });
  for (let i = 0; i < 100 && !workers.some((u) => u.includes("upload-worker")); i++) await new Promise((ok) => setTimeout(ok, 50));
  assert.deepEqual(workers.filter((u) => u.includes("upload-worker")).length, 1, `started before the upload: ${JSON.stringify(workers)}`);
  await page.click("#go");
  await page.waitForSelector("#result:not([hidden])", { timeout: 120_000 });
  const asset = (await page.textContent("#r-asset")).trim();
  assert.match(asset, /^[0-9a-f-]{36}$/);
  assert.equal(await page.evaluate(() => document.getElementById("bar").value), 1);
  assert.match(await page.textContent("#numbers"), /11\.0 MiB of 11\.0 MiB sent · 11\.0 MiB stored/);
  assert.match(await page.textContent("#status"), /only ciphertext/);
  const { plain } = fetchAndOpen(asset, server.store);
  assert.ok(plain.equals(fill(Buffer.alloc(size), 3)));
  // The upload ran in the worker the click had readied.
  assert.equal(workers.filter((u) => u.includes("upload-worker")).length, 1, JSON.stringify(workers));
  await page.close();
});

test("with 20% of part PUTs failing or cut, the upload still completes with exact bytes", async () => {
  const proxy = await startFaultProxy(garage.endpoint, { failRate: 0.2, seed: 99 });
  try {
    const server = await serverFor(proxy.endpoint);
    const size = 20 * MiB + 7;
    const created = await createUpload(server, size, { part_size: 5 * MiB });
    assert.ok(created.plan.part_count >= 4);
    const page = await newPage();
    await page.goto(server.url);
    // On the page's own thread this time (the other tests seal in the upload worker).
    const r = await uploadInPage(page, server, created, { size, seed: 11, worker: false });
    assert.ok(r.events.includes("retrying"), "faults were retried");
    assert.ok(proxy.stats.injected >= 1, "the proxy injected faults");
    assert.equal(r.mediaSources, 0, "an upload on the page's thread rehearses no player");
    const { plain } = fetchAndOpen(created.asset_id);
    assert.ok(plain.equals(fill(Buffer.alloc(size), 11)));
    await page.close();
  } finally {
    await proxy.stop();
  }
});

test("a page's uploads share one upload worker: two at once, one aborted, and one after; it is let go once idle", { timeout: 90_000 }, async () => {
  const server = await serverFor(garage.endpoint);
  const page = await newPage();
  const workers = [];
  page.on("worker", (w) => {
    const seen = { url: w.url(), closedAt: null };
    workers.push(seen);
    w.on("close", () => { seen.closedAt = Date.now(); });
  });
  await page.goto(server.url);
  const sizes = [12 * MiB + 1, 12 * MiB + 2, 6 * MiB + 3];
  const created = [];
  for (const size of sizes) created.push(await createUpload(server, size, { part_size: 5 * MiB }));
  const r = await page.evaluate(async ({ endpoint, created, sizes }) => {
    const c = await import("/sdk/dist/index.js");
    const file = (i) => new File([window.fill(new Uint8Array(sizes[i]), 31 + i)], `clip-${i}.bin`, { lastModified: 1 });
    const events = [[], [], []];
    const start = (i) => c.upload(file(i), { endpoint, upload: created[i], onEvent: (e) => events[i].push(e.type) });
    // Two at once; the second aborted as soon as it started, while the first goes on.
    const [a, b] = await Promise.all([start(0), start(1)]);
    b.abort();
    const aborted = await b.done.then(() => "completed", (e) => e.code);
    await a.done;
    // One more after both, in the same worker.
    const c3 = await start(2);
    await c3.done;
    const puts = performance.getEntriesByType("resource").filter((e) => e.name.includes("partNumber=")).length;
    return { aborted, events, stats: [a.stats(), b.stats(), c3.stats()], puts };
  }, { endpoint: server.url, created, sizes });
  const lastDone = Date.now();
  assert.equal(r.aborted, "aborted");
  assert.ok(r.events[0].includes("completed") && r.events[2].includes("completed"), JSON.stringify(r.events));
  assert.ok(!r.events[1].includes("completed"), JSON.stringify(r.events[1]));
  assert.deepEqual(r.stats, [{ worker: "running" }, { worker: "running" }, { worker: "running" }]);
  // Every PUT went from the worker (the page's own requests show in its resource timing).
  assert.equal(r.puts, 0);
  // One worker ran all three.
  assert.equal(workers.length, 1, JSON.stringify(workers));
  for (const i of [0, 2]) {
    const { plain } = fetchAndOpen(created[i].asset_id);
    assert.ok(plain.equals(fill(Buffer.alloc(sizes[i]), 31 + i)), `upload ${i}`);
  }
  const status = await (await fetch(`${server.url}/v1/uploads/${created[1].upload_id}`, { headers: { authorization: `Bearer ${created[1].token}` } })).json();
  assert.equal(status.status, "aborted");
  // Kept for the next upload for a while, then let go.
  await new Promise((ok) => setTimeout(ok, 5_000));
  assert.equal(workers[0].closedAt, null, "let go too soon");
  for (let i = 0; i < 100 && workers[0].closedAt === null; i++) await new Promise((ok) => setTimeout(ok, 100));
  assert.ok(workers[0].closedAt !== null, "the idle worker was never let go");
  const idle = workers[0].closedAt - lastDone;
  assert.ok(idle >= 8_000 && idle < 14_000, `let go ${idle} ms after the last upload`);
  await page.close();
});

test("prepareUploads() readies the page's upload worker with a rehearsal that sends nothing, and the next upload runs in that worker; with worker: false, the page's thread", { timeout: 60_000 }, async () => {
  const server = await serverFor(garage.endpoint);
  const page = await newPage();
  const workers = [];
  page.on("worker", (w) => workers.push(w.url()));
  // Every request the page or its workers make, the worker's fetches included.
  const requests = [];
  page.on("request", (r) => requests.push(`${r.method()} ${r.url()}`));
  await page.goto(server.url);
  const sizes = [3 * MiB + 5, 2 * MiB + 7];
  const created = [];
  for (const size of sizes) created.push(await createUpload(server, size));
  const prepared = await page.evaluate(async () => {
    const c = await import("/sdk/dist/index.js");
    // The page's WebCrypto: the worker's rehearsal seals in the worker, the page's here.
    let encrypts = 0;
    const real = crypto.subtle.encrypt.bind(crypto.subtle);
    crypto.subtle.encrypt = (...a) => { encrypts++; return real(...a); };
    const inWorker = await c.prepareUploads();
    const again = await c.prepareUploads();
    const workerEncrypts = encrypts;
    const here = await c.prepareUploads({ worker: false });
    const hereEncrypts = encrypts - workerEncrypts;
    // The rehearsal itself (its failures do not fail prepareUploads()) runs to its completion.
    const { wasm } = await import("/sdk/dist/internal/wasm.js");
    const rehearsal = await wasm.warmUpUpload().then(() => "completed", (e) => String(e?.message ?? e));
    return { inWorker, again, here, workerEncrypts, hereEncrypts, rehearsal, mediaSources: window.mediaSources };
  });
  assert.deepEqual([prepared.inWorker, prepared.again, prepared.here], [{ worker: "running" }, { worker: "running" }, { worker: "off" }]);
  // One worker, started by the first call and ready before any upload.
  assert.equal(workers.length, 1, JSON.stringify(workers));
  assert.equal(prepared.workerEncrypts, 0);
  // The page's rehearsal sealed its eight chunks through WebCrypto, and played nothing.
  assert.ok(prepared.hereEncrypts >= 8, `page rehearsal: ${prepared.hereEncrypts} encrypt calls`);
  assert.equal(prepared.mediaSources, 0);
  assert.equal(prepared.rehearsal, "completed");
  // Nothing but the SDK's own files was fetched: no API call, no PUT, from the page or the worker.
  const sent = (list) => list.filter((r) => !r.startsWith("GET ") || r.includes("/v1/") || r.startsWith(`GET ${garage.endpoint}`));
  assert.deepEqual(sent(requests), []);
  const seenBefore = requests.length;
  const r = await page.evaluate(async ({ endpoint, created, sizes }) => {
    const c = await import("/sdk/dist/index.js");
    const file = (i) => new File([window.fill(new Uint8Array(sizes[i]), 51 + i)], `clip-${i}.bin`, { lastModified: 1 });
    const a = await c.upload(file(0), { endpoint, upload: created[0] });
    await a.done;
    const b = await c.upload(file(1), { endpoint, upload: created[1], worker: false });
    await b.done;
    return [a.stats(), b.stats()];
  }, { endpoint: server.url, created, sizes });
  assert.deepEqual(r, [{ worker: "running" }, { worker: "off" }]);
  // The upload ran in the prepared worker, and the request log sees what uploads send (from the
  // worker too), so the empty log above meant something.
  assert.equal(workers.length, 1, JSON.stringify(workers));
  const uploaded = sent(requests.slice(seenBefore));
  for (const c of created) assert.ok(uploaded.some((q) => q.startsWith(`POST ${server.url}/v1/uploads/${c.upload_id}/sign`)), uploaded.join("\n"));
  assert.ok(uploaded.filter((q) => q.startsWith(`PUT ${garage.endpoint}`)).length >= 2, uploaded.join("\n"));
  for (const i of [0, 1]) {
    const { plain } = fetchAndOpen(created[i].asset_id);
    assert.ok(plain.equals(fill(Buffer.alloc(sizes[i]), 51 + i)), `upload ${i}`);
  }
  await page.close();
});

test("eight uploads at once never have more PUTs out than the browser runs (none waits unseen in its queue and is taken for stalled), and those without a PUT slot read nothing", { timeout: 120_000 }, async () => {
  const server = await serverFor(garage.endpoint);
  const page = await newPage();
  await page.goto(server.url);
  // A link that takes a few seconds per part: a PUT queued in the browser behind six others
  // would send nothing for longer than the stall timeout.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 5, downloadThroughput: 100e6 / 8, uploadThroughput: 80e6 / 8 });
  const n = 8, size = 10 * MiB;
  const created = [];
  for (let i = 0; i < n; i++) created.push(await createUpload(server, size + i, { part_size: 5 * MiB }));
  const r = await page.evaluate(async ({ endpoint, created, size }) => {
    const c = await import("/sdk/dist/index.js");
    // PUT requests out at once, counted from send() to their end (heard before the SDK's own
    // listener, which may send the next PUT at once).
    let out = 0, most = 0;
    const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
    // When each upload's last PUT ended (its object's key is in the URL).
    const lastPut = {};
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
      this.isPut = method === "PUT";
      const asset = created.findIndex((cr) => String(url).includes(cr.asset_id));
      if (this.isPut) this.addEventListener("loadend", () => { if (this.counted) out--; lastPut[`f${asset}.bin`] = performance.now(); }, { once: true });
      return open.call(this, method, url, ...rest);
    };
    XMLHttpRequest.prototype.send = function (body) {
      if (this.isPut) {
        this.counted = true;
        out++;
        most = Math.max(most, out);
      }
      return send.call(this, body);
    };
    // When each file is first read (its slices are tagged with its name).
    const firstRead = {};
    const slice = Blob.prototype.slice, stream = Blob.prototype.stream;
    Blob.prototype.slice = function (...args) { const b = slice.apply(this, args); b.from = this.from ?? this.name; return b; };
    Blob.prototype.stream = function () { if (this.from) firstRead[this.from] ??= performance.now(); return stream.call(this); };
    const retries = [];
    // On the page's thread, where the page sees the requests (the worker runs the same driver).
    const handles = await Promise.all(created.map((cr, i) => c.upload(new File([window.fill(new Uint8Array(size + i), 50 + i)], `f${i}.bin`), {
      endpoint, upload: cr, worker: false, stallTimeoutMs: 2000,
      onEvent: (e) => { if (e.type === "retrying") retries.push({ upload: i, number: e.number, reason: e.reason }); },
    })));
    const results = await Promise.all(handles.map((h) => h.done.then(() => "completed", (e) => e.code)));
    // The most uploads holding parts at any moment: from the first read of their file to the
    // end of their last PUT.
    const reading = Math.max(...Object.values(firstRead).map((t) => Object.keys(firstRead).filter((f) => firstRead[f] <= t && lastPut[f] > t).length));
    return { results, retries, most, reading, read: Object.keys(firstRead).length };
  }, { endpoint: server.url, created, size });
  assert.deepEqual(r.results, Array(n).fill("completed"));
  assert.deepEqual(r.retries, []);
  assert.ok(r.most <= 6, `${r.most} PUTs out at once`);
  // An upload with no PUT slot reads and seals nothing: at most six held parts at once.
  assert.equal(r.read, n);
  assert.ok(r.reading <= 6, `${r.reading} uploads holding parts at once`);
  for (const i of [0, n - 1]) {
    const { plain } = fetchAndOpen(created[i].asset_id);
    assert.ok(plain.equals(fill(Buffer.alloc(size + i), 50 + i)), `upload ${i}`);
  }
  await page.close();
});

test("a part damaged on its way to the store is refused for its CRC32C and sealed and sent again; the upload completes with exact bytes", async () => {
  const proxy = await startFaultProxy(garage.endpoint, { damage: [2] });
  try {
    const server = await serverFor(proxy.endpoint);
    const size = 12 * MiB + 3;
    const created = await createUpload(server, size, { part_size: 5 * MiB });
    assert.equal(created.part_checksum, "crc32c");
    assert.equal(created.plan.part_count, 3);
    const page = await newPage();
    await page.goto(server.url);
    const r = await uploadInPage(page, server, created, { size, seed: 13 });
    assert.ok(r.events.includes("completed"), r.events.join(","));
    assert.equal(proxy.stats.damaged, 1);
    // Every part PUT carried the CRC32C its URL was signed for, and nothing else.
    assert.deepEqual([...proxy.stats.checksums], ["x-amz-checksum-crc32c"]);
    // The store refused the damaged part, and took it when it came again.
    const part2 = proxy.stats.statuses.filter((s) => s.part === 2).map((s) => s.status);
    assert.deepEqual(part2, [400, 200]);
    assert.ok(r.events.includes("retrying"), r.events.join(","));
    const { plain } = fetchAndOpen(created.asset_id);
    assert.ok(plain.equals(fill(Buffer.alloc(size), 13)));
    await page.close();
  } finally {
    await proxy.stop();
  }
});

test("a part's PUT that goes silent is aborted after the stall timeout and sent again; the upload completes with exact bytes", { timeout: 90_000 }, async () => {
  const proxy = await startFaultProxy(garage.endpoint, { silent: [2] });
  try {
    const server = await serverFor(proxy.endpoint);
    const size = 12 * MiB + 5;
    const created = await createUpload(server, size, { part_size: 5 * MiB });
    assert.equal(created.plan.part_count, 3);
    const page = await newPage();
    await page.goto(server.url);
    const started = Date.now();
    // In the default upload worker, as a user runs it.
    const r = await uploadInPage(page, server, created, { size, seed: 17, stallTimeoutMs: 2000 });
    const took = Date.now() - started;
    assert.ok(r.events.includes("completed"), r.events.join(","));
    // The proxy took part 2's first PUT and never answered; the SDK gave up on it (closed the
    // connection) after the stall timeout, not the browser's own (minutes), and sent it again.
    assert.equal(proxy.stats.silenced, 1);
    assert.equal(proxy.stats.silentClosed, 1);
    assert.equal(proxy.stats.puts.get("2"), 2);
    assert.deepEqual(proxy.stats.statuses.filter((s) => s.part === 2).map((s) => s.status), [200]);
    assert.deepEqual(r.retries.map(({ number, reason }) => ({ number, reason })), [{ number: 2, reason: "timeout" }]);
    assert.ok(took >= 2000 && took < 30_000, `took ${took} ms`);
    const { plain } = fetchAndOpen(created.asset_id);
    assert.ok(plain.equals(fill(Buffer.alloc(size), 17)));
    await page.close();
  } finally {
    await proxy.stop();
  }
});

test("a signing request that gets no answer is abandoned after the stall timeout and asked again; the upload completes", { timeout: 90_000 }, async () => {
  const server = await serverFor(garage.endpoint);
  const size = 7 * MiB + 9;
  const created = await createUpload(server, size, { part_size: 5 * MiB });
  assert.equal(created.plan.part_count, 2);
  const page = await newPage();
  await page.goto(server.url);
  const r = await page.evaluate(async ({ endpoint, created, size }) => {
    const c = await import("/sdk/dist/index.js");
    // The server's first signing answer never comes (a silent connection): the request stays
    // out until the SDK aborts it.
    const held = window.holdFirst("/sign");
    const file = new File([window.fill(new Uint8Array(size), 21)], "clip.bin", { lastModified: 1 });
    const retries = [];
    const events = [];
    const handle = await c.upload(file, { endpoint, upload: created, worker: false, stallTimeoutMs: 1500, onEvent: (e) => {
      events.push(e.type);
      if (e.type === "retrying") retries.push(e.reason);
    } });
    await handle.done;
    held.restore();
    return { signs: held.calls, retries, events };
  }, { endpoint: server.url, created, size });
  assert.ok(r.events.includes("completed"), r.events.join(","));
  assert.ok(r.signs.length >= 2, JSON.stringify(r.signs));
  assert.equal(r.signs[0].aborted?.name, "TimeoutError", JSON.stringify(r.signs[0]));
  assert.ok(r.signs[0].aborted.after >= 1400 && r.signs[0].aborted.after < 10_000, JSON.stringify(r.signs[0]));
  assert.deepEqual(r.retries, ["signingFailed"]);
  const { plain } = fetchAndOpen(created.asset_id);
  assert.ok(plain.equals(fill(Buffer.alloc(size), 21)));
  await page.close();
});

test("a completion whose answer never comes is given up after its timeout and asked again; the server answers the same and the upload completes", { timeout: 90_000 }, async () => {
  const server = await serverFor(garage.endpoint);
  const size = 7 * MiB + 13;
  const created = await createUpload(server, size, { part_size: 5 * MiB });
  const page = await newPage();
  await page.goto(server.url);
  const r = await page.evaluate(async ({ endpoint, created, size }) => {
    const c = await import("/sdk/dist/index.js");
    // The first completion reaches the server, which completes the object, but its answer is
    // lost (a connection that went silent): the request stays out until the SDK aborts it.
    const held = window.holdFirst("/complete", { send: true });
    const file = new File([window.fill(new Uint8Array(size), 23)], "clip.bin", { lastModified: 1 });
    const retries = [];
    const events = [];
    const handle = await c.upload(file, { endpoint, upload: created, worker: false, stallTimeoutMs: 1000, onEvent: (e) => {
      events.push(e.type);
      if (e.type === "retrying") retries.push({ number: e.number ?? null, reason: e.reason });
    } });
    await handle.done;
    held.restore();
    return { completes: held.calls, retries, events };
  }, { endpoint: server.url, created, size });
  assert.ok(r.events.includes("completed"), r.events.join(","));
  assert.equal(r.completes.length, 2, JSON.stringify(r.completes));
  // The server completed the first time; its answer was withheld from the SDK.
  assert.equal(r.completes[0].status, 200, JSON.stringify(r.completes));
  // Given ten stall timeouts (the store may take minutes to put an object together), then
  // aborted; the second request got the same answer.
  assert.equal(r.completes[0].aborted?.name, "TimeoutError", JSON.stringify(r.completes[0]));
  assert.ok(r.completes[0].aborted.after >= 9_900 && r.completes[0].aborted.after < 20_000, JSON.stringify(r.completes[0]));
  assert.equal(r.completes[1].status, 200, JSON.stringify(r.completes));
  assert.deepEqual(r.retries, [{ number: null, reason: "timeout" }]);
  const { plain } = fetchAndOpen(created.asset_id);
  assert.ok(plain.equals(fill(Buffer.alloc(size), 23)));
  await page.close();
});

test("a part whose file read never settles is given up after the stall timeout and sealed again; the upload completes with exact bytes", { timeout: 90_000 }, async () => {
  const server = await serverFor(garage.endpoint);
  const size = 12 * MiB + 7;
  const created = await createUpload(server, size, { part_size: 5 * MiB });
  assert.equal(created.plan.part_count, 3);
  const page = await newPage();
  await page.goto(server.url);
  const r = await page.evaluate(async ({ endpoint, created, size }) => {
    const c = await import("/sdk/dist/index.js");
    // The second part's read of the file never settles (as a browser's stream once did under
    // load), until it is cancelled.
    const { streams, restore } = window.hangStream(2);
    const file = new File([window.fill(new Uint8Array(size), 23)], "clip.bin", { lastModified: 1 });
    const retries = [];
    const events = [];
    const started = performance.now();
    try {
      const handle = await c.upload(file, { endpoint, upload: created, worker: false, stallTimeoutMs: 1500, onEvent: (e) => {
        events.push(e.type);
        if (e.type === "retrying") retries.push({ number: e.number, reason: e.reason });
      } });
      await handle.done;
    } finally {
      restore();
    }
    return { streams, retries, events, took: performance.now() - started };
  }, { endpoint: server.url, created, size });
  assert.ok(r.events.includes("completed"), r.events.join(","));
  // The stuck stream was cancelled, and its part read again from a new one.
  assert.equal(r.streams[1].cancelled, true, JSON.stringify(r.streams));
  assert.equal(r.streams.length, 4, JSON.stringify(r.streams));
  assert.deepEqual(r.retries, [{ number: 2, reason: "timeout" }]);
  assert.ok(r.took >= 1500, `took ${r.took} ms`);
  const { plain } = fetchAndOpen(created.asset_id);
  assert.ok(plain.equals(fill(Buffer.alloc(size), 23)));
  await page.close();
});

test("aborting an upload whose file read hangs cancels that read", { timeout: 60_000 }, async () => {
  const server = await serverFor(garage.endpoint);
  const size = 12 * MiB + 7;
  const created = await createUpload(server, size, { part_size: 5 * MiB });
  const page = await newPage();
  await page.goto(server.url);
  const r = await page.evaluate(async ({ endpoint, created, size }) => {
    const c = await import("/sdk/dist/index.js");
    const { streams, restore } = window.hangStream(2);
    const file = new File([window.fill(new Uint8Array(size), 29)], "clip.bin", { lastModified: 1 });
    const done = [];
    try {
      // No stall timeout: only the abort ends the hung read.
      const handle = await c.upload(file, { endpoint, upload: created, worker: false, stallTimeoutMs: 0, onEvent: (e) => { if (e.type === "partDone") done.push(e.number); } });
      await new Promise((ok) => { const t = setInterval(() => { if (done.length > 0) { clearInterval(t); ok(); } }, 10); });
      const before = streams[1]?.cancelled;
      handle.abort();
      const error = await handle.done.then(() => null, (e) => e.code);
      await new Promise((ok) => setTimeout(ok, 200));
      return { before, after: streams[1]?.cancelled, error, streams: streams.length };
    } finally {
      restore();
    }
  }, { endpoint: server.url, created, size });
  assert.equal(r.before, false, JSON.stringify(r));
  assert.equal(r.error, "aborted", JSON.stringify(r));
  assert.equal(r.after, true, JSON.stringify(r));
  await page.close();
});

test("progress counts bytes as they go; pause aborts the PUTs out (sent again on resume); abort ends the upload and the server aborts it", async () => {
  const proxy = await startFaultProxy(garage.endpoint);
  try {
    const server = await serverFor(proxy.endpoint);
    const size = 25 * MiB;
    const created = await createUpload(server, size, { part_size: 5 * MiB });
    const page = await newPage();
    await page.goto(server.url);
    // A 4 MB/s uplink (on the page's thread, where the page's network conditions apply): a
    // part takes more than a second, so its bytes show while they go.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4e6 });
    const r = await page.evaluate(async ({ endpoint, created, size }) => {
      const c = await import("/sdk/dist/index.js");
      const file = new File([window.fill(new Uint8Array(size), 9)], "clip.bin", { lastModified: 1 });
      const done = [];
      const progress = [];
      const handle = await c.upload(file, { endpoint, upload: created, maxParallel: 1, worker: false, onEvent: (e) => {
        if (e.type === "partDone") done.push(e.number);
        if (e.type === "progress") progress.push({ sent: e.sentBytes, acked: e.ackedBytes, at: performance.now() });
      } });
      // Pause half-way through the second part (or fail, never hang).
      const part = 5 * 1048576;
      await new Promise((ok, fail) => {
        const deadline = performance.now() + 60_000;
        const t = setInterval(() => {
          const p = progress.at(-1);
          if (done.length >= 1 && p && p.sent - p.acked > part / 2) { clearInterval(t); ok(); }
          if (performance.now() > deadline) { clearInterval(t); fail(new Error(`no part half sent: ${JSON.stringify(progress.slice(-5))}`)); }
        }, 5);
      });
      const before = { done: done.length, progress: progress.length };
      handle.pause();
      // Had the PUT gone on, it would have finished well within this time at 4 MB/s.
      await new Promise((ok) => setTimeout(ok, 3000));
      const whilePaused = { done: done.length, last: progress.at(-1), later: progress.slice(before.progress + 1) };
      handle.resume();
      await handle.done;
      return { before, whilePaused, progress, total: done.length, part };
    }, { endpoint: server.url, created, size });
    const { before, whilePaused, progress, part } = r;
    // Bytes showed while a part went: progress between two acknowledgements.
    const midway = progress.filter((p) => p.sent > p.acked && p.sent < p.acked + part);
    assert.ok(midway.length >= 3, `progress inside parts: ${JSON.stringify(progress.slice(0, 12))}`);
    for (const p of progress) assert.ok(p.acked <= p.sent && p.sent <= size + 64 * 1024, JSON.stringify(p));
    // Pause: the part that was going did not finish, and the bytes it had sent no longer count.
    assert.equal(whilePaused.done, before.done, "a part finished after the pause: its PUT was not aborted");
    assert.equal(whilePaused.last.sent, whilePaused.last.acked, JSON.stringify(whilePaused.last));
    assert.deepEqual(whilePaused.later, [], "progress while paused");
    // Resumed: every part, and the stored object opens to the file.
    assert.equal(r.total, created.plan.part_count);
    const { plain } = fetchAndOpen(created.asset_id);
    assert.ok(plain.equals(fill(Buffer.alloc(size), 9)));
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    // Abort: the handle rejects with code "aborted", and the server knows the upload is aborted.
    const second = await createUpload(server, size, { part_size: 5 * MiB });
    const aborted = await page.evaluate(async ({ endpoint, created, size, FILL }) => {
      const c = await import("/sdk/dist/index.js");
      const file = new File([window.fill(new Uint8Array(size), 10)], "clip.bin", { lastModified: 2 });
      let first;
      const started = new Promise((ok) => (first = ok));
      const handle = await c.upload(file, { endpoint, upload: created, maxParallel: 1, onEvent: (e) => { if (e.type === "partDone") first(); } });
      await started;
      handle.abort();
      try { await handle.done; return "resolved"; } catch (e) { return e.code; }
    }, { endpoint: server.url, created: second, size, FILL });
    assert.equal(aborted, "aborted");
    let status;
    for (let i = 0; i < 50; i++) {
      status = (await (await fetch(`${server.url}/v1/uploads/${second.upload_id}`, { headers: { authorization: `Bearer ${second.token}` } })).json()).status;
      if (status === "aborted") break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.equal(status, "aborted");
    await page.close();
  } finally {
    await proxy.stop();
  }
});

test("reloading mid-upload and resuming sends no finished part again", async () => {
  const proxy = await startFaultProxy(garage.endpoint);
  try {
    const server = await serverFor(proxy.endpoint);
    const size = 30 * MiB + 1;
    const created = await createUpload(server, size, { part_size: 5 * MiB });
    const parts = created.plan.part_count;
    assert.ok(parts >= 6);
    const page = await newPage();
    await page.goto(server.url);
    // Start, and reload once three parts are done.
    const finished = await page.evaluate(async ({ endpoint, created, size, FILL }) => {
      const c = await import("/sdk/dist/index.js");
      const file = new File([window.fill(new Uint8Array(size), 5)], "clip.bin", { lastModified: 1700000000000 });
      const done = [];
      await new Promise((resolve) => {
        c.upload(file, { endpoint, upload: created, maxParallel: 2, onEvent: (e) => { if (e.type === "partDone") { done.push(e.number); if (done.length === 3) resolve(); } } });
      });
      return done;
    }, { endpoint: server.url, created, size, FILL });
    const putsBefore = new Map(proxy.stats.ok);
    await page.reload();
    const resumed = await page.evaluate(async ({ endpoint, id, size, FILL }) => {
      const c = await import("/sdk/dist/index.js");
      const pending = await c.pendingUploads();
      const file = new File([window.fill(new Uint8Array(size), 5)], "clip.bin", { lastModified: 1700000000000 });
      const sent = [];
      const handle = await c.upload(file, { endpoint, resume: id, onEvent: (e) => { if (e.type === "partDone") sent.push(e.number); } });
      await handle.done;
      return { pending: pending.map((p) => p.uploadId), sent, after: (await c.pendingUploads()).length };
    }, { endpoint: server.url, id: created.upload_id, size, FILL });
    assert.deepEqual(resumed.pending, [created.upload_id]);
    assert.equal(resumed.after, 0, "the resume record is removed once complete");
    for (const n of finished) {
      assert.equal(proxy.stats.puts.get(String(n)), 1, `finished part ${n} was PUT again`);
      assert.ok(!resumed.sent.includes(n), `part ${n} was sent again`);
    }
    assert.ok(putsBefore.size >= 3);
    const { plain } = fetchAndOpen(created.asset_id);
    assert.ok(plain.equals(fill(Buffer.alloc(size), 5)));
    await page.close();
  } finally {
    await proxy.stop();
  }
});

test("a tab closed after its upload completed, before the page forgot it: resuming it resolves at once and sends nothing", async () => {
  const proxy = await startFaultProxy(garage.endpoint);
  try {
    const server = await serverFor(proxy.endpoint);
    const size = 6 * MiB + 3;
    const created = await createUpload(server, size, { part_size: 5 * MiB });
    const page = await newPage();
    await page.goto(server.url);
    // The resume record's removal, after completion, removes nothing: as if the tab closed
    // in between.
    await page.evaluate(async ({ endpoint, created, size }) => {
      const remove = IDBObjectStore.prototype.delete;
      IDBObjectStore.prototype.delete = function () { return remove.call(this, "(kept)"); };
      const c = await import("/sdk/dist/index.js");
      const file = new File([window.fill(new Uint8Array(size), 7)], "clip.bin", { lastModified: 1700000000000 });
      await (await c.upload(file, { endpoint, upload: created, worker: false })).done;
    }, { endpoint: server.url, created, size });
    assert.equal((await (await fetch(`${server.url}/v1/uploads/${created.upload_id}`, { headers: { authorization: `Bearer ${created.token}` } })).json()).status, "completed");
    await page.reload();
    const puts = proxy.stats.log.length;
    const resumed = await page.evaluate(async ({ endpoint, id, size }) => {
      const c = await import("/sdk/dist/index.js");
      const pending = (await c.pendingUploads()).map((p) => p.uploadId);
      const file = new File([window.fill(new Uint8Array(size), 7)], "clip.bin", { lastModified: 1700000000000 });
      const events = [];
      const handle = await c.upload(file, { endpoint, resume: id, onEvent: (e) => events.push(e) });
      const ids = await handle.done;
      return { pending, ids, events, after: (await c.pendingUploads()).length };
    }, { endpoint: server.url, id: created.upload_id, size });
    assert.deepEqual(resumed.pending, [created.upload_id]);
    assert.deepEqual(resumed.ids, { uploadId: created.upload_id, assetId: created.asset_id });
    // As any completion says it: every byte acknowledged, then completed.
    assert.equal(resumed.events.at(-1).type, "completed", JSON.stringify(resumed.events));
    const progress = resumed.events.filter((e) => e.type === "progress").at(-1);
    assert.ok(progress && progress.ackedBytes === progress.totalBytes && progress.totalBytes > size, JSON.stringify(progress));
    assert.equal(proxy.stats.log.length, puts, "no part was sent again");
    assert.equal(resumed.after, 0, "the resume record is removed");
    const { plain } = fetchAndOpen(created.asset_id);
    assert.ok(plain.equals(fill(Buffer.alloc(size), 7)));

    // The same, continued with the create response instead of `resume`, from a record that
    // kept no ETag (its saves were cut off): the server is asked all the same.
    const again = await createUpload(server, size, { part_size: 5 * MiB });
    await page.evaluate(async ({ endpoint, created, size }) => {
      const c = await import("/sdk/dist/index.js");
      const put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function (value, ...rest) {
        return put.call(this, value?.etags ? { ...value, etags: {} } : value, ...rest);
      };
      const remove = IDBObjectStore.prototype.delete;
      IDBObjectStore.prototype.delete = function () { return remove.call(this, "(kept)"); };
      const file = new File([window.fill(new Uint8Array(size), 8)], "clip.bin", { lastModified: 1700000000000 });
      await (await c.upload(file, { endpoint, upload: created, worker: false })).done;
    }, { endpoint: server.url, created: again, size });
    await page.reload();
    const puts2 = proxy.stats.log.length;
    const continued = await page.evaluate(async ({ endpoint, created, size }) => {
      const c = await import("/sdk/dist/index.js");
      const kept = (await c.pendingUploads()).map((p) => p.uploadId);
      const file = new File([window.fill(new Uint8Array(size), 8)], "clip.bin", { lastModified: 1700000000000 });
      const ids = await (await c.upload(file, { endpoint, upload: created })).done;
      return { kept, ids };
    }, { endpoint: server.url, created: again, size });
    assert.deepEqual(continued.kept, [again.upload_id]);
    assert.deepEqual(continued.ids, { uploadId: again.upload_id, assetId: again.asset_id });
    assert.equal(proxy.stats.log.length, puts2, "no part was sent again");

    // Aborted since the tab closed: resuming rejects as aborted, and the page forgets it.
    const gone = await createUpload(server, size, { part_size: 5 * MiB });
    const aborted = await page.evaluate(async ({ endpoint, created, size }) => {
      const c = await import("/sdk/dist/index.js");
      const file = new File([window.fill(new Uint8Array(size), 9)], "clip.bin", { lastModified: 1700000000000 });
      const handle = await c.upload(file, { endpoint, upload: created, maxParallel: 1, worker: false });
      handle.pause();
      await fetch(`${endpoint}/v1/uploads/${created.upload_id}`, { method: "DELETE", headers: { authorization: `Bearer ${created.token}` } });
      const kept = (await c.pendingUploads()).map((p) => p.uploadId);
      const code = await (await c.upload(file, { endpoint, resume: created.upload_id, worker: false })).done.then(() => "resolved", (e) => e.code);
      return { kept, code, after: (await c.pendingUploads()).map((p) => p.uploadId) };
    }, { endpoint: server.url, created: gone, size });
    assert.deepEqual(aborted.kept, [gone.upload_id]);
    assert.equal(aborted.code, "aborted");
    assert.deepEqual(aborted.after, []);
    await page.close();
  } finally {
    await proxy.stop();
  }
});

test("an upload's stored seed seals only the file it was started with: another file under the same create response is refused", async () => {
  const server = await serverFor(garage.endpoint);
  const size = 6 * MiB + 7;
  const created = await createUpload(server, size, { part_size: 5 * MiB });
  const page = await newPage();
  try {
    await page.goto(server.url);
    const outcome = await page.evaluate(async ({ endpoint, created, size, FILL }) => {
      const c = await import("/sdk/dist/index.js");
      const fill = window.fill;
      const first = new File([fill(new Uint8Array(size), 1)], "first.bin", { lastModified: 1700000000000 });
      // Started, then abandoned after its first part: its record (and seed) stays behind.
      const handle = await c.upload(first, { endpoint, upload: created, maxParallel: 1, worker: false });
      await new Promise((resolve) => setTimeout(resolve, 50));
      handle.pause();
      // Another file of the same size, passed with the same create response (no `resume`):
      // sealing it with the stored seed would reuse AES-GCM nonces.
      const other = new File([fill(new Uint8Array(size), 2)], "second.bin", { lastModified: 1700000000001 });
      try {
        await c.upload(other, { endpoint, upload: created, worker: false });
        return "accepted";
      } catch (e) {
        return `${e.name}/${e.code}`;
      }
    }, { endpoint: server.url, created, size, FILL });
    assert.equal(outcome, "CinelockError/invalid_argument");
  } finally {
    await page.close();
  }
});
