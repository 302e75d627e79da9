/**
 * The sync port settles acks and refusals by the store's rows, not only the view's pending list:
 * a row another tab appended and the leader pushed before its view read it (issue 16 §3).
 */
import { describe, expect, it } from 'vitest';
import { createEventloom } from './eventloom.ts';
import { MemoryClientStore, type MemoryDatabase } from './memory-client-store.ts';
import { TodoAdded, todoRegistry } from './testing/todo-model.ts';
import { syncPortOf } from './sync-port-access.ts';

async function twoTabs() {
  const databases = new Map<string, MemoryDatabase>();
  const name = `tabs-${Math.random().toString(36).slice(2)}`;
  const open = () =>
    createEventloom({
      name,
      registry: todoRegistry,
      storage: { store: new MemoryClientStore({ name, databases }) },
    });
  return { leader: await open(), other: await open() };
}

describe('acks and refusals of rows another tab appended', () => {
  it('records the ack of a row the leader has not read yet', async () => {
    const { leader, other } = await twoTabs();
    try {
      const event = await other.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
      // At once: the leader's view has not heard of the row (tabs hear of it in a later task).
      await syncPortOf(leader).markAcked([{ id: event.id, position: 1, streamVersion: 1 }]);
      expect((await syncPortOf(other).readOutbox()).map((row) => row.acked)).toEqual([
        { position: 1, streamVersion: 1 },
      ]);
    } finally {
      await other.close();
      await leader.close();
    }
  });

  it('parks the refusal of a row the leader has not read yet', async () => {
    const { leader, other } = await twoTabs();
    try {
      const event = await other.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
      const { deadLetters } = await syncPortOf(leader).markRejected([
        { id: event.id, code: 'invalid', message: 'refused' },
      ]);
      expect(deadLetters.map((letter) => letter.event.id)).toEqual([event.id]);
      expect(await syncPortOf(other).readOutbox()).toEqual([]);
    } finally {
      await other.close();
      await leader.close();
    }
  });
});

/** A memory store that counts the reads of the outbox and the writes of acks. */
class CountingStore extends MemoryClientStore {
  outboxReads = 0;
  ackWrites = 0;

  override readPending(...args: Parameters<MemoryClientStore['readPending']>) {
    this.outboxReads++;
    return super.readPending(...args);
  }

  override markAcked(...args: Parameters<MemoryClientStore['markAcked']>) {
    this.ackWrites++;
    return super.markAcked(...args);
  }
}

describe('an ack that comes after its event came back confirmed', () => {
  it('records nothing and reads nothing: the confirmation took the row out of the outbox', async () => {
    const store = new CountingStore({ name: 'ack-after-confirm', databases: new Map() });
    const loom = await createEventloom({
      name: 'ack-after-confirm',
      registry: todoRegistry,
      storage: { store },
    });
    try {
      const event = await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
      const port = syncPortOf(loom);
      await port.insertConfirmed(
        [{ ...event, position: 1, streamVersion: 1, recordedAt: new Date().toISOString() }],
        {
          from: 0,
        },
      );
      const reads = store.outboxReads;
      await port.markAcked([{ id: event.id, position: 1, streamVersion: 1 }]);
      expect([store.outboxReads - reads, store.ackWrites]).toEqual([0, 0]);
      expect(await port.readOutbox()).toEqual([]);
      // An ack of an event not confirmed yet is recorded, as before.
      const next = await loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
      await port.markAcked([{ id: next.id, position: 2, streamVersion: 2 }]);
      expect((await port.readOutbox()).map((row) => row.acked)).toEqual([{ position: 2, streamVersion: 2 }]);
    } finally {
      await loom.close();
    }
  });
});
