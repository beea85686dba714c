// Trunk post-build hook: cuts the app's wasm into the first download and the parts fetched
// after it (app/src/later.rs), then writes the brotli copies (precompress.mjs).
//
// Trunk cannot cut a wasm itself (trunk-rs/trunk#1022), so this redoes its last steps on the
// wasm cargo built, with the split in between, as cargo-leptos does:
//   1. wasm-split-cli: the first part, one file per later part, and `__wasm_split.js`, which
//      fetches a part the first time one of its functions is called;
//   2. wasm-bindgen on the first part (keeping the exports the later parts link to);
//   3. wasm-opt -Oz on every part;
// then puts them in place of Trunk's wasm and JS, gives every file a content-hashed name (the
// service worker caches by address, so a name must never be reused for other bytes), lists
// the later parts in index.html (so the service worker keeps them for offline use), and
// updates the names Trunk wrote there. Last, it builds the whole app
// again as one module, for every visit after the first, and writes index.html's start-up
// script, which chooses between the two.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) {
  console.error("split: run by Trunk (no TRUNK_STAGING_DIR)");
  process.exit(2);
}
// The cargo profile Trunk built with: index.html's data-cargo-profile-release, or dev.
const release = process.env.TRUNK_PROFILE === "release";
const profile = release ? "wasm-release" : "debug";
const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const raw = join(target, "wasm32-unknown-unknown", profile, "app.wasm");
const wasmOpt = [join(root, "tools/node_modules/.bin/wasm-opt")].find(existsSync) ?? "wasm-opt";

const run = (cmd, args) => execFileSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
const digest = (...parts) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex").slice(0, 16);
};

const htmlPath = join(staging, "index.html");
let html = readFileSync(htmlPath, "utf8");
const main = html.match(/from '\/(app-[0-9a-f]+)\.js'/)?.[1];
if (!main) {
  console.error("split: index.html does not load an app-<hash>.js");
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "tac-split-"));
try {
  const cut = join(work, "cut");
  const bound = join(work, "bound");
  run("wasm-split-cli", ["--target", "web", "--out-name", "app", raw, cut]);
  run("wasm-bindgen", [
    "--target", "web", "--keep-lld-exports", "--no-typescript",
    "--out-dir", bound, "--out-name", "app", join(cut, "app.wasm"),
  ]);
  if (existsSync(join(bound, "snippets"))) {
    console.error("split: wasm-bindgen wrote snippets, which this script does not place");
    process.exit(2);
  }
  // Release builds are made small; a debug build keeps its names for readable panics, and
  // TAC_KEEP_NAMES=1 keeps them in a release build too, to read a browser profile by name.
  const keepNames = process.env.TAC_KEEP_NAMES ? ["-g"] : [];
  const optimise = (from, to) =>
    release
      ? run(wasmOpt, [...keepNames, "-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int", from, "-o", to])
      : copyFileSync(from, to);

  // The later parts, by content.
  let loader = readFileSync(join(cut, "__wasm_split.js"), "utf8");
  const later = [];
  for (const name of readdirSync(cut)) {
    if (!name.endsWith(".wasm") || name === "app.wasm") continue;
    const optimised = join(work, name);
    optimise(join(cut, name), optimised);
    const bytes = readFileSync(optimised);
    const hashed = `app-${name.replace(/\.wasm$/, "").replaceAll("_", "-")}-${digest(bytes)}.wasm`;
    writeFileSync(join(staging, hashed), bytes);
    if (!loader.includes(`"./${name}"`)) throw new Error(`split: the loader does not name ${name}`);
    loader = loader.replaceAll(`"./${name}"`, `"./${hashed}"`);
    later.push(hashed);
  }

  // The first part, named by everything it loads (Trunk's name comes from the wasm before
  // the cut, so it could stay the same while these files change).
  const firstWasm = join(work, "app_bg.wasm");
  optimise(join(bound, "app_bg.wasm"), firstWasm);
  let js = readFileSync(join(bound, "app.js"), "utf8");
  const first = `app-${digest(js, readFileSync(firstWasm), later.join(" "))}`;

  // The loader reaches the first part through its JS (for the table and memory).
  if (!loader.includes(`from "./app.js"`)) throw new Error("split: the loader does not import ./app.js");
  loader = loader.replace(`from "./app.js"`, `from "./${first}.js"`);
  const loaderName = `app-parts-${digest(loader)}.js`;
  writeFileSync(join(staging, loaderName), loader);

  // Only the import statements: the imports object keeps the name the wasm asks for.
  const importOfLoader = /(\bfrom\s*["'])\.\/__wasm_split\.js(["'])/g;
  if (!importOfLoader.test(js)) throw new Error("split: the first part does not import __wasm_split.js");
  js = js.replace(importOfLoader, `$1./${loaderName}$2`);
  writeFileSync(join(staging, `${first}.js`), js);
  copyFileSync(firstWasm, join(staging, `${first}_bg.wasm`));
  rmSync(join(staging, `${main}.js`));
  rmSync(join(staging, `${main}_bg.wasm`));

  // index.html names the first part by its new name (Trunk's preload links for it, and their
  // integrity hashes, give way to the start-up script below).
  for (const ending of [".js", "_bg.wasm"]) {
    const from = `/${main}${ending}`;
    if (!html.includes(from)) throw new Error(`split: index.html does not name ${from}`);
    html = html.replaceAll(from, `/${first}${ending}`);
  }
  // The whole app as one module, built again without the cut (the same code: `later!`
  // functions just run). Calls between parts cost, and Chrome keeps no compiled code for the
  // first part between visits, so once the service worker holds this file, index.html's
  // script runs it instead: the cut is for the first visit (and the first after a release).
  // Cargo keeps both builds of the app apart (by features), so an unchanged app is not
  // built again.
  // Only for release builds: a debug build (trunk serve) always runs in parts.
  let whole = null;
  if (release) {
    execFileSync(
      "cargo",
      ["build", "--locked", "--target", "wasm32-unknown-unknown", "-p", "app", "--bin", "app",
        "--profile", "wasm-release"],
      { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
    );
    const wholeBound = join(work, "whole");
    run("wasm-bindgen", [
      "--target", "web", "--no-typescript", "--out-dir", wholeBound, "--out-name", "app", raw,
    ]);
    if (existsSync(join(wholeBound, "snippets"))) throw new Error("split: the whole app has snippets");
    const wholeWasm = join(work, "whole_bg.wasm");
    optimise(join(wholeBound, "app_bg.wasm"), wholeWasm);
    const wholeJs = readFileSync(join(wholeBound, "app.js"));
    whole = `app-whole-${digest(wholeJs, readFileSync(wholeWasm))}`;
    writeFileSync(join(staging, `${whole}.js`), wholeJs);
    copyFileSync(wholeWasm, join(staging, `${whole}_bg.wasm`));
  }

  // Trunk's start-up script, made to choose between the two.
  const script = /<script type="module">\s*import init, \* as bindings from '([^']+)';\s*const wasm = await init\(\{ module_or_path: '([^']+)' \}\);[\s\S]*?<\/script>/;
  const found = html.match(script);
  if (!found || found[1] !== `/${first}.js` || found[2] !== `/${first}_bg.wasm`) {
    throw new Error("split: index.html's start-up script is not the one Trunk writes");
  }
  html = html.replace(script, `<script type="module" async>
// The first visit runs the app in two parts, the caseload first and the rest as it arrives
// (scripts/split.mjs); the service worker then keeps the whole app as one module, which opens
// cases faster, and later visits run that.
const first = { js: '/${first}.js', wasm: '/${first}_bg.wasm' };
const whole = ${whole ? `{ js: '/${whole}.js', wasm: '/${whole}_bg.wasm' }` : "null"};
const held = async (url) => Boolean(await caches.match(url).catch(() => null));
// (Only a page the service worker runs can have it from there: not the first visit.)
const wholeHeld = Boolean(whole && self.caches && navigator.serviceWorker?.controller)
  && (await Promise.all([held(whole.js), held(whole.wasm)])).every(Boolean);
const start = async (app) => {
  // Everything the app needs is asked for at once, not one after another.
  const wasmResponse = fetch(app.wasm);
  wasmResponse.catch(() => {});
  if (app === first) {
    const loader = Object.assign(document.createElement('link'), { rel: 'modulepreload', href: '/${loaderName}' });
    document.head.append(loader);
  }
  const bindings = await import(app.js);
  // Run at once (async), not after the stylesheet; the app itself waits for the page.
  if (document.readyState === 'loading') await new Promise((ready) => addEventListener('DOMContentLoaded', ready, { once: true }));
  return [bindings, await bindings.default({ module_or_path: wasmResponse })];
};
let bindings, wasm;
try {
  [bindings, wasm] = await start(wholeHeld ? whole : first);
} catch (e) {
  // A whole app that cannot be loaded (not the file it should be) is forgotten, and the
  // parts run instead; an error once the app runs (RuntimeError) is the app's own.
  if (!wholeHeld || e instanceof WebAssembly.RuntimeError) throw e;
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    await Promise.all([cache.delete(whole.js), cache.delete(whole.wasm)]);
  }
  [bindings, wasm] = await start(first);
}
window.wasmBindings = bindings;
dispatchEvent(new CustomEvent("TrunkApplicationStarted", {detail: {wasm}}));
</script>`);

  // The app fetches the later parts itself as it starts (app/src/later.rs). They and the whole
  // app are named here for the service worker, which keeps every file index.html names for
  // offline use (the whole app last); a browser fetches nothing for a link type it does not
  // know, so nothing is fetched twice.
  // Nor is anything fetched before the script has chosen: Trunk's preloads of the first part
  // become such links too (a visit that runs the whole app would fetch the first part for
  // nothing).
  const preload = /<link rel="(?:modulepreload|preload)" href="(\/app-[0-9a-f]+(?:\.js|_bg\.wasm))"[^>]*>/g;
  if ((html.match(preload) ?? []).length !== 2) throw new Error("split: index.html does not preload the first part");
  html = html.replace(preload, (_, href) => `<link rel="tac-first-part" href="${href}">`);
  const links =
    `<link rel="tac-first-part" href="/${loaderName}">` +
    later.map((name) => `<link rel="tac-later-part" href="/${name}">`).join("") +
    (whole ? `<link rel="tac-whole-app" href="/${whole}.js"><link rel="tac-whole-app" href="/${whole}_bg.wasm">` : "");
  html = html.replace("</head>", `${links}</head>`);
  writeFileSync(htmlPath, html);
  console.log(`split: first part ${first}_bg.wasm, later ${later.join(", ")}, whole app ${whole ?? "(release only)"}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

await import("./precompress.mjs");
