import { fold } from '@eventloom/core';
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { sampleCommitted } from '@eventloom/protocol/testing';
import { Dexie } from 'dexie';
import fc from 'fast-check';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientError } from './client-error.ts';
import { DexieClientStore } from './dexie-client-store.ts';
import { createEventloom, type Eventloom } from './eventloom.ts';
import { describeEventloom } from './testing/describe-eventloom.ts';
import { holdBackLoggedFault } from './testing/hold-back-logged-fault.ts';
import { refusePuts } from './testing/refuse-puts.ts';
import { openNewerDatabase } from './testing/open-newer-database.ts';
import { confirm, foldOrder, TodoAdded, todoCount, TodoDone, todoRegistry } from './testing/todo-model.ts';
import { syncPortOf } from './sync-port-access.ts';

// Append, read, projections, snapshots, reopen, bad input: the same suite as in Node, on Chromium's IndexedDB.
describeEventloom('Chromium IndexedDB', undefined);

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function open(name = `loom-${Date.now()}-${Math.random()}`): Promise<Eventloom> {
  const loom = await createEventloom({ name, registry: todoRegistry });
  cleanup.push(() => loom.close());
  return loom;
}

type Op =
  | { readonly kind: 'append'; readonly count: number; readonly done: boolean }
  | { readonly kind: 'page'; readonly picks: readonly boolean[] }
  | { readonly kind: 'replay' }
  | { readonly kind: 'reopen' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      count: fc.integer({ min: 1, max: 3 }),
      done: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('page' as const),
      picks: fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'replay' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

describe('the rebase (property)', () => {
  it('any interleaving of confirmed and pending events gives fold(confirmed) then fold(pending)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const name = `rebase-${Date.now()}-${++run}`;
        let loom = await open(name);
        const confirmed: CommittedEvent[] = [];
        let pending: EventEnvelope[] = [];
        let lastPage: CommittedEvent[] = [];
        for (const step of ops) {
          if (step.kind === 'append') {
            const events = Array.from({ length: step.count }, (_, i) =>
              step.done && i > 0
                ? TodoDone.create({ id: `${run}-${i}` })
                : TodoAdded.create({ id: `${run}-${i}`, title: 't', tags: [] }),
            );
            pending.push(...(await loom.appendMany(`list:${step.count}`, events)));
          } else if (step.kind === 'page') {
            // The hub takes a client's events in clientSeq order, interleaved with other clients'.
            const page: CommittedEvent[] = [];
            for (const mine of step.picks) {
              const position = confirmed.length + page.length + 1;
              const next = pending[0];
              if (mine && next) {
                page.push(confirm(next, position));
                pending = pending.slice(1);
              } else {
                page.push({
                  ...sampleCommitted({ position, clientId: 'other', stream: 'list:0' }),
                  type: 'todo.added',
                  data: { id: `o${position}`, title: 'o', tags: [] },
                });
              }
            }
            await syncPortOf(loom).insertConfirmed(page);
            confirmed.push(...page);
            lastPage = page;
          } else if (step.kind === 'replay') {
            await syncPortOf(loom).insertConfirmed(lastPage);
          } else {
            await loom.close();
            loom = await open(name);
          }
          expect(await firstValueFrom(loom.confirmedProjection$(foldOrder))).toEqual(
            fold(foldOrder, confirmed),
          );
          expect(await firstValueFrom(loom.projection$(foldOrder))).toEqual(
            fold(foldOrder, [...confirmed, ...pending]),
          );
          expect((await syncPortOf(loom).readOutbox()).map((r) => r.event)).toEqual(pending);
        }
        await loom.close();
        await Dexie.delete(name);
      }),
      { numRuns: 40 },
    );
  });
});

describe('storage failures through the client (Chromium)', () => {
  it('a quota error fails the write as quota-exceeded; nothing is half-written and the app keeps going', async () => {
    const name = `quota-${Date.now()}`;
    const store = new DexieClientStore({ name });
    const loom = await createEventloom({ name, registry: todoRegistry, storage: { store } });
    cleanup.push(() => loom.close());
    const a = await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
    // The disk is full: IndexedDB refuses every row of the outbox and of the log.
    const restore = refusePuts(['outbox', 'events'], () => true);
    cleanup.push(restore);
    cleanup.push(holdBackLoggedFault('QuotaExceededError'));
    await expect(
      loom.appendMany('list:1', [
        TodoAdded.create({ id: 'b', title: 'b', tags: [] }),
        TodoDone.create({ id: 'a' }),
      ]),
    ).rejects.toMatchObject({ name: 'ClientError', code: 'quota-exceeded' });
    const page = [
      confirm(a, 1),
      {
        ...sampleCommitted({ position: 2, clientId: 'x' }),
        type: 'todo.added',
        data: { id: 'x', title: 'x', tags: [] },
      },
    ];
    await expect(syncPortOf(loom).insertConfirmed(page)).rejects.toMatchObject({ code: 'quota-exceeded' });
    expect(await firstValueFrom(loom.projection$(todoCount))).toBe(1);
    expect(await firstValueFrom(loom.confirmedProjection$(todoCount))).toBe(0);
    expect((await syncPortOf(loom).readOutbox()).map((r) => r.event)).toEqual([a]);
    expect(await syncPortOf(loom).lastPosition()).toBe(0);
    restore();
    await syncPortOf(loom).insertConfirmed(page);
    const b = await loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
    expect(b.clientSeq).toBe(2);
    expect(await firstValueFrom(loom.projection$(todoCount))).toBe(3);
  });

  it('a newer version opened elsewhere closes this client with version-conflict; its last state stays readable', async () => {
    const loom = await open();
    const errors: ClientError[] = [];
    loom.errors$.subscribe((e) => errors.push(e));
    await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
    expect(await firstValueFrom(loom.projection$(todoCount))).toBe(1);
    const newer = await openNewerDatabase(loom.name);
    cleanup.push(() => newer.close());
    expect(errors.map((e) => e.code)).toEqual(['version-conflict']);
    await expect(loom.append('list:1', TodoDone.create({ id: 'a' }))).rejects.toMatchObject({
      code: 'version-conflict',
    });
    // A loaded projection keeps its last state: the page can still show it while asking for a reload.
    expect(await firstValueFrom(loom.projection$(todoCount))).toBe(1);
  });
});
