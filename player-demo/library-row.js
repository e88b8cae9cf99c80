// One row of the library: an asset's poster, name, status, duration and creation time, with its
// actions (rename, policy, play, delete). Its details and poster load lazily (posters.js): the
// listing has neither the duration nor whether a preview is published, so a visible row asks
// GET /v1/assets/{id}, and a playable one opens its poster with the SDK's poster().
import * as cinelock from "/sdk/dist/index.js";
import { api, ownerToken, readable } from "/api.js";
import { policyEditor } from "/library-policy.js";
import * as posters from "/posters.js";

/** Statuses whose asset may still change on its own: re-read while the row is shown. */
const MOVING = new Set(["uploaded", "processing"]);
const RECHECK_MS = 5000;
const when = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

const bytes = (n) => (n < 1048576 ? `${Math.ceil(n / 1024)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);

function duration(ms) {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/**
 * The row (an <li>) for `summary` (an entry of GET /v1/assets). `apiKey()` reads the key;
 * `onGone(row)` is called once the asset is deleted.
 */
export function assetRow(summary, apiKey, onGone) {
  const id = summary.asset_id;
  const path = `/v1/assets/${encodeURIComponent(id)}`;
  let asset = { ...summary, preview_ready: false };

  const img = el("img", { className: "poster", alt: "", width: 160, height: 90 });
  const note = el("span", { className: "poster-note" });
  const frame = el("div", { className: "poster-frame" }, img, note);
  const title = el("span", { className: "title" });
  const sub = el("code", { className: "asset-id", textContent: id });
  const rename = el("button", { type: "button", className: "rename secondary", textContent: "Rename" });
  const heading = el("div", { className: "heading" }, title, rename);
  const status = el("span", { className: "status" });
  const length = el("span", { className: "duration" });
  const created = el("time", { className: "created", dateTime: new Date(summary.created_at).toISOString(), textContent: when.format(summary.created_at) });
  const size = el("span", { className: "size", textContent: summary.size ? bytes(summary.size) : "" });
  const meta = el("p", { className: "meta" });
  const play = el("a", { className: "play", textContent: "Play", href: `/play.html?asset=${encodeURIComponent(id)}` });
  const policyButton = el("button", { type: "button", className: "policy-toggle secondary", textContent: "Policy" });
  const del = el("button", { type: "button", className: "delete danger", textContent: "Delete" });
  const actions = el("p", { className: "actions" }, play, policyButton, del);
  const message = el("p", { className: "row-status", role: "status" });
  const policy = policyEditor(id, apiKey);
  const row = el("li", { className: "asset" },
    frame, el("div", { className: "body" }, heading, sub, meta, actions, message, policy.form));
  row.dataset.assetId = id;

  const name = () => asset.title ?? asset.filename ?? id;
  const playable = () => asset.status === "ready" || asset.preview_ready;
  /** The poster's state (`waiting`, `loading`, `loaded`, `none`, `failed`, `unsupported`) and
   * what the frame says instead of a picture. */
  const posterState = (state, text = "", why = "") => {
    img.dataset.state = state;
    note.textContent = text;
    frame.title = why;
  };
  posterState("waiting");
  const say = (text, bad = false) => {
    message.textContent = text;
    message.className = bad ? "row-status bad" : "row-status";
  };

  function render() {
    title.textContent = name();
    title.title = asset.title && asset.filename ? `file: ${asset.filename}` : "";
    img.alt = img.src ? `Poster of ${name()}` : "";
    if (img.dataset.state === "waiting") note.textContent = playable() ? "" : asset.status === "uploading" || MOVING.has(asset.status) ? "no video yet" : "no video";
    status.textContent = asset.status === "ready" || !asset.preview_ready ? asset.status : `${asset.status}, preview ready`;
    status.dataset.status = asset.status;
    if (asset.cut_short) status.textContent += " (cut short)";
    // The duration is the full package's (a preview holds only the first seconds).
    const full = asset.packages?.find((p) => p.kind === "full");
    length.textContent = full ? duration(full.duration_ms) : "";
    const parts = [status, length, created, size].filter((part) => part.textContent);
    meta.replaceChildren(...parts.flatMap((part, i) => (i ? [" · ", part] : [part])));
    row.dataset.status = asset.status;
    play.hidden = !playable();
  }
  render();

  // Details, then the poster: run by posters.js when the row is near the view.
  posters.watch(row, async () => {
    try {
      asset = await api(apiKey(), "GET", path);
    } catch (e) {
      if (e.status === 404) return gone();
      say(`Cannot read its details: ${readable(e)}`, true);
      return;
    }
    render();
    if (MOVING.has(asset.status)) posters.again(row, RECHECK_MS);
    // Why a transcode failed is the job's error: its code and readable message.
    const failed = asset.status === "failed" && (asset.jobs ?? []).find((j) => j.error);
    if (failed) say(`The ${failed.kind} transcode failed: ${failed.error.code}: ${failed.error.message}`, true);
    if (!playable() || img.dataset.state === "loaded") return;
    // `poster` is the SDK's: it opens a playback session and returns the decrypted JPEG.
    if (typeof cinelock.poster !== "function") return posterState("unsupported", "no poster", "This SDK build has no poster()");
    posterState("loading", "opening…");
    try {
      const token = await ownerToken(apiKey(), id);
      const blob = await cinelock.poster({ endpoint: location.origin, assetId: id, token });
      if (!blob) return posterState("none", "no poster yet");
      posters.show(row, img, blob);
      img.alt = `Poster of ${name()}`;
      posterState("loaded");
    } catch (e) {
      // A policy may keep even its owner's page out (an origin allow-list without this site).
      posterState("failed", "no poster", `No poster: ${readable(e)}`);
    }
  });

  // Rename in place: the title becomes a field; Enter or Save stores it, Escape or Cancel keeps
  // the old one. An empty title clears it (the file name shows again).
  rename.addEventListener("click", () => {
    const input = el("input", { className: "title-input", value: asset.title ?? "", placeholder: asset.filename ?? "title", maxLength: 512 });
    input.setAttribute("aria-label", "Title");
    const save = el("button", { type: "submit", className: "save-title", textContent: "Save" });
    const cancel = el("button", { type: "button", className: "cancel-title secondary", textContent: "Cancel" });
    const form = el("form", { className: "title-form" }, input, save, cancel);
    const back = () => form.replaceWith(heading);
    cancel.addEventListener("click", back);
    input.addEventListener("keydown", (e) => { if (e.key === "Escape") back(); });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      save.disabled = true;
      try {
        const changed = await api(apiKey(), "PATCH", path, { title: input.value.trim() || null });
        asset = { ...asset, ...changed };
        render();
        back();
        say("Title saved.");
      } catch (err) {
        say(`Title not saved: ${readable(err)}`, true);
      } finally {
        save.disabled = false;
      }
    });
    heading.replaceWith(form);
    input.focus();
    input.select();
  });

  policyButton.addEventListener("click", () => {
    if (policy.form.hidden) policy.open();
    else policy.close();
  });

  // A playable private asset needs a viewer token: minted when the link is followed, so none
  // sits in the page unused. A modified click (new tab) follows the plain link.
  play.addEventListener("click", async (e) => {
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    try {
      const { token } = await api(apiKey(), "POST", `${path}/viewer-tokens`, { ttl: 3600 });
      const to = new URL(play.href);
      to.searchParams.set("token", token);
      location.assign(to.href);
    } catch (err) {
      say(`Cannot play: ${readable(err)}`, true);
    }
  });

  del.addEventListener("click", async () => {
    if (!confirm(`Delete “${name()}”? Its key is destroyed and every object of it is deleted; this cannot be undone.`)) return;
    del.disabled = true;
    say("Deleting…");
    try {
      // 200 "deleted", or 202 "deleting" (nothing is readable already; the sweep finishes it).
      await api(apiKey(), "DELETE", path);
      gone();
    } catch (err) {
      if (err.status === 404) return gone();
      say(`Not deleted: ${readable(err)}`, true);
      del.disabled = false;
    }
  });

  function gone() {
    posters.release(row);
    row.remove();
    onGone(row);
  }

  return row;
}
