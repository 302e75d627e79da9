import { firstValueFrom } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { TodoAdded, todoCount } from '@eventloom/client/testing';
import { flowOf, type FlowRecord } from '@eventloom/client';
import { openDevice, syncFixtures, type TestDevice } from './sync-harness.node.ts';

const { defer, hub, device } = syncFixtures();

function record(device: TestDevice): FlowRecord[] {
  const steps: FlowRecord[] = [];
  const subscription = flowOf(device.sync).subscribe((s) => steps.push(s));
  defer(() => subscription.unsubscribe());
  return steps;
}

/** Resolves once `steps` shows `eventId` applied (generous wait: no timing is asserted). */
async function applied(steps: readonly FlowRecord[], eventId: string): Promise<void> {
  await vi.waitFor(
    () => expect(steps.some((s) => s.eventId === eventId && s.step === 'applied')).toBe(true),
    { timeout: 20_000 },
  );
}

const of = (steps: readonly FlowRecord[], eventId: string) => steps.filter((s) => s.eventId === eventId);
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('flowOf', () => {
  it('follows an event through the client that appends it and one that receives it live', async () => {
    const h = await hub();
    const a = await device(h, { projections: [todoCount] });
    const b = await device(h, { projections: [todoCount] });
    const [inA, inB] = [record(a), record(b)];
    const event = await a.loom.append('list:1', TodoAdded.create({ id: 'x', title: 'x', tags: [] }), {
      meta: { traceparent },
    });
    await Promise.all([applied(inA, event.id), applied(inB, event.id)]);

    const mine = of(inA, event.id);
    // The ack and the live echo race each other; appended is first, applied follows the broadcast.
    expect(mine.map((s) => s.step).sort()).toEqual(['appended', 'applied', 'broadcast', 'committed']);
    expect(mine[0]).toMatchObject({ step: 'appended', where: `client:${a.loom.clientId}`, elapsedMs: 0 });
    expect(mine[0]).not.toHaveProperty('position');
    const at = (step: string) => mine.find((s) => s.step === step)!;
    expect(at('broadcast').at).toBeLessThanOrEqual(at('applied').at);
    for (const s of mine) {
      expect(s.traceparent).toBe(traceparent);
      expect(s.elapsedMs).toBe(s.at - mine[0]!.at);
      if (s.step !== 'appended') expect(s.position).toBe(1);
    }

    const theirs = of(inB, event.id);
    expect(theirs.map((s) => s.step)).toEqual(['broadcast', 'applied']);
    expect(theirs).toMatchObject([
      { where: `client:${b.loom.clientId}`, position: 1, elapsedMs: 0, traceparent },
      { position: 1, traceparent },
    ]);
    // Applied means folded: the projection holds it.
    expect(await firstValueFrom(b.loom.confirmedProjection$(todoCount))).toBe(1);
  });

  it('shows pulled events as applied only, and nothing of what happened before it was subscribed', async () => {
    const h = await hub();
    const a = await device(h);
    const before = await a.loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
    await a.sync.flushed();
    const inA = record(a);
    const after = await a.loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
    await applied(inA, after.id);
    expect(of(inA, before.id).map((s) => s.step)).not.toContain('appended');

    const c = await openDevice(h, { sync: { startOffline: true } });
    defer(() => c.close());
    const inC = record(c);
    c.sync.goOnline();
    await Promise.all([applied(inC, before.id), applied(inC, after.id)]);
    expect(inC.map((s) => [s.eventId, s.step, s.position])).toEqual([
      [before.id, 'applied', 1],
      [after.id, 'applied', 2],
    ]);
  });

  it('shares one tap among its subscribers, detaches after the last, and completes when the sync closes', async () => {
    const h = await hub();
    const a = await device(h);
    const flow$ = flowOf(a.sync);
    const first: FlowRecord[] = [];
    const second: FlowRecord[] = [];
    const one = flow$.subscribe((s) => first.push(s));
    const two = flow$.subscribe((s) => second.push(s));
    const x = await a.loom.append('list:1', TodoAdded.create({ id: 'x', title: 'x', tags: [] }));
    await applied(first, x.id);
    await applied(second, x.id);
    expect(second).toEqual(first);
    one.unsubscribe();
    two.unsubscribe();
    // Nobody subscribed: nothing is recorded, and a new subscriber starts from the outbox as it is.
    const y = await a.loom.append('list:1', TodoAdded.create({ id: 'y', title: 'y', tags: [] }));
    await a.sync.flushed();
    const later: FlowRecord[] = [];
    let completed = false;
    flowOf(a.sync).subscribe({ next: (s) => later.push(s), complete: () => (completed = true) });
    const z = await a.loom.append('list:1', TodoAdded.create({ id: 'z', title: 'z', tags: [] }));
    await applied(later, z.id);
    expect(of(later, y.id).map((s) => s.step)).not.toContain('appended');
    expect(of(later, z.id)[0]).toMatchObject({ step: 'appended', elapsedMs: 0 });
    expect(first.filter((s) => s.eventId !== x.id)).toEqual([]);
    await a.sync.close();
    expect(completed).toBe(true);
  });
});
