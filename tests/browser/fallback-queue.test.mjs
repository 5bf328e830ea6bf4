// Routing as the ES3 fallback's visitor sees it (chromium with WebSocket and
// WebAssembly deleted), against a real relay whose demo site routes
// automatically and whose only agent online (the owner) takes one
// conversation at a time: the place in line shows and moves like the wasm
// widget's, and `kefu('set', {team})` reaches the long-poll hello and, once
// connected, a `team` frame.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, hostServer, page, agent, apiCall, routeOneAtATime, fillTheOnlySlot, closeAllOpen, browser, until, wsVisitor, sleep, SHOTS, TOKEN } from './lib.mjs';

let relay, host, chrome, ownerId;

before(async () => {
  relay = await startRelay(['--longpoll-wait-ms', '3000']);
  host = await hostServer({
    '/': () => page(relay, { title: 'Old shop', body: '<h1>Old shop</h1>' }),
    '/zh': () => page(relay, { title: '旧商店', body: '<h1>旧商店</h1>', attrs: 'data-lang="zh-CN"' }),
    '/sales': () => page(relay, { title: 'Pricing', body: "<h1>Pricing</h1><script>kefu('set', { team: 'sales' });</script>" }),
  });
  chrome = await browser();
  ownerId = await routeOneAtATime(relay);
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

const strip = () => { delete window.WebSocket; delete window.WebAssembly; };

/** A fallback page; `posted` collects every frame it sends to /v1/send. */
async function openFallback(ctx, url = host.url + '/') {
  const p = await ctx.newPage();
  p.posted = [];
  p.on('request', (r) => {
    if (!/\/v1\/send/.test(r.url()) || !r.postData()) return;
    try { p.posted.push(...JSON.parse(r.postData())); } catch (e) { /* not frames */ }
  });
  await p.addInitScript(strip);
  await p.goto(url);
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'fallback'), 15000, 'fallback boot');
  return p;
}

/** The fallback's notices (greeting excluded), in order. */
const notices = (p) => p.evaluate(() => Array.from(document.querySelectorAll('#kefu-fb .kefu-sys')).map((m) => m.textContent));
const lineOf = async (p, re) => (await notices(p)).filter((t) => re.test(t));
const EN_LINE = /^You are number \d+ in line$/;
const ZH_LINE = /^排队中：您是第 \d+ 位$/;

async function say(p, a, text) {
  await p.fill('#kefu-fb textarea', text);
  await p.press('#kefu-fb textarea', 'Enter');
  return (await a.waitFor((f) => f.type === 'event' && f.text === text)).conv;
}

const closeAll = () => closeAllOpen(relay);

test('fallback queue: the place in line shows, moves up, and goes once an agent has the conversation', async () => {
  const a = await agent(relay);
  try {
    const { first, second, c1, c2 } = await fillTheOnlySlot(relay, a, ownerId, 'fq');

    const ctx = await chrome.newContext({ viewport: { width: 1024, height: 700 } });
    const p = await openFallback(ctx);
    await p.click('#kefu-fb .kefu-b');
    const c3 = await say(p, a, 'Anyone there? (old browser)');
    await until(async () => (await lineOf(p, EN_LINE))[0] === 'You are number 2 in line', 10000, 'number 2');
    const last = await p.evaluate(() => { const ms = document.querySelectorAll('#kefu-fb .kefu-m'); return ms[ms.length - 1].textContent; });
    assert.equal(last, 'You are number 2 in line', 'the last line of the panel');
    await p.screenshot({ path: path.join(SHOTS, 'fallback-queue-1024x700.png') });

    a.send({ type: 'close', conv: c1 });
    await until(async () => (await lineOf(p, EN_LINE))[0] === 'You are number 1 in line', 10000, 'number 1');
    assert.equal((await lineOf(p, EN_LINE)).length, 1);

    a.send({ type: 'status', away: true });
    await until(async () => (await lineOf(p, EN_LINE)).length === 0, 10000, 'hidden while nobody is online');
    a.send({ type: 'status', away: false });
    await until(async () => (await lineOf(p, EN_LINE)).length === 1, 10000, 'back');

    a.send({ type: 'close', conv: c2 });
    await a.waitFor((f) => f.type === 'event' && f.conv === c3 && f.kind === 'assigned' && f.to && f.to.id === ownerId);
    await until(async () => (await lineOf(p, EN_LINE)).length === 0, 10000, 'gone at 0');
    await ctx.close();
    first.close();
    second.close();
  } finally {
    await closeAll();
    a.close();
  }
});

test('fallback queue in Chinese; an agent message takes the line away', async () => {
  const a = await agent(relay);
  try {
    const busy = await wsVisitor(relay, 'fq-busy');
    const cb = (await busy.send('busy')).conv;
    await a.waitFor((f) => f.type === 'event' && f.conv === cb && f.kind === 'assigned');
    const ctx = await chrome.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    const p = await openFallback(ctx, host.url + '/zh');
    await p.click('#kefu-fb .kefu-b');
    const conv = await say(p, a, '你好，有人吗？');
    await until(async () => (await lineOf(p, ZH_LINE))[0] === '排队中：您是第 1 位', 10000, 'zh line');
    await p.screenshot({ path: path.join(SHOTS, 'fallback-queue-zh-375x812.png') });
    a.send({ type: 'send', conv, cid: 'fq-reply', text: '您好，马上为您服务。' });
    await until(async () => (await p.evaluate(() => document.getElementById('kefu-fb').innerText)).includes('您好，马上为您服务。'), 10000, 'reply');
    assert.deepEqual(await lineOf(p, ZH_LINE), []);
    await ctx.close();
    busy.close();
  } finally {
    await closeAll();
    a.close();
  }
});

test("fallback kefu('set', {team}): in the long-poll hello, a team frame once connected, an invalid one warns once", async () => {
  const a = await agent(relay);
  try {
    const ctx = await chrome.newContext();
    const p = await openFallback(ctx, host.url + '/sales');
    const warns = [];
    p.on('console', (m) => { if (m.type() === 'warning') warns.push(m.text()); });
    const hellos = () => p.posted.filter((f) => f.type === 'hello');
    const teams = () => p.posted.filter((f) => f.type === 'team');
    await until(() => hellos().length >= 1, 10000, 'hello');
    assert.equal(hellos()[0].team, 'sales');
    await until(() => p.posted.some((f) => f.type === 'page'), 10000, 'connected');
    assert.deepEqual(teams(), [], 'no team frame needed');

    await p.evaluate(() => kefu('set', { team: null }));
    await until(() => teams().length === 1, 5000, 'team frame');
    assert.deepEqual(teams()[0], { type: 'team', team: null });
    await p.evaluate(() => kefu('set', { team: 'sales' }));
    await until(() => teams().length === 2, 5000, 'team frame');
    assert.deepEqual(teams()[1], { type: 'team', team: 'sales' });

    await p.evaluate(() => { kefu('set', { team: 'sales team' }); kefu('set', {}); });
    await until(() => warns.length > 0, 5000, 'a warning');
    await sleep(300);
    assert.equal(warns.length, 1, JSON.stringify(warns));
    assert.equal(teams().length, 2, 'nothing sent for it');

    // The relay routes the conversation within the team.
    await p.click('#kefu-fb .kefu-b');
    const conv = await say(p, a, 'Pricing question from IE');
    const list = await apiCall(relay, 'GET', '/v1/api/sites/demo/conversations?status=all&team=sales', TOKEN);
    assert.ok(list.body.convs.some((c) => c.id === conv && c.team === 'sales'), JSON.stringify(list.body));
    await ctx.close();
  } finally {
    await closeAll();
    a.close();
  }
});
