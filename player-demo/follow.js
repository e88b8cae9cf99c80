// Shared by the demo's upload (landing) and record pages: follows an asset's transcode jobs,
// plays the preview with <cinelock-player> as soon as the workers publish it, and moves to the
// full package at the same position once that is ready. The viewer token is minted with the
// API key (what a customer backend does). The page has the elements with the ids used here.
const $ = (id) => document.getElementById(id);
const endpoint = location.origin;

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** "code: message" of an API error body, or of a thrown error: users see both. */
const readable = (e) => `${e.code ?? e.name}: ${e.message}`;

/** The asset's transcode state: with the upload's own token, or (after a resume) the API key. */
async function assetState(assetId, { uploadId, uploadToken, apiKey }) {
  const res = uploadToken
    ? await fetch(`${endpoint}/v1/uploads/${uploadId}`, { headers: { authorization: `Bearer ${uploadToken}` } })
    : await fetch(`${endpoint}/v1/assets/${assetId}`, { headers: { authorization: `Bearer ${apiKey()}` } });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error?.message ?? res.statusText), { code: body.error?.code });
  return uploadToken ? body.asset : body;
}

/** A viewer token for this browser, minted with the API key (a customer backend does this). */
async function mintToken(assetId, apiKey) {
  const res = await fetch(`${endpoint}/v1/assets/${assetId}/viewer-tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey()}`, "content-type": "application/json" },
    body: JSON.stringify({ ttl: 3600 }),
  });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error?.message ?? res.statusText), { code: body.error?.code });
  return body.token;
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

const PACKAGE_NAMES = { preview: "the preview (its first seconds, lowest rendition)", full: "the full video" };

/** Creates the player for `pkg` ("preview" or "full") and the page's play link. */
function startPlayer(assetId, token, pkg) {
  const player = document.createElement("cinelock-player");
  for (const a of ["controls", "autoplay", "muted"]) player.setAttribute(a, "");
  player.setAttribute("endpoint", endpoint);
  player.setAttribute("token", token);
  player.setAttribute("package", pkg);
  player.setAttribute("asset", assetId);
  player.id = "player";
  player.addEventListener("ready", () => {
    const kind = player.player?.stats().packageKind ?? player.getAttribute("package");
    if ($("p-package")) $("p-package").textContent = PACKAGE_NAMES[kind] ?? kind;
    $("p-status").textContent = "Playing: segments are opened in this browser.";
    $("p-status").className = "";
  });
  // What is on screen, not what is being fetched: the two differ while a switch's segments
  // wait behind the ones already buffered.
  player.video.addEventListener("resize", () => {
    const { videoWidth: w, videoHeight: h } = player.video;
    const shown = player.player?.renditions().find((r) => r.height === h);
    $("p-rendition").textContent = `${shown?.id ?? "—"} (${w}×${h})`;
  });
  player.addEventListener("error", (e) => {
    const err = e.detail.error;
    $("p-status").textContent = `Playback stopped: ${err.code}${err.reason ? ` (${err.reason})` : ""}: ${err.message}`;
    $("p-status").className = "bad";
  });
  // The preview is short: say why the picture stops, rather than leave the viewer guessing.
  player.video.addEventListener("ended", () => {
    if (player.getAttribute("package") === "preview") $("p-status").textContent = "The preview has ended; the full video goes on from here once it is ready.";
  });
  $("player-slot").replaceChildren(player);
  $("playback").hidden = false;
  const link = new URL("/play.html", location.href);
  link.searchParams.set("asset", assetId);
  link.searchParams.set("token", token);
  $("play-link").href = link.href;
  return player;
}

/**
 * Moves a player from the preview to the full package where the viewer is: a new session
 * starts at 0, so the position is taken now and sought once the full package is ready. A
 * viewer who paused the preview stays paused; one whose preview ran out goes on playing.
 */
function moveToFull(player) {
  const video = player.video;
  const at = video.currentTime;
  const pausedByViewer = video.paused && !video.ended && at > 0;
  if (pausedByViewer) player.removeAttribute("autoplay");
  player.addEventListener("ready", () => { if (at > 0) video.currentTime = at; }, { once: true });
  if ($("p-package")) $("p-package").textContent = "moving to the full video…";
  player.setAttribute("package", "full");
}

/**
 * Follows the transcode jobs: plays the preview once it is published, and the full package
 * once the asset is ready.
 */
export async function followTranscode(assetId, auth) {
  $("transcode").hidden = false;
  $("t-status").textContent = "queued";
  $("t-status").className = "";
  let player = null;
  for (;;) {
    let asset;
    try {
      asset = await assetState(assetId, auth);
    } catch (e) {
      $("t-status").textContent = `cannot follow the transcode: ${readable(e)}`;
      $("t-status").className = "bad";
      return;
    }
    showJobs(asset);
    const ready = asset.status === "ready";
    if (ready || asset.preview_ready) {
      if (!player) {
        let token;
        try {
          token = await mintToken(assetId, auth.apiKey);
        } catch (e) {
          $("t-status").textContent = `${asset.status}, but no viewer token: ${readable(e)}`;
          $("t-status").className = "bad";
          return;
        }
        player = startPlayer(assetId, token, ready ? "full" : "preview");
      } else if (ready && player.getAttribute("package") === "preview") {
        moveToFull(player);
      }
    }
    if (ready) return;
    if (asset.status === "failed" || asset.status === "cancelled") {
      const failed = (asset.jobs ?? []).find((j) => j.error);
      $("t-status").textContent = `${asset.status}${failed ? `: ${failed.error.code}: ${failed.error.message}` : ""}`;
      $("t-status").className = "bad";
      return;
    }
    await sleep(1000);
  }
}
