// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe, for benchmarks.
// Unlike Playwright it enables the Network domain only to throttle (page.throttle), with no
// buffers: Playwright's network monitoring copies every request body into debugger events and
// slows uploads about tenfold (../shared/toolchain.md).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  // The omnibox's WebUI pop-ups load in a renderer of their own for a second or more after
  // start, about 90 ms of CPU inside a measured start on 2 cores; a user's browser has them
  // loaded long before a video plays.
  "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup",
];

/**
 * The top-level tasks (category `toplevel`) of each thread in a trace from `trace()`, in time
 * order, a task nested in the one before left out: a Map from "pid:tid" to its tasks.
 */
export function topLevelTasks(events) {
  const byThread = new Map();
  for (const e of [...events].sort((a, b) => a.ts - b.ts)) {
    if (e.ph !== "X" || !String(e.cat).split(",").includes("toplevel")) continue;
    const k = `${e.pid}:${e.tid}`;
    if (!byThread.has(k)) byThread.set(k, { end: -Infinity, tasks: [] });
    const t = byThread.get(k);
    if (e.ts < t.end) continue; // nested in the task before
    t.end = e.ts + (e.dur ?? 0);
    t.tasks.push(e);
  }
  return new Map([...byThread].map(([k, t]) => [k, t.tasks]));
}

/**
 * Per-thread busy time in a trace from `trace()`: each thread's top-level tasks summed as
 * thread CPU time where the trace has it (`tdur`) and wall time otherwise. Returns rows
 * { process, thread, ms, tasks }, busiest first.
 */
export function threadTimes(events) {
  const names = new Map(), procs = new Map();
  for (const e of events) {
    if (e.ph !== "M") continue;
    if (e.name === "thread_name") names.set(`${e.pid}:${e.tid}`, e.args.name);
    if (e.name === "process_name") procs.set(e.pid, e.args.name);
  }
  const rows = [];
  for (const [k, tasks] of topLevelTasks(events)) {
    const us = tasks.reduce((sum, e) => sum + (e.tdur ?? e.dur ?? 0), 0);
    const pid = Number(k.split(":")[0]);
    rows.push({ process: procs.get(pid) ?? String(pid), thread: names.get(k) ?? k, ms: us / 1000, tasks: tasks.length });
  }
  return rows.sort((a, b) => b.ms - a.ms);
}

/**
 * User and system CPU seconds and minor page faults of Chromium's processes by kind (`browser`,
 * `renderer`, `gpu-process`, `utility <sub-type>`), and of this script, from /proc: where the
 * browser's share of the machine goes, and how much of it is the kernel's (a fault is a fresh
 * 4 KiB page the kernel maps and zeroes). Counters since each process started: subtract two
 * readings.
 */
export function chromiumProcesses() {
  const out = {};
  const add = (kind, user, sys, faults) => {
    out[kind] ??= { user: 0, sys: 0, faults: 0 };
    out[kind].user += user;
    out[kind].sys += sys;
    out[kind].faults += faults;
  };
  for (const pid of readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d))) {
    let cmd, stat;
    try {
      // Chromium rewrites its child processes' command lines as one string.
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split(/[\0 ]/);
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch { continue; }
    const x = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const [user, sys, faults] = [Number(x[11]) / 100, Number(x[12]) / 100, Number(x[7])];
    if (Number(pid) === process.pid) { add("this script", user, sys, faults); continue; }
    if (!/chromium|chrome/.test(cmd[0] ?? "")) continue;
    const type = cmd.find((a) => a.startsWith("--type="))?.slice(7);
    const sub = cmd.find((a) => a.startsWith("--utility-sub-type="))?.slice(19);
    add(!type ? "browser" : type === "utility" ? `utility ${sub ?? ""}`.trim() : type, user, sys, faults);
  }
  return out;
}

/** What each process kind spent between two `chromiumProcesses()` readings. */
export function processesSince(before, after) {
  return Object.entries(after).map(([kind, b]) => {
    const a = before[kind] ?? { user: 0, sys: 0, faults: 0 };
    return { kind, user: b.user - a.user, sys: b.sys - a.sys, faults: b.faults - a.faults };
  });
}

export async function launchRaw(extraArgs = []) {
  const profile = mkdtempSync(join(tmpdir(), "cinelock-cdp-"));
  const child = spawn(process.env.CINELOCK_CHROMIUM ?? "/usr/bin/chromium",
    [...FLAGS, `--user-data-dir=${profile}`, "--remote-debugging-pipe", ...extraArgs, "about:blank"],
    { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
  const [toChrome, fromChrome] = [child.stdio[3], child.stdio[4]];
  let nextId = 0, buffer = "";
  const pending = new Map();
  const listeners = new Set();
  fromChrome.on("data", (data) => {
    buffer += data.toString("utf8");
    let at;
    while ((at = buffer.indexOf("\0")) >= 0) {
      const msg = JSON.parse(buffer.slice(0, at));
      buffer = buffer.slice(at + 1);
      const waiter = msg.id !== undefined && pending.get(msg.id);
      if (msg.method) for (const l of listeners) l(msg);
      if (waiter) {
        pending.delete(msg.id);
        if (msg.error) waiter.fail(new Error(`${msg.error.message} (${msg.error.code})`));
        else waiter.ok(msg.result);
      }
    }
  });
  const send = (method, params = {}, sessionId) => new Promise((ok, fail) => {
    const id = ++nextId;
    pending.set(id, { ok, fail, method, at: Date.now() });
    toChrome.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
  });
  // CINELOCK_CDP_DEBUG=1: every 30 s, the commands still unanswered after 30 s (to find a hang).
  if (process.env.CINELOCK_CDP_DEBUG) {
    setInterval(() => {
      const old = [...pending].filter(([, p]) => Date.now() - p.at > 30_000).map(([id, p]) => `${id} ${p.method} ${((Date.now() - p.at) / 1000).toFixed(0)} s`);
      if (old.length) console.error(`unanswered: ${old.join(", ")}`);
    }, 30_000).unref();
  }
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
    /**
     * Attaches to every worker the page starts from now on (each is its own target), and
     * applies DevTools network conditions (`Network.emulateNetworkConditions` parameters), if
     * given, to the page and to each worker: a worker's requests are throttled only through its
     * own session. Returns the attached targets, as { url, type, send }, kept as they come and go.
     */
    async attach(conditions) {
      const workers = [];
      // Both commands go out at once, in order, ahead of anything sent after.
      const apply = async (sid) => {
        if (!conditions) return;
        await Promise.all([
          send("Network.enable", { maxTotalBufferSize: 0, maxResourceBufferSize: 0, maxPostDataSize: 0 }, sid),
          send("Network.emulateNetworkConditions", { offline: false, ...conditions }, sid),
        ]);
      };
      listeners.add((msg) => {
        if (msg.method === "Target.detachedFromTarget" && msg.sessionId === sessionId) {
          const at = workers.findIndex((w) => w.sessionId === msg.params.sessionId);
          if (at >= 0) workers.splice(at, 1);
          return;
        }
        if (msg.method !== "Target.attachedToTarget" || msg.sessionId !== sessionId) return;
        const { sessionId: sid, targetInfo } = msg.params;
        const worker = { url: targetInfo.url, type: targetInfo.type, sessionId: sid, send: (m, p) => send(m, p, sid) };
        workers.push(worker);
        // Queued in order on the worker's session, not awaited: its Network domain answers only
        // once the worker runs.
        worker.ready = Promise.all([
          targetInfo.type === "worker" ? apply(sid) : undefined,
          send("Runtime.runIfWaitingForDebugger", {}, sid),
        ]).catch(() => undefined);
      });
      await apply(sessionId);
      await send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, sessionId);
      return workers;
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
    /**
     * Starts a Chromium trace (the browser's `Tracing` domain, every process and thread) with
     * `categories`; the returned function stops it and resolves to the trace events
     * (`{ name, cat, ph, ts, dur, pid, tid, args }`, `ts` in µs). For benchmarks: where a
     * thread's time goes, natively as well as in script.
     */
    async trace(categories = ["devtools.timeline", "toplevel", "v8.execute", "blink", "netlog"]) {
      const events = [];
      let complete;
      const done = new Promise((r) => { complete = r; });
      const listener = (msg) => {
        if (msg.method === "Tracing.dataCollected") events.push(...msg.params.value);
        if (msg.method === "Tracing.tracingComplete") complete();
      };
      listeners.add(listener);
      await send("Tracing.start", { traceConfig: { includedCategories: categories, recordMode: "recordAsMuchAsPossible" }, transferMode: "ReportEvents" });
      return async () => {
        await send("Tracing.end");
        await done;
        listeners.delete(listener);
        return events;
      };
    },
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
