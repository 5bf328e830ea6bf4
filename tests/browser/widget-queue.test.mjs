// Routing as the wasm widget's visitor sees it, in headless chromium against
// a real relay whose demo site routes automatically and whose only agent
// online (the owner) takes one conversation at a time: later visitors wait
// in line, and the widget says where they stand ("You are number 2 in
// line"), follows the line as it moves, and drops the line once an agent
// has the conversation. `kefu('set', {team})` puts the team into hello
// (and into a `team` frame once connected), and the relay routes the
// conversation within that team.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, hostServer, page, agent, apiCall, routeOneAtATime, fillTheOnlySlot, closeAllOpen, browser, until, widgetTexts, wsVisitor, sleep, SHOTS, TOKEN } from './lib.mjs';

let relay, host, chrome, ownerId;

before(async () => {
  relay = await startRelay();
  host = await hostServer({
    '/': () => page(relay, { title: 'Demo shop', body: '<h1>Demo shop</h1>' }),
    '/zh': () => page(relay, { title: '商店', body: '<h1>商店</h1>', attrs: 'data-lang="zh-CN"' }),
    // A page that routes its visitors to the sales team.
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

/** Records every frame the page sends on its WebSockets (`__sent`). */
function recordSends() {
  window.__sent = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) {
    try { window.__sent.push(JSON.parse(d)); } catch (e) { /* not JSON */ }
    return send.call(this, d);
  };
}

async function openWidget(ctx, url = host.url + '/') {
  const p = await ctx.newPage();
  await p.addInitScript(recordSends);
  await p.goto(url);
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
  return p;
}

const w = (p, sel) => p.locator('kefu-widget ' + sel);
const sent = (p, type) => p.evaluate((t) => window.__sent.filter((f) => f.type === t), type);
const lineOf = async (p, re) => (await widgetTexts(p)).filter((m) => re.test(m.text)).map((m) => m.text);
const EN_LINE = /^You are number \d+ in line$/;
const ZH_LINE = /^排队中：您是第 \d+ 位$/;

async function say(p, text) {
  await w(p, 'textarea').fill(text);
  await w(p, 'textarea').press('Enter');
}

/** The widget's visitor writes; resolves with the conversation the agent sees. */
async function widgetWrites(p, a, text) {
  await say(p, text);
  return (await a.waitFor((f) => f.type === 'event' && f.text === text)).conv;
}

/** Closes every open conversation of the demo site (the owner's slot frees). */
const closeAll = () => closeAllOpen(relay);

test('queue: the place in line shows, follows the line, hides while nobody is online, and goes once an agent has it', async () => {
  const a = await agent(relay);
  try {
    // The first visitor takes the owner's only slot; the second waits (1).
    const { first, second, c1, c2 } = await fillTheOnlySlot(relay, a, ownerId, 'q');

    // The widget's visitor is third: number 2 in line, as the panel's last line.
    const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await openWidget(ctx);
    await w(p, '.b').click();
    const c3 = await widgetWrites(p, a, 'Is anyone there?');
    await until(async () => (await lineOf(p, EN_LINE)).length === 1, 10000, 'the line');
    const rows = await widgetTexts(p);
    assert.equal(rows.at(-1).text, 'You are number 2 in line', JSON.stringify(rows));
    assert.equal(await w(p, '.g .m.sys').last().textContent(), 'You are number 2 in line', 'a notice, not a message');
    await p.screenshot({ path: path.join(SHOTS, 'widget-queue-1280x800.png') });

    // The first conversation closes: the second gets the owner, ours moves up.
    a.send({ type: 'close', conv: c1 });
    await a.waitFor((f) => f.type === 'event' && f.conv === c2 && f.kind === 'assigned' && f.to && f.to.id === ownerId);
    await until(async () => (await lineOf(p, EN_LINE))[0] === 'You are number 1 in line', 10000, 'number 1');
    assert.equal((await lineOf(p, EN_LINE)).length, 1, 'one line, updated in place');

    // The only agent goes away: nobody online, the away notice instead.
    a.send({ type: 'status', away: true });
    await until(async () => (await lineOf(p, EN_LINE)).length === 0, 10000, 'line hidden while away');
    assert.ok((await widgetTexts(p)).some((m) => /^We're away right now/.test(m.text)), 'the away notice');
    a.send({ type: 'status', away: false });
    await until(async () => (await lineOf(p, EN_LINE))[0] === 'You are number 1 in line', 10000, 'back online: the line again');

    // A reload: the relay says the place again right after welcome.
    await p.reload();
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
    await until(async () => (await lineOf(p, EN_LINE))[0] === 'You are number 1 in line', 10000, 'the line after a reload');

    // The second conversation closes: ours is the owner's, the line goes (0).
    a.send({ type: 'close', conv: c2 });
    await a.waitFor((f) => f.type === 'event' && f.conv === c3 && f.kind === 'assigned' && f.to && f.to.id === ownerId);
    await until(async () => (await lineOf(p, EN_LINE)).length === 0, 10000, 'the line gone at 0');
    a.send({ type: 'send', conv: c3, cid: 'q-reply-1', text: 'Hi, sorry for the wait!' });
    await until(async () => (await widgetTexts(p)).at(-1).text === 'Hi, sorry for the wait!', 10000, 'the reply last');
    assert.deepEqual(await lineOf(p, EN_LINE), []);
    await ctx.close();
    first.close();
    second.close();
  } finally {
    await closeAll();
    a.close();
  }
});

test('queue: an agent writing to a waiting conversation takes it, and the line goes with the message; a closed one drops it too', async () => {
  const a = await agent(relay);
  try {
    const busy = await wsVisitor(relay, 'q-busy');
    const cb = (await busy.send('keeping the owner busy')).conv;
    await a.waitFor((f) => f.type === 'event' && f.conv === cb && f.kind === 'assigned');
    const ctx = await chrome.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    const p = await openWidget(ctx);
    await w(p, '.b').click();
    const conv = await widgetWrites(p, a, 'Hello from my phone');
    await until(async () => (await lineOf(p, EN_LINE))[0] === 'You are number 1 in line', 10000, 'number 1');
    await p.screenshot({ path: path.join(SHOTS, 'widget-queue-375x812.png') });
    a.send({ type: 'send', conv, cid: 'q-reply-2', text: 'I can help right away.' });
    await until(async () => (await widgetTexts(p)).some((m) => m.text === 'I can help right away.'), 10000, 'the reply');
    assert.deepEqual(await lineOf(p, EN_LINE), [], 'no line beside an agent message');

    // Another visitor waits; the owner closes their conversation unanswered.
    const ctx2 = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    const q = await openWidget(ctx2);
    await w(q, '.b').click();
    const c2 = await widgetWrites(q, a, 'Me too, please');
    await until(async () => (await lineOf(q, EN_LINE)).length === 1, 10000, 'the second visitor in line');
    a.send({ type: 'close', conv: c2 });
    await until(async () => (await widgetTexts(q)).some((m) => m.text === 'This chat was closed'), 10000, 'closed line');
    assert.deepEqual(await lineOf(q, EN_LINE), [], 'no place in line in a closed chat');
    await ctx.close();
    await ctx2.close();
    busy.close();
  } finally {
    await closeAll();
    a.close();
  }
});

test('queue in Chinese: 排队中：您是第 N 位, desktop and phone', async () => {
  const a = await agent(relay);
  try {
    const busy = await wsVisitor(relay, 'q-busy-zh');
    const cb = (await busy.send('busy')).conv;
    await a.waitFor((f) => f.type === 'event' && f.conv === cb && f.kind === 'assigned');
    // Two visitors, both waiting (each page stays open: both stay in line).
    const ctxs = [];
    let n = 0;
    for (const [vw, vh, mobile] of [[1280, 800, false], [375, 812, true]]) {
      const ctx = await chrome.newContext({ viewport: { width: vw, height: vh }, isMobile: mobile, hasTouch: mobile });
      ctxs.push(ctx);
      const p = await openWidget(ctx, host.url + '/zh');
      await w(p, '.b').click();
      await widgetWrites(p, a, `你好，有人吗？（${vw}）`);
      n++;
      await until(async () => (await lineOf(p, ZH_LINE))[0] === `排队中：您是第 ${n} 位`, 10000, 'zh line ' + n);
      await p.screenshot({ path: path.join(SHOTS, `widget-queue-zh-${vw}x${vh}.png`) });
    }
    for (const ctx of ctxs) await ctx.close();
    busy.close();
  } finally {
    await closeAll();
    a.close();
  }
});

test("kefu('set', {team}): the team goes into hello and, once connected, a team frame; reconnects keep it; an invalid one warns once", async () => {
  const a = await agent(relay);
  try {
    const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await openWidget(ctx, host.url + '/sales');
    const warns = [];
    p.on('console', (m) => { if (m.type() === 'warning') warns.push(m.text()); });
    // Called before the widget loaded: the first hello carries it.
    await until(async () => (await sent(p, 'hello')).length === 1, 10000, 'hello');
    assert.equal((await sent(p, 'hello'))[0].team, 'sales');
    assert.deepEqual(await sent(p, 'team'), [], 'no team frame needed');

    // Set while connected: a team frame at once (null: the whole site).
    await until(() => p.evaluate(() => window.__sent.some((f) => f.type === 'page')), 10000, 'welcomed');
    await p.evaluate(() => kefu('set', { team: null }));
    await until(async () => (await sent(p, 'team')).length === 1, 5000, 'team frame');
    assert.deepEqual((await sent(p, 'team'))[0], { type: 'team', team: null });
    await p.evaluate(() => kefu('set', { team: 'sales' }));
    await until(async () => (await sent(p, 'team')).length === 2, 5000, 'team frame');
    assert.deepEqual((await sent(p, 'team'))[1], { type: 'team', team: 'sales' });

    // Not an id: one warning, nothing sent, the team stays.
    await p.evaluate(() => { kefu('set', { team: 'sales team' }); kefu('set', {}); });
    await until(() => warns.length > 0, 5000, 'a warning');
    await sleep(300);
    assert.equal(warns.length, 1, JSON.stringify(warns));
    assert.match(warns[0], /team/);
    assert.equal((await sent(p, 'team')).length, 2, 'the invalid team is not sent');

    // The network drops and comes back: the new hello still names the team.
    await p.evaluate(() => { window.dispatchEvent(new Event('offline')); window.dispatchEvent(new Event('online')); });
    await until(async () => (await sent(p, 'hello')).length === 2, 10000, 'a second hello');
    assert.equal((await sent(p, 'hello'))[1].team, 'sales');

    // The relay routes the conversation within the team.
    await w(p, '.b').click();
    const conv = await widgetWrites(p, a, 'How much is the pro plan?');
    const list = await apiCall(relay, 'GET', '/v1/api/sites/demo/conversations?status=all&team=sales', TOKEN);
    assert.ok(list.body.convs.some((c) => c.id === conv && c.team === 'sales'), JSON.stringify(list.body));
    await ctx.close();
  } finally {
    await closeAll();
    a.close();
  }
});
