// The recorder in headless Chromium with the fake camera, microphone and screen, against the
// real server, a real Garage and one transcode worker, through a proxy that logs (and can cut)
// every part PUT: parts go up while recording, stop-to-uploaded is short, the asset transcodes
// to the recorded duration, screen and screen+camera (two linked assets) play, nothing is
// opened before start() and start() outside a gesture is refused, the indicator shows, a
// reload mid-recording is finished as cut short (or, once stored, just forgotten), parts that
// finish together each keep their ETag for that, and a 10 s network cut only delays it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser } from "./harness.mjs";
import { startFaultProxy, startGarage } from "./garage.mjs";
import * as env from "./playback-env.mjs";

const MiB = 1024 * 1024;
let tmp, garage, proxy, keys, server, browser;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "cinelock-recorder-"));
  garage = await startGarage();
  proxy = await startFaultProxy(garage.endpoint);
  keys = env.makeKeys(tmp);
  await env.configureCors(tmp, garage.endpoint, keys.workerPublicKey);
  // These tests check durations, parts and playback, not picture quality: x264's fastest preset
  // halves the transcode of the noisy camera below (78 s against 41 s, 12 s against 7 s).
  server = await env.startPlaybackServer(tmp, proxy.endpoint, keys, { CINELOCK_X264_PRESET: "ultrafast" });
  // The fake camera plays a noisy test pattern: hard enough to encode that a recording fills
  // several 5 MiB parts in 20 s (Chromium's own pattern compresses to under 1 Mbit/s).
  const camera = join(tmp, "camera.mjpeg");
  execFileSync(process.env.CINELOCK_FFMPEG ?? "ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
    "-i", "testsrc2=size=960x540:rate=30,noise=alls=30:allf=t+u", "-t", "3", "-c:v", "mjpeg", "-q:v", "4", "-f", "mjpeg", camera]);
  browser = await launchBrowser([
    `--use-file-for-fake-video-capture=${camera}`,
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--auto-select-desktop-capture-source=Entire screen",
    "--autoplay-policy=no-user-gesture-required",
  ]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await proxy?.stop();
  await garage?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A page on the server with a button that starts a recorder (a real click is a gesture). */
async function recorderPage(options = {}) {
  const context = await browser.newContext({ permissions: ["camera", "microphone"] });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") console.log(`page: ${m.text()}`); });
  await page.goto(`${server.url}/`);
  await page.evaluate(async ({ options, key }) => {
    const c = await import("/sdk/dist/index.js");
    const events = [];
    const createUpload = async ({ kind, linkedTo }) => {
      const res = await fetch("/v1/uploads", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ filename: `${kind}.webm`, content_type: "video/webm", part_size: 5 * 1024 * 1024, ...(linkedTo ? { linked_to: linkedTo } : {}) }),
      });
      return res.json();
    };
    const rec = c.record({ endpoint: location.origin, createUpload, onEvent: (e) => events.push({ ...e, at: Date.now() }), ...options });
    const button = document.createElement("button");
    button.id = "test-record";
    button.textContent = "record";
    button.onclick = () => { window.t.started = rec.start().then(() => "ok", (e) => e.code); };
    document.body.append(button);
    window.t = { c, rec, events };
  }, { options, key: env.DEV_KEY });
  return { page, close: () => context.close() };
}

const waitFor = (page, fn, arg, timeout = 60_000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });
const events = (page, type) => page.evaluate((type) => window.t.events.filter((e) => !type || e.type === type), type);

/** The recordings' spools in the page's origin private file system, by upload id. */
const spools = (page) => page.evaluate(async () => {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("cinelock-recordings");
  const names = [];
  for await (const name of dir.keys()) names.push(name);
  return names;
});

/** Clicks start and waits until recording. */
async function start(page) {
  await page.click("#test-record");
  assert.equal(await page.evaluate(() => window.t.started), "ok");
  await waitFor(page, () => window.t.rec.state === "recording");
  // The state turns before the `started` event reaches the page's listener.
  await waitFor(page, () => window.t.events.some((e) => e.type === "started"));
}

/** Stops; the stop time and the results. */
async function stop(page) {
  return page.evaluate(async () => {
    const at = Date.now();
    const results = await window.t.rec.stop();
    return { at, done: Date.now(), results };
  });
}

/** Whether a screenshot shows the REC badge: its box is mostly the badge's red. */
async function badgeIsRed(page) {
  const png = (await page.screenshot()).toString("base64");
  return page.evaluate(async (png) => {
    const host = document.querySelector("cinelock-rec-indicator");
    if (!host) return false;
    const r = host.getBoundingClientRect();
    const img = new Image();
    img.src = `data:image/png;base64,${png}`;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const scale = img.width / innerWidth;
    const { data } = ctx.getImageData(Math.round(r.left * scale), Math.round(r.top * scale), Math.max(1, Math.round(r.width * scale)), Math.max(1, Math.round(r.height * scale)));
    let red = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] > 150 && data[i + 1] < 90 && data[i + 2] < 90) red++;
    return red / (data.length / 4) > 0.3;
  }, png);
}

/** The duration ffprobe reads from the asset's published package, via the API. */
async function duration(assetId) {
  const a = await env.waitReady(server, assetId);
  const full = a.packages.find((p) => p.kind === "full");
  return full.duration_ms / 1000;
}

test("nothing is opened before start(); start() outside a gesture is refused", async () => {
  const { page, close } = await recorderPage();
  // The page has not touched a device: no track was ever opened.
  await page.evaluate(() => {
    window.opened = 0;
    const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (...a) => { window.opened++; return gum(...a); };
  });
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.opened), 0);
  assert.equal(await page.evaluate(() => window.t.rec.state), "idle");
  // No user activation (Playwright's own evaluations count as gestures, so this one goes
  // through the DevTools protocol without one, once the last gesture's activation is over).
  await page.waitForTimeout(5500);
  const cdp = await page.context().newCDPSession(page);
  const { result } = await cdp.send("Runtime.evaluate", {
    expression: "window.t.rec.start().then(() => 'started', (e) => e.code)",
    awaitPromise: true,
    userGesture: false,
  });
  assert.equal(result.value, "not_allowed");
  assert.equal(await page.evaluate(() => window.opened), 0);
  await close();
});

test("a duration limit stops the recording by itself, and it is stored", async () => {
  const { page, close } = await recorderPage({ maxDurationMs: 3000 });
  await start(page);
  const results = await page.evaluate(() => window.t.rec.done);
  const [stopped] = await events(page, "stopped");
  assert.equal(stopped.reason, "max_duration");
  assert.ok(stopped.elapsedMs >= 3000 && stopped.elapsedMs < 4500, `${stopped.elapsedMs} ms`);
  assert.equal(results.length, 1);
  assert.equal(await page.evaluate(() => window.t.rec.state), "uploaded");
  await close();
});

test("a 20 s camera recording: parts go up while recording, stop-to-uploaded is short, the asset lasts 20 s", async () => {
  // A bitrate that fills a few 5 MiB parts in 20 s.
  const { page, close } = await recorderPage({ videoBitsPerSecond: 8_000_000 });
  proxy.stats.log.length = 0;
  await start(page);
  const startedAt = Date.now();
  // The indicator is up, in the title and on screen.
  assert.match(await page.title(), /^● REC/);
  await page.waitForTimeout(3000);
  // The page tries to hide it; it stays in the top layer, red, where it was.
  await page.evaluate(() => {
    const style = document.createElement("div");
    style.style.cssText = "position:fixed;inset:0;background:#fff;z-index:2147483647";
    document.body.append(style);
    for (const e of document.querySelectorAll("cinelock-rec-indicator")) e.hidden = true;
    document.title = "nothing to see";
  });
  await page.waitForTimeout(200);
  assert.match(await page.title(), /^● REC/);
  assert.ok(await badgeIsRed(page), "the REC badge shows in a screenshot");
  await page.waitForTimeout(20_000 - (Date.now() - startedAt));
  const { at, done, results } = await stop(page);
  const stopToUploaded = done - at;
  const stopped = (await events(page, "stopped"))[0];
  console.log(`stop to uploaded: ${stopToUploaded} ms; recorded ${stopped.recordedBytes} bytes`);
  assert.equal(results.length, 1);
  assert.equal(results[0].cutShort, false);
  const during = proxy.stats.log.filter((p) => p.at < at);
  assert.ok(during.length >= 1, `no part PUT while recording: ${JSON.stringify(proxy.stats.log)}`);
  assert.ok(stopToUploaded < 5000, `stop to uploaded took ${stopToUploaded} ms`);
  const progress = await events(page, "progress");
  assert.ok(progress.some((p) => p.uploadedBytes > 0 && p.at < at), "uploaded bytes showed while recording");
  assert.ok((await events(page, "started"))[0].persistent, "sealed parts spooled in OPFS");
  // After the recording: the mark and the badge are gone.
  assert.doesNotMatch(await page.title(), /REC/);
  assert.equal(await page.evaluate(() => document.querySelectorAll("cinelock-rec-indicator").length), 0);
  const seconds = await duration(results[0].assetId);
  assert.ok(Math.abs(seconds - 20) <= 1, `duration ${seconds} s`);
  // The spool is gone with the recording.
  assert.deepEqual(await page.evaluate(() => window.t.c.pendingRecordings()), []);
  await close();
});

/** Plays an asset in `page` until its clock passes 1 s; the error code if it fails. */
async function plays(page, assetId) {
  const token = await env.viewerToken(server, assetId);
  return page.evaluate(async ({ assetId, token }) => {
    const video = document.createElement("video");
    video.muted = true;
    document.body.append(video);
    const player = window.t.c.play(video, { endpoint: location.origin, assetId, token, analytics: false });
    try {
      await player.ready;
      await video.play();
      await new Promise((ok, fail) => {
        const t = setTimeout(() => fail(new Error("no progress")), 20_000);
        video.addEventListener("timeupdate", () => { if (video.currentTime > 1) { clearTimeout(t); ok(); } });
      });
      return "playing";
    } catch (e) {
      return e.code ?? e.message;
    } finally {
      player.destroy();
      video.remove();
    }
  }, { assetId, token });
}

test("an MP4 recording (where the browser records MP4) transcodes to its duration", async () => {
  const { page, close } = await recorderPage({ mimeType: "video/mp4" });
  await start(page);
  assert.match((await events(page, "started"))[0].mimeType, /^video\/mp4/);
  await page.waitForTimeout(6000);
  const { results } = await stop(page);
  const seconds = await duration(results[0].assetId);
  assert.ok(Math.abs(seconds - 6) <= 1, `duration ${seconds} s`);
  await close();
});

test("screen with camera: two linked assets, both transcoded and playable", async () => {
  const { page, close } = await recorderPage({ source: "screen+camera" });
  await start(page);
  assert.deepEqual((await page.evaluate(() => window.t.rec.streams.map((s) => s.kind))).sort(), ["camera", "screen"]);
  await page.waitForTimeout(6000);
  const { results } = await stop(page);
  assert.deepEqual(results.map((r) => r.kind).sort(), ["camera", "screen"]);
  const screen = results.find((r) => r.kind === "screen");
  const camera = results.find((r) => r.kind === "camera");
  const a = await env.api(server, "GET", `/v1/assets/${camera.assetId}`);
  assert.deepEqual(a.linked, [screen.assetId]);
  const b = await env.api(server, "GET", `/v1/assets/${screen.assetId}`);
  assert.deepEqual(b.linked, [camera.assetId]);
  for (const r of results) {
    const seconds = await duration(r.assetId);
    assert.ok(seconds > 4 && seconds < 8, `${r.kind}: ${seconds} s`);
    assert.equal(await plays(page, r.assetId), "playing", r.kind);
  }
  await close();
});

test("a reload mid-recording is finished at the next visit, marked cut short, with what was sealed", async () => {
  const okBefore = new Map(proxy.stats.ok);
  const { page, close } = await recorderPage({ videoBitsPerSecond: 8_000_000, timesliceMs: 100 });
  let warned = 0;
  page.on("dialog", (d) => { if (d.type() === "beforeunload") warned++; d.accept(); });
  await start(page);
  await waitFor(page, () => window.t.events.some((e) => e.type === "partDone"), null, 60_000);
  await page.waitForTimeout(2500);
  // The reload lands in the middle of a tail's write, every time: the browser has created the
  // file, but its bytes are never committed (as when a reload cuts that write off). The write
  // held is the one after a part's last chunk's tail (20 chunks of 256 KiB to a part; slices
  // of 0.1 s seal a chunk at a time), so the whole tail ends a part the store already holds,
  // sent without the last flag while the recording grew; finishing must send it again.
  await page.evaluate(() => {
    const create = FileSystemFileHandle.prototype.createWritable;
    Object.assign(window.t, { lastTail: -1, held: null });
    FileSystemFileHandle.prototype.createWritable = async function (...args) {
      const writable = await create.apply(this, args);
      const chunk = Number(/^tail-(\d+)$/.exec(this.name)?.[1] ?? -1);
      if (chunk < 0) return writable;
      if (window.t.held !== null || window.t.lastTail % 20 === 19) {
        writable.close = () => { window.t.held ??= chunk; return new Promise(() => {}); };
      } else {
        const close = writable.close.bind(writable);
        writable.close = async () => { await close(); window.t.lastTail = chunk; };
      }
      return writable;
    };
  });
  await waitFor(page, () => window.t.held !== null, null, 30_000);
  const { held, whole } = await page.evaluate(() => ({ held: window.t.held, whole: window.t.lastTail }));
  const endPart = String((whole + 1) / 20);
  const deadline = Date.now() + 30_000;
  while ((proxy.stats.ok.get(endPart) ?? 0) <= (okBefore.get(endPart) ?? 0)) {
    assert.ok(Date.now() < deadline, `part ${endPart} never reached the store`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const before = await page.evaluate(() => {
    const p = window.t.events.filter((e) => e.type === "progress").at(-1);
    return { recorded: p.recordedBytes, elapsed: p.elapsedMs };
  });
  await page.reload();
  assert.equal(warned, 1, "leaving a recording page asks first");
  // The next visit: the recording is still there, and is finished without a gesture.
  await page.evaluate(async () => { window.t = { c: await import("/sdk/dist/index.js") }; });
  const pending = await page.evaluate(() => window.t.c.pendingRecordings());
  assert.equal(pending.length, 1);
  // The premise: the newest tail is the empty file of the write the reload cut off, and the
  // one before it is whole.
  const tails = await page.evaluate(async (id) => {
    const root = await navigator.storage.getDirectory();
    const dir = await (await root.getDirectoryHandle("cinelock-recordings")).getDirectoryHandle(id);
    const out = [];
    for await (const [name, handle] of dir.entries()) {
      if (/^tail-\d+$/.test(name) && handle.kind === "file") out.push([name, (await handle.getFile()).size]);
    }
    return out.sort();
  }, pending[0].uploadId);
  const name = (chunk) => `tail-${String(chunk).padStart(10, "0")}`;
  assert.deepEqual(tails.slice(-2).map(([n]) => n), [name(whole), name(held)]);
  assert.ok(tails.at(-1)[1] === 0 && tails.at(-2)[1] > 0, JSON.stringify(tails));
  const result = await page.evaluate((id) => window.t.c.finishRecording(id), pending[0].uploadId);
  // The part the tail ends was sent again, its last chunk now the tail.
  assert.equal(proxy.stats.ok.get(endPart), (okBefore.get(endPart) ?? 0) + 2);
  assert.equal(result.cutShort, true);
  assert.deepEqual(await page.evaluate(() => window.t.c.pendingRecordings()), []);
  const asset = await env.api(server, "GET", `/v1/assets/${result.assetId}`);
  assert.equal(asset.cut_short, true);
  // What was sealed: whole 256 KiB chunks up to the last whole tail's, at most a chunk and a
  // slice short of what was recorded.
  assert.equal(asset.size, (whole + 1) * 256 * 1024);
  assert.ok(asset.size <= before.recorded + 2 * MiB, `${asset.size} > ${before.recorded}`);
  assert.ok(asset.size >= before.recorded - 2 * MiB, `${asset.size} < ${before.recorded}`);
  const seconds = await duration(result.assetId);
  assert.ok(seconds >= before.elapsed / 1000 - 2, `${seconds} s of ${before.elapsed} ms`);
  assert.equal(await plays(page, result.assetId), "playing");
  await close();
});

test("a tab closed once its recording was stored, before the browser forgot it: the next visit's finishRecording resolves with it and sends nothing", async () => {
  const { page, close } = await recorderPage();
  page.on("dialog", (d) => d.accept());
  await start(page);
  // The spool's removal, after the upload completed, never ends: the tab closes in between.
  await page.evaluate(() => {
    const remove = FileSystemDirectoryHandle.prototype.removeEntry;
    FileSystemDirectoryHandle.prototype.removeEntry = function (name, options) {
      if (options?.recursive) {
        window.t.heldRemoval = name;
        return new Promise(() => {});
      }
      return remove.call(this, name, options);
    };
  });
  await page.waitForTimeout(3000);
  const [pending] = await page.evaluate(() => window.t.c.pendingRecordings());
  await page.evaluate(() => { window.t.rec.stop(); });
  await waitFor(page, (id) => window.t.heldRemoval === id, pending.uploadId, 30_000);
  const stored = await env.api(server, "GET", `/v1/uploads/${pending.uploadId}`);
  assert.equal(stored.status, "completed");
  assert.ok(stored.asset.size > 0);
  await page.reload();
  await page.evaluate(async () => { window.t = { c: await import("/sdk/dist/index.js") }; });
  assert.deepEqual((await page.evaluate(() => window.t.c.pendingRecordings())).map((r) => r.uploadId), [pending.uploadId]);
  // Stored already, it cannot be discarded: it is kept for finishRecording.
  const discarded = await page.evaluate((id) => window.t.c.discardRecording(id).then(() => "discarded", (e) => e.code), pending.uploadId);
  assert.equal(discarded, "invalid_argument");
  const puts = proxy.stats.log.length;
  const result = await page.evaluate((id) => window.t.c.finishRecording(id), pending.uploadId);
  assert.equal(result.assetId, pending.assetId);
  assert.equal(result.cutShort, false);
  assert.equal(result.plaintextBytes, stored.asset.size);
  assert.equal(proxy.stats.log.length, puts, "no part was sent again");
  assert.deepEqual(await page.evaluate(() => window.t.c.pendingRecordings()), []);
  assert.ok(!(await spools(page)).includes(pending.uploadId), "the spool is gone");
  await close();
});

test("a closed tab's recording whose upload was aborted since: finishing it rejects as aborted and forgets it", async () => {
  const { page, close } = await recorderPage();
  page.on("dialog", (d) => d.accept());
  await start(page);
  await page.waitForTimeout(2000);
  const [pending] = await page.evaluate(() => window.t.c.pendingRecordings());
  await page.reload();
  await env.api(server, "DELETE", `/v1/uploads/${pending.uploadId}`);
  await page.evaluate(async () => { window.t = { c: await import("/sdk/dist/index.js") }; });
  assert.deepEqual((await page.evaluate(() => window.t.c.pendingRecordings())).map((r) => r.uploadId), [pending.uploadId]);
  const outcome = await page.evaluate((id) => window.t.c.finishRecording(id).then(() => "finished", (e) => e.code), pending.uploadId);
  assert.equal(outcome, "aborted");
  assert.deepEqual(await page.evaluate(() => window.t.c.pendingRecordings()), []);
  assert.ok(!(await spools(page)).includes(pending.uploadId), "the spool is gone");
  await close();
});

test("a 10 s network cut mid-recording: the backlog grows, drains, and the recording is whole", async (t) => {
  const { page, close } = await recorderPage({ videoBitsPerSecond: 8_000_000 });
  await start(page);
  await page.waitForTimeout(3000);
  const lastProgress = () => page.evaluate(() => window.t.events.filter((e) => e.type === "progress").at(-1));
  const atCut = await lastProgress();
  proxy.stats.down = true;
  await page.waitForTimeout(10_000);
  const cut = await lastProgress();
  proxy.stats.down = false;
  await page.waitForTimeout(12_000);
  const { results } = await stop(page);
  assert.equal(results[0].cutShort, false);
  const backlog = (await events(page, "progress")).map((p) => p.backlogBytes);
  // The camera's bitrate depends on its picture, so the backlog is judged against what was
  // sealed during the cut, not against a fixed size: the recording went on (several MiB sealed),
  // nothing sealed during the cut was stored, and all of it waited.
  const sealedInCut = cut.sealedBytes - atCut.sealedBytes;
  t.diagnostic(`at the cut: ${JSON.stringify(atCut)}; 10 s later: ${JSON.stringify(cut)}`);
  assert.ok(sealedInCut > 4 * MiB, `sealed during the cut: ${sealedInCut}`);
  assert.ok(cut.uploadedBytes <= atCut.sealedBytes, `stored during the cut: ${cut.uploadedBytes - atCut.uploadedBytes} of ${atCut.backlogBytes} waiting before it`);
  assert.ok(cut.backlogBytes >= sealedInCut, `backlog during the cut: ${cut.backlogBytes}, sealed in it: ${sealedInCut}`);
  assert.ok(backlog.at(-1) === 0, `backlog at the end: ${backlog.at(-1)}`);
  assert.ok((await events(page, "retrying")).length > 0, "the cut was retried");
  const seconds = await duration(results[0].assetId);
  assert.ok(Math.abs(seconds - 25) <= 1.5, `duration ${seconds} s`);
  await close();
});

test("parts that finish together each keep their ETag in the stored record", async () => {
  // Each finished part's ETag is saved for a closed tab's next visit. Saving used to load the
  // record and save it back per part: two parts finishing together each saved it without the
  // other's ETag. The proxy keeps the store's answers to the parts and gives them all at once.
  const { page, close } = await recorderPage({ videoBitsPerSecond: 8_000_000 });
  proxy.stats.held = 0;
  proxy.stats.hold();
  await start(page);
  try {
    await waitFor(page, () => window.t.events.filter((e) => e.type === "progress").at(-1)?.sealedBytes > 12 * 1024 * 1024, null, 60_000);
    const deadline = Date.now() + 20_000;
    while (proxy.stats.held < 2 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 100));
  } finally {
    proxy.stats.release();
  }
  const held = proxy.stats.held;
  assert.ok(held >= 2, `parts answered together: ${held}`);
  const [pending] = await page.evaluate(() => window.t.c.pendingRecordings());
  await waitFor(page, (n) => window.t.events.filter((e) => e.type === "partDone").length >= n, held);
  const done = (await events(page, "partDone")).map((e) => e.number).sort((a, b) => a - b);
  const stored = () => page.evaluate((id) => new Promise((ok, fail) => {
    const open = indexedDB.open("cinelock");
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction("recordings").objectStore("recordings").get(id);
      get.onerror = () => fail(get.error);
      get.onsuccess = () => { open.result.close(); ok(Object.keys(get.result?.etags ?? {}).map(Number).sort((a, b) => a - b)); };
    };
  }), pending.uploadId);
  // The saves settle shortly after the parts: wait for them, and judge what stayed.
  let etags = await stored();
  for (let i = 0; i < 30 && etags.length < done.length; i++) {
    await page.waitForTimeout(100);
    etags = await stored();
  }
  assert.deepEqual(etags.slice(0, done.length), done, `stored ETags ${JSON.stringify(etags)}, parts done ${JSON.stringify(done)}`);
  await page.evaluate(() => window.t.rec.cancel());
  await waitFor(page, () => window.t.rec.state === "cancelled");
  await close();
});

test("the demo's record page: Record, the countdown and the badge, Stop, transcode, play", async () => {
  const context = await browser.newContext({ permissions: ["camera", "microphone"] });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.url}/record.html`);
  await page.fill("#countdown", "2");
  await page.dispatchEvent("#countdown", "input");
  await page.click("cinelock-recorder >> button.record");
  await page.waitForFunction(() => document.getElementById("recorder").recorder?.state === "countdown");
  await page.waitForFunction(() => document.getElementById("recorder").recorder?.state === "recording", null, { timeout: 10_000 });
  assert.match(await page.textContent("cinelock-recorder >> .rec"), /● REC/);
  assert.ok(await page.isVisible("cinelock-recorder >> .rec"));
  await page.waitForTimeout(5000);
  await page.click("cinelock-recorder >> button.stop");
  await page.waitForFunction(() => /Stored camera/.test(document.getElementById("status").textContent), null, { timeout: 30_000 });
  await page.waitForFunction(() => /Playing/.test(document.getElementById("p-status").textContent), null, { timeout: 300_000 });
  assert.deepEqual(errors, []);
  await context.close();
});
