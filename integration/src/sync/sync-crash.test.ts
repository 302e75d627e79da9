import { MessageName, type EventEnvelope } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { TodoAdded } from '@eventloom/client/testing';
import type { SyncTarget } from '@eventloom/client';
import { createSync } from '@eventloom/client';
import {
  live,
  openDevice,
  reached,
  syncFixtures,
  type TestDevice,
  type TestHub,
} from './sync-harness.node.ts';
import { defaultSocketFactory, type SocketFactory } from '@eventloom/client';
import { bindSyncPort, syncPortOf } from '@eventloom/client/testing';

const { defer, hub: startHub, open } = syncFixtures();

async function setup(
  sync: Parameters<typeof openDevice>[1] = {},
): Promise<{ hub: TestHub; device: TestDevice }> {
  const hub = await startHub();
  return { hub, device: await open(hub, sync) };
}

async function appendThree(device: TestDevice): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  for (const id of ['a', 'b', 'c']) {
    events.push(await device.loom.append('list:1', TodoAdded.create({ id, title: id, tags: [] })));
  }
  return events;
}

/**
 * After the crash, the device opens again from its IndexedDB and syncs: each event it appended is
 * stored exactly once at the hub, under the id it was given, and comes back confirmed.
 */
async function recoverAndCheck(
  hub: TestHub,
  device: TestDevice,
  appended: readonly EventEnvelope[],
): Promise<void> {
  await device.reopen({ sync: { startOffline: true, socket: defaultSocketFactory } });
  // Still pending, as they were written: same ids, same seqs, none acked.
  expect((await syncPortOf(device.loom).readOutbox()).map((r) => [r.event, r.acked])).toEqual(
    appended.map((e) => [e, undefined]),
  );
  device.sync.goOnline();
  await device.sync.flushed();
  await reached(device, appended.length);
  const log = await hub.events();
  expect(log.map((e) => e.id)).toEqual(appended.map((e) => e.id));
  expect(log.map((e) => e.clientSeq)).toEqual(appended.map((_, i) => i + 1));
  expect((await device.loom.readEvents()).map((e) => e.id)).toEqual(appended.map((e) => e.id));
  expect(await syncPortOf(device.loom).readOutbox()).toEqual([]);
}

/** Resolves when the factory's socket hits `point` for a push; what happens to the push there is up to `point`. */
function interceptPush(point: 'sent' | 'answered'): { factory: SocketFactory; reached: Promise<void> } {
  let signal!: () => void;
  const reachedPoint = new Promise<void>((resolve) => (signal = resolve));
  const factory: SocketFactory = (url, options) => {
    const socket = defaultSocketFactory(url, options);
    const emit = socket.emit.bind(socket);
    return Object.assign(socket, {
      emit: (event: string, payload: unknown, ack?: (answer: unknown) => void) => {
        if (event !== MessageName.push) return emit(event, payload, ack);
        if (point === 'sent') {
          // The push leaves; the ack will find nobody: the device dies right after sending.
          emit(event, payload, () => undefined);
          signal();
          return socket;
        }
        // The hub committed and answered; the device dies before it hears the answer.
        return emit(event, payload, () => signal());
      },
    });
  };
  return { factory, reached: reachedPoint };
}

describe('createSync: a client that crashes', () => {
  it('between append and push: the events go once, under their ids, when it opens again', async () => {
    const { hub, device } = await setup({ sync: { startOffline: true } });
    const appended = await appendThree(device);
    await device.crash();
    expect(await hub.events()).toEqual([]);
    await recoverAndCheck(hub, device, appended);
  });

  it('after the push, before the ack: the push again is a duplicate, nothing is stored twice', async () => {
    const { factory, reached: pushed } = interceptPush('sent');
    const { hub, device } = await setup({ sync: { startOffline: true, socket: factory } });
    const appended = await appendThree(device);
    device.sync.goOnline();
    await pushed;
    await device.crash();
    // The hub took the batch whole or not at all; the device cannot tell which.
    expect([0, 3]).toContain((await hub.events()).length);
    await recoverAndCheck(hub, device, appended);
  });

  it('after the ack, before the client recorded it: the events are stored once, confirmed once', async () => {
    const { factory, reached: answered } = interceptPush('answered');
    const { hub, device } = await setup({ sync: { startOffline: true, socket: factory } });
    const appended = await appendThree(device);
    device.sync.goOnline();
    await answered;
    await device.crash();
    expect((await hub.events()).map((e) => e.id)).toEqual(appended.map((e) => e.id));
    await recoverAndCheck(hub, device, appended);
  });

  it('when recording the ack fails: the session starts over and the push again is acked as a duplicate', async () => {
    const { hub, device } = await setup({ sync: { startOffline: true } });
    await device.sync.close();
    const appended = await appendThree(device);
    let failures = 0;
    const loom = device.loom;
    const port = syncPortOf(loom);
    const target: SyncTarget = {
      leader$: loom.leader$,
      pending$: loom.pending$,
      outbox$: loom.outbox$,
      registry: loom.registry,
    };
    bindSyncPort(target, {
      ...port,
      markAcked: (acks) =>
        failures++ === 0 ? Promise.reject(new Error('disk on fire')) : port.markAcked(acks),
    });
    const sync = createSync(target, {
      url: hub.url,
      subscriptions: ['*'],
      backoff: { initialMs: 10, maxMs: 50, seed: 1 },
    });
    defer(() => sync.close());
    await sync.flushed();
    await live(sync);
    expect(failures).toBeGreaterThanOrEqual(2);
    expect((await hub.events()).map((e) => e.id)).toEqual(appended.map((e) => e.id));
    expect((await loom.readEvents()).map((e) => e.id)).toEqual(appended.map((e) => e.id));
  });
});
