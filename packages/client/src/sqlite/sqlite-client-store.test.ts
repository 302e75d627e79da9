import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { describeClientStore } from '../testing/describe-client-store.ts';
import { SqliteClientStore } from './sqlite-client-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The same contract as Dexie and memory; reopening a name opens the same file again.
describeClientStore('sqlite', (name) => new SqliteClientStore({ path: join(dir, `${name}.db`) }));

it('keeps what it stored in the file: a new connection after the last one closed reads it back', async () => {
  const path = join(dir, `reopen-${Date.now()}.db`);
  const store = new SqliteClientStore({ path });
  const meta = await store.open();
  const event = sampleEnvelope({ clientId: meta.clientId, clientSeq: 1 });
  await store.appendPending(() => ({ events: [event], hlc: event.hlc }));
  store.close();
  // Not the shared connection of this process: the file itself.
  const raw = new Database(path, { readonly: true });
  expect(raw.prepare('SELECT count(*) FROM "rows.outbox"').pluck().get()).toBe(1);
  raw.close();
  const again = new SqliteClientStore({ path });
  expect((await again.open()).clientId).toBe(meta.clientId);
  expect(await again.readPending()).toEqual([{ clientSeq: 1, event }]);
  again.close();
});

it('rolls a failed transaction back, leaving the file as it was', async () => {
  const store = new SqliteClientStore({ path: join(dir, `rollback-${Date.now()}.db`) });
  const meta = await store.open();
  const events = [1, 2].map((clientSeq) => sampleEnvelope({ clientId: meta.clientId, clientSeq }));
  await expect(
    store.appendPending(() => ({ events: [events[0]!, { ...events[1]!, clientSeq: 5 }], hlc: undefined })),
  ).rejects.toMatchObject({ name: 'ClientError' });
  expect(await store.readPending()).toEqual([]);
  expect(await store.readMeta()).toEqual(meta);
  store.close();
});
