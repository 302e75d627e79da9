/**
 * hub-fanout: 10k events pushed by one client reach 50 subscribed clients; delivered events/s
 * (50 × 10k over the time from the first push to the last delivery). The hub runs on the SQLite
 * store, so each event is committed durably and read back before it is broadcast. Baseline: a
 * bare Socket.IO server that broadcasts the same payloads (the committed events) as they arrive.
 * Clients run in a child process and count events without parsing, so the server is measured.
 * Same run, alternating, best of each; target ≥ 0.5×.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Server } from 'socket.io';
import { afterAll, expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { timeIt } from '../../../bench/report.ts';
import { jwtAuthenticator } from '../src/hub/authenticator.ts';
import { createHub } from '../src/hub/create-hub.ts';
import { TEST_SECRET } from '../src/hub/test-kit.ts';
import { createSqliteStore } from '../src/store/sqlite-store.ts';

const RECEIVERS = 50;
const EVENTS = 10_000;
const BATCH = 500;
const ROUNDS = 3;

const dir = mkdtempSync(join(tmpdir(), 'eventloom-fanout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('hub-fanout', async () => {
  let hubMs = Infinity;
  let rawMs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const raw = await startRawServer();
    const rawClients = await startClients(raw.url, 'raw');
    rawMs = Math.min(
      rawMs,
      await timeIt(async () => expect(await rawClients.run()).toBe(RECEIVERS * EVENTS)),
    );
    await raw.close();

    const store = await createSqliteStore({ path: join(dir, `fanout-${round}.db`) });
    const hub = await createHub({
      store,
      auth: jwtAuthenticator({ secret: TEST_SECRET }),
      logger: pino({ level: 'silent' }),
    });
    const hubClients = await startClients(hub.url, 'hub');
    hubMs = Math.min(
      hubMs,
      await timeIt(async () => expect(await hubClients.run()).toBe(RECEIVERS * EVENTS)),
    );
    await hub.close();
    await store.close();
  }
  await reportBench({
    name: 'hub-fanout',
    value: (RECEIVERS * EVENTS) / (hubMs / 1000),
    unit: 'events/s',
    baseline: (RECEIVERS * EVENTS) / (rawMs / 1000),
    target: 0.5,
    better: 'higher',
  });
});

/** A bare Socket.IO server: every `push` is broadcast as `events` to every other socket, then acked. */
async function startRawServer(): Promise<{ url: string; close(): Promise<void> }> {
  const io = new Server({
    transports: ['websocket'],
    serveClient: false,
    maxHttpBufferSize: 5e6,
    perMessageDeflate: false,
  });
  io.on('connection', (socket) => {
    socket.on('push', (payload: { events: unknown[] }, ack: (a: unknown) => void) => {
      socket.broadcast.emit('events', { events: payload.events, prev: 0 });
      ack({ results: [] });
    });
  });
  const server = io.listen(0);
  // io.listen makes the HTTP server; wait until it is bound.
  await new Promise<void>((resolve) =>
    server.httpServer.listening ? resolve() : server.httpServer.once('listening', resolve),
  );
  const address = server.httpServer.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => io.close() };
}

async function startClients(url: string, mode: 'hub' | 'raw'): Promise<{ run(): Promise<number> }> {
  const script = fileURLToPath(new URL('./hub-fanout-clients.ts', import.meta.url));
  const child = fork(script, [url, mode, String(RECEIVERS), String(EVENTS), String(BATCH)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`fanout clients exited early (${code})`)));
  });
  return {
    run: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m) => resolve((m as { delivered: number }).delivered));
        child.send('start');
      }),
  };
}
