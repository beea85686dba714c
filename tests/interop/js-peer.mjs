// JS automerge-repo peer for the interop test between the reference JavaScript
// client (@automerge/automerge-repo + its WebSocket adapter, pinned in
// tools/package.json) and our relay (automerge-repo WebSocket protocol v1).
//
// Usage (Node 20, from anywhere; packages come from tools/node_modules):
//   node tests/interop/js-peer.mjs create <ws-url> <json>
//       -> prints the bare document id of a new doc with those top-level keys
//   node tests/interop/js-peer.mjs read   <ws-url> <document-id>
//       -> prints JSON.stringify(doc)
//   node tests/interop/js-peer.mjs append <ws-url> <document-id> <key> <text>
//       -> sets doc[key] = text
// create/append only succeed once the relay has acknowledged the change AND a
// second, fresh peer (new peer id, no storage) has read it back from the relay
// after the writer disconnected. Exit 0 on success; on any failure (or after
// 20 s) the reason goes to stderr and the exit code is 1. Nothing else is logged.
import { createRequire } from "node:module";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";

const TIMEOUT_MS = 20_000;
let phase = "starting"; // what we are waiting for, reported on timeout
const fail = (err) => {
  process.stderr.write(`js-peer: ${err instanceof Error ? err.message : err}\n`);
  process.exit(1);
};
setTimeout(() => fail(`timed out after ${TIMEOUT_MS / 1000} s while ${phase}`), TIMEOUT_MS);
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

// Keep stdout for our single result line: no `debug` output, no library chatter.
delete process.env.DEBUG;
for (const k of ["log", "info", "debug", "warn", "error", "trace"]) console[k] = () => {};

const toolsRequire = createRequire(new URL("../../tools/package.json", import.meta.url));
const load = (name) => import(pathToFileURL(toolsRequire.resolve(name)).href);
const { Repo, encodeHeads } = await load("@automerge/automerge-repo");
const { WebSocketClientAdapter } = await load("@automerge/automerge-repo-network-websocket");

// The relay syncs only with signed-in professionals: sign in once (account from TAC_EMAIL /
// TAC_PASSWORD), send the session cookie on every WebSocket upgrade, and use a peer id that
// starts with the session's peer_prefix.
let session = null;
async function signIn(wsUrl) {
  if (session) return session;
  phase = "signing in";
  const base = wsUrl.replace(/^ws/, "http").replace(/\/sync$/, "");
  const res = await fetch(`${base}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: process.env.TAC_EMAIL, password: process.env.TAC_PASSWORD }),
  });
  if (!res.ok) throw new Error(`sign-in refused: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get("set-cookie").split(";")[0];
  const { peer_prefix } = await res.json();
  // The adapter's `ws` builds its upgrade request with http.request and takes no headers:
  // add the cookie there (a browser sends it by itself).
  const request = http.request;
  http.request = (opts, ...rest) => request({ ...opts, headers: { ...opts.headers, Cookie: cookie } }, ...rest);
  session = { base, cookie, peerPrefix: peer_prefix };
  return session;
}

/** Registers a new document as a case of ours, so the relay will accept and serve it. */
async function register(wsUrl, documentId) {
  const { base, cookie } = await signIn(wsUrl);
  phase = `registering ${documentId}`;
  const res = await fetch(`${base}/api/cases`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: JSON.stringify({ id: documentId }),
  });
  if (!res.ok) throw new Error(`registering refused: ${res.status} ${await res.text()}`);
}

/** A fresh, storage-less Repo, resolved once the relay has answered our join. */
async function connect(url) {
  const { peerPrefix } = await signIn(url);
  phase = `waiting for the relay at ${url} to answer our join`;
  const repo = new Repo({
    network: [new WebSocketClientAdapter(url)],
    peerId: `${peerPrefix}${randomUUID()}`,
  });
  await new Promise((resolve) => repo.networkSubsystem.once("peer", resolve));
  return repo;
}

const docUrl = (id) => (id.startsWith("automerge:") ? id : `automerge:${id}`);
const sameHeads = (a, b) => a.length === b.length && a.every((h) => b.includes(h));
// JSON with object keys sorted, so key order (insertion vs. loaded) doesn't matter.
const canonical = (v) =>
  JSON.stringify(v, (_, x) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
      : x);

/** Resolves once some connected peer (the relay) reports exactly the handle's current heads. */
function relayHas(repo, handle) {
  return new Promise((resolve) => {
    const check = ({ documentId, syncState }) => {
      if (documentId !== handle.documentId || !syncState.theirHeads) return;
      if (!sameHeads(encodeHeads(syncState.theirHeads), handle.heads())) return;
      repo.synchronizer.off("sync-state", check);
      resolve();
    };
    repo.synchronizer.on("sync-state", check);
  });
}

async function read(url, id) {
  const repo = await connect(url);
  try {
    phase = `finding ${docUrl(id)}`;
    return (await repo.find(docUrl(id))).doc();
  } finally {
    repo.shutdown();
  }
}

/** Wait for the relay to ack `handle`, disconnect, then read it back with a fresh peer. */
async function verifyOnRelay(url, repo, handle, alreadyThere = false) {
  phase = "waiting for the relay to acknowledge our heads";
  if (!alreadyThere) await relayHas(repo, handle);
  const expected = canonical(handle.doc());
  repo.shutdown();
  const actual = canonical(await read(url, handle.documentId));
  if (actual !== expected) throw new Error(`relay returned ${actual}, expected ${expected}`);
}

async function main([command, url, ...args]) {
  switch (command) {
    case "create": {
      if (!url || args.length !== 1) throw new Error("usage: create <ws-url> <json>");
      const content = JSON.parse(args[0]);
      if (typeof content !== "object" || content === null || Array.isArray(content))
        throw new Error("<json> must be a JSON object");
      // Make it offline first: the relay refuses a document nobody has registered.
      const offline = new Repo({ network: [] });
      const draft = offline.create(content);
      await register(url, draft.documentId);
      const repo = await connect(url);
      const handle = repo.import(await offline.export(draft.documentId), { docId: draft.documentId });
      offline.shutdown();
      await verifyOnRelay(url, repo, handle);
      return handle.documentId;
    }
    case "read":
      if (!url || args.length !== 1) throw new Error("usage: read <ws-url> <document-id>");
      // Automerge unsigned integers arrive as BigInt, which JSON cannot hold.
      return JSON.stringify(await read(url, args[0]), (_, v) => (typeof v === "bigint" ? Number(v) : v));
    case "append": {
      if (!url || args.length !== 3) throw new Error("usage: append <ws-url> <document-id> <key> <text>");
      const [id, key, text] = args;
      const repo = await connect(url);
      phase = `finding ${docUrl(id)}`;
      const handle = await repo.find(docUrl(id));
      const before = handle.heads();
      handle.change((d) => { d[key] = text; });
      // A no-op change (same value) leaves the heads the relay just sent us.
      await verifyOnRelay(url, repo, handle, sameHeads(before, handle.heads()));
      return null;
    }
    default:
      throw new Error("usage: js-peer.mjs create|read|append <ws-url> ...");
  }
}

main(process.argv.slice(2)).then(
  (out) => (out === null ? process.exit(0) : process.stdout.write(`${out}\n`, () => process.exit(0))),
  fail,
);
