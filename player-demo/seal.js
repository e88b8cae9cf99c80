// The seal round trip page (/seal.html): seals a chosen file with a fresh recipient key and
// opens it again, through the published SDK API exactly as an app would.
import * as cinelock from "/sdk/dist/index.js";

const $ = (id) => document.getElementById(id);
const mb = (n) => `${(n / 1048576).toFixed(2)} MiB`;
const rate = (n, ms) => `${(n / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;

// Compares two Blobs window by window, so even huge files never sit in memory at once.
async function sameBytes(a, b) {
  if (a.size !== b.size) return false;
  const step = 8 << 20;
  for (let at = 0; at < a.size; at += step) {
    const [x, y] = await Promise.all([a.slice(at, at + step).arrayBuffer(), b.slice(at, at + step).arrayBuffer()]);
    const u = new Uint8Array(x), v = new Uint8Array(y);
    for (let i = 0; i < u.length; i++) if (u[i] !== v[i]) return false;
  }
  return true;
}

async function roundTrip(file, engine) {
  const keys = await cinelock.generateRecipientKey();
  const used = await cinelock.resolveEngine(engine);
  let t = performance.now();
  const sealed = await cinelock.seal(keys.publicKey, file, { engine });
  const sealMs = performance.now() - t;
  t = performance.now();
  const opened = await cinelock.open(keys.secretKey, sealed, { engine });
  const openMs = performance.now() - t;
  const head = new Uint8Array(await sealed.slice(0, 24).arrayBuffer());
  return { keys, used, sealed, opened, sealMs, openMs, head, ok: await sameBytes(file, opened) };
}

async function main() {
  await cinelock.load();
  $("status").textContent = "Ready. Choose a file.";
  $("roundtrip").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("file").files[0];
    if (!file) return;
    $("run").disabled = true;
    $("status").textContent = `Sealing ${file.name}…`;
    try {
      const r = await roundTrip(file, $("engine").value);
      $("r-engine").textContent = r.used;
      $("r-keyid").textContent = r.keys.keyId;
      $("r-plain").textContent = `${file.name}, ${mb(file.size)}`;
      $("r-sealed").textContent = `${mb(r.sealed.size)} (${r.sealed.size - file.size} bytes of header and tags)`;
      $("r-seal").textContent = `${r.sealMs.toFixed(0)} ms, ${rate(file.size, r.sealMs)}`;
      $("r-open").textContent = `${r.openMs.toFixed(0)} ms, ${rate(file.size, r.openMs)}`;
      $("r-preview").textContent = [...r.head].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      $("r-verdict").textContent = r.ok ? "identical, byte for byte" : "MISMATCH";
      $("r-verdict").className = r.ok ? "ok" : "bad";
      $("result").hidden = false;
      $("result").dataset.ok = String(r.ok);
      const link = $("download");
      if (link.href) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(r.sealed);
      link.hidden = false;
      $("status").textContent = "Done.";
    } catch (e) {
      $("status").textContent = `Failed: ${e.code ?? e.name}: ${e.message}`;
      $("status").className = "bad";
    } finally {
      $("run").disabled = false;
    }
  });
}

main().catch((e) => {
  $("status").textContent = `Could not load the SDK: ${e.message}`;
  $("status").className = "bad";
});
