/**
 * Reactions on history (issue 16 §5): each handler chooses `from-the-beginning` (the default:
 * history stored later below its checkpoint runs through it, once) or `from-now` (it starts at
 * the device's position and history below it is not run through it).
 */
import { defineHandler } from '@eventloom/core';
import { sampleCommitted } from '@eventloom/protocol/testing';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEventloom } from '../eventloom.ts';
import { syncPortOf } from '../sync-port-access.ts';
import { todoRegistry, type TodoEvents } from '../testing/todo-model.ts';
import { createReactions } from './create-reactions.ts';

type Added = Pick<TodoEvents, 'todo.added'>;

const storage = { indexedDB, IDBKeyRange };
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const added = (position: number, stream: string, id: string) => ({
  ...sampleCommitted({ position, stream, streamVersion: 1, clientId: 'x' }),
  type: 'todo.added',
  data: { id, title: id, tags: [] },
});

describe('reactions on history', () => {
  it('runs history stored below the checkpoint through from-the-beginning handlers once, not through from-now ones', async () => {
    const loom = await createEventloom({
      name: `history-${crypto.randomUUID()}`,
      registry: todoRegistry,
      storage,
    });
    cleanup.push(() => loom.close());
    const port = syncPortOf(loom);
    // The log holds list:1 up to position 4; list:2 (positions 2 and 3) is subscribed later.
    await port.insertConfirmed([added(1, 'list:1', 'a'), added(4, 'list:1', 'd')], { until: 4 });
    const seen = { audit: [] as string[], notify: [] as string[] };
    const handler = (name: keyof typeof seen) =>
      defineHandler<Added>({
        name,
        on: 'todo.added',
        handle: (e) => {
          seen[name].push(e.data.id);
        },
      });
    const reactions = createReactions(loom, {
      storage,
      handlers: [handler('audit'), handler('notify')],
      starts: { notify: 'from-now' },
    });
    cleanup.push(() => reactions.stop());
    await reactions.settled(4);
    // from-the-beginning took the log from 0; from-now started at the device's position.
    expect(seen).toEqual({ audit: ['a', 'd'], notify: [] });

    await port.insertHistory([added(2, 'list:2', 'b'), added(3, 'list:2', 'c')], {
      subscriptions: ['list:1', 'list:2'],
    });
    await vi.waitFor(() => expect(seen.audit).toEqual(['a', 'd', 'b', 'c']), { timeout: 10_000 });
    await port.insertConfirmed([added(5, 'list:2', 'e')]);
    await reactions.settled(5);
    expect(seen).toEqual({ audit: ['a', 'd', 'b', 'c', 'e'], notify: ['e'] });
    expect(await reactions.deadLetters.list()).toEqual([]);

    // Stored again (another page of the same history): nothing runs twice.
    await port.insertHistory([added(2, 'list:2', 'b')]);
    await reactions.settled(5);
    expect(seen.audit).toEqual(['a', 'd', 'b', 'c', 'e']);
  });

  it('leaves a history event that fails in the dead letters, with the handler error', async () => {
    const loom = await createEventloom({
      name: `history-${crypto.randomUUID()}`,
      registry: todoRegistry,
      storage,
    });
    cleanup.push(() => loom.close());
    const port = syncPortOf(loom);
    await port.insertConfirmed([added(2, 'list:1', 'a')], { until: 2 });
    const reactions = createReactions(loom, {
      storage,
      handlers: [
        defineHandler<Added>({
          name: 'picky',
          on: 'todo.added',
          handle: (e) => {
            if (e.data.id === 'old') throw new Error('cannot take old ones');
          },
        }),
      ],
    });
    cleanup.push(() => reactions.stop());
    await reactions.settled(2);
    await port.insertHistory([added(1, 'list:2', 'old')]);
    await vi.waitFor(
      async () =>
        expect(await reactions.deadLetters.list()).toMatchObject([
          {
            handler: 'picky',
            event: { data: { id: 'old' } },
            error: { message: 'cannot take old ones' },
            attempts: 1,
          },
        ]),
      { timeout: 10_000 },
    );
  });
});
