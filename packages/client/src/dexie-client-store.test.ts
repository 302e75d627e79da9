import { sampleCommitted, sampleEnvelope } from '@eventloom/protocol/testing';
import { Dexie } from 'dexie';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { expect, it } from 'vitest';
import { DexieClientStore, PAGE_SIZE, SCHEMA_VERSION, TAIL_FILL } from './dexie-client-store.ts';
import { describeClientStore } from './testing/describe-client-store.ts';

// The same contract as in Chromium (dexie-client-store.browser.test.ts), on fake-indexeddb in Node.
describeClientStore(
  'dexie on fake-indexeddb',
  (name) => new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } }),
);

/** The tables of schema version 1, as it shipped. */
const VERSION_1_STORES = {
  meta: 'key',
  events: 'first, *streams',
  outbox: 'clientSeq',
  rejected: 'clientSeq',
  snapshots: 'id, name',
};

it('upgrades a version 1 database: rejected rows become dead letters, the meta gains its new fields', async () => {
  expect(SCHEMA_VERSION).toBe(5);
  const name = `upgrade-${Date.now()}`;
  const old = new Dexie(name, { indexedDB, IDBKeyRange });
  old.version(1).stores(VERSION_1_STORES);
  const pending = sampleEnvelope({ clientId: 'dev1', clientSeq: 2 });
  const refused = sampleEnvelope({ clientId: 'dev1', clientSeq: 1 });
  await old.table('meta').put({ key: 'client', clientId: 'dev1', clientSeq: 2, position: 0, epoch: 1 });
  await old.table('outbox').put({ clientSeq: 2, event: pending });
  await old.table('rejected').put({
    clientSeq: 1,
    event: refused,
    code: 'wrong-expected-version',
    message: 'moved',
    currentVersion: 4,
    at: Date.UTC(2026, 0, 1),
  });
  old.close();

  const store = new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } });
  expect(await store.open()).toEqual({
    clientId: 'dev1',
    clientSeq: 2,
    hlc: undefined,
    position: 0,
    epoch: 1,
    history: 0,
    subscriptions: undefined,
    hubId: undefined,
  });
  expect(await store.readDeadLetters()).toEqual([
    {
      id: `eventloom.sync/${refused.id}`,
      handler: 'eventloom.sync',
      event: refused,
      error: { name: 'ClientError', code: 'wrong-expected-version', message: 'moved' },
      attempts: 1,
      firstFailedAt: '2026-01-01T00:00:00.000Z',
      lastFailedAt: '2026-01-01T00:00:00.000Z',
      rejection: { clientSeq: 1, currentVersion: 4 },
    },
  ]);
  expect(await store.readPending()).toEqual([{ clientSeq: 2, event: pending }]);
  expect(store.db.tables.map((t) => t.name).sort()).toEqual([
    'acked',
    'appendKeys',
    'applied',
    'checkpoints',
    'deadLetters',
    'events',
    'meta',
    'outbox',
    'reactionOutbox',
    'sagas',
    'sent',
    'snapshots',
    'timeouts',
  ]);
  // The new index settles acked rows once the position passes them.
  await store.markAcked([{ clientSeq: 2, position: 3 }]);
  expect((await store.insertConfirmed([], { until: 3 })).settled.map((r) => r.clientSeq)).toEqual([2]);
  store.close();
});

it('upgrades a version 2 database: its rows stay, the reaction tables and append keys are added', async () => {
  const name = `upgrade-v2-${Date.now()}`;
  const old = new Dexie(name, { indexedDB, IDBKeyRange });
  old.version(1).stores(VERSION_1_STORES);
  old.version(2).stores({ outbox: 'clientSeq, acked.position', rejected: null, deadLetters: 'id, handler' });
  const pending = sampleEnvelope({ clientId: 'dev1', clientSeq: 1 });
  const letter = {
    id: 'eventloom.sync/e0',
    handler: 'eventloom.sync',
    event: sampleEnvelope({ clientId: 'dev1', clientSeq: 0 }),
    error: { name: 'ClientError', code: 'invalid', message: 'no' },
    attempts: 1,
    firstFailedAt: '2026-01-01T00:00:00.000Z',
    lastFailedAt: '2026-01-01T00:00:00.000Z',
    rejection: { clientSeq: 0 },
  };
  await old
    .table('meta')
    .put({ key: 'client', clientId: 'dev1', clientSeq: 1, position: 0, epoch: 0, history: 0 });
  await old.table('outbox').put({ clientSeq: 1, event: pending });
  await old.table('deadLetters').put(letter);
  old.close();

  const store = new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } });
  expect((await store.open()).clientSeq).toBe(1);
  expect(store.db.verno).toBe(SCHEMA_VERSION);
  expect(await store.readPending()).toEqual([{ clientSeq: 1, event: pending }]);
  expect(await store.readDeadLetters()).toEqual([letter]);
  for (const table of ['appendKeys', 'checkpoints', 'applied', 'sagas', 'timeouts', 'reactionOutbox']) {
    expect(await store.db.table(table).count()).toBe(0);
  }
  expect(
    (await store.appendPending(() => ({ events: [], hlc: undefined }), { key: 'k' })).duplicate,
  ).toBeUndefined();
  expect((await store.appendPending(() => ({ events: [], hlc: undefined }), { key: 'k' })).duplicate).toBe(
    true,
  );
  store.close();
});

it('upgrades a version 3 database: acked outbox rows move to the acked table, and still settle', async () => {
  const name = `upgrade-v3-${Date.now()}`;
  const old = new Dexie(name, { indexedDB, IDBKeyRange });
  old.version(1).stores(VERSION_1_STORES);
  old.version(2).stores({ outbox: 'clientSeq, acked.position', rejected: null, deadLetters: 'id, handler' });
  old.version(3).stores({
    appendKeys: 'key',
    checkpoints: 'consumer',
    applied: 'id',
    sagas: 'id, saga',
    timeouts: 'id',
    reactionOutbox: '++seq, &id',
  });
  const rows = [1, 2, 3].map((clientSeq) => ({
    clientSeq,
    event: sampleEnvelope({ clientId: 'dev1', clientSeq }),
  }));
  const acked = { ...rows[1]!, acked: { position: 4, streamVersion: 1 } };
  await old
    .table('meta')
    .put({ key: 'client', clientId: 'dev1', clientSeq: 3, position: 2, epoch: 0, history: 0 });
  await old.table('outbox').bulkPut([rows[0], acked, rows[2]]);
  old.close();

  const store = new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } });
  await store.open();
  expect(store.db.verno).toBe(SCHEMA_VERSION);
  expect(await store.db.table('acked').toArray()).toEqual([acked]);
  expect(await store.readPending()).toEqual([rows[0], acked, rows[2]]);
  expect(await store.readPending({ unackedOnly: true })).toEqual([rows[0], rows[2]]);
  expect((await store.insertConfirmed([], { until: 4 })).settled).toEqual([acked]);
  expect(await store.readPending()).toEqual([rows[0], rows[2]]);
  store.close();
});

it('keeps acked rows out of the outbox table: what is left to push is read without stepping over them', async () => {
  const store = new DexieClientStore({ name: `acked-${Date.now()}`, indexedDB: { indexedDB, IDBKeyRange } });
  const meta = await store.open();
  const build = (m: typeof meta) => ({
    events: Array.from({ length: 300 }, (_, i) =>
      sampleEnvelope({ clientId: m.clientId, clientSeq: m.clientSeq + i + 1 }),
    ),
    hlc: undefined,
  });
  const { rows } = await store.appendPending(build);
  await store.markAcked(rows.slice(0, 299).map((r, i) => ({ clientSeq: r.clientSeq, position: i + 1 })));
  // The outbox table holds the one row still to push; the sync engine's reads are one key range of it.
  expect(await store.db.table('outbox').count()).toBe(1);
  expect(await store.db.table('acked').count()).toBe(299);
  expect(await store.readPending({ unackedOnly: true, limit: 1 })).toEqual([rows[299]]);
  expect((await store.readPending({ afterSeq: 297, limit: 2 })).map((r) => r.clientSeq)).toEqual([298, 299]);
  store.close();
});

it('lays confirmed events out in pages: bulk inserts fill them to PAGE_SIZE, live ones rewrite nothing until they make TAIL_FILL', async () => {
  const store = new DexieClientStore({ name: `layout-${Date.now()}`, indexedDB: { indexedDB, IDBKeyRange } });
  await store.open();
  const events = Array.from({ length: 700 }, (_, i) => sampleCommitted({ position: i + 1 }));
  const pageSizes = async () =>
    (await store.db.table<{ events: unknown[] }>('events').orderBy('first').toArray()).map(
      (p) => p.events.length,
    );
  await store.insertConfirmed(events.slice(0, 300));
  expect([PAGE_SIZE, TAIL_FILL]).toEqual([256, 32]);
  expect(await pageSizes()).toEqual([256, 44]);
  // One by one, as live events come: a row each, until they make a page of TAIL_FILL, then again.
  for (let i = 300; i < 340; i++) await store.insertConfirmed([events[i]!]);
  expect(await pageSizes()).toEqual([256, 44, 32, 1, 1, 1, 1, 1, 1, 1, 1]);
  // A pull's page takes the small last page's rows, and fills it up to PAGE_SIZE again.
  await store.insertConfirmed(events.slice(340));
  expect(await pageSizes()).toEqual([256, 44, 32, 256, 112]);
  expect(await store.readConfirmed()).toEqual(events);
  store.close();
});

it('merges the single-event rows written before a reload into the next page of TAIL_FILL', async () => {
  const name = `reload-${Date.now()}`;
  const options = { name, indexedDB: { indexedDB, IDBKeyRange } };
  const events = Array.from({ length: 40 }, (_, i) => sampleCommitted({ position: i + 1 }));
  const before = new DexieClientStore(options);
  await before.open();
  for (const event of events.slice(0, 10)) await before.insertConfirmed([event]);
  before.close();
  // Reloaded: the store knows no tail, and reads it.
  const after = new DexieClientStore(options);
  await after.open();
  for (const event of events.slice(10)) await after.insertConfirmed([event]);
  const pages = await after.db.table<{ events: unknown[] }>('events').orderBy('first').toArray();
  expect(pages.map((p) => p.events.length)).toEqual([TAIL_FILL, ...Array.from({ length: 8 }, () => 1)]);
  expect(await after.readConfirmed()).toEqual(events);
  after.close();
});

it('adds live events to the tail it last wrote only while no other tab wrote the log meanwhile', async () => {
  const name = `tail-${Date.now()}`;
  const [a, b] = [0, 1].map(() => new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } }));
  await a!.open();
  await b!.open();
  const events = Array.from({ length: 120 }, (_, i) => sampleCommitted({ position: i + 1 }));
  // Two tabs store the live events in turns, in runs of a few, each from what it wrote last.
  for (let i = 0; i < events.length; i++) await (i % 7 < 4 ? a! : b!).insertConfirmed([events[i]!]);
  expect(await a!.readConfirmed()).toEqual(events);
  expect(await b!.readConfirmed()).toEqual(events);
  // A store opened on the log finds its tail by reading it.
  const c = new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } });
  await c.open();
  const more = Array.from({ length: 40 }, (_, i) => sampleCommitted({ position: 121 + i }));
  for (const event of more) await c.insertConfirmed([event]);
  expect(await a!.readConfirmed()).toEqual([...events, ...more]);
  const pages = await c.db.table<{ events: unknown[] }>('events').orderBy('first').toArray();
  expect(pages.every((p) => p.events.length <= PAGE_SIZE)).toBe(true);
  for (const store of [a!, b!, c]) store.close();
});

it('forgets the tail it wrote when it closes: a database wiped and synced again while closed is read afresh', async () => {
  const name = `wiped-${Date.now()}`;
  const options = { name, indexedDB: { indexedDB, IDBKeyRange } };
  const store = new DexieClientStore(options);
  await store.open();
  const mine = Array.from({ length: 31 }, (_, i) => sampleCommitted({ position: i + 1, stream: 'mine' }));
  for (const event of mine) await store.insertConfirmed([event]);
  store.close();
  // A logout wipe, then a sync to the same position (history starts again at 0) by another store.
  await new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = resolve;
    request.onerror = () => reject(request.error);
  });
  const other = new DexieClientStore(options);
  await other.open();
  const theirs = Array.from({ length: 31 }, (_, i) => sampleCommitted({ position: i + 1, stream: 'theirs' }));
  await other.insertConfirmed(theirs);
  other.close();
  await store.open();
  const next = sampleCommitted({ position: 32, stream: 'theirs' });
  await store.insertConfirmed([next]);
  expect(await store.readConfirmed()).toEqual([...theirs, next]);
  store.close();
});
