// Two Node devices (each its own fake-indexeddb) sync through the hub at argv[2]: each appends a
// note, and each sees both, confirmed by the hub. Prints one JSON line with what each saw.
import { createEventloom, createSync } from '@eventloom/client';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { SignJWT } from 'jose';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { NoteAdded, notes, registry } from './schemas.mjs';

const [url, secret] = process.argv.slice(2);
const token = (sub) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));

async function device(name) {
  const loom = await createEventloom({
    name,
    registry,
    projections: [notes],
    storage: { indexedDB: new IDBFactory(), IDBKeyRange },
  });
  const sync = createSync(loom, { url, token: () => token(name), subscriptions: ['notes:*'] });
  return { loom, sync };
}

const a = await device('device-a');
const b = await device('device-b');
await a.loom.append('notes:1', NoteAdded.create({ text: 'from a' }));
await b.loom.append('notes:1', NoteAdded.create({ text: 'from b' }));
await Promise.all([a.sync.flushed(), b.sync.flushed()]);
const both = (d) =>
  firstValueFrom(
    d.loom.confirmedProjection$(notes).pipe(
      filter((list) => list.length === 2),
      timeout(20_000),
    ),
  );
const seen = { a: await both(a), b: await both(b) };
const states = await Promise.all(
  [a, b].map((d) =>
    firstValueFrom(
      d.sync.syncState$.pipe(
        filter((s) => s === 'live'),
        timeout(20_000),
      ),
    ),
  ),
);
console.log(JSON.stringify({ ...seen, states }));
for (const d of [a, b]) {
  await d.sync.close();
  await d.loom.close();
}
