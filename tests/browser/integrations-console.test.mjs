// Settings → Webhooks and API keys in the console, against a relay that
// serves it (started with --webhooks-allow-private so a local receiver may
// be an endpoint): the owner adds a webhook and sees its secret once; a
// visitor's message reaches the receiver signed (checked here with Node's
// own HMAC); the Deliveries view shows the attempt and Redeliver sends the
// same event id again; pausing shows its reason; an API key made in the
// console posts as its bot until revoked; agents who are not owners see
// none of it; and on phones (390 and 360 px wide) it all fits.
// The tests run in order: each builds on what the one before set up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import {
  startRelay, apiCall, browser, until, SHOTS, signedInConsole, wsVisitor, assertFits, sleep,
} from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const AGENT = { email: 'agent@example.com', password: 'agent-password-1' };
const DESKTOP = { width: 1280, height: 800 };
const PHONE390 = { width: 390, height: 844 };
const HINT = 'Shown once — use it to verify the Kefu-Signature header';
let relay, chrome, token, receiver, hookUrl, secret, conv, visitor;
/** What the receiver got: `{headers, body}` per POST, in order. */
const received = [];

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password, '--webhooks-allow-private',
    '--sends-per-ip', '100000', '--page-views-per-ip', '100000']);
  chrome = await browser();
  const r = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) });
  token = (await r.json()).token;
  // The webhook receiver: keeps the raw body (the signature covers its bytes).
  receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
  hookUrl = `http://127.0.0.1:${receiver.address().port}/kefu-hook`;
});

after(async () => {
  visitor?.close();
  await chrome?.close();
  await new Promise((ok) => (receiver ? receiver.close(ok) : ok()));
  await relay?.close();
});

/** `v1=` hex HMAC-SHA256(secret, `${timestamp}.${body}`), as the relay's
 *  documentation gives it, computed independently. */
function verifies(delivery, key) {
  const ts = delivery.headers['kefu-timestamp'];
  const want = 'v1=' + crypto.createHmac('sha256', key).update(`${ts}.${delivery.body}`).digest('hex');
  const got = delivery.headers['kefu-signature'] || '';
  return got.length === want.length && crypto.timingSafeEqual(Buffer.from(got), Buffer.from(want));
}

const openSettings = async (c) => {
  await c.click('[data-nav=settings]');
  await c.locator('.webhooks .add-hook').waitFor({ timeout: 10000 });
};
const hooksNote = (c) => c.locator('.webhooks .int-note').textContent();

test('webhooks: added in the console, its secret once; deliveries signed, listed and redelivered; pause shows why', async () => {
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await signedInConsole(relay, ctx, OWNER);
  await openSettings(c);
  const hooks = c.locator('.webhooks');
  await hooks.getByText('No webhooks yet.').waitFor({ timeout: 10000 });

  // Refused before anything is sent: no event ticked.
  await hooks.locator('[data-field=hook-url]').fill(hookUrl);
  await hooks.getByRole('button', { name: 'Add webhook' }).click();
  await until(async () => (await hooksNote(c)) === 'Not added: pick at least one event', 5000, 'no events refused');
  assert.ok(await hooks.locator('.int-note.bad').isVisible(), 'shown as an error');
  // Refused by the relay, its message shown inline: a URL only its parser
  // refuses.
  await hooks.locator('[data-field=hook-url]').fill('http://[bad/hook');
  await hooks.locator('input[data-event="message.created"]').check();
  await hooks.getByRole('button', { name: 'Add webhook' }).click();
  await until(async () => (await hooksNote(c)) === 'Not added: not a valid URL', 10000, 'the relay refused the URL');
  assert.deepEqual((await apiCall(relay, 'GET', '/v1/api/sites/demo/webhooks', token)).body, [], 'nothing stored');

  // Added: the secret once, with Copy and what it is for.
  await hooks.locator('[data-field=hook-url]').fill(hookUrl);
  await hooks.getByRole('button', { name: 'Add webhook' }).click();
  const once = hooks.locator('.shown-once[data-once=secret]');
  await once.waitFor({ timeout: 10000 });
  secret = await once.locator('.once-text').textContent();
  assert.match(secret, /^whsec_/);
  assert.equal(await once.locator('.hint').textContent(), HINT);
  assert.ok(await once.getByRole('button', { name: 'Copy' }).isVisible());
  const row = hooks.locator('.hook');
  await row.waitFor();
  assert.equal(await row.locator('.hook-url').textContent(), hookUrl);
  assert.equal(await row.locator('.hook-events-list').textContent(), 'message.created');
  const stored = (await apiCall(relay, 'GET', '/v1/api/sites/demo/webhooks', token)).body;
  assert.equal(stored.length, 1);
  assert.equal(stored[0].url, hookUrl);
  assert.deepEqual(stored[0].events, ['message.created']);
  assert.equal(stored[0].secret, undefined, 'the list never carries the secret');
  await c.screenshot({ path: path.join(SHOTS, 'integrations-webhook-added-1280x800.png') });
  // "Done" hides it for good; a reload does not bring it back.
  await once.getByRole('button', { name: 'Done' }).click();
  assert.equal(await once.count(), 0);

  // A visitor's message: POSTed to the receiver, signed.
  visitor = await wsVisitor(relay, 'hook-visitor');
  conv = (await visitor.send('Hello, is my order on its way?')).conv;
  const first = await until(() => received.find((d) => d.headers['kefu-event-type'] === 'message.created'), 15000, 'a delivery');
  assert.equal(first.method, 'POST');
  assert.equal(first.url, '/kefu-hook');
  assert.ok(verifies(first, secret), 'Kefu-Signature verifies with the secret shown once');
  assert.ok(!verifies(first, secret + 'x'), 'and not with another');
  const event = JSON.parse(first.body);
  assert.equal(event.type, 'message.created');
  assert.equal(event.id, first.headers['kefu-event-id']);
  assert.ok(first.body.includes('Hello, is my order on its way?'), 'the message is in the body');
  const eventId = first.headers['kefu-event-id'];

  // Deliveries: the attempt, ok, HTTP 200, with its event.
  await row.getByRole('button', { name: 'Deliveries' }).click();
  const attempt = row.locator(`.delivery[data-event-id="${eventId}"]`);
  await attempt.first().waitFor({ timeout: 10000 });
  assert.equal(await attempt.count(), 1);
  assert.equal(await attempt.getAttribute('data-ok'), 'true');
  assert.equal(await attempt.getAttribute('data-status'), '200');
  assert.equal(await attempt.locator('.outcome').textContent(), 'ok');
  assert.equal(await attempt.locator('.delivery-head code').textContent(), 'message.created');
  assert.match(await attempt.locator('.delivery-head .hint').textContent(), /^attempt #1$/);
  assert.equal(await attempt.locator('.event-id').textContent(), eventId);
  assert.match(await attempt.locator(':scope > .hint').textContent(), /· HTTP 200 · \d+ ms$/);
  await row.scrollIntoViewIfNeeded();
  await c.screenshot({ path: path.join(SHOTS, 'integrations-deliveries-1280x800.png') });

  // Redeliver: the same event id reaches the receiver again, signed anew,
  // and the log (newest first) shows the new attempt on top.
  const before = received.length;
  await attempt.getByRole('button', { name: 'Redeliver' }).click();
  const again = await until(() => received.slice(before).find((d) => d.headers['kefu-event-id'] === eventId), 15000, 'the redelivery');
  assert.equal(again.body, first.body, 'the same event');
  assert.ok(verifies(again, secret));
  await until(async () => {
    await row.locator('[data-action=refresh-deliveries]').click();
    await sleep(200);
    return (await attempt.count()) === 2;
  }, 10000, 'two attempts listed');
  assert.deepEqual(await row.locator('.delivery').evaluateAll((xs) => xs.map((x) => x.dataset.ok)), ['true', 'true']);

  // Pause: the reason in the warning style; resume clears it.
  await row.locator('[data-action=pause]').click();
  await until(async () => (await row.locator('.paused-reason').count()) === 1, 10000, 'paused');
  assert.equal(await row.locator('.paused-reason').textContent(), 'Paused: paused by an owner');
  assert.equal((await apiCall(relay, 'GET', '/v1/api/sites/demo/webhooks', token)).body[0].paused, true);
  assert.equal(await row.locator('[data-action=pause]').textContent(), 'Resume');
  // Redelivering while paused is refused: the relay's message inline.
  await row.locator('.delivery [data-action=redeliver]').first().click();
  await until(async () => (await hooksNote(c)) === 'Not redelivered: the endpoint is paused: resume it first', 10000, 'paused redelivery refused');
  await c.screenshot({ path: path.join(SHOTS, 'integrations-paused-1280x800.png') });
  await row.locator('[data-action=pause]').click();
  await until(async () => (await row.locator('.paused-reason').count()) === 0, 10000, 'resumed');
  assert.equal((await apiCall(relay, 'GET', '/v1/api/sites/demo/webhooks', token)).body[0].paused, false);
  await ctx.close();
});

test('API keys: made in the console, the key once; it posts as its bot until revoked', async () => {
  assert.ok(conv, 'the conversation from the test before');
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await signedInConsole(relay, ctx, OWNER);
  await openSettings(c);
  const keys = c.locator('.api-keys');
  await keys.getByText('No API keys yet.').waitFor({ timeout: 10000 });
  // A blank name is refused here.
  await keys.getByRole('button', { name: 'Create key' }).click();
  await until(async () => /^Not created: name must be/.test(await keys.locator('.int-note').textContent()), 5000, 'blank refused');

  await keys.getByLabel('Bot name').fill('Order bot');
  await keys.getByRole('button', { name: 'Create key' }).click();
  const once = keys.locator('.shown-once[data-once=key]');
  await once.waitFor({ timeout: 10000 });
  const key = await once.locator('.once-text').textContent();
  assert.match(key, /^kefu_/);
  assert.equal(await once.locator('.hint').textContent(), `Shown once — use as Authorization: Bearer ${key}`);
  const listed = keys.locator('.api-key');
  await listed.waitFor();
  assert.equal(await listed.locator('.key-name').textContent(), 'Order bot');
  const prefix = (await listed.locator('.key-prefix').textContent()).replace(/…$/, '');
  assert.ok(prefix.length >= 8 && key.startsWith(prefix), 'the prefix is the key\'s start');
  assert.match(await listed.locator('.hint').textContent(), /^Created /);
  await c.screenshot({ path: path.join(SHOTS, 'integrations-key-1280x800.png') });

  // The key works the API as its bot: the message is the bot's in the console.
  const say = (cid) => apiCall(relay, 'POST', `/v1/api/conversations/${conv}/messages`, key, { cid, text: 'Your order shipped this morning.' });
  const sent = await say('bot-1');
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  await until(() => visitor.received.includes('Your order shipped this morning.'), 10000, 'the visitor got it');
  await c.click('[data-nav=inbox]');
  await c.click('[data-filter="All open"]');
  await c.locator(`.conv[data-conv="${conv}"]`).click();
  const msg = c.locator(`.chat[data-conv="${conv}"] .msg.agent`, { hasText: 'Your order shipped this morning.' });
  await msg.waitFor({ timeout: 10000 });
  assert.equal(await msg.locator('.who').textContent(), 'Order bot');
  // A bot's reply leaves the conversation for people: still unassigned.
  assert.equal(await c.locator(`.chat[data-conv="${conv}"] header .assignee`).textContent(), 'Unassigned');
  await c.click('[data-filter="Unassigned"]');
  await c.locator(`.conv[data-conv="${conv}"]`).waitFor({ timeout: 10000 });
  await c.screenshot({ path: path.join(SHOTS, 'integrations-bot-message-1280x800.png') });

  // Revoke, after "Really?": the same call is refused.
  await openSettings(c);
  await keys.locator('.api-key').waitFor({ timeout: 10000 });
  await keys.getByRole('button', { name: 'Revoke' }).click();
  assert.equal((await apiCall(relay, 'GET', '/v1/api/sites/demo/keys', token)).body.length, 1, 'not before the confirmation');
  await keys.getByRole('button', { name: 'Revoke key' }).click();
  await until(async () => (await keys.locator('.api-key').count()) === 0, 10000, 'revoked');
  assert.deepEqual((await apiCall(relay, 'GET', '/v1/api/sites/demo/keys', token)).body, []);
  assert.equal((await say('bot-2')).status, 401);
  await ctx.close();
});

test('agents who are not owners see no webhooks or API keys', async () => {
  const add = await apiCall(relay, 'POST', '/v1/api/agents', token,
    { name: 'Ada', email: AGENT.email, password: AGENT.password, role: 'agent', sites: ['demo'] });
  assert.equal(add.status, 201, JSON.stringify(add.body));
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await signedInConsole(relay, ctx, AGENT);
  await c.click('[data-nav=settings]');
  await c.locator('.settings .device-push').waitFor({ timeout: 10000 });
  await c.getByText('Canned replies').waitFor({ timeout: 10000 });
  await sleep(500);
  assert.equal(await c.locator('.webhooks, .api-keys').count(), 0);
  await ctx.close();
});

test('on phones (390×844 and 360 wide) the webhooks with their deliveries and a paused reason fit; delete asks first', async () => {
  const ctx = await chrome.newContext({ viewport: PHONE390, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const c = await signedInConsole(relay, ctx, OWNER);
  await openSettings(c);
  const row = c.locator('.webhooks .hook');
  await row.waitFor({ timeout: 10000 });
  await row.locator('[data-action=pause]').click();
  await row.locator('.paused-reason').waitFor({ timeout: 10000 });
  await row.getByRole('button', { name: 'Deliveries' }).click();
  await row.locator('.delivery').first().waitFor({ timeout: 10000 });
  await c.locator('.api-keys [data-field=key-name]').fill('Phone bot');
  await c.locator('.api-keys').getByRole('button', { name: 'Create key' }).click();
  await c.locator('.shown-once[data-once=key]').waitFor({ timeout: 10000 });
  await sleep(300);
  await assertFits(c, 'settings with webhooks, deliveries and a new key', PHONE390.width);
  await row.scrollIntoViewIfNeeded();
  await c.screenshot({ path: path.join(SHOTS, 'integrations-phone-webhooks-390x844.png') });
  await c.locator('.api-keys').scrollIntoViewIfNeeded();
  await c.screenshot({ path: path.join(SHOTS, 'integrations-phone-keys-390x844.png') });
  await c.setViewportSize({ width: 360, height: 780 });
  await sleep(300);
  await assertFits(c, 'the same at 360 px', 360);

  // Delete asks first; the answer removes it.
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  assert.equal((await apiCall(relay, 'GET', '/v1/api/sites/demo/webhooks', token)).body.length, 1, 'not before the confirmation');
  await row.getByRole('button', { name: 'Delete webhook' }).click();
  await c.locator('.webhooks').getByText('No webhooks yet.').waitFor({ timeout: 10000 });
  assert.deepEqual((await apiCall(relay, 'GET', '/v1/api/sites/demo/webhooks', token)).body, []);
  await ctx.close();
});
