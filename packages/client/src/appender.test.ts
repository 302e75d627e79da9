import { eventMetaSchema, Limits, streamSchema } from '@eventloom/protocol';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, expect, it, vi } from 'vitest';
import { validateAppend } from './appender.ts';
import { ClientErrorCode } from './client-error.ts';
import { BackedClientStore } from './backed-client-store.ts';
import type { OutboxRow } from './client-store.ts';
import { CLIENT_SCHEMA, type ClientRows } from './client-tables.ts';
import { createEventloom, type Eventloom } from './eventloom.ts';
import { MemoryBackend, type MemoryDatabase } from './memory-backend.ts';
import type { StoreKey } from './store-backend.ts';
import { syncPortOf } from './sync-port-access.ts';
import { TodoAdded, todoRegistry } from './testing/todo-model.ts';

const opened: Eventloom[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((loom) => loom.close()));
});

const singleTab = { locks: null, BroadcastChannel: null } as const;
const todo = (id: string) => TodoAdded.create({ id, title: id, tags: [] });

/**
 * An Eventloom in single-tab mode whose sync-like listener records the rows it is told while their
 * write is in flight (and calls `onTold`).
 */
async function openTold(
  options: Omit<Parameters<typeof createEventloom>[0], 'registry' | 'tabs'>,
  onTold: () => void = () => undefined,
): Promise<{ loom: Eventloom; told: OutboxRow[] }> {
  const loom = (await createEventloom({
    ...options,
    registry: todoRegistry,
    tabs: singleTab,
  })) as unknown as Eventloom;
  opened.push(loom);
  const told: OutboxRow[] = [];
  syncPortOf(loom).onWriting!((rows) => {
    told.push(...rows);
    onTold();
    return undefined;
  });
  return { loom, told };
}

/** A store on a memory database that logs its write transactions and their reads of the meta. */
function loggedStore(log: string[], name: string, databases: Map<string, MemoryDatabase>): BackedClientStore {
  const inner = new MemoryBackend<ClientRows>(CLIENT_SCHEMA, name, databases);
  return new BackedClientStore({
    open: () => inner.open(),
    close: () => inner.close(),
    read: (tables, body) => inner.read(tables, body),
    write: (tables, body) => {
      log.push('transaction');
      return inner.write(tables, (tx) => {
        const get = tx.get.bind(tx);
        tx.get = <T extends keyof ClientRows>(table: T, key: StoreKey) => {
          if (table === 'meta') log.push('meta read');
          return get(table, key);
        };
        return body(tx);
      });
    },
  });
}

it('tells an append of the only instance of its database before its transaction starts, else once the seq is checked', async () => {
  const log: string[] = [];
  const databases = new Map<string, MemoryDatabase>();
  const told = () => void log.push('told');
  const a = await openTold({ name: 'told', storage: { store: loggedStore(log, 'told', databases) } }, told);
  log.length = 0;
  await a.loom.append('list:1', todo('a'));
  expect(log.slice(0, 3)).toEqual(['told', 'transaction', 'meta read']);
  // A second instance of the same database in this realm: neither is alone, told after the read.
  const b = await openTold({ name: 'told', storage: { store: loggedStore(log, 'told', databases) } }, told);
  for (const { loom } of [a, b]) {
    log.length = 0;
    await loom.append('list:1', todo(`after-${loom.clientId}`));
    // (Run again after a read if the other moved the meta: told once, after the read it built on.)
    expect(log.filter((entry) => entry === 'told')).toHaveLength(1);
    expect(log[log.indexOf('told') - 1]).toBe('meta read');
  }
  expect([...a.told, ...b.told].map((r) => r.clientSeq)).toEqual([1, 2, 3]);
});

it('gives every seq once when two instances of one database append at once, each told the rows it stores', async () => {
  const indexedDB = new IDBFactory();
  const a = await openTold({ name: 'two', storage: { indexedDB, IDBKeyRange } });
  const b = await openTold({ name: 'two', storage: { indexedDB, IDBKeyRange } });
  const appended = await Promise.all(
    Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).loom.append('list:1', todo(`t${i}`))),
  );
  const seqs = appended.map((e) => e.clientSeq).sort((x, y) => x - y);
  expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
  // What the sync was told (and may have pushed) is exactly what was stored, seq for seq.
  const bySeq = (x: { clientSeq: number }, y: { clientSeq: number }) => x.clientSeq - y.clientSeq;
  const told = [...a.told, ...b.told].sort(bySeq).map((r) => [r.event.id, r.clientSeq]);
  expect(told).toEqual([...appended].sort(bySeq).map((e) => [e.id, e.clientSeq]));
});

it('checks the stream name and an absent meta by hand: a plain append parses no schema but its data', () => {
  const streamParse = vi.spyOn(streamSchema, 'safeParse');
  const metaParse = vi.spyOn(eventMetaSchema, 'safeParse');
  try {
    const [draft] = validateAppend(todoRegistry, 'list:1', [todo('a')], undefined, false);
    expect(draft).toEqual({ ...todo('a'), stream: 'list:1', meta: {} });
    expect(streamParse).not.toHaveBeenCalled();
    expect(metaParse).not.toHaveBeenCalled();
  } finally {
    streamParse.mockRestore();
    metaParse.mockRestore();
  }
});

it('refuses exactly the stream names the schema refuses, and checks a meta given with the schema', () => {
  const names = [
    '',
    'a*',
    'tab\there',
    'x'.repeat(Limits.maxStreamLength),
    'x'.repeat(Limits.maxStreamLength + 1),
  ];
  for (const name of names) {
    const valid = streamSchema.safeParse(name).success;
    const check = () =>
      validateAppend(todoRegistry, 'list:1', [{ ...todo('a'), stream: name }], undefined, true);
    if (valid) expect(check()[0]!.stream).toBe(name);
    else expect(check).toThrow(expect.objectContaining({ code: ClientErrorCode.invalid, path: '0.stream' }));
  }
  const meta = { correlationId: 'c1' };
  expect(validateAppend(todoRegistry, 'list:1', [todo('a')], { meta }, false)[0]!.meta).toEqual(meta);
  expect(() =>
    validateAppend(
      todoRegistry,
      'list:1',
      [{ ...todo('a'), meta: { traceparent: 'nope' } }],
      undefined,
      false,
    ),
  ).toThrow(expect.objectContaining({ code: ClientErrorCode.invalid, path: 'meta.traceparent' }));
});
