// One language everywhere. The wasm widget and fallback.js in both mixes of
// site language and browser locale (site zh-CN in an en-US browser, site en
// in a zh-CN browser): launcher, title, placeholder, Send, status and
// message states all in the site's language. The console in Chinese: the
// default from a zh-CN browser, the top bar's picker switching every
// screen at once, the choice kept across a reload, and no English left on
// the inbox and settings screens (screenshots at desktop and phone size).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, hostServer, page, agent, browser, until, apiCall, signedInConsole, SHOTS, TOKEN, PHONE } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let relay, host, chrome;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password, '--longpoll-wait-ms', '3000']);
  host = await hostServer({ '/': () => page(relay, { title: 'Shop' }) });
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

/** Sets the demo site's widget language (null: from the visitor). */
async function siteLanguage(language) {
  const site = await apiCall(relay, 'GET', '/v1/api/sites/demo', TOKEN);
  const widget = { ...site.body.widget, language: language || undefined };
  const r = await apiCall(relay, 'PATCH', '/v1/api/sites/demo', TOKEN, { widget });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

// What each language says (protocol/src/texts.rs).
const WORDS = {
  en: { title: 'Chat with us', placeholder: 'Write a message…', send: 'Send', close: 'Close chat', sent: 'Sent', online: "We're online" },
  zh: { title: '在线客服', placeholder: '输入消息…', send: '发送', close: '关闭聊天', sent: '已发送', online: '客服在线' },
};

const MIXES = [
  { site: 'zh-CN', locale: 'en-US', want: 'zh' },
  { site: 'en', locale: 'zh-CN', want: 'en' },
];

/** The widget's visible texts (wasm: in its shadow root). */
const wasmTexts = (p) => p.evaluate(() => {
  const r = document.querySelector('kefu-widget').shadowRoot;
  const q = (s) => r.querySelector(s);
  return {
    title: q('.h b').textContent, status: q('.h small').textContent,
    placeholder: q('textarea').getAttribute('placeholder'), send: q('form:not(.y) .s').textContent,
    open: q('.b').getAttribute('aria-label'),
  };
});

const fallbackTexts = (p) => p.evaluate(() => {
  const fb = document.getElementById('kefu-fb');
  const by = (cls) => { const all = fb.getElementsByTagName('*'); for (let i = 0; i < all.length; i++) if ((' ' + all[i].className + ' ').indexOf(' ' + cls + ' ') >= 0) return all[i]; return null; };
  const head = by('kefu-h');
  return {
    title: head.getElementsByTagName('b')[0].textContent, status: (head.getElementsByTagName('span')[0] || {}).textContent || '',
    placeholder: fb.getElementsByTagName('textarea')[0].getAttribute('placeholder'), send: by('kefu-s').textContent,
  };
});

for (const { site, locale, want } of MIXES) {
  const W = WORDS[want];
  test(`wasm widget: site ${site}, browser ${locale} → every text in ${want}`, async () => {
    await siteLanguage(site);
    const a = await agent(relay);
    const ctx = await chrome.newContext({ locale, viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    await p.goto(host.url + '/');
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'wasm'), 15000, 'widget boot');
    await p.locator('kefu-widget .b').click();
    // Connected: the status line speaks, in the resolved language.
    await until(async () => (await wasmTexts(p)).status === W.online, 15000, 'online status in ' + want);
    assert.deepEqual(await wasmTexts(p), { title: W.title, status: W.online, placeholder: W.placeholder, send: W.send, open: W.close },
      'launcher (now a close button), title, placeholder and Send in one language');
    const mine = 'hello ' + locale;
    await p.locator('kefu-widget textarea').fill(mine);
    await p.locator('kefu-widget textarea').press('Enter');
    await a.waitFor((f) => f.type === 'event' && f.text === mine);
    await until(() => p.evaluate((m) => [...document.querySelector('kefu-widget').shadowRoot.querySelectorAll('.g .m')]
      .some((x) => x.textContent.includes(m) && (x.querySelector('i') || {}).textContent), mine), 10000, 'state shown');
    const state = await p.evaluate(() => [...document.querySelector('kefu-widget').shadowRoot.querySelectorAll('.g .m i')].pop().textContent);
    assert.ok([W.sent, want === 'zh' ? '已读' : 'Read'].includes(state), `message state in ${want}: ${state}`);
    await p.screenshot({ path: path.join(SHOTS, `i18n-widget-site-${site}-browser-${locale}.png`) });
    await ctx.close();
    a.close();
  });

  test(`fallback.js: site ${site}, browser ${locale} → every text in ${want}`, async () => {
    await siteLanguage(site);
    const a = await agent(relay);
    const ctx = await chrome.newContext({ locale, viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    await p.addInitScript(() => { delete window.WebSocket; delete window.WebAssembly; });
    await p.goto(host.url + '/');
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode === 'fallback'), 15000, 'fallback boot');
    await p.locator('#kefu-fb .kefu-b').click();
    await until(async () => (await fallbackTexts(p)).status === W.online, 15000, 'fallback online status in ' + want);
    const t = await fallbackTexts(p);
    assert.deepEqual(t, { title: W.title, status: W.online, placeholder: W.placeholder, send: W.send }, 'fallback in one language');
    await p.screenshot({ path: path.join(SHOTS, `i18n-fallback-site-${site}-browser-${locale}.png`) });
    await ctx.close();
    a.close();
  });
}

// Words that may stay as they are on a Chinese screen: the brand, product
// and protocol names, and what the test site itself is called.
const ALLOWED = new Set(['kefu', 'Demo', 'site', 'demo', 'English', 'WeChat', 'AppID', 'AppSecret', 'Token', 'EncodingAESKey',
  'Mode', 'Plain', 'Compatible', 'Safe', 'Webhook', 'API', 'HTTP', 'JSON', 'POST', 'https', 'PNG', 'SVG', 'PDF', 'Office', 'IANA',
  'HMAC', 'SHA', 'user_hash', 'secret', 'user', 'body', 'script', 'Kefu', 'Signature', 'Authorization', 'Bearer', 'URL', 'uid',
  'name', 'email', 'ts', 'sig', 'App', 'CRM', 'VIP', 'HH', 'MM', 'YYYY', 'DD', 'null', 'identify', 'phone', 'localhost', 'HTTPS',
  "identify'", 'Web', 'Push', 'Service', 'Worker', 'base64url', 'owner', 'Asia', 'Shanghai',
  // Picture formats and the placeholder address of the profile card.
  'JPEG', 'GIF', 'WebP', 'example', 'com']);

/** English words left on the screen (outside inputs and code). */
const englishLeft = (c) => c.evaluate((allowed) => {
  const out = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('.agents td:not(:nth-child(3)), .capacity-list .grow, .members, .preview, .bubble, pre, code, .snippet, .wpreview, .chat-url, .url, .name, .who, .me, .site-name, .hook-url, select.site-switch')) continue;
    if (el.closest('[hidden]') || !el.getClientRects().length) continue;
    for (const w of n.textContent.match(/[A-Za-z][A-Za-z_']{2,}/g) || []) if (!allowed.includes(w)) out.add(w);
  }
  return [...out];
}, [...ALLOWED]);

test('console: Chinese from a zh-CN browser, the picker switches and persists, no English left', async () => {
  await siteLanguage(null);
  const ctx = await chrome.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
  // The sign-in screen is Chinese before anyone picks anything.
  const login = await ctx.newPage();
  await login.goto(relay.base + '/console/');
  await until(async () => (await login.locator('button[type=submit]').textContent()) === '登录', 15000, 'Chinese sign-in');
  assert.equal(await login.evaluate(() => document.documentElement.lang), 'zh-CN');
  await login.close();

  const c = await signedInConsole(relay, ctx, OWNER);
  await until(async () => (await c.locator('[data-nav=inbox]').textContent()).startsWith('收件箱'), 10000, 'Chinese inbox tab');
  assert.equal(await c.locator('[data-nav=settings]').textContent(), '设置');
  assert.match(await c.title(), /kefu 客服工作台$/, 'the tab title too');
  assert.deepEqual(await englishLeft(c), [], 'no English on the inbox');
  await c.screenshot({ path: path.join(SHOTS, 'i18n-console-inbox-zh-1280x800.png') });

  await c.locator('[data-nav=settings]').click();
  await c.waitForSelector('.settings .appearance');
  assert.deepEqual(await englishLeft(c), [], 'no English on the settings screen');
  await c.screenshot({ path: path.join(SHOTS, 'i18n-console-settings-zh-1280x800.png'), fullPage: true });

  // English at once, every component: the top bar, the page, the preview.
  await c.selectOption('.topbar .lang-switch', 'en');
  await until(async () => (await c.locator('[data-nav=settings]').textContent()) === 'Settings', 5000, 'English settings tab');
  assert.equal(await c.locator('.appearance h3').textContent(), 'Widget appearance');
  assert.equal(await c.evaluate(() => document.documentElement.lang), 'en');
  assert.match(await c.title(), /kefu console$/);
  await c.reload();
  await c.waitForSelector('.topbar');
  assert.equal(await c.locator('[data-nav=settings]').textContent(), 'Settings', 'the choice outlives a reload');
  // And back to Chinese, kept too.
  await c.selectOption('.topbar .lang-switch', 'zh-CN');
  await until(async () => (await c.locator('[data-nav=settings]').textContent()) === '设置', 5000, 'Chinese again');
  await c.reload();
  await c.waitForSelector('.topbar');
  assert.equal(await c.locator('[data-nav=settings]').textContent(), '设置');

  // The per-language texts: the switch edits Chinese, the preview shows it.
  await c.locator('[data-nav=settings]').click();
  await c.waitForSelector('.site-texts');
  await c.locator('.site-texts [data-texts-lang="zh-CN"]').click();
  await c.fill('.site-texts input[data-setting=greeting]', '欢迎光临');
  await until(async () => (await c.locator('.wpreview .pv-bubble').first().textContent()) === '欢迎光临', 5000, 'Chinese greeting previewed');
  assert.equal(await c.locator('.wpreview .pv-head').textContent(), '在线客服', 'the preview speaks Chinese');
  await c.locator('.appearance button[type=submit]').click();
  await until(async () => (await apiCall(relay, 'GET', '/v1/api/sites/demo', TOKEN)).body.widget.texts?.['zh-CN']?.greeting === '欢迎光临', 10000, 'saved');

  await ctx.close();

  // On a phone, in Chinese.
  const phone = await chrome.newContext({ locale: 'zh-CN', viewport: PHONE, isMobile: true, hasTouch: true });
  const m = await signedInConsole(relay, phone, OWNER);
  await until(async () => (await m.locator('[data-nav=inbox]').textContent()).startsWith('收件箱'), 10000, 'phone in Chinese');
  assert.deepEqual(await englishLeft(m), [], 'no English on the phone inbox');
  await m.screenshot({ path: path.join(SHOTS, 'i18n-console-inbox-zh-375x812.png') });
  await m.locator('[data-nav=settings]').click();
  await m.waitForSelector('.settings .appearance');
  await m.screenshot({ path: path.join(SHOTS, 'i18n-console-settings-zh-375x812.png') });
  await phone.close();
});

test('console: an English browser gets English', async () => {
  const ctx = await chrome.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, ctx, OWNER);
  assert.ok((await c.locator('[data-nav=inbox]').textContent()).startsWith('Inbox'));
  assert.equal(await c.evaluate(() => document.documentElement.lang), 'en');
  await ctx.close();
});
