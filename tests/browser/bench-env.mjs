// What the upload benchmarks share: a local Garage with the bench bucket's CORS rules set (by the
// server's own admin command), and the environment a Cinelock server on it runs with.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { ROOT } from "./harness.mjs";
import { ACCESS_KEY, BUCKET, SECRET_KEY, startGarage } from "./garage.mjs";

/** The server binary the benchmarks run (CINELOCK_SERVER_BIN: the scripts pass the release build). */
export const SERVER_BIN = process.env.CINELOCK_SERVER_BIN ?? join(ROOT, "target/debug/cinelock-server");

/**
 * Starts Garage and sets its bucket's CORS rules; returns it with `s3env` (the store's keys) and
 * `env` (a server's whole environment, its database under `tmp`).
 */
export async function benchStore(tmp) {
  const { publicKey } = generateKeyPairSync("x25519");
  const pk = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url").toString("hex");
  const garage = await startGarage();
  const s3env = { CINELOCK_S3_ACCESS_KEY: ACCESS_KEY, CINELOCK_S3_SECRET_KEY: SECRET_KEY };
  const env = {
    ...s3env, CINELOCK_S3_ENDPOINT: garage.endpoint, CINELOCK_S3_REGION: "garage", CINELOCK_S3_BUCKET: BUCKET,
    CINELOCK_TOKEN_SECRET: "ef".repeat(32), CINELOCK_WORKER_PUBLIC_KEY: pk, CINELOCK_DEV_API_KEY: "clk_dev_insecure_demo_key",
    CINELOCK_DATABASE_URL: `sqlite://${tmp}/db.sqlite?mode=rwc`, CINELOCK_ALLOWED_ORIGINS: "*",
  };
  // Garage creates its bucket just after it starts listening: retry briefly.
  for (let i = 0; ; i++) {
    try { execFileSync(SERVER_BIN, ["configure-bucket-cors"], { cwd: ROOT, env: { ...process.env, ...env }, stdio: "ignore", timeout: 20000 }); break; } catch (e) { if (i > 50) throw e; await new Promise((r) => setTimeout(r, 200)); }
  }
  return { garage, s3env, env };
}

/**
 * JS heap plus ArrayBuffer backing stores of a target (DevTools Runtime.getHeapUsage). A worker
 * that ends while asked never answers: after a second it counts as nothing (waiting for it had
 * hung a whole run).
 */
async function heap(send) {
  let timer;
  const gone = new Promise((_, fail) => { timer = setTimeout(() => fail(new Error("no answer")), 1000); });
  try {
    const u = await Promise.race([send("Runtime.getHeapUsage", {}), gone]);
    return u.usedSize + (u.backingStorageSize ?? 0);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * JS heap plus ArrayBuffer backing stores of the page and of every worker target it has now
 * (`workers`, from the page's `attach()`): `total`, and the workers' share.
 */
export async function memory(page, workers) {
  const targets = [page.send, ...workers.filter((w) => w.type === "worker").map((w) => w.send)];
  const [p, ...ws] = await Promise.all(targets.map((s) => heap(s).catch(() => 0)));
  const inWorkers = ws.reduce((a, b) => a + b, 0);
  return { total: p + inWorkers, workers: inWorkers };
}

/** Runs `run()` while sampling `memory()` every 50 ms; its value with `peak`, above the level before. */
export async function withMemoryPeak(page, workers, run) {
  const before = await memory(page, workers);
  let peak = 0, done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, (await memory(page, workers)).total - before.total);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    return { value: await run(), peak };
  } finally {
    done = true;
    await sampler;
  }
}
