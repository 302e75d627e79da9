// The baseline of the hub-memory-rss benchmark: a bare Socket.IO server on Node's HTTP server, the
// same socket.io that the installed hub runs (resolved from @eventloom/hub), doing nothing else.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.resolve('@eventloom/hub'));
const { Server } = require('socket.io');
const http = createServer();
const io = new Server(http, { cors: { origin: '*' } });
io.on('connection', (socket) => socket.on('ping', (ack) => ack('pong')));
http.listen(0, '127.0.0.1', () => {
  const { port } = http.address();
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` }));
});
