import { expect, it } from 'vitest';
import { SENT_KEPT } from '../sent-pages.ts';
import { build, confirmed, type FreshStore } from './client-store-contract-fixtures.ts';

/**
 * Settled rows: a log that holds no stream (a write-only device) keeps no acked row for good,
 * the rows that leave are kept in `sent` (bounded), and a restored hub gets them back.
 */
export function sentContract(fresh: FreshStore): void {
  it('on a log that holds no stream, acked rows leave once they are four times as many as the rows to ack', async () => {
    const { store } = await fresh();
    await store.writeSyncState({ subscriptions: [] });
    const { rows } = await store.appendPending((m) => build(m, 10));
    // 4 acked, 6 to ack: they wait.
    const first = await store.markAcked(
      rows.slice(0, 4).map((r, i) => ({ clientSeq: r.clientSeq, position: i + 1 })),
    );
    expect(first.settled).toBe(0);
    expect(first.meta.epoch).toBe(0);
    expect((await store.readPending()).filter((r) => r.acked !== undefined)).toHaveLength(4);
    expect(await store.readSent([1])).toEqual([undefined]);
    // 7 acked, 3 to ack: they still wait. 8 acked, 2 to ack: every acked row leaves, with its
    // ack, into `sent`.
    const waiting = await store.markAcked([
      { clientSeq: 5, position: 5 },
      { clientSeq: 6, position: 6, streamVersion: 3 },
      { clientSeq: 7, position: 7 },
    ]);
    expect(waiting.settled).toBe(0);
    const second = await store.markAcked([{ clientSeq: 8, position: 8 }]);
    expect(second.settled).toBe(8);
    expect((await store.readSent([6]))[0]).toEqual({ ...rows[5], acked: { position: 6, streamVersion: 3 } });
    expect(second.meta.epoch).toBe(1);
    expect((await store.readPending()).map((r) => r.clientSeq)).toEqual([9, 10]);
    // The last acks leave nothing to ack: nothing stays.
    const last = await store.markAcked(
      rows.slice(8).map((r, i) => ({ clientSeq: r.clientSeq, position: i + 9 })),
    );
    expect(last.settled).toBe(2);
    expect(await store.readPending()).toEqual([]);
    const sent = await store.readSent(rows.map((r) => r.clientSeq));
    expect(sent.map((r) => [r?.event.id, r?.acked?.position])).toEqual(
      rows.map((r, i) => [r.event.id, i + 1]),
    );
    expect((await store.readMeta()).position).toBe(0);
  });

  it('on a log that holds streams (or before the sync recorded any), acked rows wait for their event', async () => {
    for (const subscriptions of [['*'], undefined]) {
      const { store } = await fresh();
      if (subscriptions) await store.writeSyncState({ subscriptions });
      const { rows } = await store.appendPending((m) => build(m, 2));
      const acked = await store.markAcked(rows.map((r, i) => ({ clientSeq: r.clientSeq, position: i + 1 })));
      expect(acked.settled).toBe(0);
      expect((await store.readPending()).map((r) => r.acked?.position)).toEqual([1, 2]);
      expect(await store.readSent([1, 2])).toEqual([undefined, undefined]);
    }
  });

  it(`keeps the last ${SENT_KEPT} seqs in sent (in pages: at most a page more), however many settle`, async () => {
    const { store } = await fresh();
    await store.writeSyncState({ subscriptions: [] });
    const extra = 5;
    const { rows } = await store.appendPending((m) => build(m, SENT_KEPT + extra));
    const all = await store.markAcked(rows.map((r, i) => ({ clientSeq: r.clientSeq, position: i + 1 })));
    // Counted whole: the rows too old for `sent` too.
    expect(all.settled).toBe(SENT_KEPT + extra);
    expect(await store.readPending()).toEqual([]);
    const edge = [extra, extra + 1, SENT_KEPT + extra];
    expect((await store.readSent(edge)).map((r) => r?.clientSeq)).toEqual([undefined, ...edge.slice(1)]);
    expect((await store.readSent([SENT_KEPT + extra]))[0]).toEqual({
      ...rows.at(-1),
      acked: { position: SENT_KEPT + extra },
    });
    // Later settles push the window on, a page at a time: the first page (seqs 6–261) goes once
    // all of it is older than the last SENT_KEPT seqs.
    const more = await store.appendPending((m) => build(m, 300));
    await store.markAcked(
      more.rows.map((r, i) => ({ clientSeq: r.clientSeq, position: SENT_KEPT + extra + i + 1 })),
    );
    expect((await store.readSent([261, 262, SENT_KEPT + 305])).map((r) => r?.clientSeq)).toEqual([
      undefined,
      262,
      SENT_KEPT + 305,
    ]);
  });

  it('keeps rows settled out of seq order, each once', async () => {
    const { store } = await fresh();
    await store.writeSyncState({ subscriptions: ['other'] });
    const { rows } = await store.appendPending((m) => build(m, 3));
    await store.markAcked([
      { clientSeq: 1, position: 9 },
      { clientSeq: 2, position: 5 },
      { clientSeq: 3, position: 6 },
    ]);
    expect((await store.insertConfirmed([], { until: 6 })).settled.map((r) => r.clientSeq)).toEqual([2, 3]);
    expect((await store.insertConfirmed([], { until: 9 })).settled.map((r) => r.clientSeq)).toEqual([1]);
    expect((await store.readSent([1, 2, 3])).map((r) => [r?.event.id, r?.acked?.position])).toEqual([
      [rows[0]!.event.id, 9],
      [rows[1]!.event.id, 5],
      [rows[2]!.event.id, 6],
    ]);
  });

  it('realign: a restored hub gets back the settled events and the acked rows it has not decided', async () => {
    const { store } = await fresh();
    await store.writeSyncState({ subscriptions: [], hubId: 'hub' });
    const { rows } = await store.appendPending((m) => build(m, 6));
    await store.markAcked(rows.map((r, i) => ({ clientSeq: r.clientSeq, position: i + 1 })));
    // 7 and 8 acked, 9–11 not (fewer acked than to ack): 7 and 8 wait in the outbox.
    const later = await store.appendPending((m) => build(m, 5));
    await store.markAcked([
      { clientSeq: 7, position: 7 },
      { clientSeq: 8, position: 8 },
    ]);
    expect((await store.readPending()).map((r) => [r.clientSeq, r.acked?.position])).toEqual([
      [7, 7],
      [8, 8],
      [9, undefined],
      [10, undefined],
      [11, undefined],
    ]);
    const before = await store.readMeta();
    // The restored log holds the device's seqs 1–2 (positions 1–2).
    const result = await store.realign({ hubClientSeq: 2, hubHead: 2 });
    expect(result.returned.map((r) => [r.clientSeq, r.event.id, r.acked])).toEqual(
      [...rows.slice(2), ...later.rows.slice(0, 2)].map((r) => [r.clientSeq, r.event.id, undefined]),
    );
    expect(result.returned[0]!.event).toEqual(rows[2]!.event);
    expect(result.meta).toEqual({ ...before, clientSeq: 11, epoch: before.epoch + 1 });
    expect((await store.readPending()).map((r) => [r.clientSeq, r.event.id, r.acked])).toEqual(
      [...rows.slice(2), ...later.rows].map((r) => [r.clientSeq, r.event.id, undefined]),
    );
    // What went back to the outbox is no longer in `sent`; what the hub holds still is.
    expect((await store.readSent([1, 2, 3, 6])).map((r) => r?.clientSeq)).toEqual([
      1,
      2,
      undefined,
      undefined,
    ]);
    // A hub in line with the device changes nothing.
    const again = await store.realign({ hubClientSeq: 2, hubHead: 2 });
    expect(again.returned).toEqual([]);
    expect(again.meta).toEqual(result.meta);
  });

  it('realign: an own event both settled and in the log (history pulled later) goes back once', async () => {
    const { store } = await fresh();
    await store.writeSyncState({ subscriptions: [], hubId: 'hub' });
    const { rows } = await store.appendPending((m) => build(m, 2));
    await store.markAcked(rows.map((r, i) => ({ clientSeq: r.clientSeq, position: i + 1 })));
    await store.insertConfirmed([], { until: 2 });
    await store.insertHistory([confirmed(rows[1]!.event, 2)], { subscriptions: ['*'] });
    const result = await store.realign({ hubClientSeq: 1, hubHead: 1 });
    expect(result.returned.map((r) => [r.clientSeq, r.event.id])).toEqual([[2, rows[1]!.event.id]]);
    expect((await store.readPending()).map((r) => r.event.id)).toEqual([rows[1]!.event.id]);
  });
}
