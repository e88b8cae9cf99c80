// The demo's library page (/library.html) against the real server and a real Garage: a clip
// transcoded by the server's worker and an upload never sent are listed a page at a time with
// their status; the ready one's poster is opened in the browser (a blob: image); a title and
// the playback policy edited in the page are what the API then answers; the status filter and
// the date range narrow the list; deleting (after the confirm dialog) removes the row and the asset (404).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser } from "./harness.mjs";
import { startGarage } from "./garage.mjs";
import * as env from "./playback-env.mjs";

let tmp, garage, server, browser;
/** The transcoded asset, and one whose upload was created but never sent (newer). */
let ready, waiting;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "cinelock-library-"));
  garage = await startGarage();
  const keys = env.makeKeys(tmp);
  await env.configureCors(tmp, garage.endpoint, keys.workerPublicKey);
  server = await env.startPlaybackServer(tmp, garage.endpoint, keys);
  browser = await launchBrowser();
  const clip = env.makeClip(join(tmp, "clip.mp4"), { width: 640, height: 360, seconds: 4 });
  const page = await browser.newPage();
  ready = await env.uploadClip(page, server, clip, "beach.mp4");
  await page.close();
  await env.waitReady(server, ready, 60_000);
  waiting = (await env.api(server, "POST", "/v1/uploads", { size: 1000, filename: "later.mp4", content_type: "video/mp4" })).asset_id;
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await garage?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const row = (id) => `li.asset[data-asset-id="${id}"]`;

/** GET with the development key: the HTTP status and the JSON. */
async function get(path) {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${env.DEV_KEY}` } });
  return { status: res.status, body: await res.json().catch(() => null) };
}

test("the library lists, renames, sets the policy of, plays and deletes assets", { timeout: 60_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    // One asset a page: the newest first, then "Load more" for the next cursor page.
    await page.goto(`${server.url}/library.html?limit=1`);
    await page.waitForSelector(row(waiting));
    assert.equal(await page.locator("li.asset").count(), 1);
    assert.equal(await page.textContent(`${row(waiting)} .status`), "uploading");
    assert.equal(await page.textContent(`${row(waiting)} .title`), "later.mp4");
    assert.ok(await page.isHidden(`${row(waiting)} a.play`), "nothing to play before a package exists");
    assert.ok(await page.isVisible("#more"));
    await page.click("#more");
    await page.waitForSelector(row(ready));
    assert.equal(await page.locator("li.asset").count(), 2);
    await page.waitForFunction(() => document.getElementById("more").hidden);
    assert.equal(await page.textContent(`${row(ready)} .status`), "ready");
    assert.equal(await page.textContent(`${row(ready)} .title`), "beach.mp4");

    // Details and poster load lazily: the duration, and the poster opened in this browser.
    await page.waitForFunction((sel) => document.querySelector(`${sel} img.poster`).dataset.state !== "waiting"
      && document.querySelector(`${sel} img.poster`).dataset.state !== "loading", row(ready), { timeout: 20_000 });
    const poster = await page.$eval(`${row(ready)} img.poster`, (img) => ({ state: img.dataset.state, why: img.parentElement.title, src: img.src }));
    assert.equal(poster.state, "loaded", `poster ${poster.state}: ${poster.why}`);
    assert.match(poster.src, /^blob:/);
    await page.waitForFunction((sel) => document.querySelector(`${sel} img.poster`).naturalWidth > 0, row(ready));
    assert.match(await page.textContent(`${row(ready)} .duration`), /^0:0[3-5]$/);

    // Rename in place; the API answers the new title.
    await page.click(`${row(ready)} button.rename`);
    await page.fill(`${row(ready)} input.title-input`, "Lisbon, the beach");
    await page.click(`${row(ready)} button.save-title`);
    await page.waitForFunction((sel) => document.querySelector(`${sel} .title`)?.textContent === "Lisbon, the beach", row(ready));
    assert.equal((await get(`/v1/assets/${ready}`)).body.title, "Lisbon, the beach");

    // Play goes to the player page with the asset and a viewer token minted for it.
    await page.click(`${row(ready)} a.play`);
    await page.waitForURL((url) => url.pathname === "/play.html" && url.searchParams.get("asset") === ready && /^clv2\./.test(url.searchParams.get("token") ?? ""));
    await page.goto(`${server.url}/library.html`);
    await page.waitForSelector(row(ready));

    // The policy: read from the server, changed in the page, merged by PATCH.
    await page.click(`${row(ready)} button.policy-toggle`);
    await page.waitForFunction((sel) => !document.querySelector(`${sel} button.save-policy`).disabled, row(ready));
    assert.equal(await page.inputValue(`${row(ready)} select[name=visibility]`), "private");
    await page.selectOption(`${row(ready)} select[name=visibility]`, "public");
    await page.fill(`${row(ready)} textarea[name=allowed_origins]`, "example.com\n*.example.org");
    await page.check(`${row(ready)} input[name=download_allowed]`);
    await page.fill(`${row(ready)} input[name=password]`, "open sesame");
    await page.click(`${row(ready)} button.save-policy`);
    await page.waitForFunction((sel) => /^Saved/.test(document.querySelector(`${sel} .policy-status`).textContent), row(ready));
    const policy = (await get(`/v1/assets/${ready}/policy`)).body;
    assert.equal(policy.visibility, "public");
    assert.deepEqual(policy.allowed_origins, ["example.com", "*.example.org"]);
    assert.equal(policy.download_allowed, true);
    assert.equal(policy.password_set, true);
    // A change that breaks a rule shows the server's code and its message.
    await page.fill(`${row(ready)} textarea[name=allowed_origins]`, "example..com");
    await page.click(`${row(ready)} button.save-policy`);
    await page.waitForFunction((sel) => /^Not saved: invalid_policy: ./.test(document.querySelector(`${sel} .policy-status`).textContent), row(ready));
    assert.deepEqual((await get(`/v1/assets/${ready}/policy`)).body.allowed_origins, ["example.com", "*.example.org"]);

    // The status filter asks the server for that status only.
    await page.selectOption("#status-filter", "uploading");
    await page.waitForFunction((id) => {
      const rows = [...document.querySelectorAll("li.asset")];
      return rows.length === 1 && rows[0].dataset.assetId === id;
    }, waiting);
    await page.selectOption("#status-filter", "");
    await page.waitForSelector(row(ready));
    // So does the creation date range: nothing was created from tomorrow on.
    await page.evaluate(() => {
      const d = new Date(Date.now() + 86_400_000);
      document.getElementById("from").value = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    });
    await page.click("#filters button[type=submit]");
    await page.waitForFunction(() => document.getElementById("count").textContent === "No assets match.");
    assert.equal(await page.locator("li.asset").count(), 0);
    await page.fill("#from", "");
    await page.click("#filters button[type=submit]");
    await page.waitForSelector(row(ready));

    // Delete, confirmed: the row goes, with its poster's object URL, and the asset is gone.
    let asked = "";
    page.once("dialog", (d) => { asked = d.message(); d.accept(); });
    await page.click(`${row(ready)} button.delete`);
    await page.waitForSelector(row(ready), { state: "detached" });
    assert.match(asked, /Lisbon, the beach/);
    assert.equal((await get(`/v1/assets/${ready}`)).status, 404);
    assert.equal(await page.evaluate(async () => (await import("/posters.js")).heldUrls()), 0);
    assert.equal(await page.locator("li.asset").count(), 1);
    // Dismissing the dialog deletes nothing.
    page.once("dialog", (d) => d.dismiss());
    await page.click(`${row(waiting)} button.delete`);
    assert.equal((await get(`/v1/assets/${waiting}`)).status, 200);
    assert.equal(await page.locator(row(waiting)).count(), 1);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
