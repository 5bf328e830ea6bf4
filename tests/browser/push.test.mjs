// Web Push end to end without the internet, relay half: a real relay
// pushes to the stand-in push service of push-service.mjs, which checks
// the VAPID JWT against the relay's public key and decrypts each aes128gcm
// body with the subscription key pair it made — so the wire format is
// proven, not assumed. Covers who is pushed when (no visible console
// connection), retries after 500 delivering once, 410 removing the
// device, bad subscriptions refused, and the queue surviving kill -9.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, agent, until, sleep, wsVisitor, TOKEN, apiCall } from './lib.mjs';
import { startPushService } from './push-service.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const BOB = { email: 'bob@example.com', password: 'bob-password-12' };
let relay, svc, owner, ownerId, sub, visitor, conv;

const api = (method, path, token, body) => apiCall(relay, method, path, token, body);

async function login(who) {
  const r = await fetch(relay.base + '/v1/api/login', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

const devices = async () => (await api('GET', '/v1/api/push/subscriptions', owner)).body.map((d) => d.endpoint);
/** Delivered pushes whose body is `text`. */
const deliveredWith = (text) => svc.received.filter((r) => r.payload && r.payload.body === text);
const attemptsWith = (text) => svc.attempts.filter((r) => r.payload && r.payload.body === text);

/** Sends a frame and waits until the relay has handled it (its pong). */
async function settled(a, frame) {
  const pongs = a.frames.filter((f) => f.type === 'pong').length;
  a.send(frame);
  a.send({ type: 'ping' });
  await until(() => a.frames.filter((f) => f.type === 'pong').length > pongs, 5000, 'pong');
}

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password, '--vapid-subject', 'mailto:ops@kefu.test',
    '--sends-per-ip', '100000', '--sends-per-visitor', '100000']);
  svc = await startPushService();
  svc.vapidKey = (await api('GET', '/v1/api/push/key', TOKEN)).body.public_key;
  owner = await login(OWNER);
  ownerId = (await api('GET', '/v1/api/me', owner)).body.id;
  sub = svc.subscribe();
  const r = await api('POST', '/v1/api/push/subscriptions', owner, sub);
  assert.equal(r.status, 201);
  assert.equal(r.body.endpoint, sub.endpoint);
  visitor = await wsVisitor(relay, 'push-visitor-1');
});

after(async () => {
  visitor?.close();
  await svc?.close();
  await relay?.close();
});

test('the VAPID key is a P-256 point, given to signed-in agents', async () => {
  const key = Buffer.from(svc.vapidKey, 'base64url');
  assert.equal(key.length, 65);
  assert.equal(key[0], 4);
  assert.equal((await api('GET', '/v1/api/push/key', owner)).body.public_key, svc.vapidKey);
  assert.equal((await fetch(relay.base + '/v1/api/push/key')).status, 401);
});

test('no agent connection: a new conversation and then a message are pushed, encrypted and signed', async () => {
  const ack = await visitor.send('Hello, is anyone there?');
  conv = ack.conv;
  const first = await svc.waitFor((r) => r.payload?.conv === conv);
  assert.deepEqual(Object.keys(first.payload).sort(), ['body', 'conv', 'kind', 'site', 'title']);
  assert.equal(first.payload.kind, 'new_conversation');
  assert.equal(first.payload.site, 'demo');
  assert.equal(first.payload.body, 'Hello, is anyone there?');
  assert.ok(first.payload.title.length > 0, 'a title (the visitor)');
  assert.equal(first.endpoint, sub.endpoint);
  assert.equal(first.headers.urgency, 'high');
  assert.equal(first.headers['content-encoding'], 'aes128gcm');
  assert.ok(Number(first.headers.ttl) > 0);
  assert.equal(first.headers.topic, conv);
  const jwt = /t=([^,\s]+)/.exec(first.headers.authorization)[1];
  assert.equal(JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).sub, 'mailto:ops@kefu.test');

  await visitor.send('I have a question about my order');
  const second = await svc.waitFor((r) => r.payload?.body === 'I have a question about my order');
  assert.equal(second.payload.kind, 'message');
  assert.equal(second.payload.conv, conv);
  assert.deepEqual(svc.rejected, []);
});

test('a visible console connection holds pushes back; hidden ones do not', async () => {
  const seen = await agent(relay, owner);
  const before = svc.attempts.length;
  await visitor.send('while you look');
  await seen.waitFor((f) => f.type === 'event' && f.text === 'while you look');
  await sleep(1000);
  assert.equal(svc.attempts.length, before, 'no push while a tab is visible');

  const other = await agent(relay, owner); // a second tab, also visible
  await settled(seen, { type: 'visible', visible: false });
  await visitor.send('one tab still visible');
  await other.waitFor((f) => f.type === 'event' && f.text === 'one tab still visible');
  await sleep(1000);
  assert.equal(svc.attempts.length, before, 'one visible tab is enough');

  await settled(other, { type: 'visible', visible: false });
  await visitor.send('both hidden');
  const hidden = await svc.waitFor((r) => r.payload?.body === 'both hidden');
  assert.equal(hidden.payload.kind, 'message');

  await settled(other, { type: 'visible', visible: true });
  await visitor.send('visible again');
  await other.waitFor((f) => f.type === 'event' && f.text === 'visible again');
  await sleep(1000);
  assert.equal(attemptsWith('visible again').length, 0);
  seen.close();
  other.close();
  await sleep(500); // the relay sees both sockets close
  await visitor.send('after closing');
  await svc.waitFor((r) => r.payload?.body === 'after closing');
});

test('a transfer to the agent is pushed as a transfer', async () => {
  const b = await api('POST', '/v1/api/agents', owner, { name: 'Bob', email: BOB.email, password: BOB.password, sites: ['demo'], role: 'agent' });
  assert.equal(b.status, 201);
  const bob = await login(BOB);
  // Bob takes the conversation (no push: it is to himself), then hands it to the owner.
  assert.equal((await api('POST', `/v1/api/conversations/${conv}/assign`, bob, { agent: b.body.id })).status, 200);
  assert.equal((await api('POST', `/v1/api/conversations/${conv}/transfer`, bob, { agent: ownerId })).status, 200);
  const t = await svc.waitFor((r) => r.payload?.kind === 'transfer');
  assert.equal(t.payload.conv, conv);
  assert.match(t.payload.body, /Bob/);
  assert.equal(svc.received.filter((r) => r.payload?.kind === 'transfer').length, 1);
});

test('a 500 is retried and the push delivered once', async () => {
  svc.answerNext(500);
  await visitor.send('retry me');
  const got = await svc.waitFor((r) => r.payload?.body === 'retry me');
  assert.deepEqual(attemptsWith('retry me').map((a) => a.status), [500, 201]);
  assert.ok(got.at - attemptsWith('retry me')[0].at >= 1500, 'after the backoff');
  await sleep(3000);
  assert.equal(deliveredWith('retry me').length, 1, 'not repeated after success');
});

test('a 429 with Retry-After is honoured, then delivered', async () => {
  svc.answerNext({ status: 429, retryAfter: 3 });
  await visitor.send('slow down');
  await svc.waitFor((r) => r.payload?.body === 'slow down', 15000);
  const [first, second] = attemptsWith('slow down');
  assert.deepEqual([first.status, second.status], [429, 201]);
  assert.ok(second.at - first.at >= 2900, 'waited the Retry-After');
});

test('a push service that hangs holds up only its own push', async () => {
  const second = svc.subscribe();
  assert.equal((await api('POST', '/v1/api/push/subscriptions', owner, second)).status, 201);
  svc.answerNext({ status: 201, delayMs: 6000 });
  await visitor.send('a slow one');
  await until(() => attemptsWith('a slow one').length === 2, 5000, 'both devices tried');
  const t0 = Date.now();
  await visitor.send('a fast one');
  await until(() => deliveredWith('a fast one').length === 2, 4000, 'both devices pushed meanwhile');
  assert.ok(Date.now() - t0 < 4000);
  await until(() => deliveredWith('a slow one').length === 2, 10000, 'the slow one lands');
  const slow = deliveredWith('a slow one').find((r) => r.answeredAt - r.at >= 5900);
  assert.ok(slow, 'one answer was held 6 s');
  assert.ok(deliveredWith('a fast one').every((r) => r.answeredAt < slow.answeredAt), 'the fast ones landed first');
  assert.equal((await api('DELETE', '/v1/api/push/subscriptions', owner, { endpoint: second.endpoint })).status, 204);
});

test('the queue survives kill -9 of the relay', async () => {
  svc.answerNext(500, 500, 500, 500, 500, 500, 500, 500);
  await visitor.send('survive the crash');
  await until(() => attemptsWith('survive the crash').length > 0, 10000, 'a first attempt');
  const p = relay.proc;
  relay.proc = null;
  await new Promise((r) => { p.once('exit', r); p.kill('SIGKILL'); });
  svc.clearPlan(); // the push service is well again
  await relay.start();
  const got = await svc.waitFor((r) => r.payload?.body === 'survive the crash', 20000);
  assert.equal(got.payload.conv, conv);
  await sleep(2500);
  assert.equal(deliveredWith('survive the crash').length, 1);
  // The old visitor's socket died with the relay; a new visitor goes on.
  visitor.close();
  visitor = await wsVisitor(relay, 'push-visitor-2');
});

test('a 410 removes the device, and nothing is pushed to it after', async () => {
  svc.answerNext(410);
  await visitor.send('gone soon');
  await until(async () => !(await devices()).includes(sub.endpoint), 10000, 'the device removed');
  await until(() => attemptsWith('gone soon').length === 1, 5000, 'the 410 attempt');
  const n = svc.attempts.length;
  await visitor.send('to nobody');
  await sleep(1500);
  assert.equal(svc.attempts.length, n);
});

test('bad subscriptions are refused with 400 and nothing is stored', async () => {
  const good = svc.subscribe();
  const bad = [
    { ...good, keys: { ...good.keys, p256dh: Buffer.alloc(33, 4).toString('base64url') } },
    { ...good, keys: { ...good.keys, p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url') } },
    { ...good, keys: { ...good.keys, auth: Buffer.alloc(15).toString('base64url') } },
    { ...good, endpoint: 'http://push.example.com/x' },
    { ...good, endpoint: 'ftp://127.0.0.1/x' },
    { ...good, endpoint: 'https://push.example.com/' + 'a'.repeat(2100) },
    { endpoint: good.endpoint },
  ];
  for (const b of bad) {
    const r = await api('POST', '/v1/api/push/subscriptions', owner, b);
    assert.equal(r.status, 400, JSON.stringify(b).slice(0, 120));
    assert.ok(r.body.message.length > 0);
  }
  assert.deepEqual(await devices(), []);
  const tooBig = await fetch(relay.base + '/v1/api/push/subscriptions', {
    method: 'POST', headers: { authorization: 'Bearer ' + owner, 'content-type': 'application/json' },
    body: JSON.stringify({ ...good, endpoint: 'https://p.example/' + 'a'.repeat(70000) }),
  });
  assert.equal(tooBig.status, 413);
  assert.deepEqual(await devices(), []);
});

test('at most 10 devices; the same endpoint replaces; DELETE forgets', async () => {
  const subs = Array.from({ length: 10 }, () => svc.subscribe());
  for (const s of subs) assert.equal((await api('POST', '/v1/api/push/subscriptions', owner, s)).status, 201);
  const again = svc.rekey(subs[0].endpoint);
  assert.equal((await api('POST', '/v1/api/push/subscriptions', owner, again)).status, 201, 'a replacement');
  const eleventh = await api('POST', '/v1/api/push/subscriptions', owner, svc.subscribe());
  assert.equal(eleventh.status, 409);
  assert.match(eleventh.body.message, /10/);
  assert.equal((await devices()).length, 10);
  assert.equal((await api('DELETE', '/v1/api/push/subscriptions', owner, { endpoint: subs[3].endpoint })).status, 204);
  assert.equal((await api('DELETE', '/v1/api/push/subscriptions', owner, { endpoint: subs[3].endpoint })).status, 204);
  const left = await devices();
  assert.equal(left.length, 9);
  assert.ok(!left.includes(subs[3].endpoint));
  // Every device is pushed, the replaced one with its new keys.
  await visitor.send('to every device');
  await until(() => deliveredWith('to every device').length === 9, 10000, 'nine pushes');
  assert.ok(deliveredWith('to every device').some((r) => r.endpoint === subs[0].endpoint));
  assert.deepEqual(svc.rejected, []);
});

test('an agent removed takes its devices along', async () => {
  const carol = await api('POST', '/v1/api/agents', owner, { name: 'Carol', email: 'carol@example.com', password: 'carol-password-1', sites: ['demo'], role: 'agent' });
  const token = await login({ email: 'carol@example.com', password: 'carol-password-1' });
  const s = svc.subscribe();
  assert.equal((await api('POST', '/v1/api/push/subscriptions', token, s)).status, 201);
  assert.equal((await api('DELETE', `/v1/api/agents/${carol.body.id}`, owner)).status, 204);
  const n = svc.attempts.filter((a) => a.endpoint === s.endpoint).length;
  await visitor.send('Carol is gone');
  await sleep(1500);
  assert.equal(svc.attempts.filter((a) => a.endpoint === s.endpoint).length, n);
  // The restart re-reads the store: no device of Carol's comes back.
  await relay.restart();
  visitor.close();
  visitor = await wsVisitor(relay, 'push-visitor-3');
  await visitor.send('still gone');
  await sleep(1500);
  assert.equal(svc.attempts.filter((a) => a.endpoint === s.endpoint).length, n);
  assert.equal((await api('GET', '/v1/api/push/key', owner)).body.public_key, svc.vapidKey, 'same key after restart');
  assert.deepEqual(svc.rejected, [], 'every push the relay sent passed the checks');
});
