// The JavaScript side of the reconnect benchmark (tests/src/bin/reconnect-bench.rs): the same
// caseload synced by @automerge/automerge-repo (pinned in tools/package.json) through the JS
// sync server, so that bytes and time can be compared with ours in the same run.
//
// Usage: node tests/bench/reconnect-peer.mjs <ws-url for A> <ws-url for B> <folder>
// <folder>/base/NNNN.am are the cases (whole documents), <folder>/edit/NNNN.am the changes
// made elsewhere to some of them. Device A (a repo with storage on disk, as the app keeps its
// cases in IndexedDB) holds every case; device B makes the edits. The benchmark drives it
// with one command per line on stdin and reads one answer per line on stdout:
//   (start)  -> "uploaded N"        A imported every case and the server has each of them
//   "edit"   -> "edited N"          B opened each edited case, applied its changes, and the
//                                   server has them
//   "check"  -> "checked OK/N"      how many of the edited cases A now holds as B left them
//   "quit"   -> exits
// A's connection goes through the benchmark's byte-counting proxy, which cuts it and lets it
// back; the adapter retries every 200 ms, and the benchmark times from its new connection.
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const fail = (err) => {
  process.stderr.write(`reconnect-peer: ${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
};
// While the benchmark holds device A offline its connection attempts fail, and the adapter's
// socket reports that as an uncaught error: expected, and the adapter tries again.
const offline = (err) =>
  ["ECONNREFUSED", "ECONNRESET"].includes(err?.code) || err?.message === "socket hang up";
process.on("uncaughtException", (err) => (offline(err) ? undefined : fail(err)));
process.on("unhandledRejection", fail);
delete process.env.DEBUG;
for (const k of ["log", "info", "debug", "warn", "trace"]) console[k] = () => {};

const toolsRequire = createRequire(new URL("../../tools/package.json", import.meta.url));
const load = (name) => import(pathToFileURL(toolsRequire.resolve(name)).href);
const { Repo, encodeHeads } = await load("@automerge/automerge-repo");
const { WebSocketClientAdapter } = await load("@automerge/automerge-repo-network-websocket");
const { NodeFSStorageAdapter } = await load("@automerge/automerge-repo-storage-nodefs");
const Automerge = await load("@automerge/automerge");

const [urlA, urlB, dir] = process.argv.slice(2);
const names = (sub) => readdirSync(join(dir, sub)).filter((f) => f.endsWith(".am")).sort();
const sameHeads = (a, b) => a.length === b.length && a.every((h) => b.includes(h));

/** Resolves once the server reports exactly the handle's current heads. */
function serverHas(repo, handle) {
  return new Promise((resolve) => {
    const onState = ({ documentId, syncState }) => {
      if (documentId !== handle.documentId || !syncState.theirHeads) return;
      if (!sameHeads(encodeHeads(syncState.theirHeads), handle.heads())) return;
      repo.synchronizer.off("sync-state", onState);
      resolve();
    };
    repo.synchronizer.on("sync-state", onState);
  });
}

const a = new Repo({
  network: [new WebSocketClientAdapter(urlA, 200)],
  storage: new NodeFSStorageAdapter(join(dir, "device-a")),
  peerId: `a-${randomUUID()}`,
});
const handles = new Map();
const uploads = [];
for (const name of names("base")) {
  const handle = a.import(new Uint8Array(readFileSync(join(dir, "base", name))));
  uploads.push(serverHas(a, handle));
  handles.set(name, handle);
}
await Promise.all(uploads);
process.stdout.write(`uploaded ${handles.size}\n`);

const expected = new Map();
const commands = createInterface({ input: process.stdin });
for await (const line of commands) {
  if (line === "edit") {
    const b = new Repo({
      network: [new WebSocketClientAdapter(urlB, 200)],
      peerId: `b-${randomUUID()}`,
    });
    const done = [];
    for (const name of names("edit")) {
      const theirs = await b.find(handles.get(name).url);
      const changes = new Uint8Array(readFileSync(join(dir, "edit", name)));
      const acked = serverHas(b, theirs);
      theirs.update((doc) => Automerge.loadIncremental(doc, changes));
      expected.set(name, theirs.heads());
      done.push(acked);
    }
    await Promise.all(done);
    process.stdout.write(`edited ${expected.size}\n`);
    // Let the last messages leave before B goes.
    await new Promise((r) => setTimeout(r, 500));
    b.shutdown();
  } else if (line === "check") {
    let ok = 0;
    for (const [name, heads] of expected) {
      if (sameHeads(handles.get(name).heads(), heads)) ok += 1;
    }
    process.stdout.write(`checked ${ok}/${expected.size}\n`);
  } else if (line === "quit") {
    process.exit(0);
  }
}
