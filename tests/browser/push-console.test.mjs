// The console as an installed web app, in headless chromium against a real
// relay: its manifest and service worker (the shell opens with the relay
// down), a push message shown as a notification by the service worker and
// its click opening the conversation, the `visible` frames the relay's push
// decision rests on, and the "Notifications on this device" toggle.
//
// Headless chromium has no push service and no notification UI: push
// messages are delivered through the DevTools protocol
// (ServiceWorker.deliverPushMessage) into the service worker's real push
// handler, and a click runs the worker's own openConversation() (what its
// notificationclick listener calls) on the real Notification.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { startRelay, browser, until, sleep, SHOTS, signedInConsole, wsVisitor, TOKEN, apiCall } from './lib.mjs';
import { startPushService } from './push-service.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let relay, chrome;
/** Two conversations on the demo site: {conv, texts}. */
const convs = [];

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password]);
  chrome = await browser();
  for (const [id, texts] of [['vpushaa1', ['Is the blue one in stock?']], ['vpushbb2', ['Where is my order?', 'It was due Monday.']]]) {
    const v = await wsVisitor(relay, id);
    let conv;
    for (const t of texts) conv = (await v.send(t)).conv;
    convs.push({ conv, texts });
    v.close();
  }
});

after(async () => {
  await chrome?.close();
  await relay?.close();
});

/** Records the console's `visible` frames as it sends them. */
const recordVisible = (ctx) => ctx.addInitScript(() => {
  const send = WebSocket.prototype.send;
  window.__visible = [];
  WebSocket.prototype.send = function (d) {
    try {
      const f = JSON.parse(d);
      if (f.type === 'visible') window.__visible.push(f.visible);
    } catch (e) { /* not JSON: not ours to record */ }
    return send.call(this, d);
  };
});

/** A signed-in console controlled by its (activated) service worker. */
async function controlledConsole(ctx) {
  const c = await signedInConsole(relay, ctx, OWNER);
  await until(() => c.evaluate(() => !!navigator.serviceWorker.controller), 15000, 'service worker controls the console');
  return c;
}

/** Delivers push message texts to the service worker of console page `c`
 *  through the DevTools protocol (headless chromium has no push service). */
async function pushChannel(ctx, c) {
  const cdp = await ctx.newCDPSession(c);
  const regs = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => regs.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  const reg = await until(() => regs.find((r) => r.scopeURL === relay.base + '/console/' && !r.isDeleted), 10000, 'registration');
  return (text) => cdp.send('ServiceWorker.deliverPushMessage', {
    origin: relay.base, registrationId: reg.registrationId, data: text,
  });
}

const notifications = (c) => c.evaluate(async () => {
  const reg = await navigator.serviceWorker.ready;
  return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
});

const chatTexts = (c) => c.evaluate(() => Array.from(document.querySelectorAll('.chat .messages .msg .bubble')).map((b) => b.textContent));

test('console app: manifest parsed, service worker caches the shell, the shell opens with the relay down', async () => {
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  await recordVisible(ctx);
  const c = await controlledConsole(ctx);
  const cdp = await ctx.newCDPSession(c);

  const m = await cdp.send('Page.getAppManifest');
  assert.deepEqual(m.errors, [], 'manifest errors');
  assert.equal(m.url, relay.base + '/console/manifest.webmanifest');
  const manifest = JSON.parse(m.data);
  assert.equal(manifest.name, 'kefu console');
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.scope, '/console/');
  const sizes = manifest.icons.map((i) => i.sizes + ' ' + i.purpose).sort();
  assert.deepEqual(sizes, ['192x192 any', '512x512 any', '512x512 maskable']);
  for (const icon of manifest.icons) {
    const r = await fetch(new URL(icon.src, m.url));
    assert.equal(r.status, 200, icon.src);
    assert.equal(r.headers.get('content-type'), 'image/png');
  }
  const mr = await fetch(m.url);
  assert.equal(mr.headers.get('content-type'), 'application/manifest+json');
  // Chromium's own verdict. A Playwright context is an incognito profile,
  // where nothing installs; anything else would be the console's fault.
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito'), []);
  assert.equal(await c.evaluate(() => document.querySelector('meta[name=theme-color]').content), manifest.theme_color);

  // The cache is named after the build and holds the whole shell.
  const cached = await c.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names[0]);
    return { names, urls: (await cache.keys()).map((r) => new URL(r.url).pathname).sort() };
  });
  assert.equal(cached.names.length, 1);
  assert.match(cached.names[0], /^kefu-console-[0-9a-f]{16}$/, 'a build-versioned cache (make wasm writes the hash)');
  for (const f of ['/console/', '/console/console.css', '/console/boot.js', '/console/kefu_console.js', '/console/kefu_console_bg.wasm']) {
    assert.ok(cached.urls.includes(f), f + ' cached; have ' + cached.urls);
  }
  assert.ok(!cached.urls.some((u) => u.startsWith('/v1/')), 'no API answer is cached');
  assert.deepEqual(await c.evaluate(() => window.__visible), [true], 'visible:true after welcome');

  // The relay goes down: a reload still opens the console (from the cache)
  // and it waits for the relay; back up, it signs in again by itself.
  await relay.stop();
  const fromWorker = [];
  c.on('response', (r) => { if (new URL(r.url()).pathname.startsWith('/console/')) fromWorker.push([new URL(r.url()).pathname, r.fromServiceWorker()]); });
  await c.reload();
  await c.locator('.boot', { hasText: 'Connecting to the relay' }).waitFor({ timeout: 15000 });
  await c.locator('.boot .error', { hasText: 'Cannot reach the relay' }).waitFor({ timeout: 15000 });
  for (const f of ['/console/', '/console/kefu_console_bg.wasm']) {
    assert.deepEqual(fromWorker.find(([p]) => p === f), [f, true], f + ' served by the service worker');
  }
  await c.screenshot({ path: path.join(SHOTS, 'console-offline-shell-1280x800.png') });
  await relay.start();
  await c.locator('.topbar').waitFor({ timeout: 20000 });
  await until(async () => (await c.locator('.banner').count()) === 0, 20000, 'reconnected');
  assert.deepEqual(await c.evaluate(() => window.__visible), [true], 'the reloaded page says visible after its welcome');
  await ctx.close();
});

test('console app: a push shows a notification only with no console in view; its click opens the conversation', async () => {
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.grantPermissions(['notifications'], { origin: relay.base });
  await recordVisible(ctx);
  const c = await controlledConsole(ctx);
  const deliver = await pushChannel(ctx, c);
  const push = (payload) => deliver(JSON.stringify(payload));
  const [first, second] = convs;

  // The console tab tells the relay when it is hidden and shown again.
  // (Headless chromium keeps every tab visible, so the page is told it is
  // hidden: the console's own listener reads document.visibilityState.)
  await until(async () => (await c.evaluate(() => window.__visible)).length === 1, 10000, 'visible after welcome');
  await c.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await until(async () => (await c.evaluate(() => window.__visible)).length === 2, 5000, 'visible:false sent');
  await c.evaluate(() => {
    delete document.visibilityState;
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await until(async () => (await c.evaluate(() => window.__visible)).length === 3, 5000, 'visible:true sent');
  assert.deepEqual(await c.evaluate(() => window.__visible), [true, false, true]);

  // A console in view shows messages itself: no notification.
  await push({ kind: 'message', site: 'demo', conv: first.conv, title: 'Visitor vpushaa1', body: first.texts[0] });
  // Malformed payloads are ignored, not shown.
  await push({ kind: 'bogus', site: 'demo', conv: first.conv, title: 'x', body: 'x' });
  await sleep(500);
  assert.deepEqual(await notifications(c), []);

  // The console is closed (its tab shows another page): the push shows.
  await c.goto('about:blank');
  const payload = { kind: 'message', site: 'demo', conv: second.conv, title: 'Visitor vpushbb2', body: second.texts[1] };
  const sw = ctx.serviceWorkers().find((w) => w.url() === relay.base + '/console/sw.js');
  assert.ok(sw, 'the console service worker runs');
  // The worker may still see the leaving page for a moment.
  await until(() => sw.evaluate(async () => (await self.clients.matchAll({ type: 'window', includeUncontrolled: true })).length === 0), 10000, 'no console window left');
  await push(payload);
  const shown = await until(async () => {
    const list = await sw.evaluate(async () => (await self.registration.getNotifications())
      .map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })));
    return list.length ? list : null;
  }, 10000, 'notification shown');
  assert.equal(shown.length, 1);
  assert.equal(shown[0].title, payload.title);
  assert.equal(shown[0].body, payload.body);
  assert.equal(shown[0].tag, second.conv);
  assert.equal(shown[0].data.conv, second.conv);
  assert.equal(shown[0].data.site, 'demo');
  assert.equal(shown[0].data.url, `${relay.base}/console/#/inbox/demo/${second.conv}`);
  console.log('notification shown:', JSON.stringify(shown[0]));

  // The agent opens the console on Settings, then clicks the notification:
  // the open window is told to open that conversation.
  await c.goto(relay.base + '/console/');
  await c.locator('.topbar').waitFor({ timeout: 15000 });
  await c.click('[data-nav=settings]');
  await c.locator('.device-push').waitFor();
  const clicked = await sw.evaluate(async () => {
    const [n] = await self.registration.getNotifications();
    const win = await openConversation(n);
    return { window: win ? new URL(win.url).pathname : null, left: (await self.registration.getNotifications()).length };
  });
  assert.deepEqual(clicked, { window: '/console/', left: 0 }, 'the open console window was used; the notification closed');
  await c.locator(`.chat[data-conv="${second.conv}"]`).waitFor({ timeout: 10000 });
  await until(async () => JSON.stringify(await chatTexts(c)) === JSON.stringify(second.texts), 10000, 'the conversation\'s messages');
  assert.equal(await c.evaluate(() => location.hash), '#/inbox');
  await c.screenshot({ path: path.join(SHOTS, 'console-push-opened-1280x800.png') });

  // The tab's own notification (a new visitor writes while the agent looks
  // at another conversation) is shown through the worker too, so its click
  // opens that conversation.
  const v = await wsVisitor(relay, 'vpushcc3');
  const third = (await Promise.race([v.send('Also in red?'), sleep(10000).then(() => ({}))])).conv;
  v.close();
  assert.ok(third, 'the new visitor\'s message was acked');
  const own = await until(async () => (await notifications(c)).find((n) => n.tag === third), 10000, 'the tab\'s notification');
  assert.equal(own.body, 'Also in red?');
  assert.equal(own.data.url, `${relay.base}/console/#/inbox/demo/${third}`);
  await sw.evaluate(async () => openConversation((await self.registration.getNotifications())[0]));
  await c.locator(`.chat[data-conv="${third}"]`).waitFor({ timeout: 10000 });
  await until(async () => JSON.stringify(await chatTexts(c)) === JSON.stringify(['Also in red?']), 10000, 'the new conversation');
  await ctx.close();
});

// End to end: the relay's own push (encrypted and signed for the stand-in
// push service, which checks and decrypts it) is what the service worker
// receives, shows, and opens on click.
test('console app: the relay\'s push, decrypted by the push service, is the notification the worker shows and opens', async () => {
  const api = (method, p, body) => apiCall(relay, method, p, TOKEN, body);
  const svc = await startPushService({ vapidKey: (await api('GET', '/v1/api/push/key')).body.public_key });
  const sub = svc.subscribe();
  assert.equal((await api('POST', '/v1/api/push/subscriptions', sub)).status, 201);
  try {
    // No console of this agent is open: a visitor's first message is pushed.
    const v = await wsVisitor(relay, 'vpushe2e');
    const { conv } = await v.send('Can I still change my order?');
    v.close();
    const rec = await svc.waitFor((r) => r.payload && r.payload.conv === conv, 20000);
    assert.equal(svc.rejected.length, 0, 'the push service accepted the relay\'s wire format');
    assert.equal(rec.payload.kind, 'new_conversation');
    assert.equal(rec.payload.body, 'Can I still change my order?');

    // That plaintext, delivered to the console's service worker.
    const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    await ctx.grantPermissions(['notifications'], { origin: relay.base });
    const c = await controlledConsole(ctx);
    const deliver = await pushChannel(ctx, c);
    const sw = ctx.serviceWorkers().find((w) => w.url() === relay.base + '/console/sw.js');
    await c.goto('about:blank');
    await until(() => sw.evaluate(async () => (await self.clients.matchAll({ type: 'window', includeUncontrolled: true })).length === 0), 10000, 'no console window left');
    await deliver(rec.text);
    const [shown] = await until(async () => {
      const list = await sw.evaluate(async () => (await self.registration.getNotifications())
        .map((n) => ({ title: n.title, body: n.body, tag: n.tag })));
      return list.length ? list : null;
    }, 10000, 'notification shown');
    assert.deepEqual(shown, { title: rec.payload.title, body: rec.payload.body, tag: conv });
    // The agent comes back to the console; a click (the listener's own
    // function) opens that conversation in it.
    await c.goto(relay.base + '/console/');
    await c.locator('.topbar').waitFor({ timeout: 15000 });
    await sw.evaluate(async () => openConversation((await self.registration.getNotifications())[0]));
    await c.locator(`.chat[data-conv="${conv}"]`).waitFor({ timeout: 15000 });
    await until(async () => JSON.stringify(await chatTexts(c)) === JSON.stringify(['Can I still change my order?']), 10000, 'its message');
    await ctx.close();
  } finally {
    await api('DELETE', '/v1/api/push/subscriptions', { endpoint: sub.endpoint });
    await svc.close();
  }
});

test('console app: a conversation link opens the chat pane on a phone', async () => {
  const ctx = await chrome.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const c = await signedInConsole(relay, ctx, OWNER);
  // What openWindow(url) of a click with no console open does: a fresh
  // page at the conversation's address (the session is remembered).
  await c.goto('about:blank');
  await c.goto(`${relay.base}/console/#/inbox/demo/${convs[0].conv}`);
  await c.locator(`.chat[data-conv="${convs[0].conv}"]`).waitFor({ timeout: 15000 });
  await until(async () => JSON.stringify(await chatTexts(c)) === JSON.stringify(convs[0].texts), 10000, 'messages');
  assert.equal(await c.locator('.inbox').getAttribute('data-pane'), 'chat');
  assert.ok(await c.locator('.chat .composer textarea').isVisible(), 'the reply box shows');
  assert.equal(await c.locator('.convs').isVisible(), false, 'the list is a separate view');
  await c.screenshot({ path: path.join(SHOTS, 'console-push-link-375x812.png') });
  // A link to a conversation that does not exist says so.
  await c.goto('about:blank');
  await c.goto(`${relay.base}/console/#/inbox/demo/nosuchconv`);
  await c.locator('.toast', { hasText: 'That conversation was not found.' }).waitFor({ timeout: 15000 });
  await ctx.close();
});

/** The toggle's state, text and error. */
const toggle = (c) => c.evaluate(() => {
  const s = document.querySelector('.device-push');
  const input = s.querySelector('input[role=switch]');
  const err = s.querySelector('[role=alert]');
  return { state: s.dataset.pushState, checked: input.checked, disabled: input.disabled, error: err ? err.textContent : null };
});

for (const [w, h] of [[1280, 800], [375, 812]]) {
  test(`console app: the notifications toggle at ${w}×${h}`, async () => {
    const ctx = await chrome.newContext({ viewport: { width: w, height: h }, isMobile: w < 500, hasTouch: w < 500 });
    const c = await signedInConsole(relay, ctx, OWNER);
    await c.click('[data-nav=settings]');
    await until(async () => (await toggle(c)).state === 'off', 10000, 'toggle off');
    assert.deepEqual(await toggle(c), { state: 'off', checked: false, disabled: false, error: null });
    const box = await c.locator('.device-push .switch').boundingBox();
    assert.ok(box.height >= 44 && box.x >= 0 && box.x + box.width <= w, 'touch-sized, on screen: ' + JSON.stringify(box));
    assert.ok(await c.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no sideways scroll');
    await c.locator('.device-push').screenshot({ path: path.join(SHOTS, `console-push-toggle-off-${w}x${h}.png`) });
    await c.screenshot({ path: path.join(SHOTS, `console-settings-push-${w}x${h}.png`) });

    // Turning on: notifications are allowed, then either the relay has no
    // push routes (until its half lands) or the browser's push service
    // refuses (a Playwright context is an incognito profile, where
    // Chromium offers no push): the agent is told which; the toggle stays
    // off and no subscription is left behind.
    await ctx.grantPermissions(['notifications'], { origin: relay.base });
    const relayHasPush = (await fetch(relay.base + '/v1/api/push/key')).status !== 404;
    const turnOn = async () => {
      const before = (await toggle(c)).error;
      await c.click('.device-push .switch');
      const t = await until(async () => { const t = await toggle(c); return t.error && t.error !== before && !t.disabled ? t : null; }, 30000, 'an answer');
      assert.equal(t.state, 'off');
      assert.equal(t.checked, false);
      assert.equal(await c.evaluate(async () => (await navigator.serviceWorker.ready).pushManager.getSubscription()), null, 'no stale subscription left');
      console.log(`toggle at ${w}px:`, t.error);
      return t.error;
    };
    if (!relayHasPush) {
      assert.equal(await turnOn(), 'This relay does not offer Web Push: no such path');
      await c.screenshot({ path: path.join(SHOTS, `console-settings-push-error-${w}x${h}.png`) });
      // A P-256 key the test made stands in for the relay's, so the
      // browser's subscribe runs with a well-formed applicationServerKey.
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = publicKey.export({ format: 'jwk' });
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]).toString('base64url');
      await ctx.route('**/v1/api/push/key', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ public_key: point }) }));
    }
    assert.match(await turnOn(), /^The browser's push service refused: AbortError: Registration failed/);
    await c.locator('.device-push').screenshot({ path: path.join(SHOTS, `console-push-toggle-refused-${w}x${h}.png`) });

    // Refused in the browser (Playwright cannot deny a permission, so the
    // page's Notification.permission reads "denied"): the toggle says so
    // and cannot be switched; the page is asked again on each visit.
    await c.evaluate(() => Object.defineProperty(Notification, 'permission', { configurable: true, get: () => 'denied' }));
    await c.click('[data-nav=inbox]');
    await c.click('[data-nav=settings]');
    await until(async () => (await toggle(c)).state === 'blocked', 10000, 'blocked');
    assert.deepEqual(await toggle(c), { state: 'blocked', checked: false, disabled: true, error: null });
    assert.match(await c.locator('#push-state').textContent(), /^Blocked by the browser/);
    await c.locator('.device-push').screenshot({ path: path.join(SHOTS, `console-push-toggle-blocked-${w}x${h}.png`) });
    await ctx.close();
  });
}
