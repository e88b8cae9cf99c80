// Shared by the playback tests and benchmark: a real Garage, the real server binary with one
// transcode worker inside, clips made by ffmpeg, uploads sealed by the SDK in a page, and the
// asset API (with the demo's well-known development key).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startServer } from "./harness.mjs";
import { ACCESS_KEY, BUCKET, SECRET_KEY } from "./garage.mjs";
import { s3Client } from "./s3.mjs";

export const DEV_KEY = "clk_dev_insecure_demo_key";
const BIN = process.env.CINELOCK_SERVER_BIN ?? join(ROOT, "target/debug/cinelock-server");

/** The bucket, read and written directly (as someone with bucket access could). */
export function bucket(endpoint) {
  return s3Client({ endpoint, region: "garage", bucket: BUCKET, accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
}

function storeEnv(tmp, s3Endpoint) {
  return {
    CINELOCK_S3_ENDPOINT: s3Endpoint, CINELOCK_S3_REGION: "garage", CINELOCK_S3_BUCKET: BUCKET,
    CINELOCK_S3_ACCESS_KEY: ACCESS_KEY, CINELOCK_S3_SECRET_KEY: SECRET_KEY, CINELOCK_TOKEN_SECRET: "ab".repeat(32),
    CINELOCK_ALLOWED_ORIGINS: "*", CINELOCK_DATABASE_URL: `sqlite://${tmp}/admin.sqlite?mode=rwc`,
  };
}

/** Writes the bucket's CORS rules with the server's own admin command (Garage makes its bucket
 * just after it listens: retried briefly). */
export async function configureCors(tmp, s3Endpoint, workerPublicKey) {
  const env = { ...process.env, ...storeEnv(tmp, s3Endpoint), CINELOCK_WORKER_PUBLIC_KEY: workerPublicKey };
  for (let i = 0; ; i++) {
    const r = spawnSync(BIN, ["configure-bucket-cors"], { cwd: ROOT, env, encoding: "utf8", timeout: 20_000 });
    if (r.status === 0) return;
    if (i > 50) throw new Error(`configure-bucket-cors failed: ${r.stderr}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

/** Worker key pair and KEK files, made by the server's own commands. */
export function makeKeys(tmp) {
  const workerKeyFile = join(tmp, "worker.key"), kekFile = join(tmp, "kek.key");
  const workerPublicKey = execFileSync(BIN, ["generate-worker-key", "--out", workerKeyFile], { encoding: "utf8" }).trim();
  execFileSync(BIN, ["generate-kek", "--out", kekFile]);
  return { workerKeyFile, kekFile, workerPublicKey };
}

let serial = 0;
/** The server, with one transcode worker, on `s3Endpoint` (Garage or a proxy in front of it).
 * `env` overrides any setting (a second server on the first one's database, say). */
export async function startPlaybackServer(tmp, s3Endpoint, keys, env = {}) {
  const n = serial++;
  const work = join(tmp, `work-${n}`);
  mkdirSync(work, { recursive: true });
  const databaseUrl = env.CINELOCK_DATABASE_URL ?? `sqlite://${tmp}/db-${n}.sqlite?mode=rwc`;
  const server = await startServer({
    ...storeEnv(tmp, s3Endpoint),
    CINELOCK_DATABASE_URL: databaseUrl,
    CINELOCK_WORKER_PUBLIC_KEY: keys.workerPublicKey,
    CINELOCK_WORKER_SECRET_KEY_FILE: keys.workerKeyFile,
    CINELOCK_KEK_FILE: keys.kekFile,
    CINELOCK_WORKERS: "1",
    CINELOCK_WORK_DIR: work,
    CINELOCK_DEV_API_KEY: DEV_KEY,
    CINELOCK_VIEWER_TOKEN_SECRETS: "cd".repeat(32),
    ...env,
  });
  server.databaseUrl = databaseUrl;
  return server;
}

/** A test clip made by ffmpeg: moving test pattern and a tone, H.264/AAC in MP4. */
export function makeClip(path, { width = 854, height = 480, seconds = 40, audio = true } = {}) {
  const args = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=30:duration=${seconds}`];
  if (audio) args.push("-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`, "-c:a", "aac", "-shortest");
  args.push("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path);
  execFileSync(process.env.CINELOCK_FFMPEG ?? "ffmpeg", args);
  return readFileSync(path);
}

/** Calls the API with the development key. */
export async function api(server, method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${DEV_KEY}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Creates an upload and sends `bytes` through the SDK in `page` (sealed there); the asset id. */
export async function uploadClip(page, server, bytes, filename = "clip.mp4") {
  const created = await api(server, "POST", "/v1/uploads", { size: bytes.length, filename, content_type: "video/mp4" });
  await page.goto(`${server.url}/`);
  await page.evaluate(async ({ endpoint, created, b64, filename }) => {
    const c = await import("/sdk/dist/index.js");
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const handle = await c.upload(new File([bytes], filename, { type: "video/mp4" }), { endpoint, upload: created });
    await handle.done;
  }, { endpoint: server.url, created, b64: bytes.toString("base64"), filename });
  return created.asset_id;
}

/** Waits until the asset's full package is published; returns the asset's description. */
export async function waitReady(server, assetId, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await api(server, "GET", `/v1/assets/${assetId}`);
    if (a.status === "ready") return a;
    if (a.status === "failed" || a.status === "cancelled") throw new Error(`transcode ${a.status}: ${JSON.stringify(a.jobs)}`);
    if (Date.now() > deadline) throw new Error(`transcode not done in time: ${JSON.stringify(a)}`);
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

/** Mints a viewer token for the asset. */
export async function viewerToken(server, assetId, ttl = 3600) {
  return (await api(server, "POST", `/v1/assets/${assetId}/viewer-tokens`, { ttl })).token;
}

/** Replaces the asset's playback policy. */
export async function setPolicy(server, assetId, policy) {
  return api(server, "PUT", `/v1/assets/${assetId}/policy`, policy);
}
