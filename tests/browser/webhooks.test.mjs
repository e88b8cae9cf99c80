// Webhooks from the real pipeline, verified independently: a clip uploaded in the browser and
// transcoded by the server's worker produces upload.completed, asset.preview_ready and
// asset.ready at a receiver on loopback that fails its first two requests. Every request's
// Standard Webhooks signature is checked here with node:crypto alone, retries keep their
// message id, and the asset's events arrive in order.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser } from "./harness.mjs";
import { startGarage } from "./garage.mjs";
import * as env from "./playback-env.mjs";

let tmp, garage, server, browser, receiver;
const seen = [];

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "cinelock-webhooks-"));
  garage = await startGarage();
  const keys = env.makeKeys(tmp);
  await env.configureCors(tmp, garage.endpoint, keys.workerPublicKey);
  server = await env.startPlaybackServer(tmp, garage.endpoint, keys, {
    CINELOCK_WEBHOOK_ALLOW_PRIVATE: "true",
    CINELOCK_WEBHOOK_RETRY_BASE_MS: "200",
  });
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => { body += d; });
    req.on("end", () => {
      seen.push({ headers: req.headers, body });
      res.writeHead(seen.length <= 2 ? 503 : 204).end();
    });
  });
  await new Promise((ok) => receiver.listen(0, "127.0.0.1", ok));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  receiver?.close();
  await server?.stop();
  await garage?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The Standard Webhooks check, from the specification alone. */
function verify(secret, headers, body) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const signed = `${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`;
  const expected = createHmac("sha256", key).update(signed).digest();
  return headers["webhook-signature"].split(" ").some((s) => {
    const [version, sig] = s.split(",");
    const got = Buffer.from(sig ?? "", "base64");
    return version === "v1" && got.length === expected.length && timingSafeEqual(got, expected);
  });
}

test("an upload's events reach a receiver signed, retried and in order", async () => {
  const hook = await env.api(server, "POST", "/v1/webhooks", { url: `http://127.0.0.1:${receiver.address().port}/hook` });
  assert.match(hook.secret, /^whsec_/);
  const clip = env.makeClip(join(tmp, "clip.mp4"), { width: 320, height: 240, seconds: 4 });
  const page = await browser.newPage();
  const assetId = await env.uploadClip(page, server, clip);
  await page.close();
  await env.waitReady(server, assetId);
  const deadline = Date.now() + 60_000;
  const types = () => [...new Set(seen.map((s) => s.body))].map((b) => JSON.parse(b).type);
  while (types().length < 3 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 100));
  assert.deepEqual(types(), ["upload.completed", "asset.preview_ready", "asset.ready"]);
  for (const { headers, body } of seen) {
    assert.ok(verify(hook.secret, headers, body), `signature of ${body}`);
    assert.ok(Math.abs(Date.now() / 1000 - Number(headers["webhook-timestamp"])) < 120);
    assert.equal(JSON.parse(body).data.asset_id, assetId);
    // A tampered body does not verify.
    assert.ok(!verify(hook.secret, headers, body.replace(assetId, "someone-else")));
  }
  // The two refused attempts were the first event's, with its message id each time.
  assert.equal(seen[0].headers["webhook-id"], seen[2].headers["webhook-id"]);
  const log = await env.api(server, "GET", `/v1/webhooks/${hook.id}/deliveries`);
  const first = log.deliveries.find((d) => d.event_type === "upload.completed");
  assert.equal(first.attempts, 3);
  assert.ok(log.deliveries.every((d) => d.status === "delivered"));
});
