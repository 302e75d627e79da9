/**
 * A device in a process of its own, for the real-crash test: an Eventloom on a SQLite file,
 * syncing with the hub at `url`, appending to-dos without end, a few at once (so that a SIGKILL
 * likely lands mid-transaction or mid-ack). Each append that resolved is printed (its id) at once:
 * the test holds those as durable. Run with Node and tsx's loader (`node --import <tsx loader>
 * crash-child.node.ts <db path> <hub url> <prefix>`), so that the device is the process killed.
 */
import { createEventloom, createSync } from '@eventloom/client';
import { SqliteClientStore } from '@eventloom/client/sqlite';
import { createRegistry, defineEvent } from '@eventloom/core';
import { z } from 'zod';

const [path, url, prefix] = process.argv.slice(2);
if (path === undefined || url === undefined || prefix === undefined) {
  throw new Error('usage: crash-child.node.ts <db path> <hub url> <prefix>');
}
const TodoAdded = defineEvent('todo.added', {
  1: z.object({ id: z.string().min(1), title: z.string(), tags: z.array(z.string()) }),
});
const loom = await createEventloom({
  name: 'crash-child',
  registry: createRegistry([TodoAdded]),
  storage: { store: new SqliteClientStore({ path }) },
});
const sync = createSync(loom, {
  url,
  subscriptions: ['*'],
  warn: false,
  backoff: { initialMs: 10, maxMs: 100 },
  push: { maxEvents: 7 },
});
sync.syncState$.subscribe((state) => process.stderr.write(`${state}\n`));
sync.metrics$.subscribe((m) => m.lastError && process.stderr.write(`${m.lastError.message}\n`));
process.stdout.write(`ready ${loom.clientId}\n`);
for (let n = 0; ;) {
  await Promise.all(
    Array.from({ length: 4 }, () => {
      const id = `${prefix}${n++}`;
      return loom
        .append('list:1', TodoAdded.create({ id, title: id, tags: [] }))
        .then((event) => process.stdout.write(`appended ${event.id}\n`));
    }),
  );
}
