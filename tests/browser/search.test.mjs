// Search from the inbox (Yew console → wasm, headless chromium, real
// relay): an agent types a Chinese and an English query, sees the hits
// with their matches marked (visitor markup stays text), opens a
// conversation at the message that matched, and clears back to the list.
// Screenshots at desktop and phone sizes under target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, browser, until, SHOTS, signedInConsole, wsVisitor, PHONE, assertFits } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let relay, chrome;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password]);
  chrome = await browser();
  const zh = await wsVisitor(relay, 'search-zh');
  await zh.send('你好，我上周下的订单还没到');
  await zh.send('请问可以开发票吗？公司抬头是杭州某某科技');
  zh.close();
  const en = await wsVisitor(relay, 'search-en');
  await en.send('Hi, where is my <b>invoice</b> for order 1042?');
  for (let i = 0; i < 12; i++) await en.send(`filler message number ${i}`);
  en.close();
});

after(async () => {
  await chrome?.close();
  await relay?.close();
});

/** The result rows: [{name, snippet, marks}]. */
const results = (c) => c.evaluate(() => Array.from(document.querySelectorAll('.search-results .search-hit')).map((r) => ({
  name: r.querySelector('.name').textContent,
  snippet: r.querySelector('.snippet').textContent,
  marks: Array.from(r.querySelectorAll('.snippet mark')).map((m) => m.textContent),
  bold: r.querySelectorAll('.snippet b').length,
})));

async function search(c, q) {
  await c.fill('.search-box input', q);
  await c.press('.search-box input', 'Enter');
}

test('search: from the inbox, Chinese and English, marked snippets, open at the message, clear', async () => {
  for (const [w, h] of [[1280, 800], [PHONE.width, PHONE.height]]) {
    const ctx = await chrome.newContext({ viewport: { width: w, height: h } });
    const c = await signedInConsole(relay, ctx, OWNER);
    await c.locator('.conv-list .conv').first().waitFor({ timeout: 15000 });
    const listed = await c.locator('.conv-list .conv').count();

    await search(c, '发票');
    const zh = await until(async () => {
      const r = await results(c);
      return r.length === 1 ? r : null;
    }, 10000, 'one hit for 发票');
    assert.deepEqual(zh[0].marks, ['发票']);
    assert.match(zh[0].snippet, /请问可以开发票吗/);
    await c.screenshot({ path: path.join(SHOTS, `search-results-${w}x${h}.png`) });

    await search(c, 'INVOICE');
    const en = await until(async () => {
      const r = await results(c);
      return r.length === 1 && r[0].marks[0] === 'invoice' ? r : null;
    }, 10000, 'one hit for INVOICE');
    assert.equal(en[0].bold, 0, 'visitor markup is text, not elements');
    assert.match(en[0].snippet, /<b>invoice<\/b>/);
    if (w === PHONE.width) await assertFits(c, 'search results');

    // Open it: the conversation shows, the matching message is marked and
    // in view although twelve later messages follow it.
    await c.click('.search-results .search-hit');
    const found = c.locator('.chat .messages .msg[data-found]');
    await found.waitFor({ timeout: 10000 });
    assert.match(await found.innerText(), /invoice/);
    const inView = await found.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const list = el.closest('.messages').getBoundingClientRect();
      return r.top >= list.top - 1 && r.bottom <= list.bottom + 1;
    });
    assert.ok(inView, 'the found message is scrolled into view');
    await c.screenshot({ path: path.join(SHOTS, `search-opened-${w}x${h}.png`) });

    // Clear: the normal list is back.
    if (w === PHONE.width) await c.click('.chat .back');
    await c.click('.search-box .clear');
    await until(async () => (await c.locator('.search-results').count()) === 0, 5000, 'results gone');
    assert.equal(await c.locator('.conv-list .conv').count(), listed);
    assert.equal(await c.inputValue('.search-box input'), '');
    await ctx.close();
  }
});
