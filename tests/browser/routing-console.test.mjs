// Routing in the console, against a relay that serves it: the owner sets
// labels, a team, auto-assignment and a capacity in Settings; a private
// note shows yellow to agents and never on the visitor's page; a label
// goes on from the chat header, shows in the list and filters it; the
// queue tab lists waiting conversations oldest first with their places;
// a team is a transfer target; and on a phone (375×812) all of it fits.
// The tests run in order: each builds on what the one before set up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startRelay, hostServer, page, agent, apiCall, browser, until, widgetTexts, sleep, SHOTS,
  signedInConsole, wsVisitor, PHONE, assertFits,
} from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const DESKTOP = { width: 1280, height: 800 };
const NOTE = 'VIP customer: offer the loyalty discount, do not mention it to them';
let relay, host, chrome, token, me, routing;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password, '--sends-per-ip', '100000', '--page-views-per-ip', '100000']);
  host = await hostServer({ '/': () => page(relay, { title: 'Routing shop', body: '<h1>Routing shop</h1>' }) });
  chrome = await browser();
  const r = await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) });
  token = (await r.json()).token;
  me = (await apiCall(relay, 'GET', '/v1/api/me', token)).body;
  // A relay from before routing answers sites without it: nothing to test.
  const site = await apiCall(relay, 'GET', '/v1/api/sites/demo', token);
  routing = site.status === 200 && site.body && typeof site.body.routing === 'object';
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

const skipUnlessRouting = (t) => {
  if (!routing) t.skip('this relay serves no routing (GET /v1/api/sites/{site} has no "routing")');
  return !routing;
};

const notice = (c) => c.locator('.settings .notice').textContent();

async function say(p, text) {
  await p.locator('kefu-widget textarea').fill(text);
  await p.locator('kefu-widget textarea').press('Enter');
}

async function write(c, text) {
  await c.locator('.composer textarea').fill(text);
  await c.locator('.composer textarea').press('Enter');
}

const bg = (loc) => loc.evaluate((e) => getComputedStyle(e).backgroundColor);

/** The conversation ids of the inbox list, in order. */
const listed = (c) => c.locator('.conv-list .conv').evaluateAll((rows) => rows.map((r) => r.dataset.conv));

test('settings: the owner adds labels and a team, turns on auto-assignment and sets a capacity', async (t) => {
  if (skipUnlessRouting(t)) return;
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await signedInConsole(relay, ctx, OWNER);
  await c.click('[data-nav=settings]');
  const section = c.locator('.routing');
  await section.locator('[data-action=save-routing]').waitFor({ timeout: 10000 });

  for (const [name, color] of [['VIP', '#d6336c'], ['Billing', '#ffd43b']]) {
    await section.getByLabel('New label name').fill(name);
    await section.getByLabel('Label colour').fill(color);
    await section.getByRole('button', { name: 'Add label' }).click();
    await section.locator(`.label-list .chip[data-label="${name}"]`).waitFor();
  }
  // The same name twice is refused before anything is sent.
  await section.getByLabel('New label name').fill('VIP');
  await section.getByRole('button', { name: 'Add label' }).click();
  await until(async () => (await notice(c)) === 'Not added: label "VIP" is listed twice', 5000, 'duplicate refused');
  await section.getByLabel('New label name').fill('');

  await section.getByLabel('New team name').fill('Sales');
  await section.getByRole('button', { name: 'Add team' }).click();
  const team = section.locator('.team[data-team=sales]');
  await team.waitFor();
  await team.locator(`input[data-member="${me.id}"]`).check();
  await section.locator('select[data-setting=routing_mode]').selectOption('auto');
  await section.locator('[data-action=save-routing]').click();
  await until(async () => (await notice(c)) === 'Routing saved.', 10000, 'routing saved');

  const site = (await apiCall(relay, 'GET', '/v1/api/sites/demo', token)).body;
  assert.equal(site.routing.mode, 'auto');
  assert.deepEqual(site.routing.labels, [{ name: 'VIP', color: '#d6336c' }, { name: 'Billing', color: '#ffd43b' }]);
  assert.deepEqual(site.routing.teams, [{ id: 'sales', name: 'Sales', members: [me.id] }]);

  // Capacity: refused outside 1–50 with the shared reason, saved inside.
  const cap = section.locator(`input[data-capacity="${me.id}"]`);
  await cap.fill('0');
  await cap.press('Tab');
  await until(async () => (await notice(c)) === 'Not saved: capacity must be 1–50 open conversations', 5000, 'capacity refused');
  await cap.fill('1');
  await cap.press('Tab');
  await until(async () => /now takes up to 1 open conversation\.$/.test(await notice(c)), 10000, 'capacity saved');
  const agents = (await apiCall(relay, 'GET', '/v1/api/agents', token)).body;
  assert.equal(agents.find((a) => a.id === me.id).capacity, 1);

  await section.scrollIntoViewIfNeeded();
  await c.screenshot({ path: path.join(SHOTS, 'routing-settings-1280x800.png') });
  await ctx.close();
});

test('inbox: auto-assignment, a private note, labels and the label filter, the queue, a team transfer', async (t) => {
  if (skipUnlessRouting(t)) return;
  const a = await agent(relay);
  const ctx = await chrome.newContext({ viewport: DESKTOP });
  const c = await signedInConsole(relay, ctx, OWNER);
  const vctx = await chrome.newContext({ viewport: DESKTOP });
  const v = await vctx.newPage();
  await v.goto(host.url + '/');
  await until(() => v.evaluate(() => window.kefu && window.kefu.mode), 15000, 'widget boot');
  await v.locator('kefu-widget .b').click();
  await say(v, 'Hello, my invoice looks wrong');
  const first = await a.waitFor((f) => f.type === 'event' && f.kind === 'message' && f.text === 'Hello, my invoice looks wrong');
  const conv = first.conv;

  // Auto-assignment gave it to the only agent, with the reason said.
  await c.click('[data-filter="All open"]');
  await c.locator(`.conv[data-conv="${conv}"]`).click();
  const chat = c.locator(`.chat[data-conv="${conv}"]`);
  await chat.waitFor();
  await until(async () => (await chat.locator('header .assignee').textContent()) === 'Assigned to ' + me.name, 10000, 'assigned to me');
  await chat.locator('.sys.assigned', { hasText: /^Assigned to .* by auto-assignment/ }).waitFor({ timeout: 10000 });

  // A note: the box turns yellow, the note shows yellow with its tag.
  await chat.locator('[data-compose=note]').click();
  assert.equal(await bg(chat.locator('.composer.note textarea')), 'rgb(255, 243, 191)', 'the note box is yellow');
  assert.equal(await chat.locator('.composer .attach').count(), 0, 'no files from the note box');
  await write(c, NOTE);
  const note = chat.locator('.msg.note:not(.pending)', { hasText: NOTE });
  await note.waitFor({ timeout: 10000 });
  assert.equal(await note.locator('.note-tag').textContent(), 'Private note');
  assert.equal(await note.locator('.who').textContent(), me.name);
  assert.match(await note.locator('.when').textContent(), /^\d{2}:\d{2}$/);
  assert.equal(await bg(note.locator('.bubble')), 'rgb(255, 243, 191)', 'the note is yellow');
  await a.waitFor((f) => f.type === 'event' && f.kind === 'note' && f.text === NOTE && f.conv === conv);

  // A reply after it reaches the visitor; the note never does.
  await chat.locator('[data-compose=reply]').click();
  await write(c, 'Sorry about that, let me check your invoice.');
  await until(async () => (await widgetTexts(v)).some((m) => m.text === 'Sorry about that, let me check your invoice.'), 10000, 'reply in the widget');
  await sleep(500);
  assert.ok(!(await widgetTexts(v)).some((m) => m.text.includes('loyalty discount')), 'no note among the widget messages');
  const visitorText = await v.evaluate(() => {
    const w = document.querySelector('kefu-widget');
    return document.body.innerText + (w && w.shadowRoot ? w.shadowRoot.textContent : '');
  });
  assert.ok(!visitorText.includes('loyalty discount'), 'the note is nowhere on the visitor\'s page');
  await c.screenshot({ path: path.join(SHOTS, 'routing-note-1280x800.png') });

  // A label from the header's menu: a chip in the site's colour, in the
  // list too, and a line in the conversation.
  await chat.locator('select[data-action=add-label]').selectOption('VIP');
  const chip = chat.locator('header .chip[data-label=VIP]');
  await chip.waitFor({ timeout: 10000 });
  assert.equal(await bg(chip), 'rgb(214, 51, 108)');
  await c.locator(`.conv[data-conv="${conv}"] .chip[data-label=VIP]`).waitFor({ timeout: 10000 });
  await chat.locator('.sys.labeled', { hasText: 'added label VIP' }).waitFor({ timeout: 10000 });
  const options = await chat.locator('select[data-action=add-label] option').allTextContents();
  assert.deepEqual(options, ['Add label', 'Billing'], 'only labels it does not carry are offered');
  const byLabel = (await apiCall(relay, 'GET', '/v1/api/sites/demo/conversations?status=open&label=VIP', token)).body;
  assert.deepEqual(byLabel.convs.map((x) => x.id), [conv]);
  // × takes it off; the menu puts it back.
  await chat.getByRole('button', { name: 'Remove label VIP' }).click();
  await until(async () => (await chip.count()) === 0, 10000, 'chip removed');
  await chat.locator('.sys.labeled', { hasText: 'removed label VIP' }).waitFor({ timeout: 10000 });
  await chat.locator('select[data-action=add-label]').selectOption('VIP');
  await chip.waitFor({ timeout: 10000 });

  // Two more visitors while the only agent is at capacity: they queue,
  // oldest first, each with its place and wait.
  const q1 = await wsVisitor(relay, 'queue-visitor-1');
  const w1 = await q1.send('First in line');
  await sleep(50);
  const q2 = await wsVisitor(relay, 'queue-visitor-2');
  const w2 = await q2.send('Second in line');
  await c.click('[data-filter=Queue]');
  await until(async () => (await c.locator('[data-filter=Queue]').textContent()).startsWith('Queue (2)'), 10000, 'Queue (2)');
  await until(async () => JSON.stringify(await listed(c)) === JSON.stringify([w1.conv, w2.conv]), 10000, 'the queue in order');
  assert.match(await c.locator(`.conv[data-conv="${w1.conv}"] .queued`).textContent(), /^#1 · waiting /);
  assert.match(await c.locator(`.conv[data-conv="${w2.conv}"] .queued`).textContent(), /^#2 · waiting /);
  await c.screenshot({ path: path.join(SHOTS, 'routing-queue-1280x800.png') });

  // The label filter narrows any tab: VIP leaves only the first one.
  await c.click('[data-filter="All open"]');
  await until(async () => (await listed(c)).length === 3, 10000, 'three open');
  await c.locator('select.label-filter').selectOption('VIP');
  await until(async () => JSON.stringify(await listed(c)) === JSON.stringify([conv]), 5000, 'only the VIP one');
  await c.screenshot({ path: path.join(SHOTS, 'routing-labels-1280x800.png') });
  await c.locator('select.label-filter').selectOption('');
  await until(async () => (await listed(c)).length === 3, 5000, 'all three again');

  // A queued conversation opens and is answered: it leaves the queue.
  await c.click('[data-filter=Queue]');
  await c.locator(`.conv[data-conv="${w1.conv}"]`).click();
  await c.locator(`.chat[data-conv="${w1.conv}"]`).waitFor();
  await write(c, 'Thanks for waiting, I am here now.');
  await until(() => q1.received.includes('Thanks for waiting, I am here now.'), 10000, 'the answer reached the first in line');
  await until(async () => (await c.locator('[data-filter=Queue]').textContent()).startsWith('Queue (1)'), 10000, 'Queue (1)');
  await until(async () => JSON.stringify(await listed(c)) === JSON.stringify([w2.conv]), 10000, 'the second moved up');
  assert.match(await c.locator(`.conv[data-conv="${w2.conv}"] .queued`).textContent(), /^#1 · /);

  // Teams are transfer targets beside agents.
  await c.click('[data-filter="All open"]');
  await c.locator(`.conv[data-conv="${conv}"]`).click();
  await chat.waitFor();
  await chat.locator('select[data-action=transfer]').selectOption({ label: 'Team: Sales' });
  await until(async () => (await chat.locator('header .conv-team').count()) === 1
    && (await chat.locator('header .conv-team').textContent()) === 'Team Sales', 10000, 'in team Sales');
  await chat.locator('.sys.assigned', { hasText: /^Transferred to .*team Sales/ }).waitFor({ timeout: 10000 });
  q1.close();
  q2.close();
  a.close();
  await Promise.all([ctx.close(), vctx.close()]);
});

test('routing on a phone (375×812): the queue, a labelled conversation with the note box, and the routing settings fit', async (t) => {
  if (skipUnlessRouting(t)) return;
  const ctx = await chrome.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const c = await signedInConsole(relay, ctx, OWNER);
  await c.click('[data-filter=Queue]');
  await c.locator('.conv-list .conv .queued').first().waitFor({ timeout: 10000 });
  await assertFits(c, 'queue');
  await c.screenshot({ path: path.join(SHOTS, 'routing-phone-queue-375x812.png') });

  await c.click('[data-filter="All open"]');
  await c.locator('.conv-list .conv .chip[data-label=VIP]').first().click();
  await c.locator('.chat header .chip[data-label=VIP]').waitFor();
  await c.locator('[data-compose=note]').click();
  await c.locator('.composer.note').waitFor();
  await c.locator('.msg.note').first().waitFor({ timeout: 10000 });
  await assertFits(c, 'conversation with labels and the note box');
  await c.screenshot({ path: path.join(SHOTS, 'routing-phone-chat-375x812.png') });

  await c.click('[data-nav=settings]');
  await c.locator('.routing [data-action=save-routing]').waitFor({ timeout: 10000 });
  await sleep(300);
  await assertFits(c, 'settings with routing');
  await c.locator('.routing').scrollIntoViewIfNeeded();
  await c.screenshot({ path: path.join(SHOTS, 'routing-phone-settings-375x812.png') });
  await ctx.close();
});
