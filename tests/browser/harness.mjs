// Shared by the browser tests and benchmarks: starts the real server binary on a free loopback
// port, and launches Debian's Chromium through playwright-core with the flags that work here.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

export const ROOT = resolve(new URL("../..", import.meta.url).pathname);

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** Starts cinelock-server; resolves to { url, stop() } once it prints its address. */
export async function startServer(env = {}) {
  const bin = process.env.CINELOCK_SERVER_BIN ?? join(ROOT, "target/debug/cinelock-server");
  const child = spawn(bin, [], {
    cwd: ROOT,
    env: { ...process.env, CINELOCK_LISTEN: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  const url = await new Promise((ok, fail) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) ok(m[1]);
    });
    child.on("exit", (code) => fail(new Error(`server exited with ${code}: ${stderr}`)));
    setTimeout(() => fail(new Error(`server did not start in 20 s: ${stderr}`)), 20_000).unref();
  });
  return {
    url,
    pid: child.pid,
    stop: () => new Promise((ok) => { child.once("exit", ok); child.kill("SIGINT"); }),
  };
}

/** Launches headless Chromium with a fresh profile; `extraArgs` are appended to the flags. */
export async function launchBrowser(extraArgs = []) {
  const profile = mkdtempSync(join(tmpdir(), "cinelock-chromium-"));
  const browser = await chromium.launch({
    executablePath: process.env.CINELOCK_CHROMIUM ?? "/usr/bin/chromium",
    ignoreDefaultArgs: true,
    args: [...FLAGS, `--user-data-dir=${profile}`, "--remote-debugging-pipe", ...extraArgs],
  });
  const close = browser.close.bind(browser);
  browser.close = async () => { await close(); rmSync(profile, { recursive: true, force: true }); };
  return browser;
}
