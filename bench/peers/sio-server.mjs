// Socket.IO peer for `make bench`'s long-poll case: visitors on the polling
// transport send messages (acked by callback) that the server relays to an
// agent socket, which answers each; the reply goes back to the visitor.
// No storage at all: this measures transport cost, not durability.
import { Server } from 'socket.io';

const port = Number(process.argv[2] || 18091);
const io = new Server(port, { cors: { origin: '*' }, perMessageDeflate: false, httpCompression: false });
let agent = null;
io.on('connection', (s) => {
  if (s.handshake.query.role === 'agent') {
    agent = s;
    s.on('reply', (m, ack) => { io.to('v:' + m.conv).emit('message', m); if (ack) ack(m.cid); });
    return;
  }
  const conv = s.handshake.query.conv;
  s.join('v:' + conv);
  s.on('send', (m, ack) => {
    if (agent) agent.emit('message', { conv, cid: m.cid, text: m.text });
    if (ack) ack(m.cid);
  });
});
console.log('listening on ' + port);
