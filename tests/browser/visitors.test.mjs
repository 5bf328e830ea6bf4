// What the console shows of visitors and of colleagues, in headless
// chromium against a real relay: readable default names (English and, for a
// Chinese browser, Chinese), a profile whose page list follows the visitor
// live (a reload is not a new page view; the referrer is where the visit
// came from), origins the relay refused listed with an "Allow" button that
// works, and two agents' consoles showing who else views or types.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import WebSocket from 'ws';
import { startRelay, hostServer, page, browser, until, sleep, SHOTS, signedInConsole, wsVisitor } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1', name: 'Demo Agent' };
const ANN = { email: 'ann@example.com', password: 'ann-password-1', name: 'Ann Agent' };
const SEARCH = 'https://search.example/?q=running+shoes';
let relay, host, other, chrome, ownerToken;

const api = (method, p, body) => fetch(relay.base + p, {
  method,
  headers: { authorization: 'Bearer ' + ownerToken },
  body: body === undefined ? undefined : JSON.stringify(body),
});

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password]);
  host = await hostServer({
    '/': () => page(relay, { title: 'Demo shop', body: '<h1>Demo shop</h1><a id="to-pricing" href="/pricing">Pricing</a>' }),
    '/pricing': () => page(relay, { title: 'Pricing', body: '<h1>Pricing</h1>' }),
  });
  // A second origin the owner forgot to allow.
  other = await hostServer({ '*': () => page(relay, { title: 'Blog', body: '<h1>Blog</h1>' }) });
  chrome = await browser();
  const r = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) });
  ownerToken = (await r.json()).token;
  const add = await api('POST', '/v1/api/agents', { name: ANN.name, email: ANN.email, password: ANN.password, sites: ['demo'] });
  assert.equal(add.status, 201);
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await other?.close();
  await relay?.close();
});

const pageItems = (c) => c.locator('.profile ol.pages li').allTextContents();
const factOf = (c, label) => c.evaluate((l) => {
  const dt = Array.from(document.querySelectorAll('.profile dt')).find((d) => d.textContent === l);
  return dt ? dt.nextElementSibling.textContent : null;
}, label);

test('console: default visitor names and a profile whose page list is live', async () => {
  const vctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const v = await vctx.newPage();
  // The visit lands from a search engine.
  await v.goto(host.url + '/', { referer: SEARCH });
  await until(() => v.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
  await v.locator('kefu-widget .b').click();
  await v.locator('kefu-widget textarea').fill('Do you ship to Norway?');
  await v.locator('kefu-widget textarea').press('Enter');

  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, octx, OWNER);
  const row = c.locator('.conv', { hasText: 'Do you ship to Norway?' });
  await row.waitFor({ timeout: 15000 });
  const name = (await row.locator('.name').textContent()).trim();
  assert.match(name, /^[A-Z][a-z]+ [A-Z][a-z]+$/, 'an adjective + animal pair: ' + name);
  assert.doesNotMatch(name, /Visitor/);
  await row.click();
  await c.locator('.profile dl').waitFor();
  assert.equal((await c.locator('.profile h3').textContent()).trim(), name, 'the profile is headed by the same name');
  await until(async () => (await pageItems(c)).length === 1, 10000, 'one page listed');
  assert.equal(await factOf(c, 'Referrer'), SEARCH);

  // The visitor follows a link: the open profile lists the new page without
  // being reopened, and the referrer stays the search engine.
  await v.click('#to-pricing');
  await until(async () => (await pageItems(c)).length === 2, 10000, 'second page listed live');
  assert.deepEqual(await pageItems(c), ['Pricing', 'Demo shop'], 'newest first');
  await until(async () => /^2 pages/.test(await factOf(c, 'This visit') || ''), 10000, 'this visit: 2 pages');
  assert.equal(await factOf(c, 'Referrer'), SEARCH, 'the visit came from the search, not from the home page');
  // A reload (the widget reconnects and re-announces /pricing) is no new
  // page view.
  await v.reload();
  await until(() => v.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot again');
  await sleep(1500);
  assert.equal((await pageItems(c)).length, 2, 'no repeat after a reload');
  assert.match(await factOf(c, 'This visit'), /^2 pages/);
  await c.screenshot({ path: path.join(SHOTS, 'visitors-profile-1280x800.png') });

  // The visitors list uses the same name.
  await c.click('[data-nav=visitors]');
  const vrow = c.locator('.vrow', { hasText: 'Pricing' });
  await vrow.waitFor({ timeout: 10000 });
  assert.match(await vrow.innerText(), new RegExp(name));

  // A console in a Chinese browser names the same visitor in Chinese.
  const zctx = await chrome.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const z = await signedInConsole(relay, zctx, OWNER);
  const zrow = z.locator('.conv', { hasText: 'Do you ship to Norway?' });
  await zrow.waitFor({ timeout: 15000 });
  assert.match((await zrow.locator('.name').textContent()).trim(), /^[\u4e00-\u9fff]+的[\u4e00-\u9fff]+$/);

  // On a phone: the profile is its own view, reached from the conversation.
  const pctx = await chrome.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  const ph = await signedInConsole(relay, pctx, OWNER);
  await ph.locator('.conv', { hasText: 'Do you ship to Norway?' }).click();
  await ph.click('.to-profile');
  await ph.locator('.profile ol.pages li').first().waitFor();
  assert.equal((await ph.locator('.profile h3').textContent()).trim(), name);
  const overflow = await ph.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, 'nothing scrolls sideways: ' + overflow);
  await ph.screenshot({ path: path.join(SHOTS, 'visitors-profile-375x812.png') });
  await Promise.all([vctx.close(), octx.close(), zctx.close(), pctx.close()]);
});

test('console: an origin the relay refused is listed under Allowed origins, and Allow works', async () => {
  const patch = await api('PATCH', '/v1/api/sites/demo', { allowed_origins: [host.url] });
  assert.equal(patch.status, 200);
  // A page on the forgotten origin loads the widget; the relay refuses it.
  const vctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const v = await vctx.newPage();
  await v.goto(other.url + '/post/1');
  await until(async () => {
    const r = await api('GET', '/v1/api/sites/demo/refused-origins');
    return (await r.json()).some((o) => o.origin === other.url);
  }, 15000, 'the refusal is recorded');

  for (const [w, h] of [[1280, 800], [375, 812]]) {
    const ctx = await chrome.newContext({ viewport: { width: w, height: h }, isMobile: w < 400, hasTouch: w < 400 });
    const c = await signedInConsole(relay, ctx, OWNER);
    await c.click('[data-nav=settings]');
    const item = c.locator(`.refused li[data-origin="${other.url}"]`);
    await item.waitFor({ timeout: 10000 });
    assert.match(await item.innerText(), /Allow/);
    await item.scrollIntoViewIfNeeded();
    await c.screenshot({ path: path.join(SHOTS, `settings-refused-origins-${w}x${h}.png`) });
    const overflow = await c.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `nothing scrolls sideways at ${w}: ${overflow}`);
    if (w === 375) {
      await item.locator('button', { hasText: 'Allow' }).click();
      await until(async () => (await c.locator(`.refused li[data-origin="${other.url}"]`).count()) === 0, 10000, 'gone from the list');
      const origins = await c.locator('.settings textarea').first().inputValue();
      assert.deepEqual(origins.split('\n'), [host.url, other.url], 'added to the allowed origins');
      await c.screenshot({ path: path.join(SHOTS, 'settings-origin-allowed-375x812.png') });
    }
    await ctx.close();
  }
  const site = await (await api('GET', '/v1/api/sites/demo')).json();
  assert.deepEqual(site.allowed_origins, [host.url, other.url]);
  assert.deepEqual(await (await api('GET', '/v1/api/sites/demo/refused-origins')).json(), []);
  // The relay now welcomes a hello from that origin.
  const ws = new WebSocket(`ws://${relay.addr}/v1/ws`, { origin: other.url });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const first = new Promise((r) => ws.once('message', (d) => r(JSON.parse(String(d)))));
  ws.send(JSON.stringify({ type: 'hello', v: 1, role: 'visitor', site: 'demo', visitor: 'v-allowed-now' }));
  assert.equal((await first).type, 'welcome');
  ws.close();
  await vctx.close();
  await api('PATCH', '/v1/api/sites/demo', { allowed_origins: [] });
});

test('console: two agents see each other viewing and typing in a conversation', async () => {
  const visitor = await wsVisitor(relay, 'v-collision');
  const ack = await visitor.send('Is anyone there?');
  const conv = ack.conv;
  const actx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const bctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const a = await signedInConsole(relay, actx, OWNER);
  const b = await signedInConsole(relay, bctx, ANN);
  await a.locator(`.conv[data-conv="${conv}"]`).click();
  await b.locator(`.conv[data-conv="${conv}"]`).click();
  await until(async () => (await b.locator('.colleagues').textContent().catch(() => '')) === `${OWNER.name} is viewing this conversation`, 10000, 'B sees A viewing');
  await until(async () => (await a.locator('.colleagues').textContent().catch(() => '')) === `${ANN.name} is viewing this conversation`, 10000, 'A sees B viewing');

  // A types: B sees who; A never sees itself.
  await a.locator('.composer textarea').type('Hello, I am');
  await until(async () => (await b.locator('.colleagues').textContent().catch(() => '')) === `${OWNER.name} is typing…`, 10000, 'B sees A typing');
  assert.doesNotMatch(await a.locator('.colleagues').textContent(), new RegExp(OWNER.name));
  await b.screenshot({ path: path.join(SHOTS, 'console-collision-1280x800.png') });
  // A sends and leaves the conversation: B's notice goes.
  await a.locator('.composer textarea').press('Enter');
  await until(async () => (await b.locator('.colleagues').textContent().catch(() => '')) === `${OWNER.name} is viewing this conversation`, 10000, 'typing over');
  await a.click('[data-nav=visitors]');
  await until(async () => (await b.locator('.colleagues').count()) === 0, 10000, 'notice gone when A leaves');
  visitor.close();
  await Promise.all([actx.close(), bctx.close()]);
});
