// The ES3 fallback's forms, in chromium with WebSocket and WebAssembly
// deleted, against a real relay that sends mail (SMTP configured; the mail
// jobs only wait in its queue here): the offline form while every agent is
// away (a bad address refused in the page, the answer and the message
// reaching the relay through the outbox), the pre-chat form with required
// fields and consent (skipped for an identified visitor), the rating after
// an agent closes (a rated event, not asked again after a reload), "Email
// me this chat", Chinese texts, a visitor known by name only asked for an
// email, and a relay without mail that never mentions email.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { startRelay, hostServer, page, agent, apiCall, browser, until, SHOTS, TOKEN } from './lib.mjs';

let relay, plain, host, plainHost, chrome;

async function deadPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  relay = await startRelay(['--longpoll-wait-ms', '3000', '--smtp-url', `smtp://127.0.0.1:${await deadPort()}`, '--mail-from', 'chat@shop.example']);
  const identify = `<script>kefu('identify', {id: 'u-grace', name: 'Grace Hopper'});</script>`;
  host = await hostServer({
    '/': () => page(relay, { title: 'Old shop', body: '<h1>Old shop</h1>' }),
    '/identified': () => page(relay, { title: 'Old shop', body: '<h1>Old shop</h1>' + identify }),
    '/named': () => page(relay, { title: 'Old shop', body: `<script>kefu('identify', {id: 'u-fb-named', name: 'Alan Turing'});</script>` }),
    '/mailed': () => page(relay, { title: 'Old shop', body: `<script>kefu('identify', {id: 'u-fb-mailed', name: 'Edsger', email: 'edsger@example.com'});</script>` }),
  });
  plain = await startRelay(['--longpoll-wait-ms', '3000']);
  plainHost = await hostServer({ '/': () => page(plain, { title: 'Old shop' }) });
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await plainHost?.close();
  await relay?.close();
  await plain?.close();
});

async function patchWidget(widget) {
  const site = (await apiCall(relay, 'GET', '/v1/api/sites/demo', TOKEN)).body;
  const res = await apiCall(relay, 'PATCH', '/v1/api/sites/demo', TOKEN, { widget: { ...site.widget, ...widget } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

const strip = () => { delete window.WebSocket; delete window.WebAssembly; };

async function openFallback(ctx, url = host.url + '/') {
  const p = await ctx.newPage();
  p.on('pageerror', (e) => console.error('pageerror:', e.message));
  await p.addInitScript(strip);
  await p.goto(url);
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'fallback'), 15000, 'fallback boot');
  await until(() => p.evaluate(() => document.querySelector('#kefu-fb .kefu-h span').textContent !== 'Reconnecting…' && document.querySelector('#kefu-fb .kefu-h span').textContent !== '正在重新连接…'), 15000, 'connected');
  await p.click('#kefu-fb .kefu-b');
  return p;
}

/** The fallback's log lines. */
const lines = (p) => p.evaluate(() => Array.from(document.querySelectorAll('#kefu-fb .kefu-m')).map((m) => {
  const c = m.cloneNode(true);
  Array.from(c.querySelectorAll('u,i,s')).forEach((x) => x.remove());
  return c.textContent;
}));
const visible = (p, sel) => p.evaluate((s) => { const e = document.querySelector(s); return !!e && e.offsetParent !== null; }, sel);
const shot = (p, name) => p.screenshot({ path: path.join(SHOTS, name) });
const vid = (p) => p.evaluate(() => localStorage.getItem('kefu:demo:vid'));
const profile = async (v) => (await apiCall(relay, 'GET', `/v1/api/sites/demo/visitors/${v}`, TOKEN)).body;

test('fallback offline form: agents away, mail on; a bad address refused in the page; the answer and the message reach the relay', async () => {
  const a = await agent(relay);
  a.send({ type: 'status', away: true });
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const p = await openFallback(ctx);
    await p.waitForSelector('#kefu-f-email');
    assert.equal(await p.textContent('label[for=kefu-f-email]'), 'Email');
    assert.equal(await p.textContent('label[for=kefu-f-name]'), 'Name (optional)');
    assert.equal(await p.textContent('#kefu-fb .kefu-f .kefu-s'), 'Leave a message');
    await p.fill('#kefu-f-email', 'ada@@example');
    await p.fill('#kefu-fb textarea', 'Do you ship to Norway?');
    await p.press('#kefu-fb textarea', 'Enter');
    assert.equal(await p.textContent('#kefu-f-email-e'), 'Please enter a valid email address');
    assert.equal(await p.getAttribute('#kefu-f-email', 'aria-invalid'), 'true');
    assert.equal(await p.inputValue('#kefu-fb textarea'), 'Do you ship to Norway?', 'the message stays');
    await shot(p, 'fallback-offline-form-desktop.png');
    await p.fill('#kefu-f-email', 'ada@example.com');
    await p.press('#kefu-f-email', 'Enter');
    const m = await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Do you ship to Norway?');
    assert.equal(m.from.side, 'visitor');
    await until(async () => (await lines(p)).includes("We'll reply by email to ada@example.com"), 10000, 'the reply line');
    assert.equal(await p.$('#kefu-f-email'), null, 'the form is gone');
    const v = await vid(p);
    const prof = await until(async () => { const x = await profile(v); return x.user && x.user.email ? x : null; }, 10000, 'contact stored');
    assert.equal(prof.user.email, 'ada@example.com');
    // "Email me this chat" to the address given.
    await p.click('#kefu-fb .kefu-q');
    await until(async () => (await lines(p)).includes("We've emailed you this chat."), 10000, 'mailed');
    await p.reload();
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'fallback'), 15000, 'fallback boot');
    if (!(await visible(p, '#kefu-fb .kefu-p'))) await p.click('#kefu-fb .kefu-b');
    await until(async () => (await lines(p)).includes("We'll reply by email to ada@example.com"), 10000, 'line after reload');
    assert.equal(await p.$('#kefu-f-email'), null, 'not asked again');
    assert.equal(a.messages(m.conv).filter((x) => x.text === 'Do you ship to Norway?').length, 1, 'once');
  } finally {
    a.send({ type: 'status', away: false });
    a.close();
    await ctx.close();
  }
});

test('fallback offline form for a visitor the host page named: asked for an email only, stored with the name; with an email known, not asked', async () => {
  const a = await agent(relay);
  a.send({ type: 'status', away: true });
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const p = await openFallback(ctx, host.url + '/named');
    await p.waitForSelector('#kefu-f-email');
    assert.equal(await p.$('#kefu-f-name'), null, 'the name is known: not asked');
    assert.equal(await p.textContent('#kefu-fb .kefu-f .kefu-s'), 'Leave a message');
    await shot(p, 'fallback-offline-named-desktop.png');
    await p.fill('#kefu-f-email', 'alan@example.com');
    await p.fill('#kefu-fb textarea', 'Is the Enigma kit back in stock?');
    await p.press('#kefu-fb textarea', 'Enter');
    await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Is the Enigma kit back in stock?');
    await until(async () => (await lines(p)).includes("We'll reply by email to alan@example.com"), 10000, 'the reply line');
    const v = await vid(p);
    const prof = await until(async () => { const x = await profile(v); return x.user && x.user.email ? x : null; }, 10000, 'email stored');
    assert.equal(prof.user.email, 'alan@example.com');
    assert.equal(prof.user.name, 'Alan Turing', 'the name stays');

    // A new visitor, the host page passing an email: nothing asked.
    const other = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const m = await openFallback(other, host.url + '/mailed');
      await until(async () => (await lines(m)).some((x) => x.indexOf("We're away right now") === 0), 10000, 'away text');
      assert.equal(await m.evaluate(() => localStorage.getItem('kefu:demo:em')), null, 'no address of its own');
      assert.equal(await m.$('#kefu-f-email'), null, 'identified with an email: not asked');
      assert.equal(await m.textContent('#kefu-fb .kefu-f .kefu-s'), 'Send');
    } finally {
      await other.close();
    }
  } finally {
    a.send({ type: 'status', away: false });
    a.close();
    await ctx.close();
  }
});

test('fallback without mail never mentions email: the no-mail away text and the composer only', async () => {
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const p = await openFallback(ctx, plainHost.url + '/');
    await until(async () => (await lines(p)).some((x) => x.indexOf("We're away right now") === 0), 10000, 'away text');
    assert.ok((await lines(p)).includes("We're away right now. Leave a message and we'll reply here as soon as we're back."), JSON.stringify(await lines(p)));
    assert.equal(await p.$('#kefu-f-email'), null);
    assert.equal(await visible(p, '#kefu-fb .kefu-q'), false, 'no "Email me this chat"');
    const shown = await p.evaluate(() => document.querySelector('#kefu-fb').innerText);
    assert.ok(!/mail/i.test(shown), 'no email anywhere: ' + shown);
  } finally {
    await ctx.close();
  }
});

test('fallback pre-chat form: required fields and consent, stored, then the chat; Chinese on a phone; skipped when identified', async () => {
  await patchWidget({
    prechat: {
      enabled: true, name: 'required', email: 'optional',
      fields: [{ key: 'plan', label: 'Plan', kind: 'select', options: ['Free', 'Pro'], required: true }],
      consent: 'I agree to the privacy policy',
    },
  });
  try {
    const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await openFallback(ctx);
    await p.waitForSelector('#kefu-f-name');
    assert.equal(await visible(p, '#kefu-fb textarea'), false, 'no composer yet');
    await p.click('#kefu-fb .kefu-y .kefu-s');
    for (const id of ['kefu-f-name', 'kefu-f-x_plan', 'kefu-f-consent']) {
      assert.equal(await p.textContent(`#${id}-e`), 'Please fill this in', id);
    }
    await shot(p, 'fallback-prechat-desktop.png');
    await p.fill('#kefu-f-name', 'Ada');
    await p.fill('#kefu-f-email', 'ada@example.com');
    await p.selectOption('#kefu-f-x_plan', 'Pro');
    await p.check('#kefu-f-consent');
    await p.press('#kefu-f-name', 'Enter');
    await until(() => visible(p, '#kefu-fb textarea'), 10000, 'the chat opens');
    const v = await vid(p);
    const prof = await until(async () => { const x = await profile(v); return x.user && x.user.name ? x : null; }, 10000, 'stored');
    assert.equal(prof.user.name, 'Ada');
    assert.equal(prof.user.attributes.plan, 'Pro');
    await ctx.close();

    await patchWidget({ language: 'zh-CN' });
    const phone = await chrome.newContext({ viewport: { width: 375, height: 812 } });
    const q = await openFallback(phone);
    await q.waitForSelector('#kefu-f-name');
    assert.equal(await q.textContent('label[for=kefu-f-name]'), '姓名');
    assert.equal(await q.textContent('#kefu-fb .kefu-y .kefu-s'), '开始对话');
    await shot(q, 'fallback-prechat-zh-phone.png');
    await phone.close();

    const idc = await chrome.newContext();
    const r = await openFallback(idc, host.url + '/identified');
    await until(() => visible(r, '#kefu-fb textarea'), 10000, 'composer');
    assert.equal(await r.$('#kefu-f-name'), null, 'skipped for an identified visitor');
    await idc.close();
  } finally {
    await patchWidget({ prechat: { enabled: false }, language: null });
  }
});

test('fallback rating: after an agent closes, stars and a comment; a rated event; thanks; not asked again after a reload', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const p = await openFallback(ctx);
    await p.fill('#kefu-fb textarea', 'Where is my parcel?');
    await p.press('#kefu-fb textarea', 'Enter');
    const m = await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Where is my parcel?');
    a.send({ type: 'close', conv: m.conv });
    await p.waitForSelector('#kefu-fb .kefu-st a', { timeout: 15000 });
    assert.equal(await p.textContent('#kefu-fb .kefu-fh'), 'How was this chat?');
    assert.equal((await p.$$('#kefu-fb .kefu-st a')).length, 5);
    await p.click('#kefu-fb .kefu-st a[data-s="5"]');
    assert.equal(await p.getAttribute('#kefu-fb .kefu-st a[data-s="5"]', 'aria-checked'), 'true');
    await p.fill('#kefu-f-comment', 'Very helpful');
    await shot(p, 'fallback-rating-desktop.png');
    await p.click('#kefu-fb .kefu-y .kefu-s');
    const r = await a.waitFor((f) => f.type === 'event' && f.kind === 'rated' && f.conv === m.conv);
    assert.equal(r.score, 5);
    assert.equal(r.comment, 'Very helpful');
    await until(async () => (await lines(p)).includes('Thanks for your feedback!'), 10000, 'thanks');
    await p.reload();
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'fallback'), 15000, 'fallback boot');
    if (!(await visible(p, '#kefu-fb .kefu-p'))) await p.click('#kefu-fb .kefu-b');
    await until(async () => (await lines(p)).includes('Thanks for your feedback!'), 10000, 'thanks after reload');
    assert.equal(await p.$('#kefu-fb .kefu-st a'), null, 'not asked again');
  } finally {
    a.close();
    await ctx.close();
  }
});
