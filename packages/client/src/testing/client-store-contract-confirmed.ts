import { sampleCommitted } from '@eventloom/protocol/testing';
import { expect, it } from 'vitest';
import { build, confirmed, positions, type FreshStore } from './client-store-contract-fixtures.ts';

/** The confirmed log: inserts, order, filtered pages, confirmations, reads and changes. */
export function confirmedLogContract(fresh: FreshStore): void {
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
}
