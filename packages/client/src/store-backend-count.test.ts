/**
 * `ReadTx.count` counts the keys in a range whatever its limit and direction, on every backend:
 * the SQLite and memory backends share their range code with the scans (the limit apart), which
 * the count must leave out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIENT_SCHEMA, type ClientRows } from './client-tables.ts';
import { dexieBackendOf } from './dexie-client-store.ts';
import { MemoryBackend } from './memory-backend.ts';
import { SqliteBackend } from './sqlite/sqlite-backend.ts';
import type { StoreBackend } from './store-backend.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-backend-count-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backends: [string, (name: string) => StoreBackend<ClientRows>][] = [
  ['memory', (name) => new MemoryBackend<ClientRows>(CLIENT_SCHEMA, name, new Map())],
  ['sqlite', (name) => new SqliteBackend<ClientRows>(CLIENT_SCHEMA, { path: join(dir, `${name}.db`) })],
  [
    'dexie on fake-indexeddb',
    (name) => dexieBackendOf({ name, indexedDB: { indexedDB, IDBKeyRange } }).backend,
  ],
];

describe.each(backends)('%s backend', (_, open) => {
  it('counts every key of a range, its limit and direction aside', async () => {
    const backend = open(`count-${Math.random().toString(36).slice(2)}`);
    await backend.open();
    try {
      const rows = Array.from({ length: 10 }, (_, i) => ({
        clientSeq: i + 1,
        event: sampleEnvelope({ clientSeq: i + 1 }),
      }));
      await backend.write(['outbox'], (tx) => tx.put('outbox', rows));
      const counts = await backend.read(['outbox'], async (tx) => [
        await tx.count('outbox'),
        await tx.count('outbox', { limit: 2 }),
        await tx.count('outbox', { lower: 3, lowerOpen: true, limit: 1 }),
        await tx.count('outbox', { lower: 3, upper: 8, upperOpen: true, reverse: true, limit: 4 }),
        await tx.count('outbox', { lower: 11 }),
      ]);
      expect(counts).toEqual([10, 10, 7, 5, 0]);
    } finally {
      backend.close();
    }
  });
});
