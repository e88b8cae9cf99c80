// Where a sealed upload's kernel time comes from: each step of the browser's path over a file
// (CINELOCK_BENCH_FAULTS_MIB, default 512), run alone in headless Chromium, with the minor page
// faults and the user and system CPU seconds of Chromium's processes by kind (from /proc) while
// it ran. A fresh buffer costs a fault per 4 KiB page, the kernel zeroing it: one "pass" is the
// file's size in pages. Steps:
//
//   stream read, default reader     blob.stream() pieces, each a new buffer
//   stream read, BYOB               a "bring your own buffer" reader into one reused buffer
//   encrypt                         WebCrypto AES-GCM over 256 KiB chunks of a reused buffer
//   digest                          WebCrypto SHA-256 over 8 MiB parts (what a part's checksum costs)
//   PUT, Blob body / array body     8 MiB parts sent to a local sink, as a Blob or a Uint8Array
//
// Run: node tests/browser/bench-faults.mjs (a few seconds per step; nothing else needed).
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromiumProcesses, launchRaw, processesSince } from "./cdp.mjs";

const MIB = Number(process.env.CINELOCK_BENCH_FAULTS_MIB ?? 512);
const PARTS = MIB / 8;

const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), "cinelock-faults-"));
const file = join(dir, "source.bin");
const fd = openSync(file, "w");
const block = Buffer.alloc(8 << 20);
for (let i = 0; i < PARTS; i++) writeSync(fd, randomFillSync(block));
closeSync(fd);

const sink = createServer((req, res) => {
  if (req.method === "PUT") {
    req.resume();
    req.on("end", () => res.end("ok"));
    return;
  }
  res.setHeader("content-type", "text/html");
  res.end("<input type=file id=f>");
}).listen(0, "127.0.0.1");
await new Promise((r) => sink.once("listening", r));
const chrome = await launchRaw();
try {
  await chrome.page.goto(`http://127.0.0.1:${sink.address().port}/`);
  await chrome.page.setFile("#f", file);
  await chrome.page.evaluate(`(async () => {
    window.key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
    window.f = document.getElementById("f").files[0];
    window.part = new Uint8Array(8 << 20);
    crypto.getRandomValues(part.subarray(0, 65536));
  })()`);
  const steps = {
    "stream read, default reader (a new buffer per piece)": `(async () => { const r = f.stream().getReader(); for (;;) { const { done } = await r.read(); if (done) break; } })()`,
    "stream read, BYOB reader into one reused 1 MiB buffer": `(async () => { const r = f.stream().getReader({ mode: "byob" }); let buf = new ArrayBuffer(1 << 20); for (;;) { const { done, value } = await r.read(new Uint8Array(buf)); if (done) break; buf = value.buffer; } })()`,
    "encrypt (AES-GCM), 256 KiB chunks": `(async () => { for (let i = 0; i < ${PARTS * 32}; i++) { const o = (i % 32) * 262144; await crypto.subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(12) }, key, part.subarray(o, o + 262144)); } })()`,
    "digest (SHA-256), 8 MiB parts": `(async () => { for (let i = 0; i < ${PARTS}; i++) await crypto.subtle.digest("SHA-256", part); })()`,
    "PUT 8 MiB parts, Blob body": `(async () => { for (let i = 0; i < ${PARTS}; i++) { const r = await fetch("/sink", { method: "PUT", body: new Blob([part]) }); await r.arrayBuffer(); } })()`,
    "PUT 8 MiB parts, Uint8Array body": `(async () => { for (let i = 0; i < ${PARTS}; i++) { const r = await fetch("/sink", { method: "PUT", body: part }); await r.arrayBuffer(); } })()`,
  };
  console.log(`each step over ${MIB} MiB (one pass = ${(MIB * 256 / 1000).toFixed(0)}k faults): minor page faults, user + system CPU s, by Chromium process`);
  for (const [name, expression] of Object.entries(steps)) {
    const before = chromiumProcesses();
    const t = performance.now();
    await chrome.page.evaluate(expression);
    // Let freed memory go back and late work finish before reading the counters.
    await new Promise((r) => setTimeout(r, 300));
    const ms = performance.now() - t;
    const cols = processesSince(before, chromiumProcesses())
      .filter((c) => c.kind !== "this script" && (c.faults > 2000 || c.user + c.sys >= 0.05));
    console.log(`${name.padEnd(56)}${`${ms.toFixed(0)} ms`.padStart(9)}  ${cols.map((c) => `${c.kind}: ${(c.faults / 1000).toFixed(0)}k faults, ${c.user.toFixed(2)} + ${c.sys.toFixed(2)} s`).join("; ")}`);
  }
} finally {
  await chrome.close();
  sink.close();
  rmSync(dir, { recursive: true, force: true });
}
