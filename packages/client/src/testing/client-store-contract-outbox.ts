import type { JsonValue } from '@eventloom/protocol';
import { sampleCommitted } from '@eventloom/protocol/testing';
import { expect, it } from 'vitest';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import type { ClientMeta, OutboxRow } from '../client-store.ts';
import { build, confirmed, envelope, hlcOf, type FreshStore } from './client-store-contract-fixtures.ts';

/** The outbox: pending appends, idempotency keys, acks, rejections, replacements and settled acks. */
export function outboxContract(fresh: FreshStore): void {
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
    // A row the storage cannot clone: the write fails whole (and nothing is left unhandled).
    const uncloneable = (m: ClientMeta) => {
      const event = { ...envelope(m, m.clientSeq + 1), data: { f: () => 1 } as unknown as JsonValue };
      return { events: [event], hlc: event.hlc };
    };
    await expect(store.appendPending(uncloneable)).rejects.toBeInstanceOf(ClientError);
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

  it('never gives a seq twice when another store appended and its rows already left the outbox', async () => {
    const a = await fresh();
    const b = await fresh(a.name);
    const first = await a.store.appendPending((m) => build(m, 1));
    const second = await b.store.appendPending((m) => build(m, 1));
    expect(second.rows.map((r) => r.clientSeq)).toEqual([2]);
    // Both rows come back confirmed through b: the outbox is empty, only the meta remembers seq 2.
    await b.store.insertConfirmed([confirmed(first.rows[0]!.event, 1), confirmed(second.rows[0]!.event, 2)]);
    expect(await a.store.readPending()).toEqual([]);
    const third = await a.store.appendPending((m) => build(m, 1));
    expect(third.before).toMatchObject({ clientSeq: 2, position: 2 });
    expect(third.rows.map((r) => r.clientSeq)).toEqual([3]);
    expect(await b.store.readMeta()).toEqual(third.meta);
  });

  it('never gives a seq twice when another store appended on the same meta, whatever became of its rows', async () => {
    const a = await fresh();
    const b = await fresh(a.name);
    const seqs = async (store: typeof a.store) =>
      (await store.appendPending((m) => build(m, 1))).rows.map((r) => r.clientSeq);
    // A plain append leaves the meta row as it was: each store's next one is built on a stale guess.
    expect(await seqs(a.store)).toEqual([1]);
    expect(await seqs(b.store)).toEqual([2]);
    expect(await seqs(a.store)).toEqual([3]);
    expect(await seqs(b.store)).toEqual([4]);
    // b's last row leaves the outbox (acked, then dropped): a's next seq is still past it.
    await b.store.markAcked([{ clientSeq: 4, position: 9 }]);
    expect(await seqs(a.store)).toEqual([5]);
    await b.store.reject([{ clientSeq: 5, code: 'invalid', message: 'no', drop: true }]);
    expect(await seqs(a.store)).toEqual([6]);
    await b.store.reject([{ clientSeq: 6, code: 'invalid', message: 'no', drop: true }]);
    expect(await seqs(b.store)).toEqual([7]);
    const reopened = await fresh(a.name);
    expect(reopened.meta).toMatchObject({ clientSeq: 7, hlc: hlcOf(7) });
    expect((await a.store.readPending()).map((r) => r.clientSeq)).toEqual([1, 2, 3, 4, 7]);
  });

  it('with sole, fails an append told on a guess when another store moved the meta, storing nothing', async () => {
    const a = await fresh();
    const b = await fresh(a.name);
    const told: number[][] = [];
    const sole = {
      sole: true,
      stamped: (rows: readonly OutboxRow[]) => told.push(rows.map((r) => r.clientSeq)),
    };
    const mine = (m: ClientMeta) => {
      const event = { ...envelope(m, m.clientSeq + 1), stream: 'sole:a' };
      return { events: [event], hlc: event.hlc };
    };
    expect((await a.store.appendPending(mine, sole)).rows.map((r) => r.clientSeq)).toEqual([1]);
    // b takes seq 2 behind a's back: a's next append is told seq 2 on its guess, then fails.
    expect((await b.store.appendPending((m) => build(m, 1))).rows.map((r) => r.clientSeq)).toEqual([2]);
    await expect(a.store.appendPending(mine, sole)).rejects.toMatchObject({
      name: 'ClientError',
      code: 'storage',
    });
    expect(told).toEqual([[1], [2]]);
    // Seq 2 stays b's event; a's told event is never stored, nor given another seq.
    const rows = await a.store.readPending();
    expect(rows.map((r) => [r.clientSeq, r.event.stream])).toEqual([
      [1, 'sole:a'],
      [2, 'list:0'],
    ]);
    expect((await a.store.appendPending(mine, sole)).rows.map((r) => r.clientSeq)).toEqual([3]);
    expect(told).toEqual([[1], [2], [3]]);
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
    expect(acked.settled).toBe(1);
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
    // The settled rows are kept with their acks; a confirmed one is not.
    expect(await store.readSent([1, 2, 3, 4])).toEqual([
      { ...rows[0], acked: { position: 3 } },
      { ...rows[1], acked: { position: 7 } },
      undefined,
      undefined,
    ]);
  });
}
