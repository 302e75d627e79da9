import { parseHlc } from '@eventloom/protocol';
import { firstValueFrom } from 'rxjs';
import { afterEach, expect, it } from 'vitest';
import { foldOrder, TodoAdded } from '@eventloom/client/testing';
import { live, openDevice, reached, startTestHub, waitFor, type TestDevice } from './sync-harness.node.ts';

const DAY = 24 * 60 * 60 * 1000;

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

it('keeps one order and a monotonic hlc with client clocks set 24 h ahead and 24 h behind', async () => {
  const hub = await startTestHub();
  cleanup.push(() => hub.close());
  const open = async (skew: number): Promise<TestDevice> => {
    const d = await openDevice(hub, { now: () => Date.now() + skew, sync: { startOffline: true } });
    cleanup.push(() => d.close());
    return d;
  };
  const [ahead, behind, exact] = [await open(DAY), await open(-DAY), await open(0)];
  const add = (d: TestDevice, id: string) =>
    d.loom.append('list:1', TodoAdded.create({ id, title: id, tags: [] }));

  // Offline, each writes with its own clock.
  const x = await add(behind, 'x');
  const y = await add(ahead, 'y');
  const z = await add(exact, 'z');
  expect(parseHlc(y.hlc)!.wall - parseHlc(x.hlc)!.wall).toBeGreaterThan(1.9 * DAY);

  // The hub orders them as they arrive, whatever their clocks say: ahead, behind, exact.
  for (const d of [ahead, behind, exact]) {
    d.sync.goOnline();
    await d.sync.flushed();
  }
  await Promise.all([ahead, behind, exact].map((d) => reached(d, 3)));
  expect((await hub.events()).map((e) => e.id)).toEqual([y.id, x.id, z.id]);
  for (const d of [ahead, behind, exact]) {
    expect((await d.loom.readEvents()).map((e) => e.id)).toEqual([y.id, x.id, z.id]);
    expect(await firstValueFrom(d.loom.projection$(foldOrder))).toEqual(
      [y, x, z].map((e) => `todo.added:${e.id}`),
    );
  }

  // Having seen y, the clocks behind issue timestamps after it: causality shows in the hlc.
  const afterBehind = await add(behind, 'after-behind');
  const afterExact = await add(exact, 'after-exact');
  expect(afterBehind.hlc > y.hlc).toBe(true);
  expect(afterExact.hlc > y.hlc).toBe(true);
  await Promise.all([behind.sync.flushed(), exact.sync.flushed()]);
  await reached(ahead, 5);
  const next = await add(ahead, 'after-ahead');
  expect(next.hlc > afterBehind.hlc && next.hlc > afterExact.hlc).toBe(true);
  await ahead.sync.flushed();
  await Promise.all([ahead, behind, exact].map((d) => reached(d, 6)));

  // Each device's own hlcs rise with its clientSeq, across everything it received meanwhile.
  const log = await hub.events();
  for (const d of [ahead, behind, exact]) {
    const own = log.filter((e) => e.clientId === d.loom.clientId).map((e) => e.hlc);
    expect(own).toEqual([...own].sort());
    expect(new Set(own).size).toBe(own.length);
  }
  // And the positions are still the order of arrival, one log everywhere.
  for (const d of [behind, exact]) expect(await d.loom.readEvents()).toEqual(await ahead.loom.readEvents());
  await live(exact.sync);
  await waitFor(exact.sync.metrics$, (m) => m.lag === 0);
});
