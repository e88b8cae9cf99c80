// End to end in headless Chromium: the demo's seal round trip page (/seal.html) and the npm
// package's public API, served by the real server binary.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, startServer } from "./harness.mjs";

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function page() {
  const p = await browser.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(e));
  p.errors = errors;
  return p;
}

test("health check answers", async () => {
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).status, "ok");
});

test("the wasm is served as application/wasm and the SDK is loadable cross-origin", async () => {
  const res = await fetch(`${server.url}/sdk/pkg/cinelock_sdk_wasm_bg.wasm`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/wasm");
  const js = await fetch(`${server.url}/sdk/dist/index.js`);
  assert.equal(js.headers.get("access-control-allow-origin"), "*");
  const missing = await fetch(`${server.url}/no/such/page`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "not_found");
});

for (const engine of ["auto", "wasm"]) {
  test(`seal round trip page: a chosen file round-trips (${engine})`, async () => {
    const p = await page();
    await p.goto(`${server.url}/seal.html`);
    await p.waitForFunction(() => document.getElementById("status").textContent.startsWith("Ready"));
    // 3 MiB + 77 bytes of pseudo-random data: many chunks and a short last one.
    const data = Buffer.alloc(3 * 1048576 + 77);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    await p.setInputFiles("#file", { name: "clip.bin", mimeType: "application/octet-stream", buffer: data });
    await p.selectOption("#engine", engine);
    await p.click("#run");
    await p.waitForSelector("#result:not([hidden])", { timeout: 60_000 });
    assert.equal(await p.getAttribute("#result", "data-ok"), "true");
    assert.equal(await p.textContent("#r-engine"), engine === "wasm" ? "wasm" : "webcrypto");
    assert.match(await p.textContent("#r-verdict"), /identical/);
    // The sealed download starts with the format's magic and is not the plaintext.
    assert.match(await p.textContent("#r-preview"), /^43 4e 4c 4b 02 01 00 00/);
    const sealed = await p.evaluate(async () => {
      const blob = await (await fetch(document.getElementById("download").href)).blob();
      return Array.from(new Uint8Array(await blob.arrayBuffer()));
    });
    assert.equal(sealed.length, data.length + 107 + 16 * Math.ceil(data.length / 262144));
    const sealedBuf = Buffer.from(sealed);
    assert.equal(sealedBuf.indexOf(data.subarray(1000, 1032)), -1, "plaintext visible in the sealed file");
    assert.deepEqual(p.errors, []);
    await p.close();
  });
}

test("npm API: Blob round trip, engines agree, tampering is rejected with no plaintext", async () => {
  const p = await page();
  await p.goto(server.url);
  const r = await p.evaluate(async () => {
    const c = await import("/sdk/dist/index.js");
    const keys = await c.generateRecipientKey();
    const n = 20 * 1048576 + 3;
    const plain = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(plain.subarray(i, Math.min(n, i + 65536)));
    const sealed = await c.seal(keys.publicKey, new Blob([plain]), { chunkSize: 1 << 20 });
    const bytes = new Uint8Array(await sealed.arrayBuffer());
    const viaWasm = await c.open(keys.secretKey, bytes, { engine: "wasm" });
    const viaBlob = new Uint8Array(await (await c.open(keys.secretKey, sealed)).arrayBuffer());
    const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
    const tampered = bytes.slice();
    tampered[5 * 1048576] ^= 1;
    let error;
    try { await c.open(keys.secretKey, new Blob([tampered])); } catch (e) { error = { name: e.name, code: e.code, is: c.isCinelockError(e) }; }
    const other = await c.generateRecipientKey();
    let wrong;
    try { await c.open(other.secretKey, bytes); } catch (e) { wrong = e.code; }
    let badChunk;
    try { await c.seal(keys.publicKey, plain.subarray(0, 10), { chunkSize: 3 }); } catch (e) { badChunk = e.code; }
    return {
      engine: await c.resolveEngine(),
      keyId: keys.keyId, keyIdAgain: await c.keyId(keys.publicKey),
      sealedLen: bytes.length, plainLen: await c.plaintextLength(bytes.subarray(0, 107), bytes.length),
      wasmOk: same(viaWasm, plain), blobOk: same(viaBlob, plain), error, wrong, badChunk,
      sha: Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", plain))),
      sha2: Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", viaBlob))),
    };
  });
  assert.equal(r.engine, "webcrypto");
  assert.match(r.keyId, /^[0-9a-f]{16}$/);
  assert.equal(r.keyId, r.keyIdAgain);
  assert.equal(r.plainLen, 20 * 1048576 + 3);
  assert.equal(r.sealedLen, r.plainLen + 107 + 16 * 21);
  assert.ok(r.wasmOk, "wasm engine opened what WebCrypto sealed");
  assert.ok(r.blobOk, "Blob round trip");
  assert.deepEqual(r.sha, r.sha2);
  assert.deepEqual(r.error, { name: "CinelockError", code: "decrypt", is: true });
  assert.equal(r.wrong, "wrong_recipient");
  assert.equal(r.badChunk, "chunk_size");
  await p.close();
});

test("npm API: sealStream/openStream round trip with backpressure; tampering errors the stream", async () => {
  const p = await page();
  await p.goto(server.url);
  const r = await p.evaluate(async () => {
    const c = await import("/sdk/dist/index.js");
    const keys = await c.generateRecipientKey();
    const n = 5 * 1048576 + 11;
    const plain = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(plain.subarray(i, Math.min(n, i + 65536)));
    const collect = async (stream, slow) => {
      const parts = [];
      for await (const part of stream) { parts.push(part); if (slow) await new Promise((r) => setTimeout(r, 2)); }
      return new Uint8Array(await new Blob(parts).arrayBuffer());
    };
    const sealedStream = c.sealStream(keys.publicKey, new Blob([plain]), { chunkSize: 65536 });
    const sealed = await collect(sealedStream, true);
    const viaBytes = await c.open(keys.secretKey, sealed);
    const viaStream = await collect(c.openStream(keys.secretKey, new Blob([sealed])));
    const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
    const bad = sealed.slice();
    bad[bad.length - 3] ^= 1;
    let released = 0, code;
    try { for await (const part of c.openStream(keys.secretKey, bad)) released += part.length; } catch (e) { code = e.code; }
    const empty = await collect(c.sealStream(keys.publicKey, new Uint8Array(0)));
    return { sealedLen: sealed.length, bytesOk: same(viaBytes, plain), streamOk: same(viaStream, plain), code, released, n, emptyLen: empty.length };
  });
  assert.equal(r.sealedLen, r.n + 107 + 16 * Math.ceil(r.n / 65536));
  assert.ok(r.bytesOk);
  assert.ok(r.streamOk);
  assert.equal(r.code, "decrypt");
  assert.ok(r.released < r.n, "the tampered last chunk was not released");
  assert.equal(r.emptyLen, 107 + 16);
  await p.close();
});

test("vectors open in the browser through the npm API", async () => {
  const { readFileSync } = await import("node:fs");
  const doc = JSON.parse(readFileSync(new URL("../vectors/stream-v2.json", import.meta.url)));
  const p = await page();
  await p.goto(server.url);
  const results = await p.evaluate(async (doc) => {
    const c = await import("/sdk/dist/index.js");
    const hex = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
    const sk = hex(doc.recipient.secret_key);
    const out = [];
    for (const v of doc.positive) {
      const opened = await c.open(sk, hex(v.sealed), { context: hex(v.context) });
      out.push(Array.from(opened).map((b) => b.toString(16).padStart(2, "0")).join("") === v.plaintext);
    }
    for (const v of doc.negative) {
      try { await c.open(sk, new Blob([hex(v.sealed)]), { context: hex(v.context) }); out.push(false); } catch (e) { out.push(e.code === v.error); }
    }
    return out;
  }, doc);
  assert.equal(results.length, doc.positive.length + doc.negative.length);
  assert.ok(results.every(Boolean), JSON.stringify(results));
  await p.close();
});


test("a returning visitor gets a new SDK build whole at once, and the same build from its cache", async () => {
  const { cpSync, mkdtempSync, readdirSync, appendFileSync, rmSync, utimesSync, statSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const { ROOT } = await import("./harness.mjs");
  const { freePort } = await import("./garage.mjs");
  // A copy of the built SDK whose files look a year old: a cache that went by `Last-Modified`
  // alone would keep such files for weeks.
  const sdk = mkdtempSync(join(tmpdir(), "cinelock-sdk-copy-"));
  const marked = join(sdk, "dist/internal/errors.js");
  const age = (dir) => {
    const old = new Date(Date.now() - 365 * 86_400_000);
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) utimesSync(join(e.parentPath ?? e.path, e.name), old, old);
    }
  };
  const build = (mark) => {
    appendFileSync(marked, `\nglobalThis.cinelockBuildMark = ${JSON.stringify(mark)};\n`);
    age(sdk);
  };
  cpSync(join(ROOT, "npm/dist"), join(sdk, "dist"), { recursive: true });
  cpSync(join(ROOT, "npm/pkg"), join(sdk, "pkg"), { recursive: true });
  assert.ok(statSync(marked).isFile());
  build("one");
  const port = await freePort();
  const env = { CINELOCK_SDK_DIR: sdk, CINELOCK_LISTEN: `127.0.0.1:${port}` };
  let copy = await startServer(env);
  const ctx = await browser.newContext();
  // One visit: a new page in the same browser (same HTTP cache), which imports the SDK under
  // its snippet's name and starts it (the glue and its .wasm must be one build's).
  const visit = async () => {
    const p = await ctx.newPage();
    const cdp = await ctx.newCDPSession(p);
    await cdp.send("Network.enable");
    // What the server was asked, with what it answered (a response taken from the cache has
    // no raw headers), and every SDK path the page used.
    const paths = new Map();
    const answered = new Map();
    const initiators = new Map();
    cdp.on("Network.requestWillBeSent", ({ requestId, request, initiator }) => {
      const path = new URL(request.url).pathname;
      if (path.startsWith("/sdk/")) paths.set(requestId, path);
      const by = initiator.url ?? initiator.stack?.callFrames?.[0]?.url;
      if (by) initiators.set(requestId, new URL(by).pathname);
    });
    const codings = new Map();
    cdp.on("Network.responseReceivedExtraInfo", ({ requestId, statusCode, headers }) => {
      answered.set(requestId, statusCode);
      codings.set(requestId, headers["content-encoding"] ?? headers["Content-Encoding"] ?? null);
    });
    await p.goto(`${copy.url}/`);
    const mark = await p.evaluate(async () => {
      const c = await import("/sdk/dist/index.js");
      await c.load();
      return globalThis.cinelockBuildMark;
    });
    await p.close();
    const seen = [...paths].map(([id, path]) => ({ path, server: answered.get(id) ?? null, by: initiators.get(id), coding: codings.get(id) }));
    return { mark, seen };
  };
  try {
    const first = await visit();
    assert.equal(first.mark, "one");
    const buildOf = (v) => v.seen.map((s) => /^\/sdk\/([0-9a-f]{16})\//.exec(s.path)?.[1]).find(Boolean);
    const one = buildOf(first);
    assert.ok(one, `the SDK came from a build's own path: ${JSON.stringify(first.seen)}`);
    // The .wasm came brotli-compressed (scripts/build-sdk's copy), the modules compressed too.
    const wasm = first.seen.find((s) => s.path === `/sdk/${one}/pkg/cinelock_sdk_wasm_bg.wasm`);
    assert.deepEqual([wasm?.server, wasm?.coding], [200, "br"], JSON.stringify(first.seen));
    // Every module of the build was asked for by a snippet's module, all at once, not by the
    // module a level up its graph.
    const modules = first.seen.filter((s) => s.path.startsWith(`/sdk/${one}/`) && s.path.endsWith(".js"));
    assert.ok(modules.length >= 10, JSON.stringify(modules));
    // (a module of a few hundred bytes goes as it is: compressing it would save next to nothing)
    for (const big of ["dist/public/player.js", "dist/public/upload.js", "pkg/cinelock_sdk_wasm.js"]) {
      assert.equal(modules.find((s) => s.path === `/sdk/${one}/${big}`)?.coding, "br", JSON.stringify(modules));
    }
    assert.deepEqual(modules.filter((s) => !["/sdk/dist/index.js", "/sdk/dist/embed.js"].includes(s.by)), [], "asked for level by level");

    // The same build again: the snippet's name is revalidated (304), the build's files are
    // taken from the cache without asking.
    const again = await visit();
    assert.equal(again.mark, "one");
    const entry = again.seen.find((s) => s.path === "/sdk/dist/index.js");
    assert.equal(entry?.server, 304, JSON.stringify(again.seen));
    const asked = again.seen.filter((s) => s.path.startsWith(`/sdk/${one}/`) && s.server !== null);
    assert.deepEqual(asked, [], "the build's files are used from the cache");

    // A new build on the same server name: the next visit runs all of it.
    await copy.stop();
    build("two");
    copy = await startServer(env);
    const upgraded = await visit();
    assert.equal(upgraded.mark, "two", "the new build's modules run, not the cached ones");
    const two = buildOf(upgraded);
    assert.ok(two && two !== one, JSON.stringify(upgraded.seen));
    assert.ok(upgraded.seen.every((s) => !s.path.startsWith(`/sdk/${one}/`)), JSON.stringify(upgraded.seen));
    assert.equal(upgraded.seen.find((s) => s.path === `/sdk/${two}/dist/internal/errors.js`)?.server, 200, JSON.stringify(upgraded.seen));
  } finally {
    await ctx.close();
    await copy.stop();
    rmSync(sdk, { recursive: true, force: true });
  }
});
