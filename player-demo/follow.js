// Shared by the demo's upload and record pages: follows an asset's transcode jobs, then plays
// it with <cinelock-player> and a viewer token minted with the API key (what a customer
// backend does). The page has the elements with the ids used here.
const $ = (id) => document.getElementById(id);
const endpoint = location.origin;

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** The asset's transcode state: with the upload's own token, or (after a resume) the API key. */
async function assetState(assetId, { uploadId, uploadToken, apiKey }) {
  const res = uploadToken
    ? await fetch(`${endpoint}/v1/uploads/${uploadId}`, { headers: { authorization: `Bearer ${uploadToken}` } })
    : await fetch(`${endpoint}/v1/assets/${assetId}`, { headers: { authorization: `Bearer ${apiKey()}` } });
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
export async function followTranscode(assetId, auth) {
  $("transcode").hidden = false;
  $("t-status").textContent = "queued";
  for (;;) {
    let asset;
    try {
      asset = await assetState(assetId, auth);
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
    headers: { authorization: `Bearer ${auth.apiKey()}`, "content-type": "application/json" },
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

