// Load client for the Socket.IO peer: N visitors on the polling transport,
// each sending a 200-byte message every interval; one agent (WebSocket)
// answers every message. Prints the same line as `kefu-load lp-chat`.
import { io } from 'socket.io-client';

const [url, n = '500', intervalMs = '1000', secs = '15'] = process.argv.slice(2);
const N = Number(n), IV = Number(intervalMs), SECS = Number(secs);
const sent = new Map(), unacked = new Map(), ackMs = [], delMs = [];
let sentN = 0;
const now = () => performance.now();
const mark = (id) => { const t = now(); sent.set(id, t); unacked.set(id, t); sentN++; };
const acked = (id) => { const t = unacked.get(id); if (t !== undefined) { unacked.delete(id); ackMs.push(now() - t); } };
const delivered = (id) => { const t = sent.get(id); if (t === undefined) return false; sent.delete(id); delMs.push(now() - t); return true; };
const pct = (v, p) => { if (!v.length) return NaN; v.sort((a, b) => a - b); return v[Math.round((v.length - 1) * p)]; };
const text = 'x'.repeat(200), reply = 'z'.repeat(200);

const agent = io(url, { transports: ['websocket'], query: { role: 'agent' }, forceNew: true });
agent.on('message', (m) => {
  if (delivered(m.cid)) { const rid = 'r' + m.cid; mark(rid); agent.emit('reply', { conv: m.conv, cid: rid, text: reply }, acked); }
});
await new Promise((r) => agent.on('connect', r));
const visitors = [];
for (let i = 0; i < N; i++) {
  const s = io(url, { transports: ['polling'], query: { conv: String(i) }, forceNew: true });
  s.on('message', (m) => delivered(m.cid));
  visitors.push(s);
}
await Promise.all(visitors.map((s) => new Promise((r) => (s.connected ? r() : s.on('connect', r)))));
const end = Date.now() + SECS * 1000;
await Promise.all(visitors.map((s, i) => new Promise((resolve) => {
  let k = 0;
  setTimeout(() => {
    const t = setInterval(() => {
      if (Date.now() >= end) { clearInterval(t); resolve(); return; }
      const cid = i + '-' + k++;
      mark(cid);
      s.emit('send', { cid, text }, acked);
    }, IV);
  }, (IV * i) / N);
})));
await new Promise((r) => setTimeout(r, 1500));
console.log(`sio-chat convs=${N} interval_ms=${IV} secs=${SECS} sent=${sentN} acked=${ackMs.length} delivered=${delMs.length} undelivered=${sent.size} msgs_per_s=${(delMs.length / SECS).toFixed(0)} ack_p50_ms=${pct(ackMs, 0.5).toFixed(2)} ack_p99_ms=${pct(ackMs, 0.99).toFixed(2)} deliver_p50_ms=${pct(delMs, 0.5).toFixed(2)} deliver_p99_ms=${pct(delMs, 0.99).toFixed(2)}`);
process.exit(0);
