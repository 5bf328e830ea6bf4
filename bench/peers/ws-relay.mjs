// Node `ws` peer for `make bench`'s idle case: a minimal relay speaking
// kefu's visitor frames (hello → welcome, page views kept per connection,
// ping/pong heartbeats every 25 s), so the same load client drives it.
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] || 18090);
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
const visitors = new Map();
wss.on('connection', (ws) => {
  const state = { id: null, page: null };
  ws.on('message', (data) => {
    let f;
    try { f = JSON.parse(String(data)); } catch { ws.send('{"type":"error","code":"bad_json"}'); return; }
    if (f.type === 'hello') {
      state.id = f.visitor;
      visitors.set(f.visitor, state);
      ws.send(JSON.stringify({ type: 'welcome', v: 1, role: 'visitor', heartbeat_ms: 25000, visitor: f.visitor }));
    } else if (f.type === 'page') {
      state.page = { url: f.url, title: f.title, at: Date.now() };
    } else if (f.type === 'ping') {
      ws.send('{"type":"pong"}');
    }
  });
  ws.on('close', () => { if (state.id) visitors.delete(state.id); });
});
setInterval(() => { for (const ws of wss.clients) ws.send('{"type":"ping"}'); }, 25000);
console.log('listening on ' + port);
