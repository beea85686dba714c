// TAC Planner service worker: keeps the app shell available offline.
//
// Trunk gives the JS/wasm/CSS files content-hashed names that change every
// build, so there is no fixed precache list. Instead, assets are cached as
// they are first fetched (cache-first), and the HTML shell is kept fresh
// (network-first) under the single key '/'.
//
// Case data never goes through this cache: /api/ and the /sync WebSocket are
// left alone, as are non-GET and cross-origin requests.

// Bump the version to drop every asset cached by older builds.
const CACHE = 'tac-planner-shell-v1';
const CACHE_PREFIX = 'tac-planner-shell-';
const SHELL_KEY = '/';
const NAV_TIMEOUT_MS = 3000;

self.addEventListener('install', (event) => {
  self.skipWaiting();
  // Precache the shell and every asset it names. Failing here (e.g. installed
  // while offline) must not stop the worker installing; the shell is cached on
  // the next successful navigation anyway.
  event.waitUntil(
    (async () => {
      const res = await fetch(SHELL_KEY);
      if (res.ok) await keepShell(res);
    })().catch(() => {})
  );
});

// Stores the shell under '/' together with the hashed JS, wasm and CSS it
// refers to: the page that registered this worker loaded those before the
// worker existed, so they would otherwise not be cached until a later visit.
// They are fetched one at a time, in the order index.html names them: the whole
// app as one module (scripts/split.mjs) comes last, after the parts the page is
// waiting for.
async function keepShell(res) {
  const cache = await caches.open(CACHE);
  const html = await res.clone().text();
  await cache.put(SHELL_KEY, res);
  const assets = new Set();
  for (const m of html.matchAll(/(?:href|src|module_or_path:)\s*=?\s*["']([^"']+)["']/g)) {
    const url = new URL(m[1], self.location.origin);
    if (url.origin === self.location.origin && url.pathname !== '/') assets.add(url.pathname);
  }
  let complete = true;
  for (const path of assets) {
    if (await cache.match(path)) continue;
    // Only the file itself: the relay answers a name it does not have (during a
    // release, say) with the app's page, which must never stand in for a file.
    const file = await fetch(path).catch(() => null);
    const type = file?.headers.get('content-type') || '';
    if (file?.ok && !type.startsWith('text/html')) {
      await cache.put(path, file).catch(() => { complete = false; });
    } else {
      complete = false;
    }
  }
  // Once this build's files are all here, those of older builds go (each build
  // adds a few megabytes, and the device's storage also holds the cases).
  if (complete) {
    for (const req of await cache.keys()) {
      const path = new URL(req.url).pathname;
      if (path !== SHELL_KEY && !assets.has(path)) await cache.delete(req);
    }
  }
}

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((n) => n.startsWith(CACHE_PREFIX) && n !== CACHE)
          .map((n) => caches.delete(n))
      );
      await self.clients.claim();
    })()
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;

  // Only plain same-origin GETs are ever cached.
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;

  // Case data and the sync channel must never be cached.
  if (url.pathname.startsWith('/api/') || url.pathname === '/api') return;
  if (url.pathname === '/sync' || url.pathname.startsWith('/sync/')) return;
  if (req.headers.get('upgrade') === 'websocket') return;

  const accept = req.headers.get('accept') || '';
  if (req.mode === 'navigate' || accept.includes('text/html')) {
    event.respondWith(navigation(req, event));
    return;
  }

  event.respondWith(asset(req));
});

// Network-first for pages: always serve the newest shell when online, but
// fall back to the cached shell after a timeout or on failure. Every route
// (e.g. /case/abc) is client-side, so one cached '/' serves all deep links.
async function navigation(req, event) {
  const cache = await caches.open(CACHE);
  try {
    const res = await withTimeout(fetch(req), NAV_TIMEOUT_MS);
    if (res.ok) {
      // Kept alive until done: after a release this fetches the new build's files.
      event.waitUntil(keepShell(res.clone()).catch(() => {}));
    }
    return res;
  } catch (_) {
    const cached = await cache.match(SHELL_KEY);
    if (cached) return cached;
    return new Response('TAC Planner is offline and has not been opened on this device before.', {
      status: 503,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    });
  }
}

// Cache-first for static assets: hashed names mean a cached file is never
// stale, and a new build simply requests new names.
async function asset(req) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(req);
  if (cached) return cached;
  const res = await fetch(req);
  // The relay answers an address it does not have (a file of an older build, say) with the
  // app's page: never keep that under the file's name, or it would stand in for it for good.
  const type = res.headers.get('content-type') || '';
  if (res.ok && !type.startsWith('text/html')) {
    cache.put(req, res.clone()).catch(() => {});
  }
  return res;
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      }
    );
  });
}
