// The wasm widget gets an agent's message seen, in headless chromium against
// a real relay: the unread badge and the open panel survive navigation and
// reloads, a message while closed shows a preview card (or opens the panel,
// per site), a beep after a user interaction, the title flashes in a hidden
// tab, times on messages, "Ada is typing…", the closed line, and a refused
// origin says so once instead of reconnecting forever.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, hostServer, page, agent, browser, until, widgetTexts, sleep, SHOTS, signedInConsole } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const ADA = { name: 'Ada', email: 'ada@example.com', password: 'ada-password-1' };
let relay, host, chrome, auth, ada;

/** Counts beeps (oscillators started) and lets a test hide the tab:
 *  `window.__hide(true)` makes `document.hidden` true and fires
 *  `visibilitychange`, as switching tabs does. */
function instrument() {
  window.__beeps = 0;
  const AC = window.AudioContext;
  if (AC) {
    const orig = AC.prototype.createOscillator;
    AC.prototype.createOscillator = function () { window.__beeps++; return orig.call(this); };
  }
  let hidden = false;
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  window.__hide = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
}

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password]);
  host = await hostServer({
    '/': () => page(relay, { title: 'Demo shop', body: '<h1>Demo shop</h1><p><a id="next" href="/pricing">Pricing</a></p>' }),
    '/pricing': () => page(relay, { title: 'Pricing', body: '<h1>Pricing</h1><p><a id="home" href="/">Home</a></p>' }),
    '/plain': () => '<!doctype html><title>No widget</title><p>A page without the snippet.</p>',
  });
  chrome = await browser();
  const login = await (await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) })).json();
  auth = { authorization: 'Bearer ' + login.token };
  // Ada, an agent of the demo site, as visitors see her on messages.
  const r = await fetch(relay.base + '/v1/api/agents', {
    method: 'POST', headers: auth, body: JSON.stringify({ ...ADA, role: 'agent', sites: ['demo'] }),
  });
  assert.ok(r.status === 200 || r.status === 201, await r.text());
  const adaLogin = await (await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify({ email: ADA.email, password: ADA.password }) })).json();
  ada = adaLogin.token;
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

/** PATCHes the demo site (widget settings merged into the current ones). */
async function patchSite(body) {
  const site = await (await fetch(relay.base + '/v1/api/sites/demo', { headers: auth })).json();
  const patch = { ...body };
  if (body.widget) patch.widget = { ...site.widget, ...body.widget };
  const r = await fetch(relay.base + '/v1/api/sites/demo', { method: 'PATCH', headers: auth, body: JSON.stringify(patch) });
  assert.equal(r.status, 200, await r.text());
}

async function booted(p) {
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
}

async function openPage(ctx, url = host.url + '/') {
  const p = await ctx.newPage();
  await p.addInitScript(instrument);
  await p.goto(url);
  await booted(p);
  return p;
}

const w = (p, sel) => p.locator('kefu-widget ' + sel);
const badge = async (p) => ((await w(p, '.n').isVisible()) ? w(p, '.n').textContent() : '');
const panelOpen = (p) => w(p, '.p').isVisible();
const card = async (p) => ((await w(p, '.v').isVisible())
  ? { name: await w(p, '.v .w u').textContent(), text: await w(p, '.v .w span').textContent() } : null);

async function say(p, text) {
  await w(p, 'textarea').fill(text);
  await w(p, 'textarea').press('Enter');
}

/** A visitor who wrote once (panel then closed): the page, its
 *  conversation and visitor id, and an agent connection. */
async function visitorWithConversation(ctx, a, text) {
  const p = await openPage(ctx);
  await w(p, '.b').click();
  await say(p, text);
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === text);
  await w(p, '.x').click();
  return { p, conv: ev.conv, vid: ev.from.id };
}

let n = 0;
const agentSays = async (a, conv, text) => {
  const cid = 'att-' + (++n);
  a.send({ type: 'send', conv, cid, text });
  await a.waitFor((f) => f.type === 'ack' && f.cid === cid);
};

test('unread: the badge counts every unread agent message, across a navigation, a reload and a return', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const { p, conv } = await visitorWithConversation(ctx, a, 'unread test: hello');
  await agentSays(a, conv, 'First reply');
  await agentSays(a, conv, 'Second reply');
  await until(async () => (await badge(p)) === '2', 10000, 'badge 2');
  assert.deepEqual(await card(p), { name: 'Demo Agent', text: 'Second reply' }, 'the preview shows the newest');

  // A link to another page of the host site: still 2, still the card.
  await p.click('#next');
  await booted(p);
  assert.equal(await p.title(), 'Pricing');
  await until(async () => (await badge(p)) === '2', 5000, 'badge 2 after navigating');
  assert.equal(await panelOpen(p), false, 'still closed');
  assert.deepEqual(await card(p), { name: 'Demo Agent', text: 'Second reply' });
  await p.reload();
  await booted(p);
  await until(async () => (await badge(p)) === '2', 5000, 'badge 2 after reloading');

  // Away from the site while two more replies come: back, the badge says 4.
  await p.goto(host.url + '/plain');
  await agentSays(a, conv, 'Third reply');
  await agentSays(a, conv, 'Fourth reply');
  await p.goto(host.url + '/');
  await booted(p);
  await until(async () => (await badge(p)) === '4', 10000, 'badge 4 for a returning visitor');
  await until(async () => (await card(p))?.text === 'Fourth reply', 5000, 'newest in the card');

  // Opening the panel reads them all: the relay hears it, the badge goes,
  // and it stays gone on the next page.
  await w(p, '.b').click();
  const read = await a.waitFor((f) => f.type === 'read' && f.side === 'visitor' && f.conv === conv && f.seq >= 5);
  assert.ok(read.seq >= 5);
  assert.equal(await badge(p), '');
  assert.equal(await card(p), null, 'no card while open');
  await w(p, '.x').click();
  await p.click('#next');
  await booted(p);
  await sleep(1000);
  assert.equal(await badge(p), '', 'nothing unread after a navigation');
  await ctx.close();
  a.close();
});

test('open state: an open panel stays open across a navigation and a reload, a closed one closed', async () => {
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await openPage(ctx);
  await w(p, '.b').click();
  assert.equal(await panelOpen(p), true);
  await p.click('#next');
  await booted(p);
  await until(() => panelOpen(p), 5000, 'open after navigating');
  await p.reload();
  await booted(p);
  await until(() => panelOpen(p), 5000, 'open after reloading');
  await w(p, '.x').click();
  await p.click('#home');
  await booted(p);
  await sleep(500);
  assert.equal(await panelOpen(p), false, 'closed stays closed');
  await ctx.close();
});

test('proactive invitation while closed: a preview card with the agent and text, a beep after an interaction, the title flashes while hidden', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await openPage(ctx);
  const pres = await a.waitFor((f) => f.type === 'presence' && f.visitor.page && f.visitor.page.title === 'Demo shop'
    && !a.frames.some((g) => g.type === 'event' && g.from && g.from.id === f.visitor.id));
  const vid = pres.visitor.id;
  a.send({ type: 'invite', site: 'demo', visitor: vid, cid: 'invite-1', text: 'Hi! Can I help you find a size?' });
  await until(async () => (await card(p))?.text === 'Hi! Can I help you find a size?', 10000, 'preview card');
  assert.equal((await card(p)).name, 'Demo Agent');
  assert.equal(await badge(p), '1');
  assert.equal(await panelOpen(p), false, 'preview mode: the panel stays closed');
  assert.equal(await p.evaluate(() => window.__beeps), 0, 'no sound before the visitor interacted with the page');
  await p.screenshot({ path: path.join(SHOTS, 'widget-preview-1280x800.png') });

  // The visitor clicks somewhere on the page, then switches tabs; the next
  // message beeps and the title flashes "(2) New message — …".
  await p.mouse.click(300, 300);
  await p.evaluate(() => window.__hide(true));
  const inv = await a.waitFor((f) => f.type === 'ack' && f.cid === 'invite-1');
  await agentSays(a, inv.conv, 'We have it in blue too.');
  await until(async () => (await card(p))?.text === 'We have it in blue too.', 10000, 'card updated');
  await until(() => p.evaluate(() => window.__beeps === 1), 5000, 'one beep');
  const titles = new Set();
  for (let i = 0; i < 14; i++) { titles.add(await p.title()); await sleep(200); }
  assert.deepEqual([...titles].sort(), ['(2) New message — Demo shop', 'Demo shop'], 'the title alternates');
  await p.evaluate(() => window.__hide(false));
  await until(async () => (await p.title()) === 'Demo shop', 3000, 'title restored when visible');
  await sleep(1500);
  assert.equal(await p.title(), 'Demo shop', 'and stays restored');

  // The card's × hides it (the badge stays); a click on a card opens the panel.
  await w(p, '.v .z').click();
  assert.equal(await card(p), null);
  assert.equal(await badge(p), '2');
  await agentSays(a, inv.conv, 'Just ask!');
  await until(async () => (await card(p))?.text === 'Just ask!', 10000, 'a newer message shows again');
  await w(p, '.v .w').click();
  await until(() => panelOpen(p), 5000, 'card click opens the panel');
  assert.equal(await card(p), null);
  assert.equal(await badge(p), '');
  const texts = (await widgetTexts(p)).map((m) => m.text);
  assert.ok(texts.includes('Hi! Can I help you find a size?') && texts.includes('Just ask!'), JSON.stringify(texts));
  await ctx.close();

  // The same card on a phone.
  const phone = await chrome.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const q = await openPage(phone);
  const pres2 = await a.waitFor((f) => f.type === 'presence' && f.visitor.id !== vid && f.visitor.page && f.visitor.page.title === 'Demo shop'
    && !a.frames.some((g) => g.type === 'event' && g.from && g.from.id === f.visitor.id));
  a.send({ type: 'invite', site: 'demo', visitor: pres2.visitor.id, cid: 'invite-2', text: 'Hello! Free shipping on orders over $50 today.' });
  await until(async () => (await card(q))?.text.startsWith('Hello! Free shipping'), 10000, 'card on a phone');
  const box = await w(q, '.v').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 375, 'the card fits the screen: ' + JSON.stringify(box));
  await q.screenshot({ path: path.join(SHOTS, 'widget-preview-375x812.png') });
  await phone.close();
  a.close();
});

test('per-site "open" (chosen in the console\'s settings): an agent message opens the panel instead of a card', async () => {
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, octx, OWNER);
  await c.click('[data-nav=settings]');
  await c.locator('.appearance select[data-setting=on_agent_message]').selectOption('open');
  await c.locator('.appearance button[type=submit]').click();
  await c.locator('.notice', { hasText: 'Saved' }).waitFor();
  await octx.close();
  const site = await (await fetch(relay.base + '/v1/api/sites/demo', { headers: auth })).json();
  assert.equal(site.widget.on_agent_message, 'open', 'saved by the console');
  const a = await agent(relay);
  try {
    const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    const { p, conv } = await visitorWithConversation(ctx, a, 'open-mode test');
    assert.equal(await panelOpen(p), false);
    await agentSays(a, conv, 'I opened your chat.');
    await until(() => panelOpen(p), 10000, 'panel opened by the message');
    assert.equal(await card(p), null, 'no card');
    await a.waitFor((f) => f.type === 'read' && f.side === 'visitor' && f.conv === conv && f.seq >= 2);
    assert.equal(await badge(p), '');
    await ctx.close();
  } finally {
    await patchSite({ widget: { on_agent_message: 'preview' } });
    a.close();
  }
});

test('times, "Ada is typing…" and "This chat was closed"; the next message reopens', async () => {
  const a = await agent(relay);
  const adaWs = await agent(relay, ada);
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const { p, conv } = await visitorWithConversation(ctx, a, 'Do you ship to Norway?');
  await w(p, '.b').click();
  await agentSays(adaWs, conv, 'Yes, in 3–5 days.');
  adaWs.send({ type: 'typing', conv, on: true });
  await until(async () => (await w(p, '.t').isVisible()) && (await w(p, '.t').textContent()), 10000, 'typing line');
  assert.equal(await w(p, '.t').textContent(), 'Ada is typing…');
  const msgs = await widgetTexts(p);
  const reply = msgs.find((m) => m.text === 'Yes, in 3–5 days.');
  assert.match(reply.time, /^\d{2}:\d{2}$/, 'today: HH:MM');
  const now = await p.evaluate(() => { const d = new Date(); return [d.getHours(), d.getMinutes()]; });
  const [h, m] = reply.time.split(':').map(Number);
  assert.ok(Math.abs(h * 60 + m - (now[0] * 60 + now[1])) <= 2, `local time (${reply.time} vs ${now})`);
  assert.match(msgs.find((x) => x.text === 'Do you ship to Norway?').time, /^\d{2}:\d{2}$/);
  assert.equal(await p.locator('kefu-widget .m u', { hasText: 'Ada' }).count(), 1, 'Ada named on her message');

  adaWs.send({ type: 'close', conv });
  await until(async () => (await widgetTexts(p)).some((x) => x.text === 'This chat was closed'), 10000, 'closed line');
  await p.screenshot({ path: path.join(SHOTS, 'widget-times-typing-closed-1280x800.png') });
  // The closed line is in the stored log: it is there after a reload.
  await p.reload();
  await booted(p);
  await until(async () => (await widgetTexts(p)).some((x) => x.text === 'This chat was closed'), 5000, 'closed line after reload');
  // Tomorrow the same messages read "Yesterday HH:MM".
  await p.clock.setFixedTime(Date.now() + 24 * 3600 * 1000);
  await p.reload();
  await booted(p);
  await until(async () => (await widgetTexts(p)).some((x) => /^Yesterday \d{2}:\d{2}$/.test(x.time)), 5000, 'Yesterday');
  await ctx.close();

  // The visitor writes again: the same conversation reopens.
  const ctx2 = await chrome.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const { p: q, conv: c2 } = await visitorWithConversation(ctx2, a, 'Phone visitor here');
  await w(q, '.b').click();
  await agentSays(adaWs, c2, 'Hi, Ada here.');
  adaWs.send({ type: 'close', conv: c2 });
  await until(async () => (await widgetTexts(q)).some((x) => x.text === 'This chat was closed'), 10000, 'closed line');
  await say(q, 'One more question');
  const again = await a.waitFor((f) => f.type === 'event' && f.text === 'One more question');
  assert.equal(again.conv, c2, 'the conversation reopens');
  await until(async () => (await widgetTexts(q)).at(-1).state === 'Sent', 10000, 'sent after the closed line');
  adaWs.send({ type: 'typing', conv: c2, on: true });
  await until(() => w(q, '.t').isVisible(), 5000, 'typing');
  await q.screenshot({ path: path.join(SHOTS, 'widget-times-typing-closed-375x812.png') });
  await ctx2.close();
  a.close();
  adaWs.close();
});

test('Chinese (site language zh-CN): preview card, times, typing and closed line', async () => {
  await patchSite({ widget: { language: 'zh-CN' } });
  const a = await agent(relay);
  const adaWs = await agent(relay, ada);
  try {
    for (const [vw, vh, mobile] of [[1280, 800, false], [375, 812, true]]) {
      const ctx = await chrome.newContext({ viewport: { width: vw, height: vh }, isMobile: mobile, hasTouch: mobile });
      const { p, conv } = await visitorWithConversation(ctx, a, `你好，请问有货吗？（${vw}）`);
      await agentSays(adaWs, conv, '有的，今天就能发货。');
      await until(async () => (await card(p))?.text === '有的，今天就能发货。', 10000, 'zh card');
      assert.equal((await card(p)).name, 'Ada');
      assert.equal(await w(p, '.v .z').getAttribute('aria-label'), '关闭');
      await p.screenshot({ path: path.join(SHOTS, `widget-preview-zh-${vw}x${vh}.png`) });
      await w(p, '.v .w').click();
      adaWs.send({ type: 'typing', conv, on: true });
      await until(async () => (await w(p, '.t').isVisible()) && (await w(p, '.t').textContent()) === 'Ada 正在输入…', 10000, 'zh typing');
      await sleep(300);
      adaWs.send({ type: 'close', conv });
      await until(async () => (await widgetTexts(p)).some((x) => x.text === '本次对话已结束'), 10000, 'zh closed line');
      adaWs.send({ type: 'typing', conv, on: true });
      await until(() => w(p, '.t').isVisible(), 5000, 'typing');
      await p.screenshot({ path: path.join(SHOTS, `widget-times-typing-closed-zh-${vw}x${vh}.png`) });
      await ctx.close();
    }
  } finally {
    await patchSite({ widget: { language: null } });
    a.close();
    adaWs.close();
  }
});

test('refused origin: one console.warn naming the origin and where to allow it, "Chat unavailable", no reconnect storm', async () => {
  await patchSite({ allowed_origins: ['https://shop.example.com'] });
  try {
    const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    const warns = [];
    let sockets = 0;
    p.on('console', (m) => { if (m.type() === 'warning') warns.push(m.text()); });
    p.on('websocket', () => { sockets++; });
    await p.goto(host.url + '/');
    await booted(p);
    await until(() => warns.length > 0, 10000, 'a warning');
    await sleep(5000); // a reconnect loop would have tried many times by now
    assert.equal(sockets, 1, 'one connection attempt');
    assert.equal(warns.length, 1, 'one warning: ' + JSON.stringify(warns));
    assert.ok(warns[0].includes(host.url), 'names the page origin: ' + warns[0]);
    assert.ok(warns[0].includes('Allowed origins') && warns[0].includes('/console/'), 'says where to allow it: ' + warns[0]);
    await w(p, '.b').click();
    assert.equal(await w(p, '.h small').textContent(), 'Chat unavailable');
    assert.ok((await widgetTexts(p)).some((m) => m.text === 'Chat unavailable'));
    assert.equal(await w(p, 'form:not(.y)').isVisible(), false, 'nothing to write into');
    // Focus and network events do not start it again either.
    await p.evaluate(() => { window.dispatchEvent(new Event('online')); window.dispatchEvent(new Event('focus')); });
    await sleep(1000);
    assert.equal(sockets, 1);
    await p.screenshot({ path: path.join(SHOTS, 'widget-refused-1280x800.png') });
    await ctx.close();
  } finally {
    await patchSite({ allowed_origins: [] });
  }
});
