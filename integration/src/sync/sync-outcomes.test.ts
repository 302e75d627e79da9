/**
 * Through a real hub (issue 16 §2): the app learns what became of each write — committed at the
 * hub's position even when the event's way back is held up, and a command followed through a
 * conflict to its end — and `metrics$` tells acked events from those not acked yet.
 */
import { describe, expect, it } from 'vitest';
import type { SyncTarget } from '@eventloom/client';
import { createSync } from '@eventloom/client';
import { bindSyncPort, syncPortOf, TodoAdded, todoDecider } from '@eventloom/client/testing';
import { live, syncFixtures, waitFor } from './sync-harness.node.ts';

const { defer, hub: startHub, open, device } = syncFixtures();

describe('outcomes through a hub', () => {
  it('resolves committed at the ack while the confirmed event is held up, and counts it acked', async () => {
    const hub = await startHub();
    const d = await open(hub, { sync: { startOffline: true } });
    await d.sync.close();
    const loom = d.loom;
    const events = [
      await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] })),
      await loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] })),
    ];
    // The way back is held: confirmed events are not stored until released.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const port = syncPortOf(loom);
    const target: SyncTarget = {
      leader$: loom.leader$,
      pending$: loom.pending$,
      outbox$: loom.outbox$,
      registry: loom.registry,
    };
    bindSyncPort(target, {
      ...port,
      insertConfirmed: async (confirmed, options) => {
        if (confirmed.length > 0) await released;
        return port.insertConfirmed(confirmed, options);
      },
    });
    const sync = createSync(target, { url: hub.url, subscriptions: ['*'], warn: false });
    defer(() => sync.close());
    const outcomes = await Promise.all(events.map((e) => loom.outcome(e)));
    expect(outcomes).toEqual([
      { status: 'committed', position: 1, streamVersion: 1 },
      { status: 'committed', position: 2, streamVersion: 2 },
    ]);
    const acked = await waitFor(sync.metrics$, (m) => m.acked === 2);
    expect(acked.outbox).toBe(2);
    release();
    const settled = await waitFor(sync.metrics$, (m) => m.outbox === 0);
    expect(settled.acked).toBe(0);
  });

  it('follows a command through the conflict it lost to the decider refusing it', async () => {
    const hub = await startHub();
    const a = await device(hub, { sync: { deciders: [todoDecider] } });
    const b = await open(hub, { sync: { startOffline: true, deciders: [todoDecider] } });
    const add = { type: 'add', list: 'list:1', id: 'x', title: 'x' } as const;
    const first = await a.loom.execute(todoDecider, add);
    const second = await b.loom.execute(todoDecider, add);
    expect(await a.loom.commandOutcome(first)).toMatchObject({
      status: 'committed',
      positions: [1],
      redecided: 0,
    });
    b.sync.goOnline();
    await live(b.sync);
    // b's event is refused (a wrote first); decided again, the decider refuses: x exists.
    expect(await b.loom.commandOutcome(second)).toMatchObject({
      status: 'refused',
      code: 'wrong-expected-version',
      rejection: { code: 'exists' },
    });
    expect((await b.loom.readDeadLetters()).map((l) => l.event.id)).toEqual(
      second.ok ? second.events.map((e) => e.id) : [],
    );
  });
});
