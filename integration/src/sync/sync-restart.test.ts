import { createRegistry, defineEvent } from '@eventloom/core';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TodoAdded, TodoDone, todoList, todoRegistry } from '@eventloom/client/testing';
import { live, reached, syncFixtures, waitFor } from './sync-harness.node.ts';
import { syncPortOf } from '@eventloom/client/testing';

const { hub, open: device } = syncFixtures();

/** The to-do model as an older app knew it: `todo.added` at version 1 only. */
const TodoAddedV1 = defineEvent('todo.added', { 1: z.object({ id: z.string().min(1), title: z.string() }) });
const registryV1 = createRegistry([TodoAddedV1, TodoDone]);

describe('createSync: the hub goes away and comes back', () => {
  it('reconnects with backoff after a hub restart on the same SQLite file and port, and pushes what waited', async () => {
    const h = await hub({ sqlite: true });
    const a = await device(h);
    const b = await device(h);
    await Promise.all([live(a.sync), live(b.sync)]);
    await a.loom.append('list:1', TodoAdded.create({ id: 'before', title: 'x', tags: [] }));
    await a.sync.flushed();
    await h.stop();
    await waitFor(a.sync.syncState$, (s) => s === 'connecting');
    await a.loom.append('list:1', TodoAdded.create({ id: 'during', title: 'x', tags: [] }));
    await b.loom.append('list:1', TodoAdded.create({ id: 'during-b', title: 'x', tags: [] }));
    // Let a few attempts fail against the closed port.
    await waitFor(a.sync.metrics$, (m) => m.lastError?.code === 'connection-failed');
    await h.restart();
    await Promise.all([a.sync.flushed(), b.sync.flushed()]);
    await Promise.all([reached(a, 3), reached(b, 3)]);
    expect((await h.events()).map((e) => (e.data as { id: string }).id).sort()).toEqual([
      'before',
      'during',
      'during-b',
    ]);
    expect(await a.loom.readEvents()).toEqual(await b.loom.readEvents());
    // Back to live once its catch-up after the restart ends (it may still be finishing it here).
    await live(a.sync);
  });

  it('holds an event of a version the hub does not know aside, lets those after it go on, and sends it again, same id, to a hub that knows it', async () => {
    const h = await hub({ sqlite: true, registry: registryV1 });
    const a = await device(h);
    await live(a.sync);
    // (An append stores the latest version of its type: todo.added is written as v2, todo.done is v1.)
    const known = await a.loom.append('list:1', TodoDone.create({ id: 'known' }));
    const v2 = await a.loom.append('list:1', TodoAdded.create({ id: 'new', title: 'v2', tags: ['t'] }));
    const after = await a.loom.append('list:2', TodoDone.create({ id: 'other' }));
    const outcome = a.loom.outcome(v2);
    // The others go on: the hub used the held event's seq for its refusal.
    await a.sync.flushed();
    await reached(a, 2);
    expect((await h.events()).map((e) => [e.id, e.clientSeq])).toEqual([
      [known.id, 1],
      [after.id, 3],
    ]);
    expect(await syncPortOf(a.loom).readOutbox()).toEqual([]);
    // It waits in a visible place, its fate still open.
    expect(await a.loom.readDeadLetters()).toMatchObject([
      { event: { id: v2.id, version: 2 }, error: { code: 'unknown-event-version' } },
    ]);
    // The hub is upgraded (same log, same port): at the next hello the event is sent again.
    await h.restart({ registry: todoRegistry });
    expect(await outcome).toMatchObject({ status: 'committed', position: 3 });
    await reached(a, 3);
    const log = await h.events();
    expect(log.map((e) => [e.id, e.clientSeq, e.version])).toEqual([
      [known.id, 1, 1],
      [after.id, 3, 1],
      [v2.id, 4, 2],
    ]);
    expect(await a.loom.readDeadLetters()).toEqual([]);
    expect(await syncPortOf(a.loom).readOutbox()).toEqual([]);
    expect((await firstValueFrom(a.loom.projection$(todoList))).get('new')).toEqual({
      title: 'v2',
      done: false,
      tags: ['t'],
    });
  });
});

describe('createSync: a schema upgrade while offline', () => {
  it('syncs events written under v1 after the app upgraded to v2, and reads them back upcast', async () => {
    const h = await hub({ registry: todoRegistry });
    const a = await device(h, { registry: registryV1 as never, sync: { startOffline: true } });
    for (const id of ['a', 'b']) {
      await a.loom.append('list:1', TodoAddedV1.create({ id, title: id }) as never);
    }
    expect((await syncPortOf(a.loom).readOutbox()).map((r) => r.event.version)).toEqual([1, 1]);
    await a.crash();
    // The new app: todo.added v2 with an upcaster. The pending v1 events are kept as written.
    await a.reopen({ registry: todoRegistry, sync: { startOffline: false } });
    expect((await firstValueFrom(a.loom.projection$(todoList))).get('a')).toEqual({
      title: 'a',
      done: false,
      tags: [],
    });
    await a.sync.flushed();
    await reached(a, 2);
    expect((await h.events()).map((e) => e.version)).toEqual([1, 1]);
    const read = await a.loom.readEvents();
    expect(read.map((e) => [e.version, e.data])).toEqual([
      [2, { id: 'a', title: 'a', tags: [] }],
      [2, { id: 'b', title: 'b', tags: [] }],
    ]);
    // Another device on v2 reads them upcast too.
    const b = await device(h);
    await reached(b, 2);
    expect((await b.loom.readEvents()).map((e) => e.data)).toEqual(read.map((e) => e.data));
  });
});
