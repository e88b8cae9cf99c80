// Analytics end to end in headless Chromium: a clip transcoded by the real pipeline is played
// with pauses, a throttled stretch (a stall and a rendition change), a seek and the end; the
// view's beacons reach the server, which stores exactly the expected events and reports the
// view, its startup time, the rebuffer, the time per rendition and its completion. More
// browser contexts show unique viewers follow address and browser, Do Not Track keeps no
// pseudonym, consent "off" sends nothing, and the dashboard draws its charts.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, launchBrowser } from "./harness.mjs";
import { startGarage } from "./garage.mjs";
import * as env from "./playback-env.mjs";

const FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
let tmp, garage, keys, server, browser, asset;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "cinelock-analytics-"));
  garage = await startGarage();
  keys = env.makeKeys(tmp);
  await env.configureCors(tmp, garage.endpoint, keys.workerPublicKey);
  // Clients are told apart by the address a (trusted, loopback) proxy forwards.
  server = await env.startPlaybackServer(tmp, garage.endpoint, keys, { CINELOCK_TRUSTED_PROXIES: "127.0.0.1" });
  browser = await launchBrowser(["--autoplay-policy=no-user-gesture-required"]);
  const clip = env.makeClip(join(tmp, "clip.mp4"), { width: 640, height: 360, seconds: 24 });
  const page = await browser.newPage();
  const id = await env.uploadClip(page, server, clip);
  await page.close();
  await env.waitReady(server, id);
  asset = { id, token: await env.viewerToken(server, id) };
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await garage?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A page on the server's origin in a fresh context: `ip` is the forwarded address. */
async function viewerPage({ ip, userAgent, headers = {} }) {
  const context = await browser.newContext({ userAgent, extraHTTPHeaders: { "x-forwarded-for": ip, ...headers } });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  return { page, close: () => context.close() };
}

/** In the page: a player for the asset; `window.t` holds it and the video. */
async function startPlaying(page, options = {}) {
  await page.evaluate(async ({ asset, options }) => {
    const c = await import("/sdk/dist/index.js");
    const video = document.createElement("video");
    video.muted = true;
    video.width = 640;
    video.height = 360;
    document.body.append(video);
    const player = c.play(video, { endpoint: location.origin, assetId: asset.id, token: asset.token, ...options });
    const errors = [];
    player.addEventListener("error", (e) => errors.push(e.detail.error.code));
    await player.ready;
    window.t = { player, video, errors };
    await video.play();
  }, { asset, options });
}

const waitFor = (page, fn, arg, timeout = 60_000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });
const stats = (page) => page.evaluate(() => window.t.player.stats());

/** Ends the view (destroy sends `viewend`) and waits until the server stored it. */
async function endView(page) {
  const viewId = (await stats(page)).viewId;
  assert.match(viewId, /^[0-9a-f]{32}$/);
  await page.evaluate(() => window.t.player.destroy());
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${server.url}/v1/analytics/views/${viewId}`, { headers: { authorization: `Bearer ${env.DEV_KEY}` } });
    if (res.ok) {
      const timeline = await res.json();
      if (timeline.events.some((e) => e.kind === "viewend")) return timeline;
    }
    if (Date.now() > deadline) throw new Error(`view ${viewId} not stored with its end`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

const report = (query = "") => env.api(server, "GET", `/v1/analytics?asset=${asset.id}${query}`);

test("a view with pauses, a stall, a rendition change, a seek and the end is stored as those events and reported, the seek's latency with them", async () => {
  const { page, close } = await viewerPage({ ip: "203.0.113.10" });
  try {
    // A short forward buffer, so that a throttled link stalls soon.
    await startPlaying(page, { bufferGoal: 4 });
    await waitFor(page, () => window.t.video.currentTime > 2);
    await page.evaluate(() => window.t.video.pause());
    await new Promise((ok) => setTimeout(ok, 1_500));
    await page.evaluate(() => window.t.video.play());
    // 100 kbit/s: below the lowest rendition, so the buffer drains and playback stalls; the
    // player steps down.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 50, downloadThroughput: 100_000 / 8, uploadThroughput: -1 });
    await waitFor(page, () => window.t.video.readyState < 3 && !window.t.video.paused && !window.t.video.seeking, null, 60_000);
    await new Promise((ok) => setTimeout(ok, 1_500));
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();
    await waitFor(page, () => window.t.video.readyState >= 3 && !window.t.video.paused);
    const t0 = await page.evaluate(() => window.t.video.currentTime);
    await waitFor(page, (t0) => window.t.video.currentTime > t0 + 1, t0);
    // A seek near the end, and playback to the end.
    await page.evaluate(() => { window.t.video.currentTime = 18; });
    await waitFor(page, () => window.t.video.ended, null, 60_000);
    assert.deepEqual(await page.evaluate(() => window.t.errors), []);
    const s = await stats(page);
    const timeline = await endView(page);
    const kinds = timeline.events.map((e) => e.kind);
    // Numbered from 0 without a gap: every beacon arrived, each event once.
    assert.deepEqual(timeline.events.map((e) => e.seq), kinds.map((_, i) => i));
    assert.equal(timeline.asset_id, asset.id);
    // The fixed part of the story, in order (heartbeats and rendition changes come between).
    const story = kinds.filter((k) => !["heartbeat", "renditionchange"].includes(k));
    const rebuffers = story.filter((k) => k === "rebufferstart").length;
    assert.ok(rebuffers >= 1, kinds.join(","));
    const expected = [
      "viewstart", "play", "playing", "pause", "play",
      ...Array(rebuffers).fill(["rebufferstart", "rebufferend"]).flat(),
      "seeking", "seeked", "pause", "ended", "viewend",
    ];
    assert.deepEqual(story, expected, kinds.join(","));
    assert.ok(kinds.filter((k) => k === "renditionchange").length >= 2, `a start rendition and a switch: ${kinds}`);
    // Before the end, the page had seen its beacons taken, none failed.
    assert.ok(s.beaconsSent > 0 && s.beaconEvents > 0 && s.beaconsFailed === 0, JSON.stringify(s));
    // The aggregates have the view.
    const r = await report();
    const m = r.totals;
    assert.equal(m.views, 1, JSON.stringify(r));
    assert.equal(m.unique_viewers, 1);
    assert.ok(m.startup_time_median_ms > 0 && m.startup_time_median_ms < 10_000, JSON.stringify(m));
    assert.ok(m.rebuffer_pct > 0 && m.rebuffers_per_minute > 0, JSON.stringify(m));
    assert.equal(m.playback_failure_pct, 0);
    assert.equal(m.exits_before_start_pct, 0);
    assert.equal(m.completion_pct, 100);
    assert.ok(m.watch_time_ms > m.playing_time_ms && m.playing_time_ms > 5_000, JSON.stringify(m));
    assert.ok(r.renditions.length >= 2 && r.renditions.every((x) => x.playing_time_ms > 0), JSON.stringify(r.renditions));
    assert.ok(m.weighted_bitrate_bps > 100_000, JSON.stringify(m));
    // One seek: its latency is the time from its seeking to its seeked, as stored.
    const at = (kind) => timeline.events.find((e) => e.kind === kind).at_ms;
    assert.equal(m.seek_latency_avg_ms, at("seeked") - at("seeking"), JSON.stringify(m));
    assert.ok(m.downscale_pct >= 0, JSON.stringify(m));
  } finally {
    await close();
  }
});

/** A short view in a fresh context: plays 1.5 s, then ends. */
async function shortView(opts, playerOptions) {
  const { page, close } = await viewerPage(opts);
  try {
    await startPlaying(page, playerOptions);
    await waitFor(page, () => window.t.video.currentTime > 1.5);
    return (await stats(page)).viewId ? await endView(page) : null;
  } finally {
    await close();
  }
}

test("renditions count from when they are on screen: a switch once the playhead reaches it, and the lower segment a seek showed at its own", async () => {
  const { page, close } = await viewerPage({ ip: "203.0.113.11" });
  try {
    // A short forward buffer, so that the seek lands where nothing is buffered; and a budget
    // so short that the segment under the target comes at the lowest rendition.
    await startPlaying(page, { bufferGoal: 4, seekBudget: 0.001 });
    await waitFor(page, () => window.t.video.videoHeight === 360 && window.t.video.currentTime > 5);
    const seen = await page.evaluate(async () => {
      const v = window.t.video, heights = [];
      const f = (_, m) => { heights.push([Math.round(m.mediaTime * 1000), m.height]); if (!v.ended) v.requestVideoFrameCallback(f); };
      v.requestVideoFrameCallback(f);
      v.currentTime = 17;
      await new Promise((ok) => v.addEventListener("ended", ok, { once: true }));
      return heights.filter(([t]) => t >= 16_500);
    });
    // On screen: 240p from the target to the next segment (20 s), 360p after it.
    const first360 = seen.find(([, h]) => h === 360)?.[0];
    assert.ok(seen[0][1] === 240 && first360 >= 19_500 && first360 <= 20_500, JSON.stringify(seen.filter((_, i) => i % 10 === 0)));
    const timeline = await endView(page);
    const story = timeline.events.map((e) => [e.kind, e.playhead_ms]).filter(([k]) => ["renditionchange", "seeking", "seeked"].includes(k));
    const seeking = story.findIndex(([k]) => k === "seeking");
    const seeked = story.findIndex(([k]) => k === "seeked");
    const changes = (from, to) => story.slice(from, to).filter(([k]) => k === "renditionchange").map(([, p]) => p);
    // The start's rendition when its first segment is in; 360p as the playhead enters the
    // first segment fetched at it (not when the engine chose it, at about 0.1 s).
    assert.deepEqual(changes(0, seeking).map((p) => p === 0 || p >= 3_800), [true, true], JSON.stringify(story));
    // 240p once the target's segment is in (stamped with the playhead the seek left: the
    // view's playhead moves on `seeked`), and 360p as the playhead enters the next segment.
    assert.equal(changes(seeking, seeked).length, 1, JSON.stringify(story));
    const after = changes(seeked);
    assert.ok(after.length === 1 && after[0] >= 19_800 && after[0] <= 20_300, JSON.stringify(story));
  } finally {
    await close();
  }
});

test("unique viewers follow the network and the browser; Do Not Track keeps no pseudonym; consent off sends nothing", async () => {
  const before = (await report()).totals;
  // Two views from one /24 in the same browser: one viewer today.
  await shortView({ ip: "198.18.5.1" });
  await shortView({ ip: "198.18.5.200" });
  // The same network, another browser: another viewer. Another network: another.
  await shortView({ ip: "198.18.5.1", userAgent: FIREFOX_UA });
  await shortView({ ip: "198.18.9.1" });
  let r = (await report()).totals;
  assert.equal(r.views, before.views + 4);
  assert.equal(r.unique_viewers, before.unique_viewers + 3);
  // Do Not Track, or Global Privacy Control: a view, and no viewer.
  await shortView({ ip: "192.0.2.1", headers: { DNT: "1" } });
  await shortView({ ip: "192.0.2.2", headers: { "Sec-GPC": "1" } });
  r = (await report()).totals;
  assert.equal(r.views, before.views + 6);
  assert.equal(r.unique_viewers, before.unique_viewers + 3);
  // Consent off: no view id, no beacon at all.
  const { page, close } = await viewerPage({ ip: "192.0.2.3" });
  try {
    const beacons = [];
    page.on("request", (req) => { if (req.url().includes("/v1/beacons")) beacons.push(req.url()); });
    await startPlaying(page, { consent: "off" });
    await waitFor(page, () => window.t.video.currentTime > 1);
    assert.equal((await stats(page)).viewId, null);
    await page.evaluate(() => window.t.player.destroy());
    await new Promise((ok) => setTimeout(ok, 500));
    assert.deepEqual(beacons, []);
  } finally {
    await close();
  }
  assert.equal((await report()).totals.views, before.views + 6);
});

test("the dashboard draws its charts from the aggregates", async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}/analytics.html`);
    await page.fill("#api-key", env.DEV_KEY);
    await page.click("#load");
    await page.waitForFunction(() => document.body.dataset.loaded, null, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.loaded), "true");
    // The key stays out of the address bar.
    assert.ok(!page.url().includes(env.DEV_KEY));
    const charts = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll("svg.chart")].map((s) => [s.dataset.chart, { points: Number(s.dataset.points), marks: s.querySelectorAll(".mark").length }])));
    for (const name of ["views", "watch", "renditions", "country", "browser", "os", "device"]) {
      assert.ok(charts[name]?.points > 0 && charts[name].marks > 0, `${name}: ${JSON.stringify(charts[name])}`);
    }
    const dir = join(ROOT, "target", "test-artifacts");
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, "analytics-dashboard.png"), fullPage: true });
  } finally {
    await page.close();
  }
});
