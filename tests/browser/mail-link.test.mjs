// A chat link the relay mailed, opened in headless chromium: the hosted
// page resumes the visitor the mail went to — the conversation and the
// agent's unread reply are on the page (through fallback.js, which keeps
// its visitor where the wasm widget keeps its own), another visitor kept
// in that browser is replaced, and the token leaves the address bar.
// The SMTP side is a small receiver in this file (one message per
// connection, everything accepted).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startRelay, agent, browser, until } from './lib.mjs';
import WebSocket from 'ws';

let relay, chrome, smtp;
const mails = [];

/** A minimal SMTP receiver on a free loopback port: accepts every
 *  message, keeps its raw text in `mails`. */
function smtpServer() {
  return new Promise((resolve) => {
    const s = net.createServer((c) => {
      let buf = '', data = false;
      c.write('220 smtp.test ESMTP\r\n');
      c.on('data', (d) => {
        buf += d;
        for (;;) {
          if (data) {
            const end = buf.indexOf('\r\n.\r\n');
            if (end < 0) return;
            mails.push(buf.slice(0, end));
            buf = buf.slice(end + 5);
            data = false;
            c.write('250 OK\r\n');
            continue;
          }
          const nl = buf.indexOf('\r\n');
          if (nl < 0) return;
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 2);
          const cmd = line.slice(0, 4).toUpperCase();
          if (cmd === 'EHLO' || cmd === 'HELO') c.write('250 smtp.test\r\n');
          else if (cmd === 'DATA') { data = true; c.write('354 go on\r\n'); }
          else if (cmd === 'QUIT') { c.end('221 bye\r\n'); return; }
          else c.write('250 OK\r\n');
        }
      });
      c.on('error', () => {});
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

/** The first mailed chat link in a raw message (its parts may be
 *  quoted-printable or base64). */
function chatLink(raw) {
  const qp = raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  const texts = [qp, ...raw.split(/\r\n\r\n/).map((b) => Buffer.from(b.replace(/\s+/g, ''), 'base64').toString('latin1'))];
  for (const t of texts) {
    const m = t.match(/https?:\/\/[^\s"<>]*\/chat\/demo\?resume=[A-Za-z0-9_-]+/);
    if (m) return m[0];
  }
  return null;
}

before(async () => {
  smtp = await smtpServer();
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
