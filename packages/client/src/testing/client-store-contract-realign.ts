import { sampleCommitted } from '@eventloom/protocol/testing';
import { expect, it } from 'vitest';
import { build, confirmed, positions, type FreshStore } from './client-store-contract-fixtures.ts';

/** History inserted below the position, and realign against the hub. */
export function historyAndRealignContract(fresh: FreshStore): void {
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

  it("realign: a device that met the hub and lost writes it had pushed keeps its rows' seqs, and moves its counter past the hub", async () => {
    // Killed while its rows 3 and 4 were pushed and their write was in flight: the hub holds 1–4,
    // the device 1–2, unacked. Its rows may be the very events the hub holds at 1 and 2.
    const { store } = await fresh();
    await store.writeSyncState({ hubId: 'hub-1' });
    const { rows } = await store.appendPending((m) => build(m, 2));
    const before = await store.readMeta();
    const result = await store.realign({ hubClientSeq: 4, hubHead: 0 });
    expect(result.renumbered.size).toBe(0);
    expect((await store.readPending()).map((r) => [r.clientSeq, r.event])).toEqual(
      rows.map((r) => [r.clientSeq, r.event]),
    );
    expect(result.meta).toEqual({ ...before, clientSeq: 4 });
    expect((await store.appendPending((m) => build(m, 1))).rows[0]!.clientSeq).toBe(5);
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

  it('realign: rows above the hub’s seq that do not follow on from it are numbered anew', async () => {
    const { store } = await fresh();
    const { rows } = await store.appendPending((m) => build(m, 4));
    await store.markAcked([{ clientSeq: 1, position: 1 }]);
    // Seq 3 left without the hub deciding it (refused here): 2 and 4 are not 2 and 3.
    await store.reject([{ clientSeq: 3, code: 'invalid', message: 'x' }]);
    const before = await store.readMeta();
    const result = await store.realign({ hubClientSeq: 1, hubHead: 1 });
    expect([...result.renumbered]).toEqual([
      [2, 2],
      [4, 3],
    ]);
    expect(result.meta).toEqual({ ...before, clientSeq: 3, epoch: before.epoch + 1 });
    expect((await store.readPending()).map((r) => [r.clientSeq, r.event.id])).toEqual([
      [1, rows[0]!.event.id],
      [2, rows[1]!.event.id],
      [3, rows[3]!.event.id],
    ]);
  });

  it('realign: from a seq the hub holds for other events, the undecided rows are numbered past the hub', async () => {
    const { store } = await fresh();
    // Seq 2 was lost on the device (the hub stored it); 2 and 3 were given again, offline.
    const { rows } = await store.appendPending((m) => build(m, 3));
    await store.markAcked([{ clientSeq: 1, position: 1 }]);
    await store.insertConfirmed([confirmed(rows[0]!.event, 1)]);
    const before = await store.readMeta();
    const result = await store.realign({ hubClientSeq: 2, hubHead: 0, usedFrom: 2 });
    expect([...result.renumbered]).toEqual([
      [2, 3],
      [3, 4],
    ]);
    // hubHead is not checked: the log stays.
    expect(result.meta).toEqual({ ...before, clientSeq: 4, epoch: before.epoch + 1 });
    expect(await store.readConfirmed()).toEqual([confirmed(rows[0]!.event, 1)]);
    const pending = await store.readPending();
    expect(pending.map((r) => [r.clientSeq, r.event.clientSeq, r.event.id])).toEqual([
      [3, 3, rows[1]!.event.id],
      [4, 4, rows[2]!.event.id],
    ]);
    expect((await store.appendPending((m) => build(m, 1))).rows[0]!.clientSeq).toBe(5);
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
}
