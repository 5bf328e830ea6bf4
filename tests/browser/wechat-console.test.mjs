// A WeChat conversation in the console, against a relay whose WeChat API
// is a local stand-in written from WeChat's documentation (token endpoint,
// customer-service send with its errcodes): the follower's message shows
// with a WeChat badge in the list and the profile, the reply window above
// the reply box counts down, a reply goes out; when WeChat answers 45015
// the window shows closed and the next reply is refused with the reason;
// the owner's Settings → WeChat form shows the URL to paste and the
// secrets masked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import { startRelay, apiCall, browser, until, SHOTS, signedInConsole } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const DESKTOP = { width: 1280, height: 800 };
const WX = {
  enabled: true, app_id: 'wx5823bf96d3bd56c7', app_secret: '0123456789abcdef0123456789abcdef',
  token: 'browserToken1', encoding_aes_key: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', mode: 'plain',
};
const OPENID = 'oBrowserFollower0000000000Ab';
let relay, chrome, token, standin;

/** WeChat's API as documented: /cgi-bin/token mints access tokens;
 *  /cgi-bin/message/custom/send answers errcode 0, or the next queued code. */
function wechatStandIn() {
  const s = { sent: [], fail: [], tokens: new Set() };
  s.server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const reply = (v) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(v)); };
      if (u.pathname === '/cgi-bin/token') {
        if (u.searchParams.get('appid') !== WX.app_id) return reply({ errcode: 40013, errmsg: 'invalid appid' });
        const t = 'tok-' + crypto.randomUUID();
        s.tokens.add(t);
        return reply({ access_token: t, expires_in: 7200 });
      }
      if (u.pathname === '/cgi-bin/message/custom/send') {
        if (!s.tokens.has(u.searchParams.get('access_token'))) return reply({ errcode: 40001, errmsg: 'invalid credential' });
        const code = s.fail.shift();
        if (code) return reply({ errcode: code, errmsg: 'response out of time limit or subscription is canceled' });
        s.sent.push(JSON.parse(body));
        return reply({ errcode: 0, errmsg: 'ok' });
      }
      reply({ errcode: -1, errmsg: 'system error' });
    });
  });
  return new Promise((r) => s.server.listen(0, '127.0.0.1', () => { s.base = 'http://127.0.0.1:' + s.server.address().port; r(s); }));
}

/** A follower's text message pushed as WeChat does in plain mode. */
async function push(msgId, text) {
  const ts = String(Math.floor(Date.now() / 1000));
  const nonce = String(Math.floor(Math.random() * 1e9));
  const signature = crypto.createHash('sha1').update([WX.token, ts, nonce].sort().join('')).digest('hex');
  const xml = `<xml><ToUserName><![CDATA[gh_kefu]]></ToUserName><FromUserName><![CDATA[${OPENID}]]></FromUserName>` +
    `<CreateTime>${ts}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${text}]]></Content><MsgId>${msgId}</MsgId></xml>`;
  const r = await fetch(`${relay.base}/v1/wechat/demo?signature=${signature}&timestamp=${ts}&nonce=${nonce}`, { method: 'POST', body: xml });
  assert.equal(await r.text(), 'success');
}

before(async () => {
  standin = await wechatStandIn();
  relay = await startRelay(['--demo-password', OWNER.password, '--wechat-api-base', standin.base]);
  chrome = await browser();
  const r = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) });
  token = (await r.json()).token;
  const set = await apiCall(relay, 'PATCH', '/v1/api/sites/demo', token, { wechat: WX });
  assert.equal(set.status, 200, JSON.stringify(set.body));
});

after(async () => {
  await chrome?.close();
  await relay?.close();
  standin?.server.close();
});

test('a WeChat conversation: badge, reply window, a reply sent, the window closed by WeChat', async () => {
  await push(1, '你好，我的订单什么时候发货？');
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await signedInConsole(relay, ctx, OWNER);
  const row = c.locator('.conv', { has: c.locator('.channel.wechat') });
  await row.waitFor({ timeout: 10000 });
  assert.equal(await row.locator('.channel.wechat').textContent(), 'WeChat');
  await row.click();
  const chat = c.locator('.chat');
  const windowLine = chat.locator('.wechat-window');
  await windowLine.waitFor({ timeout: 10000 });
  assert.match(await windowLine.textContent(), /^WeChat window closes in 4[78] h · 5 replies left$/);
  await c.locator('.facts .channel.wechat').waitFor({ timeout: 10000 });

  await c.locator('.composer textarea').fill('您好！今天下午发货。');
  await c.locator('.composer textarea').press('Enter');
  await until(async () => standin.sent.length === 1, 10000, 'the reply reached WeChat');
  assert.deepEqual(standin.sent[0], { touser: OPENID, msgtype: 'text', text: { content: '您好！今天下午发货。' } });
  await until(async () => /^WeChat window closes in 4[78] h · 4 replies left$/.test(await windowLine.textContent()), 10000, 'one reply counted');
  await c.screenshot({ path: path.join(SHOTS, 'wechat-conversation-1280x800.png') });

  // WeChat says the window is closed: the console shows it, and refuses.
  standin.fail.push(45015);
  await c.locator('.composer textarea').fill('还有别的问题吗？');
  await c.locator('.composer textarea').press('Enter');
  await until(async () => (await windowLine.textContent()) === 'WeChat window closed: the follower must write first', 10000, 'window closed');
  assert.ok(await windowLine.evaluate((e) => e.classList.contains('closed')));
  await c.locator('.composer textarea').fill('Are you there?');
  await c.locator('.composer textarea').press('Enter');
  await chat.locator('.msg.pending .seen', { hasText: /Not sent: .*follower must write first/ }).waitFor({ timeout: 10000 });
  await c.screenshot({ path: path.join(SHOTS, 'wechat-window-closed-1280x800.png') });
  assert.equal(standin.sent.length, 1);

  // The follower writes again: the window opens.
  await push(2, '在吗');
  // (The console's clock ticks on its own: a window opened a moment ago
  // may read 48 h.)
  await until(async () => /^WeChat window closes in 4[78] h · 5 replies left$/.test(await windowLine.textContent()), 10000, 'window open again');
  await ctx.close();
});

test('Settings → WeChat: the URL to paste, the secrets masked, a bad Token refused', async () => {
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await signedInConsole(relay, ctx, OWNER);
  await c.click('[data-nav=settings]');
  const form = c.locator('.wechat-settings');
  await form.waitFor({ timeout: 10000 });
  assert.equal(await form.locator('[data-wechat-url]').textContent(), `https://${relay.addr}/v1/wechat/demo`);
  assert.equal(await form.locator('[data-setting=wechat_app_id]').inputValue(), WX.app_id);
  assert.equal(await form.locator('[data-setting=wechat_app_secret]').inputValue(), '••••cdef');
  assert.equal(await form.locator('[data-setting=wechat_aes_key]').inputValue(), '••••DEFG');
  await form.locator('[data-setting=wechat_token]').fill('x!');
  await form.getByRole('button', { name: 'Save WeChat settings' }).click();
  await until(async () => /^Not saved: wechat\.token/.test(await c.locator('.settings .notice').textContent()), 10000, 'bad token refused');
  await form.locator('[data-setting=wechat_token]').fill('newToken2');
  await form.locator('[data-setting=wechat_mode]').selectOption('safe');
  await form.getByRole('button', { name: 'Save WeChat settings' }).click();
  await until(async () => (await c.locator('.settings .notice').textContent()) === 'WeChat settings saved.', 10000, 'saved');
  const site = (await apiCall(relay, 'GET', '/v1/api/sites/demo', token)).body;
  assert.equal(site.wechat.token, 'newToken2');
  assert.equal(site.wechat.mode, 'safe');
  assert.equal(site.wechat.app_secret, '••••cdef', 'the secret kept');
  await form.scrollIntoViewIfNeeded();
  await c.screenshot({ path: path.join(SHOTS, 'wechat-settings-1280x800.png') });
  await ctx.close();
});
