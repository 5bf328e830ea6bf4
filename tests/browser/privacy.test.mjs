// Blocking and erasing from the console, in headless chromium against a
// real relay: an agent blocks the widget's visitor from its profile, the
// widget's next message is refused by the relay (and dropped from its
// outbox: the relay stores nothing), Settings list the block and Unblock
// lifts it; then the agent erases the visitor behind the typed
// confirmation, and the conversation's texts read [erased].
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, hostServer, page, browser, until, sleep, SHOTS, signedInConsole, widgetTexts } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1', name: 'Demo Agent' };
let relay, host, chrome, ownerToken;

const api = (method, p, body) => fetch(relay.base + p, {
  method,
  headers: { authorization: 'Bearer ' + ownerToken },
  body: body === undefined ? undefined : JSON.stringify(body),
});

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password]);
  host = await hostServer({ '/': () => page(relay, { title: 'Shop', body: '<h1>Shop</h1>' }) });
  chrome = await browser();
  const r = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) });
  ownerToken = (await r.json()).token;
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

test('console: block from the profile refuses the widget, unblock restores it, erase empties it', async () => {
  const vctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const v = await vctx.newPage();
  await v.goto(host.url + '/');
  await until(() => v.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
  await v.locator('kefu-widget .b').click();
  await v.locator('kefu-widget textarea').fill('Hello before the block');
  await v.locator('kefu-widget textarea').press('Enter');

  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, octx, OWNER);
  const row = c.locator('.conv', { hasText: 'Hello before the block' });
  await row.waitFor({ timeout: 15000 });
  await row.click();
  await c.locator('.profile [data-action=block]').waitFor({ timeout: 10000 });
  assert.match(await c.locator('.profile [data-fact=last-ip]').innerText(), /127\.0\.0\.1/);
  await c.selectOption('.profile [data-field=block-ip]', 'ip');
  await c.click('.profile [data-action=block]');
  await c.locator('.profile [data-state=blocked]').waitFor({ timeout: 10000 });
  await c.screenshot({ path: path.join(SHOTS, 'privacy-blocked-1280x800.png') });

  // The widget's next message is refused: it leaves the outbox and the
  // conversation holds only the first one.
  await v.locator('kefu-widget textarea').fill('Refused while blocked');
  await v.locator('kefu-widget textarea').press('Enter');
  await until(async () => !(await widgetTexts(v)).some((m) => m.text.includes('Refused while blocked')), 10000, 'the refused message dropped');
  await v.screenshot({ path: path.join(SHOTS, 'privacy-widget-refused-1280x800.png') });
  const convs = await (await api('GET', '/v1/api/sites/demo/conversations')).json();
  const conv = convs.convs[0].id;
  const evs = await (await api('GET', `/v1/api/conversations/${conv}/events`)).json();
  assert.deepEqual(evs.events.filter((e) => e.kind === 'message').map((e) => e.text), ['Hello before the block']);

  // Settings list the block; Unblock lifts it, and the widget writes again.
  await c.click('[data-nav=settings]');
  const item = c.locator('.blocks li[data-block]');
  await item.waitFor({ timeout: 10000 });
  await item.scrollIntoViewIfNeeded();
  await c.screenshot({ path: path.join(SHOTS, 'privacy-settings-blocks-1280x800.png') });
  await item.locator('[data-action=unblock]').click();
  await c.locator('.blocks li[data-block]').waitFor({ state: 'detached', timeout: 10000 });
  await v.locator('kefu-widget textarea').fill('Back after unblock');
  await v.locator('kefu-widget textarea').press('Enter');
  await until(async () => {
    const e = await (await api('GET', `/v1/api/conversations/${conv}/events`)).json();
    return e.events.some((x) => x.text === 'Back after unblock');
  }, 10000, 'stored after unblock');

  // Erase from the profile, confirmed by typing ERASE.
  await c.click('[data-nav=inbox]');
  await c.locator('.conv', { hasText: 'Back after unblock' }).click();
  await c.locator('.profile [data-action=erase]').click();
  const confirm = c.locator('.profile [data-action=erase-confirm]');
  assert.equal(await confirm.isDisabled(), true, 'not before it is confirmed');
  await c.fill('.profile [data-field=erase-confirm]', 'ERASE');
  await c.screenshot({ path: path.join(SHOTS, 'privacy-erase-confirm-1280x800.png') });
  await confirm.click();
  await c.locator('.profile [role=status]', { hasText: /Erased/ }).waitFor({ timeout: 10000 });
  const after = await (await api('GET', `/v1/api/conversations/${conv}/events`)).json();
  assert.ok(after.events.filter((e) => e.kind === 'message').every((e) => e.text === '[erased]'), JSON.stringify(after));
  const log = await (await api('GET', '/v1/api/sites/demo/erasures')).json();
  assert.equal(log.length, 1);

  // On a phone: the profile actions fit.
  const pctx = await chrome.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const ph = await signedInConsole(relay, pctx, OWNER);
  await ph.click('[data-nav=settings]');
  await ph.locator('.blocks').waitFor({ timeout: 10000 });
  await ph.locator('.blocks').scrollIntoViewIfNeeded();
  await sleep(300);
  await ph.screenshot({ path: path.join(SHOTS, 'privacy-settings-375x812.png') });
  const overflow = await ph.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, 'nothing scrolls sideways: ' + overflow);
  await Promise.all([vctx.close(), octx.close(), pctx.close()]);
});
