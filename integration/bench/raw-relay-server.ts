/**
 * The raw building blocks of the sync benchmarks, in a process of their own as the hub is: a bare
 * Socket.IO server (WebSocket, no validation) that relays every `relay` message to every other
 * socket as is, and — the durable floor — every `durable` message the same way once it has
 * committed the message's events to a SQLite log with the hub's own settings and schema (WAL,
 * `synchronous=FULL`, one transaction, one row per event: see hub/bench/raw-sqlite.ts). A system
 * that loses nothing cannot deliver faster than the second. Tells its parent the port it listens on.
 *
 * argv: [dbPath] — the floor's log (created); without it, `durable` messages are refused.
 */
import type { CommittedEvent } from '@eventloom/protocol';
import { Server } from 'socket.io';
import { openRawSqliteLog } from '../../packages/hub/bench/raw-sqlite.ts';

const [dbPath] = process.argv.slice(2);
const log = dbPath === undefined ? undefined : openRawSqliteLog(dbPath);
let position = 0;

const io = new Server({ transports: ['websocket'], serveClient: false, maxHttpBufferSize: 5e6 });
io.on('connection', (socket) => {
  socket.on('relay', (payload: unknown) => {
    socket.broadcast.emit('relay', payload);
  });
  socket.on('durable', (payload: { events: CommittedEvent[] }) => {
    if (log === undefined) throw new Error('raw relay: started without a database, no durable floor');
    log.insertBatch(
      payload.events.map((event) => ({
        position: ++position,
        id: `${event.id}-${position}`,
        stream: event.stream,
        streamVersion: position,
        event: JSON.stringify({ ...event, position, streamVersion: position }),
      })),
    );
    socket.broadcast.emit('relay', payload);
  });
});
const server = io.listen(0);
await new Promise<void>((resolve) =>
  server.httpServer.listening ? resolve() : server.httpServer.once('listening', () => resolve()),
);
const address = server.httpServer.address();
process.send!({ port: typeof address === 'object' && address !== null ? address.port : 0 });
process.on('disconnect', () => {
  log?.close();
  process.exit(0);
});
