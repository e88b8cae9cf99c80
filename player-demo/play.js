// The demo playback page: `/play.html?asset=…&token=…` plays an asset in <cinelock-player>
// and lists what the player reports (renditions, stalls, errors).
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const player = $("player");
let stalls = 0;

function log(kind, text, cls = "") {
  const li = document.createElement("li");
  li.dataset.event = kind;
  if (cls) li.className = cls;
  li.textContent = `${(performance.now() / 1000).toFixed(1)} s  ${kind}${text ? `: ${text}` : ""}`;
  $("log").append(li);
}

player.addEventListener("ready", () => {
  log("ready", "media buffered under the playhead");
  const select = $("rendition");
  select.replaceChildren(new Option("auto", "auto"), ...player.player.renditions().map((r) => new Option(`${r.id} (${r.width}×${r.height}, ${Math.round(r.bandwidth / 1000)} kbit/s)`, r.id)));
  select.disabled = false;
  const s = player.player.stats();
  $("status").textContent = `Playing the ${s.packageKind} package; segments opened with ${s.engine === "webcrypto" ? "WebCrypto" : "WebAssembly"}.`;
});
player.addEventListener("playing", (e) => log("playing", `at ${e.detail.currentTime.toFixed(2)} s`));
player.addEventListener("renditionchange", (e) => {
  const d = e.detail;
  log("renditionchange", `${d.from ?? "—"} → ${d.to}${d.height ? ` (${d.width}×${d.height})` : ""}, ${d.reason}`);
});
player.addEventListener("stall", (e) => { stalls++; log("stall", `at ${e.detail.at.toFixed(2)} s`, "warn-text"); });
player.addEventListener("stallend", (e) => log("stallend", `after ${e.detail.stalledMs} ms`));
player.addEventListener("retrying", (e) => log("retrying", `${e.detail.track} ${e.detail.kind} ${e.detail.index}, attempt ${e.detail.attempt} (${e.detail.reason})`));
player.addEventListener("error", (e) => {
  const err = e.detail.error;
  log("error", `${err.code}${err.reason ? ` (${err.reason})` : ""}: ${err.message}`, "bad");
  $("status").textContent = `Stopped: ${err.code}${err.reason ? ` (${err.reason})` : ""}: ${err.message}`;
  $("status").className = "bad";
});
$("rendition").addEventListener("change", (e) => player.player?.setRendition(e.target.value));

setInterval(() => {
  const p = player.player;
  const q = player.video.getVideoPlaybackQuality?.();
  if (!p) return;
  const h = player.video.videoHeight;
  const shown = p.renditions().find((r) => r.height === h)?.id ?? "—";
  $("now").textContent = `${player.video.currentTime.toFixed(1)} s · showing ${shown} (${player.video.videoWidth}×${h}) · fetching ${p.currentRendition ?? "—"}${p.auto ? " (auto)" : ""} · ${q?.totalVideoFrames ?? 0} frames · ${stalls} stalls · estimate ${(p.stats().bandwidthEstimate / 1e6).toFixed(1)} Mbit/s`;
}, 500);

/** `value` if it names this page's own origin (the only server this page talks to), else null. */
function sameOrigin(value) {
  if (!value) return null;
  try {
    return new URL(value).origin === location.origin ? location.origin : null;
  } catch {
    return null;
  }
}

function start(asset, token) {
  $("asset").value = asset;
  $("token").value = token ?? "";
  $("log").replaceChildren();
  $("status").textContent = "Asking the server for a session…";
  $("status").className = "";
  // Only this page's own server: a link must not point the page (and what a viewer types into
  // it, a password say) at a server of someone else's choosing.
  const endpoint = sameOrigin(params.get("endpoint"));
  if (params.get("endpoint") && !endpoint) log("error", `ignored endpoint ${params.get("endpoint")}: not this page's origin`, "bad");
  if (endpoint) player.setAttribute("endpoint", endpoint);
  if (token) player.setAttribute("token", token);
  else player.removeAttribute("token");
  player.setAttribute("asset", asset);
  const origin = endpoint ?? location.origin;
  $("snippet").textContent = `<script type="module" src="${origin}/sdk/dist/embed.js"></script><cinelock-player asset="${asset}" endpoint="${origin}"${token ? ` token="${token}"` : ""} controls></cinelock-player>`;
}

$("choose").addEventListener("submit", (e) => {
  e.preventDefault();
  const u = new URL(location.href);
  u.searchParams.set("asset", $("asset").value.trim());
  if ($("token").value.trim()) u.searchParams.set("token", $("token").value.trim());
  else u.searchParams.delete("token");
  history.replaceState(null, "", u);
  start($("asset").value.trim(), $("token").value.trim() || null);
});

if (params.get("asset")) start(params.get("asset"), params.get("token"));
