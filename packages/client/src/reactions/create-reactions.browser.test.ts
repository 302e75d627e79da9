import { defineHandler } from '@eventloom/core';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEventloom, type Eventloom } from '../eventloom.ts';
import type { SecondTab } from '../testing/second-tab.ts';
import { confirmAll, TodoAdded, todoRegistry, type TodoEvents } from '../testing/todo-model.ts';
import { createReactions } from './create-reactions.ts';

/** The one event type these handlers take: their events' `data` is typed by it. */
type Added = Pick<TodoEvents, 'todo.added'>;

// Two Eventlooms on one database in Chromium, each asking the page's Web Locks for the lead as two
// tabs would. (Two documents: tabs.browser.test.ts.)
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A second document on the same origin (an iframe): its own realm, Dexie and BroadcastChannel, as a tab has. */
async function secondPage(): Promise<SecondTab> {
  const frame = document.createElement('iframe');
  frame.srcdoc = `<script type="module">await import('/packages/client/src/testing/second-tab.ts');</script>`;
  document.body.append(frame);
  cleanup.push(() => frame.remove());
  const win = frame.contentWindow as unknown as { eventloomTab?: SecondTab };
  await vi.waitFor(() => expect(win.eventloomTab).toBeDefined(), { timeout: 10_000 });
  return win.eventloomTab!;
}

async function open(name: string): Promise<Eventloom> {
  const loom = await createEventloom({ name, registry: todoRegistry });
  cleanup.push(() => loom.close());
  return loom;
}

describe('createReactions in Chromium', () => {
  it('runs handlers in the leading tab only, and moves with the lead', async () => {
    const name = `reactions-lead-${Date.now()}`;
    const ran: string[] = [];
    const who = (tab: string) =>
      defineHandler<Added>({
        name: 'who',
        on: 'todo.added',
        checkpointEvery: 1,
        handle: (e) => {
          ran.push(`${tab}:${e.data.id}`);
        },
      });
    const a = await open(name);
    await vi.waitFor(async () => expect(await firstValueFrom(a.leader$)).toBe(true));
    const b = await open(name);
    const inA = createReactions(a, { handlers: [who('a')] });
    cleanup.push(() => inA.stop());
    const inB = createReactions(b, { handlers: [who('b')] });
    cleanup.push(() => inB.stop());
    await firstValueFrom(inA.running$.pipe(filter(Boolean)));

    await a.append('list:1', TodoAdded.create({ id: 'x', title: 'x', tags: [] }));
    let head = await confirmAll(a);
    await inA.settled(head);
    expect(ran).toEqual(['a:x']);
    expect(await firstValueFrom(inB.running$)).toBe(false);
    await expect(inB.settled(head)).rejects.toMatchObject({ code: 'not-ready' });
    expect(inB.checkpoints()).toEqual(new Map());

    // The leading tab closes: the other one takes the lead, and the handler goes on from its checkpoint.
    await a.close();
    await firstValueFrom(inB.running$.pipe(filter(Boolean)));
    expect(await firstValueFrom(inA.running$)).toBe(false);
    await b.append('list:1', TodoAdded.create({ id: 'y', title: 'y', tags: [] }));
    head = await confirmAll(b);
    await inB.settled(head);
    expect(ran).toEqual(['a:x', 'b:y']);
  });

  it('lists the dead letters another tab writes, as they come', async () => {
    const name = `reactions-tabs-dlq-${Date.now()}`;
    const tab = await secondPage();
    const other = await tab.open(name);
    cleanup.push(() => other.close());
    const here = await open(name);
    const reactions = createReactions(here);
    cleanup.push(() => reactions.stop());
    expect(await firstValueFrom(reactions.deadLetters.deadLetters$)).toEqual([]);

    const refused = await other.append('list:1', tab.TodoAdded.create({ id: 'z', title: 'z', tags: [] }));
    await tab.syncPortOf(other).markRejected([{ id: refused.id, code: 'invalid', message: 'no' }]);
    const letters = await firstValueFrom(
      reactions.deadLetters.deadLetters$.pipe(filter((list) => list.length > 0)),
    );
    expect(letters.map((l) => [l.handler, l.event?.id])).toEqual([['eventloom.sync', refused.id]]);
  });
});
