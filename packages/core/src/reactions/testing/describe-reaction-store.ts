import { sampleCommitted, sampleEventId } from '@eventloom/protocol/testing';
import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '../dead-letter.ts';
import type { OutboxMessage } from '../outbox-message.ts';
import type { ReactionStore, ReactionTable } from '../reaction-store.ts';
import type { SagaInstance, SagaStatus, SagaTimeoutRecord } from '../saga-instance.ts';

/**
 * The contract every {@link ReactionStore} keeps (see its invariants). `create(name)` opens a
 * store on the storage `name`; two stores created with the same name share it, as a restarted
 * process reopens its database.
 *
 * @example describeReactionStore('memory', (name) => memoryStores.open(name));
 */
export function describeReactionStore(
  label: string,
  create: (name: string) => ReactionStore | Promise<ReactionStore>,
): void {
  describe(`ReactionStore contract: ${label}`, () => {
    let n = 0;
    const fresh = async (name = `reaction-contract-${label}-${++n}`) => ({ store: await create(name), name });

    it('starts empty', async () => {
      const { store } = await fresh();
      await store.transaction(async (tx) => {
        expect(await tx.getCheckpoint('h')).toBeUndefined();
        expect(await tx.hasApplied('h', 'e')).toBe(false);
        expect(await tx.listDeadLetters()).toEqual([]);
        expect(await tx.countDeadLetters()).toBe(0);
        expect(await tx.getDeadLetter('x')).toBeUndefined();
        expect(await tx.listSagas()).toEqual([]);
        expect(await tx.getSaga('x')).toBeUndefined();
        expect(await tx.listTimeouts()).toEqual([]);
        expect(await tx.getTimeout('x')).toBeUndefined();
        expect(await tx.readOutbox()).toEqual([]);
      });
    });

    it('keeps checkpoints per consumer, replaced by each put, as copies', async () => {
      const { store } = await fresh();
      await store.transaction(async (tx) => {
        await tx.putCheckpoint('a', { position: 3, recentIds: ['x', 'y'] });
        await tx.putCheckpoint('b', { position: 1, recentIds: [] });
      });
      await store.transaction((tx) => tx.putCheckpoint('a', { position: 7, recentIds: ['y', 'z'] }));
      const a = await store.transaction((tx) => tx.getCheckpoint('a'));
      expect(a).toEqual({ position: 7, recentIds: ['y', 'z'] });
      (a!.recentIds as string[]).push('mutated');
      expect(await store.transaction((tx) => tx.getCheckpoint('a'))).toEqual({
        position: 7,
        recentIds: ['y', 'z'],
      });
      expect(await store.transaction((tx) => tx.getCheckpoint('b'))).toEqual({ position: 1, recentIds: [] });
    });

    it('writes nothing of a transaction that throws, and tells no watcher', async () => {
      const { store } = await fresh();
      const seen: ReactionTable[][] = [];
      const unwatch = store.watch((tables) => seen.push([...tables].sort()));
      await expect(
        store.transaction(async (tx) => {
          await tx.putCheckpoint('h', { position: 5, recentIds: ['e5'] });
          await tx.putSaga(saga('s/1'));
          await tx.enqueue([message('m1')]);
          await tx.putDeadLetter(letter('h/e1'));
          await tx.putTimeout(timeout('s/1/t', 10));
          await tx.putApplied('h', 'e1');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      await store.transaction(async (tx) => {
        expect(await tx.getCheckpoint('h')).toBeUndefined();
        expect(await tx.getSaga('s/1')).toBeUndefined();
        expect(await tx.readOutbox()).toEqual([]);
        expect(await tx.countDeadLetters()).toBe(0);
        expect(await tx.listTimeouts()).toEqual([]);
        expect(await tx.hasApplied('h', 'e1')).toBe(false);
      });
      expect(seen).toEqual([]);
      unwatch();
    });

    it('shows a transaction its own writes before it commits', async () => {
      const { store } = await fresh();
      await store.transaction((tx) => tx.putDeadLetter(letter('h/e1')));
      await store.transaction(async (tx) => {
        await tx.putCheckpoint('h', { position: 2, recentIds: [] });
        expect(await tx.getCheckpoint('h')).toEqual({ position: 2, recentIds: [] });
        expect(await tx.deleteDeadLetter('h/e1')).toBe(true);
        expect(await tx.getDeadLetter('h/e1')).toBeUndefined();
        expect(await tx.countDeadLetters()).toBe(0);
        await tx.putSaga(saga('s/1'));
        expect((await tx.listSagas()).map((s) => s.id)).toEqual(['s/1']);
        await tx.enqueue([message('m1')]);
        expect((await tx.readOutbox()).map((m) => m.id)).toEqual(['m1']);
      });
    });

    it('runs concurrent transactions one after the other (no lost update)', async () => {
      const { store } = await fresh();
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.transaction(async (tx) => {
            const position = (await tx.getCheckpoint('counter'))?.position ?? 0;
            await tx.putCheckpoint('counter', { position: position + 1, recentIds: [] });
          }),
        ),
      );
      expect(await store.transaction((tx) => tx.getCheckpoint('counter'))).toEqual({
        position: 20,
        recentIds: [],
      });
    });

    it('records applied events per consumer', async () => {
      const { store } = await fresh();
      await store.transaction((tx) => tx.putApplied('a', 'e1'));
      await store.transaction(async (tx) => {
        expect(await tx.hasApplied('a', 'e1')).toBe(true);
        expect(await tx.hasApplied('b', 'e1')).toBe(false);
        expect(await tx.hasApplied('a', 'e2')).toBe(false);
      });
    });

    it('lists dead letters by first failure then id, replaces by id, deletes, counts', async () => {
      const { store } = await fresh();
      const late = letter('h/e1', { firstFailedAt: '2026-11-27T10:00:03.000Z' });
      const earlyB = letter('h/e3', { firstFailedAt: '2026-11-27T10:00:01.000Z' });
      const earlyA = letter('g/e2', { firstFailedAt: '2026-11-27T10:00:01.000Z' });
      const noEvent: DeadLetter = {
        id: 'saga/saga/o1',
        handler: 'saga',
        error: { name: 'Error', message: 'compensation failed' },
        attempts: 3,
        firstFailedAt: '2026-11-27T10:00:02.000Z',
        lastFailedAt: '2026-11-27T10:00:04.000Z',
        instance: 'saga/o1',
      };
      await store.transaction(async (tx) => {
        for (const l of [late, earlyB, earlyA, noEvent]) await tx.putDeadLetter(l);
      });
      expect((await store.transaction((tx) => tx.listDeadLetters())).map((l) => l.id)).toEqual([
        'g/e2',
        'h/e3',
        'saga/saga/o1',
        'h/e1',
      ]);
      expect(await store.transaction((tx) => tx.getDeadLetter('saga/saga/o1'))).toEqual(noEvent);
      const retried = { ...late, attempts: 6, lastFailedAt: '2026-11-27T10:00:09.000Z' };
      await store.transaction((tx) => tx.putDeadLetter(retried));
      expect(await store.transaction((tx) => tx.getDeadLetter('h/e1'))).toEqual(retried);
      expect(await store.transaction((tx) => tx.countDeadLetters())).toBe(4);
      expect(await store.transaction((tx) => tx.deleteDeadLetter('h/e3'))).toBe(true);
      expect(await store.transaction((tx) => tx.deleteDeadLetter('h/e3'))).toBe(false);
      expect(await store.transaction((tx) => tx.countDeadLetters())).toBe(3);
    });

    it('keeps saga instances, listed by id and filtered by saga and status', async () => {
      const { store } = await fresh();
      await store.transaction(async (tx) => {
        await tx.putSaga(saga('checkout/o2'));
        await tx.putSaga(saga('checkout/o1', { status: 'done' }));
        await tx.putSaga(saga('refund/o1', { saga: 'refund' }));
      });
      const ids = async (query?: { saga?: string; status?: SagaStatus }) =>
        (await store.transaction((tx) => tx.listSagas(query))).map((s) => s.id);
      expect(await ids()).toEqual(['checkout/o1', 'checkout/o2', 'refund/o1']);
      expect(await ids({ saga: 'checkout' })).toEqual(['checkout/o1', 'checkout/o2']);
      expect(await ids({ saga: 'checkout', status: 'active' })).toEqual(['checkout/o2']);
      const next = saga('checkout/o2', { version: 2, state: { step: 2, nested: { list: [1, 2] } } });
      await store.transaction((tx) => tx.putSaga(next));
      const read = await store.transaction((tx) => tx.getSaga('checkout/o2'));
      expect(read).toEqual(next);
      (read!.state as { step: number }).step = 99;
      expect(await store.transaction((tx) => tx.getSaga('checkout/o2'))).toEqual(next);
    });

    it('keeps timeouts, listed by deadline then id, filtered by saga and instance, replaced by id', async () => {
      const { store } = await fresh();
      await store.transaction(async (tx) => {
        await tx.putTimeout(timeout('s/1/b', 20));
        await tx.putTimeout(timeout('s/1/a', 20));
        await tx.putTimeout(timeout('s/2/a', 5, { instance: 's/2' }));
        await tx.putTimeout(timeout('t/1/a', 1, { saga: 't', instance: 't/1' }));
      });
      const ids = async (query?: { saga?: string; instance?: string }) =>
        (await store.transaction((tx) => tx.listTimeouts(query))).map((t) => t.id);
      expect(await ids()).toEqual(['t/1/a', 's/2/a', 's/1/a', 's/1/b']);
      expect(await ids({ saga: 's' })).toEqual(['s/2/a', 's/1/a', 's/1/b']);
      expect(await ids({ instance: 's/1' })).toEqual(['s/1/a', 's/1/b']);
      await store.transaction((tx) => tx.putTimeout(timeout('s/1/b', 2)));
      expect(await ids({ saga: 's' })).toEqual(['s/1/b', 's/2/a', 's/1/a']);
      expect(await store.transaction((tx) => tx.getTimeout('s/1/b'))).toEqual(timeout('s/1/b', 2));
      expect(await store.transaction((tx) => tx.deleteTimeout('s/1/b'))).toBe(true);
      expect(await store.transaction((tx) => tx.deleteTimeout('s/1/b'))).toBe(false);
      expect(await ids({ saga: 's' })).toEqual(['s/2/a', 's/1/a']);
    });

    it('keeps the outbox in enqueue order, skips known ids, reads in batches and deletes', async () => {
      const { store } = await fresh();
      await store.transaction((tx) => tx.enqueue([message('m2'), message('m1')]));
      await store.transaction((tx) => tx.enqueue([message('m1', { type: 'changed' }), message('m3')]));
      const all = await store.transaction((tx) => tx.readOutbox());
      expect(all.map((m) => m.id)).toEqual(['m2', 'm1', 'm3']);
      expect(all[1]).toEqual(message('m1'));
      expect((await store.transaction((tx) => tx.readOutbox(2))).map((m) => m.id)).toEqual(['m2', 'm1']);
      await store.transaction((tx) => tx.deleteOutbox(['m1', 'unknown']));
      expect((await store.transaction((tx) => tx.readOutbox())).map((m) => m.id)).toEqual(['m2', 'm3']);
    });

    it('tells watchers which tables each committed transaction wrote, until they unsubscribe', async () => {
      const { store } = await fresh();
      const seen: ReactionTable[][] = [];
      const unwatch = store.watch((tables) => seen.push([...tables].sort()));
      await store.transaction(async (tx) => {
        await tx.putCheckpoint('h', { position: 1, recentIds: [] });
        await tx.enqueue([message('m1')]);
      });
      await store.transaction((tx) => tx.listDeadLetters());
      await store.transaction((tx) => tx.putDeadLetter(letter('h/e1')));
      unwatch();
      await store.transaction((tx) => tx.putSaga(saga('s/1')));
      expect(seen).toEqual([['checkpoints', 'outbox'], ['deadLetters']]);
    });

    it('keeps what was committed for the next store opened on the same storage', async () => {
      const { store, name } = await fresh();
      await store.transaction(async (tx) => {
        await tx.putCheckpoint('h', { position: 4, recentIds: ['e4'] });
        await tx.putSaga(saga('s/1'));
        await tx.putTimeout(timeout('s/1/t', 99));
        await tx.enqueue([message('m1')]);
        await tx.putDeadLetter(letter('h/e1'));
        await tx.putApplied('h', 'e1');
      });
      const { store: again } = await fresh(name);
      await again.transaction(async (tx) => {
        expect(await tx.getCheckpoint('h')).toEqual({ position: 4, recentIds: ['e4'] });
        expect(await tx.getSaga('s/1')).toEqual(saga('s/1'));
        expect(await tx.listTimeouts()).toEqual([timeout('s/1/t', 99)]);
        expect(await tx.readOutbox()).toEqual([message('m1')]);
        expect(await tx.getDeadLetter('h/e1')).toEqual(letter('h/e1'));
        expect(await tx.hasApplied('h', 'e1')).toBe(true);
      });
    });
  });
}

function letter(id: string, overrides: Partial<DeadLetter> = {}): DeadLetter {
  const [handler = 'h'] = id.split('/');
  return {
    id,
    handler,
    event: sampleCommitted({ id: sampleEventId(3), position: 3, meta: { correlationId: 'c1' } }),
    error: { name: 'TypeError', message: 'nope', stack: 'TypeError: nope\n    at handle', code: 'x' },
    attempts: 5,
    firstFailedAt: '2026-11-27T10:00:00.000Z',
    lastFailedAt: '2026-11-27T10:00:05.000Z',
    ...overrides,
  };
}

function saga(id: string, overrides: Partial<SagaInstance> = {}): SagaInstance {
  const [name = 'checkout', key = 'o1'] = id.split('/');
  return {
    id,
    saga: name,
    key,
    status: 'active',
    state: { step: 1 },
    version: 1,
    steps: ['order.placed'],
    compensated: [],
    stream: `order:${key}`,
    trace: { correlationId: 'c1', causationId: 'e1' },
    startedAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T10:00:00.000Z',
    ...overrides,
  };
}

function timeout(id: string, dueAt: number, overrides: Partial<SagaTimeoutRecord> = {}): SagaTimeoutRecord {
  const parts = id.split('/');
  return {
    id,
    saga: parts[0]!,
    instance: `${parts[0]}/${parts[1]}`,
    name: parts[2]!,
    dueAt,
    trace: {
      correlationId: 'c1',
      causationId: 'e1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
    ...overrides,
  };
}

function message(id: string, overrides: Partial<OutboxMessage['draft']> = {}): OutboxMessage {
  return {
    id,
    source: 'h',
    draft: {
      type: 'invoice.sent',
      data: { n: 1 },
      stream: 'order:o1',
      kind: 'domain',
      meta: { correlationId: 'c1', causationId: 'e1' },
      ...overrides,
    },
    createdAt: '2026-11-27T10:00:00.000Z',
  };
}
