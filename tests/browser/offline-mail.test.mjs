// The whole way round, as the issue tells it, with real mail servers on
// loopback (aiosmtpd receiving the relay's mail, Dovecot holding the
// mailbox the relay fetches replies from; tests/src/bin/kefu-mail-servers):
// every agent away → the widget shows the offline form; the visitor leaves
// an email and a message → the agents' email arrives with the text; the
// agent replies from the console and the visitor has closed the page →
// after the continuity delay, one email to the visitor; the visitor
// answers it from their mail client (a mail delivered into the mailbox) →
// the console shows it as the visitor's message, once, without the quote.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startRelay, hostServer, page, browser, until, widgetTexts, signedInConsole, sleep, ROOT, SHOTS } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const SERVERS = process.env.KEFU_MAIL_SERVERS_BIN || path.join(ROOT, 'target', 'debug', 'kefu-mail-servers');

let servers, relay, host, chrome;

/** The mail servers' process: its first line says where they listen; each
 *  command line is answered by one JSON line. */
async function mailServers() {
  const proc = spawn(SERVERS, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(JSON.parse(l)));
  const next = () => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('mail servers did not answer')), 20000);
    waiting.push((v) => { clearTimeout(t); resolve(v); });
  });
  const where = await next();
  return {
    ...where,
    ask: (cmd) => { const p = next(); proc.stdin.write(cmd + '\n'); return p; },
    close: () => { proc.stdin.end(); return new Promise((r) => proc.on('exit', r)); },
  };
}

before(async () => {
  servers = await mailServers();
  relay = await startRelay([
    '--demo-password', OWNER.password,
    '--smtp-url', servers.smtp_url,
    '--mail-from', 'Shop <kefu@shop.test>',
    '--imap-url', servers.imap_url,
    // One minute of the site's continuity delay (3 by default) lasts
    // 400 ms here.
    '--mail-minute-ms', '400',
  ]);
  host = await hostServer({ '/': () => page(relay, { title: 'Shop' }) });
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
  await servers?.close();
});

const w = (p, sel) => p.locator('kefu-widget ' + sel);
const mailsTo = async (addr) => (await servers.ask('mails')).filter((m) => m.rcpt.some((r) => r.toLowerCase() === addr));
const header = (m, name) => (m.headers.find(([k]) => k.toLowerCase() === name.toLowerCase()) || [])[1];

test('offline form → agents mailed → a reply mailed to the visitor who left → their answer by mail is back in the console, once, unquoted', async () => {
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    // Nobody is signed in: the widget asks for an address.
    const v = await ctx.newPage();
    v.on('pageerror', (e) => console.error('pageerror:', e.message));
    await v.goto(host.url + '/');
    await until(() => v.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
    await w(v, '.b').click();
    await w(v, '#kf-email').waitFor();
    await w(v, '#kf-email').fill('ada@example.com');
    await w(v, '#kf-name').fill('Ada');
    await w(v, 'form:not(.y) textarea').fill('Do you ship to Norway?');
    await w(v, 'form:not(.y) textarea').press('Enter');
    await until(async () => (await widgetTexts(v)).some((m) => m.text === "We'll reply by email to ada@example.com"), 10000, 'the reply line');
    await v.screenshot({ path: path.join(SHOTS, 'offline-mail-widget.png') });

    // The owner (the site's only agent) is mailed the text, with a link.
    const notice = await until(async () => (await mailsTo(OWNER.email))[0], 15000, "the agents' mail");
    assert.match(notice.text, /Do you ship to Norway\?/);
    assert.match(notice.text, /\/console\/#\/inbox\/demo\//, 'a link to the conversation');
    writeFileSync(path.join(ROOT, 'target', 'offline-mail-agent-notice.eml'), notice.raw);

    // The visitor leaves; the owner signs in and answers.
    await v.close();
    const c = await signedInConsole(relay, ctx, OWNER);
    await c.locator('li.conv').first().click();
    await c.locator('.composer textarea').fill('Yes — we ship to Norway in 3 days.');
    await c.locator('.composer textarea').press('Enter');
    await c.locator('.msg.agent', { hasText: 'we ship to Norway' }).waitFor();

    // After the delay (3 × 400 ms, then the decision): one mail to Ada.
    const cont = await until(async () => (await mailsTo('ada@example.com'))[0], 20000, 'the continuity mail');
    assert.match(cont.text, /we ship to Norway in 3 days/);
    assert.ok(header(cont, 'List-Unsubscribe'), 'List-Unsubscribe');
    assert.ok(header(cont, 'Message-ID'), 'Message-ID');
    const replyTo = header(cont, 'Reply-To');
    assert.match(replyTo || '', /kefu\+[a-z0-9]+@shop\.test/i, 'a per-conversation reply address');
    writeFileSync(path.join(ROOT, 'target', 'offline-mail-continuity.eml'), cont.raw);
    await sleep(3000);
    assert.equal((await mailsTo('ada@example.com')).length, 1, 'one continuity mail, not two');

    // Ada answers from her mail client: her reply, with the quote a
    // client adds, lands in the mailbox the relay fetches.
    const to = replyTo.match(/kefu\+[^>\s]+/i)[0];
    const reply = [
      'From: Ada <ada@example.com>',
      `To: ${to}`,
      'Subject: Re: Your chat with Shop',
      `Message-ID: <reply-1.${Date.now()}@example.com>`,
      `In-Reply-To: ${header(cont, 'Message-ID')}`,
      `References: ${header(cont, 'Message-ID')}`,
      'Date: ' + new Date().toUTCString(),
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Great, please send it to Oslo.',
      '',
      'On Thu, 3 Dec 2026 at 10:00, Shop <kefu@shop.test> wrote:',
      '> Yes — we ship to Norway in 3 days.',
      '',
    ].join('\r\n');
    assert.deepEqual(await servers.ask('deliver ' + Buffer.from(reply).toString('base64')), { ok: true });
    const back = c.locator('.msg.visitor', { hasText: 'Great, please send it to Oslo.' });
    await back.waitFor({ timeout: 20000 });
    await until(async () => (await servers.ask('seen')).seen === 1, 10000, 'the reply marked processed');
    await sleep(1500);
    assert.equal(await back.count(), 1, 'once');
    assert.equal(await c.locator('.msg.visitor', { hasText: 'wrote:' }).count(), 0, 'without the quote');
    assert.equal(await c.locator('.msg.visitor', { hasText: '> Yes' }).count(), 0, 'without the quoted lines');
    await c.screenshot({ path: path.join(SHOTS, 'offline-mail-console.png') });
  } finally {
    await ctx.close();
  }
});
