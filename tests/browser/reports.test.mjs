// The Reports page against a relay on a test clock (`--clock-file`): a
// history seeded over WebSocket at known instants in a Shanghai-zoned
// site, then the page's SVG charts carry exactly the figures that history
// gives (bars per day, first-response points, heatmap cells, the cards,
// the agents' row); the range picker changes them; "Download CSV" saves
// the same figures; desktop and phone screenshots under target/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync, writeFileSync, renameSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {
  startRelay, agent, apiCall, browser, until, SHOTS, signedInConsole, wsVisitor, PHONE, assertFits,
} from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const DESKTOP = { width: 1280, height: 900 };
const DAY = 86400000;
const MIN = 60000;
const S = 1000;
/** Monday 2026-01-05 00:00 in Shanghai (UTC+8, no daylight saving). */
const MONDAY = Date.UTC(2026, 0, 4, 16, 0);
const at = (day, h, m) => MONDAY + day * DAY + h * 3600000 + m * MIN;
/** The Shanghai date of `ms`, YYYY-MM-DD. */
const localDate = (ms) => new Date(ms + 8 * 3600000).toISOString().slice(0, 10);

/** Visitor, start, reply after (ms, none: missed), close after, rating. */
const PLAN = [
  { v: 'b1', start: at(0, 9, 10), reply: 30 * S, close: 10 * MIN, rating: 5 },
  { v: 'b2', start: at(0, 9, 40), reply: 90 * S, close: 20 * MIN, rating: 2 },
  { v: 'b3', start: at(1, 2, 15) },
  { v: 'b4', start: at(2, 14, 20), reply: 60 * S },
];

let relay, chrome, clockDir, token, me;

const setClock = (ms) => {
  const f = path.join(clockDir, 'clock');
  writeFileSync(f + '.new', String(ms));
  renameSync(f + '.new', f);
};

before(async () => {
  clockDir = mkdtempSync(path.join(tmpdir(), 'kefu-clock-'));
  setClock(at(-1, 8, 0));
  relay = await startRelay(['--clock-file', path.join(clockDir, 'clock'), '--demo-password', OWNER.password]);
  chrome = await browser();
  const r = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) });
  token = (await r.json()).token;
  me = (await apiCall(relay, 'GET', '/v1/api/me', token)).body;
  const week = Array.from({ length: 7 }, () => []);
  const s = await apiCall(relay, 'PATCH', '/v1/api/sites/demo', token, { offline: { hours: { enabled: false, tz: 'Asia/Shanghai', week } } });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  const a = await agent(relay, token);
  for (const c of PLAN) {
    setClock(c.start);
    const v = await wsVisitor(relay, c.v);
    const ack = await v.send('Hello?');
    if (c.reply !== undefined) {
      setClock(c.start + c.reply);
      a.send({ type: 'send', cid: c.v + '-a', conv: ack.conv, text: 'On it' });
      await a.waitFor((f) => f.type === 'ack' && f.cid === c.v + '-a');
    }
    if (c.close !== undefined) {
      setClock(c.start + c.close);
      const r = await apiCall(relay, 'POST', `/v1/api/conversations/${ack.conv}/close`, token);
      assert.ok(r.status < 300, JSON.stringify(r));
    }
    if (c.rating !== undefined) {
      setClock(c.start + c.close + 30 * S);
      await v.rate(ack.conv, c.rating);
    }
    v.close();
  }
  a.close();
  setClock(at(3, 18, 0));
});

after(async () => {
  await chrome?.close();
  await relay?.close();
  if (clockDir) rmSync(clockDir, { recursive: true, force: true });
});

/** What the page must show for `from..to`, from the plan. */
function expected(from, to) {
  const inside = (ms) => localDate(ms) >= from && localDate(ms) <= to;
  const days = {};
  const day = (ms) => (days[localDate(ms)] ||= { conversations: 0, messages: 0, fr: [] });
  let missed = 0;
  const fr = [];
  for (const c of PLAN) {
    if (inside(c.start)) {
      day(c.start).conversations += 1;
      day(c.start).messages += 1;
      if (c.reply === undefined) missed += 1;
    }
    if (c.reply !== undefined && inside(c.start + c.reply)) {
      day(c.start + c.reply).messages += 1;
      day(c.start + c.reply).fr.push(c.reply);
      fr.push(c.reply);
    }
  }
  fr.sort((x, y) => x - y);
  return { days, missed, fr, conversations: Object.values(days).reduce((n, d) => n + d.conversations, 0) };
}

/** Every bar of a series: date → value. */
const bars = (c, series) => c.locator(`[data-chart=volume] rect.bar[data-series=${series}]`).evaluateAll(
  (rs) => Object.fromEntries(rs.map((r) => [r.dataset.date, Number(r.dataset.value)])));

/** A screenshot of the whole Reports page (it scrolls inside the shell,
 *  so the viewport grows to its height first; the width stays). */
async function shoot(c, name, width) {
  const h = await c.locator('.reports').evaluate((e) => e.getBoundingClientRect().top + e.scrollHeight);
  await c.setViewportSize({ width, height: Math.ceil(h) + 16 });
  await c.screenshot({ path: path.join(SHOTS, name) });
}

async function open(ctx) {
  const c = await signedInConsole(relay, ctx, OWNER);
  await c.click('[data-nav=reports]');
  await c.locator('[data-chart=volume] svg').waitFor({ timeout: 15000 });
  return c;
}

test('reports: the charts carry the seeded figures in the site\'s days and hours', async () => {
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await open(ctx);
  assert.equal(await c.inputValue('input[name=from]'), '2026-01-02');
  assert.equal(await c.inputValue('input[name=to]'), '2026-01-08');
  const want = expected('2026-01-02', '2026-01-08');
  const conv = await bars(c, 'conversations');
  const msgs = await bars(c, 'messages');
  assert.equal(Object.keys(conv).length, 7, 'a bar per day');
  for (const [date, v] of Object.entries(conv)) {
    assert.equal(v, want.days[date]?.conversations ?? 0, `conversations ${date}`);
    assert.equal(msgs[date], want.days[date]?.messages ?? 0, `messages ${date}`);
  }
  // First response: a point per day with answers, at that day's median.
  const points = await c.locator('[data-chart=first-response] circle[data-series=median]').evaluateAll(
    (ps) => Object.fromEntries(ps.map((p) => [p.dataset.date, Number(p.dataset.value)])));
  const med = (v) => [...v].sort((x, y) => x - y)[Math.floor((v.length - 1) / 2)];
  const wantPoints = Object.fromEntries(Object.entries(want.days).filter(([, d]) => d.fr.length).map(([k, d]) => [k, med(d.fr)]));
  assert.deepEqual(points, wantPoints);
  // The heatmap: Tuesday 02:00 in Shanghai (Monday 18:15 UTC) has the night's conversation.
  const cells = await c.locator('.heatmap rect.cell').evaluateAll((rs) => rs.filter((r) => r.dataset.count !== '0')
    .map((r) => [Number(r.dataset.day), Number(r.dataset.hour), Number(r.dataset.count)]));
  const wantCells = {};
  for (const c2 of PLAN) {
    const local = new Date(c2.start + 8 * 3600000);
    const k = `${(local.getUTCDay() + 6) % 7},${local.getUTCHours()}`;
    wantCells[k] = (wantCells[k] || 0) + 1;
  }
  assert.deepEqual(Object.fromEntries(cells.map(([d, h, n]) => [`${d},${h}`, n])), wantCells);
  assert.equal(await c.locator('.heatmap text.day').first().textContent(), 'Mon');
  // Cards: conversations, missed, first response median (1 min) and p90 (1 min 30 s).
  const card = (k) => c.locator(`[data-figure=${k}] .value`).textContent();
  assert.equal(await card('conversations'), String(want.conversations));
  assert.equal(await card('missed'), String(want.missed));
  // English durations under an hour: "45 s", "1 min", "1 min 30 s".
  const span = (ms) => {
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  };
  assert.equal(await card('first-response'), span(med(want.fr)));
  assert.equal(await c.locator('[data-figure=first-response] .sub').textContent(), `p90 ${span(want.fr[Math.ceil(want.fr.length * 0.9) - 1])}`);
  assert.equal(await card('csat'), '50%', 'a 5 and a 2');
  // The agent's row: every conversation answered, every reply.
  const row = c.locator(`tr[data-agent="${me.id}"] td`);
  assert.equal(await row.nth(1).textContent(), '3');
  assert.equal(await row.nth(2).textContent(), '3');
  await shoot(c, 'reports-desktop.png', DESKTOP.width);

  // The range picker: Monday and Tuesday only.
  await c.fill('input[name=to]', '2026-01-06');
  await c.fill('input[name=from]', '2026-01-05');
  await until(async () => Object.keys(await bars(c, 'conversations')).length === 2, 10000, 'two days');
  const two = expected('2026-01-05', '2026-01-06');
  assert.deepEqual(await bars(c, 'conversations'), { '2026-01-05': 2, '2026-01-06': 1 });
  assert.equal(await card('conversations'), String(two.conversations));
  // A reversed range: the relay's reason, the figures kept.
  await c.fill('input[name=from]', '2026-01-07');
  await until(async () => (await c.locator('.reports .error').count()) === 1, 10000, 'refusal shown');
  assert.match(await c.locator('.reports .error').textContent(), /is after to/);
  assert.equal(Object.keys(await bars(c, 'conversations')).length, 2);
  // Presets ask for the last n days.
  await c.click('button.preset[data-days="30"]');
  await until(async () => Object.keys(await bars(c, 'conversations')).length === 30, 10000, '30 days');
  assert.equal(await c.locator('.reports .error').count(), 0);
  assert.equal(await c.inputValue('input[name=from]'), '2025-12-10');
  // An empty range says so.
  await c.fill('input[name=from]', '2025-06-01');
  await c.fill('input[name=to]', '2025-06-30');
  await c.locator('.no-data').waitFor({ timeout: 10000 });
  await ctx.close();
});

test('reports: "Download CSV" saves the same figures', async () => {
  const ctx = await chrome.newContext({ viewport: DESKTOP, acceptDownloads: true });
  const c = await open(ctx);
  const [dl] = await Promise.all([c.waitForEvent('download'), c.click('button.download')]);
  assert.equal(dl.suggestedFilename(), 'kefu-stats-demo-2026-01-02-2026-01-08.csv');
  const text = readFileSync(await dl.path(), 'utf8');
  const want = expected('2026-01-02', '2026-01-08');
  const daily = text.split('\r\n\r\n').find((s) => s.startsWith('daily')).split('\r\n').slice(2);
  assert.equal(daily.length, 7);
  for (const line of daily) {
    const [date, conversations, messages] = line.split(',');
    assert.equal(Number(conversations), want.days[date]?.conversations ?? 0, line);
    assert.equal(Number(messages), want.days[date]?.messages ?? 0, line);
  }
  await ctx.close();
});

test('reports: on a phone the charts take the width and the table scrolls', async () => {
  const ctx = await chrome.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  const c = await open(ctx);
  const w = await c.locator('[data-chart=volume] svg').evaluate((s) => s.getBoundingClientRect().width);
  assert.ok(w > 300 && w <= PHONE.width, `chart ${w} px wide`);
  await assertFits(c, 'reports');
  const t = await c.locator('.table-scroll').evaluate((e) => [e.scrollWidth, e.clientWidth]);
  assert.ok(t[0] > t[1], 'the agents\' table scrolls sideways');
  await shoot(c, 'reports-phone.png', PHONE.width);
  await ctx.close();
});

test('reports: in Chinese from the top bar\'s picker, the same figures', async () => {
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await open(ctx);
  await c.selectOption('.topbar .lang-switch', 'zh-CN');
  await c.locator('[data-chart=volume] svg').waitFor({ timeout: 15000 });
  assert.equal(await c.locator('[data-nav=reports]').textContent(), '报表');
  assert.equal(await c.locator('.heatmap text.day').first().textContent(), '周一');
  assert.equal(await c.locator('button.download').textContent(), '下载 CSV');
  const want = expected('2026-01-02', '2026-01-08');
  assert.equal(await c.locator('[data-figure=conversations] .value').textContent(), String(want.conversations));
  assert.equal(await c.locator('[data-figure=csat] .value').textContent(), '50%');
  await shoot(c, 'reports-zh-desktop.png', DESKTOP.width);
  await c.setViewportSize(PHONE);
  await shoot(c, 'reports-zh-phone.png', PHONE.width);
  await ctx.close();
});
