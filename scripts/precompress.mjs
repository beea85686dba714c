// Trunk post-build hook: writes a brotli copy (quality 11, the best) of the app's wasm, JS and
// CSS beside each file, which the relay serves as it is to browsers that accept brotli
// (compressing on the fly uses a faster, weaker setting, and costs the relay's CPU per request).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";

const dir = process.env.TRUNK_STAGING_DIR ?? process.argv[2];
if (!dir) {
  console.error("precompress: no TRUNK_STAGING_DIR and no folder given");
  process.exit(2);
}
for (const name of readdirSync(dir)) {
  if (!/\.(wasm|js|css)$/.test(name)) continue;
  const file = join(dir, name);
  const bytes = readFileSync(file);
  const packed = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(`${file}.br`, packed);
  console.log(`precompress: ${name} ${bytes.length} -> ${packed.length} bytes`);
}
