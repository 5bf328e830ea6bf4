// Accounts in the console (headless chromium, a real relay, a real SMTP
// receiver): the first sign-in question, renames shown at once (top bar,
// site name, and what a visitor receives), the agent's picture, a password
// change that signs out the other device, "Forgot password?" through the
// link of the mail the relay sent, and the Add-agent role select creating
// the role it shows. Screenshots at desktop and phone sizes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, browser, until, apiCall, wsVisitor, signedInConsole, smtpServer, mailLink, PHONE, SHOTS } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let relay, chrome, smtp;
const mails = [];

before(async () => {
  smtp = await smtpServer(mails);
  relay = await startRelay(['--demo-password', OWNER.password, '--smtp-url', `smtp://127.0.0.1:${smtp.address().port}`,
    '--mail-from', 'Kefu <kefu@kefu.test>', '--mail-retry-ms', '200']);
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await relay?.close();
  smtp?.close();
});

const shot = (p, name) => p.screenshot({ path: path.join(SHOTS, `accounts-${name}.png`), fullPage: false });

/** A PNG drawn by the browser itself (w × h, two colours). */
async function png(p, w, h) {
  const b64 = await p.evaluate(([w, h]) => {
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    const g = c.getContext('2d');
    g.fillStyle = '#1c7ed6'; g.fillRect(0, 0, w, h);
    g.fillStyle = '#ffd43b'; g.beginPath(); g.arc(w / 2, h / 2, Math.min(w, h) / 3, 0, 7); g.fill();
    return c.toDataURL('image/png').split(',')[1];
  }, [w, h]);
  return Buffer.from(b64, 'base64');
}

/** A session token of `who`, one per password (logins are rate-limited
 *  per IP: 30 a minute). */
const tokens = new Map();
async function token(who) {
  const key = who.email + '\0' + who.password;
  if (!tokens.has(key)) {
    const r = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(who) });
    tokens.set(key, (await r.json()).token);
  }
  return tokens.get(key);
}

test('first sign-in names the owner and the site; renames show at once and reach visitors', async () => {
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, ctx, OWNER, { welcome: true });
  const dialog = c.locator('.modal.welcome');
  await dialog.waitFor({ timeout: 15000 });
  assert.equal(await c.inputValue('[data-welcome=name]'), 'Demo Agent');
  assert.equal(await c.inputValue('[data-welcome=site]'), 'Demo site');
  await shot(c, 'welcome-desktop');
  // A bad name is refused in place; the dialog stays.
  await c.fill('[data-welcome=name]', '   ');
  await c.click('.modal.welcome button[type=submit]');
  await c.locator('.modal.welcome .error').waitFor();
  await c.fill('[data-welcome=name]', 'Olivia Owner');
  await c.fill('[data-welcome=site]', 'Acme Shop');
  await c.click('.modal.welcome button[type=submit]');
  await until(async () => (await dialog.count()) === 0, 10000, 'dialog closed');
  await until(async () => (await c.locator('.topbar .me-name').textContent()) === 'Olivia Owner', 10000, 'top bar name');
  await until(async () => (await c.locator('.topbar .site-name').textContent()) === 'Acme Shop', 10000, 'top bar site');
  // Asked once: not again on this browser, nor on another.
  await c.reload();
  await c.waitForSelector('.topbar');
  await c.waitForTimeout(500);
  assert.equal(await dialog.count(), 0, 'not asked again after reload');
  const other = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c2 = await signedInConsole(relay, other, OWNER, { welcome: true });
  await c2.waitForTimeout(500);
  assert.equal(await c2.locator('.modal.welcome').count(), 0, 'not asked on another browser');
  await other.close();

  // Renaming in Settings: the top bar follows, and a visitor gets the new
  // name on the next message.
  const v = await wsVisitor(relay, 'acc-v1');
  const ack = await v.send('Hello there');
  await c.click('[data-nav=settings]');
  await c.locator('[data-profile=name]').waitFor();
  await c.fill('[data-profile=name]', 'Olivia O.');
  await c.click('[data-section=profile] form.row button[type=submit]');
  await until(async () => (await c.locator('.topbar .me-name').textContent()) === 'Olivia O.', 10000, 'renamed top bar');
  const frames = [];
  const ws = new (await import('ws')).default(`ws://${relay.addr}/v1/ws`);
  ws.on('message', (d) => frames.push(JSON.parse(String(d))));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'hello', v: 1, role: 'agent', token: await token(OWNER) }));
  await until(() => frames.find((f) => f.type === 'welcome'), 10000, 'agent welcome');
  ws.send(JSON.stringify({ type: 'send', conv: ack.conv, cid: 'acc-r1', text: 'Hi from Olivia' }));
  await until(() => v.received.includes('Hi from Olivia'), 10000, 'visitor got the reply');
  ws.close();
  const page = await apiCall(relay, 'GET', `/v1/api/conversations/${ack.conv}/events`, await token(OWNER));
  const mine = page.body.events.find((e) => e.text === 'Hi from Olivia');
  assert.equal(mine.from.name, 'Olivia O.', 'the visitor sees the new name');
  v.close();

  // The site's name, renamed from Settings, is the top bar's at once.
  await c.fill('[data-rename=site]', 'Acme Store');
  await c.click('form.row:has([data-rename=site]) button[type=submit]');
  await until(async () => (await c.locator('.topbar .site-name').textContent()) === 'Acme Store', 10000, 'site renamed');

  // The picture: uploaded, shown in the top bar and the profile; initials before.
  assert.equal(await c.locator('.topbar [data-avatar=initials]').textContent(), 'OO');
  await c.setInputFiles('[data-avatar-input]', { name: 'me.png', mimeType: 'image/png', buffer: await png(c, 300, 200) });
  await until(() => c.evaluate(() => {
    const i = document.querySelector('.topbar img[data-avatar=img]');
    return i && i.complete && i.naturalWidth === 128;
  }), 15000, 'avatar shown in the top bar');
  assert.equal(await c.evaluate(() => document.querySelector('.account-profile img[data-avatar=img]').naturalWidth), 128);
  await c.evaluate(() => document.querySelector('[data-section=profile]').scrollIntoView());
  await shot(c, 'profile-desktop');
  // Not an image: refused with the relay's reason, the picture stays.
  await c.setInputFiles('[data-avatar-input]', { name: 'evil.png', mimeType: 'image/png', buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>') });
  await c.locator('.account-profile .int-note.bad', { hasText: 'PNG, JPEG, GIF or WebP' }).waitFor({ timeout: 10000 });
  assert.equal(await c.locator('.topbar img[data-avatar=img]').count(), 1);

  // At phone size the profile card fits.
  await c.setViewportSize(PHONE);
  await c.waitForTimeout(300);
  const box = await c.evaluate(() => {
    const e = document.querySelector('[data-section=profile]');
    e.scrollIntoView();
    const r = e.getBoundingClientRect();
    return { left: r.left, right: r.right, height: r.height };
  });
  assert.ok(box.height > 0 && box.left >= 0 && box.right <= PHONE.width + 0.5, JSON.stringify(box));
  await shot(c, 'profile-phone');
  await ctx.close();
});

test('Add agent creates the role its select shows', async () => {
  const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, ctx, OWNER);
  await c.click('[data-nav=settings]');
  const role = c.locator('[data-new-agent=role]');
  await role.waitFor();
  const shown = () => c.evaluate(() => {
    const s = document.querySelector('[data-new-agent=role]');
    return s.options[s.selectedIndex].value;
  });
  const add = async (name) => {
    await c.fill('input[aria-label=Name][placeholder=Name]', name);
    await c.fill('input[aria-label=E-mail]', name.toLowerCase() + '@example.com');
    await c.fill('input[aria-label=Password]', 'password-' + name);
    const showing = await shown();
    await c.click('form.row:has([data-new-agent=role]) button[type=submit]');
    await c.locator('.notice', { hasText: `Added ${name}.` }).waitFor({ timeout: 10000 });
    const list = await apiCall(relay, 'GET', '/v1/api/agents', await token(OWNER));
    const made = list.body.find((a) => a.name === name);
    assert.equal(made.role, showing, `${name}: created ${made.role} while the select showed ${showing}`);
    return showing;
  };
  assert.equal(await shown(), 'agent', 'Agent by default');
  assert.equal(await add('Ada'), 'agent');
  await role.selectOption('owner');
  assert.equal(await add('Bob'), 'owner');
  // The form resets after an add: what it shows is still what it makes.
  await add('Cara');
  await role.selectOption('agent');
  assert.equal(await add('Dan'), 'agent');
  assert.equal(await add('Eve'), 'agent');
  await ctx.close();
});

test('a password change signs out the other device and keeps this one', async () => {
  await apiCall(relay, 'POST', '/v1/api/agents', await token(OWNER),
    { name: 'Pat', email: 'pat@example.com', password: 'pat-password-1', sites: ['demo'] });
  const PAT = { email: 'pat@example.com', password: 'pat-password-1' };
  const laptop = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const phone = await chrome.newContext({ viewport: PHONE });
  const a = await signedInConsole(relay, laptop, PAT);
  const b = await signedInConsole(relay, phone, PAT);
  await a.click('[data-nav=settings]');
  await a.locator('[data-password=current]').waitFor();
  // A wrong current password: a clear error, nobody signed out.
  await a.fill('[data-password=current]', 'not-my-password');
  await a.fill('[data-password=new]', 'pat-password-2');
  await a.fill('[data-password=confirm]', 'pat-password-2');
  await a.click('form.password button[type=submit]');
  await a.locator('form.password .int-note.bad', { hasText: 'current password is wrong' }).waitFor({ timeout: 10000 });
  assert.equal(await a.locator('.login').count(), 0, 'still signed in');
  // Confirmation that differs: refused before anything is sent.
  await a.fill('[data-password=current]', PAT.password);
  await a.fill('[data-password=confirm]', 'pat-password-3');
  await a.click('form.password button[type=submit]');
  await a.locator('form.password .int-note.bad', { hasText: 'differ' }).waitFor();
  await a.fill('[data-password=confirm]', 'pat-password-2');
  await a.click('form.password button[type=submit]');
  await a.locator('form.password .int-note', { hasText: 'Password changed' }).waitFor({ timeout: 10000 });
  await shot(a, 'password-desktop');
  // The phone is signed out at its next call; the laptop stays.
  await b.reload();
  await b.locator('.login').waitFor({ timeout: 15000 });
  await a.reload();
  await a.waitForSelector('.topbar', { timeout: 15000 });
  await laptop.close();
  await phone.close();
  assert.ok(await token({ email: PAT.email, password: 'pat-password-2' }));
});

test('forgot password: the mailed link sets a new one', async () => {
  const ctx = await chrome.newContext({ viewport: PHONE });
  const p = await ctx.newPage();
  await p.goto(relay.base + '/console/');
  await p.click('.forgot-link');
  await p.fill('.forgot input[name=email]', OWNER.email);
  await p.click('.forgot button[type=submit]');
  await p.locator('.forgot .notice', { hasText: 'on its way' }).waitFor({ timeout: 10000 });
  await shot(p, 'forgot-phone');
  const raw = await until(() => mails.find((m) => /owner@example\.com/i.test(m) && mailLink(m, /password-reset\?token=/)), 15000, 'reset mail');
  const link = mailLink(raw, /https?:\/\/[^\s"<>]*\/v1\/mail\/password-reset\?token=[A-Za-z0-9._%-]+/);
  assert.ok(link, raw);
  await p.goto(link);
  await p.fill('input[name=password]', 'owner-password-new');
  await p.fill('input[name=again]', 'owner-password-new');
  await shot(p, 'reset-page-phone');
  await p.click('button[type=submit]');
  await p.locator('h1', { hasText: 'New password set' }).waitFor({ timeout: 10000 });
  // Signing in with the new password works; the link is spent.
  const c = await signedInConsole(relay, ctx, { email: OWNER.email, password: 'owner-password-new' });
  assert.equal(await c.locator('.topbar').count(), 1);
  await p.goto(link);
  await p.fill('input[name=password]', 'owner-password-again');
  await p.fill('input[name=again]', 'owner-password-again');
  await p.click('button[type=submit]');
  await p.locator('text=not valid').first().waitFor({ timeout: 10000 });
  await ctx.close();
  OWNER.password = 'owner-password-new';
});

test('without SMTP the sign-in page offers no reset link', async () => {
  const plain = await startRelay([]);
  try {
    const ctx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    await p.goto(plain.base + '/console/');
    await p.waitForSelector('input[name=email]');
    await p.waitForTimeout(800);
    assert.equal(await p.locator('.forgot-link').count(), 0);
    await ctx.close();
  } finally {
    await plain.close();
  }
});
