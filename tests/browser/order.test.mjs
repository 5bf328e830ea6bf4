// One conversation, one order: the seq order, on every screen. A visitor
// writes three messages while offline and an agent answers meanwhile; on
// reconnect the relay replays the agent's answer before it acks the three,
// and the widget used to append them in arrival order. The widget (wasm and
// the ES3 fallback), the agents' console and a `sync` from seq 0 must all
// show the same sequence.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, hostServer, page, agent, browser, until, widgetTexts, sleep, signedInConsole } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let relay, host, chrome;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password]);
  host = await hostServer({
    '/': () => page(relay, { title: 'Shop' }),
    '/old': () => page(relay, { title: 'Shop', attrs: 'data-fallback="1"' }),
  });
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

/** The two visitor clients: where their launcher, reply box and message
 *  rows are. The fallback runs as on a browser without WebSocket or wasm. */
const CLIENTS = [
  {
    kind: 'wasm widget', url: '/', strip: null,
    launcher: 'kefu-widget .b', box: 'kefu-widget textarea', texts: widgetTexts,
  },
  {
    kind: 'fallback client', url: '/old', strip: () => { delete window.WebSocket; delete window.WebAssembly; },
    launcher: '#kefu-fb .kefu-b', box: '#kefu-fb textarea',
    texts: (p) => p.evaluate(() => Array.from(document.querySelectorAll('#kefu-fb .kefu-m')).map((m) => {
      const c = m.cloneNode(true);
      Array.from(c.querySelectorAll('u,i,s,time')).forEach((x) => x.remove());
      return { text: c.textContent, state: (m.querySelector('i') || {}).textContent || '', mine: /kefu-me/.test(m.className) };
    })),
  },
];

for (const { kind, url, strip, launcher, box, texts } of CLIENTS) {
  test(`offline order (${kind}): the widget, the console and a replay agree`, async () => {
    const a = await agent(relay);
    const ctx = await chrome.newContext();
    // Offline means no answers either: a long poll already in flight when
    // the network drops must not deliver (ctx.setOffline alone lets it).
    let cut = false;
    await ctx.route(/\/v1\/(poll|send)/, async (route) => {
      if (cut) return route.abort('internetdisconnected');
      let resp;
      try { resp = await route.fetch(); } catch { return route.abort('failed'); }
      if (cut) return route.abort('internetdisconnected');
      return route.fulfill({ response: resp });
    });
    const p = await ctx.newPage();
    if (strip) await p.addInitScript(strip);
    const say = async (text) => { await p.fill(box, text); await p.press(box, 'Enter'); };
    await p.goto(host.url + url);
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
    await p.click(launcher);
    const tag = kind.split(' ')[0];
    await say(`${tag}: hello`);
    const first = await a.waitFor((f) => f.type === 'event' && f.text === `${tag}: hello`);
    await until(async () => (await texts(p)).some((m) => m.state === 'Sent' || m.state === 'Read'), 10000, 'first sent');

    cut = true;
    await ctx.setOffline(true);
    await until(() => p.evaluate(() => !navigator.onLine), 5000, 'offline');
    const cid = `${tag}-answer`;
    a.send({ type: 'send', conv: first.conv, cid, text: `${tag}: an answer while you were away` });
    await a.waitFor((f) => f.type === 'ack' && f.cid === cid);
    for (const n of ['one', 'two', 'three']) await say(`${tag}: offline ${n}`);
    await sleep(300);
    const unseen = (await texts(p)).map((m) => m.text);
    assert.ok(!unseen.includes(`${tag}: an answer while you were away`), 'the answer waits for the reconnect: ' + JSON.stringify(unseen));
    cut = false;
    await ctx.setOffline(false);
    await a.waitFor((f) => f.type === 'event' && f.text === `${tag}: offline three`, 30000);

    const expected = [`${tag}: hello`, `${tag}: an answer while you were away`,
      `${tag}: offline one`, `${tag}: offline two`, `${tag}: offline three`];
    // The widget, once everything is acked.
    const shown = await until(async () => {
      const rows = (await texts(p)).filter((m) => m.text.startsWith(tag + ':'));
      return rows.length === 5 && rows.every((m) => !m.mine || m.state !== 'Sending…') && rows;
    }, 20000, 'widget settled');
    assert.deepEqual(shown.map((m) => m.text), expected, 'widget order');
    // After a reload, from the widget's stored log.
    await p.reload();
    await until(() => p.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot after reload');
    await p.click(launcher);
    await until(async () => (await texts(p)).filter((m) => m.text.startsWith(tag + ':')).length === 5, 10000, 'log restored');
    assert.deepEqual((await texts(p)).filter((m) => m.text.startsWith(tag + ':')).map((m) => m.text), expected, 'widget order after reload');

    // A replay from seq 0, as any client catching up gets it.
    const before = a.messages(first.conv).length;
    a.send({ type: 'sync', conv: first.conv, after: 0 });
    await a.waitFor((f) => f.type === 'synced' && f.conv === first.conv);
    const replay = a.messages(first.conv).slice(before);
    assert.deepEqual(replay.map((m) => m.text), expected, 'replay order');
    const seqs = replay.map((m) => m.seq);
    assert.deepEqual([...seqs].sort((x, y) => x - y), seqs, 'replayed in seq order');

    // The agents' console.
    const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
    const c = await signedInConsole(relay, octx, OWNER);
    await c.locator(`.conv[data-conv="${first.conv}"]`).click();
    const inConsole = await until(async () => {
      const texts = await c.locator('.chat .messages .msg .bubble').allTextContents();
      return texts.length === 5 && texts;
    }, 10000, 'console shows five');
    assert.deepEqual(inConsole.map((t) => t.trim()), expected, 'console order');
    await octx.close();
    await ctx.close();
    a.close();
  });
}
