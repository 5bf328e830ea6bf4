// The ES3 long-poll fallback in chromium with WebSocket and WebAssembly
// deleted before the loader runs (and a second run with only WebAssembly
// deleted): the loader must choose it, and it must keep the same promise —
// exactly once, in order, across offline spells and reloads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, hostServer, page, agent, browser, until, sleep, SHOTS, TOKEN } from './lib.mjs';

let relay, host, chrome;

before(async () => {
  relay = await startRelay(['--longpoll-wait-ms', '3000']);
  host = await hostServer({ '/': () => page(relay, { title: 'Old shop', body: '<h1>Old shop</h1>' }) });
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

const MODES = [
  ['no WebSocket, no WebAssembly', () => { delete window.WebSocket; delete window.WebAssembly; }],
  ['no WebAssembly', () => { delete window.WebAssembly; }],
];

/** The fallback's message texts and states. */
const texts = (p) => p.evaluate(() => {
  const out = [];
  const ms = document.getElementById('kefu-fb').getElementsByTagName('div');
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i];
    if (!/\bkefu-m\b/.test(m.className)) continue;
    const c = m.cloneNode(true);
    Array.from(c.querySelectorAll('u,i,s')).forEach((x) => x.remove());
    out.push({ text: c.textContent, state: (m.querySelector('i') || {}).textContent || '', mine: /kefu-me/.test(m.className) });
  }
  return out;
});

async function openFallback(ctx, strip) {
  const p = await ctx.newPage();
  await p.addInitScript(strip);
  await p.goto(host.url + '/');
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'fallback boot');
  return p;
}

async function say(p, text) {
  await p.fill('#kefu-fb textarea', text);
  await p.press('#kefu-fb textarea', 'Enter');
}

// The visitor's first message and the agent's reply each set
// window.__pwned if the fallback ever parsed them as HTML.
const HELLO = 'hello from an old browser <img src=x onerror="window.__pwned=1">';
const REPLY = '<b>agent</b> reply <img src=x onerror="window.__pwned=1"><a href="javascript:window.__pwned=1">link</a>';

for (const [name, strip] of MODES) {
  test(`${name}: the loader picks the fallback; chat both ways, offline, reload`, async () => {
    const a = await agent(relay);
    const ctx = await chrome.newContext({ viewport: { width: 1024, height: 700 } });
    const p = await openFallback(ctx, strip);
    assert.equal(await p.evaluate(() => window.kefu.mode), 'fallback');
    assert.equal(await p.evaluate(() => document.querySelector('kefu-widget')), null, 'no wasm widget');

    const pres = await a.waitFor((f) => f.type === 'presence' && f.visitor.page && f.visitor.page.title === 'Old shop');
    await p.click('#kefu-fb .kefu-b');
    await say(p, HELLO);
    const ev = await a.waitFor((f) => f.type === 'event' && f.text === HELLO);
    assert.equal(ev.from.id, pres.visitor.id);
    await until(async () => (await texts(p)).some((m) => m.text === HELLO && m.state === 'Sent'), 10000, 'sent');
    // cids are per sender: the demo agent is the same sender in every test.
    a.send({ type: 'send', conv: ev.conv, cid: 'fb-' + name.replace(/\W+/g, '-'), text: REPLY });
    await until(async () => (await texts(p)).some((m) => m.text === REPLY && !m.mine), 10000, 'agent reply shown as text');
    // Nothing became an element; where the link text is, a click does nothing.
    assert.equal(await p.locator('#kefu-fb .kefu-m img, #kefu-fb .kefu-m b, #kefu-fb .kefu-m a[href^="javascript:"]').count(), 0);
    await p.locator('#kefu-fb .kefu-m', { hasText: 'agent' }).last().click();
    a.send({ type: 'typing', conv: ev.conv, on: true });
    await until(() => p.isVisible('#kefu-fb .kefu-t'), 10000, 'agent typing shown');
    await p.screenshot({ path: path.join(SHOTS, `fallback-${name.replace(/\W+/g, '-')}.png`) });

    // Offline: two messages, then back online → each once, in order.
    await ctx.setOffline(true);
    await say(p, 'offline A');
    await say(p, 'offline B');
    await sleep(300);
    await ctx.setOffline(false);
    await p.evaluate(() => window.dispatchEvent(new Event('online')));
    await a.waitFor((f) => f.type === 'event' && f.text === 'offline B', 30000);

    // Reload while unsent: the relay's HTTP endpoints blackholed, one
    // message written, the page reloaded, then the relay reachable again.
    await p.route(/\/v1\/(send|poll)/, (r) => r.abort());
    await sleep(200);
    await say(p, 'unsent at reload');
    await sleep(300);
    await p.reload();
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'fallback boot after reload');
    await until(async () => (await texts(p)).some((m) => m.text === 'unsent at reload' && m.state === 'Sending…'), 10000, 'outbox restored');
    await p.unroute(/\/v1\/(send|poll)/);
    await p.evaluate(() => window.dispatchEvent(new Event('online')));
    await a.waitFor((f) => f.type === 'event' && f.text === 'unsent at reload', 30000);
    await sleep(1500);

    const live = a.messages(ev.conv).map((m) => m.text);
    assert.deepEqual(live, [HELLO, REPLY, 'offline A', 'offline B', 'unsent at reload'],
      'agent saw each message once, in order');
    a.send({ type: 'sync', conv: ev.conv, after: 0 });
    await a.waitFor((f) => f.type === 'synced' && f.conv === ev.conv);
    assert.deepEqual(a.messages(ev.conv).slice(live.length).map((m) => m.text), live, 'stored once each');
    await until(async () => (await texts(p)).filter((m) => m.mine).every((m) => m.state === 'Sent'), 15000, 'all sent');
    const mine = (await texts(p)).filter((m) => m.mine).map((m) => m.text);
    assert.deepEqual(mine, [HELLO, 'offline A', 'offline B', 'unsent at reload']);
    assert.equal(await p.evaluate(() => window.__pwned), undefined);
    // The control: the same markup put into this page as HTML does run.
    await p.evaluate((h) => {
      const d = document.createElement('div');
      d.innerHTML = h.replaceAll('__pwned=1', '__control=(window.__control||0)+1');
      document.body.appendChild(d);
      d.querySelector('a').click();
    }, REPLY);
    await until(() => p.evaluate(() => window.__control === 2), 5000, 'injected markup ran');
    await ctx.close();
    a.close();
  });
}

test('data-fallback="1" forces the fallback on a modern browser', async () => {
  const h = await hostServer({ '/': () => page(relay, { attrs: 'data-fallback="1"' }) });
  const ctx = await chrome.newContext();
  const p = await ctx.newPage();
  await p.goto(h.url + '/');
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'boot');
  assert.equal(await p.evaluate(() => window.kefu.mode), 'fallback');
  await ctx.close();
  await h.close();
});

// Attachments in the fallback. A browser with the File API (IE10+, old
// Android; here chromium without WebAssembly) uploads like the wasm widget;
// one without it (IE8/9: here FormData and File deleted) says so, and
// still receives files as links.
test('fallback attachments: upload where the File API exists, a clear note where not; files received as links', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: { width: 1024, height: 700 } });
  const p = await openFallback(ctx, () => { delete window.WebAssembly; });
  await p.click('#kefu-fb .kefu-b');
  const notes = Buffer.from('order 1234\nsize: M\n');
  await p.setInputFiles('#kefu-fb input[type=file]', { name: 'notes.txt', mimeType: 'text/plain', buffer: notes });
  const ev = await a.waitFor((f) => f.type === 'event' && f.file && f.file.name === 'notes.txt');
  assert.equal(ev.file.class, 'text');
  await until(async () => (await texts(p)).some((m) => m.mine && m.text.includes('notes.txt') && m.state === 'Sent'), 10000, 'file sent');

  // The agent sends a PDF back: a link the visitor can open.
  const doc = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');
  const up = await fetch(relay.base + '/v1/files?site=demo&name=terms.pdf', { method: 'POST', headers: { authorization: 'Bearer ' + TOKEN }, body: doc });
  assert.equal(up.status, 201);
  const att = await up.json();
  a.send({ type: 'send', conv: ev.conv, cid: 'fb-file-1', text: 'our terms', file: att.id });
  const href = await until(() => p.evaluate(() => {
    const l = document.querySelectorAll('#kefu-fb .kefu-m a');
    for (let i = 0; i < l.length; i++) if (/terms\.pdf/.test(l[i].innerText)) return l[i].href;
    return null;
  }), 10000, 'link to the PDF');
  const got = await p.evaluate(async (h) => { const r = await fetch(h); return [r.status, Array.from(new Uint8Array(await r.arrayBuffer()))]; }, href);
  assert.equal(got[0], 200);
  assert.deepEqual(Buffer.from(got[1]), doc);
  await p.screenshot({ path: path.join(SHOTS, 'fallback-attachments.png') });
  await ctx.close();

  // IE8/9: no File API → the paperclip explains instead of failing.
  const old = await chrome.newContext();
  const q = await openFallback(old, () => { delete window.WebAssembly; delete window.WebSocket; delete window.FormData; delete window.File; });
  await q.click('#kefu-fb .kefu-b');
  assert.equal(await q.locator('#kefu-fb input[type=file]').count(), 0);
  await q.click('#kefu-fb .kefu-a');
  await until(async () => (await texts(q)).some((m) => /newer browser/.test(m.text)), 5000, 'note shown');
  await old.close();
  a.close();
});
