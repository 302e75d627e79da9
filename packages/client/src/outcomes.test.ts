/**
 * An app can know what happened to its write (issue 16 §2): `outcome(event)` resolves once the
 * hub acked it, confirmed it (even with the ack lost), refused it, or its decision was made again;
 * `commandOutcome` follows an `execute` to its end; `outbox$` tells acked rows from the others.
 * The hub's side is played through the sync port, as the sync engine calls it.
 */
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventloom, type Eventloom } from './eventloom.ts';
import { MemoryClientStore, type MemoryDatabase } from './memory-client-store.ts';
import { syncPortOf } from './sync-port-access.ts';
import { confirm, TodoAdded, todoDecider, todoRegistry } from './testing/todo-model.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Opens Eventlooms on one in-memory database: a reopen sees what the last one stored. */
function device() {
  const databases = new Map<string, MemoryDatabase>();
  const name = `outcomes-${Math.random().toString(36).slice(2)}`;
  return async (): Promise<Eventloom> => {
    const loom = await createEventloom({
      name,
      registry: todoRegistry,
      storage: { store: new MemoryClientStore({ name, databases }) },
    });
    cleanup.push(() => loom.close());
    return loom;
  };
}

const THEIRS = '0190f0f0-0000-7000-8000-0000000000aa';
const todo = (id: string) => TodoAdded.create({ id, title: id, tags: [] });

/** Whether a promise has settled by the time the queue behind it has run. */
async function settled(loom: Eventloom, promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await syncPortOf(loom).lastPosition();
  await syncPortOf(loom).lastPosition();
  return done;
}

describe('outcome of an append', () => {
  it('waits while not acked, and resolves committed at the ack; outbox$ tells acked from not', async () => {
    const loom = await device()();
    const event = await loom.append('list:1', todo('a'));
    const outcome = loom.outcome(event);
    expect(await settled(loom, outcome)).toBe(false);
    expect((await firstValueFrom(loom.outbox$)).map((r) => r.acked)).toEqual([undefined]);

    await syncPortOf(loom).markAcked([{ id: event.id, position: 7, streamVersion: 1 }]);
    expect(await outcome).toEqual({ status: 'committed', position: 7, streamVersion: 1 });
    expect((await firstValueFrom(loom.outbox$)).map((r) => r.acked)).toEqual([
      { position: 7, streamVersion: 1 },
    ]);
    // Still pending (not back confirmed), and asked again: the same answer at once.
    expect(await firstValueFrom(loom.pending$)).toEqual([event]);
    expect(await loom.outcome(event)).toEqual({ status: 'committed', position: 7, streamVersion: 1 });
  });

  it('resolves committed when the event comes back confirmed and its ack was lost', async () => {
    const loom = await device()();
    const event = await loom.append('list:1', todo('a'));
    const outcome = loom.outcome(event);
    await syncPortOf(loom).insertConfirmed([confirm(event, 3, 1)]);
    expect(await outcome).toEqual({ status: 'committed', position: 3, streamVersion: 1 });
  });

  it('resolves refused with the hub reason', async () => {
    const loom = await device()();
    const event = await loom.append('list:1', todo('a'));
    const outcome = loom.outcome(event);
    await syncPortOf(loom).markRejected([
      { id: event.id, code: 'wrong-expected-version', message: 'stream moved', currentVersion: 4 },
    ]);
    expect(await outcome).toEqual({
      status: 'refused',
      code: 'wrong-expected-version',
      message: 'stream moved',
      currentVersion: 4,
    });
  });

  it('rejects the waiters with database-closed when the Eventloom closes', async () => {
    const loom = await device()();
    const outcome = loom.outcome(await loom.append('list:1', todo('a')));
    void outcome.catch(() => undefined);
    await loom.close();
    await expect(outcome).rejects.toMatchObject({ code: 'database-closed' });
  });

  it('is read from the store by a later instance: acked, refused, made again, confirmed, unknown', async () => {
    const open = device();
    const first = await open();
    const acked = await first.append('list:1', todo('a'));
    const refused = await first.append('list:2', todo('r'));
    const confirmed = await first.append('list:3', todo('c'));
    const decided = await first.execute(todoDecider, { type: 'add', list: 'list:4', id: 'd', title: 'd' });
    if (!decided.ok) throw new Error('decided');
    const port = syncPortOf(first);
    await port.markAcked([{ id: acked.id, position: 5, streamVersion: 1 }]);
    await port.markRejected([{ id: refused.id, code: 'invalid', message: 'no' }]);
    await port.insertConfirmed([confirm(confirmed, 2, 1)]);
    const [again] = await port.redecide([{ ids: [decided.events[0]!.id], decider: todoDecider }]);
    if (again?.kind !== 'appended') throw new Error('appended');
    await first.close();

    const later = await open();
    expect(await later.outcome(acked)).toEqual({ status: 'committed', position: 5, streamVersion: 1 });
    expect(await later.outcome(refused)).toEqual({ status: 'refused', code: 'invalid', message: 'no' });
    expect(await later.outcome(confirmed)).toEqual({ status: 'committed', position: 2, streamVersion: 1 });
    expect(await later.outcome(decided.events[0]!)).toEqual({ status: 'redecided', events: again.events });
    expect(await later.outcome({ ...acked, id: '0190f0f0-0000-7000-8000-000000000000' })).toEqual({
      status: 'unknown',
    });
  });
});

describe('outcome of a command', () => {
  it('follows execute through a decision made again to its committed events', async () => {
    const loom = await device()();
    const result = await loom.execute(todoDecider, { type: 'add', list: 'list:1', id: 'b', title: 'b' });
    if (!result.ok) throw new Error('decided');
    const outcome = loom.commandOutcome(result);
    const port = syncPortOf(loom);
    // The hub refused it (someone wrote first); the sync decides it again on the fresh state.
    await port.insertConfirmed([
      {
        ...confirm({ ...result.events[0]!, id: THEIRS, clientId: 'someone' }, 1, 1),
        data: { id: 'z', title: 'z', tags: [] },
      },
    ]);
    const [again] = await port.redecide([{ ids: [result.events[0]!.id], decider: todoDecider }]);
    if (again?.kind !== 'appended') throw new Error('appended');
    expect(await settled(loom, outcome)).toBe(false);
    expect(again.events[0]!.expectedVersion).toBe(1);
    await port.markAcked([{ id: again.events[0]!.id, position: 3, streamVersion: 2 }]);
    expect(await outcome).toEqual({
      status: 'committed',
      events: again.events,
      positions: [3],
      redecided: 1,
    });
  });

  it('ends refused when the decision made again refuses, rejected when the first one did', async () => {
    const loom = await device()();
    const port = syncPortOf(loom);
    const result = await loom.execute(todoDecider, { type: 'add', list: 'list:1', id: 'b', title: 'b' });
    if (!result.ok) throw new Error('decided');
    const outcome = loom.commandOutcome(result);
    // Someone else added b first: made again, the decider refuses (`exists`).
    await port.insertConfirmed([confirm({ ...result.events[0]!, id: THEIRS, clientId: 'someone' }, 1, 1)]);
    await port.redecide([{ ids: [result.events[0]!.id], decider: todoDecider }]);
    expect(await outcome).toMatchObject({
      status: 'refused',
      code: 'wrong-expected-version',
      rejection: { code: 'exists' },
      redecided: 0,
    });
    const refusedHere = await loom.execute(todoDecider, { type: 'add', list: 'list:1', id: 'b', title: 'b' });
    expect(await loom.commandOutcome(refusedHere)).toMatchObject({
      status: 'rejected',
      rejection: { code: 'exists' },
    });
  });
});
