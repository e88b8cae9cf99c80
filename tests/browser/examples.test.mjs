// The packed package in real apps, as users get it: `npm pack` makes the tarball, the example
// apps (examples/vite, examples/webpack) install it, build for production, and run in headless
// Chromium against the real server and Garage, on their own origin. Each uploads a clip and
// plays it, and the SDK's stats() must say both workers ran (the upload's and the player's):
// a bundle that dropped a worker would still work, on the page's thread, and fail here. The
// Vite dev server is tried too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { ROOT, launchBrowser } from "./harness.mjs";
import { freePort, startGarage } from "./garage.mjs";
import * as env from "./playback-env.mjs";

let tmp, garage, keys, server, browser, clip, apps;

/** npm, quiet, in `cwd`. */
function npm(cwd, args) {
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, stdio: ["ignore", "ignore", "inherit"] });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "cinelock-examples-"));
  garage = await startGarage();
  keys = env.makeKeys(tmp);
  await env.configureCors(tmp, garage.endpoint, keys.workerPublicKey);
  server = await env.startPlaybackServer(tmp, garage.endpoint, keys);
  browser = await launchBrowser(["--autoplay-policy=no-user-gesture-required"]);
  // Long enough that segments are still asked for once playback can begin: the player's worker
  // starts then, and the test holds that it opened some.
  clip = env.makeClip(join(tmp, "clip.mp4"), { width: 426, height: 240, seconds: 24 });
  // The package as published, and the examples as a user checks them out (no build output).
  const packed = execFileSync("npm", ["pack", "--pack-destination", tmp, "--silent"], { cwd: join(ROOT, "npm"), encoding: "utf8" }).trim().split("\n").pop();
  // The server's brotli copies of the build (scripts/compress-sdk.mjs) are not the package's.
  const listed = execFileSync("tar", ["-tzf", join(tmp, packed)], { encoding: "utf8" }).split("\n");
  assert.ok(listed.some((f) => f.endsWith(".wasm")) && !listed.some((f) => f.endsWith(".br")), listed.join(" "));
  apps = join(tmp, "examples");
  cpSync(join(ROOT, "examples"), apps, { recursive: true, filter: (src) => !/\/(node_modules|dist)(\/|$)/.test(src) });
  npm(apps, ["ci"]);
  npm(apps, ["install", "--no-save", join(tmp, packed)]);
  execFileSync("npx", ["vite", "build"], { cwd: join(apps, "vite"), stdio: ["ignore", "ignore", "inherit"] });
  execFileSync("npx", ["webpack", "--mode", "production"], { cwd: join(apps, "webpack"), stdio: ["ignore", "ignore", "inherit"] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await garage?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css", ".map": "application/json" };

/** Serves a production build, as any static host would, on its own origin. */
async function serveStatic(dir) {
  const port = await freePort();
  const site = http.createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    let file = join(dir, path);
    try {
      if (statSync(file).isDirectory()) file = join(file, "index.html");
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => site.listen(port, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise((ok) => { site.closeAllConnections(); site.close(ok); }) };
}

/** Vite's dev server for the Vite app, on a free port. */
async function startViteDev() {
  const port = await freePort();
  const child = spawn("npx", ["vite", "--port", String(port), "--strictPort", "--host", "127.0.0.1"], { cwd: join(apps, "vite"), stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`vite dev did not start: ${out}`)), 60_000);
    const seen = (d) => { out += d; if (out.includes(`${port}`)) { clearTimeout(timer); ok(); } };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => { try { process.kill(-child.pid); } catch { /* gone */ } } };
}

/** Uploads the clip and plays it in the app at `url`; what the SDK reported. */
async function uploadAndPlay(url) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const warnings = [];
    page.on("console", (m) => { if (m.type() === "warning" || m.type() === "error") warnings.push(m.text()); });
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById("status").textContent === "ready", null, { timeout: 60_000 });
    const created = await env.api(server, "POST", "/v1/uploads", { size: clip.length, filename: "clip.mp4", content_type: "video/mp4" });
    const uploaded = await page.evaluate(async ({ created, endpoint, b64 }) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      return window.cinelockExample.upload(created, endpoint, bytes, "clip.mp4");
    }, { created, endpoint: server.url, b64: clip.toString("base64") });
    assert.equal(uploaded.assetId, created.asset_id);
    await env.waitReady(server, uploaded.assetId);
    const token = await env.viewerToken(server, uploaded.assetId);
    const played = await page.evaluate(({ endpoint, assetId, token }) => window.cinelockExample.play(endpoint, assetId, token, 2), { endpoint: server.url, assetId: uploaded.assetId, token });
    return { upload: uploaded.stats, prepared: uploaded.prepared, player: played, warnings, workers: page.workers().length };
  } finally {
    await context.close();
  }
}

/** Both workers ran, and nothing was said about one failing. */
function assertWorkersRan(r) {
  assert.deepEqual(r.upload, { worker: "running" }, JSON.stringify(r));
  assert.deepEqual(r.prepared, { worker: "running" }, JSON.stringify(r));
  assert.equal(r.player.worker, "running", JSON.stringify(r.player));
  assert.ok(r.player.objects >= 2 && r.player.workerObjects > 0 && r.player.workerObjects + r.player.objectsBeforeWorker === r.player.objects, JSON.stringify(r.player));
  assert.deepEqual(r.warnings.filter((w) => w.includes("cinelock")), []);
}

for (const app of ["vite", "webpack"]) {
  test(`the ${app} app's production build uploads and plays with both workers running`, async () => {
    const site = await serveStatic(join(apps, app, "dist"));
    try {
      assertWorkersRan(await uploadAndPlay(site.url));
    } finally {
      await site.stop();
    }
    // The build holds the workers and the wasm as files of its own.
    const files = readdirSync(join(apps, app, "dist"), { recursive: true }).map(String);
    assert.ok(files.some((f) => f.endsWith(".wasm")), files.join(" "));
  });
}

test("the vite app on Vite's dev server uploads and plays with both workers running", async () => {
  const dev = await startViteDev();
  try {
    assertWorkersRan(await uploadAndPlay(dev.url));
  } finally {
    dev.stop();
  }
});

test("<cinelock-player> bundled into an app without an endpoint says so instead of asking the app's own origin", async () => {
  const site = await serveStatic(join(apps, "vite", "dist"));
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto(site.url);
    await page.waitForFunction(() => document.getElementById("status").textContent === "ready");
    const outcome = await page.evaluate(() => new Promise((resolve) => {
      const el = document.createElement("cinelock-player");
      el.addEventListener("error", (e) => resolve({ code: e.detail.error.code, message: e.detail.error.message }));
      el.setAttribute("asset", "some-asset");
      document.body.append(el);
    }));
    assert.equal(outcome.code, "invalid_argument");
    assert.match(outcome.message, /endpoint attribute/);
    assert.ok(errors.some((e) => e.includes("endpoint attribute")), errors.join("\n"));
  } finally {
    await context.close();
    await site.stop();
  }
});
