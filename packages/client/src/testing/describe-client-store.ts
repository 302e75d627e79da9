import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { sampleCommitted, sampleEnvelope } from '@eventloom/protocol/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import type { ClientMeta, ClientStore } from '../client-store.ts';

/**
 * The contract every {@link ClientStore} keeps (see its invariants). `create(name)` returns a new,
 * unopened store on the database `name`; two stores made with the same name share the database.
 *
 * @example describeClientStore('dexie on fake-indexeddb', (name) => new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } }));
 */
export function describeClientStore(label: string, create: (name: string) => ClientStore): void {
  describe(`ClientStore contract: ${label}`, () => {
    const open: ClientStore[] = [];
    let n = 0;
    const fresh = async (name = `contract-${label}-${Date.now()}-${++n}`) => {
      const store = create(name);
      open.push(store);
      const meta = await store.open();
      return { store, meta, name };
    };
    afterEach(() => {
      for (const store of open.splice(0)) store.close();
    });

    it('makes a client id on first open and keeps it, with its counters, on reopen', async () => {
      const { store, meta, name } = await fresh();
      expect(meta).toEqual({
        clientId: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
        clientSeq: 0,
        hlc: undefined,
        position: 0,
        epoch: 0,
      });
      await store.appendPending((m) => build(m, 2));
      await store.insertConfirmed([sampleCommitted({ position: 1 })]);
      store.close();
      const again = await fresh(name);
      expect(again.meta).toEqual({ ...meta, clientSeq: 2, hlc: hlcOf(2), position: 1 });
      const other = await fresh();
      expect(other.meta.clientId).not.toBe(meta.clientId);
    });

    it('appends pending events with gapless clientSeqs and reads them back in order', async () => {
      const { store, meta } = await fresh();
      const first = await store.appendPending((m) => build(m, 3));
      expect(first.before).toEqual(meta);
      expect(first.meta).toMatchObject({ clientSeq: 3, hlc: hlcOf(3) });
      expect(first.rows.map((r) => r.clientSeq)).toEqual([1, 2, 3]);
      const second = await store.appendPending((m) => build(m, 2));
      expect(second.rows.map((r) => r.clientSeq)).toEqual([4, 5]);
      const rows = await store.readPending();
      expect(rows.map((r) => r.clientSeq)).toEqual([1, 2, 3, 4, 5]);
      expect(rows.map((r) => r.event)).toEqual([...first.rows, ...second.rows].map((r) => r.event));
      expect((await store.readPending({ afterSeq: 2, limit: 2 })).map((r) => r.clientSeq)).toEqual([3, 4]);
      expect(await store.readMeta()).toEqual(second.meta);
    });

    it('writes nothing when the build throws or gives wrong seqs', async () => {
      const { store, meta } = await fresh();
      await expect(
        store.appendPending(() => {
          throw new ClientError(ClientErrorCode.tooLarge, 'too big');
        }),
      ).rejects.toMatchObject({ name: 'ClientError', code: 'too-large' });
      await expect(
        store.appendPending((m) => ({ events: [envelope(m, m.clientSeq + 2)], hlc: hlcOf(1) })),
      ).rejects.toBeInstanceOf(ClientError);
      expect(await store.readPending()).toEqual([]);
      expect(await store.readMeta()).toEqual(meta);
      const ok = await store.appendPending((m) => build(m, 1));
      expect(ok.rows[0]!.clientSeq).toBe(1);
    });

    it('keeps clientSeq gapless and unique when two stores append to one database at once', async () => {
      const a = await fresh();
      const b = await fresh(a.name);
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a.store : b.store).appendPending((m) => build(m, 1 + (i % 3))),
        ),
      );
      const seqs = (await a.store.readPending()).map((r) => r.event.clientSeq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect((await b.store.readMeta()).clientSeq).toBe(seqs.length);
    });

    it('records acks on outbox rows and skips rows that are gone', async () => {
      const { store } = await fresh();
      await store.appendPending((m) => build(m, 3));
      await store.markAcked([
        { clientSeq: 2, position: 10, streamVersion: 4 },
        { clientSeq: 9, position: 11, streamVersion: 5 },
      ]);
      const rows = await store.readPending();
      expect(rows.map((r) => r.acked)).toEqual([undefined, { position: 10, streamVersion: 4 }, undefined]);
      expect((await store.readPending({ unackedOnly: true })).map((r) => r.clientSeq)).toEqual([1, 3]);
    });

    it('moves rejected events out of the outbox with their reason and moves the epoch', async () => {
      const { store, meta } = await fresh();
      const { rows } = await store.appendPending((m) => build(m, 3));
      const result = await store.reject([
        { clientSeq: 2, code: 'wrong-expected-version', message: 'moved', currentVersion: 7 },
        { clientSeq: 42, code: 'invalid', message: 'gone' },
      ]);
      expect(result.meta.epoch).toBe(meta.epoch + 1);
      expect(result.rejected).toEqual([
        {
          clientSeq: 2,
          event: rows[1]!.event,
          code: 'wrong-expected-version',
          message: 'moved',
          currentVersion: 7,
          at: expect.any(Number),
        },
      ]);
      expect((await store.readPending()).map((r) => r.clientSeq)).toEqual([1, 3]);
      expect(await store.readRejected()).toEqual(result.rejected);
      const none = await store.reject([{ clientSeq: 2, code: 'invalid', message: 'again' }]);
      expect(none).toEqual({ meta: result.meta, rejected: [] });
    });

    it('stores confirmed events once, in position order, and moves the position', async () => {
      const { store } = await fresh();
      const events = positions(1, 5);
      const first = await store.insertConfirmed(events.slice(0, 3));
      expect(first.fresh).toEqual(events.slice(0, 3));
      expect(first.meta.position).toBe(3);
      const second = await store.insertConfirmed(events.slice(1));
      expect(second.before.position).toBe(3);
      expect(second.fresh).toEqual(events.slice(3));
      expect(await store.readConfirmed()).toEqual(events);
      const again = await store.insertConfirmed(events);
      expect(again.fresh).toEqual([]);
      expect(again.meta).toEqual(second.meta);
      expect(await store.readConfirmed()).toEqual(events);
    });

    it('refuses confirmed events out of position order, storing none of them', async () => {
      const { store, meta } = await fresh();
      const [a, b] = positions(1, 2);
      await expect(store.insertConfirmed([b!, a!])).rejects.toMatchObject({ code: 'invalid' });
      await expect(store.insertConfirmed([a!, a!])).rejects.toMatchObject({ code: 'invalid' });
      expect(await store.readConfirmed()).toEqual([]);
      expect(await store.readMeta()).toEqual(meta);
    });

    it('moves the position to `until` for a filtered page, and keeps gaps in positions', async () => {
      const { store } = await fresh();
      const result = await store.insertConfirmed(
        [sampleCommitted({ position: 2 }), sampleCommitted({ position: 5 })],
        { until: 9 },
      );
      expect(result.meta.position).toBe(9);
      expect((await store.insertConfirmed([sampleCommitted({ position: 7 })])).fresh).toEqual([]);
      expect((await store.readConfirmed()).map((e) => e.position)).toEqual([2, 5]);
      expect((await store.insertConfirmed([], { until: 4 })).meta.position).toBe(9);
    });

    it('takes an outbox row out when its event comes back confirmed, and only then', async () => {
      const { store, meta } = await fresh();
      const { rows } = await store.appendPending((m) => build(m, 3));
      const impostor = { ...rows[2]!.event, id: sampleCommitted().id };
      const result = await store.insertConfirmed([
        sampleCommitted({ position: 1, clientId: 'someone-else', clientSeq: 1 }),
        confirmed(rows[0]!.event, 2),
        confirmed(impostor, 3),
      ]);
      expect(result.removed).toEqual([rows[0]]);
      expect(result.meta.epoch).toBe(meta.epoch);
      expect((await store.readPending()).map((r) => r.clientSeq)).toEqual([2, 3]);
      const quiet = await store.insertConfirmed([sampleCommitted({ position: 4 })]);
      expect(quiet.meta.epoch).toBe(result.meta.epoch);
    });

    it('reads confirmed events by range, stream, type and limit, across pages and many small inserts', async () => {
      const { store } = await fresh();
      const events = Array.from({ length: 700 }, (_, i) =>
        sampleCommitted({
          position: i + 1,
          stream: `list:${i % 7}`,
          type: i % 3 === 0 ? 'todo.done' : 'todo.added',
        }),
      );
      await store.insertConfirmed(events.slice(0, 300));
      for (let i = 300; i < 340; i++) await store.insertConfirmed([events[i]!]);
      await store.insertConfirmed(events.slice(340, 345));
      await store.insertConfirmed(events.slice(345));
      expect(await store.readConfirmed()).toEqual(events);
      expect(await store.readConfirmed({ from: 299, until: 310 })).toEqual(events.slice(299, 310));
      expect(await store.readConfirmed({ from: 690 })).toEqual(events.slice(690));
      expect(await store.readConfirmed({ from: 700 })).toEqual([]);
      expect(await store.readConfirmed({ stream: 'list:3' })).toEqual(
        events.filter((e) => e.stream === 'list:3'),
      );
      expect(await store.readConfirmed({ stream: 'list:3', from: 500, until: 600 })).toEqual(
        events.filter((e) => e.stream === 'list:3' && e.position > 500 && e.position <= 600),
      );
      expect(await store.readConfirmed({ types: ['todo.done'], from: 250, limit: 30 })).toEqual(
        events.filter((e) => e.type === 'todo.done' && e.position > 250).slice(0, 30),
      );
      expect(await store.readConfirmed({ from: 10, limit: 600 })).toEqual(events.slice(10, 610));
      expect(await store.readConfirmed({ stream: 'nowhere' })).toEqual([]);
    });

    it('tells what changed since a cursor, and resets the pending list after a rejection', async () => {
      const { store, meta } = await fresh();
      const { rows } = await store.appendPending((m) => build(m, 3));
      const cursor = { position: 0, clientSeq: 1, epoch: meta.epoch };
      await store.insertConfirmed([sampleCommitted({ position: 1, clientId: 'x' })]);
      const changes = await store.readChanges(cursor);
      expect(changes.pendingReset).toBe(false);
      expect(changes.confirmed.map((e) => e.position)).toEqual([1]);
      expect(changes.pending).toEqual(rows.slice(1));
      const now = {
        position: changes.meta.position,
        clientSeq: changes.meta.clientSeq,
        epoch: changes.meta.epoch,
      };
      expect(await store.readChanges(now)).toEqual({
        meta: changes.meta,
        confirmed: [],
        pending: [],
        pendingReset: false,
      });
      // A confirmation shows in the log (the reader drops the pending event with that id) ...
      await store.insertConfirmed([confirmed(rows[1]!.event, 2)]);
      const confirmation = await store.readChanges(now);
      expect(confirmation.pendingReset).toBe(false);
      expect(confirmation.confirmed.map((e) => e.id)).toEqual([rows[1]!.event.id]);
      // ... a rejection does not: the reader gets the whole outbox again.
      await store.reject([{ clientSeq: 3, code: 'invalid', message: 'no' }]);
      const reset = await store.readChanges(now);
      expect(reset.pendingReset).toBe(true);
      expect(reset.pending).toEqual([rows[0]]);
      expect(reset.confirmed.map((e) => e.position)).toEqual([2]);
    });

    it('stores snapshots by id, Maps included, and drops older versions of the same projection', async () => {
      const { store } = await fresh();
      const state = new Map([['list:1', { open: 2, tags: ['a'] }]]);
      await store.putSnapshots([{ id: 'p@1', name: 'p', version: 1, position: 10, state }]);
      expect(await store.readSnapshot('p@1')).toEqual({
        id: 'p@1',
        name: 'p',
        version: 1,
        position: 10,
        state,
      });
      await store.putSnapshots([{ id: 'q@1', name: 'q', version: 1, position: 3, state: 7 }]);
      await store.putSnapshots([{ id: 'p@2', name: 'p', version: 2, position: 12, state: [1] }]);
      expect(await store.readSnapshot('p@1')).toBeUndefined();
      expect(await store.readSnapshot('p@2')).toMatchObject({ position: 12, state: [1] });
      expect(await store.readSnapshot('q@1')).toMatchObject({ position: 3, state: 7 });
      await store.putSnapshots([{ id: 'p@2', name: 'p', version: 2, position: 20, state: [2] }]);
      expect(await store.readSnapshot('p@2')).toMatchObject({ position: 20, state: [2] });
    });

    it('fails with database-closed after close', async () => {
      const { store } = await fresh();
      store.close();
      await expect(store.readMeta()).rejects.toMatchObject({ name: 'ClientError', code: 'database-closed' });
      await expect(store.appendPending((m) => build(m, 1))).rejects.toMatchObject({
        code: 'database-closed',
      });
    });
  });
}

function hlcOf(seq: number): string {
  return `${String(1_800_000_000_000 + seq).padStart(15, '0')}-0000000000-store`;
}

function envelope(meta: ClientMeta, clientSeq: number): EventEnvelope {
  return sampleEnvelope({
    clientId: meta.clientId,
    clientSeq,
    hlc: hlcOf(clientSeq),
    stream: `list:${clientSeq % 2}`,
  });
}

function build(meta: ClientMeta, count: number): { events: EventEnvelope[]; hlc: string } {
  const events = Array.from({ length: count }, (_, i) => envelope(meta, meta.clientSeq + i + 1));
  return { events, hlc: events.at(-1)!.hlc };
}

function confirmed(event: EventEnvelope, position: number): CommittedEvent {
  return { ...event, position, streamVersion: position, recordedAt: '2026-11-27T10:00:00.000Z' };
}

function positions(from: number, to: number): CommittedEvent[] {
  return Array.from({ length: to - from + 1 }, (_, i) =>
    sampleCommitted({ position: from + i, stream: `list:${i % 3}` }),
  );
}
