/**
 * The hub's word on a device, checked at every hello (issue 16 §1): a hub log restored from an
 * older backup, and a device whose storage was cleared but that kept its client id.
 */
import { copyFile, rm } from 'node:fs/promises';
import { defineDecider } from '@eventloom/core';
import type { EventEnvelope } from '@eventloom/protocol';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import type { EventStore } from '@eventloom/hub';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { createEventloom, createSync, defaultSocketFactory, DexieClientStore } from '@eventloom/client';
import { syncPortOf, TodoAdded, todoList, todoRegistry } from '@eventloom/client/testing';
import { hookPushes, todosAt } from './push-hook.node.ts';
import { live, reached, syncFixtures, waitFor, type TestDevice, type TestHub } from './sync-harness.node.ts';

const { defer, hub: startHub, device: openDevice } = syncFixtures();

async function add(device: TestDevice, from: number, count: number): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  for (let i = from; i < from + count; i++) {
    events.push(
      await device.loom.append('list:1', TodoAdded.create({ id: `t${i}`, title: `t${i}`, tags: [] })),
    );
  }
  await device.sync.flushed();
  return events;
}

/** Stops the hub, copies its SQLite file (the hub closed it: the WAL is folded in), restarts it. */
async function backup(hub: TestHub, to: string): Promise<void> {
  await hub.stop();
  await copyFile(hub.path!, to);
  await hub.restart();
}

/** Stops the hub, puts the backup in place of its log, restarts it. */
async function restore(hub: TestHub, from: string): Promise<void> {
  await hub.stop();
  await rm(`${hub.path!}-wal`, { force: true });
  await rm(`${hub.path!}-shm`, { force: true });
  await copyFile(from, hub.path!);
  await hub.restart();
}

async function metric(hub: TestHub, name: string): Promise<number> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.split(' ')[1],
  );
}

describe('a hub log restored from an older backup', () => {
  it('gets back what the devices that return still hold, and reports what they cannot give back', async () => {
    const hub = await startHub({ sqlite: true });
    const saved = `${hub.path!}.backup`;
    defer(() => rm(saved, { force: true }));
    const a = await openDevice(hub);
    const c = await openDevice(hub);
    const before = await add(a, 0, 5);
    await backup(hub, saved);
    const after = await add(a, 5, 5);
    // c writes 2 events after the backup too, and a holds them; then c is gone for good.
    await live(c.sync);
    const lostWithC = [
      await c.loom.append('list:1', TodoAdded.create({ id: 'c0', title: 'c0', tags: [] })),
      await c.loom.append('list:1', TodoAdded.create({ id: 'c1', title: 'c1', tags: [] })),
    ];
    await c.sync.flushed();
    await reached(a, 12);
    await c.close();

    a.sync.goOffline();
    await restore(hub, saved);
    a.sync.goOnline();
    await live(a.sync);
    const last = await a.loom.append('list:1', TodoAdded.create({ id: 't10', title: 't10', tags: [] }));
    await a.sync.flushed();

    // A fresh device sees every event of a: 11 of them, each once; c's two are missing and said so.
    const fresh = await openDevice(hub);
    await reached(fresh, 11);
    const ids = (await fresh.loom.readEvents()).map((e) => e.id);
    expect(ids.sort()).toEqual([...before, ...after, last].map((e) => e.id).sort());
    const metrics = await waitFor(a.sync.metrics$, (m) => m.repaired === 5);
    expect(metrics).toMatchObject({ repaired: 5, lostElsewhere: 2, outbox: 0, position: 11 });
    expect(lostWithC.every((e) => !ids.includes(e.id))).toBe(true);
    expect(await metric(hub, 'eventloom_hub_repaired_events_total')).toBe(5);
    expect(await metric(hub, 'eventloom_hub_restore_missing_events')).toBe(2);

    // a's log is the hub's again, re-derived above the restored head, and its projections fold it.
    expect(await a.loom.readEvents()).toEqual(await hub.events());
    const todos = await waitFor(a.loom.confirmedProjection$(todoList), (t) => t.size === 11);
    expect([...todos.keys()].sort()).toEqual(
      [...before, ...after, last].map((e) => (e.data as { id: string }).id).sort(),
    );
  }, 60_000);
});

/** Adds a to-do to a list, and a note of it to another: one decision on the list's stream. */
const addNoted = defineDecider<null, { readonly list: string; readonly notes: string; readonly id: string }>({
  name: 'add-noted',
  initial: null,
  evolve: (state) => state,
  decide: ({ notes, id }) => [
    { ...TodoAdded.create({ id: `${id}-note`, title: id, tags: [] }), stream: notes },
    TodoAdded.create({ id, title: id, tags: [] }),
  ],
  stream: (command) => command.list,
});

describe('a decision whose events came back in part before the log was restored', () => {
  it('goes again whole in one repair push: no write lands between its events', async () => {
    // Another device's write on the decision's stream lands right after the transaction that
    // stores the note again (`other`, once armed).
    let noteId: string | undefined;
    let other: EventEnvelope | undefined;
    const wrapStore = (inner: EventStore): EventStore =>
      new Proxy(inner, {
        get: (target, name, receiver) => {
          if (name !== 'append') {
            const value: unknown = Reflect.get(target, name, receiver);
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          }
          return async (batch: Parameters<EventStore['append']>[0]) => {
            const results = await target.append(batch);
            if (other !== undefined && batch.some((item) => item.event.id === noteId)) {
              const event = other;
              other = undefined;
              await target.append([{ event }]);
            }
            return results;
          };
        },
      });
    const hub = await startHub({ sqlite: true, wrapStore });
    const saved = `${hub.path!}.backup`;
    defer(() => rm(saved, { force: true }));
    // Pushes as the hub gets them, and the answers to them lost while `loseAnswers`.
    let loseAnswers = false;
    const pushes: { repair: boolean; events: string[] }[] = [];
    const socket = hookPushes(defaultSocketFactory, (payload, ack, send) => {
      pushes.push({ repair: payload.repair === true, events: todosAt(payload) });
      const lost = loseAnswers;
      send(payload, (answer) => void (lost || ack(answer)));
    });
    // The device holds the notes' stream, not the list's; one push at a time.
    const a = await openDevice(hub, {
      sync: { socket, subscriptions: ['notes:1'], deciders: [addNoted], push: { inFlight: 1 } },
    });
    await live(a.sync);
    await backup(hub, saved);
    await live(a.sync);

    // The hub stores the decision; its answer is lost, the note comes back confirmed (live), the
    // list's event does not (not held here).
    loseAnswers = true;
    const decided = await a.loom.execute(addNoted, { list: 'list:2', notes: 'notes:1', id: 'd' });
    if (!decided.ok) throw new Error('the decider refused');
    const [note, todo] = decided.events;
    noteId = note!.id;
    await reached(a, 1);
    expect((await hub.events()).map((e) => e.id)).toEqual([note!.id, todo!.id]);
    a.sync.goOffline();
    loseAnswers = false;
    expect((await a.loom.readEvents()).map((e) => e.id)).toEqual([note!.id]);
    expect((await syncPortOf(a.loom).readOutbox()).map((r) => [r.event.id, r.acked])).toEqual([
      [todo!.id, undefined],
    ]);

    // The log goes back to before the decision: the note is the device's own lost event (repair),
    // the list's event one it has no answer for.
    await restore(hub, saved);
    other = sampleEnvelope({
      clientId: 'other-device',
      clientSeq: 1,
      stream: 'list:2',
      data: { id: 'o', title: 'o', tags: [] },
      version: 2,
      hlc: `${String(Date.now()).padStart(15, '0')}-0000000000-other-device`,
    });
    pushes.length = 0;
    a.sync.goOnline();
    await live(a.sync);
    await a.sync.flushed();

    // The decision goes again whole, in the repair push, judged as one; the other write after it.
    expect(pushes).toEqual([{ repair: true, events: ['d-note@1', 'd@2'] }]);
    const log = await hub.events();
    expect(log.map((e) => [(e.data as { id: string }).id, e.stream, e.streamVersion])).toEqual([
      ['d-note', 'notes:1', 1],
      ['d', 'list:2', 1],
      ['o', 'list:2', 2],
    ]);
    expect(await a.loom.commandOutcome(decided)).toMatchObject({ status: 'committed', redecided: 0 });
    expect(await a.loom.readDeadLetters()).toEqual([]);
  }, 60_000);
});

describe('a hub log restored while a refusal is remembered', () => {
  it('sends a refused event again only ahead of the events decided on it, under the seqs they have now', async () => {
    const hub = await startHub({ sqlite: true });
    const saved = `${hub.path!}.backup`;
    defer(() => rm(saved, { force: true }));
    const pushes: string[][] = [];
    const socket = hookPushes(defaultSocketFactory, (payload, ack, send) => {
      pushes.push(todosAt(payload));
      send(payload, ack);
    });
    const a = await openDevice(hub, { sync: { socket } });
    await backup(hub, saved);
    await live(a.sync);

    // Offline, a adds x on list:1 at version 0, which b has moved on meanwhile, then n1 and n2
    // elsewhere: x is refused (its append kept no command: dead-lettered), n1 and n2 are stored.
    // x's refusal reminder covers the seqs up to 3: events decided while it was pending.
    a.sync.goOffline();
    const b = await openDevice(hub);
    await b.loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
    await b.sync.flushed();
    await b.close();
    const x = await a.loom.append('list:1', TodoAdded.create({ id: 'x', title: 'x', tags: [] }), {
      expectedVersion: 0,
    });
    await a.loom.append('notes:1', TodoAdded.create({ id: 'n1', title: 'n1', tags: [] }));
    await a.loom.append('notes:1', TodoAdded.create({ id: 'n2', title: 'n2', tags: [] }));
    a.sync.goOnline();
    await live(a.sync);
    await a.sync.flushed();
    expect((await a.loom.readDeadLetters()).map((d) => d.event.id)).toEqual([x.id]);

    // The log goes back to before all of it: n1 and n2 go again, numbered 1 and 2.
    a.sync.goOffline();
    await restore(hub, saved);
    pushes.length = 0;
    a.sync.goOnline();
    await live(a.sync);
    await a.sync.flushed();
    expect(pushes).toEqual([['n1@1', 'n2@2']]);

    // z, decided on a state without x (x was long gone), is seq 3: not decided on x.
    const z = await a.loom.append('list:1', TodoAdded.create({ id: 'z', title: 'z', tags: [] }), {
      expectedVersion: 0,
    });
    expect(z.clientSeq).toBe(3);
    await a.sync.flushed();
    expect((await hub.events()).map((e) => (e.data as { id: string }).id)).toEqual(['n1', 'n2', 'z']);
    expect((await a.loom.readDeadLetters()).map((d) => d.event.id)).toEqual([x.id]);
    expect(pushes.at(-1)).toEqual(['z@3']);
  }, 60_000);
});

describe('a device whose storage was cleared but kept its client id', () => {
  it('moves its clientSeq past the hub and never reuses one', async () => {
    const hub = await startHub();
    const a = await openDevice(hub);
    const first = await add(a, 0, 3);
    const clientId = a.loom.clientId;
    await a.close();

    // The same client id on empty storage: it writes two events before it meets the hub.
    const indexedDB = new IDBFactory();
    const store = new DexieClientStore({
      name: 'cleared',
      indexedDB: { indexedDB, IDBKeyRange },
      newClientId: () => clientId,
    });
    const loom = await createEventloom({ name: 'cleared', registry: todoRegistry, storage: { store } });
    defer(() => loom.close());
    const offline = [
      await loom.append('list:1', TodoAdded.create({ id: 'x', title: 'x', tags: [] })),
      await loom.append('list:1', TodoAdded.create({ id: 'y', title: 'y', tags: [] })),
    ];
    expect(offline.map((e) => e.clientSeq)).toEqual([1, 2]);
    const sync = createSync(loom, { url: hub.url, subscriptions: ['*'], warn: false });
    defer(() => sync.close());
    await live(sync);
    await sync.flushed();
    const log = await hub.events();
    expect(log.map((e) => [e.id, e.clientSeq])).toEqual([
      ...first.map((e) => [e.id, e.clientSeq]),
      [offline[0]!.id, 4],
      [offline[1]!.id, 5],
    ]);
    expect(await loom.readDeadLetters()).toEqual([]);
    await waitFor(sync.metrics$, (m) => m.position === 5 && m.outbox === 0);
    const next = await loom.append('list:1', TodoAdded.create({ id: 'z', title: 'z', tags: [] }));
    expect(next.clientSeq).toBe(6);
  }, 30_000);
});
