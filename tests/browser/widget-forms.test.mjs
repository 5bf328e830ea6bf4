// The wasm widget's forms, in headless chromium against a real relay that
// sends mail (SMTP configured; nothing needs to be delivered for these
// tests: the mail jobs wait in the relay's queue): the offline form while
// every agent is away (a bad address refused in the page, the answer and
// the message reaching the relay; for a visitor the host page named, the
// email only, and not for one whose email is known), the pre-chat form
// with required fields and consent (skipped for an identified visitor),
// the rating after an agent closes the chat (stored as a rated event, not
// asked again after a reload), "Email me this chat", and a relay without
// mail that never mentions email. Screenshots at desktop and phone sizes, English and
// Chinese, under target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { startRelay, hostServer, page, agent, apiCall, browser, until, widgetTexts, SHOTS, TOKEN } from './lib.mjs';

let relay, plain, host, plainHost, chrome;

/** A loopback port nothing listens on: mail waits in the queue. */
async function deadPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  relay = await startRelay(['--smtp-url', `smtp://127.0.0.1:${await deadPort()}`, '--mail-from', 'chat@shop.example']);
  plain = await startRelay();
  const identify = `<script>kefu('identify', {id: 'u-grace', name: 'Grace Hopper'});</script>`;
  host = await hostServer({
    '/': () => page(relay, { title: 'Shop' }),
    '/identified': () => page(relay, { title: 'Shop', body: '<h1>Shop</h1>' + identify }),
    '/named': () => page(relay, { title: 'Shop', body: `<script>kefu('identify', {id: 'u-named', name: 'Alan Turing'});</script>` }),
    '/mailed': () => page(relay, { title: 'Shop', body: `<script>kefu('identify', {id: 'u-mailed', name: 'Edsger', email: 'edsger@example.com'});</script>` }),
  });
  plainHost = await hostServer({ '/': () => page(plain, { title: 'Shop' }) });
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await plainHost?.close();
  await relay?.close();
  await plain?.close();
});

async function patchWidget(r, widget) {
  const site = (await apiCall(r, 'GET', '/v1/api/sites/demo', TOKEN)).body;
  const res = await apiCall(r, 'PATCH', '/v1/api/sites/demo', TOKEN, { widget: { ...site.widget, ...widget } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

const w = (p, sel) => p.locator('kefu-widget ' + sel);

async function openWidget(ctx, url, viewport) {
  const p = await ctx.newPage();
  if (viewport) await p.setViewportSize(viewport);
  p.on('pageerror', (e) => console.error('pageerror:', e.message));
  await p.goto(url);
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
  await w(p, '.b').click();
  await w(p, '.p').waitFor();
  return p;
}

const visitorId = (p) => p.evaluate(() => localStorage.getItem('kefu:demo:vid'));
const profile = async (r, vid) => (await apiCall(r, 'GET', `/v1/api/sites/demo/visitors/${vid}`, TOKEN)).body;
const shot = (p, name) => p.screenshot({ path: path.join(SHOTS, name) });
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };

test('offline form: with every agent away and mail on, a bad address is refused in the page; the answer and the message reach the relay', async () => {
  const a = await agent(relay);
  a.send({ type: 'status', away: true });
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  try {
    const p = await openWidget(ctx, host.url + '/');
    await w(p, '#kf-email').waitFor();
    // Labelled fields, the email required, the composer says what it does.
    assert.equal(await w(p, 'label[for=kf-email]').textContent(), 'Email');
    assert.equal(await w(p, 'label[for=kf-name]').textContent(), 'Name (optional)');
    assert.equal(await w(p, 'form:not(.y) .s').textContent(), 'Leave a message');
    assert.ok((await widgetTexts(p)).some((m) => m.text.includes('or by email')), 'the away text mentions email');
    await shot(p, 'widget-offline-form-desktop.png');

    await w(p, '#kf-email').fill('ada@example');
    await w(p, 'form:not(.y) textarea').fill('Do you ship to Norway?');
    await w(p, 'form:not(.y) textarea').press('Enter');
    await w(p, '#kf-email-e').waitFor();
    assert.equal(await w(p, '#kf-email-e').textContent(), 'Please enter a valid email address');
    assert.equal(await w(p, '#kf-email').getAttribute('aria-invalid'), 'true');
    assert.equal(await p.evaluate(() => document.querySelector('kefu-widget').shadowRoot.activeElement.id), 'kf-email', 'focus on the bad field');
    assert.ok(!(await widgetTexts(p)).some((m) => m.mine), 'nothing sent');
    await shot(p, 'widget-offline-form-error-desktop.png');

    await w(p, '#kf-email').fill('ada@example.com');
    await w(p, '#kf-name').fill('Ada <b>Lovelace</b>');
    await w(p, 'form:not(.y) textarea').press('Enter');
    const msg = await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Do you ship to Norway?');
    await until(async () => (await widgetTexts(p)).some((m) => m.text === "We'll reply by email to ada@example.com"), 10000, 'the reply line');
    assert.equal(await w(p, '#kf-email').count(), 0, 'the form is gone');
    const vid = await visitorId(p);
    const prof = await until(async () => { const v = await profile(relay, vid); return v.user && v.user.email ? v : null; }, 10000, 'contact on the profile');
    assert.equal(prof.user.email, 'ada@example.com');
    assert.equal(prof.user.name, 'Ada <b>Lovelace</b>', 'stored as typed (data, not markup)');
    assert.equal(msg.from.side, 'visitor');
    await shot(p, 'widget-offline-sent-desktop.png');

    // A reload: the form is not asked again, the line stays.
    await p.reload();
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
    if (!(await w(p, '.p').isVisible())) await w(p, '.b').click();
    await until(async () => (await widgetTexts(p)).some((m) => m.text === "We'll reply by email to ada@example.com"), 10000, 'the line after reload');
    assert.equal(await w(p, '#kf-email').count(), 0, 'not asked again');

    // "Email me this chat": the address is known, the relay queues it.
    await w(p, '.q').click();
    await until(async () => (await widgetTexts(p)).some((m) => m.text === "We've emailed you this chat."), 10000, 'mailed');
  } finally {
    a.send({ type: 'status', away: false });
    a.close();
    await ctx.close();
  }
});

test('offline form in Chinese, desktop and phone; "Email me this chat" asks for an address first', async () => {
  await patchWidget(relay, { language: 'zh-CN' });
  const a = await agent(relay);
  a.send({ type: 'status', away: true });
  try {
    for (const [vp, name] of [[DESKTOP, 'desktop'], [PHONE, 'phone']]) {
      const ctx = await chrome.newContext({ viewport: vp });
      const p = await openWidget(ctx, host.url + '/');
      await w(p, '#kf-email').waitFor();
      assert.equal(await w(p, 'label[for=kf-email]').textContent(), '邮箱');
      assert.equal(await w(p, 'label[for=kf-name]').textContent(), '姓名 （选填）');
      assert.equal(await w(p, 'form:not(.y) .s').textContent(), '留言');
      const box = await w(p, '.p').boundingBox();
      assert.ok(box.width <= vp.width, 'fits the screen');
      await shot(p, `widget-offline-form-zh-${name}.png`);
      await ctx.close();
    }
    // English, phone size.
    await patchWidget(relay, { language: 'en' });
    const ctx = await chrome.newContext({ viewport: PHONE });
    const p = await openWidget(ctx, host.url + '/');
    await w(p, '#kf-email').waitFor();
    await shot(p, 'widget-offline-form-phone.png');
    // A visitor with a conversation but no address: the link asks first.
    a.send({ type: 'status', away: false });
    await until(async () => (await w(p, '#kf-email').count()) === 0, 10000, 'agents back: no offline form');
    await w(p, 'form:not(.y) textarea').fill('hello');
    await w(p, 'form:not(.y) textarea').press('Enter');
    await w(p, '.q').waitFor();
    await w(p, '.q').click();
    await w(p, '#kf-email').waitFor();
    await w(p, '.y .s').click();
    assert.equal(await w(p, '#kf-email-e').textContent(), 'Please fill this in');
    await w(p, '#kf-email').fill('grace@example.com');
    await w(p, '#kf-email').press('Enter');
    await until(async () => (await widgetTexts(p)).some((m) => m.text === "We've emailed you this chat."), 10000, 'mailed');
    await ctx.close();
  } finally {
    await patchWidget(relay, { language: null });
    a.close();
  }
});

test('without mail the widget never mentions email: the no-mail away text and the composer only', async () => {
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  try {
    const p = await openWidget(ctx, plainHost.url + '/');
    await until(async () => (await widgetTexts(p)).some((m) => m.text.startsWith("We're away right now")), 10000, 'away text');
    const texts = (await widgetTexts(p)).map((m) => m.text);
    assert.ok(texts.includes("We're away right now. Leave a message and we'll reply here as soon as we're back."), JSON.stringify(texts));
    assert.equal(await w(p, '#kf-email').count(), 0);
    assert.equal(await w(p, '.q').isVisible(), false, 'no "Email me this chat"');
    const shown = await p.evaluate(() => document.querySelector('kefu-widget').shadowRoot.querySelector('.r').innerText);
    assert.ok(!/mail/i.test(shown), 'no email anywhere: ' + shown);
  } finally {
    await ctx.close();
  }
});

test('offline form for a visitor the host page named: asked for an email only, stored with the name; with an email known, not asked', async () => {
  const a = await agent(relay);
  a.send({ type: 'status', away: true });
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  try {
    const p = await openWidget(ctx, host.url + '/named');
    await w(p, '#kf-email').waitFor();
    assert.equal(await w(p, '#kf-name').count(), 0, 'the name is known: not asked');
    assert.equal(await w(p, 'form:not(.y) .s').textContent(), 'Leave a message');
    await shot(p, 'widget-offline-named-desktop.png');
    await w(p, '#kf-email').fill('alan@example.com');
    await w(p, 'form:not(.y) textarea').fill('Is the Enigma kit back in stock?');
    await w(p, 'form:not(.y) textarea').press('Enter');
    await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Is the Enigma kit back in stock?');
    await until(async () => (await widgetTexts(p)).some((m) => m.text === "We'll reply by email to alan@example.com"), 10000, 'the reply line');
    const vid = await visitorId(p);
    const prof = await until(async () => { const v = await profile(relay, vid); return v.user && v.user.email ? v : null; }, 10000, 'email on the profile');
    assert.equal(prof.user.email, 'alan@example.com');
    assert.equal(prof.user.name, 'Alan Turing', 'the name stays');
    // A fresh browser for the same visitor's relay record: nothing local,
    // the relay knows the email now.
    const again = await ctx.browser().newContext({ viewport: DESKTOP });
    try {
      const q = await again.newPage();
      await q.addInitScript(([v, t]) => { localStorage.setItem('kefu:demo:vid', v); if (t) localStorage.setItem('kefu:demo:tok', t); },
        [vid, await p.evaluate(() => localStorage.getItem('kefu:demo:tok'))]);
      await q.goto(host.url + '/named');
      await until(() => q.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
      if (!(await w(q, '.p').isVisible())) await w(q, '.b').click();
      await w(q, 'form:not(.y) textarea').waitFor();
      await until(async () => (await widgetTexts(q)).some((m) => m.text === 'Is the Enigma kit back in stock?'), 10000, 'the chat resumed');
      assert.equal(await w(q, '#kf-email').count(), 0, 'the relay knows the email: not asked');
    } finally {
      await again.close();
    }

    // A new visitor, the host page passing an email: nothing asked.
    const other = await chrome.newContext({ viewport: DESKTOP });
    try {
      const m = await openWidget(other, host.url + '/mailed');
      await until(async () => (await widgetTexts(m)).some((x) => x.text.startsWith("We're away right now")), 10000, 'away text');
      assert.equal(await m.evaluate(() => localStorage.getItem('kefu:demo:em')), null, 'no address of its own');
      assert.equal(await w(m, '#kf-email').count(), 0, 'identified with an email: not asked');
      assert.equal(await w(m, 'form:not(.y) .s').textContent(), 'Send');
    } finally {
      await other.close();
    }
  } finally {
    a.send({ type: 'status', away: false });
    a.close();
    await ctx.close();
  }
});

const PRECHAT = {
  enabled: true, name: 'required', email: 'optional', phone: 'optional',
  fields: [
    { key: 'plan', label: 'Plan', kind: 'select', options: ['Free', 'Pro'], required: true },
    { key: 'news', label: 'Send me news', kind: 'checkbox' },
  ],
  consent: 'I agree to the privacy policy',
};

test('pre-chat form: required fields and consent checked in the page, the answer stored, then the chat opens; skipped when identified', async () => {
  await patchWidget(relay, { prechat: PRECHAT });
  const a = await agent(relay);
  try {
    const ctx = await chrome.newContext({ viewport: DESKTOP });
    const p = await openWidget(ctx, host.url + '/');
    await w(p, '.y.pc').waitFor();
    assert.equal(await w(p, 'form:not(.y)').isVisible(), false, 'no composer yet');
    for (const [id, label] of [['kf-name', 'Name'], ['kf-email', 'Email (optional)'], ['kf-phone', 'Phone (optional)'], ['kf-x_plan', 'Plan'], ['kf-x_news', 'Send me news'], ['kf-consent', 'I agree to the privacy policy']]) {
      assert.equal(await w(p, `label[for=${id}]`).textContent(), label, id);
    }
    await shot(p, 'widget-prechat-desktop.png');
    await w(p, '.y .s').click();
    for (const id of ['kf-name', 'kf-x_plan', 'kf-consent']) {
      assert.equal(await w(p, `#${id}-e`).textContent(), 'Please fill this in', id);
    }
    assert.equal(await w(p, '#kf-email-e').isVisible(), false, 'optional');
    await shot(p, 'widget-prechat-errors-desktop.png');
    // Keyboard only: type, tab, choose, tick, Enter.
    await w(p, '#kf-name').fill('Ada');
    await w(p, '#kf-email').fill('ada@');
    await w(p, '#kf-phone').fill('+44 20 7946 0958');
    await w(p, '#kf-x_plan').selectOption('Pro');
    await w(p, '#kf-consent').focus();
    await p.keyboard.press('Space');
    await w(p, '#kf-name').press('Enter');
    assert.equal(await w(p, '#kf-email-e').textContent(), 'Please enter a valid email address');
    await w(p, '#kf-email').fill('ada@example.com');
    await w(p, '#kf-email').press('Enter');
    await w(p, 'form:not(.y) textarea').waitFor();
    assert.equal(await w(p, '.y').isVisible(), false, 'the form is gone');
    const vid = await visitorId(p);
    const prof = await until(async () => { const v = await profile(relay, vid); return v.user && v.user.name ? v : null; }, 10000, 'contact stored');
    assert.equal(prof.user.name, 'Ada');
    assert.equal(prof.user.email, 'ada@example.com');
    assert.equal(prof.user.attributes.plan, 'Pro');
    assert.equal(prof.user.attributes.news, 'false');
    await w(p, 'form:not(.y) textarea').fill('Hi, a question about Pro');
    await w(p, 'form:not(.y) textarea').press('Enter');
    await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Hi, a question about Pro');
    // A reload: not asked again.
    await p.reload();
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
    if (!(await w(p, '.p').isVisible())) await w(p, '.b').click();
    await w(p, 'form:not(.y) textarea').waitFor();
    assert.equal(await w(p, '.y.pc').count(), 0);
    await ctx.close();

    // Phone and Chinese.
    const phone = await chrome.newContext({ viewport: PHONE });
    const q = await openWidget(phone, host.url + '/');
    await w(q, '.y.pc').waitFor();
    const box = await w(q, '#kf-consent').boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, 'fits a phone');
    await shot(q, 'widget-prechat-phone.png');
    await patchWidget(relay, { language: 'zh-CN' });
    await q.reload();
    await until(() => q.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
    if (!(await w(q, '.p').isVisible())) await w(q, '.b').click();
    await until(async () => (await w(q, 'label[for=kf-name]').count()) && (await w(q, 'label[for=kf-name]').textContent()) === '姓名', 10000, 'Chinese labels');
    assert.equal(await w(q, '.y .s').textContent(), '开始对话');
    await shot(q, 'widget-prechat-zh-phone.png');
    await q.setViewportSize(DESKTOP);
    await shot(q, 'widget-prechat-zh-desktop.png');
    await w(q, '.y .s').click();
    assert.equal(await w(q, '#kf-name-e').textContent(), '请填写此项');
    await phone.close();
    await patchWidget(relay, { language: null });

    // Identified by the host page: no form, the composer at once.
    const idc = await chrome.newContext({ viewport: DESKTOP });
    const r = await openWidget(idc, host.url + '/identified');
    await w(r, 'form:not(.y) textarea').waitFor();
    await r.waitForTimeout(500);
    assert.equal(await w(r, '.y.pc').count(), 0, 'no pre-chat form for an identified visitor');
    assert.equal(await w(r, 'form:not(.y)').isVisible(), true);
    await idc.close();
  } finally {
    await patchWidget(relay, { prechat: { enabled: false }, language: null });
    a.close();
  }
});

test('rating: after an agent closes, stars and a comment; stored as a rated event; thanks; not asked again after a reload', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  try {
    const p = await openWidget(ctx, host.url + '/');
    await w(p, 'form:not(.y) textarea').fill('Where is my parcel?');
    await w(p, 'form:not(.y) textarea').press('Enter');
    const m = await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Where is my parcel?');
    a.send({ type: 'send', cid: 'a-' + Date.now(), conv: m.conv, text: 'It arrives tomorrow.' });
    a.send({ type: 'close', conv: m.conv });
    await w(p, '.st').waitFor();
    assert.equal(await w(p, '#kf-h').textContent(), 'How was this chat?');
    assert.equal(await w(p, '.st button').count(), 5);
    assert.equal(await w(p, 'label[for=kf-comment]').textContent(), 'Add a comment (optional)');
    await w(p, '.st button[data-s="4"]').click();
    assert.equal(await w(p, '.st button[data-s="4"]').getAttribute('aria-checked'), 'true');
    assert.equal(await w(p, '.st button[data-s="5"]').getAttribute('aria-checked'), 'false');
    await w(p, '#kf-comment').fill('Quick <i>and</i> kind');
    await shot(p, 'widget-rating-desktop.png');
    await w(p, '.y .s').click();
    const rated = await a.waitFor((f) => f.type === 'event' && f.kind === 'rated' && f.conv === m.conv);
    assert.equal(rated.score, 4);
    assert.equal(rated.comment, 'Quick <i>and</i> kind');
    await until(async () => (await widgetTexts(p)).some((x) => x.text === 'Thanks for your feedback!'), 10000, 'thanks');
    assert.equal(await w(p, '.st').count(), 0);
    await shot(p, 'widget-rating-thanks-desktop.png');
    await p.reload();
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
    if (!(await w(p, '.p').isVisible())) await w(p, '.b').click();
    await until(async () => (await widgetTexts(p)).some((x) => x.text === 'Thanks for your feedback!'), 10000, 'thanks after reload');
    assert.equal(await w(p, '.st').count(), 0, 'not asked again');
    assert.equal(a.frames.filter((f) => f.type === 'event' && f.kind === 'rated' && f.conv === m.conv).length, 1, 'rated once');

    // Thumbs, on a phone, in Chinese.
    await patchWidget(relay, { rating: 'thumbs', language: 'zh-CN' });
    const phone = await chrome.newContext({ viewport: PHONE });
    const q = await openWidget(phone, host.url + '/');
    await w(q, 'form:not(.y) textarea').fill('还有一个问题');
    await w(q, 'form:not(.y) textarea').press('Enter');
    const m2 = await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === '还有一个问题');
    a.send({ type: 'close', conv: m2.conv });
    await w(q, '.st').waitFor();
    assert.equal(await w(q, '#kf-h').textContent(), '您对本次对话满意吗？');
    assert.equal(await w(q, '.st button').count(), 2);
    await w(q, '.st button[data-s="5"]').click();
    await shot(q, 'widget-rating-zh-phone.png');
    await q.setViewportSize(DESKTOP);
    await shot(q, 'widget-rating-zh-desktop.png');
    await q.setViewportSize(PHONE);
    await w(q, '.y .s').click();
    const r2 = await a.waitFor((f) => f.type === 'event' && f.kind === 'rated' && f.conv === m2.conv);
    assert.equal(r2.score, 5);
    await until(async () => (await widgetTexts(q)).some((x) => x.text === '感谢您的评价！'), 10000, 'thanks in Chinese');
    await phone.close();

    // English phone size, five stars.
    await patchWidget(relay, { rating: 'five', language: null });
    const p3 = await chrome.newContext({ viewport: PHONE });
    const s = await openWidget(p3, host.url + '/');
    await w(s, 'form:not(.y) textarea').fill('one more');
    await w(s, 'form:not(.y) textarea').press('Enter');
    const m3 = await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'one more');
    a.send({ type: 'close', conv: m3.conv });
    await w(s, '.st').waitFor();
    await w(s, '.st button[data-s="3"]').click();
    await shot(s, 'widget-rating-phone.png');
    await p3.close();

    // Off: no rating asked.
    await patchWidget(relay, { rating: 'off' });
    const off = await chrome.newContext({ viewport: DESKTOP });
    const o = await openWidget(off, host.url + '/');
    await w(o, 'form:not(.y) textarea').fill('no rating please');
    await w(o, 'form:not(.y) textarea').press('Enter');
    const m4 = await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'no rating please');
    a.send({ type: 'close', conv: m4.conv });
    await until(async () => (await widgetTexts(o)).some((x) => x.text === 'This chat was closed'), 10000, 'closed');
    await o.waitForTimeout(300);
    assert.equal(await w(o, '.st').count(), 0);
    await off.close();
  } finally {
    await patchWidget(relay, { rating: 'five', language: null });
    a.close();
    await ctx.close();
  }
});

test('outside business hours: agents online yet away for visitors, the offline form, and the auto-reply as a line from the site', async () => {
  const a = await agent(relay);
  const closed = { enabled: true, tz: 'UTC', week: [[], [], [], [], [], [], []] };
  const res = await apiCall(relay, 'PATCH', '/v1/api/sites/demo', TOKEN, { offline: { hours: closed, auto_reply: 'We open at 9:00 UTC.', continuity_minutes: 3 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  try {
    const p = await openWidget(ctx, host.url + '/');
    await w(p, '#kf-email').waitFor();
    assert.equal(await w(p, '.h small').textContent(), "We're away — leave a message");
    await w(p, '#kf-email').fill('lin@example.com');
    await w(p, 'form:not(.y) textarea').fill('Are you open on Sunday?');
    await w(p, 'form:not(.y) .s').click();
    await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Are you open on Sunday?');
    await until(async () => (await widgetTexts(p)).some((m) => m.text === 'We open at 9:00 UTC.'), 10000, 'auto-reply');
    const line = await p.evaluate(() => Array.from(document.querySelector('kefu-widget').shadowRoot.querySelectorAll('.g .m'))
      .filter((m) => m.textContent.includes('We open at')).map((m) => ({ cls: m.className, named: !!m.querySelector('u') }))[0]);
    assert.deepEqual(line, { cls: 'm sys', named: false }, 'a line from the site, not an agent');
    await shot(p, 'widget-auto-reply-desktop.png');
  } finally {
    await apiCall(relay, 'PATCH', '/v1/api/sites/demo', TOKEN, { offline: { hours: { enabled: false }, auto_reply: '', continuity_minutes: 3 } });
    a.close();
    await ctx.close();
  }
});
