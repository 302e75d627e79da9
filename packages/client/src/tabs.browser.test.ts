import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEventloom, type Eventloom } from './eventloom.ts';
import type { SecondTab } from './testing/second-tab.ts';
import { TodoAdded, todoCount, todoRegistry } from './testing/todo-model.ts';
import { syncPortOf } from './sync-port-access.ts';

// Two pages on one database: this test's page and an iframe (a second document of the same
// origin, with its own JavaScript realm, Web Locks client and BroadcastChannel objects, as a
// second tab has). What is not covered: two top-level tabs or separate renderer processes.
async function secondPage(): Promise<{ tab: SecondTab; frame: HTMLIFrameElement }> {
  const frame = document.createElement('iframe');
  frame.srcdoc = `<script type="module">await import('/packages/client/src/testing/second-tab.ts');</script>`;
  document.body.append(frame);
  const win = frame.contentWindow as unknown as { eventloomTab?: SecondTab };
  await vi.waitFor(() => expect(win.eventloomTab).toBeDefined(), { timeout: 10_000 });
  return { tab: win.eventloomTab!, frame };
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('two pages on one database', () => {
  it('have one leader, hand the lead over on close, and both follow each other’s appends', async () => {
    const name = `tabs-${Date.now()}`;
    const { tab, frame } = await secondPage();
    cleanup.push(() => frame.remove());
    const a = await createEventloom({ name, registry: todoRegistry });
    cleanup.push(() => a.close());
    await vi.waitFor(async () => expect(await firstValueFrom(a.leader$)).toBe(true));
    const b: Eventloom = await tab.open(name);
    cleanup.push(() => b.close());
    expect(await firstValueFrom(b.leader$)).toBe(false);

    const inB = firstValueFrom(b.projection$(tab.todoCount).pipe(filter((n) => n === 2)));
    const inA = firstValueFrom(a.projection$(todoCount).pipe(filter((n) => n === 2)));
    await a.append('list:1', TodoAdded.create({ id: 'from-a', title: 'a', tags: [] }));
    const fromB = await b.append('list:1', tab.TodoAdded.create({ id: 'from-b', title: 'b', tags: [] }));
    expect(fromB.clientSeq).toBe(2);
    expect(fromB.clientId).toBe(a.clientId);
    expect(await inA).toBe(2);
    expect(await inB).toBe(2);

    // Confirmed events stored by the leader reach the other page too.
    const confirmedInB = firstValueFrom(b.confirmedProjection$(tab.todoCount).pipe(filter((n) => n === 1)));
    const [first] = await syncPortOf(a).readOutbox();
    await syncPortOf(a).insertConfirmed([
      { ...first!.event, position: 1, streamVersion: 1, recordedAt: new Date().toISOString() },
    ]);
    expect(await confirmedInB).toBe(1);
    expect(await firstValueFrom(b.projection$(tab.todoCount))).toBe(2);

    await a.close();
    await vi.waitFor(async () => expect(await firstValueFrom(b.leader$)).toBe(true));
  });

  it('never have two leaders at once, whatever order they open and close in', async () => {
    const name = `tabs-order-${Date.now()}`;
    const { tab, frame } = await secondPage();
    cleanup.push(() => frame.remove());
    const b = await tab.open(name);
    cleanup.push(() => b.close());
    await vi.waitFor(async () => expect(await firstValueFrom(b.leader$)).toBe(true));
    const looms: Eventloom[] = [b];
    for (let i = 0; i < 3; i++) {
      const loom = await createEventloom({ name, registry: todoRegistry });
      cleanup.push(() => loom.close());
      looms.push(loom);
    }
    const leaders = async () =>
      (await Promise.all(looms.map((l) => firstValueFrom(l.leader$).catch(() => false)))).filter(Boolean)
        .length;
    expect(await leaders()).toBe(1);
    await b.close();
    await vi.waitFor(async () => expect(await leaders()).toBe(1));
    const held = await navigator.locks.query();
    expect(held.held?.filter((l) => l.name === `eventloom:${name}:leader`)).toHaveLength(1);
  });

  it('without BroadcastChannel, the leader still finds the other tab’s appends (it reads the store every pollMs)', async () => {
    const name = `tabs-poll-${Date.now()}`;
    const tabs = { BroadcastChannel: null, pollMs: 50 };
    const a = await createEventloom({ name, registry: todoRegistry, tabs });
    cleanup.push(() => a.close());
    await vi.waitFor(async () => expect(await firstValueFrom(a.leader$)).toBe(true));
    const b = await createEventloom({ name, registry: todoRegistry, tabs });
    cleanup.push(() => b.close());
    expect(await firstValueFrom(b.leader$)).toBe(false);
    // The leader's sync pushes what its `pending$` holds: the follower's append must get there.
    const fromB = await b.append('list:1', TodoAdded.create({ id: 'from-b', title: 'b', tags: [] }));
    const inA = await firstValueFrom(a.pending$.pipe(filter((p) => p.some((e) => e.id === fromB.id))));
    expect(inA.map((e) => e.id)).toEqual([fromB.id]);
    // And the follower sees the leader's.
    const fromA = await a.append('list:1', TodoAdded.create({ id: 'from-a', title: 'a', tags: [] }));
    await firstValueFrom(b.pending$.pipe(filter((p) => p.some((e) => e.id === fromA.id))));
  });
});
