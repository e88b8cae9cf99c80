// The library page (/library.html): lists the API key's assets with GET /v1/assets, newest
// first, a page at a time ("Load more" follows `next_cursor`), filtered by status and creation
// date. Each row (library-row.js) renames, edits the policy, plays and deletes its asset.
// `?limit=N` sets the page size (1 to 100), to try the pages out on a small library.
import { api, readable } from "/api.js";
import { assetRow } from "/library-row.js";
import * as posters from "/posters.js";

const $ = (id) => document.getElementById(id);
const apiKey = () => $("apikey").value.trim();
const DAY_MS = 86_400_000;
const limit = Math.min(100, Math.max(1, Number(new URLSearchParams(location.search).get("limit")) || 20));

/** The query of the list shown (without its cursor), and where its next page starts. */
let query = null;
let cursor = null;
/** Bumped by every new listing: a page that arrives for an older one is dropped. */
let generation = 0;

/** The filters as GET /v1/assets query parameters. Dates are local days, whole. */
function filters() {
  const q = new URLSearchParams({ limit: String(limit) });
  if ($("status-filter").value) q.set("status", $("status-filter").value);
  if ($("from").value) q.set("created_after", String(new Date(`${$("from").value}T00:00`).getTime()));
  if ($("to").value) q.set("created_before", String(new Date(`${$("to").value}T00:00`).getTime() + DAY_MS));
  return q;
}

function count() {
  const n = $("assets").children.length;
  $("count").textContent = n ? `${n} asset${n === 1 ? "" : "s"} shown${cursor ? ", more to load" : ""}.` : "No assets match.";
}

async function loadPage() {
  const mine = generation;
  const q = new URLSearchParams(query);
  if (cursor) q.set("cursor", cursor);
  $("more").disabled = true;
  $("status").className = "";
  $("status").textContent = "Loading…";
  try {
    const page = await api(apiKey(), "GET", `/v1/assets?${q}`);
    if (mine !== generation) return;
    cursor = page.next_cursor;
    $("assets").append(...page.assets.map((a) => assetRow(a, apiKey, count)));
    $("status").textContent = "";
    count();
  } catch (e) {
    if (mine !== generation) return;
    $("status").textContent = `Cannot list the assets: ${readable(e)}`;
    $("status").className = "bad";
  } finally {
    if (mine === generation) {
      $("more").hidden = !cursor;
      $("more").disabled = false;
    }
  }
}

/** Starts the listing again from its first page, with the filters as they are now. */
function reload() {
  generation++;
  for (const row of $("assets").children) posters.release(row);
  $("assets").replaceChildren();
  $("count").textContent = "";
  query = filters();
  cursor = null;
  return loadPage();
}

$("filters").addEventListener("submit", (e) => { e.preventDefault(); reload(); });
$("status-filter").addEventListener("change", reload);
$("more").addEventListener("click", loadPage);
reload();
