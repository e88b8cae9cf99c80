// The demo upload page: drives the npm package's upload API as an app would, then follows the
// transcode and plays the result with <cinelock-player>.
import * as cinelock from "/sdk/dist/index.js";
import "/sdk/dist/embed.js";

const $ = (id) => document.getElementById(id);
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
const endpoint = location.origin;
let handle;

function show(progress) {
  $("bar").value = progress.totalBytes ? progress.ackedBytes / progress.totalBytes : 0;
  const eta = progress.etaMs == null ? "…" : `${Math.ceil(progress.etaMs / 1000)} s`;
  $("numbers").textContent = `${mib(progress.ackedBytes)} of ${mib(progress.totalBytes)} stored · sealed ${mib(progress.sealedBytes)} · ${(progress.rate / 1e6).toFixed(1)} MB/s · ETA ${eta}`;
}

async function createUpload(file, apiKey) {
  // What a customer backend does with its API key (see the note on the page).
  const res = await fetch(`${endpoint}/v1/uploads`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ size: file.size, filename: file.name, content_type: file.type || null }),
  });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error?.message ?? res.statusText), { code: body.error?.code });
  return body;
}

async function run(file, opts) {
  $("go").disabled = true;
  $("controls").hidden = false;
  $("pause").hidden = false;
  $("resume").hidden = true;
  $("abort").hidden = false;
  $("result").hidden = true;
  $("status").className = "";
  $("status").textContent = "Sealing and uploading…";
  try {
    handle = await cinelock.upload(file, {
      endpoint,
      ...opts,
      onProgress: show,
      onEvent: (e) => {
        if (e.type === "retrying") $("status").textContent = `Retrying (${e.reason}) in ${Math.round(e.delayMs)} ms…`;
        if (e.type === "paused") $("status").textContent = "Paused.";
        if (e.type === "resumed") $("status").textContent = "Sealing and uploading…";
      },
    });
    $("r-upload").textContent = handle.uploadId;
    const { assetId } = await handle.done;
    $("bar").value = 1;
    $("r-asset").textContent = assetId;
    $("result").hidden = false;
    $("status").textContent = "Uploaded. The bucket holds only ciphertext.";
    followTranscode(assetId, handle.uploadId, opts.upload?.token);
  } catch (e) {
    $("status").textContent = `Stopped: ${e.code ?? e.name}: ${e.message}`;
    $("status").className = "bad";
  } finally {
    // The upload is over either way: nothing left to pause or abort.
    $("go").disabled = false;
    $("pause").hidden = true;
    $("resume").hidden = true;
    $("abort").hidden = true;
    listPending();
  }
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** The asset's transcode state: with the upload's own token, or (after a resume) the API key. */
async function assetState(assetId, uploadId, uploadToken) {
  const res = uploadToken
    ? await fetch(`${endpoint}/v1/uploads/${uploadId}`, { headers: { authorization: `Bearer ${uploadToken}` } })
    : await fetch(`${endpoint}/v1/assets/${assetId}`, { headers: { authorization: `Bearer ${$("apikey").value.trim()}` } });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error?.message ?? res.statusText), { code: body.error?.code });
  return uploadToken ? body.asset : body;
}

function showJobs(asset) {
  $("t-status").textContent = asset.status;
  $("jobs").replaceChildren(...(asset.jobs ?? []).flatMap((job) => {
    const name = document.createElement("span");
    name.textContent = `${job.kind} (${job.status}${job.attempts > 1 ? `, attempt ${job.attempts}` : ""})`;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = job.progress ?? 0;
    bar.dataset.kind = job.kind;
    const pct = document.createElement("span");
    pct.className = "numbers";
    pct.textContent = `${job.progress ?? 0}%`;
    return [name, bar, pct];
  }));
}

/** Follows the transcode jobs until the full package is published, then plays the asset. */
async function followTranscode(assetId, uploadId, uploadToken) {
  $("transcode").hidden = false;
  $("t-status").textContent = "queued";
  for (;;) {
    let asset;
    try {
      asset = await assetState(assetId, uploadId, uploadToken);
    } catch (e) {
      $("t-status").textContent = `cannot follow the transcode: ${e.code ?? e.name}: ${e.message}`;
      return;
    }
    showJobs(asset);
    if (asset.status === "ready") break;
    if (asset.status === "failed" || asset.status === "cancelled") {
      const failed = (asset.jobs ?? []).find((j) => j.error);
      $("t-status").textContent = `${asset.status}${failed ? `: ${failed.error.code ?? failed.error_code}` : ""}`;
      $("t-status").className = "bad";
      return;
    }
    await sleep(1000);
  }
  // A viewer token for this browser, minted with the API key (a customer backend does this).
  const res = await fetch(`${endpoint}/v1/assets/${assetId}/viewer-tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${$("apikey").value.trim()}`, "content-type": "application/json" },
    body: JSON.stringify({ ttl: 3600 }),
  });
  const minted = await res.json();
  if (!res.ok) {
    $("t-status").textContent = `ready, but no viewer token: ${minted.error?.code}: ${minted.error?.message}`;
    return;
  }
  const player = document.createElement("cinelock-player");
  for (const a of ["controls", "autoplay", "muted"]) player.setAttribute(a, "");
  player.setAttribute("endpoint", endpoint);
  player.setAttribute("token", minted.token);
  player.setAttribute("asset", assetId);
  player.id = "player";
  player.addEventListener("ready", () => { $("p-status").textContent = "Playing: segments are opened in this browser."; });
  player.addEventListener("renditionchange", (e) => { $("p-rendition").textContent = `${e.detail.to} (${e.detail.width}×${e.detail.height})`; });
  player.addEventListener("error", (e) => {
    $("p-status").textContent = `Playback stopped: ${e.detail.error.code}${e.detail.error.reason ? ` (${e.detail.error.reason})` : ""}`;
    $("p-status").className = "bad";
  });
  $("player-slot").replaceChildren(player);
  $("playback").hidden = false;
  const link = new URL("/play.html", location.href);
  link.searchParams.set("asset", assetId);
  link.searchParams.set("token", minted.token);
  $("play-link").href = link.href;
}

async function listPending() {
  const pending = await cinelock.pendingUploads();
  $("pending").hidden = pending.length === 0;
  $("pending-list").replaceChildren(...pending.map((p) => {
    const li = document.createElement("li");
    li.textContent = `${p.fileName} (${mib(p.fileSize)}), upload ${p.uploadId}`;
    return li;
  }));
  return pending;
}

$("start").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  // The same file as an unfinished upload continues it; anything else starts a new one.
  const match = (await listPending()).find((p) => p.fileName === file.name && p.fileSize === file.size && p.lastModified === file.lastModified);
  if (match) return run(file, { resume: match.uploadId });
  try {
    const created = await createUpload(file, $("apikey").value.trim());
    $("r-key").textContent = created.recipient.key_id;
    await run(file, { upload: created });
  } catch (e) {
    $("status").textContent = `Could not start: ${e.code ?? e.name}: ${e.message}`;
    $("status").className = "bad";
  }
});
$("pause").addEventListener("click", () => { handle?.pause(); $("pause").hidden = true; $("resume").hidden = false; });
$("resume").addEventListener("click", () => { handle?.resume(); $("pause").hidden = false; $("resume").hidden = true; });
$("abort").addEventListener("click", () => handle?.abort());
listPending();
