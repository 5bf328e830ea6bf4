// A chat link the relay mailed, opened in headless chromium: the hosted
// page resumes the visitor the mail went to — the conversation and the
// agent's unread reply are on the page (through fallback.js, which keeps
// its visitor where the wasm widget keeps its own), another visitor kept
// in that browser is replaced, and the token leaves the address bar.
// The SMTP side is lib.mjs's small receiver (everything accepted).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, agent, browser, until, smtpServer, mailLink } from './lib.mjs';
import WebSocket from 'ws';

let relay, chrome, smtp;
const mails = [];

/** The first mailed chat link in a raw message. */
const chatLink = (raw) => mailLink(raw, /https?:\/\/[^\s"<>]*\/chat\/demo\?resume=[A-Za-z0-9_-]+/);

before(async () => {
  smtp = await smtpServer(mails);
  relay = await startRelay(['--smtp-url', `smtp://127.0.0.1:${smtp.address().port}`,
    '--mail-from', 'Kefu <kefu@kefu.test>', '--mail-minute-ms', '200', '--mail-retry-ms', '200']);
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await relay?.close();
  smtp?.close();
});

test('a mailed chat link opens the visitor\'s own conversation with the unread reply', async () => {
  // A visitor with an address writes and leaves; an agent replies.
  const ws = new WebSocket(`ws://${relay.addr}/v1/ws`);
  const frames = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d))));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  ws.send(JSON.stringify({ type: 'hello', v: 1, role: 'visitor', site: 'demo', visitor: 'mail-v1',
    user: { name: 'Ann', email: 'ann@example.com' } }));
  await until(() => frames.find((f) => f.type === 'welcome'), 10000, 'welcome');
  ws.send(JSON.stringify({ type: 'send', cid: 'mv-1', text: 'Question from before' }));
  const ack = await until(() => frames.find((f) => f.type === 'ack'), 10000, 'ack');
  ws.close();
  const a = await agent(relay);
  a.send({ type: 'send', conv: ack.conv, cid: 'ma1', text: 'Answer while you were away' });
  const raw = await until(() => mails.find((m) => /ann@example\.com/.test(m) && chatLink(m)), 15000, 'continuity mail');
  const link = chatLink(raw);

  // In a browser that holds another visitor of the site.
  const ctx = await chrome.newContext({ viewport: { width: 390, height: 844 } });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => console.error('page error:', e.message));
  await p.goto(relay.base + '/chat/demo?kefu_fallback=1');
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'first boot');
  const before = await p.evaluate(() => localStorage.getItem('kefu:demo:vid'));
  assert.ok(before && before !== 'mail-v1', 'another visitor first: ' + before);

  await p.goto(link + '&kefu_fallback=1');
  await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'boot');
  assert.equal(await p.evaluate(() => localStorage.getItem('kefu:demo:vid')), 'mail-v1');
  await until(() => p.locator('#kefu-fb .kefu-g', { hasText: 'Answer while you were away' }).isVisible(), 15000, 'the unread reply');
  await until(() => p.locator('#kefu-fb .kefu-g', { hasText: 'Question from before' }).isVisible(), 5000, 'the visitor\'s own message');
  assert.ok(!(await p.evaluate(() => location.search)).includes('resume='), 'the token leaves the address bar');

  // The visitor goes on in the same conversation.
  await p.locator('#kefu-fb textarea').fill('Thanks, got it');
  await p.locator('#kefu-fb textarea').press('Enter');
  const ev = await a.waitFor((f) => f.type === 'event' && f.text === 'Thanks, got it');
  assert.equal(ev.conv, ack.conv);
  assert.equal(ev.from.id, 'mail-v1');
  a.close();
  await ctx.close();
});
