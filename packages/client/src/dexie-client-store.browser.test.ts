import { Dexie } from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientError } from './client-error.ts';
import { DexieClientStore } from './dexie-client-store.ts';
import { describeClientStore } from './testing/describe-client-store.ts';
import { holdBackLoggedFault } from './testing/hold-back-logged-fault.ts';
import { refusePuts } from './testing/refuse-puts.ts';
import { openNewerDatabase } from './testing/open-newer-database.ts';

// The contract on Chromium's real IndexedDB; dexie-client-store.test.ts runs it on fake-indexeddb.
describeClientStore('dexie on Chromium IndexedDB', (name) => new DexieClientStore({ name }));

describe('DexieClientStore storage failures (Chromium)', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  const fresh = async (onClosed?: (e: ClientError) => void) => {
    const name = `failures-${Date.now()}-${Math.random()}`;
    const store = new DexieClientStore({ name, ...(onClosed ? { onClosed } : {}) });
    await store.open();
    cleanup.push(
      () => Dexie.delete(name),
      () => store.close(),
    );
    return { store, name };
  };

  it('turns a QuotaExceededError in the middle of a write into quota-exceeded, with nothing written', async () => {
    const { store } = await fresh();
    await store.appendPending((m) => ({ events: [], hlc: m.hlc }));
    const before = await store.readMeta();
    // The browser's quota cannot be filled on demand: IndexedDB refuses the third row, which aborts
    // the real transaction after two rows were already put.
    const restore = refusePuts(['outbox'], (n) => n === 3);
    cleanup.push(restore);
    cleanup.push(holdBackLoggedFault('QuotaExceededError'));
    const { sampleEnvelope } = await import('@eventloom/protocol/testing');
    const build = (m: { clientId: string; clientSeq: number }) => ({
      events: [1, 2, 3, 4].map((i) => sampleEnvelope({ clientId: m.clientId, clientSeq: m.clientSeq + i })),
      hlc: undefined,
    });
    await expect(store.appendPending(build)).rejects.toMatchObject({
      name: 'ClientError',
      code: 'quota-exceeded',
    });
    expect(await store.readPending()).toEqual([]);
    expect(await store.readMeta()).toEqual(before);
    restore();
    expect((await store.appendPending(build)).rows.map((r) => r.clientSeq)).toEqual([1, 2, 3, 4]);
  });

  it('steps aside when a newer version opens the database elsewhere, and says so', async () => {
    const closed: ClientError[] = [];
    const { store, name } = await fresh((e) => closed.push(e));
    const newer = await openNewerDatabase(name);
    cleanup.push(() => newer.close());
    expect(closed.map((e) => e.code)).toEqual(['version-conflict']);
    await expect(store.readMeta()).rejects.toMatchObject({ code: 'version-conflict' });
    // Old code opening the newer database is refused too, instead of working on a schema it does not know.
    const old = new DexieClientStore({ name });
    await expect(old.open()).rejects.toMatchObject({ code: 'version-conflict' });
  });

  it('fails to open with database-blocked while another connection holds an older version open', async () => {
    const name = `blocked-${Date.now()}`;
    const raw = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    // No onversionchange handler: this connection never lets go, as a stuck old tab would.
    const store = new DexieClientStore({ name });
    await expect(store.open()).rejects.toMatchObject({ code: 'database-blocked' });
    raw.close();
    const retry = new DexieClientStore({ name });
    await expect(retry.open()).resolves.toMatchObject({ clientSeq: 0 });
    retry.close();
    await Dexie.delete(name);
  });
});
