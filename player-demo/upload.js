// The landing page (/): drives the npm package's upload API as an app would, then follows the
// transcode (follow.js), playing the preview as soon as it exists and then the full video.
import * as cinelock from "/sdk/dist/index.js";
import "/sdk/dist/embed.js";
import { followTranscode } from "/follow.js";

const $ = (id) => document.getElementById(id);
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
const endpoint = location.origin;
let handle;

function show(progress) {
  // Bytes sent, not only parts stored: the bar moves while a part goes.
  $("bar").value = progress.totalBytes ? progress.sentBytes / progress.totalBytes : 0;
  const eta = progress.etaMs == null ? "…" : `${Math.ceil(progress.etaMs / 1000)} s`;
  $("numbers").textContent = `${mib(progress.sentBytes)} of ${mib(progress.totalBytes)} sent · ${mib(progress.ackedBytes)} stored · sealed ${mib(progress.sealedBytes)} · ${(progress.rate / 1e6).toFixed(1)} MB/s · ETA ${eta}`;
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
    followTranscode(assetId, { uploadId: handle.uploadId, uploadToken: opts.upload?.token, apiKey: () => $("apikey").value.trim() });
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
// The user is about to pick a file: get the upload worker ready meanwhile (it sends nothing).
$("file").addEventListener("click", () => { cinelock.prepareUploads(); }, { once: true });
$("pause").addEventListener("click", () => { handle?.pause(); $("pause").hidden = true; $("resume").hidden = false; });
$("resume").addEventListener("click", () => { handle?.resume(); $("pause").hidden = false; $("resume").hidden = true; });
$("abort").addEventListener("click", () => handle?.abort());
listPending();
