// The agents' console (Yew → wasm) in headless chromium, against a real
// relay, with real visitors: the wasm widget on a host page from another
// origin, or plain WebSocket visitors for the 1,000-visitor load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import WebSocket from 'ws';
import { startRelay, hostServer, page, agent, browser, until, widgetTexts, sleep, SHOTS, signedInConsole, wsVisitor } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const ANN = { email: 'ann@example.com', password: 'ann-password-1', name: 'Ann Agent' };
let relay, host, chrome, ownerToken;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password, '--sends-per-ip', '100000', '--page-views-per-ip', '100000']);
  const spa = `<nav><a id="to-shoes" href="#" onclick="history.pushState({}, '', '/shoes'); document.title='Shoes'; return false">Shoes</a></nav>`;
  host = await hostServer({
    '/': () => page(relay, { title: 'Demo shop', body: '<h1>Demo shop</h1>' + spa }),
    '/pricing': () => page(relay, { title: 'Pricing', body: '<h1>Pricing</h1>' }),
  });
  chrome = await browser();
  const r = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) });
  ownerToken = (await r.json()).token;
  const add = await fetch(relay.base + '/v1/api/agents', {
    method: 'POST',
    headers: { authorization: 'Bearer ' + ownerToken },
    body: JSON.stringify({ name: ANN.name, email: ANN.email, password: ANN.password, sites: ['demo'] }),
  });
  assert.equal(add.status, 201);
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

/** A console signed in as `who` (the owner unless told). */
const consolePage = (ctx, who = OWNER) => signedInConsole(relay, ctx, who);

async function visitorPage(ctx, url = host.url + '/') {
  const p = await ctx.newPage();
  await p.goto(url);
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
  return p;
}

async function say(p, text) {
  await p.locator('kefu-widget textarea').fill(text);
  await p.locator('kefu-widget textarea').press('Enter');
}

/** Message bubbles of the open conversation: [{side, text}]. */
const chatTexts = (c) => c.evaluate(() => Array.from(document.querySelectorAll('.chat .messages .msg')).map((m) => ({
  side: m.classList.contains('visitor') ? 'visitor' : 'agent',
  text: m.querySelector('.bubble').textContent,
  pending: m.classList.contains('pending'),
})));

async function reply(c, text) {
  await c.locator('.composer textarea').fill(text);
  await c.locator('.composer textarea').press('Enter');
}

test('console: live visitors with pages, proactive chat, two-way messages, transfer, close', async () => {
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await consolePage(octx);
  await c.click('[data-nav=visitors]');

  const vctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const v = await visitorPage(vctx);
  const row = c.locator('.vrow', { hasText: 'Demo shop' });
  await row.waitFor({ timeout: 15000 });
  const vid = await row.getAttribute('data-visitor');
  assert.match(await row.innerText(), /Chrome \d+ · Linux/);

  // The visitor navigates (SPA pushState, then a real page load): the row
  // follows without a reload of the console.
  await v.click('#to-shoes');
  await until(async () => (await c.locator(`.vrow[data-visitor="${vid}"] .title`).textContent()) === 'Shoes', 10000, 'row shows Shoes');
  assert.equal(await c.locator(`.vrow[data-visitor="${vid}"] .url`).textContent(), '/shoes');
  await v.goto(host.url + '/pricing');
  await until(async () => (await c.locator(`.vrow[data-visitor="${vid}"] .title`).textContent()) === 'Pricing', 10000, 'row shows Pricing');
  await until(() => v.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot again');
  await c.screenshot({ path: path.join(SHOTS, 'console-visitors-1280x800.png') });

  // Proactive chat: the agent invites; the widget opens with the message.
  await c.locator(`.vrow[data-visitor="${vid}"]`).click();
  await c.locator('.detail').waitFor();
  assert.match(await c.locator('.detail').innerText(), /Pricing/);
  await c.fill('.invite textarea', 'Hi! Can I help you choose a plan?');
  await c.click('.invite button[type=submit]');
  await c.locator('.chat[data-conv]').waitFor({ timeout: 10000 });
  await until(async () => (await widgetTexts(v)).some((m) => m.text === 'Hi! Can I help you choose a plan?' && !m.mine), 10000, 'invite reached the widget');

  // Two-way: the invite raised the badge but left the panel closed, so the
  // launcher click opens it.
  await v.locator('kefu-widget .b').click();
  assert.equal(await v.locator('kefu-widget .p').isVisible(), true, 'panel open');
  await say(v, 'Yes — which plan has SSO?');
  await until(async () => (await chatTexts(c)).some((m) => m.side === 'visitor' && m.text === 'Yes — which plan has SSO?'), 10000, 'visitor message in console');
  await reply(c, 'The Team plan.\nIt also has audit logs.');
  await until(async () => (await widgetTexts(v)).some((m) => m.text.includes('The Team plan.') && !m.mine), 10000, 'reply in widget');
  // Seen: the visitor's widget is open, so it reads the reply.
  await until(async () => (await c.locator('.chat .msg.agent .seen').count()) > 0, 10000, 'seen marker');
  // Visitor typing shows in the console.
  await v.locator('kefu-widget textarea').type('thanks');
  await c.locator('.typing-line').waitFor({ timeout: 5000 });
  await c.screenshot({ path: path.join(SHOTS, 'console-inbox-1280x800.png') });

  // Transfer to Ann: her console shows it under Mine, assigned to her.
  const conv = await c.locator('.chat').getAttribute('data-conv');
  const actx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const ann = await consolePage(actx, ANN);
  await c.selectOption('.chat select[data-action=transfer]', { label: ANN.name });
  await until(async () => (await c.locator('.chat header .assignee').textContent()) === 'Assigned to ' + ANN.name, 10000, 'assigned in owner console');
  await ann.click('[data-filter=Mine]');
  await ann.locator(`.conv[data-conv="${conv}"]`).click();
  await until(async () => (await chatTexts(ann)).some((m) => m.text === 'Yes — which plan has SSO?'), 10000, 'history in Ann console');
  await reply(ann, 'Ann here, taking over.');
  await until(async () => (await widgetTexts(v)).some((m) => m.text === 'Ann here, taking over.'), 10000, 'Ann reply in widget');

  // Close: both consoles see it closed; it moves to Closed.
  await ann.click('.chat [data-action=close]');
  await until(async () => (await c.locator('.chat .state').textContent()) === 'closed', 10000, 'closed in owner console');
  await c.click('[data-filter=Closed]');
  await c.locator(`.conv[data-conv="${conv}"]`).waitFor({ timeout: 10000 });
  await c.click('[data-filter="All open"]');
  assert.equal(await c.locator(`.conv[data-conv="${conv}"]`).count(), 0, 'closed conversation left All open');
  await Promise.all([octx.close(), vctx.close(), actx.close()]);
});

/** Elements carrying a payload's code (an attribute or a script body
 *  naming `flag`) in the page and in the widget's shadow root: any is
 *  hostile text that became markup. */
const markupWith = (p, flag) => p.evaluate((f) => {
  const roots = [document];
  const w = document.querySelector('kefu-widget');
  if (w && w.shadowRoot) roots.push(w.shadowRoot);
  return roots.flatMap((r) => Array.from(r.querySelectorAll('*')))
    .filter((e) => Array.from(e.attributes).some((a) => a.value.includes(f)) || (e.tagName === 'SCRIPT' && e.textContent.includes(f)))
    .map((e) => e.outerHTML);
}, flag);

/** The control: `html` put into `p` as markup sets `window[flag]`, so a
 *  check that it stays unset can fail in this page. */
async function markupRuns(p, html, flag) {
  await p.evaluate((h) => {
    const d = document.createElement('div');
    d.id = 'kefu-test-control';
    d.innerHTML = h;
    document.body.append(d);
    d.querySelector('a').click();
  }, html);
  return until(() => p.evaluate((f) => window[f] === 2, flag), 5000, flag + ' set by injected markup')
    .finally(() => p.evaluate(() => document.getElementById('kefu-test-control').remove()));
}

// Each payload sets window.__pwned if it is ever parsed as HTML: the
// image's error handler runs when `x` fails to load, the link runs when the
// bubble is clicked (the script tag runs where markup is written with
// document.write or server-side).
const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=1</script>',
  '<a href="javascript:window.__pwned=1">click me</a>',
];
// The control's markup: one handler that runs on load failure, one on click.
const CONTROL = '<img src=x onerror="window.__control=(window.__control||0)+1"><a href="javascript:window.__control=(window.__control||0)+1">x</a>';

test('console: visitor markup is shown as text and never runs', async () => {
  // The console's CSP would stop inline handlers even if a message became
  // markup; this context bypasses it, so that the checks below test the
  // rendering itself. The CSP, the second wall, is checked at the end.
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  const c = await consolePage(octx);
  const vctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const v = await visitorPage(vctx);
  await v.locator('kefu-widget .b').click();
  for (const p of HOSTILE) await say(v, p);
  await c.locator('.conv', { hasText: 'click me' }).first().click();
  await until(async () => (await chatTexts(c)).filter((m) => m.side === 'visitor').length === 3, 10000, 'three hostile messages');
  const shown = (await chatTexts(c)).filter((m) => m.side === 'visitor').map((m) => m.text);
  assert.deepEqual(shown, HOSTILE, 'shown literally, in order');
  // The agent answers with the same markup: the console shows its own
  // replies, and the widget shows them as the agent's.
  const replies = HOSTILE.map((p) => p.replace('click me', 'agent link'));
  for (const p of replies) await reply(c, p);
  await until(async () => (await widgetTexts(v)).filter((m) => !m.mine && replies.includes(m.text)).length === 3, 10000, 'hostile replies in widget');
  assert.deepEqual((await widgetTexts(v)).filter((m) => m.mine).map((m) => m.text), HOSTILE, 'widget shows the visitor\'s own text literally');
  assert.deepEqual((await widgetTexts(v)).filter((m) => !m.mine && replies.includes(m.text)).map((m) => m.text), replies);
  await until(async () => (await chatTexts(c)).filter((m) => m.side === 'agent' && !m.pending).length === 3, 10000, 'replies acked');
  assert.deepEqual((await chatTexts(c)).filter((m) => m.side === 'agent').map((m) => m.text), replies);
  // Nothing became an element, in the bubbles or in the conversation list.
  assert.equal(await c.locator('.messages img, .messages script, .messages a').count(), 0);
  assert.deepEqual(await markupWith(c, '__pwned'), [], 'console');
  assert.deepEqual(await markupWith(v, '__pwned'), [], 'widget');
  // Click where the link texts are, in case they became links after all.
  await c.locator('.msg.visitor .bubble', { hasText: 'click me' }).click();
  await c.locator('.msg.agent .bubble', { hasText: 'agent link' }).click();
  await v.locator('kefu-widget .m', { hasText: 'click me' }).click();
  await v.locator('kefu-widget .m', { hasText: 'agent link' }).click();
  await sleep(500);
  assert.equal(await c.evaluate(() => window.__pwned), undefined);
  assert.equal(await v.evaluate(() => window.__pwned), undefined);
  // Controls: in both pages, markup does run, so the two checks above can fail.
  await markupRuns(c, CONTROL, '__control');
  await markupRuns(v, CONTROL, '__control');
  await c.screenshot({ path: path.join(SHOTS, 'console-hostile-1280x800.png') });
  await v.screenshot({ path: path.join(SHOTS, 'widget-hostile-text-1280x800.png') });
  // The console's CSP forbids inline script as a second wall: a console
  // that honours it does not run the same injected markup.
  const csp = (await fetch(relay.base + '/console/')).headers.get('content-security-policy');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  const sctx = await chrome.newContext();
  const strict = await sctx.newPage();
  await strict.goto(relay.base + '/console/');
  await strict.waitForSelector('input[name=email]');
  await assert.rejects(markupRuns(strict, CONTROL, '__control'), /timed out/);
  assert.equal(await strict.evaluate(() => window.__control), undefined);
  await Promise.all([octx.close(), vctx.close(), sctx.close()]);
});

test('console: offline while the visitor sends three messages → all three once, in order', async () => {
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await consolePage(octx);
  const vctx = await chrome.newContext();
  const v = await visitorPage(vctx);
  await v.locator('kefu-widget .b').click();
  await say(v, 'before the outage');
  await c.locator('.conv', { hasText: 'before the outage' }).click();
  await until(async () => (await chatTexts(c)).some((m) => m.text === 'before the outage'), 10000, 'first message');

  await octx.setOffline(true);
  await c.locator('.banner[data-conn=offline]').waitFor({ timeout: 5000 });
  // A reply written while offline waits in the outbox…
  await reply(c, 'typed while offline');
  for (const t of ['one', 'two', 'three']) await say(v, t);
  await until(async () => (await widgetTexts(v)).filter((m) => ['one', 'two', 'three'].includes(m.text) && m.state === 'Sent').length === 3, 10000, 'visitor messages acked');
  await sleep(500);
  assert.equal((await chatTexts(c)).filter((m) => ['one', 'two', 'three'].includes(m.text)).length, 0, 'nothing arrives while offline');
  await c.screenshot({ path: path.join(SHOTS, 'console-offline-1280x800.png') });

  await octx.setOffline(false);
  await until(async () => (await c.locator('.banner').count()) === 0, 15000, 'reconnected');
  await until(async () => (await chatTexts(c)).filter((m) => m.side === 'visitor').length === 4, 10000, 'three more messages');
  const texts = (await chatTexts(c)).filter((m) => m.side === 'visitor').map((m) => m.text);
  assert.deepEqual(texts, ['before the outage', 'one', 'two', 'three'], 'once each, in order');
  // …and is delivered exactly once after the reconnect.
  await until(async () => (await widgetTexts(v)).filter((m) => m.text === 'typed while offline').length === 1, 10000, 'offline reply delivered');
  await until(async () => !(await chatTexts(c)).some((m) => m.pending), 10000, 'outbox drained');
  assert.equal((await chatTexts(c)).filter((m) => m.text === 'typed while offline').length, 1);
  // A reload keeps the conversation exactly as it was.
  await c.reload();
  await c.waitForSelector('.topbar');
  await c.locator('.conv', { hasText: 'typed while offline' }).click();
  await until(async () => (await chatTexts(c)).length === 5, 10000, 'history after reload');
  await Promise.all([octx.close(), vctx.close()]);
});

test('console: unread title, desktop notification except for the open conversation, canned replies, away, draft preview', async () => {
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  await octx.grantPermissions(['notifications'], { origin: relay.base });
  await octx.addInitScript(() => {
    window.__notes = [];
    const N = window.Notification;
    window.Notification = function (title, opts) { window.__notes.push({ title, body: opts && opts.body }); return { close() {} }; };
    window.Notification.permission = 'granted';
    window.Notification.requestPermission = N.requestPermission.bind(N);
    // With its service worker running, the console shows them through it.
    const show = ServiceWorkerRegistration.prototype.showNotification;
    ServiceWorkerRegistration.prototype.showNotification = function (title, opts) {
      window.__notes.push({ title, body: opts && opts.body });
      return show.call(this, title, opts);
    };
  });
  const c = await consolePage(octx);
  const canned = await fetch(relay.base + '/v1/api/sites/demo/canned', {
    method: 'POST', headers: { authorization: 'Bearer ' + ownerToken },
    body: JSON.stringify({ shortcut: 'refund', text: 'Refunds take 3–5 working days.' }),
  });
  assert.equal(canned.status, 201);

  const vctx = await chrome.newContext();
  const v = await visitorPage(vctx);
  await v.locator('kefu-widget .b').click();
  await say(v, 'ping from a new visitor');
  await until(() => c.evaluate(() => /^\(\d+\) kefu console$/.test(document.title)), 10000, 'unread count in title');
  await until(() => c.evaluate(() => window.__notes.some((n) => n.body === 'ping from a new visitor')), 10000, 'desktop notification');

  // Open it: unread clears; a message in the open conversation notifies nobody.
  await c.locator('.conv', { hasText: 'ping from a new visitor' }).click();
  await until(() => c.evaluate(() => document.title === 'kefu console'), 10000, 'title cleared');
  await say(v, 'while you look at me');
  await until(async () => (await chatTexts(c)).some((m) => m.text === 'while you look at me'), 10000, 'message shown');
  await sleep(300);
  assert.equal(await c.evaluate(() => window.__notes.filter((n) => n.body === 'while you look at me').length), 0);
  assert.equal(await c.evaluate(() => document.title), 'kefu console');

  // Canned replies: "/ref" + Enter fills the reply, Enter sends it.
  await c.reload();
  await c.waitForSelector('.topbar');
  await c.locator('.conv', { hasText: 'while you look at me' }).click();
  const conv = await c.locator('.chat').getAttribute('data-conv');
  await c.locator('.composer textarea').fill('/ref');
  await c.locator('.canned-pick li').first().waitFor();
  await c.locator('.composer textarea').press('Enter');
  assert.equal(await c.locator('.composer textarea').inputValue(), 'Refunds take 3–5 working days.');
  await c.locator('.composer textarea').press('Enter');
  await until(async () => (await widgetTexts(v)).some((m) => m.text === 'Refunds take 3–5 working days.'), 10000, 'canned reply delivered');

  // Away: the visitor's widget learns nobody is available; back online.
  const online = () => v.evaluate(() => { const h = document.querySelector('kefu-widget'); return h && h.shadowRoot.textContent; });
  await c.click('[data-status=online]');
  await until(async () => /leave a message/i.test(await online()), 10000, 'widget shows offline text');
  await c.click('[data-status=away]');
  await until(async () => !/leave a message/i.test(await online()), 10000, 'widget back online');

  // Draft preview: off by default; on in Settings, the agent sees drafts.
  await v.locator('kefu-widget textarea').type('my order is 12');
  await c.locator('.typing-line').waitFor();
  assert.equal(await c.locator('.typing-line .draft').count(), 0, 'no draft while the setting is off');
  await c.click('[data-nav=settings]');
  await c.locator('.appearance input[data-setting=draft_preview]').check();
  await c.locator('.appearance button[type=submit]').click();
  await c.locator('.notice', { hasText: 'Saved' }).waitFor();
  await c.screenshot({ path: path.join(SHOTS, 'console-settings-1280x800.png') });
  await v.reload();
  await until(() => v.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
  // The panel stays open across the reload (the widget keeps it per site).
  await until(() => v.locator('kefu-widget .p').isVisible(), 5000, 'widget panel still open');
  await c.click('[data-nav=inbox]');
  await c.locator(`.conv[data-conv="${conv}"]`).click();
  await v.locator('kefu-widget textarea').type('order 4711', { delay: 50 });
  await until(() => c.evaluate(() => (document.querySelector('.typing-line .draft') || {}).textContent || '').then((d) => d.startsWith('order')), 10000, 'draft preview');
  await Promise.all([octx.close(), vctx.close()]);
});

test('console: "Load earlier messages" adds the older history once, in order', async () => {
  // 70 messages: more than the one page of 50 the console loads first.
  const texts = Array.from({ length: 70 }, (_, i) => 'history ' + String(i + 1).padStart(2, '0'));
  const vis = await wsVisitor(relay, 'history-visitor');
  const first = await vis.send(texts[0]);
  const a = await agent(relay);
  for (const [i, text] of texts.slice(1).entries()) {
    const cid = 'history-' + i;
    a.send({ type: 'send', conv: first.conv, cid, text });
    await a.waitFor((f) => f.type === 'ack' && f.cid === cid);
  }
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await consolePage(octx);
  await c.locator(`.conv[data-conv="${first.conv}"]`).click();
  const shown = async () => (await chatTexts(c)).map((m) => m.text);
  await until(async () => (await shown()).length === 50, 10000, 'first page of history');
  assert.deepEqual(await shown(), texts.slice(20), 'the latest 50');
  const more = c.getByRole('button', { name: 'Load earlier messages' });
  assert.equal(await more.isVisible(), true);
  await c.screenshot({ path: path.join(SHOTS, 'console-load-earlier-1280x800.png') });
  await more.click();
  await until(async () => (await shown()).length >= 70, 10000, 'earlier messages');
  await sleep(300); // a duplicate would have been drawn by now
  assert.deepEqual(await shown(), texts, 'all 70, once each, in order');
  assert.equal(await more.count(), 0, 'nothing earlier to load');
  vis.close();
  a.close();
  await octx.close();
});

test('console: a chime for a new visitor message once the agent has pressed a key, not for the open conversation', async () => {
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  // Counts audio contexts and the notes started on them.
  await octx.addInitScript(() => {
    window.__audio = { contexts: 0, notes: [] };
    const AC = window.AudioContext;
    window.AudioContext = class extends AC {
      constructor(...args) { super(...args); window.__audio.contexts += 1; }
    };
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) {
      window.__audio.notes.push(this.frequency.value);
      return start.apply(this, args);
    };
  });
  const c = await consolePage(octx);
  // A reload signs in from storage: no click or key press yet on this
  // page, so browsers would refuse audio and the console makes none.
  await c.reload();
  await c.waitForSelector('.topbar');
  await until(async () => (await c.locator('.banner').count()) === 0, 15000, 'console connected');
  const audio = () => c.evaluate(() => window.__audio);
  const vctx = await chrome.newContext();
  const v = await visitorPage(vctx);
  await v.locator('kefu-widget .b').click();
  await say(v, 'before any key press');
  await c.locator('.conv', { hasText: 'before any key press' }).waitFor({ timeout: 10000 });
  await sleep(300);
  assert.deepEqual(await audio(), { contexts: 0, notes: [] }, 'silent before a gesture');
  // The agent's first key press unlocks audio; the next message chimes:
  // two notes.
  await c.keyboard.press('Shift');
  await until(async () => (await audio()).contexts === 1, 5000, 'audio unlocked');
  await say(v, 'after a key press');
  await until(async () => (await audio()).notes.length === 2, 10000, 'chime');
  assert.deepEqual((await audio()).notes, [880, 1320]);
  // The conversation the agent is looking at does not chime.
  await c.locator('.conv', { hasText: 'after a key press' }).click();
  await say(v, 'while it is open');
  await until(async () => (await chatTexts(c)).some((m) => m.text === 'while it is open'), 10000, 'message shown');
  await sleep(300);
  assert.equal((await audio()).notes.length, 2, 'no chime for the open conversation');
  await Promise.all([octx.close(), vctx.close()]);
});

test('console: "Retry now" on the reconnect banner reconnects before the backoff would', async () => {
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await consolePage(octx);
  /** Seconds until the next attempt, as the banner says, or null. */
  const wait = () => c.evaluate(() => {
    const m = /Reconnecting in (\d+) s \(attempt (\d+)\)/.exec((document.querySelector('.banner[data-conn=retrying] span') || {}).textContent || '');
    return m && Number(m[1]);
  });
  // Each failed attempt doubles the wait (up to 7.5–15 s): with the relay
  // stopped, wait for one long enough that the timer cannot be what
  // reconnects, then start the relay again. The banner's count is drawn
  // when the attempt is scheduled (rounded up), and seen here within a
  // poll of that: the timer fires no sooner than `deadline`. A start too
  // slow to leave 3 s before it (a loaded machine) makes the round say
  // nothing: another round then.
  let deadline = 0;
  for (let round = 1; Date.now() > deadline - 3000; round++) {
    assert.ok(round <= 3, 'the relay restarted too slowly three times');
    await relay.stop();
    const seen = await until(async () => { const n = await wait(); return n >= 8 && { n, at: Date.now() }; }, 60000, 'a long backoff');
    deadline = seen.at - 500 + (seen.n - 1) * 1000;
    const t = Date.now();
    await relay.start();
    console.log(`# Retry now: relay restarted in ${Date.now() - t} ms; the timer is ${deadline - Date.now()} ms away at least`);
  }
  await c.screenshot({ path: path.join(SHOTS, 'console-retry-1280x800.png') });
  await c.getByRole('button', { name: 'Retry now' }).click();
  await until(async () => (await c.locator('.banner').count()) === 0, 15000, 'reconnected');
  const early = deadline - Date.now();
  assert.ok(early > 0, `reconnected ${early} ms before the timer would have fired`);
  // And it is live again: a visitor message arrives.
  const vis = await wsVisitor(relay, 'after-retry');
  await vis.send('after the retry');
  await c.locator('.conv', { hasText: 'after the retry' }).waitFor({ timeout: 10000 });
  vis.close();
  await octx.close();
});

test('console: stays usable with 1,000 visitors online', async () => {
  const N = 1000;
  const sockets = [];
  for (let i = 0; i < N; i++) {
    const ws = new WebSocket(`ws://${relay.addr}/v1/ws`);
    sockets.push(ws);
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', v: 1, role: 'visitor', site: 'demo', visitor: 'load' + i }));
      ws.send(JSON.stringify({ type: 'page', url: 'https://shop.example/p/' + i, title: 'Product ' + i }));
    });
    ws.on('message', (d) => { if (String(d).includes('"ping"')) ws.send('{"type":"pong"}'); });
    ws.on('error', () => {});
    if (i % 100 === 99) await sleep(50);
  }
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await consolePage(octx);
  await c.click('[data-nav=visitors]');
  await until(async () => /^(\d+) visitors online$/.test(await c.locator('.list-head h2').textContent()) &&
    Number((await c.locator('.list-head h2').textContent()).split(' ')[0]) >= N, 30000, '1,000 visitors listed');
  // Paged: one page of rows in the DOM, not a thousand.
  assert.equal(await c.locator('.vrow').count(), 50);
  /** Clicks a pager button; the ms until the pager shows `range`. */
  const turn = async (button, range) => {
    const t = Date.now();
    await c.locator('.pager button')[button]().click();
    await c.waitForFunction((r) => document.querySelector('.pager span').textContent.startsWith(r), range, { timeout: 60000 });
    return Date.now() - t;
  };
  // The baseline: the same click with nothing else going on, on this
  // machine under whatever load it has right now.
  const baseMs = await turn('last', '51–100 of');
  await turn('first', '1–50 of');
  // A storm of page changes (every visitor moves) while the agent works.
  const start = Date.now();
  sockets.forEach((ws, i) => ws.send(JSON.stringify({ type: 'page', url: 'https://shop.example/cart/' + i, title: 'Cart ' + i })));
  const clickMs = await turn('last', '51–100 of');
  await until(async () => (await c.locator('.vrow .title', { hasText: 'Cart' }).count()) === 50, 20000, 'rows follow the storm');
  const stormMs = Date.now() - start;
  console.log(`# 1,000 visitors: page click answered in ${clickMs} ms during a ${N}-update storm (${baseMs} ms without); storm applied in ${stormMs} ms`);
  // A full re-render per event (the failure this guards against) keeps the
  // click waiting for a thousand renders: many seconds, and far more than
  // the calm click. The bound scales with the calm click measured just
  // before, so a loaded 2-core machine (tests and builds beside this one)
  // raises both together; 5 s is the floor for a fast calm click.
  const bound = Math.max(5000, 20 * baseMs);
  assert.ok(clickMs < bound, `paging stayed responsive (${clickMs} ms, bound ${bound} ms)`);
  await c.screenshot({ path: path.join(SHOTS, 'console-1000-visitors.png') });
  for (const ws of sockets) ws.terminate();
  await octx.close();
});
