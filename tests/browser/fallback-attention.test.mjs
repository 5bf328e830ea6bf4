// The ES3 fallback (chromium with WebSocket and WebAssembly deleted) gets an
// agent's message seen the way the wasm widget does: unread and the open
// panel survive a navigation and a reload, a preview card, times, the typing
// agent's name, the closed line, and a refused origin warns once and stops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, hostServer, page, agent, browser, until, sleep, SHOTS } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let relay, host, chrome, auth;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password, '--longpoll-wait-ms', '3000']);
  host = await hostServer({
    '/': () => page(relay, { title: 'Old shop', body: '<h1>Old shop</h1><a id="next" href="/about">About</a>' }),
    '/about': () => page(relay, { title: 'About', body: '<h1>About</h1>' }),
  });
  chrome = await browser();
  const login = await (await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) })).json();
  auth = { authorization: 'Bearer ' + login.token };
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

const strip = () => { delete window.WebSocket; delete window.WebAssembly; };

async function booted(p) {
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'fallback'), 15000, 'fallback boot');
}

const vis = (p, sel) => p.evaluate((s) => { const e = document.querySelector(s); return !!e && e.style.display !== 'none'; }, sel);
const txt = (p, sel) => p.evaluate((s) => { const e = document.querySelector(s); return e ? e.innerText : null; }, sel);
const badge = async (p) => ((await vis(p, '#kefu-fb .kefu-n')) ? txt(p, '#kefu-fb .kefu-n') : '');
/** Messages: text without name, time and state; and the time shown. */
const msgs = (p) => p.evaluate(() => Array.from(document.querySelectorAll('#kefu-fb .kefu-m')).map((m) => {
  const c = m.cloneNode(true);
  c.querySelectorAll('u,i,s').forEach((x) => x.remove());
  return { text: c.textContent, time: (m.querySelector('s') || {}).textContent || '' };
}));

async function say(p, text) {
  await p.fill('#kefu-fb textarea', text);
  await p.press('#kefu-fb textarea', 'Enter');
}

test('fallback: unread and open state across pages, preview card, times, typing name, closed line', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: { width: 1024, height: 700 } });
  await ctx.addInitScript(strip);
  const p = await ctx.newPage();
  await p.goto(host.url + '/');
  await booted(p);
  await p.click('#kefu-fb .kefu-b');
  await say(p, 'old browser hello');
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === 'old browser hello');
  await p.click('#kefu-fb .kefu-x');
  for (const [cid, text] of [['fba-1', 'One'], ['fba-2', 'Two']]) {
    a.send({ type: 'send', conv: ev.conv, cid, text });
    await a.waitFor((f) => f.type === 'ack' && f.cid === cid);
  }
  await until(async () => (await badge(p)) === '2', 10000, 'badge 2');
  await until(async () => (await txt(p, '#kefu-fb .kefu-w')) === 'Demo Agent\nTwo', 5000, 'preview card');
  await p.screenshot({ path: path.join(SHOTS, 'fallback-preview-1024x700.png') });

  await p.click('#next');
  await booted(p);
  await until(async () => (await badge(p)) === '2', 10000, 'badge 2 on the next page');
  await p.reload();
  await booted(p);
  await until(async () => (await badge(p)) === '2', 10000, 'badge 2 after a reload');

  // The card opens the panel; reading clears the badge for good.
  await p.click('#kefu-fb .kefu-w');
  await until(() => vis(p, '#kefu-fb .kefu-p'), 5000, 'panel open');
  await a.waitFor((f) => f.type === 'read' && f.side === 'visitor' && f.conv === ev.conv && f.seq >= 3);
  assert.equal(await badge(p), '');
  assert.equal(await vis(p, '#kefu-fb .kefu-v'), false);
  const shown = await msgs(p);
  assert.match(shown.find((m) => m.text === 'Two').time, /^\d{2}:\d{2}$/);
  assert.match(shown.find((m) => m.text === 'old browser hello').time, /^\d{2}:\d{2}$/);

  // Open stays open on the next page; typing names the agent; the close line.
  await p.goto(host.url + '/');
  await booted(p);
  await until(() => vis(p, '#kefu-fb .kefu-p'), 5000, 'still open after navigating');
  a.send({ type: 'typing', conv: ev.conv, on: true });
  await until(async () => (await txt(p, '#kefu-fb .kefu-t')) === 'Demo Agent is typing…', 10000, 'typing with the name');
  a.send({ type: 'close', conv: ev.conv });
  await until(async () => (await msgs(p)).some((m) => m.text === 'This chat was closed'), 10000, 'closed line');
  await p.screenshot({ path: path.join(SHOTS, 'fallback-times-closed-1024x700.png') });
  await say(p, 'and again');
  const again = await a.waitFor((f) => f.type === 'event' && f.text === 'and again');
  assert.equal(again.conv, ev.conv, 'the conversation reopens');
  assert.equal(await badge(p), '');
  await ctx.close();
  a.close();
});

test('fallback: a refused origin warns once, says "Chat unavailable", and does not retry', async () => {
  const set = (origins) => fetch(relay.base + '/v1/api/sites/demo', { method: 'PATCH', headers: auth, body: JSON.stringify({ allowed_origins: origins }) });
  assert.equal((await set(['https://shop.example.com'])).status, 200);
  try {
    const ctx = await chrome.newContext();
    await ctx.addInitScript(strip);
    const p = await ctx.newPage();
    const warns = [];
    let hellos = 0;
    p.on('console', (m) => { if (m.type() === 'warning') warns.push(m.text()); });
    p.on('request', (r) => { if (/\/v1\/send/.test(r.url()) && /"hello"/.test(r.postData() || '')) hellos++; });
    await p.goto(host.url + '/');
    await booted(p);
    await until(() => warns.length > 0, 10000, 'warning');
    await sleep(4000);
    assert.equal(hellos, 1, 'one hello');
    assert.equal(warns.length, 1, JSON.stringify(warns));
    assert.ok(warns[0].includes(host.url) && warns[0].includes('Allowed origins'), warns[0]);
    await p.click('#kefu-fb .kefu-b');
    assert.equal(await txt(p, '#kefu-fb .kefu-h span'), 'Chat unavailable');
    assert.equal(await vis(p, '#kefu-fb .kefu-f'), false);
    await p.evaluate(() => window.dispatchEvent(new Event('online')));
    await sleep(500);
    assert.equal(hellos, 1, 'online does not retry');
    await ctx.close();
  } finally {
    await set([]);
  }
});
