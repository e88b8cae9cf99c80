// Playback benchmark, one run in headless Chromium driven over a raw DevTools pipe (no Network
// domain): a clip made by ffmpeg (CINELOCK_BENCH_PLAY_SECONDS, default 60, 1280×720 with audio)
// is uploaded, transcoded by the real worker, and played from a local Garage at one pinned
// rendition (the top one) plus the audio, three ways, alternating, each in a fresh browser:
//
//   plain      the same segments opened here in Node and stored unencrypted next to the
//              package, played by a minimal MSE loader (presigned GETs, 2 in flight per track)
//   webcrypto  cinelock.play(): session, released key, manifest, sealed segments fetched and
//              opened with WebCrypto AES-GCM in the player's worker (the default)
//   wasm       the same with the WebAssembly AES-GCM engine
//   *-page     the same with worker: false (segments fetched and opened on the page's thread)
//   cold       the default player, play() called without load() first: the wasm's download and
//              compilation are inside the measured time (the session request overlaps them)
//
// It prints, as medians over CINELOCK_BENCH_PLAY_RUNS (default 5) rounds: time to first frame
// (from the call to the first decoded frame), time until the whole clip is buffered, the
// decrypt cost per segment (time inside AES-GCM, per object and per MB), and the page's main
// thread task time over the run (DevTools' Performance.getMetrics TaskDuration: what the
// player costs the page's own work), with ratios to plain.
//
// CINELOCK_BENCH_TRACE=1 also takes a Chromium trace (the Tracing domain over the pipe) and a
// CPU profile of the page of the first round of plain MSE, of the default player and of a
// play() before load() (cold), and
// prints, from the call to the first frame: the page thread's tasks (when each ran, for how
// long, what took most of it), every request of the page and its worker, the element's
// milestones (appends, its pipeline's set-up, the first frame), each thread's busy time, and
// the page's CPU profile in 10 ms windows; it also times the session request from Node (the
// server's own share). The trace and profile are written to the temporary directory (they
// open in DevTools or Perfetto); build the SDK with CINELOCK_WASM_NAMES=1 scripts/build-sdk
// for the profile to name the wasm's functions.
// CINELOCK_BENCH_PLAY_START_ONLY=1 stops after the first-frame rounds (no throttled link, no
// rendition time-line); the time-lines include, at 5 Mbit/s, that of a page's second video,
// started after the first has played CINELOCK_BENCH_PLAY_PRIME_SECONDS (default 10);
// CINELOCK_BENCH_PLAY_TIMELINE_ONLY=1 runs only the rendition time-lines, and the bytes a
// 640×360 player fetches with and without capToPlayerSize
// (CINELOCK_BENCH_PLAY_TIMELINE_RUNS times each; with CINELOCK_BENCH_DEBUG=1 they print the
// switches, and the estimate and buffer every 2 s); CINELOCK_BENCH_PLAY_ONLY=webcrypto,cold
// (say) times only those players beside plain MSE; CINELOCK_BENCH_SECOND_PLAYER=1 measures
// each page's second player;
// CINELOCK_BENCH_PLAY_LATENCY_MS=40 (say) adds that latency to every request of the first-frame
// rounds, bandwidth unlimited (DevTools network conditions, page and workers), once the page and
// the SDK's script have loaded: the wasm of a player started before load() comes through it.
// A full run also prints the first frame of a player started while the page uploads three
// files on a link with a slow uplink, against the same player with no upload; and a seek to a
// part of the clip not buffered (to its first frame there), on loopback and at 5 Mbit/s, 40 ms,
// against plain MSE fetching just the segments under the target (the player pinned to the same
// rendition; at 5 Mbit/s also choosing its rendition, which may show a lower one first).
// CINELOCK_BENCH_PLAY_RETURNING=1 makes each first-frame round a returning visit: the same
// browser played on the page the same way, to its first frame, 5 s before (the browser's HTTP
// cache and its cache of compiled WebAssembly are warm).
import { createDecipheriv, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchRaw, threadTimes, topLevelTasks } from "./cdp.mjs";
import { startGarage } from "./garage.mjs";
import * as env from "./playback-env.mjs";
import { decap, deriveKeyPair, keySchedule } from "../spec/hpke.mjs";

const SECONDS = Number(process.env.CINELOCK_BENCH_PLAY_SECONDS ?? 60);
const RUNS = Number(process.env.CINELOCK_BENCH_PLAY_RUNS ?? 5);
const TRACE = Boolean(process.env.CINELOCK_BENCH_TRACE);
const START_ONLY = Boolean(process.env.CINELOCK_BENCH_PLAY_START_ONLY);
const TIMELINE_ONLY = Boolean(process.env.CINELOCK_BENCH_PLAY_TIMELINE_ONLY);
const TIMELINE_RUNS = Number(process.env.CINELOCK_BENCH_PLAY_TIMELINE_RUNS ?? 1);
const SECOND_PLAYER = Boolean(process.env.CINELOCK_BENCH_SECOND_PLAYER);
/** Seconds the page's first video plays before the time-line of its second. */
const PRIME_S = Number(process.env.CINELOCK_BENCH_PLAY_PRIME_SECONDS ?? 10);
const LATENCY_MS = Number(process.env.CINELOCK_BENCH_PLAY_LATENCY_MS ?? 0);
// A returning visit (the header says more); CINELOCK_BENCH_PLAY_RETURNING_MS: how long after.
const RETURNING = Boolean(process.env.CINELOCK_BENCH_PLAY_RETURNING);
const RETURNING_MS = Number(process.env.CINELOCK_BENCH_PLAY_RETURNING_MS ?? 5000);
// CINELOCK_BENCH_WARM_AUDIO=1 starts the browser's audio service (an AudioContext) before each
// first-frame round, as in a browser that has played sound: the element's set-up then does not
// wait for that process to launch (70-95 ms on this machine), for plain MSE and player alike.
const WARM_AUDIO = process.env.CINELOCK_BENCH_WARM_AUDIO
  ? `window.__audio = new AudioContext(); await window.__audio.resume(); await new Promise((r) => setTimeout(r, 500));`
  : "";

/** The `T0` time stamp the measured call made (`console.timeStamp`), where a trace has it. */
const traceT0 = (events) => events.find((e) => e.name === "TimeStamp" && e.args?.data?.message === "T0");

/** The page thread's tasks between the `T0` time stamp and `untilMs` after it, from a trace. */
function pageTasks(events, untilMs) {
  const t0 = traceT0(events);
  if (!t0) return "no T0 in the trace";
  const end = t0.ts + untilMs * 1000;
  const mine = events.filter((e) => e.pid === t0.pid && e.tid === t0.tid && e.ph === "X" && e.ts >= t0.ts && e.ts <= end);
  const wrappers = new Set(["RunTask", "ThreadControllerImpl::RunTask", "BlinkScheduler_PerformMicrotaskCheckpoint", "v8.callFunction", "AsyncTask Run", "TimerBase::run", "SimpleWatcher::OnHandleReady"]);
  const tasks = (topLevelTasks(mine).get(`${t0.pid}:${t0.tid}`) ?? []).filter((e) => e.dur >= 1000);
  let busy = 0;
  const lines = tasks.map((task) => {
    busy += task.dur;
    const inner = mine.filter((e) => !wrappers.has(e.name) && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur).sort((a, b) => b.dur - a.dur)[0];
    const what = inner ? `${inner.name}${inner.args?.data?.url ? " " + inner.args.data.url.split("?")[0].split("/").pop() : ""} ${(inner.dur / 1000).toFixed(1)} ms` : "";
    return `  ${((task.ts - t0.ts) / 1000).toFixed(1).padStart(6)} ms  ${(task.dur / 1000).toFixed(1).padStart(5)} ms  ${what}`;
  });
  // The requests of every thread (the page's and the worker's), as the renderer saw them; only
  // a request's start names its URL.
  const urls = new Map(events.filter((e) => e.name === "ResourceSendRequest").map((e) => [e.args?.data?.requestId, e.args?.data?.url]));
  const net = events.filter((e) => /^Resource(SendRequest|ReceiveResponse|Finish)$/.test(e.name) && e.ts >= t0.ts && e.ts <= end)
    .sort((a, b) => a.ts - b.ts)
    .map((e) => {
      const url = e.args?.data?.url ?? urls.get(e.args?.data?.requestId) ?? "";
      const place = e.tid === t0.tid ? "page" : "worker";
      return `  ${((e.ts - t0.ts) / 1000).toFixed(1).padStart(6)} ms  ${place.padEnd(6)} ${e.name.replace("Resource", "").padEnd(15)} ${url.split("?")[0].split("/").slice(-2).join("/")}`;
    });
  // The element's own milestones: appends, its pipeline's set-up (which waits for the audio
  // service, started on demand), the first frame.
  const milestones = /^(SourceBuffer::appendBuffer|RendererImpl::Initialize|audio::Service::OnStart|DecoderSelector::SelectDecoder|VideoFrameCompositor::SetCurrentFrame)$/;
  const media = events.filter((e) => milestones.test(e.name) && e.ph !== "e" && e.ts >= t0.ts && e.ts <= end + 20_000)
    .sort((a, b) => a.ts - b.ts)
    .map((e) => `  ${((e.ts - t0.ts) / 1000).toFixed(1).padStart(6)} ms  ${e.name}${e.args?.size ? ` (${e.args.size} bytes)` : ""}${e.args?.config ? ` (${e.args.config.split(",")[0]})` : ""}`);
  // Every thread's busy time up to the first frame: what the page's work competes with.
  const inWindow = events.filter((e) => e.ph === "M" || (e.ts >= t0.ts && e.ts <= end));
  const threads = threadTimes(inWindow).filter((r) => r.ms >= 2).map((r) => `  ${r.ms.toFixed(1).padStart(6)} ms  ${r.process} / ${r.thread}`);
  return `page thread busy ${(busy / 1000).toFixed(0)} ms of the ${untilMs.toFixed(0)} ms to the first frame, in tasks of 1 ms or more:\n${lines.join("\n")}\nrequests:\n${net.join("\n")}\nmedia:\n${media.join("\n")}\nthreads busy 2 ms or more to the first frame:\n${threads.join("\n")}`;
}
/**
 * The page thread's CPU profile from the `T0` time stamp to `untilMs` after it, in 10 ms
 * windows: each window's three functions with the most samples of their own.
 */
function profileWindows(profile, events, untilMs) {
  const t0 = traceT0(events);
  if (!t0) return "no T0 in the trace";
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const windows = new Map();
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i];
    const ms = (t - t0.ts) / 1000;
    if (ms < 0 || ms > untilMs) return;
    const f = nodes.get(id).callFrame;
    if (f.functionName === "(idle)" || f.functionName === "(program)") return;
    const w = Math.floor(ms / 10) * 10;
    if (!windows.has(w)) windows.set(w, new Map());
    const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber}`;
    windows.get(w).set(name, (windows.get(w).get(name) ?? 0) + 1);
  });
  const lines = [...windows].sort((a, b) => a[0] - b[0]).map(([w, m]) => {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const top = [...m].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([n, c]) => `${n} ${c}`).join(", ");
    return `  ${String(w).padStart(4)} ms: ${total} samples: ${top}`;
  });
  return `page thread CPU profile (100 µs samples, idle left out), 10 ms windows:\n${lines.join("\n")}`;
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** Opens a sealed media object natively (docs/format.md §14.3). */
function openObject(key, { assetId, packageId, trackId, kind, index }, sealed) {
  const header = sealed.subarray(0, 18);
  const ids = [assetId, packageId, trackId].flatMap((id) => { const b = Buffer.from(id); return [Buffer.from([b.length]), b]; });
  const idx = Buffer.alloc(4);
  idx.writeUInt32BE(index);
  const aad = Buffer.concat([header, Buffer.from([{ manifest: 1, init: 2, media: 3, poster: 4 }[kind]]), idx, ...ids]);
  const d = createDecipheriv("aes-256-gcm", key, header.subarray(6, 18));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(18, sealed.length - 16)), d.final()]);
}

const tmp = mkdtempSync(join(tmpdir(), "cinelock-bench-play-"));
const garage = await startGarage();
const keys = env.makeKeys(tmp);
await env.configureCors(tmp, garage.endpoint, keys.workerPublicKey);
const server = await env.startPlaybackServer(tmp, garage.endpoint, keys);
// CINELOCK_BENCH_SDK_B=<dir with dist/ and pkg/> (a copy of npm/ after another build) serves a
// second SDK build from a second server on the same database: its players run as "-B" rounds
// between the others, for an A/B comparison in one sitting.
const SDK_B = process.env.CINELOCK_BENCH_SDK_B;
let serverB;
const store = env.bucket(garage.endpoint);
try {
  if (SDK_B) serverB = await env.startPlaybackServer(tmp, garage.endpoint, keys, { CINELOCK_DATABASE_URL: server.databaseUrl, CINELOCK_SDK_DIR: SDK_B, CINELOCK_WORKERS: "0" });
  // The asset, through the real pipeline.
  const clip = env.makeClip(join(tmp, "clip.mp4"), { width: 1280, height: 720, seconds: SECONDS });
  let chrome = await launchRaw();
  await chrome.page.goto(`${server.url}/`);
  const created = await env.api(server, "POST", "/v1/uploads", { size: clip.length, filename: "clip.mp4" });
  await chrome.page.evaluate(`(async () => {
    const c = await import("/sdk/dist/index.js");
    const bytes = Uint8Array.from(atob(${JSON.stringify(clip.toString("base64"))}), (ch) => ch.charCodeAt(0));
    const h = await c.upload(new File([bytes], "clip.mp4"), { endpoint: location.origin, upload: ${JSON.stringify(created)} });
    await h.done;
  })()`);
  await chrome.close();
  const assetId = created.asset_id;
  await env.waitReady(server, assetId, 900_000);
  const token = await env.viewerToken(server, assetId);

  // The content key, released to a key made here, and the manifest, opened natively.
  const { sk, pk } = deriveKeyPair(randomBytes(32));
  const session = await (await fetch(`${server.url}/v1/play/${assetId}`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ public_key: pk.toString("hex"), token }),
  })).json();
  const released = Buffer.from(session.key, "hex");
  const hk = keySchedule(decap(released.subarray(0, 32), sk), Buffer.from("cinelock content key release v1"));
  const d = createDecipheriv("aes-256-gcm", hk.key, hk.baseNonce);
  d.setAAD(Buffer.from(assetId));
  d.setAuthTag(released.subarray(64));
  const contentKey = Buffer.concat([d.update(released.subarray(32, 64)), d.final()]);
  const packageId = session.package_id;
  const prefix = `assets/${assetId}/packages/${packageId}/`;
  const place = (trackId, kind, index) => ({ assetId, packageId, trackId, kind, index });
  const manifest = JSON.parse(openObject(contentKey, place("", "manifest", 0), await store.get(`${prefix}manifest.cnls`)));
  if (TRACE) {
    // The server's own share of the session: the same request from here, timed.
    const times = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const r = await fetch(`${server.url}/v1/play/${assetId}`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ public_key: pk.toString("hex"), token }),
      });
      await r.arrayBuffer();
      times.push(performance.now() - t);
    }
    console.log(`session request from Node, 20 in a row: median ${median(times).toFixed(1)} ms, fastest ${Math.min(...times).toFixed(1)} ms`);
    // What a presigned URL costs the server: URL requests for 1 and for 60 of the package's paths.
    const all = manifest.tracks.flatMap((t) => t.segments.map((g) => g.path)).slice(0, 60);
    for (const paths of [all.slice(0, 1), all]) {
      const ts = [];
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        const r = await fetch(`${server.url}/v1/play/${assetId}/urls`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ session: session.session, paths }) });
        if (!r.ok) throw new Error(`urls: ${r.status} ${await r.text()}`);
        await r.arrayBuffer();
        ts.push(performance.now() - t);
      }
      console.log(`URL request for ${paths.length} paths from Node: median ${median(ts).toFixed(1)} ms`);
    }
  }
  const top = manifest.tracks.filter((t) => t.kind === "video").at(-1);
  const tracks = [top, ...manifest.tracks.filter((t) => t.kind === "audio")];

  // The same segments, opened here and stored in the clear next to the package.
  let segments = 0, plainBytes = 0;
  const plainTracks = [];
  for (const t of tracks) {
    const objects = [{ path: t.init.path, kind: "init", index: 0 }, ...t.segments.map((s, i) => ({ path: s.path, kind: "media", index: i }))];
    const urls = [];
    for (const o of objects) {
      const plain = openObject(contentKey, place(t.id, o.kind, o.index), await store.get(prefix + o.path));
      await store.put(`bench/plain/${assetId}/${o.path}`, plain);
      urls.push(`bench/plain/${assetId}/${o.path}`);
      if (o.kind === "media") { segments++; plainBytes += plain.length; }
    }
    plainTracks.push({ type: `${t.mime}; codecs="${t.codecs}"`, keys: urls });
  }

  // Plain MSE's page code: a SourceBuffer append as a promise, and a GET of a whole object.
  const MSE_HELPERS = `
    const append = (sb, data) => new Promise((ok, fail) => { sb.addEventListener("updateend", ok, { once: true }); sb.addEventListener("error", fail, { once: true }); sb.appendBuffer(data); });
    const get = (u) => fetch(u, { cache: "no-store" }).then((r) => { if (!r.ok) throw new Error("GET " + r.status); return r.arrayBuffer(); });`;
  const PLAIN = (tracksWithUrls, firstOnly = false) => `(async () => {
    const tracks = ${JSON.stringify(tracksWithUrls)};
    ${WARM_AUDIO}
    const video = document.createElement("video");
    video.muted = true;
    document.body.append(video);
    console.timeStamp("T0");
    const t0 = performance.now();
    const first = new Promise((ok) => video.requestVideoFrameCallback(() => ok(performance.now() - t0)));
    const ms = new MediaSource();
    video.src = URL.createObjectURL(ms);
    await new Promise((ok) => ms.addEventListener("sourceopen", ok, { once: true }));
    ms.duration = ${manifest.duration};
    const buffers = tracks.map((t) => ms.addSourceBuffer(t.type));
    video.play().catch(() => undefined);
    if (${firstOnly}) first.then(() => { window.__stop = true; });
    ${MSE_HELPERS}
    await Promise.all(tracks.map(async (t, i) => {
      // Two fetches in flight per track (as the engine's default), appended in order.
      const pending = t.urls.slice(0, 2).map(get);
      for (let n = 0; n < t.urls.length && !window.__stop; n++) {
        const data = await pending[n];
        if (n + 2 < t.urls.length) pending.push(get(t.urls[n + 2]));
        await append(buffers[i], data);
      }
    }));
    const full = performance.now() - t0;
    const seg = performance.getEntriesByType("resource").find((x) => new RegExp("/[0-9]{5}[.]cnls").test(x.name));
    return { ttff: await first, full, breakdown: { firstSegment: seg ? seg.responseEnd - t0 : NaN } };
  })()`;

  const CINELOCK = (engine, worker, firstOnly = false, cold = false) => `(async () => {
    const tImport = performance.now();
    const c = await import("/sdk/dist/index.js");
    if (!${cold}) await c.load();
    ${WARM_AUDIO}
    // CINELOCK_BENCH_SECOND_PLAYER=1: the measured player is the page's second (the first played
    // to its first frame and was let go): what a start costs with everything already compiled,
    // connected and set up, the bound for load()'s rehearsal.
    if (${SECOND_PLAYER}) {
      const v0 = document.createElement("video");
      v0.muted = true;
      document.body.append(v0);
      const f0 = new Promise((ok) => v0.requestVideoFrameCallback(() => ok()));
      const p0 = c.play(v0, { endpoint: location.origin, assetId: ${JSON.stringify(assetId)}, token: ${JSON.stringify(token)},
        engine: ${JSON.stringify(engine)}, worker: ${worker}, startRendition: ${JSON.stringify(top.id)} });
      v0.play().catch(() => undefined);
      await f0;
      p0.destroy();
      v0.remove();
      await new Promise((ok) => setTimeout(ok, 300));
    }
    const video = document.createElement("video");
    video.muted = true;
    document.body.append(video);
    console.timeStamp("T0");
    const t0 = performance.now();
    const first = new Promise((ok) => video.requestVideoFrameCallback(() => ok(performance.now() - t0)));
    const p = c.play(video, { endpoint: location.origin, assetId: ${JSON.stringify(assetId)}, token: ${JSON.stringify(token)},
      engine: ${JSON.stringify(engine)}, worker: ${worker}, startRendition: ${JSON.stringify(top.id)}, bufferGoal: ${manifest.duration + 5}, backBuffer: 10000 });
    p.setRendition(${JSON.stringify(top.id)});
    video.play().catch(() => undefined);
    const failed = new Promise((_, fail) => p.addEventListener("error", (e) => fail(new Error(e.detail.error.message))));
    const end = ${manifest.duration} - 0.25;
    const whole = () => { const b = video.buffered; return b.length === 1 && b.end(0) >= end; };
    await Promise.race([failed, ${firstOnly} ? first : new Promise((ok) => { const t = setInterval(() => { if (whole()) { clearInterval(t); ok(); } }, 5); })]);
    const full = performance.now() - t0;
    const ttff = await first;
    const s = p.stats();
    p.destroy();
    // Where the time to the first frame goes (resource timing, from the same origin t0).
    const entries = performance.getEntriesByType("resource");
    const at = (match, field) => { const e = entries.find((x) => match(x.name)); return e ? e[field] - t0 : NaN; };
    const breakdown = {
      session: at((n) => n.includes("/v1/play/") && !n.endsWith("/urls"), "responseEnd"),
      manifest: at((n) => n.includes("manifest.cnls"), "responseEnd"),
      firstSegment: at((n) => new RegExp("/[0-9]{5}[.]cnls").test(n), "responseEnd"),
      firstRequest: at((n) => new RegExp("/[0-9]{5}[.]cnls").test(n), "startTime"),
    };
    // With a worker, it was started (once playback could begin: on loopback the whole clip may
    // have been asked for by then, and opened on the page); without, nothing went to one.
    if (${worker} ? !["starting", "running"].includes(s.worker) : s.workerObjects > 0) throw new Error("objects opened in the wrong place: " + JSON.stringify(s));
    return { ttff, sinceImport: ttff + (t0 - tImport), full, decryptMs: s.decryptMs, objects: s.objects, plainBytes: s.plainBytes, engine: s.engine, breakdown };
  })()`;

  // CINELOCK_BENCH_PLAY_ONLY=webcrypto,cold (say) times only those beside plain MSE.
  const only = process.env.CINELOCK_BENCH_PLAY_ONLY?.split(",");
  const results = Object.fromEntries(["plain", "webcrypto", "wasm", "webcrypto-page", "wasm-page", "cold"]
    .filter((name) => !only || name === "plain" || only.includes(name))
    .flatMap((name) => (SDK_B && name !== "plain" ? [name, `${name}-B`] : [name])).map((name) => [name, []]));
  const taskMs = async (page) => {
    const { metrics } = await page.send("Performance.getMetrics");
    return 1000 * metrics.find((m) => m.name === "TaskDuration").value;
  };
  for (let run = 0; run < (TIMELINE_ONLY ? 0 : RUNS); run++) {
    for (const name of Object.keys(results)) {
      chrome = await launchRaw(["--autoplay-policy=no-user-gesture-required"]);
      try {
        await chrome.page.goto(`${(name.endsWith("-B") ? serverB : server).url}/`);
        if (RETURNING) {
          // The page's last visit played to its first frame the same way, a few seconds ago
          // (the browser keeps compiled WebAssembly with the cached module once it ran a while).
          const base = name.replace(/-B$/, ""), [engine, where] = base.split("-");
          await chrome.page.evaluate(name === "plain"
            ? PLAIN(plainTracks.map((t) => ({ type: t.type, urls: t.keys.map((k) => store.presign(k)) })), true)
            : base === "cold" ? CINELOCK("webcrypto", true, true, true) : CINELOCK(engine, where !== "page", true));
          await new Promise((ok) => setTimeout(ok, RETURNING_MS));
          await chrome.page.goto(`${(name.endsWith("-B") ? serverB : server).url}/`);
        }
        await chrome.page.send("Performance.enable", {});
        if (LATENCY_MS) {
          await chrome.page.evaluate(`import("/sdk/dist/index.js")`);
          await chrome.page.attach({ latency: LATENCY_MS, downloadThroughput: -1, uploadThroughput: -1 });
        }
        const before = await taskMs(chrome.page);
        const base = name.replace(/-B$/, "");
        const [engine, where] = base.split("-");
        const traced = TRACE && run === 0 && ["webcrypto", "plain", "cold"].includes(name);
        const stopTrace = traced ? await chrome.trace(["devtools.timeline", "toplevel", "v8.execute", "blink", "netlog", "media", "audio"]) : null;
        if (traced) {
          await chrome.page.send("Profiler.enable", {});
          await chrome.page.send("Profiler.setSamplingInterval", { interval: 100 });
          await chrome.page.send("Profiler.start", {});
        }
        const r = name === "plain"
          ? await chrome.page.evaluate(PLAIN(plainTracks.map((t) => ({ type: t.type, urls: t.keys.map((k) => store.presign(k)) }))))
          : base === "cold"
            ? await chrome.page.evaluate(CINELOCK("webcrypto", true, false, true))
            : await chrome.page.evaluate(CINELOCK(engine, where !== "page"));
        r.pageTaskMs = (await taskMs(chrome.page)) - before;
        if (stopTrace) {
          const { profile } = await chrome.page.send("Profiler.stop", {});
          const events = await stopTrace();
          // Kept whole for a closer look (it opens in Perfetto or DevTools' Performance panel).
          const file = join(tmpdir(), `cinelock-trace-${name}.json`);
          writeFileSync(file, JSON.stringify({ traceEvents: events }));
          writeFileSync(join(tmpdir(), `cinelock-profile-${name}.cpuprofile`), JSON.stringify(profile));
          console.log(`trace written to ${file}`);
          console.log(`trace of ${name === "plain" ? "plain MSE" : "cinelock (webcrypto, worker)"}, round 1: ${pageTasks(events, r.ttff)}`);
          console.log(profileWindows(profile, events, r.ttff));
        }
        results[name].push(r);
      } finally {
        await chrome.close();
      }
    }
  }

  if (!TIMELINE_ONLY) {
    const base = { ttff: median(results.plain.map((r) => r.ttff)), full: median(results.plain.map((r) => r.full)), task: median(results.plain.map((r) => r.pageTaskMs)) };
    console.log(`playback of a ${SECONDS} s 1280x720 clip from local Garage: rendition ${top.id} (${top.width}x${top.height}) + audio, ${segments} media segments, ${(plainBytes / 1e6).toFixed(1)} MB; headless Chromium, fresh browser per run, median of ${RUNS}`);
    console.log(`${"".padEnd(30)}${"first frame".padStart(22)}${"whole clip buffered".padStart(26)}${"decrypt per segment".padStart(24)}${"decrypt rate".padStart(16)}${"page thread busy".padStart(26)}`);
    for (const [name, rs] of Object.entries(results)) {
      const ttff = median(rs.map((r) => r.ttff)), full = median(rs.map((r) => r.full));
      const variant = name.replace(/-B$/, ""), b = name === variant ? "" : " [B]";
      const label = (variant === "plain" ? "plain MSE (baseline)" : variant === "cold" ? "cinelock, play() before load()" : `cinelock (${variant.replace("-page", ", page thread")}${variant.endsWith("-page") ? "" : ", worker"})`) + b;
      const task = median(rs.map((r) => r.pageTaskMs));
      const perSeg = name === "plain" ? "—" : `${median(rs.map((r) => r.decryptMs / r.objects)).toFixed(2)} ms`;
      const rate = name === "plain" ? "—" : `${median(rs.map((r) => r.plainBytes / 1e6 / (r.decryptMs / 1000))).toFixed(0)} MB/s`;
      console.log(`${label.padEnd(30)}${`${ttff.toFixed(0)} ms (${(ttff / base.ttff).toFixed(2)}x)`.padStart(22)}${`${full.toFixed(0)} ms (${(full / base.full).toFixed(2)}x)`.padStart(26)}${perSeg.padStart(24)}${rate.padStart(16)}${`${task.toFixed(0)} ms (${(task / base.task).toFixed(2)}x)`.padStart(26)}`);
    }
    // The medians hide how much one sitting moves: every round's first frame, sorted.
    for (const [name, rs] of Object.entries(results)) {
      console.log(`first frames, ${name}: ${rs.map((r) => r.ttff).sort((x, y) => x - y).map((x) => x.toFixed(0)).join(" ")} ms`);
    }
    const b = (name, k) => { const xs = (results[name] ?? []).map((r) => r.breakdown[k]).filter(Number.isFinite); return xs.length ? `${median(xs).toFixed(0)} ms` : "none"; };
    // The players whose first fetches the page's resource timing sees: on the page's thread, and
    // (the start's, before its worker is started) the cold one.
    for (const page of ["webcrypto-page", "webcrypto-page-B", "cold", "cold-B"].filter((n) => results[n])) {
      console.log(`to the first frame: plain has its first media segment at ${b("plain", "firstSegment")}; cinelock (${page.startsWith("cold") ? "play() before load()" : "webcrypto, page thread"}${page.endsWith("-B") ? " [B]" : ""}) has the session answer at ${b(page, "session")}, a manifest fetched at ${b(page, "manifest")} (none: it came inline), its first media segment requested at ${b(page, "firstRequest")} and fetched at ${b(page, "firstSegment")}`);
    }
  }

  // CINELOCK_BENCH_PLAY_START_ONLY=1 stops here (the start alone, while working on it).
  if (!START_ONLY) {
    // The first frame on a throttled link: 5 Mbit/s down, 40 ms latency (DevTools network
    // conditions on the page and on the player's worker), plain against the default player.
    const SLOW = { latency: 40, downloadThroughput: 5e6 / 8, uploadThroughput: 5e6 / 8 };
    // "firstVisit": an embed's first visit, the SDK itself fetched over that link: from the
    // page's import of the SDK to the first frame of a play() before load().
    const slow = { plain: [], webcrypto: [], ...(SDK_B ? { "webcrypto-B": [] } : {}), firstVisit: [] };
    for (let run = 0; run < (TIMELINE_ONLY ? 0 : RUNS); run++) {
      for (const name of Object.keys(slow)) {
        chrome = await launchRaw(["--autoplay-policy=no-user-gesture-required"]);
        try {
          // A first visit starts on a page that has not loaded the SDK (the demo's pages all
          // have, unthrottled): the health check's JSON document, on the server's origin.
          await chrome.page.goto(`${(name.endsWith("-B") ? serverB : server).url}/${name === "firstVisit" ? "healthz" : ""}`);
          // Loaded unthrottled, as a page whose SDK is cached: the call is what is timed.
          if (name.startsWith("webcrypto")) await chrome.page.evaluate(`import("/sdk/dist/index.js").then((c) => c.load())`);
          await chrome.page.attach(SLOW);
          slow[name].push(name === "plain"
            ? await chrome.page.evaluate(PLAIN(plainTracks.map((t) => ({ type: t.type, urls: t.keys.map((k) => store.presign(k)) })), true))
            : name === "firstVisit"
              ? await chrome.page.evaluate(CINELOCK("webcrypto", true, true, true)).then((r) => ({ ...r, ttff: r.sinceImport }))
              : await chrome.page.evaluate(CINELOCK("webcrypto", true, true)));
        } finally {
          await chrome.close();
        }
      }
    }
    if (!TIMELINE_ONLY) {
      const slowBase = median(slow.plain.map((r) => r.ttff));
      const slowOurs = median(slow.webcrypto.map((r) => r.ttff));
      console.log(`first frame at 5 Mbit/s, 40 ms (median of ${RUNS}): plain MSE ${slowBase.toFixed(0)} ms, cinelock (webcrypto, worker) ${slowOurs.toFixed(0)} ms (${(slowOurs / slowBase).toFixed(2)}x)`);
      if (SDK_B) {
        const slowB = median(slow["webcrypto-B"].map((r) => r.ttff));
        console.log(`  the same [B]: ${slowB.toFixed(0)} ms (${(slowB / slowBase).toFixed(2)}x)`);
      }
      const slowFirst = median(slow.firstVisit.map((r) => r.ttff));
      console.log(`  an embed's first visit at 5 Mbit/s, 40 ms, the SDK fetched over it (from its import to the first frame of a play() before load()): ${slowFirst.toFixed(0)} ms (${(slowFirst / slowBase).toFixed(2)}x plain MSE, which loads no SDK)`);
    }

    // Picture quality over the first 30 s, the player choosing (auto): the picture's height every
    // 250 ms from the first frame, unthrottled and at 5 Mbit/s / 40 ms.
    const QOE_S = Math.min(30, SECONDS - 2);
    const ladder = manifest.tracks.filter((t) => t.kind === "video").sort((a, b) => a.bandwidth - b.bandwidth);
    // `second`: the page played a video for PRIME_S seconds first and let it go, so this player
    // starts from what that one measured (a page's next video), not from the 1 Mbit/s guess.
    // `box`: the video element sized [width, height] in CSS pixels, and `cap` its player's
    // capToPlayerSize.
    const TIMELINE = (second, box = null, cap = false) => `(async () => {
      const c = await import("/sdk/dist/index.js");
      const options = { endpoint: location.origin, assetId: ${JSON.stringify(assetId)}, token: ${JSON.stringify(token)}, capToPlayerSize: ${cap} };
      if (${second}) {
        const v0 = document.createElement("video");
        v0.muted = true;
        document.body.append(v0);
        const p0 = c.play(v0, options);
        await new Promise((ok) => p0.addEventListener("ready", ok, { once: true }));
        v0.play().catch(() => undefined);
        while (v0.currentTime < ${PRIME_S}) await new Promise((ok) => setTimeout(ok, 100));
        p0.destroy();
        v0.remove();
      }
      const video = document.createElement("video");
      video.muted = true;
      ${box ? `video.style.cssText = "width:${box[0]}px;height:${box[1]}px";` : ""}
      document.body.append(video);
      const tPlay = performance.now();
      const p = c.play(video, options);
      const switches = [];
      p.addEventListener("renditionchange", (e) => switches.push([Math.round(performance.now()), e.detail.to, e.detail.reason]));
      const failed = new Promise((_, fail) => p.addEventListener("error", (e) => fail(new Error(e.detail.error.message))));
      // Played once ready, as a page does (a play() before the media source opens is lost).
      await Promise.race([failed, new Promise((ok) => p.addEventListener("ready", ok, { once: true }))]);
      video.play().catch(() => undefined);
      await Promise.race([failed, new Promise((ok) => video.requestVideoFrameCallback(ok))]);
      const t0 = performance.now(), out = [], firstFrameMs = t0 - tPlay;
      while (performance.now() - t0 < ${QOE_S * 1000}) {
        // Also the estimate (kbit/s) and the seconds buffered ahead, for CINELOCK_BENCH_DEBUG.
        const b = video.buffered;
        out.push([performance.now() - t0, video.videoHeight, video.currentTime, Math.round(p.stats().bandwidthEstimate / 1e3), b.length ? b.end(b.length - 1) - video.currentTime : 0]);
        await new Promise((ok) => setTimeout(ok, 250));
      }
      const s = p.stats();
      p.destroy();
      return { samples: out, stats: s, switches, firstFrameMs };
    })()`;
    const lines = [["loopback", null, false], ["5 Mbit/s, 40 ms", SLOW, false], ["5 Mbit/s, 40 ms, the page's second video", SLOW, true]];
    for (const [label, conditions, second] of Array.from({ length: TIMELINE_RUNS }, () => lines).flat()) {
      chrome = await launchRaw(["--autoplay-policy=no-user-gesture-required"]);
      try {
        await chrome.page.goto(`${server.url}/`);
        await chrome.page.evaluate(`import("/sdk/dist/index.js").then((c) => c.load())`);
        if (conditions) await chrome.page.attach(conditions);
        const { samples, stats, switches, firstFrameMs } = await chrome.page.evaluate(TIMELINE(second));
        if (process.env.CINELOCK_BENCH_DEBUG) console.log(JSON.stringify({ stats, switches, samples: samples.filter((_, i) => i % 8 === 0) }));
        // The highest rendition the link sustains: the top one on loopback; within 80 % of the
        // link (the player's own safety factor) when throttled.
        const sustained = conditions ? ladder.filter((t) => t.bandwidth <= 0.8 * 5e6).at(-1) ?? ladder[0] : ladder.at(-1);
        const seconds = new Map();
        for (const [, h] of samples) seconds.set(h, (seconds.get(h) ?? 0) + 0.25);
        const reached = samples.find(([, h]) => h >= sustained.height);
        const segment = sustained.segments[0].duration;
        const line = [...seconds].sort((a, b) => a[0] - b[0]).map(([h, s]) => `${h}p ${s.toFixed(1)} s`).join(", ");
        console.log(`rendition time-line, first ${QOE_S} s, ${label}: ${line}; ${sustained.height}p (the highest the link sustains) from ${reached ? `${(reached[0] / 1000).toFixed(2)} s after the first frame (${(reached[0] / 1000 / segment).toFixed(1)} segment durations)` : "never"}; first frame ${Math.round(firstFrameMs)} ms after play()`);
      } finally {
        await chrome.close();
      }
    }

    // capToPlayerSize: a 640×360 player on loopback, without the option (the baseline) and with
    // it: what it fetched in the first QOE_S seconds after the first frame, and what it showed.
    const fetched = {};
    for (const cap of [false, true]) {
      chrome = await launchRaw(["--autoplay-policy=no-user-gesture-required"]);
      try {
        await chrome.page.goto(`${server.url}/`);
        await chrome.page.evaluate(`import("/sdk/dist/index.js").then((c) => c.load())`);
        const { samples, stats } = await chrome.page.evaluate(TIMELINE(false, [640, 360], cap));
        fetched[cap] = stats.sealedBytes;
        const seconds = new Map();
        for (const [, h] of samples) seconds.set(h, (seconds.get(h) ?? 0) + 0.25);
        const line = [...seconds].sort((a, b) => a[0] - b[0]).map(([h, s]) => `${h}p ${s.toFixed(1)} s`).join(", ");
        const ratio = cap ? ` (${(fetched[true] / fetched[false]).toFixed(2)} of the same player without it)` : " (baseline)";
        console.log(`a 640×360 player on loopback, capToPlayerSize ${cap}, first ${QOE_S} s: fetched ${(stats.sealedBytes / 1e6).toFixed(1)} MB${ratio}; ${line}`);
      } finally {
        await chrome.close();
      }
    }

    if (!TIMELINE_ONLY) {
      // A seek to a part of the clip not buffered: from setting currentTime to the first frame
      // shown there, on loopback and at 5 Mbit/s / 40 ms. Plain MSE, given its URLs, has its init
      // and first segments appended and then fetches the segment of each track under the target
      // (and nothing else); the player, pinned to the same rendition, keeps 4 s ahead (so the
      // target is not buffered) and does what it does on a seek.
      const video0 = tracks[0].segments;
      const seekTo = video0[Math.floor(video0.length * 0.6)].start + 0.5;
      const segmentUnder = (t) => t.segments.findIndex((g) => g.start <= seekTo && seekTo < g.start + g.duration);
      const SEEK_WAIT = `
        let shownHeight;
        const played = () => new Promise((ok) => { const f = (_, m) => (m.mediaTime >= ${seekTo} - 0.1 ? (shownHeight = m.height, ok(performance.now())) : video.requestVideoFrameCallback(f)); video.requestVideoFrameCallback(f); });`;
      const PLAIN_SEEK = (tracksWithUrls) => `(async () => {
        const tracks = ${JSON.stringify(tracksWithUrls)};
        ${WARM_AUDIO}
        const video = document.createElement("video");
        video.muted = true;
        document.body.append(video);
        const ms = new MediaSource();
        video.src = URL.createObjectURL(ms);
        await new Promise((ok) => ms.addEventListener("sourceopen", ok, { once: true }));
        ms.duration = ${manifest.duration};
        const buffers = tracks.map((t) => ms.addSourceBuffer(t.type));
        ${MSE_HELPERS}
        const first = new Promise((ok) => video.requestVideoFrameCallback(ok));
        video.play().catch(() => undefined);
        await Promise.all(tracks.map(async (t, i) => { for (const u of [t.init, t.first]) await append(buffers[i], await get(u)); }));
        await first;
        await new Promise((ok) => setTimeout(ok, 500));
        ${SEEK_WAIT}
        const t0 = performance.now();
        video.currentTime = ${seekTo};
        const shown = played();
        await Promise.all(tracks.map(async (t, i) => append(buffers[i], await get(t.under))));
        return { seekMs: (await shown) - t0 };
      })()`;
      // Pinned (as the baseline) or choosing, from the same start at the top rendition: a player
      // choosing may take the segment under the target at a lower one (`seekBudget`), so it also
      // says the height of the picture it first showed there.
      const PLAYER_SEEK = (pinned) => `(async () => {
        const c = await import("/sdk/dist/index.js");
        ${WARM_AUDIO}
        const video = document.createElement("video");
        video.muted = true;
        document.body.append(video);
        const first = new Promise((ok) => video.requestVideoFrameCallback(ok));
        const p = c.play(video, { endpoint: location.origin, assetId: ${JSON.stringify(assetId)}, token: ${JSON.stringify(token)}, startRendition: ${JSON.stringify(top.id)}, bufferGoal: 4 });
        ${pinned ? `p.setRendition(${JSON.stringify(top.id)});` : ""}
        video.play().catch(() => undefined);
        const failed = new Promise((_, fail) => p.addEventListener("error", (e) => fail(new Error(e.detail.error.message))));
        await Promise.race([failed, first]);
        await new Promise((ok) => setTimeout(ok, 500));
        const b = video.buffered;
        if (b.length && b.end(b.length - 1) > ${seekTo}) throw new Error("the target is buffered already");
        ${SEEK_WAIT}
        const before = { rendition: p.currentRendition, estimate: p.stats().bandwidthEstimate };
        const t0 = performance.now();
        video.currentTime = ${seekTo};
        const ms = (await Promise.race([failed, played()])) - t0;
        p.destroy();
        return { seekMs: ms, height: shownHeight, before };
      })()`;
      const plainSeekTracks = () => tracks.map((t, i) => ({ type: plainTracks[i].type, init: store.presign(plainTracks[i].keys[0]), first: store.presign(plainTracks[i].keys[1]), under: store.presign(plainTracks[i].keys[1 + segmentUnder(t)]) }));
      for (const [label, conditions] of [["loopback", null], ["5 Mbit/s, 40 ms", SLOW]]) {
        // Choosing matters only where the top rendition's segment takes longer than the budget.
        const choosing = conditions ? { choosing: [], ...(SDK_B ? { "choosing-B": [] } : {}) } : {};
        const seeks = { plain: [], webcrypto: [], ...(SDK_B ? { "webcrypto-B": [] } : {}), ...choosing };
        for (let run = 0; run < RUNS; run++) {
          for (const name of Object.keys(seeks)) {
            chrome = await launchRaw(["--autoplay-policy=no-user-gesture-required"]);
            try {
              await chrome.page.goto(`${(name.endsWith("-B") ? serverB : server).url}/`);
              if (name !== "plain") await chrome.page.evaluate(`import("/sdk/dist/index.js").then((c) => c.load())`);
              if (conditions) await chrome.page.attach(conditions);
              seeks[name].push(await chrome.page.evaluate(name === "plain" ? PLAIN_SEEK(plainSeekTracks()) : PLAYER_SEEK(!name.startsWith("choosing"))));
            } finally {
              await chrome.close();
            }
          }
        }
        const base = median(seeks.plain.map((r) => r.seekMs));
        const line = Object.keys(seeks).filter((n) => n !== "plain").map((n) => {
          const m = median(seeks[n].map((r) => r.seekMs));
          const how = n.startsWith("choosing") ? `, choosing (shown first at ${[...new Set(seeks[n].map((r) => `${r.height}p`))].join("/")})` : "";
          return `cinelock${how}${n.endsWith("-B") ? " [B]" : ""} ${m.toFixed(0)} ms (${(m / base).toFixed(2)}x)`;
        }).join(", ");
        console.log(`a seek to ${seekTo} s, not buffered, to its first frame, ${label} (median of ${RUNS}): plain MSE ${base.toFixed(0)} ms, ${line}`);
        if (process.env.CINELOCK_BENCH_DEBUG) console.log(JSON.stringify(seeks));
      }

      // The first frame of a player started while the page uploads three files, on a link with a
      // slow uplink (20 Mbit/s up, 200 down, 20 ms; DevTools network conditions on the page and
      // each worker), against the same player on the same link with no upload. Each upload alone
      // would have four PUTs out; the three together had six, all the browser runs to the store,
      // before a player on the page made them leave it two.
      const UPLINK = { latency: 20, downloadThroughput: 200e6 / 8, uploadThroughput: 20e6 / 8 };
      const UP_MIB = 48;
      const WHILE_UPLOADING = (created) => `(async () => {
        const c = await import("/sdk/dist/index.js");
        const created = ${JSON.stringify(created)};
        const handles = await Promise.all(created.map((upload, i) => c.upload(new File([new Uint8Array(${UP_MIB} << 20).fill(i + 1)], "f" + i + ".bin"), { endpoint: location.origin, upload })));
        // The uploads' PUTs all out (on this uplink each takes seconds).
        if (handles.length) await new Promise((ok) => setTimeout(ok, 3000));
        const video = document.createElement("video");
        video.muted = true;
        document.body.append(video);
        const t0 = performance.now();
        const first = new Promise((ok) => video.requestVideoFrameCallback(() => ok(performance.now() - t0)));
        const p = c.play(video, { endpoint: location.origin, assetId: ${JSON.stringify(assetId)}, token: ${JSON.stringify(token)} });
        video.play().catch(() => undefined);
        const failed = new Promise((_, fail) => p.addEventListener("error", (e) => fail(new Error(e.detail.error.message))));
        const ttff = await Promise.race([failed, first]);
        p.destroy();
        for (const h of handles) h.abort();
        return { ttff };
      })()`;
      const uploading = Object.fromEntries(["alone", "uploading", ...(SDK_B ? ["uploading-B"] : [])].map((n) => [n, []]));
      for (let run = 0; run < RUNS; run++) {
        for (const name of Object.keys(uploading)) {
          const at = name.endsWith("-B") ? serverB : server;
          chrome = await launchRaw(["--autoplay-policy=no-user-gesture-required"]);
          try {
            await chrome.page.goto(`${at.url}/`);
            await chrome.page.evaluate(`import("/sdk/dist/index.js").then((c) => c.load())`);
            await chrome.page.attach(UPLINK);
            const created = [];
            for (let i = 0; name !== "alone" && i < 3; i++) created.push(await env.api(at, "POST", "/v1/uploads", { size: UP_MIB << 20, filename: `f${i}.bin` }));
            uploading[name].push(await chrome.page.evaluate(WHILE_UPLOADING(created)));
          } finally {
            await chrome.close();
          }
        }
      }
      const alone = median(uploading.alone.map((r) => r.ttff));
      for (const name of Object.keys(uploading).filter((n) => n !== "alone")) {
        const ttff = median(uploading[name].map((r) => r.ttff));
        console.log(`first frame while the page uploads three files (${UP_MIB} MiB each; 20 Mbit/s up, 200 down, 20 ms; median of ${RUNS})${name.endsWith("-B") ? " [B]" : ""}: ${ttff.toFixed(0)} ms against ${alone.toFixed(0)} ms with no upload (${(ttff / alone).toFixed(2)}x); every round: ${uploading[name].map((r) => r.ttff.toFixed(0)).join(" ")} ms`);
      }
    }
  }
} finally {
  await serverB?.stop();
  await server.stop();
  await garage.stop();
  rmSync(tmp, { recursive: true, force: true });
}
