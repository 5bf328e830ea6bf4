// The console's side of reaching people who are not there, against a relay
// that serves it: the owner sets business hours (a zone the relay refuses
// first, a bad period the console refuses), the auto-reply and the
// continuity delay, the pre-chat form and the rating scale, saves, reloads
// and sees them (and the widget's other settings are kept); an agent
// chooses their notification mail; a visitor's form answers show in the
// profile, an agent corrects the email there; the conversation shows the
// form answer, the rating (👍 with its comment) and the auto-reply outside
// business hours as lines and bubbles of their own; and on a phone
// (375×812) it all fits. Screenshots of each new screen go to
// target/screenshots/offline-*.png. The tests run in order: each builds on
// what the one before set up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import WebSocket from 'ws';
import {
  startRelay, apiCall, browser, until, SHOTS, signedInConsole, assertFits, PHONE,
} from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const AGENT = { email: 'agent@example.com', password: 'agent-password-1' };
const DESKTOP = { width: 1280, height: 800 };
const GREETING = 'Hi from the test shop';
let relay, chrome, token, offline;
/** The visitor of the profile test and its conversation. */
let visitor, conv;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password, '--sends-per-ip', '100000', '--page-views-per-ip', '100000']);
  chrome = await browser();
  const r = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) });
  token = (await r.json()).token;
  const site = await apiCall(relay, 'GET', '/v1/api/sites/demo', token);
  offline = site.status === 200 && site.body && typeof site.body.offline === 'object';
  // A widget setting the forms' save must keep.
  const w = { ...site.body.widget, greeting: GREETING };
  const set = await apiCall(relay, 'PATCH', '/v1/api/sites/demo', token, { widget: w });
  assert.equal(set.status, 200, JSON.stringify(set.body));
});

after(async () => {
  visitor?.close();
  await chrome?.close();
  await relay?.close();
});

const skipUnlessOffline = (t) => {
  if (!offline) t.skip('this relay serves no offline settings (GET /v1/api/sites/{site} has no "offline")');
  return !offline;
};

const shot = (name) => path.join(SHOTS, `offline-${name}.png`);

/** Screenshots of the viewport with section `sel` scrolled to its top and,
 *  when it is taller than the screen, to its end as well. */
async function sectionShots(c, sel, name) {
  const { width: w, height: h } = c.viewportSize();
  const tall = await c.locator(sel).evaluate((e) => {
    e.scrollIntoView({ block: 'start' });
    return e.getBoundingClientRect().height > window.innerHeight - 60;
  });
  await c.screenshot({ path: shot(`${name}-${w}x${h}`) });
  if (tall) {
    await c.locator(sel).evaluate((e) => e.scrollIntoView({ block: 'end' }));
    await c.screenshot({ path: shot(`${name}-${w}x${h}-end`) });
  }
}
const noteOf = (section) => section.locator('.int-note').textContent();

/** A visitor over a raw WebSocket: frames in, any frame out, acks awaited. */
async function rawVisitor(id) {
  const ws = new WebSocket(`ws://${relay.addr}/v1/ws`);
  const frames = [];
  ws.on('message', (d) => {
    const f = JSON.parse(String(d));
    if (f.type === 'ping') { ws.send('{"type":"pong"}'); return; }
    frames.push(f);
  });
  await new Promise((ok, no) => { ws.once('open', ok); ws.once('error', no); });
  const v = {
    frames,
    send: (f) => ws.send(JSON.stringify(f)),
    /** The first frame (seen or coming) matching `pred`. */
    waitFor: (pred, what) => until(() => frames.find(pred), 15000, what + ' (frames: ' + JSON.stringify(frames.slice(-4)) + ')'),
    close: () => ws.close(),
  };
  v.send({ type: 'hello', v: 1, role: 'visitor', site: 'demo', visitor: id });
  await v.waitFor((f) => f.type === 'welcome', 'welcome');
  return v;
}

/** Opens Settings and waits for the owner's new sections. */
async function settings(c) {
  await c.click('[data-nav=settings]');
  await c.locator('.offline-hours [data-action=save-hours]').waitFor({ timeout: 10000 });
}

test('settings: the owner sets business hours, the pre-chat form and the rating, saves, reloads and sees them', async (t) => {
  if (skipUnlessOffline(t)) return;
  const ctx = await chrome.newContext({ viewport: DESKTOP, timezoneId: 'Asia/Shanghai' });
  const c = await signedInConsole(relay, ctx, OWNER);
  await settings(c);
  const hours = c.locator('.offline-hours');

  // On: the browser's zone and weekdays nine to five to start from.
  await hours.locator('[data-setting=hours_enabled]').check();
  const tz = hours.locator('[data-setting=tz]');
  assert.equal(await tz.inputValue(), 'Asia/Shanghai');
  assert.equal(await hours.locator('.day[data-day="0"] .period').count(), 1);
  assert.equal(await hours.locator('.day[data-day="0"] [data-field=from]').inputValue(), '09:00');
  assert.equal(await hours.locator('.day[data-day="5"] .closed').textContent(), 'Closed');
  assert.ok(await hours.locator('datalist#kefu-zones option[value="Europe/Berlin"]').count() === 1, 'zones offered');

  // A zone the relay does not know: its reason shows, nothing is stored.
  await tz.fill('Mars/Olympus');
  await hours.locator('[data-action=save-hours]').click();
  await until(async () => /^Not saved: /.test(await noteOf(hours)), 10000, 'zone refused');
  const refusal = await noteOf(hours);
  assert.match(refusal, /Mars\/Olympus|time zone/i, refusal);
  assert.equal(await hours.locator('.int-note.bad').count(), 1, 'shown as an error');
  let site = (await apiCall(relay, 'GET', '/v1/api/sites/demo', token)).body;
  assert.equal(site.offline.hours.enabled, false, 'nothing stored');
  await tz.fill('Europe/Berlin');

  // Monday gets an evening period; Saturday a morning; a period that ends
  // before it starts is refused by the console, naming the day.
  await hours.locator('.day[data-day="0"] [data-action=add-period]').click();
  const evening = hours.locator('.day[data-day="0"] .period[data-period="1"]');
  assert.equal(await evening.locator('[data-field=from]').inputValue(), '17:00');
  await evening.locator('[data-field=from]').fill('18:00');
  await evening.locator('[data-field=to]').fill('21:30');
  await hours.locator('.day[data-day="5"] [data-action=add-period]').click();
  await hours.locator('.day[data-day="5"] [data-field=to]').fill('08:00');
  await hours.locator('[data-action=save-hours]').click();
  await until(async () => (await noteOf(hours)).startsWith('Not saved: Saturday: “09:00–08:00” is not a period'), 5000, 'bad period refused');
  await hours.locator('.day[data-day="5"] [data-field=to]').fill('13:00');
  // Friday closes.
  await hours.locator('.day[data-day="4"] [data-action=remove-period]').click();
  assert.equal(await hours.locator('.day[data-day="4"] .closed').count(), 1);
  // Holidays.
  for (const date of ['2026-12-25', '2026-01-01']) {
    await hours.locator('[data-field=holiday]').fill(date);
    await hours.locator('[data-action=add-holiday]').click();
  }
  await hours.locator('[data-field=holiday]').fill('2026-12-25');
  await hours.locator('[data-action=add-holiday]').click();
  await until(async () => (await noteOf(hours)) === 'Not added: 2026-12-25 is a holiday already', 5000, 'holiday twice refused');
  await hours.locator('[data-setting=auto_reply]').fill("Thanks! We're closed now and answer from 9:00.");
  await hours.locator('[data-setting=continuity_minutes]').fill('10');
  await hours.locator('[data-action=save-hours]').click();
  await until(async () => (await noteOf(hours)) === 'Offline & hours saved.', 10000, 'hours saved');

  site = (await apiCall(relay, 'GET', '/v1/api/sites/demo', token)).body;
  const nine = [{ from: '09:00', to: '17:00' }];
  assert.deepEqual(site.offline.hours, {
    enabled: true,
    tz: 'Europe/Berlin',
    week: [[...nine, { from: '18:00', to: '21:30' }], nine, nine, nine, [], [{ from: '09:00', to: '13:00' }], []],
    holidays: ['2026-01-01', '2026-12-25'],
  });
  assert.equal(site.offline.auto_reply, "Thanks! We're closed now and answer from 9:00.");
  assert.equal(site.offline.continuity_minutes, 10);
  await sectionShots(c, '.offline-hours', 'hours');

  // Forms & rating.
  const forms = c.locator('.forms-rating');
  await forms.locator('[data-setting=prechat_enabled]').check();
  await forms.locator('select[data-ask=name]').selectOption('optional');
  await forms.locator('select[data-ask=email]').selectOption('required');
  await forms.locator('select[data-ask=phone]').selectOption('optional');
  await forms.locator('[data-action=add-field]').click();
  const f0 = forms.locator('.form-field[data-field-index="0"]');
  await f0.locator('[data-field=label]').fill('Order number');
  assert.equal(await f0.locator('[data-field=key]').inputValue(), 'order_number', 'the key follows the label');
  await forms.locator('[data-action=add-field]').click();
  const f1 = forms.locator('.form-field[data-field-index="1"]');
  await f1.locator('[data-field=label]').fill('Plan');
  await f1.locator('[data-field=kind]').selectOption('select');
  await f1.locator('[data-field=required]').check();
  // A choice list without options is refused before anything is sent.
  await forms.locator('[data-action=save-forms]').click();
  await until(async () => (await noteOf(forms)) === 'Not saved: field “Plan”: a choice list needs options, one per line', 5000, 'options needed');
  await f1.locator('[data-field=options]').fill('Free\nPro\nEnterprise');
  await forms.locator('[data-setting=consent]').fill('I agree that you keep my details to answer me.');
  await forms.locator('select[data-setting=rating]').selectOption('thumbs');
  await forms.locator('[data-action=save-forms]').click();
  await until(async () => (await noteOf(forms)) === 'Forms & rating saved. Visitors get them on their next page.', 10000, 'forms saved');

  site = (await apiCall(relay, 'GET', '/v1/api/sites/demo', token)).body;
  assert.deepEqual(site.widget.prechat, {
    enabled: true, name: 'optional', email: 'required', phone: 'optional',
    fields: [
      { key: 'order_number', label: 'Order number', kind: 'text', required: false },
      { key: 'plan', label: 'Plan', kind: 'select', options: ['Free', 'Pro', 'Enterprise'], required: true },
    ],
    consent: 'I agree that you keep my details to answer me.',
  });
  assert.equal(site.widget.rating, 'thumbs');
  assert.equal(site.widget.greeting, GREETING, 'the widget\'s other settings are kept');
  await sectionShots(c, '.forms-rating', 'forms');

  // Reloaded, the console shows what is stored.
  await c.reload();
  await c.locator('.offline-hours [data-action=save-hours]').waitFor({ timeout: 15000 });
  assert.equal(await hours.locator('[data-setting=tz]').inputValue(), 'Europe/Berlin');
  assert.equal(await hours.locator('.day[data-day="0"] .period[data-period="1"] [data-field=to]').inputValue(), '21:30');
  assert.equal(await hours.locator('.day[data-day="4"] .closed').count(), 1);
  assert.deepEqual(await hours.locator('.holiday-list li').evaluateAll((l) => l.map((x) => x.dataset.holiday)), ['2026-01-01', '2026-12-25']);
  assert.equal(await hours.locator('[data-setting=continuity_minutes]').inputValue(), '10');
  assert.equal(await forms.locator('[data-setting=prechat_enabled]').isChecked(), true);
  assert.equal(await forms.locator('select[data-ask=email]').inputValue(), 'required');
  assert.equal(await forms.locator('.form-field').count(), 2);
  assert.equal(await forms.locator('.form-field[data-field-index="1"] [data-field=options]').inputValue(), 'Free\nPro\nEnterprise');
  assert.equal(await forms.locator('select[data-setting=rating]').inputValue(), 'thumbs');
  // The widget form's save keeps the pre-chat form and the scale.
  await c.locator('.appearance button[type=submit]').click();
  await until(async () => (await c.locator('.settings .notice').textContent()).startsWith('Saved.'), 10000, 'appearance saved');
  site = (await apiCall(relay, 'GET', '/v1/api/sites/demo', token)).body;
  assert.equal(site.widget.prechat.fields.length, 2);
  assert.equal(site.widget.rating, 'thumbs');
  await ctx.close();
});

test('settings: an agent chooses their own notification mail; owners\' sections stay hidden', async (t) => {
  if (skipUnlessOffline(t)) return;
  const add = await apiCall(relay, 'POST', '/v1/api/agents', token,
    { name: 'Ada', email: AGENT.email, password: AGENT.password, role: 'agent', sites: ['demo'] });
  assert.equal(add.status, 201, JSON.stringify(add.body));
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await signedInConsole(relay, ctx, AGENT);
  await c.click('[data-nav=settings]');
  const mail = c.locator('.mail-pref');
  await mail.waitFor({ timeout: 10000 });
  assert.equal(await c.locator('.offline-hours, .forms-rating').count(), 0, 'owners only');
  assert.equal(await mail.locator('input[value=all]').isChecked(), true, 'all by default');
  await mail.getByLabel('Assigned to me').check();
  await until(async () => (await mail.getAttribute('data-mail')) === 'mine', 10000, 'mail choice saved');
  assert.match(await mail.locator('.int-note').textContent(), /^You get an email about conversations assigned to you/);
  const login = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(AGENT) });
  const agentToken = (await login.json()).token;
  const me = (await apiCall(relay, 'GET', '/v1/api/me', agentToken)).body;
  assert.equal(me.mail, 'mine', 'stored on the agent');
  await c.reload();
  await c.click('[data-nav=settings]');
  await mail.waitFor({ timeout: 10000 });
  await until(() => mail.locator('input[value=mine]').isChecked(), 10000, 'still mine after a reload');
  await sectionShots(c, '.mail-pref', 'mail');
  await ctx.close();
});

test('profile and conversation: form answers, an edited email, the form line, a 👍 rating, the auto-reply', async (t) => {
  if (skipUnlessOffline(t)) return;
  visitor = await rawVisitor('v-offline-grace');
  visitor.send({ type: 'send', cid: 'g-1', text: 'Hello, where is my order?' });
  conv = (await visitor.waitFor((f) => f.type === 'ack' && f.cid === 'g-1', 'ack')).conv;
  visitor.send({
    type: 'contact', cid: 'g-2', conv, form: 'prechat', name: 'Grace', email: 'grace@example.com',
    phone: '+49 30 123456', fields: { order_number: 'A-1042', plan: 'Pro' }, consent: true,
  });
  await visitor.waitFor((f) => f.type === 'saved' && f.cid === 'g-2', 'contact saved');

  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await signedInConsole(relay, ctx, OWNER);
  await c.click('[data-filter="All open"]');
  await c.locator(`.conv[data-conv="${conv}"]`).click();
  const chat = c.locator(`.chat[data-conv="${conv}"]`);
  await chat.waitFor();
  await chat.locator('.sys.contacted', { hasText: 'The visitor filled in the pre-chat form' }).waitFor({ timeout: 10000 });

  const profile = c.locator('.profile');
  const fact = (k) => profile.locator(`.facts [data-fact=${k}]`);
  await until(async () => (await fact('email').count()) === 1, 10000, 'the email in the profile');
  assert.equal(await fact('name').textContent(), 'Grace');
  assert.equal(await fact('email').textContent(), 'grace@example.com');
  assert.equal(await fact('phone').textContent(), '+49 30 123456');
  const fields = await profile.locator('.facts [data-fact=field]').evaluateAll((l) => l.map((d) => d.previousElementSibling.textContent + ': ' + d.textContent));
  assert.deepEqual(fields, ['Order number: A-1042', 'Plan: Pro'], 'custom answers under their labels');
  assert.match(await fact('consent').textContent(), /^✓ given · \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);

  // The agent corrects the email: a bad one is refused in place first.
  await profile.locator('[data-action=edit-contact]').click();
  const form = profile.locator('.contact-form');
  assert.equal(await form.locator('input[name=email]').inputValue(), 'grace@example.com');
  await form.locator('input[name=email]').fill('grace at example');
  await form.locator('button[type=submit]').click();
  await until(async () => (await form.locator('.error').textContent()) === 'Not saved: email is not an address', 5000, 'bad email refused');
  await c.screenshot({ path: shot('contact-edit-1280x800') });
  await form.locator('input[name=email]').fill('grace.hopper@example.org');
  await form.locator('button[type=submit]').click();
  await until(async () => (await form.count()) === 0, 10000, 'editor closed');
  await until(async () => (await fact('email').textContent()) === 'grace.hopper@example.org', 10000, 'the new email shows');
  const stored = (await apiCall(relay, 'GET', `/v1/api/sites/demo/visitors/v-offline-grace`, token)).body;
  assert.equal(stored.user.email, 'grace.hopper@example.org', 'stored');
  assert.equal(stored.user.name, 'Grace', 'the name untouched');

  // Closed by the agent, rated by the visitor on the site's thumbs scale.
  const closed = await apiCall(relay, 'POST', `/v1/api/conversations/${conv}/close`, token, {});
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  visitor.send({ type: 'rate', cid: 'g-3', conv, score: 5, comment: 'Fast and friendly, thank you!' });
  await visitor.waitFor((f) => f.type === 'ack' && f.cid === 'g-3', 'rating acked');
  const rated = chat.locator('.sys.rated');
  await rated.waitFor({ timeout: 10000 });
  assert.equal(await rated.locator('.score').textContent(), '👍');
  assert.equal(await rated.locator('.score').getAttribute('aria-label'), 'thumbs up');
  assert.equal(await rated.locator('.comment').textContent(), 'Fast and friendly, thank you!');
  await c.click('[data-filter="Closed"]');
  assert.equal(await c.locator(`.conv[data-conv="${conv}"] .conv-rating`).textContent({ timeout: 10000 }), '👍', 'the row shows it');
  await c.screenshot({ path: shot('conversation-1280x800') });

  // Outside business hours (today is a holiday), a visitor's message is
  // answered by the auto-reply, shown as a bubble of its own.
  const now = new Date();
  const day = (d) => new Date(now.getTime() + d * 86400000).toISOString().slice(0, 10);
  const site = (await apiCall(relay, 'GET', '/v1/api/sites/demo', token)).body;
  const o = site.offline;
  o.hours.tz = 'UTC';
  o.hours.holidays = [day(-1), day(0), day(1)];
  const set = await apiCall(relay, 'PATCH', '/v1/api/sites/demo', token, { offline: o });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const late = await rawVisitor('v-offline-late');
  late.send({ type: 'send', cid: 'l-1', text: 'Anyone there?' });
  const lateConv = (await late.waitFor((f) => f.type === 'ack' && f.cid === 'l-1', 'ack')).conv;
  await late.waitFor((f) => f.type === 'event' && f.kind === 'auto_reply', 'the auto-reply reaches the visitor');
  await c.click('[data-filter="All open"]');
  await c.locator(`.conv[data-conv="${lateConv}"]`).click();
  const lateChat = c.locator(`.chat[data-conv="${lateConv}"]`);
  const auto = lateChat.locator('.msg.auto-reply');
  await auto.waitFor({ timeout: 10000 });
  assert.equal(await auto.locator('.auto-tag').textContent(), 'Auto-reply (outside business hours)');
  assert.equal(await auto.locator('.bubble').textContent(), "Thanks! We're closed now and answer from 9:00.");
  assert.equal(await lateChat.locator('.msg.agent').count(), 0, 'not an agent\'s message');
  await c.screenshot({ path: shot('auto-reply-1280x800') });
  late.close();
  await ctx.close();
});

test('phone (375×812): hours, forms, mail choice, profile editor and conversation fit', async (t) => {
  if (skipUnlessOffline(t)) return;
  const ctx = await chrome.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  const c = await signedInConsole(relay, ctx, OWNER);
  await settings(c);
  await assertFits(c, 'settings');
  for (const [name, sel] of [['hours', '.offline-hours'], ['forms', '.forms-rating'], ['mail', '.mail-pref']]) {
    await sectionShots(c, sel, name);
  }
  await c.click('[data-nav=inbox]');
  await c.click('[data-filter="Closed"]');
  await c.locator(`.conv[data-conv="${conv}"]`).click();
  const chat = c.locator(`.chat[data-conv="${conv}"]`);
  await chat.locator('.sys.rated').waitFor({ timeout: 10000 });
  await assertFits(c, 'conversation');
  await c.screenshot({ path: shot('conversation-375x812') });
  await chat.locator('.to-profile').click();
  const profile = c.locator('.profile');
  await profile.locator('[data-action=edit-contact]').click();
  await profile.locator('.contact-form').waitFor();
  await assertFits(c, 'profile editor');
  await c.screenshot({ path: shot('profile-375x812') });
  await ctx.close();
});
