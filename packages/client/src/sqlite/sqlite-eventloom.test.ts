import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createEventloom } from '../eventloom.ts';
import { describeEventloom } from '../testing/describe-eventloom.ts';
import { TodoAdded, todoRegistry } from '../testing/todo-model.ts';
import { SqliteClientStore } from './sqlite-client-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-loom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The client's behaviour through its public API, on the SQLite store: one file per database name,
// so reopening a name (persistence, a second instance) opens the same file.
describeEventloom('Node on SQLite', {
  store: (name) => new SqliteClientStore({ path: join(dir, `${name}.db`) }),
});

// better-sqlite3 is synchronous: were each transaction to run on the promise (microtask) queue
// alone, an `await append()` loop would never give the event loop a turn, and a socket's I/O (the
// sync's) would wait for the loop to end. Like IndexedDB's, each transaction yields a task first.
it('lets I/O and timers run between appends: an append loop ends once a socket has been answered', async () => {
  const loom = await createEventloom({
    name: 'append-loop',
    registry: todoRegistry,
    storage: { store: new SqliteClientStore({ path: join(dir, 'append-loop.db'), synchronous: 'normal' }) },
  });
  const server = createServer((socket) => socket.end('hello'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  let answered = false;
  const client = connect(port, '127.0.0.1')
    .on('data', () => (answered = true))
    .on('error', () => undefined);
  let timerFired = false;
  setTimeout(() => (timerFired = true), 0);
  // Bounded, so that without a yield the loop ends (and the test fails) instead of running forever.
  let appends = 0;
  while (!(answered && timerFired) && appends < 5_000) {
    await loom.append('list:1', TodoAdded.create({ id: `t${appends}`, title: 'loop', tags: [] }));
    appends++;
  }
  client.destroy();
  await loom.close();
  await new Promise((resolve) => server.close(resolve));
  expect({ answered, timerFired }, `after ${appends} appends`).toEqual({ answered: true, timerFired: true });
}, 60_000);
