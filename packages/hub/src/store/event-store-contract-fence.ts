import type { EventEnvelope } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import type { EventStore, StoreAppend } from './event-store.ts';
import { event, events, okOf, readAll, type ContractContext } from './event-store-contract-fixtures.ts';

/** The event store contract, part: the client epoch, the fence of a client's sessions (`claimClient`). */
export function fenceContract({ fresh, opened, options }: ContractContext): void {
  describe('client epochs', () => {
    it('claims a client never seen without writing anything: epoch 0, claimed at its first push', async () => {
      const store = await fresh();
      expect(await store.claimClient('client-a', 'alice')).toEqual({
        lastClientSeq: 0,
        principal: undefined,
        epoch: 0,
      });
      expect(await store.client('client-a')).toEqual({ lastClientSeq: 0, principal: undefined });
      expect(await store.claimNewClient('client-a', 'alice')).toEqual({ status: 'claimed', epoch: 1 });
      expect(await store.client('client-a')).toEqual({ lastClientSeq: 0, principal: 'alice' });
      const first = event('client-a', 1);
      expect(await store.append(at(1, [first]))).toEqual([okOf(first, 1, 1)]);
    });

    it('refuses the first push of a session whose client another session claimed or wrote meanwhile', async () => {
      const store = await fresh();
      expect(await store.claimNewClient('client-a', 'alice')).toEqual({ status: 'claimed', epoch: 1 });
      // A second session that also said hello before the client had a record.
      expect(await store.claimNewClient('client-a', 'alice')).toEqual({ status: 'fenced' });
      expect(await store.claimNewClient('client-a', 'mallory')).toEqual({ status: 'other-principal' });
      await store.append([{ event: event('client-b', 1) }]);
      expect(await store.claimNewClient('client-b', 'bob')).toEqual({ status: 'fenced' });
      expect(await store.bindClient('client-c', 'carol')).toBe(true);
      expect(await store.claimNewClient('client-c', 'carol')).toEqual({ status: 'claimed', epoch: 1 });
    });

    it('moves a known client’s epoch at each claim, reading its last seq, and fences older sessions', async () => {
      const store = await fresh();
      await store.claimNewClient('client-a', 'alice');
      const [a1, a2, a3] = events('client-a', 1, 3);
      await store.append(at(1, [a1!, a2!]));
      expect(await store.claimClient('client-a', 'alice')).toEqual({
        lastClientSeq: 2,
        principal: 'alice',
        epoch: 2,
      });
      // The old session's next event: refused unstored, the seq does not move, nothing is recorded.
      expect(await store.append(at(1, [a3!]))).toEqual([{ status: 'fenced', id: a3!.id, epoch: 2 }]);
      expect(await store.client('client-a')).toEqual({ lastClientSeq: 2, principal: 'alice' });
      expect(await store.head()).toBe(2);
      // The same seq from the new session is taken as new, not answered from a record.
      const d = event('client-a', 3);
      expect(await store.append(at(2, [d]))).toEqual([okOf(d, 3, 3)]);
      expect((await readAll(store)).map((e) => e.id)).toEqual([a1!.id, a2!.id, d.id]);
      expect((await store.claimClient('client-a', 'alice')).epoch).toBe(3);
    });

    it('judges each event of a batch by its own session: the older one fenced, the current one taken', async () => {
      const store = await fresh();
      await store.claimNewClient('client-a', 'alice');
      await store.claimClient('client-a', 'alice');
      const old = events('client-a', 1, 2);
      const now = events('client-a', 1, 2);
      const other = event('client-b', 1);
      const batch = [...at(1, old), { event: other }, ...at(2, now)];
      expect(await store.append(batch)).toEqual([
        { status: 'fenced', id: old[0]!.id, epoch: 2 },
        { status: 'fenced', id: old[1]!.id, epoch: 2 },
        okOf(other, 1, 1),
        okOf(now[0]!, 2, 2),
        okOf(now[1]!, 3, 3),
      ]);
      expect((await store.client('client-a')).lastClientSeq).toBe(2);
    });

    it('does not move the epoch of a client bound to another principal', async () => {
      const store = await fresh();
      await store.claimNewClient('client-a', 'alice');
      await store.append(at(1, events('client-a', 1, 1)));
      expect(await store.claimClient('client-a', 'mallory')).toEqual({
        lastClientSeq: 1,
        principal: 'alice',
        epoch: 1,
      });
      const next = event('client-a', 2);
      expect(await store.append(at(1, [next]))).toEqual([okOf(next, 2, 2)]);
    });

    it('does not fence an event that carries no epoch', async () => {
      const store = await fresh();
      await store.claimNewClient('client-a', 'alice');
      await store.claimClient('client-a', 'alice');
      const free = event('client-a', 1);
      expect(await store.append([{ event: free }])).toEqual([okOf(free, 1, 1)]);
    });

    it('counts in a claim exactly the older session’s events stored before it, whatever the timing', async () => {
      for (let round = 0; round < 5; round++) {
        const store = await fresh();
        const clientId = `client-${round}`;
        await store.claimNewClient(clientId, 'alice');
        const sent = events(clientId, 1, 24);
        // The older session's appends, one event each, not awaited, with the claim in among them.
        const early = sent.slice(0, 12).map((e) => store.append(at(1, [e])));
        const claim = store.claimClient(clientId, 'alice');
        const late = sent.slice(12).map((e) => store.append(at(1, [e])));
        const results = (await Promise.all([...early, ...late])).flat();
        const { lastClientSeq } = await claim;
        const stored = results.filter((r) => r.status === 'ok').length;
        expect(stored).toBe(lastClientSeq);
        expect((await store.client(clientId)).lastClientSeq).toBe(lastClientSeq);
        expect((await readAll(store)).map((e) => e.clientSeq)).toEqual(
          Array.from({ length: lastClientSeq }, (_, i) => i + 1),
        );
      }
    });

    const reopen = options.reopen ?? (() => Promise.reject(new Error('no reopen hook')));
    it.skipIf(options.reopen === undefined)('keeps the epoch across a reopen', async () => {
      let store: EventStore = await fresh();
      await store.claimNewClient('client-a', 'alice');
      await store.claimClient('client-a', 'alice');
      store = await reopen(store);
      opened.push(store);
      const a = event('client-a', 1);
      expect(await store.append(at(1, [a]))).toEqual([{ status: 'fenced', id: a.id, epoch: 2 }]);
      expect(await store.append(at(2, [a]))).toEqual([okOf(a, 1, 1)]);
    });
  });
}

/** The events as a session at `epoch` pushes them. */
function at(epoch: number, sent: readonly EventEnvelope[]): StoreAppend[] {
  return sent.map((e) => ({ event: e, epoch }));
}
