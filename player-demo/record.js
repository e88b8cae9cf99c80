// The demo record page: <cinelock-recorder> as an app would use it, its uploads created with the
// API key (a customer backend's job), then the transcode followed and the recording played.
import * as cinelock from "/sdk/dist/index.js";
import "/sdk/dist/embed.js";
import { followTranscode } from "/follow.js";

const $ = (id) => document.getElementById(id);
const endpoint = location.origin;
const apiKey = () => $("apikey").value.trim();
const recorder = $("recorder");

recorder.setAttribute("endpoint", endpoint);
// What a customer backend does: a growing upload (no size), linked for screen + camera.
recorder.createUpload = async ({ kind, linkedTo }) => {
  const res = await fetch(`${endpoint}/v1/uploads`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey()}`, "content-type": "application/json" },
    body: JSON.stringify({ filename: `${kind}.webm`, content_type: "video/webm", ...(linkedTo ? { linked_to: linkedTo } : {}) }),
  });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error?.message ?? res.statusText), { code: body.error?.code });
  return body;
};

const sync = () => {
  recorder.setAttribute("source", $("source").value);
  recorder.setAttribute("countdown", $("countdown").value || "0");
};
$("source").addEventListener("change", sync);
$("countdown").addEventListener("input", sync);
sync();

recorder.addEventListener("statechange", (e) => {
  const busy = !["idle", "uploaded", "failed", "cancelled"].includes(e.detail.state);
  for (const id of ["source", "countdown", "apikey"]) $(id).disabled = busy;
});
recorder.addEventListener("error", (e) => {
  $("status").textContent = `Stopped: ${e.detail.code}: ${e.detail.message}`;
  $("status").className = "bad";
});
recorder.addEventListener("uploaded", async (e) => {
  $("status").textContent = `Stored ${e.detail.kind}: the bucket holds only ciphertext.`;
  $("status").className = "";
  $("r-assets").textContent = [$("r-assets").textContent, `${e.detail.kind}: ${e.detail.assetId}`].filter(Boolean).join(" · ");
  $("result").hidden = false;
  // The camera of screen + camera plays from its own asset; the demo follows the first.
  if (e.detail.kind === "screen" || $("source").value === "camera") {
    followTranscode(e.detail.assetId, { apiKey });
  }
});

async function listPending() {
  const pending = await cinelock.pendingRecordings();
  $("pending").hidden = pending.length === 0;
  $("pending-list").replaceChildren(...pending.map((p) => {
    const li = document.createElement("li");
    li.textContent = `${p.kind} recording started ${new Date(p.startedAt).toLocaleString()} `;
    const finish = document.createElement("button");
    finish.type = "button";
    finish.textContent = "Finish";
    finish.addEventListener("click", async () => {
      finish.disabled = true;
      try {
        const r = await cinelock.finishRecording(p.uploadId);
        $("status").textContent = `Finished ${r.kind} recording${r.cutShort ? " (cut short)" : ""}.`;
        followTranscode(r.assetId, { apiKey });
      } catch (err) {
        $("status").textContent = `Could not finish: ${err.code ?? err.name}: ${err.message}`;
        $("status").className = "bad";
      }
      listPending();
    });
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary";
    discard.textContent = "Discard";
    discard.addEventListener("click", async () => { await cinelock.discardRecording(p.uploadId); listPending(); });
    li.append(finish, " ", discard);
    return li;
  }));
}
listPending();
