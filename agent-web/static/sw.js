// The console's service worker: keeps the console's shell (its page, style,
// scripts, wasm and icons) in a cache named after the build, so the console
// opens without the relay; shows Web Push messages (protocol::api::PushPayload)
// as notifications; and a click on one opens that conversation in a console
// window. API calls (/v1/…) and everything outside /console/ pass untouched.

// scripts/wasm-bundle.sh writes a hash of the shell's files here, so each
// build is a new worker with its own cache.
const VERSION = 'dev';
const CACHE = 'kefu-console-' + VERSION;
const CACHE_PREFIX = 'kefu-console-';
/** The shell, relative to this file (which sits at the scope's root). */
const SHELL = ['./', 'console.css', 'boot.js', 'kefu_console.js', 'kefu_console_bg.wasm',
  'manifest.webmanifest', 'icon-192.png', 'icon-512.png', 'icon-maskable-512.png'];
const KINDS = ['new_conversation', 'message', 'transfer'];

const scope = () => new URL(self.registration.scope);
const inScope = (url) => {
  const u = new URL(url);
  return u.origin === self.location.origin && u.pathname.startsWith(scope().pathname);
};

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || !inScope(req.url)) return;
  event.respondWith(networkFirst(req));
});

/** The relay's answer when it can be reached (and the cache refreshed with
 *  it), else what the cache holds: a console window always opens. */
async function networkFirst(req) {
  const cache = await caches.open(CACHE);
  // Every page of the scope is the one index page (routes are hashes).
  const key = req.mode === 'navigate' ? new URL('./', scope()).href : req;
  try {
    const res = await fetch(req);
    if (res.ok && res.type === 'basic') await cache.put(key, res.clone());
    return res;
  } catch (e) {
    const hit = await cache.match(key, { ignoreSearch: true });
    if (hit) return hit;
    throw e;
  }
}

/** A push message's payload if it is a well-formed PushPayload, else null. */
function parsePayload(data) {
  let p;
  try { p = data && data.json(); } catch (e) { p = null; }
  const str = (v) => typeof v === 'string' && v.length > 0;
  if (!p || !KINDS.includes(p.kind) || !str(p.site) || !str(p.conv) || !str(p.title) || typeof p.body !== 'string') {
    return null;
  }
  return p;
}

/** The console's address of one conversation: `#/inbox/<site>/<conv>`. */
function conversationUrl(site, conv) {
  const hash = '#/inbox/' + encodeURIComponent(site) + '/' + encodeURIComponent(conv);
  return new URL('./' + hash, scope()).href;
}

/** Console windows of this origin, the visible and focused ones first. */
async function consoleWindows() {
  const all = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const rank = (w) => (w.focused ? 2 : 0) + (w.visibilityState === 'visible' ? 1 : 0);
  return all.filter((w) => inScope(w.url)).sort((a, b) => rank(b) - rank(a));
}

/** Shows one push message, unless a console window is in front of the agent
 *  already (it shows the message itself). */
async function showPush(data) {
  const p = parsePayload(data);
  if (!p) {
    console.warn('kefu: a push message that is not a PushPayload was ignored');
    return;
  }
  const wins = await consoleWindows();
  if (wins.some((w) => w.visibilityState === 'visible')) return;
  await self.registration.showNotification(p.title, {
    body: p.body,
    tag: p.conv,
    renotify: true,
    icon: 'icon-192.png',
    timestamp: Date.now(),
    data: { kind: p.kind, site: p.site, conv: p.conv, url: conversationUrl(p.site, p.conv) },
  });
}

/** What a click on a notification does: a console window already open is
 *  told to open the conversation (and brought forward), else a new one
 *  opens at the conversation's address. */
async function openConversation(notification) {
  const { site, conv } = notification.data || {};
  notification.close();
  if (typeof site !== 'string' || typeof conv !== 'string') return null;
  const [win] = await consoleWindows();
  if (!win) return self.clients.openWindow(conversationUrl(site, conv));
  win.postMessage({ type: 'open_conversation', site, conv });
  try {
    await win.focus();
  } catch (e) {
    // Only a real click on the notification may bring a window forward.
  }
  return win;
}

self.addEventListener('push', (event) => event.waitUntil(showPush(event.data)));
self.addEventListener('notificationclick', (event) => event.waitUntil(openConversation(event.notification)));
