/**
 * A write-only device (`subscriptions: []`) against a real hub (issue 15, "The offline backlog"):
 * its storage stays bounded, and a hub restored from a backup still gets its events back.
 */
import { copyFile, rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MessageName, type EventEnvelope } from '@eventloom/protocol';
import { createEventloom, defaultSocketFactory, type SocketFactory } from '@eventloom/client';
import { TodoAdded, todoRegistry } from '@eventloom/client/testing';
import { Dexie } from 'dexie';
import { IDBKeyRange } from 'fake-indexeddb';
import { live, reached, syncFixtures, waitFor, type TestDevice } from './sync-harness.node.ts';

const { defer, hub: startHub, device: openDevice } = syncFixtures();

describe('a write-only device', () => {
  it('keeps no acked row once the hub acked its events', async () => {
    const hub = await startHub();
    const device = await openDevice(hub, { sync: { subscriptions: [] } });
    await live(device.sync);
    const n = 300;
    const events: EventEnvelope[] = [];
    for (let i = 0; i < n; i += 100) {
      events.push(
        ...(await device.loom.appendMany(
          `list:${i % 3}`,
          Array.from({ length: 100 }, (_, j) => TodoAdded.create({ id: `t${i + j}`, title: 'x', tags: [] })),
        )),
      );
    }
    await device.sync.flushed();
    expect((await hub.events()).length).toBe(n);
    expect(await ackedRows(device)).toBe(0);
    const log = await hub.events();
    // What became of each is still known, here and in another tab that reads it from the store.
    expect(await device.loom.outcome(events[0]!)).toEqual({
      status: 'committed',
      position: log[0]!.position,
      streamVersion: log[0]!.streamVersion,
    });
    const other = await createEventloom({
      name: device.name,
      registry: todoRegistry,
      storage: { indexedDB: device.indexedDB, IDBKeyRange },
    });
    defer(() => other.close());
    for (const i of [0, n - 1]) {
      expect(await other.outcome(events[i]!)).toEqual({
        status: 'committed',
        position: log[i]!.position,
        streamVersion: log[i]!.streamVersion,
      });
    }
  }, 30_000);
});

/** The rows of the device's `acked` table, counted in its IndexedDB. */
async function ackedRows(device: TestDevice): Promise<number> {
  const db = new Dexie(device.name, { indexedDB: device.indexedDB, IDBKeyRange });
  await db.open();
  try {
    return await db.table('acked').count();
  } finally {
    db.close();
  }
}

describe('a write-only device and a hub restored from a backup', () => {
  it('pushes again its events the restored log lacks', async () => {
    const hub = await startHub({ sqlite: true });
    const saved = `${hub.path!}.backup`;
    defer(() => rm(saved, { force: true }));
    const device = await openDevice(hub, { sync: { subscriptions: [] } });
    const add = async (from: number, count: number) => {
      const events = await device.loom.appendMany(
        'list:1',
        Array.from({ length: count }, (_, i) =>
          TodoAdded.create({ id: `t${from + i}`, title: 'x', tags: [] }),
        ),
      );
      await device.sync.flushed();
      return events;
    };
    const before = await add(0, 5);
    await hub.stop();
    await copyFile(hub.path!, saved);
    await hub.restart();
    const after = await add(5, 5);
    expect(await ackedRows(device)).toBe(0);

    device.sync.goOffline();
    await hub.stop();
    await rm(`${hub.path!}-wal`, { force: true });
    await rm(`${hub.path!}-shm`, { force: true });
    await copyFile(saved, hub.path!);
    await hub.restart();
    expect((await hub.events()).length).toBe(5);
    device.sync.goOnline();
    await live(device.sync);
    await device.sync.flushed();
    const metrics = await waitFor(device.sync.metrics$, (m) => m.repaired === 5);
    expect(metrics).toMatchObject({ repaired: 5, outbox: 0, acked: 0 });
    expect((await hub.events()).map((e) => e.id)).toEqual([...before, ...after].map((e) => e.id));
    expect(await ackedRows(device)).toBe(0);
  }, 60_000);
});

describe('a write-only device that subscribes to streams', () => {
  it('keeps each of its events in view, pending or confirmed, while acks come before the history', async () => {
    const hub = await startHub();
    // Holds the answers to history pulls (pulls of named streams) until released.
    let release: () => void = () => undefined;
    let history: Promise<void> | undefined;
    const holdingHistory: SocketFactory = (url, options) => {
      const socket = defaultSocketFactory(url, options);
      const emit = socket.emit.bind(socket);
      return Object.assign(socket, {
        emit: (event: string, ...args: unknown[]) => {
          const [payload, answer] = args as [{ streams?: unknown }, (reply: unknown) => void];
          if (event !== MessageName.pull || payload.streams === undefined || history === undefined) {
            return emit(event, ...args);
          }
          const held = history;
          return emit(event, payload, (reply: unknown) => void held.then(() => answer(reply)));
        },
      });
    };
    const device = await openDevice(hub, { sync: { subscriptions: [], socket: holdingHistory } });
    await live(device.sync);
    const add = (from: number, count: number) =>
      device.loom.appendMany(
        'list:1',
        Array.from({ length: count }, (_, i) =>
          TodoAdded.create({ id: `t${from + i}`, title: 'x', tags: [] }),
        ),
      );
    await add(0, 3);
    await device.sync.flushed();
    // A new session's catch-up moves the log's position to the hub's head (3).
    device.sync.goOffline();
    device.sync.goOnline();
    await reached(device, 3);
    device.sync.goOffline();
    const ids = (await add(3, 20)).map((e) => e.id);

    const pending = new Set<string>();
    const confirmed = new Set<string>();
    const missing: string[] = [];
    const seen = [
      device.loom.pending$.subscribe((events) => {
        pending.clear();
        for (const e of events) pending.add(e.id);
        const gone = ids.filter((id) => !pending.has(id) && !confirmed.has(id));
        if (gone.length > 0) missing.push(`${gone.length} of ${ids.length} neither pending nor confirmed`);
      }),
      device.loom.events$({ stream: 'list:1' }).subscribe((e) => confirmed.add(e.id)),
    ];
    defer(() => seen.forEach((s) => s.unsubscribe()));
    expect(ids.every((id) => pending.has(id))).toBe(true);

    history = new Promise((resolve) => (release = resolve));
    await device.sync.setSubscriptions(['*']);
    device.sync.goOnline();
    // Every event is acked while the history of the new streams is still on its way.
    await device.sync.flushed();
    release();
    await waitFor(device.sync.metrics$, (m) => m.outbox === 0);
    await reached(device, 23);
    expect(ids.filter((id) => !confirmed.has(id))).toEqual([]);
    expect(missing).toEqual([]);
  }, 30_000);
});
