/**
 * A client killed in place (issue 16 §6): `TestDevice.kill` abandons the instance without `close`,
 * cutting its storage's power (the write transaction it cuts rolls back), its socket (the hub sees
 * a disconnect) and its channels, and a new instance opens on the same IndexedDB. Where the kill
 * falls matters: these cases pin the crash points the model test (sync-model.test.ts) hits at random.
 */
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { expect, it } from 'vitest';
import { defaultSocketFactory } from '@eventloom/client';
import { syncPortOf, TodoAdded } from '@eventloom/client/testing';
import { SocketTap } from './socket-tap.node.ts';
import { live, reached, syncFixtures, type TestDevice, type TestHub } from './sync-harness.node.ts';

const { hub: startHub, device: openLive, open } = syncFixtures();

async function add(device: TestDevice, todo: string): Promise<EventEnvelope> {
  return device.loom.append('list:1', TodoAdded.create({ id: todo, title: todo, tags: [] }));
}

/**
 * A device that appended a and b (synced), then c: c's rows were pushed, and the device was killed
 * inside their write, before it landed. Returns what the hub stored of c.
 */
async function killedWhilePushing(hub: TestHub): Promise<{ device: TestDevice; c: CommittedEvent }> {
  const tap = new SocketTap();
  const device = await openLive(hub, { killable: true, sync: { socket: tap.factory } });
  await add(device, 'a');
  await add(device, 'b');
  await device.sync.flushed();
  // Everything before is acked: the next push is c's. It leaves before c's write starts (the
  // device is the only instance of its database): the kill falls inside that write.
  tap.afterNextPush(() => void device.killAfter({ ops: 1, ms: 5000 }));
  // How the hub sees the device's connection end.
  const reasons: string[] = [];
  for (const socket of hub.hub.io.of('/').sockets.values()) socket.on('disconnect', (r) => reasons.push(r));
  const settled = add(device, 'c').then(
    () => 'resolved',
    () => 'rejected',
  );
  // The push that left before the kill reaches the hub, which stores it.
  let c: CommittedEvent | undefined;
  for (let i = 0; i < 200 && c === undefined; i++) {
    c = (await hub.events()).find((e) => (e.data as { id: string }).id === 'c');
    if (c === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(c, 'the push that left before the kill reached the hub').toBeDefined();
  expect(await Promise.race([settled, new Promise((r) => setTimeout(() => r('unsettled'), 50))])).toBe(
    'unsettled',
  );
  expect(device.kill().writesRolledBack, 'the write of c was cut before it committed').toBe(1);
  // Cut, not closed: no disconnect packet (`client namespace disconnect`), the transport just went
  // (closed, or reset: the kernel's answer for a dead process's socket).
  for (let i = 0; i < 200 && reasons.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(reasons).toHaveLength(1);
  expect(['transport close', 'transport error']).toContain(reasons[0]);
  return { device, c: c! };
}

it('an append whose write the kill cut is not stored; pushed ahead, it comes back from the hub once, and seqs go on above it', async () => {
  const hub = await startHub();
  const { device, c } = await killedWhilePushing(hub);
  expect(c.clientSeq).toBe(3);
  // Rolled back on the device: the new instance holds a and b, and nothing pending.
  await device.reopen({ sync: { startOffline: true, socket: defaultSocketFactory } });
  expect((await device.loom.readEvents()).map((e) => e.data)).toMatchObject([{ id: 'a' }, { id: 'b' }]);
  expect(await syncPortOf(device.loom).readOutbox()).toEqual([]);
  expect((await device.loom.lastPosition()) < c.position).toBe(true);

  device.sync.goOnline();
  await live(device.sync);
  await reached(device, c.position);
  const d = await add(device, 'd');
  // The hub said at hello that it holds seq 3 of this device: the next seq is above it.
  expect(d.clientSeq).toBe(4);
  await device.sync.flushed();
  await reached(device, c.position + 1);
  const log = await hub.events();
  expect(log.map((e) => (e.data as { id: string }).id)).toEqual(['a', 'b', 'c', 'd']);
  expect(log.map((e) => e.clientSeq)).toEqual([1, 2, 3, 4]);
  expect((await device.loom.readEvents()).map((e) => e.id)).toEqual(log.map((e) => e.id));
});

it('an append made offline after the kill, at the seq the lost write had pushed, is stored once above it', async () => {
  const hub = await startHub();
  const { device, c } = await killedWhilePushing(hub);
  await device.reopen({ sync: { startOffline: true, socket: defaultSocketFactory } });
  // The device does not know seq 3 left: it gives it again, to d.
  const d = await add(device, 'd');
  expect(d.clientSeq).toBe(3);
  device.sync.goOnline();
  await live(device.sync);
  await device.sync.flushed();
  await reached(device, c.position + 1);
  const log = await hub.events();
  expect(log.map((e) => (e.data as { id: string }).id)).toEqual(['a', 'b', 'c', 'd']);
  expect(log.map((e) => e.clientSeq)).toEqual([1, 2, 3, 4]);
  expect(log.find((e) => e.id === d.id)?.clientSeq).toBe(4);
  expect((await device.loom.readEvents()).map((e) => e.id)).toEqual(log.map((e) => e.id));
  expect(await syncPortOf(device.loom).readOutbox()).toEqual([]);
});

it('a write that committed before the kill stays, and goes once', async () => {
  const hub = await startHub();
  const device = await open(hub, { killable: true, sync: { startOffline: true } });
  const a = await add(device, 'a');
  const b = await add(device, 'b');
  // Nothing in flight: the kill cuts nothing; what was stored stays, still pending.
  expect(device.kill()).toMatchObject({ writesRolledBack: 0, writesCommitting: 0 });
  await device.reopen();
  expect((await syncPortOf(device.loom).readOutbox()).map((row) => row.event.id)).toEqual([a.id, b.id]);
  device.sync.goOnline();
  await device.sync.flushed();
  await reached(device, 2);
  expect((await hub.events()).map((e) => e.id)).toEqual([a.id, b.id]);
});
