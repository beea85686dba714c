// Loads the pinned JS sync server with automerge-repo's sync throttle set to 0 ms, so that it
// sends each change to the other peers at once, as our relay does, instead of at most every
// 100 ms (`DocSynchronizer.syncDebounceRate`, a class field no option reaches). Used only by
// the latency bench, as a second JS row: `node --import ./sync-at-once.mjs <server entry>`.
// Nothing else in the server changes; the edit is made in memory as the module loads.
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";

const FILE = "/automerge-repo/dist/synchronizer/DocSynchronizer.js";
const FROM = "syncDebounceRate = 100;";
const TO = "syncDebounceRate = 0;";

// This file is also the hooks module, which node loads again on its hooks thread.
if (isMainThread) {
  register(import.meta.url);
}

export async function load(url, context, nextLoad) {
  const loaded = await nextLoad(url, context);
  if (!url.endsWith(FILE)) {
    return loaded;
  }
  const source = loaded.source.toString();
  if (!source.includes(FROM)) {
    // A different automerge-repo: fail loudly rather than bench an unchanged server.
    throw new Error(`sync-at-once: "${FROM}" not found in ${url}`);
  }
  return { ...loaded, source: source.replace(FROM, TO) };
}
