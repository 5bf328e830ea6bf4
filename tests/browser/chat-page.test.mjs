// The hosted chat page /chat/demo in headless chromium against a real
// relay: a signed identity on a phone (the visitor talks, the agent sees a
// verified visitor under the signed name on the `page` channel and
// replies), the same on a desktop and through fallback.js, a forged
// signature refused with the 403 page, and the console's chat-link card.
// The demo site's allow-list names only the shop: the hosted page, on the
// relay's own origin, works anyway.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import {
  startRelay, agent, apiCall, browser, until, widgetTexts, signedInConsole, assertFits, sleep,
  PHONE, SHOTS, TOKEN,
} from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const PHONE_VIEW = { width: 390, height: 844 };
let relay, chrome, secret;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password]);
  chrome = await browser();
  secret = (await apiCall(relay, 'GET', '/v1/api/sites/demo', TOKEN)).body.secret;
  const r = await apiCall(relay, 'PATCH', '/v1/api/sites/demo', TOKEN, { allowed_origins: ['https://shop.example.com'] });
  assert.equal(r.status, 200);
});

after(async () => {
  await chrome?.close();
  await relay?.close();
});

/** A chat link signed as README says a site's backend does it. */
function signedLink(user, { key = secret, ts = Math.floor(Date.now() / 1000), extra = '' } = {}) {
  const fields = [['uid', user.uid], ['name', user.name], ['email', user.email], ['ts', String(ts)]]
    .filter(([, v]) => v !== undefined);
  const canonical = fields.map(([k, v]) => `${k}=${v}`).join('\n');
  const sig = crypto.createHmac('sha256', key).update(canonical).digest('hex');
  const q = new URLSearchParams(fields);
  q.set('sig', sig);
  return `${relay.base}/chat/demo?${q}${extra}`;
}

const panel = (p) => p.locator('kefu-widget .p');
const input = (p) => p.locator('kefu-widget textarea');

async function openPage(ctx, url, mode = 'wasm') {
  const p = await ctx.newPage();
  p.on('pageerror', (e) => console.error('page error:', e.message));
  await p.goto(url);
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
  assert.equal(await p.evaluate(() => window.kefu.mode), mode);
  return p;
}

/** The visitor's profile and their conversation's summary, as agents get them. */
async function seenByAgents(vid, conv) {
  const profile = (await apiCall(relay, 'GET', `/v1/api/sites/demo/visitors/${vid}`, TOKEN)).body;
  const list = (await apiCall(relay, 'GET', '/v1/api/sites/demo/conversations', TOKEN)).body;
  return { profile, summary: list.convs.find((c) => c.id === conv) };
}

/** Nothing on the page is wider than the viewport. */
async function noSideScroll(p, width) {
  const sw = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(sw <= width, `nothing scrolls sideways (scrollWidth ${sw} > ${width})`);
}

test('phone: a signed visitor talks from the hosted page, verified and on the page channel', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: PHONE_VIEW, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const user = { uid: 'u-1001', name: 'Li Lei 李雷', email: 'li@example.com' };
  const p = await openPage(ctx, signedLink(user, { extra: '&utm_source=app' }));
  assert.equal(await p.title(), 'Demo site');
  assert.equal(await p.locator('.kefu-top h1').textContent(), 'Demo site');
  // The signed fields leave the address bar; other parameters stay.
  assert.equal(new URL(p.url()).search, '?utm_source=app');

  // Open at once, the whole viewport below the header, no launcher, no close.
  await until(() => panel(p).isVisible(), 10000, 'panel open');
  assert.equal(await p.locator('kefu-widget .b').isVisible(), false, 'no launcher');
  assert.equal(await p.locator('kefu-widget .x').isVisible(), false, 'no close button');
  const box = await panel(p).boundingBox();
  assert.equal(Math.round(box.x), 0);
  assert.equal(Math.round(box.width), PHONE_VIEW.width);
  assert.equal(Math.round(box.y + box.height), PHONE_VIEW.height, 'down to the bottom');
  assert.ok(box.y >= 48 && box.y <= 50, `below the header (${box.y})`);
  await noSideScroll(p, PHONE_VIEW.width);

  await input(p).fill('Hello from the hosted page');
  await input(p).press('Enter');
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === 'Hello from the hosted page');
  assert.equal(ev.from.side, 'visitor');
  assert.equal(ev.from.name, user.name, 'the signed name on the message');
  const { profile, summary } = await seenByAgents(ev.from.id, ev.conv);
  assert.equal(profile.verified, true, JSON.stringify(profile));
  assert.equal(profile.user.name, user.name);
  assert.equal(profile.user.email, user.email);
  assert.equal(profile.channel, 'page');
  assert.equal(summary.channel, 'page');

  a.send({ type: 'send', conv: ev.conv, cid: 'pa1', text: 'Hi Li Lei, agent here.' });
  await until(async () => (await widgetTexts(p)).some((m) => m.text === 'Hi Li Lei, agent here.' && !m.mine), 10000, 'agent reply shown');
  // Escape closes a widget on a host page; here the chat stays.
  await input(p).press('Escape');
  await sleep(300);
  assert.ok(await panel(p).isVisible(), 'still open after Escape');
  await noSideScroll(p, PHONE_VIEW.width);
  await p.screenshot({ path: path.join(SHOTS, 'chat-page-phone-390x844.png') });

  // At 360 px too.
  await p.setViewportSize({ width: 360, height: 740 });
  await sleep(200);
  assert.equal(Math.round((await panel(p).boundingBox()).width), 360);
  await noSideScroll(p, 360);
  await p.screenshot({ path: path.join(SHOTS, 'chat-page-phone-360x740.png') });
  a.close();
  await ctx.close();
});

test('desktop: an anonymous visitor gets the chat as a centred page', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await openPage(ctx, relay.base + '/chat/demo');
  await until(() => panel(p).isVisible(), 10000, 'panel open');
  const box = await panel(p).boundingBox();
  assert.equal(Math.round(box.width), 760);
  assert.equal(Math.round(box.x), (1280 - 760) / 2, 'centred');
  assert.equal(Math.round(box.y + box.height), 800);
  await input(p).fill('Desktop question');
  await input(p).press('Enter');
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === 'Desktop question');
  const { profile, summary } = await seenByAgents(ev.from.id, ev.conv);
  assert.equal(profile.verified, false);
  assert.equal(profile.channel, 'page');
  assert.equal(summary.channel, 'page');
  a.send({ type: 'send', conv: ev.conv, cid: 'pd1', text: 'Answer for the desktop' });
  await until(async () => (await widgetTexts(p)).some((m) => m.text === 'Answer for the desktop'), 10000, 'reply shown');
  await p.screenshot({ path: path.join(SHOTS, 'chat-page-desktop-1280x800.png') });
  a.close();
  await ctx.close();
});

test('old browsers: the fallback client as the whole page, same identity and channel', async () => {
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: PHONE_VIEW, isMobile: true, hasTouch: true });
  const user = { uid: 'u-2002', name: 'Han Meimei' };
  const p = await openPage(ctx, signedLink(user, { extra: '&kefu_fallback=1' }), 'fallback');
  const fpanel = p.locator('#kefu-fb .kefu-p');
  await until(() => fpanel.isVisible(), 10000, 'fallback panel open');
  assert.equal(await p.locator('#kefu-fb .kefu-b').isVisible(), false, 'no launcher');
  assert.equal(await p.locator('#kefu-fb .kefu-x').isVisible(), false, 'no close button');
  const box = await fpanel.boundingBox();
  assert.equal(Math.round(box.width), PHONE_VIEW.width);
  assert.equal(Math.round(box.y + box.height), PHONE_VIEW.height);
  await p.locator('#kefu-fb textarea').fill('Hello from an old browser');
  await p.locator('#kefu-fb textarea').press('Enter');
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === 'Hello from an old browser');
  assert.equal(ev.from.name, user.name);
  const { profile, summary } = await seenByAgents(ev.from.id, ev.conv);
  assert.equal(profile.verified, true);
  assert.equal(profile.channel, 'page');
  assert.equal(summary.channel, 'page');
  a.send({ type: 'send', conv: ev.conv, cid: 'pf1', text: 'Fallback reply' });
  await until(() => p.locator('#kefu-fb .kefu-g', { hasText: 'Fallback reply' }).isVisible(), 15000, 'reply shown');
  await noSideScroll(p, PHONE_VIEW.width);
  await p.screenshot({ path: path.join(SHOTS, 'chat-page-fallback-390x844.png') });
  a.close();
  await ctx.close();
});

test('a forged signature gets the 403 page and no widget', async () => {
  const ctx = await chrome.newContext({ viewport: PHONE_VIEW, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const p = await ctx.newPage();
  const r = await p.goto(signedLink({ uid: 'u-1001', name: 'Li Lei' }, { key: 'a guessed secret' }));
  assert.equal(r.status(), 403);
  assert.match(await p.locator('h1').textContent(), /not valid/);
  await sleep(500);
  assert.equal(await p.locator('kefu-widget, #kefu-fb').count(), 0, 'no widget');
  assert.equal(await p.evaluate(() => typeof window.kefu), 'undefined');
  await p.screenshot({ path: path.join(SHOTS, 'chat-page-forged-390x844.png') });
  const missing = await p.goto(relay.base + '/chat/no-such-site');
  assert.equal(missing.status(), 404);
  assert.match(await p.locator('h1').textContent(), /No such chat/);
  await ctx.close();
});

test('console: the chat link card with its QR code, and the channel badge, fit a phone', async () => {
  const ctx = await chrome.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const c = await signedInConsole(relay, ctx, OWNER);
  // The inbox rows of hosted-page conversations carry the badge.
  await c.locator('.conv .channel[data-channel=page]').first().waitFor({ timeout: 10000 });
  assert.equal(await c.locator('.conv .channel[data-channel=page]').first().textContent(), 'Chat page');
  await c.screenshot({ path: path.join(SHOTS, 'chat-page-console-inbox-375x812.png') });
  await c.locator('.conv', { has: c.locator('.channel') }).first().click();
  await c.getByRole('button', { name: 'Visitor info' }).click();
  await c.locator('.profile .channel[data-channel=page]').waitFor({ timeout: 10000 });
  await c.screenshot({ path: path.join(SHOTS, 'chat-page-console-profile-375x812.png') });

  await c.click('[data-nav=settings]');
  const card = c.locator('.chat-link');
  await card.waitFor({ timeout: 10000 });
  assert.equal(await card.locator('input.chat-url').inputValue(), relay.base + '/chat/demo');
  const img = card.locator('img');
  await until(() => img.evaluate((e) => e.complete && e.naturalWidth > 0), 10000, 'QR image loaded');
  assert.equal(await card.getByRole('link', { name: 'Download SVG' }).getAttribute('href'), '/chat/demo/qr.svg');
  assert.equal(await card.getByRole('link', { name: 'Download PNG' }).getAttribute('href'), '/chat/demo/qr.png');
  const png = await fetch(relay.base + '/chat/demo/qr.png');
  assert.equal(png.headers.get('content-type'), 'image/png');
  await card.getByRole('button', { name: 'Copy' }).click();
  await c.locator('.notice', { hasText: 'Chat link copied' }).waitFor();
  // The identity secret is random base64url: whether it has a '-' to break
  // at is chance. The worst case, one unbreakable word, must fit too.
  const secret = c.locator('.card .hint code').first();
  await secret.waitFor();
  await secret.evaluate((e) => { e.textContent = 'A'.repeat(43); });
  await assertFits(c, 'settings with the chat link');
  await card.scrollIntoViewIfNeeded();
  await card.screenshot({ path: path.join(SHOTS, 'chat-page-console-card-375.png') });
  await c.setViewportSize({ width: 360, height: 740 });
  await sleep(300);
  await noSideScroll(c, 360);
  const cb = await card.boundingBox();
  assert.ok(cb.x >= 0 && cb.x + cb.width <= 360, `the card fits 360 px (${cb.x}, ${cb.width})`);
  await card.screenshot({ path: path.join(SHOTS, 'chat-page-console-card-360.png') });
  await ctx.close();
});
