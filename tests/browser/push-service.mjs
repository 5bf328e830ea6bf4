// A stand-in Web Push service on 127.0.0.1, written from the RFCs, so a
// test can prove the relay's wire format without the internet:
//   RFC 8030 (delivery: POST to the subscription's push resource, TTL,
//   Urgency, Topic; 201 Created with a Location), RFC 8291 (message
//   encryption: ECDH P-256 + HKDF-SHA-256 into RFC 8188 aes128gcm) and
//   RFC 8292 (VAPID: `Authorization: vapid t=<ES256 JWT>, k=<public key>`).
// Only Node's built-in crypto is used.
//
// API
//   const svc = await startPushService({ vapidKey });
//     vapidKey (optional): the application server's public key (base64url,
//     as GET /v1/api/push/key gives it); every request's `k=` must be it.
//     Also settable later: svc.vapidKey = '...'.
//   svc.origin                 'http://127.0.0.1:<port>' (the JWT's aud)
//   svc.subscribe()            a new subscription as a browser makes one
//                              (a P-256 key pair and a 16-byte auth secret
//                              kept here): { endpoint, expirationTime: null,
//                              keys: { p256dh, auth } } — POST it as is.
//   svc.answerNext(...a)       the next requests are answered with these,
//                              in order, instead of 201; each is a status
//                              (410, 429, 500 …) or { status, retryAfter,
//                              delayMs } (delayMs: answer that much later).
//                              A request is checked and decrypted first
//                              whatever it is answered.
//   svc.rekey(endpoint)        new keys for an existing subscription (as a
//                              browser's re-subscription may bring); the old
//                              ones no longer decrypt. Returns its JSON.
//   svc.clearPlan()            forgets answers not used yet (back to 201)
//   svc.attempts               every request: { endpoint, status, headers,
//                              payload (parsed JSON) | null, text, at,
//                              answeredAt } (at: when it arrived)
//   svc.received               those answered 2xx (the delivered pushes)
//   svc.rejected               requests that failed a check: { reason,
//                              endpoint, headers } (answered 400/401/404)
//   svc.waitFor(pred, ms)      resolves with the first delivered push
//                              (seen or future) whose record matches
//   svc.close()
// Checks, per request: POST to a known subscription (else 404);
// Content-Encoding aes128gcm; TTL an integer ≥ 0; the VAPID header's JWT
// is {typ: JWT, alg: ES256}, verifies (ECDSA P-256, SHA-256, r‖s) against
// `k=`, `aud` is exactly this service's origin, `exp` in the future and at
// most 24 h ahead, `sub` a mailto: or https: URL; the body decrypts with
// the subscription's private key and auth secret and is UTF-8.
import http from 'node:http';
import crypto from 'node:crypto';

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const unb64u = (s) => Buffer.from(s, 'base64url');

/** An uncompressed P-256 point (65 bytes) as a Node public KeyObject. */
function p256Key(point) {
  if (point.length !== 65 || point[0] !== 4) throw new Error('not an uncompressed P-256 point');
  return crypto.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) },
    format: 'jwk',
  });
}

/** RFC 8292 §3: `vapid t=<jwt>, k=<key>` → { t, k }. */
function vapidParams(header) {
  const m = /^vapid\s+(.*)$/i.exec(header || '');
  if (!m) throw new Error('Authorization is not the vapid scheme');
  const params = {};
  for (const part of m[1].split(',')) {
    const [name, ...rest] = part.trim().split('=');
    params[name.trim().toLowerCase()] = rest.join('=').trim().replace(/^"|"$/g, '');
  }
  if (!params.t || !params.k) throw new Error('vapid needs t= and k=');
  return params;
}

/** Verifies the VAPID JWT (RFC 8292 §2) for a push to `origin`. */
function checkVapid(header, origin, expectedKey) {
  const { t, k } = vapidParams(header);
  if (expectedKey && k !== expectedKey) throw new Error('k= is not the application server key');
  const parts = t.split('.');
  if (parts.length !== 3) throw new Error('JWT is not three parts');
  const head = JSON.parse(unb64u(parts[0]).toString('utf8'));
  if (head.alg !== 'ES256') throw new Error('JWT alg is ' + head.alg);
  if (head.typ !== undefined && head.typ !== 'JWT') throw new Error('JWT typ is ' + head.typ);
  const sig = unb64u(parts[2]);
  if (sig.length !== 64) throw new Error('ES256 signature is not 64 bytes (r‖s)');
  const ok = crypto.verify('sha256', Buffer.from(parts[0] + '.' + parts[1]),
    { key: p256Key(unb64u(k)), dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) throw new Error('JWT signature does not verify against k=');
  const claims = JSON.parse(unb64u(parts[1]).toString('utf8'));
  if (claims.aud !== origin) throw new Error(`aud ${claims.aud} is not ${origin}`);
  const now = Math.floor(Date.now() / 1000);
  if (!(Number.isInteger(claims.exp) && claims.exp > now)) throw new Error('exp is not in the future');
  if (claims.exp > now + 24 * 3600) throw new Error('exp is more than 24 h ahead');
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) {
    throw new Error('sub is not a mailto: or https: URL');
  }
  return claims;
}

const hkdf = (salt, ikm, info, len) => Buffer.from(crypto.hkdfSync('sha256', ikm, salt, info, len));

/** RFC 8291 §3.4 + RFC 8188 §2: decrypts an aes128gcm push body. */
function decrypt(body, sub) {
  if (body.length < 21) throw new Error('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  const asPublic = body.subarray(21, 21 + idlen);
  if (idlen !== 65) throw new Error('keyid is not the 65-byte sender key');
  if (rs < 18) throw new Error('record size below 18');
  const ecdhSecret = sub.ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), sub.publicKey, asPublic]);
  const ikm = hkdf(sub.auth, ecdhSecret, keyInfo, 32);
  const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const baseNonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);
  const content = body.subarray(21 + idlen);
  if (content.length === 0) throw new Error('no records');
  const out = [];
  for (let i = 0, off = 0; off < content.length; i++, off += rs) {
    const record = content.subarray(off, Math.min(off + rs, content.length));
    const last = off + rs >= content.length;
    if (record.length < 17) throw new Error('record shorter than tag + delimiter');
    const nonce = Buffer.from(baseNonce);
    // SEQ (96-bit, network order) XOR NONCE; records here are far fewer than 2^32.
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ i) >>> 0, 8);
    const d = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
    d.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([d.update(record.subarray(0, record.length - 16)), d.final()]);
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (end < 0) throw new Error('record has no padding delimiter');
    if (plain[end] !== (last ? 2 : 1)) throw new Error('wrong padding delimiter');
    out.push(plain.subarray(0, end));
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(out));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startPushService({ vapidKey } = {}) {
  const subs = new Map(); // id → { ecdh, publicKey, auth }
  const plan = [];
  const waiters = [];
  let next = 0;
  const svc = {
    vapidKey,
    attempts: [],
    received: [],
    rejected: [],
    origin: '',
    subscribe() {
      return svc.rekey(`${svc.origin}/push/sub${++next}-${crypto.randomBytes(6).toString('hex')}`);
    },
    rekey(endpoint) {
      const ecdh = crypto.createECDH('prime256v1');
      const publicKey = ecdh.generateKeys();
      const auth = crypto.randomBytes(16);
      subs.set(endpoint.slice(endpoint.lastIndexOf('/') + 1), { ecdh, publicKey, auth });
      return { endpoint, expirationTime: null, keys: { p256dh: b64u(publicKey), auth: b64u(auth) } };
    },
    answerNext(...answers) {
      for (const a of answers) plan.push(typeof a === 'number' ? { status: a } : a);
    },
    clearPlan() {
      plan.length = 0;
    },
    waitFor(pred, ms = 15000) {
      const hit = svc.received.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i < 0) return;
          waiters.splice(i, 1);
          reject(new Error('push service: no matching push; got ' + JSON.stringify(svc.attempts.map((a) => [a.status, a.payload]))
            + ' rejected ' + JSON.stringify(svc.rejected.map((r) => r.reason))));
        }, ms);
      });
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };

  async function handle(req, res) {
    const url = new URL(req.url, svc.origin);
    const body = await readBody(req);
    const m = /^\/push\/([\w-]+)$/.exec(url.pathname);
    const sub = m && subs.get(m[1]);
    const endpoint = svc.origin + url.pathname;
    const refuse = (status, reason) => {
      svc.rejected.push({ reason, endpoint, headers: req.headers });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(reason);
    };
    if (req.method !== 'POST' || !sub) return refuse(404, 'no such subscription');
    let text;
    try {
      checkVapid(req.headers.authorization, svc.origin, svc.vapidKey);
    } catch (e) {
      return refuse(401, 'vapid: ' + e.message);
    }
    try {
      if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error('Content-Encoding is not aes128gcm');
      if (!/^\d+$/.test(req.headers.ttl || '')) throw new Error('TTL missing or not an integer');
      text = decrypt(body, sub);
    } catch (e) {
      return refuse(400, e.message);
    }
    let payload = null;
    try { payload = JSON.parse(text); } catch { /* recorded as text */ }
    const answer = plan.shift() || { status: 201 };
    const rec = { endpoint, status: answer.status, headers: req.headers, payload, text, at: Date.now() };
    svc.attempts.push(rec);
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    rec.answeredAt = Date.now();
    const headers = {};
    if (answer.retryAfter !== undefined) headers['retry-after'] = String(answer.retryAfter);
    if (answer.status === 201) headers.location = `/message/${crypto.randomBytes(8).toString('hex')}`;
    res.writeHead(answer.status, headers);
    res.end();
    if (answer.status >= 200 && answer.status < 300) {
      svc.received.push(rec);
      for (const w of waiters.slice()) {
        if (w.pred(rec)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(rec); }
      }
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => { res.writeHead(500); res.end(String(e)); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  svc.origin = 'http://127.0.0.1:' + server.address().port;
  return svc;
}
