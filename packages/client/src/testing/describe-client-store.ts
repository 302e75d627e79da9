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
        history: 0,
        subscriptions: undefined,
        hubId: undefined,
      });
      await store.appendPending((m) => build(m, 2));
      await store.insertConfirmed([sampleCommitted({ position: 1 })]);
      await store.writeSyncState({ subscriptions: ['list:*'], hubId: 'hub-1' });
      store.close();
      const again = await fresh(name);
      expect(again.meta).toEqual({
        ...meta,
        clientSeq: 2,
        hlc: hlcOf(2),
        position: 1,
        subscriptions: ['list:*'],
        hubId: 'hub-1',
      });
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

    it('stores an append with an idempotency key once, whichever store of the database repeats it', async () => {
      const { store, name } = await fresh();
      const first = await store.appendPending((m) => build(m, 2), { key: 'k1' });
      expect(first.rows.map((r) => r.clientSeq)).toEqual([1, 2]);
      expect(first.duplicate).toBeUndefined();
      const other = await fresh(name);
      let built = 0;
      const again = await other.store.appendPending(
        (m) => {
          built++;
          return build(m, 2);
        },
        { key: 'k1' },
      );
      expect(again).toMatchObject({ rows: [], replaced: [], duplicate: true });
      expect(built).toBe(0);
      expect(again.meta).toEqual(first.meta);
      // A key is recorded only with what it stored: a failed append leaves it free.
      await expect(
        store.appendPending(
          () => {
            throw new ClientError(ClientErrorCode.invalid, 'no');
          },
          { key: 'k2' },
        ),
      ).rejects.toMatchObject({ code: 'invalid' });
      expect((await store.appendPending((m) => build(m, 1), { key: 'k2' })).rows).toHaveLength(1);
      expect((await store.readPending()).map((r) => r.clientSeq)).toEqual([1, 2, 3]);
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

    it('moves rejected events into the dead letters with their reason, or drops them, and moves the epoch', async () => {
      const { store, meta } = await fresh();
      const command = { decider: 'todos', command: { id: 'a' }, first: 2, attempt: 0 };
      const { rows } = await store.appendPending((m) => ({ ...build(m, 4), command }));
      expect(rows.map((r) => r.command)).toEqual([command, command, command, command]);
      const result = await store.reject([
        { clientSeq: 2, code: 'wrong-expected-version', message: 'moved', currentVersion: 7 },
        { clientSeq: 3, code: 'unauthorized', message: 'no', drop: true },
        { clientSeq: 42, code: 'invalid', message: 'gone' },
      ]);
      expect(result.meta.epoch).toBe(meta.epoch + 1);
      expect(result.deadLetters).toEqual([
        {
          id: `eventloom.sync/${rows[1]!.event.id}`,
          handler: 'eventloom.sync',
          event: rows[1]!.event,
          error: { name: 'ClientError', code: 'wrong-expected-version', message: 'moved' },
          attempts: 1,
          firstFailedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          lastFailedAt: expect.any(String),
          rejection: { clientSeq: 2, currentVersion: 7, command },
        },
      ]);
      expect(result.dropped).toEqual([rows[2]]);
      expect((await store.readPending()).map((r) => r.clientSeq)).toEqual([1, 4]);
      expect(await store.readDeadLetters()).toEqual(result.deadLetters);
      const none = await store.reject([{ clientSeq: 2, code: 'invalid', message: 'again' }]);
      expect(none).toEqual({ meta: result.meta, deadLetters: [], dropped: [] });
      await store.reject([{ clientSeq: 1, code: 'invalid', message: 'bad' }]);
      expect((await store.readDeadLetters()).map((d) => d.rejection.clientSeq)).toEqual([1, 2]);
      await store.deleteDeadLetters([result.deadLetters[0]!.id, 'eventloom.sync/unknown']);
      expect((await store.readDeadLetters()).map((d) => d.rejection.clientSeq)).toEqual([1]);
    });

    it('replaces outbox rows in the same transaction as an append, moving the epoch', async () => {
      const { store } = await fresh();
      const first = await store.appendPending((m) => build(m, 3));
      const second = await store.appendPending((m) => build(m, 1), { replace: [1, 3, 9] });
      expect(second.replaced).toEqual([first.rows[0], first.rows[2]]);
      expect(second.meta).toMatchObject({ clientSeq: 4, epoch: first.meta.epoch + 1 });
      expect((await store.readPending()).map((r) => r.clientSeq)).toEqual([2, 4]);
      await expect(
        store.appendPending(
          () => {
            throw new ClientError(ClientErrorCode.invalid, 'no');
          },
          { replace: [2] },
        ),
      ).rejects.toMatchObject({ code: 'invalid' });
      expect((await store.readPending()).map((r) => r.clientSeq)).toEqual([2, 4]);
    });

    it('settles acked rows the position passed without their event (streams the log does not hold)', async () => {
      const { store } = await fresh();
      const { rows } = await store.appendPending((m) => build(m, 4));
      await store.insertConfirmed([sampleCommitted({ position: 5, clientId: 'x' })]);
      // Acked at or below the position: its event is not in this log and will not come back.
      const acked = await store.markAcked([
        { clientSeq: 1, position: 3 },
        { clientSeq: 2, position: 7 },
        { clientSeq: 3, position: 9, streamVersion: 2 },
      ]);
      expect(acked.settled).toEqual([rows[0]]);
      expect(acked.meta.epoch).toBe(1);
      // The log moves past 7 without it (a filtered page up to 8): it leaves too; 9 stays.
      const inserted = await store.insertConfirmed([sampleCommitted({ position: 6, clientId: 'x' })], {
        until: 8,
      });
      expect(inserted.settled.map((r) => r.clientSeq)).toEqual([2]);
      expect(inserted.meta.epoch).toBe(2);
      expect(await store.readPending()).toEqual([
        { ...rows[2], acked: { position: 9, streamVersion: 2 } },
        rows[3],
      ]);
      // An acked event that does come back is confirmed, not settled.
      const back = await store.insertConfirmed([confirmed(rows[2]!.event, 9)]);
      expect(back.removed.map((r) => r.clientSeq)).toEqual([3]);
      expect(back.settled).toEqual([]);
      expect(back.meta.epoch).toBe(2);
    });

    it('stores history below the position in order, once, and moves the history counter', async () => {
      const { store } = await fresh();
      const { rows } = await store.appendPending((m) => build(m, 1));
      const log = Array.from({ length: 600 }, (_, i) =>
        sampleCommitted({ position: i + 1, stream: `s:${i % 3}` }),
      );
      const mine = confirmed(rows[0]!.event, 399);
      const held = log.filter((e) => e.stream !== 's:2');
      const missing = log.filter((e) => e.stream === 's:2').map((e) => (e.position === 399 ? mine : e));
      await store.insertConfirmed(
        held.filter((e) => e.position <= 500),
        { until: 500 },
      );
      await store.putSnapshots([{ id: 'p@1', name: 'p', version: 1, position: 500, state: 1 }]);
      const before = await store.readMeta();
      const cursor = { position: 500, clientSeq: 1, epoch: before.epoch, history: before.history };
      const result = await store
        .insertHistory([...missing.slice(0, 10), ...missing.slice(5)], {
          subscriptions: ['s:*'],
        })
        .catch((e: unknown) => e);
      expect(result).toMatchObject({ code: 'invalid' });
      const ok = await store.insertHistory(missing, { subscriptions: ['s:*'] });
      const below = missing.filter((e) => e.position <= 500);
      expect(ok.inserted).toEqual(below);
      expect(ok.removed).toEqual(rows);
      expect(ok.meta).toMatchObject({
        position: 500,
        history: before.history + 1,
        epoch: before.epoch + 1,
        subscriptions: ['s:*'],
      });
      const expected = [...held, ...missing]
        .filter((e) => e.position <= 500)
        .sort((a, b) => a.position - b.position);
      expect(await store.readConfirmed()).toEqual(expected);
      expect(await store.readConfirmed({ stream: 's:2', from: 100, until: 200 })).toEqual(
        below.filter((e) => e.position > 100 && e.position <= 200),
      );
      expect(await store.readConfirmed({ from: 250, limit: 5 })).toEqual(expected.slice(250, 255));
      expect(await store.readSnapshot('p@1')).toBeUndefined();
      expect(await store.readPending()).toEqual([]);
      const changes = await store.readChanges(cursor);
      expect(changes.historyReset).toBe(true);
      // Held events are not stored twice, and the history does not move for nothing.
      const again = await store.insertHistory(missing);
      expect(again.inserted).toEqual([]);
      expect(again.meta.history).toBe(ok.meta.history);
      expect(await store.readConfirmed()).toEqual(expected);
      // Later inserts go on after it.
      await store.insertConfirmed(log.slice(500, 520));
      expect((await store.readConfirmed({ from: 495, limit: 10 })).map((e) => e.position)).toEqual([
        496, 497, 498, 499, 500, 501, 502, 503, 504, 505,
      ]);
    });

    it('realign: a cleared device moves its counter past the hub and numbers its rows after it', async () => {
      const { store } = await fresh();
      const { rows } = await store.appendPending((m) => build(m, 2));
      const before = await store.readMeta();
      const result = await store.realign({ hubClientSeq: 5, hubHead: 0 });
      expect([...result.renumbered]).toEqual([
        [1, 6],
        [2, 7],
      ]);
      const pending = await store.readPending();
      expect(pending.map((r) => [r.clientSeq, r.event.clientSeq, r.event.id])).toEqual([
        [6, 6, rows[0]!.event.id],
        [7, 7, rows[1]!.event.id],
      ]);
      expect(result.meta).toEqual({ ...before, clientSeq: 7, epoch: before.epoch + 1 });
      expect(await store.readMeta()).toEqual(result.meta);
      const next = await store.appendPending((m) => build(m, 1));
      expect(next.rows[0]!.clientSeq).toBe(8);
      // Nothing pending: the counter alone moves past the hub's.
      const empty = (await fresh()).store;
      expect((await empty.realign({ hubClientSeq: 9, hubHead: 0 })).meta.clientSeq).toBe(9);
    });

    it('realign: rows the hub decided keep their seqs, and a device in line changes nothing', async () => {
      const { store } = await fresh();
      await store.appendPending((m) => build(m, 3));
      await store.markAcked([{ clientSeq: 1, position: 1 }]);
      const before = await store.readMeta();
      for (const hubClientSeq of [3, 2, 1]) {
        const result = await store.realign({ hubClientSeq, hubHead: 0 });
        expect(result.renumbered.size).toBe(0);
        expect(result.meta).toEqual(before);
      }
      expect((await store.readPending()).map((r) => r.clientSeq)).toEqual([1, 2, 3]);
      // No row above the hub's seq and a counter ahead of it: the hub lost its decisions on them
      // (refusals of a restored log), so those seqs are given out again.
      await store.reject([
        { clientSeq: 2, code: 'invalid', message: 'x' },
        { clientSeq: 3, code: 'invalid', message: 'x' },
      ]);
      await store.insertConfirmed([confirmed((await store.readPending())[0]!.event, 1)]);
      expect((await store.realign({ hubClientSeq: 1, hubHead: 1 })).meta.clientSeq).toBe(1);
    });

    it('realign: a restored log drops the confirmed log above a position and returns own events to the outbox', async () => {
      const { store } = await fresh();
      const { rows } = await store.appendPending((m) => build(m, 4));
      const others = positions(1, 3);
      // own 1 @1, other @2, own 2 @3, own 3 @4, other @5; own 4 pending; a snapshot at 5.
      const log = [
        confirmed(rows[0]!.event, 1),
        { ...others[0]!, position: 2 },
        confirmed(rows[1]!.event, 3),
        confirmed(rows[2]!.event, 4),
        { ...others[1]!, position: 5 },
      ];
      await store.insertConfirmed(log);
      await store.putSnapshots([{ id: 'p@1', name: 'p', version: 1, position: 5, state: 1 }]);
      const before = await store.readMeta();
      expect(before.position).toBe(5);
      // The restored log holds positions 1–2, and own seq 1 only.
      const result = await store.realign({ hubClientSeq: 1, hubHead: 2 });
      expect(result.dropped).toEqual([log[4]]);
      expect(result.returned.map((r) => [r.clientSeq, r.event.id])).toEqual([
        [2, rows[1]!.event.id],
        [3, rows[2]!.event.id],
      ]);
      expect(result.returned[0]!.event).toEqual(rows[1]!.event);
      expect(result.meta).toEqual({
        ...before,
        position: 2,
        clientSeq: 4,
        history: before.history + 1,
        epoch: before.epoch + 1,
      });
      expect(await store.readConfirmed()).toEqual(log.slice(0, 2));
      expect((await store.readPending()).map((r) => [r.clientSeq, r.event.id, r.acked])).toEqual([
        [2, rows[1]!.event.id, undefined],
        [3, rows[2]!.event.id, undefined],
        [4, rows[3]!.event.id, undefined],
      ]);
      expect(await store.readSnapshot('p@1')).toBeUndefined();
      const changes = await store.readChanges({
        position: 5,
        clientSeq: 4,
        epoch: before.epoch,
        history: before.history,
      });
      expect(changes).toMatchObject({ historyReset: true, pendingReset: true });
      // The log goes on from the new position: the events the hub sends now are stored.
      const redone = confirmed({ ...rows[1]!.event, clientSeq: 2 }, 3);
      const inserted = await store.insertConfirmed([redone]);
      expect(inserted.fresh).toEqual([redone]);
      expect(inserted.removed.map((r) => r.event.id)).toEqual([rows[1]!.event.id]);
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
      const cursor = { position: 0, clientSeq: 1, epoch: meta.epoch, history: meta.history };
      await store.insertConfirmed([sampleCommitted({ position: 1, clientId: 'x' })]);
      const changes = await store.readChanges(cursor);
      expect(changes.pendingReset).toBe(false);
      expect(changes.confirmed.map((e) => e.position)).toEqual([1]);
      expect(changes.pending).toEqual(rows.slice(1));
      const now = {
        position: changes.meta.position,
        clientSeq: changes.meta.clientSeq,
        epoch: changes.meta.epoch,
        history: changes.meta.history,
      };
      expect(await store.readChanges(now)).toEqual({
        meta: changes.meta,
        confirmed: [],
        pending: [],
        pendingReset: false,
        historyReset: false,
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
