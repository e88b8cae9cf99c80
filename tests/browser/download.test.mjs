// Downloads in headless Chromium: when an asset's policy allows it, the SDK fetches the sealed
// original from the bucket, opens it with the data key the server released to a one-time key,
// and streams it into a WritableStream; the bytes are the uploaded file. Refused without the
// right (denied, nothing written), and a tampered original fails with `decrypt`, the stream
// aborted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser } from "./harness.mjs";
import { startGarage } from "./garage.mjs";
import * as env from "./playback-env.mjs";

let tmp, garage, server, browser, page, clip, assetId;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "cinelock-download-"));
  garage = await startGarage();
  const keys = env.makeKeys(tmp);
  await env.configureCors(tmp, garage.endpoint, keys.workerPublicKey);
  server = await env.startPlaybackServer(tmp, garage.endpoint, keys);
  browser = await launchBrowser();
  clip = env.makeClip(join(tmp, "clip.mp4"), { width: 320, height: 240, seconds: 4 });
  page = await browser.newPage();
  assetId = await env.uploadClip(page, server, clip, "holiday.mp4");
  // The worker keeps the source's data key (wrapped) when it opens the upload.
  await env.waitReady(server, assetId);
  await page.goto(`${server.url}/`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await garage?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** In the page: downloads into a WritableStream that records what it got; the outcome. */
function downloadInPage(options) {
  return page.evaluate(async (options) => {
    const c = await import("/sdk/dist/index.js");
    const chunks = [];
    let state = "open";
    const sink = new WritableStream({
      write(chunk) { chunks.push(chunk.slice()); },
      close() { state = "closed"; },
      abort() { state = "aborted"; },
    });
    let progress = 0;
    try {
      const result = await c.download({ endpoint: location.origin, ...options, onProgress: (n) => (progress = n) }, sink);
      const all = new Uint8Array(await new Blob(chunks).arrayBuffer());
      const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", all))].map((b) => b.toString(16).padStart(2, "0")).join("");
      return { ok: true, result, digest, state, progress, pieces: chunks.length };
    } catch (e) {
      return { ok: false, name: e.name, code: e.code, reason: e.reason, state, written: chunks.reduce((n, c) => n + c.length, 0) };
    }
  }, options);
}

test("a download the policy allows streams the original file, authenticated, into the sink", async () => {
  await env.setPolicy(server, assetId, { visibility: "unlisted", download_allowed: true });
  const got = await downloadInPage({ assetId });
  assert.equal(got.ok, true, JSON.stringify(got));
  assert.equal(got.digest, createHash("sha256").update(clip).digest("hex"));
  assert.deepEqual(got.result, { filename: "holiday.mp4", size: clip.length });
  assert.equal(got.state, "closed");
  assert.equal(got.progress, clip.length);
  assert.ok(got.pieces > 1, "written chunk by chunk, not all at once");
});

test("without the download right the server refuses and nothing is written", async () => {
  await env.setPolicy(server, assetId, { visibility: "unlisted", download_allowed: false });
  const got = await downloadInPage({ assetId });
  assert.deepEqual([got.ok, got.name, got.code, got.reason, got.written, got.state], [false, "CinelockError", "denied", "download_not_allowed", 0, "aborted"]);
  // A private asset needs a token carrying the download right.
  await env.setPolicy(server, assetId, { visibility: "private", download_allowed: true });
  const denied = await downloadInPage({ assetId });
  assert.equal(denied.reason, "token_required");
  const token = (await env.api(server, "POST", `/v1/assets/${assetId}/viewer-tokens`, { download: true })).token;
  const allowed = await downloadInPage({ assetId, token });
  assert.equal(allowed.ok, true, JSON.stringify(allowed));
});

test("a tampered original fails with decrypt and the stream is aborted", async () => {
  await env.setPolicy(server, assetId, { visibility: "unlisted", download_allowed: true });
  const store = env.bucket(garage.endpoint);
  const key = `assets/${assetId}/source.cnlk`;
  const sealed = await store.get(key);
  const bad = Buffer.from(sealed);
  bad[Math.floor(bad.length / 2)] ^= 1;
  await store.put(key, bad);
  try {
    const got = await downloadInPage({ assetId });
    assert.deepEqual([got.ok, got.code, got.state], [false, "decrypt", "aborted"]);
  } finally {
    await store.put(key, sealed);
  }
});
