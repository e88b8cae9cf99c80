// The documentation's code is real code: every ```js and ```ts block of the README, the
// player's, the recorder's and the analytics docs and the npm package's README is type-checked
// by tsc against the package's published declarations (npm/dist, built from the
// contract-generated types), strictly.
//
// A document's blocks build on each other (one imports `cinelock`, the next uses it): they are
// checked as one module, each block in its own scope, after declarations of the names the
// prose leaves to the reader (`file`, `created`, ...). A block that declares its own names
// (`declare const …`), or is a configuration file (`export default`), is a module of its own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;
const DOCS = ["README.md", "docs/player.md", "docs/recorder.md", "docs/analytics.md", "npm/README.md"];
const TSC = join(ROOT, "npm/node_modules/.bin/tsc");

/** The names the prose assumes. */
const PREAMBLE = `import type { CreatedUpload, CreateRecordingRequest } from "cinelock";
declare const workerPublicKey: Uint8Array;
declare const workerSecretKey: Uint8Array;
declare const file: File;
declare const sameFile: File;
declare const created: CreatedUpload;
declare const endpoint: string;
declare const uploadId: string;
declare const videoElement: HTMLVideoElement;
declare const assetId: string;
declare const token: string;
declare const writable: WritableStream<Uint8Array>;
declare const recordButton: HTMLButtonElement;
declare function createUpload(request: CreateRecordingRequest): Promise<CreatedUpload>;
`;

function blocks(markdown) {
  return [...markdown.matchAll(/^```(js|ts)\n([\s\S]*?)^```/gm)].map((m) => m[2]);
}

/** The modules to check for one document: `[name, source]`. */
function modules(doc) {
  const all = blocks(readFileSync(join(ROOT, doc), "utf8"));
  // Blocks that declare their own names, or are modules of another kind (a bundler's config).
  const standalone = (b) => /^(declare |export default)/m.test(b);
  const own = all.filter(standalone);
  const shared = all.filter((b) => !standalone(b));
  const out = own.map((b, i) => [`${doc}#own${i}`, b]);
  if (shared.length > 0) {
    const imports = shared.flatMap((b) => b.split("\n").filter((l) => l.startsWith("import ")));
    const bodies = shared.map((b) => `{\n${b.split("\n").filter((l) => !l.startsWith("import ")).join("\n")}\n}`);
    out.push([`${doc}#shared`, `${[...new Set(imports)].join("\n")}\n${PREAMBLE}\n${bodies.join("\n")}\nexport {};\n`]);
  }
  return out;
}

/** Runs tsc on `sources` (`[name, source]`); its exit status and output. */
function typecheck(sources) {
  const dir = mkdtempSync(join(tmpdir(), "cinelock-snippets-"));
  try {
    const files = sources.map(([name, source], i) => {
      const file = `snippet-${i}.ts`;
      writeFileSync(join(dir, file), `// ${name}\n${source}`);
      return file;
    });
    const dist = join(ROOT, "npm/dist");
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "ES2022", moduleResolution: "bundler", lib: ["ES2022", "DOM"],
        strict: true, noEmit: true, skipLibCheck: false, types: [],
        paths: {
          "cinelock": [join(dist, "index.d.ts")],
          "cinelock/embed": [join(dist, "embed.d.ts")],
          // The docs' unbundled form: the SDK loaded from a Cinelock server.
          "https://video.example.com/sdk/dist/index.js": [join(dist, "index.d.ts")],
        },
      },
      files,
    }));
    const r = spawnSync(TSC, ["-p", dir], { encoding: "utf8" });
    return { status: r.status, output: `${r.stdout}${r.stderr}`, sources };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("every code block of the README, the player's docs and the package README type-checks against the package", () => {
  const sources = DOCS.flatMap(modules);
  assert.ok(sources.length >= 4, `found ${sources.length} modules`);
  const r = typecheck(sources);
  assert.equal(r.status, 0, `${r.output}\n${r.sources.map(([n, s], i) => `--- snippet-${i}.ts (${n})\n${s}`).join("\n")}`);
});

test("the check refuses what the package's types refuse", () => {
  // A wrong event detail and a wrong option: the same harness must fail on them.
  const bad = `import { play } from "cinelock";
declare const video: HTMLVideoElement;
const player = play(video, { endpoint: "x", assetId: "a", engine: "fast" });
player.addEventListener("error", (e) => console.log(e.detail.error.nonexistent));
`;
  const r = typecheck([["bad", bad]]);
  assert.notEqual(r.status, 0);
  assert.match(r.output, /"fast".*Engine/);
  assert.match(r.output, /nonexistent/);
});
