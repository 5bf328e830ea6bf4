// The console keeps the agent's eyes on what is new: the conversation opens
// at the newest message and follows new ones, a pill counts what arrived
// while scrolled up, "Load earlier" keeps the reading position, messages
// are grouped per sender with readable times, and on a phone (375×812) the
// list, the conversation and the profile are separate views that fit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, agent, browser, until, sleep, SHOTS, signedInConsole, wsVisitor, PHONE, assertFits, apiCall, TOKEN } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let relay, chrome;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password, '--sends-per-ip', '100000', '--sends-per-visitor', '100000']);
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await relay?.close();
});

/** The scroll container of the open conversation: its geometry and where
 *  its last message lies. */
const scrollState = (c) => c.evaluate(() => {
  const el = document.querySelector('.chat .messages');
  const box = el.getBoundingClientRect();
  const msgs = el.querySelectorAll('.msg');
  const last = msgs[msgs.length - 1].getBoundingClientRect();
  return {
    top: el.scrollTop,
    max: el.scrollHeight - el.clientHeight,
    fromBottom: el.scrollHeight - el.scrollTop - el.clientHeight,
    lastInView: last.top >= box.top - 1 && last.bottom <= box.bottom + 1,
    count: msgs.length,
  };
});

const msgCount = (c) => c.locator('.chat .messages .msg').count();

test('console: a conversation opens at the newest message, follows new ones, and counts them while scrolled up', async () => {
  // 40 messages in four runs: visitor, agent, visitor, agent.
  const vis = await wsVisitor(relay, 'scroll-visitor');
  const first = await vis.send('visitor 01');
  const a = await agent(relay);
  let k = 0;
  const agentSays = async (text) => {
    const cid = 'scroll-agent-' + (++k);
    a.send({ type: 'send', conv: first.conv, cid, text });
    await a.waitFor((f) => f.type === 'ack' && f.cid === cid);
  };
  for (let i = 2; i <= 10; i++) await vis.send('visitor ' + String(i).padStart(2, '0'));
  // Taken before the agent writes: a reply to an unassigned conversation
  // would assign it, and that line would split the agent's first run.
  const me = await apiCall(relay, 'GET', '/v1/api/me', TOKEN);
  await apiCall(relay, 'POST', `/v1/api/conversations/${first.conv}/assign`, TOKEN, { agent: (me.body || me).id });
  for (let i = 11; i <= 20; i++) await agentSays('agent ' + i);
  for (let i = 21; i <= 30; i++) await vis.send('visitor ' + i);
  for (let i = 31; i <= 40; i++) await agentSays('agent ' + i);
  a.close();

  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, octx, OWNER);
  await c.locator(`.conv[data-conv="${first.conv}"]`).click();
  await until(async () => (await msgCount(c)) === 40, 10000, '40 messages');
  let s = await until(async () => { const x = await scrollState(c); return x.lastInView && x; }, 5000, 'newest message in view');
  assert.ok(s.max > 300, `the conversation is taller than its pane (${s.max} px to scroll)`);
  assert.ok(s.fromBottom <= 8, `opened at the bottom (${s.fromBottom} px from it)`);

  // Grouped: one name per run of one sender, four runs.
  assert.equal(await c.locator('.chat .msg.first').count(), 4, 'four runs');
  assert.equal(await c.locator('.chat .msg .meta .who').count(), 4, 'the name once per run');
  assert.equal(await c.locator('.chat .msg.cont .meta').count(), 0, 'no name inside a run');
  // Times: today reads as HH:MM; the full local timestamp is the title.
  const head = c.locator('.chat .msg.first').last();
  const when = await head.locator('.when').textContent();
  assert.match(when, /^\d{2}:\d{2}$/);
  const title = await head.getAttribute('title');
  assert.match(title, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  assert.equal(title.slice(11, 16), when, 'the title is the full form of the time shown');
  const skew = await c.evaluate((t) => Math.abs(Date.now() - new Date(t.replace(' ', 'T')).getTime()), title);
  assert.ok(skew < 5 * 60_000, `the title is the message's local time (${skew} ms from now)`);
  // Inside a run the time is still there, on hover.
  assert.match(await c.locator('.chat .msg.cont').last().getAttribute('title'), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  await c.screenshot({ path: path.join(SHOTS, 'attention-conversation-1280x800.png') });

  // 12 new visitor messages while at the bottom: it follows them.
  for (let i = 1; i <= 12; i++) await vis.send('live ' + i);
  await until(async () => (await msgCount(c)) === 52, 10000, '52 messages');
  await sleep(300);
  s = await scrollState(c);
  assert.ok(s.fromBottom <= 8 && s.lastInView, `still at the bottom (${JSON.stringify(s)})`);
  assert.equal(await c.locator('.new-pill').count(), 0, 'no pill at the bottom');

  // Scrolled up: new messages stay below, and the pill counts them.
  await c.locator('.chat .messages').evaluate((el) => { el.scrollTop = 0; });
  await sleep(200);
  for (let i = 1; i <= 5; i++) await vis.send('while away ' + i);
  const pill = c.locator('.new-pill');
  await pill.waitFor({ timeout: 10000 });
  await until(async () => (await pill.textContent()) === '5 new messages ↓', 5000, 'pill says 5');
  s = await scrollState(c);
  assert.equal(s.top, 0, 'the reading position is kept');
  assert.equal(s.lastInView, false);
  await c.screenshot({ path: path.join(SHOTS, 'attention-pill-1280x800.png') });
  await pill.click();
  s = await until(async () => { const x = await scrollState(c); return x.fromBottom <= 8 && x; }, 5000, 'pill scrolls to the bottom');
  assert.ok(s.lastInView);
  await until(async () => (await pill.count()) === 0, 5000, 'pill gone');

  // Scrolling down by hand to the bottom hides it too.
  await c.locator('.chat .messages').evaluate((el) => { el.scrollTop = 0; });
  await sleep(200);
  await vis.send('one more');
  await until(async () => (await pill.count()) === 1 && (await pill.textContent()) === '1 new message ↓', 10000, 'pill says 1');
  await c.locator('.chat .messages').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await until(async () => (await pill.count()) === 0, 5000, 'pill gone at the bottom');

  // The agent's own reply while scrolled up brings the bottom into view.
  await c.locator('.chat .messages').evaluate((el) => { el.scrollTop = 0; });
  await sleep(200);
  await c.locator('.composer textarea').fill('my own reply');
  await c.locator('.composer textarea').press('Enter');
  await until(async () => { const x = await scrollState(c); return x.fromBottom <= 8 && x.lastInView; }, 5000, 'own reply in view');
  vis.close();
  await octx.close();
});

test('console: "Load earlier" keeps the message that was at the top in place', async () => {
  const vis = await wsVisitor(relay, 'earlier-visitor');
  const first = await vis.send('earlier 01');
  for (let i = 2; i <= 70; i++) await vis.send('earlier ' + String(i).padStart(2, '0'));
  const octx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, octx, OWNER);
  await c.locator(`.conv[data-conv="${first.conv}"]`).click();
  await until(async () => (await msgCount(c)) === 50, 10000, 'first page of 50');
  await until(async () => (await scrollState(c)).lastInView, 5000, 'opened at the newest');
  await c.locator('.chat .messages').evaluate((el) => { el.scrollTop = 0; });
  await sleep(200);
  const topOf = (seq) => c.evaluate((q) => {
    const el = document.querySelector('.chat .messages');
    return document.querySelector(`.chat .msg[data-seq="${q}"]`).getBoundingClientRect().top - el.getBoundingClientRect().top;
  }, seq);
  const seq = await c.locator('.chat .msg[data-seq]').first().getAttribute('data-seq');
  const before = await topOf(seq);
  await c.getByRole('button', { name: 'Load earlier messages' }).click();
  await until(async () => (await msgCount(c)) === 70, 10000, 'all 70');
  await sleep(200);
  const after = await topOf(seq);
  assert.ok(Math.abs(after - before) <= 3, `the top message stayed in place (${before} → ${after} px)`);
  const top = await c.locator('.chat .messages').evaluate((el) => el.scrollTop);
  assert.ok(top > 100, `older messages are above, scrolled past (${top} px)`);
  vis.close();
  await octx.close();
});

test('console on a phone (375×812): list, conversation and profile are separate views that fit, and a reply goes out', async () => {
  const vis = await wsVisitor(relay, 'phone-visitor');
  const first = await vis.send('Hello from a phone test — is anyone there?');
  const pctx = await chrome.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const c = await signedInConsole(relay, pctx, OWNER);

  // The list, with the top bar's controls reachable.
  const row = c.locator(`.conv[data-conv="${first.conv}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.equal(await c.locator('.chat').isVisible(), false, 'the list alone');
  for (const name of [/^(Online|Away)$/, 'Sign out']) assert.ok(await c.getByRole('button', { name }).isVisible(), `${name} shown`);
  await assertFits(c, 'inbox list');
  await c.screenshot({ path: path.join(SHOTS, 'attention-phone-inbox-375x812.png') });

  // A conversation: the list is gone, "← Back" returns to it.
  await row.click();
  await c.locator('.chat[data-conv]').waitFor();
  assert.equal(await c.locator('.convs').isVisible(), false, 'the conversation alone');
  await until(async () => (await msgCount(c)) === 1, 10000, 'the message');
  await c.locator('.composer textarea').fill('Yes, I am here. How can I help?');
  await c.locator('.composer textarea').press('Enter');
  await until(() => vis.received.includes('Yes, I am here. How can I help?'), 10000, 'the reply reached the visitor');
  await until(async () => (await c.locator('.chat .msg.agent:not(.pending)').count()) === 1, 10000, 'reply acked');
  await assertFits(c, 'conversation');
  await c.screenshot({ path: path.join(SHOTS, 'attention-phone-chat-375x812.png') });

  // The profile, and back.
  await c.getByRole('button', { name: 'Visitor info' }).click();
  await c.locator('.profile').waitFor();
  assert.equal(await c.locator('.chat').isVisible(), false, 'the profile alone');
  await assertFits(c, 'profile');
  await c.screenshot({ path: path.join(SHOTS, 'attention-phone-profile-375x812.png') });
  await c.locator('.profile').getByRole('button', { name: '← Back' }).click();
  await c.locator('.chat').waitFor();
  await c.locator('.chat').getByRole('button', { name: '← Back' }).click();
  await c.locator('.convs').waitFor();
  assert.equal(await c.locator('.chat').isVisible(), false, 'back at the list');

  // The other screens fit too.
  await c.click('[data-nav=visitors]');
  await c.locator('.visitors').waitFor();
  await c.locator('.vrow').first().waitFor();
  await assertFits(c, 'visitors');
  await c.screenshot({ path: path.join(SHOTS, 'attention-phone-visitors-375x812.png') });
  await c.click('[data-nav=settings]');
  await c.locator('.settings').waitFor();
  await sleep(300);
  await assertFits(c, 'settings');
  await c.screenshot({ path: path.join(SHOTS, 'attention-phone-settings-375x812.png') });
  vis.close();
  await pctx.close();
});
