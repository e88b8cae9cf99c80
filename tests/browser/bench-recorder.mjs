// Recorder benchmark in headless Chromium with a fake camera (a noisy 960×540 pattern, so the
// encoder really works) against the real server and a local Garage:
//
//   plain     MediaRecorder alone, its slices dropped: the browser's own cost of recording
//   cinelock  record(): the same recorder, each slice sealed, spooled in OPFS and uploaded
//
// Each records CINELOCK_BENCH_RECORD_SECONDS (default 300) at 8 Mbit/s. Every 10 s it samples
// the page's JS heap (DevTools Performance.getMetrics JSHeapUsedSize) and the renderer's
// resident memory (VmRSS, which holds ArrayBuffers and Blobs too). It prints the samples' first,
// last and largest values, the renderer's CPU time for each run with the ratio cinelock/plain,
// and cinelock's stop-to-uploaded time.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser } from "./harness.mjs";
import { startGarage } from "./garage.mjs";
import * as env from "./playback-env.mjs";

const SECONDS = Number(process.env.CINELOCK_BENCH_RECORD_SECONDS ?? 300);
const MB = 1e6;

const tmp = mkdtempSync(join(tmpdir(), "cinelock-bench-recorder-"));
const garage = await startGarage();
const keys = env.makeKeys(tmp);
await env.configureCors(tmp, garage.endpoint, keys.workerPublicKey);
const server = await env.startPlaybackServer(tmp, garage.endpoint, keys, { CINELOCK_WORKERS: "0" });
const camera = join(tmp, "camera.mjpeg");
execFileSync(process.env.CINELOCK_FFMPEG ?? "ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
  "-i", "testsrc2=size=960x540:rate=30,noise=alls=30:allf=t+u", "-t", "3", "-c:v", "mjpeg", "-q:v", "4", "-f", "mjpeg", camera]);

/** The renderer's CPU seconds and resident bytes. */
async function renderer(cdp) {
  const { processInfo } = await cdp.send("SystemInfo.getProcessInfo");
  const r = processInfo.filter((p) => p.type === "renderer");
  let rss = 0;
  for (const p of r) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.id}/status`, "utf8"));
    rss += m ? Number(m[1]) * 1024 : 0;
  }
  return { cpu: r.reduce((s, p) => s + p.cpuTime, 0), rss };
}

async function run(kind) {
  const browser = await launchBrowser([
    `--use-file-for-fake-video-capture=${camera}`, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
  ]);
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    const cdp = await page.context().newCDPSession(page);
    const bcdp = await browser.newBrowserCDPSession();
    await cdp.send("Performance.enable");
    await page.evaluate(async ({ kind, key }) => {
      const c = await import("/sdk/dist/index.js");
      await c.load();
      window.bench = { kind };
      if (kind === "plain") {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        const rec = new MediaRecorder(stream, { mimeType: "video/webm;codecs=vp9,opus", videoBitsPerSecond: 8_000_000 });
        window.bench.bytes = 0;
        rec.ondataavailable = (e) => { window.bench.bytes += e.data.size; };
        rec.start(1000);
        window.bench.stop = async () => { rec.stop(); await new Promise((ok) => (rec.onstop = ok)); stream.getTracks().forEach((t) => t.stop()); };
        return;
      }
      const createUpload = async () => (await fetch("/v1/uploads", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ filename: "bench.webm" }),
      })).json();
      const rec = c.record({ endpoint: location.origin, createUpload, videoBitsPerSecond: 8_000_000, mimeType: "video/webm;codecs=vp9,opus" });
      await rec.start();
      window.bench.rec = rec;
      window.bench.stop = async () => {
        const at = performance.now();
        const [r] = await rec.stop();
        window.bench.stopToUploaded = performance.now() - at;
        window.bench.bytes = r.plaintextBytes;
      };
    }, { kind, key: env.DEV_KEY });
    const start = await renderer(bcdp);
    const samples = [];
    for (let t = 0; t < SECONDS; t += 10) {
      await page.waitForTimeout(10_000);
      const { metrics } = await cdp.send("Performance.getMetrics");
      const heap = metrics.find((m) => m.name === "JSHeapUsedSize").value;
      samples.push({ heap, rss: (await renderer(bcdp)).rss });
    }
    await page.evaluate(() => window.bench.stop());
    const end = await renderer(bcdp);
    const result = await page.evaluate(() => ({ bytes: window.bench.bytes, stopToUploaded: window.bench.stopToUploaded }));
    return { kind, cpu: end.cpu - start.cpu, samples, ...result };
  } finally {
    await browser.close();
  }
}

const show = (xs, f) => `first ${f(xs[0])}, last ${f(xs.at(-1))}, max ${f(Math.max(...xs))}`;
try {
  const plain = await run("plain");
  const sealed = await run("cinelock");
  for (const r of [plain, sealed]) {
    console.log(`${r.kind.padEnd(8)} ${SECONDS} s, ${(r.bytes / MB).toFixed(1)} MB recorded, renderer CPU ${r.cpu.toFixed(1)} s (${(100 * r.cpu / SECONDS).toFixed(1)}% of a core)`);
    console.log(`         JS heap MB: ${show(r.samples.map((s) => s.heap), (v) => (v / MB).toFixed(1))}`);
    console.log(`         renderer RSS MB: ${show(r.samples.map((s) => s.rss), (v) => (v / MB).toFixed(0))}`);
  }
  console.log(`CPU cinelock/plain: ${(sealed.cpu / plain.cpu).toFixed(2)}×`);
  console.log(`stop to uploaded: ${sealed.stopToUploaded.toFixed(0)} ms`);
} finally {
  await server.stop();
  await garage.stop();
  rmSync(tmp, { recursive: true, force: true });
}
