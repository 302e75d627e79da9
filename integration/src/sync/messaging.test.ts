import { createHub, createMemoryStore, insecureDevAuthenticator } from '@eventloom/hub';
import { MessageName, type JsonValue } from '@eventloom/protocol';
import { firstValueFrom, Subject, type Observable } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { ClientError } from '@eventloom/client';
import { TodoAdded, todoCount } from '@eventloom/client/testing';
import {
  live,
  openDevice,
  silent,
  syncFixtures,
  waitFor,
  type TestDevice,
  type TestHub,
} from './sync-harness.node.ts';
import { createMessaging, type Messaging } from '@eventloom/client';
import { defaultSocketFactory, type SocketFactory } from '@eventloom/client';
import { syncPortOf } from '@eventloom/client/testing';

const { defer, hub, device: liveDevice } = syncFixtures();

type MessagingDevice = TestDevice & { readonly messaging: Messaging };

async function device(...args: Parameters<typeof openDevice>): Promise<MessagingDevice> {
  const d = await liveDevice(...args);
  return Object.assign(d, { messaging: createMessaging(d.sync) });
}

/** Everything `source` emits from now on. */
function record<T>(source: Observable<T>): T[] {
  const values: T[] = [];
  const subscription = source.subscribe((v) => values.push(v));
  defer(() => subscription.unsubscribe());
  return values;
}

/** Resolves once `values` holds at least `count` values (no timing is asserted: the wait is generous). */
async function holds(values: readonly unknown[], count: number): Promise<void> {
  await vi.waitFor(() => expect(values.length).toBeGreaterThanOrEqual(count), { timeout: 20_000 });
}

/** A socket factory that records the `notify` messages a device sends and receives. */
function tap(sent: unknown[], received: unknown[]): SocketFactory {
  return (url, options) => {
    const socket = defaultSocketFactory(url, options);
    const emit = socket.emit.bind(socket);
    const on = socket.on.bind(socket);
    return Object.assign(socket, {
      emit: (event: string, ...args: unknown[]) => {
        if (event === MessageName.notify) sent.push(args[0]);
        return emit(event, ...args);
      },
      // oxlint-disable-next-line no-explicit-any -- Socket.IO listeners take whatever the peer sent
      on: (event: string, listener: (...args: any[]) => void) =>
        on(event, (...args: unknown[]) => {
          if (event === MessageName.notify) received.push(args[0]);
          listener(...args);
        }),
    });
  };
}

/** Nothing of the notifications or queries was stored, on the hub or on any device. */
async function nothingStored(h: TestHub, devices: readonly TestDevice[]): Promise<void> {
  expect(await h.events()).toEqual([]);
  expect(await h.store.head()).toBe(0);
  for (const d of devices) {
    expect(await d.loom.readEvents()).toEqual([]);
    expect(await syncPortOf(d.loom).readOutbox()).toEqual([]);
    expect(await syncPortOf(d.loom).lastPosition()).toBe(0);
  }
}

const typing = (who: string): JsonValue => ({ who });

describe('notifications', () => {
  it('reach the subscribers of the stream connected now, once, and are never stored', async () => {
    const h = await hub();
    const a = await device(h, { sync: { subscriptions: ['room:*'] } });
    // c says hello before b: the hub offers a notification to c before b (its sessions in hello order).
    const c = await device(h, { sync: { subscriptions: ['room:2'] } });
    const b = await device(h, { sync: { subscriptions: ['room:1'] } });
    const offline = await device(h, { sync: { subscriptions: ['room:1'] } });
    const inA = record(a.messaging.notifications$());
    const inB = record(b.messaging.notifications$('room:1'));
    const inC = record(c.messaging.notifications$());
    const inOffline = record(offline.messaging.notifications$());
    offline.sync.goOffline();
    await waitFor(offline.sync.syncState$, (s) => s === 'offline');

    expect(a.messaging.notify('room:1', 'user.typing', typing('a'))).toBe(true);
    await holds(inB, 1);
    expect(inB).toEqual([
      {
        id: expect.any(String),
        type: 'user.typing',
        stream: 'room:1',
        data: { who: 'a' },
        from: a.loom.clientId,
        meta: { principal: expect.objectContaining({ sub: expect.any(String) }) },
      },
    ]);

    // A client that connects later, and one that comes back online, get nothing of it: the next
    // notification (a barrier, sent after they are live) is the first they see.
    const later = await device(h, { sync: { subscriptions: ['room:1'] } });
    const inLater = record(later.messaging.notifications$());
    offline.sync.goOnline();
    await live(offline.sync);
    expect(a.messaging.notify('room:2', 'user.typing', typing('barrier'))).toBe(true);
    expect(a.messaging.notify('room:1', 'user.typing', typing('barrier'))).toBe(true);
    await Promise.all([holds(inC, 1), holds(inLater, 1), holds(inOffline, 1), holds(inB, 2)]);
    expect(inC.map((n) => [n.stream, n.data])).toEqual([['room:2', { who: 'barrier' }]]);
    expect(inLater.map((n) => n.data)).toEqual([{ who: 'barrier' }]);
    expect(inOffline.map((n) => n.data)).toEqual([{ who: 'barrier' }]);
    expect(inB.map((n) => n.data)).toEqual([{ who: 'a' }, { who: 'barrier' }]);
    // The sender does not hear itself.
    expect(inA).toEqual([]);
    await nothingStored(h, [a, b, c, offline, later]);
  });

  it('go to one client only with `to`', async () => {
    const h = await hub();
    const a = await device(h, { sync: { subscriptions: ['room:1'] } });
    const c = await device(h, { sync: { subscriptions: ['room:1'] } });
    const b = await device(h, { sync: { subscriptions: ['room:1'] } });
    const [inA, inB, inC] = [a, b, c].map((d) => record(d.messaging.notifications$()));
    expect(a.messaging.notify('room:1', 'user.poke', { n: 1 }, { to: b.loom.clientId })).toBe(true);
    await holds(inB!, 1);
    expect(b.messaging.notify('room:1', 'user.poke', { n: 2 })).toBe(true);
    await Promise.all([holds(inA!, 1), holds(inC!, 1)]);
    expect(inB!.map((n) => n.data)).toEqual([{ n: 1 }]);
    expect(inC!.map((n) => n.data)).toEqual([{ n: 2 }]);
    expect(inA!.map((n) => n.data)).toEqual([{ n: 2 }]);
  });

  it('are dropped, not queued, while offline', async () => {
    const h = await hub();
    const sent: unknown[] = [];
    const a = await device(h, { sync: { socket: tap(sent, []) } });
    const b = await device(h);
    const inB = record(b.messaging.notifications$());
    a.sync.goOffline();
    await waitFor(a.sync.syncState$, (s) => s === 'offline');
    expect(a.messaging.notify('room:1', 'user.typing', typing('offline'))).toBe(false);
    a.sync.goOnline();
    await live(a.sync);
    expect(a.messaging.notify('room:1', 'user.typing', typing('online'))).toBe(true);
    await holds(inB, 1);
    expect(inB.map((n) => n.data)).toEqual([{ who: 'online' }]);
    expect(sent).toHaveLength(1);
  });

  it('filters by stream pattern and type, and refuses a malformed one', async () => {
    const h = await hub();
    const a = await device(h);
    const b = await device(h);
    const typingOnly = record(b.messaging.notifications$({ stream: 'room:*', type: ['user.typing'] }));
    const all = record(b.messaging.notifications$());
    a.messaging.notify('room:1', 'user.left', typing('a'));
    a.messaging.notify('other', 'user.typing', typing('a'));
    a.messaging.notify('room:2', 'user.typing', typing('a'));
    await holds(all, 3);
    expect(typingOnly.map((n) => n.stream)).toEqual(['room:2']);
    expect(() => a.messaging.notify('room:1', 'Not A Type!', null)).toThrow(ClientError);
    expect(() => a.messaging.notify('room:1', 'user.typing', 'x'.repeat(2_000_000))).toThrow(
      expect.objectContaining({ code: 'too-large' }),
    );
  });
});

describe('queries', () => {
  it('are answered by another client, with the first reply, and never stored', async () => {
    const h = await hub();
    const a = await device(h, { sync: { subscriptions: ['list:1'] } });
    const b = await device(h, { sync: { subscriptions: ['list:1'] } });
    const c = await device(h, { sync: { subscriptions: ['list:2'] } });
    const asked: unknown[] = [];
    b.messaging.answerQueries('todo.count', (query) => {
      asked.push(query);
      return { count: 3, of: query.data };
    });
    c.messaging.answerQueries('todo.count', () => ({ count: 99 }));
    const result = await a.messaging.query<{ count: number }>('list:1', 'todo.count', { list: 1 });
    expect(result).toEqual({ data: { count: 3, of: { list: 1 } }, from: b.loom.clientId, local: false });
    expect(asked).toMatchObject([
      { type: 'todo.count', stream: 'list:1', data: { list: 1 }, from: a.loom.clientId, timeoutMs: 5000 },
    ]);
    await nothingStored(h, [a, b, c]);
  });

  it('are answered from local projections first, without the network', async () => {
    const h = await hub();
    const sent: unknown[] = [];
    const a = await device(h, { projections: [todoCount], sync: { socket: tap(sent, []) } });
    const b = await device(h);
    let asked = 0;
    b.messaging.answerQueries('todo.count', () => ++asked);
    await a.loom.append('list:1', TodoAdded.create({ id: 'x', title: 'x', tags: [] }));
    const local = await a.messaging.query('list:1', 'todo.count', null, {
      local: () => firstValueFrom(a.loom.projection$(todoCount)),
    });
    expect(local).toEqual({ data: 1, from: undefined, local: true });
    expect(sent).toEqual([]);
    expect(asked).toBe(0);
    // No local answer (undefined): the network is asked.
    const remote = await a.messaging.query('list:1', 'todo.count', null, { local: () => undefined });
    expect(remote).toEqual({ data: 1, from: b.loom.clientId, local: false });
    expect(sent).toHaveLength(1);
  });

  it('reject with `timeout` when nobody answers, and with `connection-failed` offline', async () => {
    const h = await hub();
    const a = await device(h);
    const b = await device(h);
    b.messaging.answerQueries('todo.count', () => undefined); // stays silent
    await expect(a.messaging.query('list:1', 'todo.count', null, { timeoutMs: 100 })).rejects.toMatchObject({
      name: 'ClientError',
      code: 'timeout',
    });
    a.sync.goOffline();
    await waitFor(a.sync.syncState$, (s) => s === 'offline');
    await expect(a.messaging.query('list:1', 'todo.count', null)).rejects.toMatchObject({
      code: 'connection-failed',
    });
  });

  it('ignore a reply that comes after the timeout', async () => {
    const h = await hub();
    const received: unknown[] = [];
    const a = await device(h, { sync: { socket: tap([], received) } });
    const b = await device(h);
    const gate = new Subject<void>();
    const opened = firstValueFrom(gate);
    let answers = 0;
    b.messaging.answerQueries('todo.count', async () => {
      await opened;
      return ++answers;
    });
    const inA = record(a.messaging.notifications$());
    const late = a.messaging.query('list:1', 'todo.count', null, { timeoutMs: 100 });
    const outcome = late.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    expect(await outcome).toMatchObject({ error: { code: 'timeout' } });
    gate.next();
    // The late reply reaches the device, and changes nothing there.
    await holds(received, 1);
    expect(received).toMatchObject([{ kind: 'reply', data: 1, to: a.loom.clientId }]);
    expect(inA).toEqual([]);
    expect(await outcome).toMatchObject({ error: { code: 'timeout' } });
    // The next query gets its own reply, not the stale one.
    const next = await a.messaging.query('list:1', 'todo.count', null);
    expect(next.data).toBe(2);
  });

  it('allow one answerer per type, and stop answering when told', async () => {
    const h = await hub();
    const a = await device(h);
    const b = await device(h);
    const stop = b.messaging.answerQueries('todo.count', () => 1);
    expect(() => b.messaging.answerQueries('todo.count', () => 2)).toThrow(ClientError);
    expect((await a.messaging.query('list:1', 'todo.count', null)).data).toBe(1);
    stop();
    await expect(a.messaging.query('list:1', 'todo.count', null, { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'timeout',
    });
  });

  it('are answered by the hub when it has a handler for the type', async () => {
    const store = await createMemoryStore();
    const h = await createHub({
      store,
      auth: insecureDevAuthenticator(),
      logger: silent,
      queries: { 'hub.head': async (query) => ({ head: await store.head(), asked: query.data }) },
    });
    defer(
      () => store.close(),
      () => h.close(),
    );
    const a = await device({ url: h.url });
    const b = await device({ url: h.url });
    let askedB = 0;
    b.messaging.answerQueries('hub.head', () => ++askedB);
    expect(await a.messaging.query('list:1', 'hub.head', 'now?')).toEqual({
      data: { head: 0, asked: 'now?' },
      from: await store.hubId(),
      local: false,
    });
    expect(askedB).toBe(0);
  });

  it('reject with `closed` when the sync closes while they wait', async () => {
    const h = await hub();
    const a = await openDevice(h);
    defer(() => a.close());
    await live(a.sync);
    const messaging = createMessaging(a.sync);
    const waiting = messaging.query('list:1', 'todo.count', null, { timeoutMs: 60_000 });
    const outcome = waiting.catch((error: unknown) => error);
    await a.sync.close();
    expect(await outcome).toMatchObject({ code: 'closed' });
    // Made on a closed sync: closed from the start.
    const late = createMessaging(a.sync);
    expect(late.notify('room:1', 'user.typing', typing('a'))).toBe(false);
    await expect(late.query('list:1', 'todo.count', null)).rejects.toMatchObject({ code: 'closed' });
  });

  it('stop with their messaging: waiting ones reject with `closed`, and the sync goes on', async () => {
    const h = await hub();
    const a = await device(h);
    const b = await device(h);
    b.messaging.answerQueries('todo.count', () => 1);
    const waiting = a.messaging.query('list:1', 'todo.silent', null, { timeoutMs: 60_000 });
    const outcome = waiting.catch((error: unknown) => error);
    let completed = false;
    a.messaging.notifications$().subscribe({ complete: () => (completed = true) });
    a.messaging.close();
    expect(await outcome).toMatchObject({ code: 'closed' });
    expect(completed).toBe(true);
    expect(a.messaging.notify('room:1', 'user.typing', typing('a'))).toBe(false);
    await expect(a.messaging.query('list:1', 'todo.count', null)).rejects.toMatchObject({ code: 'closed' });
    // Another messaging on the same sync works: the sync was not touched.
    expect(await firstValueFrom(a.sync.syncState$)).toBe('live');
    expect((await createMessaging(a.sync).query('list:1', 'todo.count', null)).data).toBe(1);
  });
});
