// Helpers for kefu's browser tests: a real relay process, host pages served
// from another origin (as on a customer's site), an agent over WebSocket,
// and one headless Debian chromium per test file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHOTS = path.join(ROOT, 'target', 'screenshots');
export const TOKEN = 'browser-test-agent-token';
const BIN = process.env.KEFU_RELAY_BIN || path.join(ROOT, 'target', 'debug', 'kefu-relay');

/** A relay on 127.0.0.1 with a temp data dir; `restart()` keeps dir and port. */
export async function startRelay(extra = []) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kefu-browser-'));
  const relay = { dir, addr: '127.0.0.1:0', proc: null };
  relay.start = async () => {
    const proc = spawn(BIN, ['--data-dir', dir, '--listen', relay.addr, '--demo-token', TOKEN, ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, KEFU_LOG: process.env.KEFU_LOG || 'warn,warp::server=off' },
    });
    relay.proc = proc;
    relay.addr = await new Promise((resolve, reject) => {
      let buf = '';
      const t = setTimeout(() => reject(new Error('relay did not start')), 10000);
      proc.stdout.on('data', (d) => {
        buf += d;
        const m = buf.match(/listening on http:\/\/(\S+)/);
        if (m) { clearTimeout(t); resolve(m[1]); }
      });
      proc.on('exit', (c) => reject(new Error('relay exited ' + c)));
    });
    relay.base = 'http://' + relay.addr;
  };
  relay.stop = async () => {
    if (!relay.proc) return;
    const p = relay.proc;
    relay.proc = null;
    await new Promise((r) => { p.once('exit', r); p.kill('SIGTERM'); });
  };
  relay.restart = async () => { await relay.stop(); await relay.start(); };
  relay.close = async () => { await relay.stop(); rmSync(dir, { recursive: true, force: true }); };
  await relay.start();
  return relay;
}

/** Serves host pages on another origin. `pages` maps a path to HTML. */
export async function hostServer(pages) {
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const html = pages[p] || pages['*'];
    if (!html) { res.writeHead(404); res.end('no'); return; }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(typeof html === 'function' ? html() : html);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: 'http://127.0.0.1:' + server.address().port, close: () => new Promise((r) => server.close(r)) };
}

/** The snippet a site owner pastes, pointing at `relay`. */
export function snippet(relay, attrs = '') {
  return `<script>window.kefu=window.kefu||function(){(kefu.q=kefu.q||[]).push(arguments)};</script>
<script async src="${relay.base}/widget/loader.js" data-site="demo" ${attrs}></script>`;
}

export function page(relay, { title = 'Shop', body = '<h1>Shop</h1>', head = '', attrs = '' } = {}) {
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>${head}${snippet(relay, attrs)}</head><body>${body}</body></html>`;
}

/** An agent on the demo site, over a real WebSocket. */
export async function agent(relay, token = TOKEN) {
  const ws = new WebSocket(`ws://${relay.addr}/v1/ws`);
  const frames = [];
  const waiters = [];
  ws.on('message', (d) => {
    const f = JSON.parse(String(d));
    if (f.type === 'ping') { ws.send('{"type":"pong"}'); return; }
    frames.push(f);
    for (const w of waiters.slice()) if (w.pred(f)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
  });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const a = {
    frames,
    send: (f) => ws.send(JSON.stringify(f)),
    /** Resolves with the first frame (seen or future) matching `pred`. */
    waitFor(pred, ms = 15000) {
      const hit = frames.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => { const i = waiters.indexOf(w); if (i >= 0) { waiters.splice(i, 1); reject(new Error('agent: no matching frame; saw ' + JSON.stringify(frames.slice(-10)))); } }, ms);
      });
    },
    messages: (conv) => frames.filter((f) => f.type === 'event' && f.kind === 'message' && (!conv || f.conv === conv)),
    close: () => ws.close(),
  };
  a.send({ type: 'hello', v: 1, role: 'agent', token });
  await a.waitFor((f) => f.type === 'welcome');
  a.send({ type: 'subscribe', site: 'demo' });
  await a.waitFor((f) => f.type === 'snapshot');
  return a;
}

/** An HTTP API call as an agent: `{status, body}` (body parsed JSON, or
 *  null when empty). */
export async function apiCall(relay, method, path, token, body) {
  const r = await fetch(relay.base + path, {
    method,
    headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** Routes the demo site automatically with the owner (the only agent,
 *  capacity 1) in a `sales` team: the second visitor waits in line.
 *  Returns the owner's agent id. */
export async function routeOneAtATime(relay) {
  const ownerId = (await apiCall(relay, 'GET', '/v1/api/me', TOKEN)).body.id;
  const cap = await apiCall(relay, 'PATCH', '/v1/api/agents/' + ownerId, TOKEN, { capacity: 1 });
  if (cap.status !== 200) throw new Error('capacity: ' + JSON.stringify(cap.body));
  const routing = { mode: 'auto', teams: [{ id: 'sales', name: 'Sales', members: [ownerId] }] };
  const site = await apiCall(relay, 'PATCH', '/v1/api/sites/demo', TOKEN, { routing });
  if (site.status !== 200) throw new Error('routing: ' + JSON.stringify(site.body));
  return ownerId;
}

/** With [`routeOneAtATime`]: a first visitor takes the owner's only slot
 *  (awaited on agent connection `a`), a second then waits as number 1. */
export async function fillTheOnlySlot(relay, a, ownerId, prefix) {
  const first = await wsVisitor(relay, prefix + '-first');
  const c1 = (await first.send('first')).conv;
  await a.waitFor((f) => f.type === 'event' && f.conv === c1 && f.kind === 'assigned' && f.to && f.to.id === ownerId);
  const second = await wsVisitor(relay, prefix + '-second');
  const c2 = (await second.send('second')).conv;
  return { first, second, c1, c2 };
}

/** Closes every open conversation of the demo site (frees the slots). */
export async function closeAllOpen(relay) {
  const r = await apiCall(relay, 'GET', '/v1/api/sites/demo/conversations?status=open&limit=100', TOKEN);
  for (const c of r.body.convs) await apiCall(relay, 'POST', `/v1/api/conversations/${c.id}/close`, TOKEN);
}

/** The agents' console in a new page of `ctx`, signed in as `who`
 *  ({email, password}) and connected (no banner). */
export async function signedInConsole(relay, ctx, who, { welcome = false } = {}) {
  const c = await ctx.newPage();
  c.on('pageerror', (e) => console.error('console pageerror:', e.message));
  await c.goto(relay.base + '/console/');
  await c.fill('input[name=email]', who.email);
  await c.fill('input[name=password]', who.password);
  await c.click('button[type=submit]');
  await c.waitForSelector('.topbar', { timeout: 15000 });
  if (!welcome) {
    // The first sign-in question (an owner still named "Demo Agent") is
    // the accounts test's subject; everywhere else it is answered at once,
    // keeping the names offered.
    await until(async () => (await c.locator('.modal.welcome, .topbar .me').count()) > 0, 15000, 'signed in');
    const w = c.locator('.modal.welcome');
    if (await w.count()) {
      await w.locator('button[type=submit]').click();
      await until(async () => (await c.locator('.modal.welcome').count()) === 0, 15000, 'welcome answered');
    }
  }
  await until(async () => (await c.locator('.banner').count()) === 0, 15000, 'console connected');
  return c;
}

/** One headless Debian chromium, launched with the flags this machine needs. */
export async function browser() {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns truthy. */
export async function until(fn, ms = 15000, what = 'condition') {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error('timed out waiting for ' + what + ' (last: ' + JSON.stringify(last) + ')');
}

/** The widget's message texts, in order (open shadow roots are pierced). */
export async function widgetTexts(p) {
  return p.evaluate(() => {
    const host = document.querySelector('kefu-widget');
    if (!host || !host.shadowRoot) return [];
    return Array.from(host.shadowRoot.querySelectorAll('.g .m')).map((m) => {
      const clone = m.cloneNode(true);
      clone.querySelectorAll('u,i,time').forEach((x) => x.remove());
      return { text: clone.textContent, state: (m.querySelector('i') || {}).textContent || '', mine: m.classList.contains('me'), time: (m.querySelector('time') || {}).textContent || '' };
    });
  });
}

/** A visitor over a plain WebSocket (no widget) on the demo site: `send`
 *  resolves with the relay's ack, and `received` holds the texts of the
 *  agents' messages that reached it. */
export async function wsVisitor(relay, id) {
  const ws = new WebSocket(`ws://${relay.addr}/v1/ws`);
  const acks = new Map();
  const received = [];
  let welcome;
  const welcomed = new Promise((r) => { welcome = r; });
  ws.on('message', (d) => {
    const f = JSON.parse(String(d));
    if (f.type === 'ping') ws.send('{"type":"pong"}');
    if (f.type === 'welcome') welcome(f);
    if (f.type === 'ack' && acks.has(f.cid)) acks.get(f.cid)(f);
    if (f.type === 'event' && f.kind === 'message' && f.from && f.from.side === 'agent') received.push(f.text);
  });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  ws.send(JSON.stringify({ type: 'hello', v: 1, role: 'visitor', site: 'demo', visitor: id }));
  await welcomed;
  let n = 0;
  return {
    received,
    send: (text) => new Promise((resolve) => {
      const cid = id + '-' + (++n);
      acks.set(cid, resolve);
      ws.send(JSON.stringify({ type: 'send', cid, text }));
    }),
    /** Rates a closed conversation; resolves with the relay's ack. */
    rate: (conv, score) => new Promise((resolve) => {
      const cid = id + '-r' + (++n);
      acks.set(cid, resolve);
      ws.send(JSON.stringify({ type: 'rate', cid, conv, score }));
    }),
    close: () => ws.close(),
  };
}

/** A phone's viewport (CSS px), for the console's narrow layout. */
export const PHONE = { width: 375, height: 812 };

/** Visible buttons, inputs, selects, textareas and links lying outside
 *  [0, width], controls shorter than 40 px, and the page's scroll width. */
const layout = (c) => c.evaluate(() => {
  const W = window.innerWidth;
  const out = [];
  const small = [];
  for (const e of document.querySelectorAll('button, input, select, textarea, a')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (getComputedStyle(e).visibility === 'hidden') continue;
    const name = e.tagName + '.' + e.className + ' "' + (e.textContent || e.getAttribute('aria-label') || '').trim().slice(0, 30) + '"';
    if (r.left < -0.5 || r.right > W + 0.5) out.push(`${name} [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    if (e.type !== 'file' && e.tagName !== 'A' && r.height < 39.5) small.push(`${name} ${Math.round(r.height)} px`);
  }
  return { width: W, scrollWidth: document.documentElement.scrollWidth, out, small };
});

/** Asserts that page `c` (at [PHONE] size, or `width` CSS px wide) fits:
 *  nothing scrolls sideways, every control lies within the screen and is
 *  touch-sized. */
export async function assertFits(c, view, width = PHONE.width) {
  const l = await layout(c);
  assert.equal(l.width, width, `${view}: the page lays out ${width} CSS px wide`);
  assert.ok(l.scrollWidth <= width, `${view}: nothing scrolls sideways (scrollWidth ${l.scrollWidth})`);
  assert.deepEqual(l.out, [], `${view}: every control within the screen`);
  assert.deepEqual(l.small, [], `${view}: touch-sized controls`);
}

/** A minimal SMTP receiver on a free loopback port: accepts every
 *  message and pushes its raw text onto `mails`. */
export function smtpServer(mails) {
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

/** The first URL matching `re` in a raw message, whatever the transfer
 *  encoding of its parts (quoted-printable or base64). */
export function mailLink(raw, re) {
  const qp = raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  const texts = [qp, ...raw.split(/\r\n\r\n/).map((b) => Buffer.from(b.replace(/\s+/g, ''), 'base64').toString('latin1'))];
  for (const t of texts) {
    const m = t.match(re);
    if (m) return m[0];
  }
  return null;
}
