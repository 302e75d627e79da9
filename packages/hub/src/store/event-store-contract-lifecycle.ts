import fc from 'fast-check';
import { type CommittedEvent } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { HubErrorCode } from '../hub/hub-error.ts';
import { principalKey } from '../hub/principal-key.ts';
import type { EventStore } from './event-store.ts';
import {
  checkScenario,
  readAll,
  event,
  events,
  okOf,
  positionsOf,
  pushes,
  repeatAnswer,
  scenarioArbitrary,
  type ContractContext,
} from './event-store-contract-fixtures.ts';

/** The event store contract, part: the hub id, closing, reopening, import. */
export function lifecycleContract({ fresh, create, opened, options }: ContractContext): void {
  describe('lifecycle', () => {
    it('has a hub id that is stable and differs between logs', async () => {
      const [one, two] = [await fresh(), await fresh()];
      const id = await one.hubId();
      expect(id).toMatch(/\S/);
      expect(await one.hubId()).toBe(id);
      await one.append(pushes([event('client-a', 1)]));
      expect(await one.hubId()).toBe(id);
      expect(await two.hubId()).not.toBe(id);
    });

    it('closes idempotently and refuses work once closed', async () => {
      const store = await fresh();
      await store.close();
      await store.close();
      const closed = { code: HubErrorCode.closed };
      await expect(store.append(pushes([event('client-a', 1)]))).rejects.toMatchObject(closed);
      await expect(store.read({ from: 0, limit: 1 })).rejects.toMatchObject(closed);
      await expect(store.head()).rejects.toMatchObject(closed);
    });

    const reopen = options.reopen ?? (() => Promise.reject(new Error('no reopen hook')));
    it.skipIf(options.reopen === undefined)(
      'keeps the log, streams, clients, answers and hub id across a reopen',
      async () => {
        const store = await fresh();
        const hubId = await store.hubId();
        const rejected = event('client-b', 1, { stream: 'seat:1', expectedVersion: 5 });
        const sent = [...events('client-a', 1, 3, { stream: 'seat:1' }), rejected];
        const answers = await store.append(pushes(sent));
        await store.bindClient('client-a', 'alice');
        const before = await readAll(store);
        const again = await reopen(store);
        opened.push(again);
        expect(await again.hubId()).toBe(hubId);
        expect(await again.head()).toBe(3);
        expect(await readAll(again)).toEqual(before);
        expect(await again.streamVersion('seat:1')).toBe(3);
        expect(await again.client('client-a')).toEqual({ lastClientSeq: 3, principal: 'alice' });
        expect(await again.client('client-b')).toEqual({ lastClientSeq: 1, principal: undefined });
        expect(await again.append(pushes(sent))).toEqual(answers.map(repeatAnswer));
        const next = event('client-a', 4, { stream: 'seat:1', expectedVersion: 3 });
        expect(await again.append(pushes([next]))).toEqual([okOf(next, 4, 4)]);
      },
    );

    it.skipIf(options.reopen === undefined)(
      'stops a page at its maxJsonChars budget when it reads what an earlier run wrote',
      async () => {
        const store = await fresh();
        await store.append(pushes(events('client-a', 1, 6, { data: { text: 'y'.repeat(2_000) } })));
        const again = await reopen(store);
        opened.push(again);
        const size = JSON.stringify((await again.read({ from: 5, limit: 1 })).events[0]).length;
        for (const streams of [undefined, ['list:1'], ['list:*']]) {
          const page = await again.read({
            from: 0,
            limit: 100,
            maxJsonChars: 2 * size + 10,
            ...(streams === undefined ? {} : { streams }),
          });
          expect([positionsOf(page.events), page.until]).toEqual([[1, 2], 2]);
        }
      },
    );
  });

  describe('import', () => {
    /** A log of 6 events from two clients on two streams, one of them with a principal. */
    const source = async (): Promise<CommittedEvent[]> => {
      const store = await fresh();
      const principal = { sub: 'alice' };
      await store.append(pushes(events('client-a', 1, 3, { meta: { principal } })));
      await store.append(pushes(events('client-b', 1, 3, { stream: 'list:2' })));
      return readAll(store);
    };
    /** A fresh log to import into; the test is skipped for a store that cannot import. */
    const importer = async (test: {
      skip(note: string): never;
    }): Promise<EventStore & Required<Pick<EventStore, 'importEvents'>>> => {
      const store = await fresh();
      if (store.importEvents === undefined) test.skip('this store has no importEvents');
      return store as EventStore & Required<Pick<EventStore, 'importEvents'>>;
    };

    it('keeps positions, versions, times, client seqs and principals', async (test) => {
      const exported = await source();
      const target = await importer(test);
      expect(await target.importEvents(exported.slice(0, 4))).toEqual({ imported: 4, skipped: 0, head: 4 });
      expect(await target.importEvents(exported.slice(4))).toEqual({ imported: 2, skipped: 0, head: 6 });
      expect(JSON.stringify(await readAll(target))).toBe(JSON.stringify(exported));
      expect(await target.streamVersion('list:2')).toBe(3);
      expect(await target.client('client-a')).toEqual({
        lastClientSeq: 3,
        principal: principalKey({ sub: 'alice' }),
      });
      expect(await target.client('client-b')).toEqual({ lastClientSeq: 3, principal: undefined });
      // The imported log goes on where the export ended.
      const next = event('client-b', 4, { stream: 'list:2', expectedVersion: 3 });
      expect(await target.append(pushes([next]))).toEqual([okOf(next, 7, 4)]);
      const { position: _p, streamVersion: _v, recordedAt: _r, ...first } = exported[0]!;
      expect(await target.append(pushes([first]))).toEqual([
        { status: 'duplicate', id: exported[0]!.id, position: 1 },
      ]);
    });

    it('is idempotent by id: an interrupted import runs again', async (test) => {
      const exported = await source();
      const target = await importer(test);
      await target.importEvents(exported.slice(0, 3));
      expect(await target.importEvents(exported)).toEqual({ imported: 3, skipped: 3, head: 6 });
      expect(await target.importEvents(exported)).toEqual({ imported: 0, skipped: 6, head: 6 });
      expect(await readAll(target)).toEqual(exported);
    });

    it('refuses a log that is not a prefix of the export, and writes nothing of the batch', async (test) => {
      const exported = await source();
      const target = await importer(test);
      await target.append(pushes([event('client-c', 1)]));
      const refused = { code: HubErrorCode.store, message: expect.stringMatching(/^import: /) };
      await expect(target.importEvents(exported)).rejects.toMatchObject(refused);
      const empty = await importer(test);
      await expect(empty.importEvents(exported.slice(1))).rejects.toMatchObject(refused);
      const changed = { ...exported[0]!, data: { title: 'other' } };
      await empty.importEvents(exported.slice(0, 2));
      await expect(empty.importEvents([changed, ...exported.slice(2)])).rejects.toMatchObject(refused);
      await expect(empty.importEvents([exported[2]!, exported[4]!])).rejects.toMatchObject(refused);
      expect(await empty.head()).toBe(2);
    });

    it('takes the hub id of the export into an empty log, and refuses another log', async (test) => {
      const target = await importer(test);
      const exported = await source();
      const hubId = 'moved-log-1';
      await target.importEvents(exported.slice(0, 2), { hubId });
      expect(await target.hubId()).toBe(hubId);
      await target.importEvents(exported.slice(2), { hubId });
      const other = await importer(test);
      await other.append(pushes([event('client-c', 1)]));
      await expect(other.importEvents([], { hubId })).rejects.toMatchObject({ code: HubErrorCode.store });
    });
  });

  it('keeps its invariants under random batches from several clients', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        const store = await create();
        try {
          await checkScenario(store, scenario);
        } finally {
          await store.close();
        }
      }),
      { numRuns: options.propertyRuns ?? 50 },
    );
  });
}
