// Writes a brotli copy (`<file>.br`, quality 11) beside each module and `.wasm` of the built
// SDK. The server sends it to browsers that accept br, once it has checked that the copy opens
// to its file (server/src/sdk_files.rs); the npm package leaves the copies out. Quality 11 takes
// a few seconds for the .wasm, once per build, where a server compressing at start would pay
// them on every start. Usage: node scripts/compress-sdk.mjs DIR...
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";

const files = (dir) => readdirSync(dir, { withFileTypes: true, recursive: true })
  .filter((e) => e.isFile())
  .map((e) => join(e.parentPath ?? e.path, e.name));

for (const dir of process.argv.slice(2)) {
  // Copies of an earlier build go first: a copy never outlives its file.
  for (const file of files(dir).filter((f) => f.endsWith(".br"))) rmSync(file);
  for (const file of files(dir).filter((f) => /\.(js|wasm)$/.test(f))) {
    const body = readFileSync(file);
    const br = brotliCompressSync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        [constants.BROTLI_PARAM_MODE]: file.endsWith(".js") ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
      },
    });
    writeFileSync(`${file}.br`, br);
  }
}
