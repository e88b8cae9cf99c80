// A throwaway single-node Garage (a real S3-compatible store) on free loopback ports, and a
// fault-injecting proxy for it. Used by the browser upload tests; no S3 mocks.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ACCESS_KEY = "GK6a1b2c3d4e5f60718293a4b5";
export const SECRET_KEY = "7d1e4f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e";
export const BUCKET = "cinelock-e2e";

export function freePort() {
  return new Promise((ok) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export async function startGarage() {
  const dir = mkdtempSync(join(tmpdir(), "cinelock-garage-"));
  const [s3, rpc] = [await freePort(), await freePort()];
  writeFileSync(join(dir, "garage.toml"), `metadata_dir = "${dir}/meta"\ndata_dir = "${dir}/data"\ndb_engine = "sqlite"\nreplication_factor = 1\nrpc_bind_addr = "127.0.0.1:${rpc}"\nrpc_public_addr = "127.0.0.1:${rpc}"\n[s3_api]\ns3_region = "garage"\napi_bind_addr = "127.0.0.1:${s3}"\n`);
  const child = spawn(process.env.CINELOCK_GARAGE ?? "garage", ["-c", join(dir, "garage.toml"), "server", "--single-node", "--default-bucket"], {
    env: { ...process.env, RUST_LOG: "warn", GARAGE_RPC_SECRET: "a".repeat(64), GARAGE_DEFAULT_ACCESS_KEY: ACCESS_KEY, GARAGE_DEFAULT_SECRET_KEY: SECRET_KEY, GARAGE_DEFAULT_BUCKET: BUCKET },
    stdio: "ignore",
  });
  const endpoint = `http://127.0.0.1:${s3}`;
  for (let i = 0; ; i++) {
    const up = await new Promise((ok) => net.connect(s3, "127.0.0.1").on("connect", function () { this.destroy(); ok(true); }).on("error", () => ok(false)));
    if (up) break;
    if (i > 200) throw new Error("Garage did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    endpoint,
    pid: child.pid,
    stop: () => new Promise((ok) => { child.once("exit", () => { rmSync(dir, { recursive: true, force: true }); ok(); }); child.kill("SIGKILL"); }),
  };
}

/**
 * An HTTP proxy in front of the store that fails a share of part PUTs: half of the failures
 * answer 503 SlowDown, half cut the connection mid-request. It counts every part PUT by number,
 * and counts successes, so tests can check what was sent again.
 */
export async function startFaultProxy(target, { failRate = 0, seed = 1, damage = [], silent = [], putDelayMs = 0 } = {}) {
  const t = new URL(target);
  let state = seed >>> 0 || 1;
  const rand = () => { state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state / 2 ** 32; };
  // `log`: every part PUT with its time (ms since the epoch); `down`: every request is cut.
  // `damage`: parts whose first PUT reaches the store with one bit flipped (`damaged` counts
  // them); `checksums`: the x-amz-checksum-* headers the part PUTs carried. `silent`: parts
  // whose first PUT the proxy takes and never answers (`silenced` counts them, `silentClosed`
  // those the client gave up on by closing the connection). `out`: requests by method the
  // proxy is answering now, `most`: the most at once (a test may reset it); `gets`: every GET
  // with the PUTs out when it came. `putDelayMs`: each part PUT waits that long before it goes
  // on to the store, as on a slow uplink (its connection is held meanwhile); a test may change
  // it. `hold()`: the store's answers to part PUTs from then on are kept (`held` counts them)
  // until `release()` sends them all at once, so that the parts finish together.
  const toDamage = new Set(damage.map(String));
  const toSilence = new Set(silent.map(String));
  const stats = { puts: new Map(), ok: new Map(), injected: 0, failRate, log: [], down: false, damaged: 0, checksums: new Set(), statuses: [], silenced: 0, silentClosed: 0,
    out: { GET: 0, PUT: 0 }, most: { GET: 0, PUT: 0 }, gets: [], putDelayMs, held: 0 };
  let gate = null;
  stats.hold = () => {
    let open;
    gate = new Promise((ok) => (open = ok));
    stats.release = () => { gate = null; open(); };
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const part = req.method === "PUT" ? url.searchParams.get("partNumber") : null;
    if (stats.down) {
      stats.injected++;
      req.socket.destroy();
      return;
    }
    const method = req.method;
    if (method in stats.out) {
      stats.out[method]++;
      stats.most[method] = Math.max(stats.most[method], stats.out[method]);
      res.once("close", () => stats.out[method]--);
    }
    if (method === "GET") stats.gets.push({ path: url.pathname, at: Date.now(), putsOut: stats.out.PUT });
    if (part) stats.puts.set(part, (stats.puts.get(part) ?? 0) + 1);
    if (part) stats.log.push({ part: Number(part), at: Date.now() });
    if (part) for (const h of Object.keys(req.headers)) if (h.startsWith("x-amz-checksum-")) stats.checksums.add(h);
    if (part && toSilence.delete(part)) {
      stats.silenced++;
      req.socket.once("close", () => stats.silentClosed++);
      req.resume();
      return;
    }
    if (part && rand() < stats.failRate) {
      stats.injected++;
      if (rand() < 0.5) {
        req.resume();
        req.on("end", () => {
          res.writeHead(503, { "content-type": "application/xml", "access-control-allow-origin": req.headers.origin ?? "*" });
          res.end("<Error><Code>SlowDown</Code><Message>injected</Message></Error>");
        });
      } else {
        req.once("data", () => req.socket.destroy());
      }
      return;
    }
    const holding = part ? gate : null;
    const upstream = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      const answer = () => {
        if (part && up.statusCode === 200) stats.ok.set(part, (stats.ok.get(part) ?? 0) + 1);
        if (part) stats.statuses.push({ part: Number(part), status: up.statusCode });
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      };
      if (!holding) return answer();
      stats.held++;
      holding.then(answer);
    });
    upstream.on("error", () => res.destroy());
    if (part && toDamage.delete(part)) {
      // Damaged on the way: the same length, one bit different in the middle.
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        body[body.length >> 1] ^= 1;
        stats.damaged++;
        upstream.end(body);
      });
      return;
    }
    if (part && stats.putDelayMs > 0) {
      // Read at once (so a client's abort is seen: a socket left unread would not say it
      // closed), sent on after the delay unless the client gave up meanwhile.
      // The whole body, and the delay, before it goes on: a partial body would leave the
      // store waiting for the rest.
      const chunks = [];
      let gone = false, sent = false;
      res.once("close", () => { gone = true; if (!sent) upstream.destroy(); });
      const body = new Promise((ok) => { req.on("data", (c) => chunks.push(c)); req.on("end", ok); });
      const delay = new Promise((ok) => setTimeout(ok, stats.putDelayMs));
      Promise.all([body, delay]).then(() => {
        if (gone) return;
        sent = true;
        upstream.end(Buffer.concat(chunks));
      });
      return;
    }
    req.pipe(upstream);
  });
  const port = await freePort();
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return { endpoint: `http://127.0.0.1:${port}`, stats, stop: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }) };
}
