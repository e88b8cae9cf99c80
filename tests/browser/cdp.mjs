// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe, for benchmarks.
// Unlike Playwright it never enables the Network domain, which copies every request body into
// debugger events and slows uploads about tenfold (../shared/toolchain.md).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export async function launchRaw(extraArgs = []) {
  const profile = mkdtempSync(join(tmpdir(), "cinelock-cdp-"));
  const child = spawn(process.env.CINELOCK_CHROMIUM ?? "/usr/bin/chromium",
    [...FLAGS, `--user-data-dir=${profile}`, "--remote-debugging-pipe", ...extraArgs, "about:blank"],
    { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
  const [toChrome, fromChrome] = [child.stdio[3], child.stdio[4]];
  let nextId = 0, buffer = "";
  const pending = new Map();
  fromChrome.on("data", (data) => {
    buffer += data.toString("utf8");
    let at;
    while ((at = buffer.indexOf("\0")) >= 0) {
      const msg = JSON.parse(buffer.slice(0, at));
      buffer = buffer.slice(at + 1);
      const waiter = msg.id !== undefined && pending.get(msg.id);
      if (waiter) {
        pending.delete(msg.id);
        if (msg.error) waiter.fail(new Error(`${msg.error.message} (${msg.error.code})`));
        else waiter.ok(msg.result);
      }
    }
  });
  const send = (method, params = {}, sessionId) => new Promise((ok, fail) => {
    const id = ++nextId;
    pending.set(id, { ok, fail });
    toChrome.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
  });
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const page = {
    send: (method, params) => send(method, params, sessionId),
    /** Evaluates an async expression in the page and returns its JSON value. */
    async evaluate(expression) {
      const r = await send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId);
      if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
      return r.result.value;
    },
    async goto(url) {
      await send("Page.navigate", { url }, sessionId);
      for (let i = 0; i < 200; i++) {
        const ready = await page.evaluate("document.readyState").catch(() => "");
        if (ready === "complete" && (await page.evaluate("location.href")) === url) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`page ${url} did not load`);
    },
    /** Puts a file from disk into an <input type=file> (a disk-backed File, as a user would). */
    async setFile(selector, path) {
      const { root } = await send("DOM.getDocument", {}, sessionId);
      const { nodeId } = await send("DOM.querySelector", { nodeId: root.nodeId, selector }, sessionId);
      await send("DOM.setFileInputFiles", { nodeId, files: [path] }, sessionId);
    },
  };
  return {
    page,
    close: async () => {
      // A graceful close waits for Chromium's helper processes, which would otherwise still be
      // writing the profile while it is removed; SIGKILL if that hangs.
      const exited = new Promise((r) => child.once("exit", r));
      send("Browser.close").catch(() => undefined);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}
