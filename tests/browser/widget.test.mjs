// The wasm visitor widget in headless chromium, against a real relay and a
// real agent connection. Host pages come from another origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, hostServer, page, agent, browser, until, widgetTexts, sleep, SHOTS } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let relay, host, chrome;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password]);
  host = await hostServer({
    '/': () => page(relay, { title: 'Demo shop', body: '<h1>Demo shop</h1><p>Shoes and more.</p>' }),
    '/hostile': () => page(relay, {
      title: 'Hostile',
      head: `<style>* { all: unset; } div { display: none; } body { display: block; font-size: 40px; }
        p { display: block; color: rgb(200, 0, 0); } button, textarea { z-index: 99999999 !important; font-size: 50px; }</style>`,
      body: '<p id="host-text">The host page keeps its own look.</p>',
    }),
    '/zh': () => page(relay, { title: '商店', attrs: 'data-lang="zh-CN"' }),
    '/forced': () => page(relay, { attrs: 'data-fallback="1"' }),
  });
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

async function openWidget(ctx, url) {
  const p = await ctx.newPage();
  await p.goto(url);
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
  return p;
}

const launcher = (p) => p.locator('kefu-widget .b');
const input = (p) => p.locator('kefu-widget textarea');

async function say(p, text) {
  await input(p).fill(text);
  await input(p).press('Enter');
}

test('wasm widget: visitor and agent talk both ways; unread badge; page tracking', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await openWidget(ctx, host.url + '/');
  assert.equal(await p.evaluate(() => window.kefu.mode), 'wasm', 'the wasm path was chosen');
  const pres = await a.waitFor((f) => f.type === 'presence' && f.visitor.page && f.visitor.page.title === 'Demo shop');
  const vid = pres.visitor.id;

  await launcher(p).click();
  await say(p, 'Hello from the browser');
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === 'Hello from the browser');
  assert.equal(ev.from.side, 'visitor');
  await until(async () => (await widgetTexts(p)).some((m) => m.text === 'Hello from the browser' && m.state === 'Sent'), 10000, 'sent state');

  a.send({ type: 'send', conv: ev.conv, cid: 'a1', text: 'Hi! Agent here.' });
  await until(async () => (await widgetTexts(p)).some((m) => m.text === 'Hi! Agent here.' && !m.mine), 10000, 'agent reply shown');
  // The visitor had the panel open: the agent learns it was read, and the
  // agent's read mark turns the visitor's message to "Read".
  await a.waitFor((f) => f.type === 'read' && f.side === 'visitor' && f.seq >= 2);
  a.send({ type: 'read', conv: ev.conv, seq: ev.seq });
  await until(async () => (await widgetTexts(p)).some((m) => m.text === 'Hello from the browser' && m.state === 'Read'), 10000, 'read state');

  // Typing both ways.
  a.send({ type: 'typing', conv: ev.conv, on: true });
  await until(() => p.locator('kefu-widget .t').isVisible(), 5000, 'agent typing shown');
  await input(p).type('typ');
  await a.waitFor((f) => f.type === 'typing' && f.side === 'visitor' && f.on === true);
  await p.screenshot({ path: path.join(SHOTS, 'widget-1280x800.png') });

  // Closed panel: a new agent message raises the unread badge.
  await p.locator('kefu-widget .x').click();
  a.send({ type: 'send', conv: ev.conv, cid: 'a2', text: 'Are you still there?' });
  await until(async () => (await p.locator('kefu-widget .n').textContent()) === '1', 10000, 'unread badge 1');
  assert.equal(await p.locator('kefu-widget .n').isVisible(), true);
  await p.screenshot({ path: path.join(SHOTS, 'widget-badge-1280x800.png') });

  // SPA navigation reaches the agent as a page view.
  await p.evaluate(() => { document.title = 'Pricing'; history.pushState({}, '', '/pricing'); });
  const moved = await a.waitFor((f) => f.type === 'presence' && f.visitor.id === vid && f.visitor.page && f.visitor.page.url.endsWith('/pricing'));
  assert.equal(moved.visitor.page.title, 'Pricing');
  await ctx.close();
  a.close();
});

test('offline: two messages written offline arrive once, in order, when back online', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext();
  const p = await openWidget(ctx, host.url + '/');
  await launcher(p).click();
  await say(p, 'first, online');
  const first = await a.waitFor((f) => f.type === 'event' && f.text === 'first, online');
  // The agent's event and the widget's ack leave together; on a loaded
  // machine the ack may still be on its way when the agent has the event.
  await until(async () => (await widgetTexts(p)).some((m) => m.text === 'first, online' && m.state === 'Sent'), 10000, 'first sent');
  await ctx.setOffline(true);
  await until(() => p.evaluate(() => !navigator.onLine), 5000, 'offline');
  await say(p, 'offline one');
  await say(p, 'offline two');
  const pending = await widgetTexts(p);
  assert.deepEqual(pending.filter((m) => m.mine).map((m) => m.state), ['Sent', 'Sending…', 'Sending…']);
  await sleep(500);
  assert.equal(a.messages(first.conv).length, 1, 'nothing leaked while offline');
  await ctx.setOffline(false);
  await a.waitFor((f) => f.type === 'event' && f.text === 'offline two');
  await sleep(1000); // any duplicate would have arrived by now
  assert.deepEqual(a.messages(first.conv).map((m) => m.text), ['first, online', 'offline one', 'offline two']);
  await until(async () => (await widgetTexts(p)).filter((m) => m.mine).every((m) => m.state === 'Sent'), 10000, 'all sent');
  await ctx.close();
  a.close();
});

test('reload while a message is unsent: delivered exactly once after reconnecting', async () => {
  const ctx = await chrome.newContext();
  // The relay's WebSocket is blackholed: sockets open, nothing answers.
  let blackhole = false;
  const routes = [];
  await ctx.routeWebSocket(/\/v1\/ws/, (ws) => {
    routes.push(ws);
    if (!blackhole) ws.connectToServer();
  });
  const p = await openWidget(ctx, host.url + '/');
  await launcher(p).click();
  await say(p, 'before the outage');
  await until(async () => (await widgetTexts(p)).some((m) => m.state === 'Sent'), 10000, 'first sent');
  blackhole = true;
  for (const r of routes.splice(0)) await r.close();
  await until(async () => (await p.locator('kefu-widget small').textContent()) === 'Reconnecting…', 10000, 'disconnected');
  await say(p, 'written during the outage');
  assert.equal((await widgetTexts(p)).at(-1).state, 'Sending…');
  await p.reload();
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot after reload');
  await until(async () => (await widgetTexts(p)).some((m) => m.text === 'written during the outage' && m.state === 'Sending…'), 10000, 'outbox restored');
  const a = await agent(relay);
  blackhole = false;
  for (const r of routes.splice(0)) await r.close();
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === 'written during the outage', 30000);
  await sleep(1500);
  const live = a.messages(ev.conv).map((m) => m.text);
  assert.deepEqual(live, ['written during the outage'], 'delivered live once');
  // And stored once: a full replay of the conversation.
  a.send({ type: 'sync', conv: ev.conv, after: 0 });
  await a.waitFor((f) => f.type === 'synced' && f.conv === ev.conv);
  const stored = a.messages(ev.conv).slice(live.length).map((m) => m.text);
  assert.deepEqual(stored, ['before the outage', 'written during the outage']);
  // The history survived the reload too, without duplicates.
  await until(async () => (await widgetTexts(p)).filter((m) => m.mine).every((m) => m.state === 'Sent'), 10000, 'all sent');
  const shown = (await widgetTexts(p)).filter((m) => m.mine).map((m) => m.text);
  assert.deepEqual(shown, ['before the outage', 'written during the outage']);
  await ctx.close();
  a.close();
});

test('no usable localStorage: the visitor id and token live in cookies, so a reload is the same visitor in the same conversation', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext();
  // Storage that is there but refuses writes (old Safari private mode).
  await ctx.addInitScript(() => { Storage.prototype.setItem = function () { throw new Error('QuotaExceededError'); }; });
  const p = await openWidget(ctx, host.url + '/');
  await launcher(p).click();
  await say(p, 'cookie visitor, before the reload');
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === 'cookie visitor, before the reload');
  const jar = async () => Object.fromEntries((await ctx.cookies()).map((c) => [c.name, decodeURIComponent(c.value)]));
  assert.equal((await jar()).kefu_demo_vid, ev.from.id, JSON.stringify(await jar()));
  await until(async () => (await jar()).kefu_demo_tok, 5000, 'token cookie');
  await p.reload();
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot after reload');
  await until(() => p.locator('kefu-widget .p').isVisible(), 5000, 'the panel kept open (a cookie too)');
  await say(p, 'cookie visitor, after the reload');
  const again = await a.waitFor((f) => f.type === 'event' && f.text === 'cookie visitor, after the reload');
  assert.equal(again.from.id, ev.from.id, 'the same visitor');
  assert.equal(again.conv, ev.conv, 'the same conversation');
  await ctx.close();
  a.close();
});

test('hostile host CSS does not break the widget, and the widget does not restyle the host', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await openWidget(ctx, host.url + '/hostile');
  const box = await launcher(p).boundingBox();
  assert.ok(box && box.width >= 50 && box.height >= 50, 'launcher visible: ' + JSON.stringify(box));
  await launcher(p).click();
  assert.equal(await p.locator('kefu-widget .p').isVisible(), true);
  const fs = await input(p).evaluate((e) => getComputedStyle(e).fontSize);
  assert.equal(fs, '15px', 'host font-size does not reach the widget');
  await say(p, 'works on a hostile page');
  await a.waitFor((f) => f.type === 'event' && f.text === 'works on a hostile page');
  const hostLook = await p.locator('#host-text').evaluate((e) => [getComputedStyle(e).color, getComputedStyle(e).fontSize]);
  assert.deepEqual(hostLook, ['rgb(200, 0, 0)', '40px']);
  await p.screenshot({ path: path.join(SHOTS, 'widget-hostile-1280x800.png') });
  await ctx.close();
  a.close();
});

test('mobile: full-screen panel under 480 px; Chinese texts from data-lang', async () => {
  const ctx = await chrome.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const p = await openWidget(ctx, host.url + '/zh');
  await launcher(p).click();
  const box = await p.locator('kefu-widget .p').boundingBox();
  assert.ok(box && box.width === 375 && box.height >= 800, 'full screen: ' + JSON.stringify(box));
  assert.equal(await p.locator('kefu-widget .h b').textContent(), '在线客服');
  await say(p, '你好');
  await until(async () => (await widgetTexts(p)).some((m) => m.text === '你好' && m.state === '已发送'), 10000, 'zh sent');
  await p.screenshot({ path: path.join(SHOTS, 'widget-375x812.png') });
  // Escape closes the panel (keyboard access).
  await input(p).press('Escape');
  assert.equal(await p.locator('kefu-widget .p').isVisible(), false);
  await ctx.close();
});

test('JS API through the queue: calls made before load are replayed; events fire', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext();
  const p = await ctx.newPage();
  await p.addInitScript(() => {
    window.__events = [];
    window.kefu = window.kefu || function () { (window.kefu.q = window.kefu.q || []).push(arguments); };
    window.kefu('on', 'ready', () => window.__events.push('ready'));
    window.kefu('on', 'open', () => window.__events.push('open'));
    window.kefu('on', 'message', (m) => window.__events.push('message:' + m.text));
    window.kefu('on', 'unread', (n) => window.__events.push('unread:' + n));
    window.kefu('identify', { id: 'user-7', name: 'Grace', email: 'grace@example.com' });
    window.kefu('send', 'queued before load');
  });
  await p.goto(host.url + '/');
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === 'queued before load');
  const pres = await a.waitFor((f) => f.type === 'presence' && f.visitor.user && f.visitor.user.name === 'Grace');
  assert.equal(pres.visitor.verified, false, 'no user_hash: not verified');
  a.send({ type: 'send', conv: ev.conv, cid: 'q1', text: 'reply to API' });
  await until(() => p.evaluate(() => window.__events.includes('message:reply to API')), 10000, 'message event');
  await p.evaluate(() => window.kefu('open'));
  await until(() => p.evaluate(() => window.__events.includes('open')), 5000, 'open event');
  const evs = await p.evaluate(() => window.__events);
  assert.ok(evs.includes('ready') && evs.includes('unread:1'), JSON.stringify(evs));
  await ctx.close();
  a.close();
});

/** The launcher's colour and its distance to each side of the viewport,
 *  and the panel's header colour and left edge (as drawn). */
const look = (p) => p.evaluate(() => {
  const r = document.querySelector('kefu-widget').shadowRoot;
  const b = r.querySelector('.b').getBoundingClientRect();
  const panel = r.querySelector('.p').getBoundingClientRect();
  return {
    launcher: getComputedStyle(r.querySelector('.b')).backgroundColor,
    header: getComputedStyle(r.querySelector('.h')).backgroundColor,
    left: Math.round(b.left),
    right: Math.round(innerWidth - b.right),
    panelLeft: Math.round(panel.left),
  };
});

test('the widget draws its colour and side from the site settings', async () => {
  const login = await (await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) })).json();
  const auth = { authorization: 'Bearer ' + login.token };
  const site = await (await fetch(relay.base + '/v1/api/sites/demo', { headers: auth })).json();
  const setWidget = async (w) => {
    // The same PATCH the console's Settings page sends.
    const r = await fetch(relay.base + '/v1/api/sites/demo', { method: 'PATCH', headers: auth, body: JSON.stringify({ widget: { ...site.widget, ...w } }) });
    assert.equal(r.status, 200, await r.text());
  };
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await openWidget(ctx, host.url + '/');
  await launcher(p).click();
  // The defaults: the kefu green, bottom right.
  await until(async () => (await look(p)).launcher === 'rgb(11, 110, 79)', 10000, 'default colour');
  const before = await look(p);
  assert.equal(before.header, 'rgb(11, 110, 79)');
  assert.equal(before.right, 20, 'right side');
  assert.ok(before.panelLeft > 640, 'panel on the right: ' + JSON.stringify(before));

  await setWidget({ color: '#c2185b', position: 'left' });
  await p.reload();
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
  // The panel was open before the reload: it stays open.
  await until(() => p.locator('kefu-widget .p').isVisible(), 5000, 'panel still open');
  await until(async () => (await look(p)).launcher === 'rgb(194, 24, 91)', 10000, 'colour from settings');
  const after = await look(p);
  assert.equal(after.header, 'rgb(194, 24, 91)');
  assert.equal(after.left, 20, 'left side');
  assert.equal(after.panelLeft, 20, 'panel on the left');
  await say(p, 'drawn in the site colour');
  await until(async () => (await widgetTexts(p)).some((m) => m.mine && m.state === 'Sent'), 10000, 'sent');
  const mine = await p.locator('kefu-widget .m.me').first().evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.equal(mine, 'rgb(194, 24, 91)', 'own messages in the site colour');
  await p.screenshot({ path: path.join(SHOTS, 'widget-settings-left-1280x800.png') });

  // The short #rgb form the relay accepts draws the same way.
  await setWidget({ color: '#e91', position: 'right' });
  await p.reload();
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
  await until(async () => (await look(p)).launcher === 'rgb(238, 153, 17)', 10000, '#rgb colour');
  assert.equal((await look(p)).right, 20, 'back on the right');
  await setWidget({});
  await ctx.close();
});
