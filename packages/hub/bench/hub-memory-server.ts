/**
 * The server side of the hub-memory benchmark, in a process of its own so that only its heap is
 * measured: a hub (memory store, JWT auth) or a bare Socket.IO server, on a free port. Answers
 * `heap` (IPC) with `heapUsed` after full garbage collections.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { Server } from 'socket.io';
import { jwtAuthenticator } from '../src/hub/authenticator.ts';
import { createHub } from '../src/hub/create-hub.ts';
import { TEST_SECRET } from '../src/hub/test-kit.ts';
import { createMemoryStore } from '../src/store/memory-store.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const mode = process.argv[2] as 'hub' | 'bare';
let url: string;
if (mode === 'hub') {
  const hub = await createHub({
    store: await createMemoryStore(),
    auth: jwtAuthenticator({ secret: TEST_SECRET }),
    logger: pino({ level: 'silent' }),
    // 1,000 sockets of one principal from one address: far above the defaults for a real peer.
    limits: { maxConnectionsPerPrincipal: 10_000, maxConnectionsPerAddress: 10_000 },
  });
  url = hub.url;
} else {
  const io = new Server({ transports: ['websocket'], serveClient: false, perMessageDeflate: false });
  io.on('connection', () => undefined);
  const server = io.listen(0);
  await new Promise<void>((resolve) =>
    server.httpServer.listening ? resolve() : server.httpServer.once('listening', resolve),
  );
  const address = server.httpServer.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}
process.on('message', () => {
  // Several passes, with turns of the event loop between them, so that finalizers run too.
  void (async () => {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    process.send!({ heap: process.memoryUsage().heapUsed });
  })();
});
process.send!({ url });
