/**
 * A device's own events stay in the order it appended them after a kill, however the hub learns of
 * the killed instance's last push. Found by sync-model.test.ts in CI (EVENTLOOM_SEED=653413087, not
 * replayable: timing): the hub held `[a, b, c, X, e, f, d]` where the device appended
 * `a, b, c, X, d, e, f` (X: the add in flight at the kill, pushed ahead of its local write, which
 * never happened; d, e, f: the new instance's adds). In both ways there, the new instance pushes
 * d@4, e@5, f@6 in one batch while the hub holds X at seq 4: d is refused `seq-used`, e@5 follows
 * on from X@4 and is stored, and d, realigned, lands after f. No realign can repair that afterwards.
 *
 * 1. "(CI)": the settle stage must not end early. The killed instance pushed a, b, c, then X; the
 *    answer to a, b, c died with it, so the new instance holds a, b, c unacked and numbers d, e, f
 *    4, 5, 6 (its store lacks X). The welcome says `lastClientSeq` 4: rows up to 4 go first, alone
 *    (`settleUpTo`). The first settle batch is cut at `maxEvents` (a, b, c); its answer must not end
 *    the settling (session-push.ts, `#sendBatch`), so that d goes alone, is refused `seq-used` and
 *    realigned past 4 before e and f go.
 * 2. "(late push)": the killed instance's push reaches the hub only after the hub read the record for
 *    the new instance's welcome (the network held the dead process's last bytes). The client epoch
 *    fence guards it: `claimClient` moves the client's epoch up, and the old session's push is
 *    `fenced`, stored nowhere.
 */
import { defineDecider } from '@eventloom/core';
import type { EventEnvelope } from '@eventloom/protocol';
import { ErrorCode, MessageName } from '@eventloom/protocol';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import type { EventStore } from '@eventloom/hub';
import { defaultSocketFactory, type SocketFactory } from '@eventloom/client';
import { syncPortOf, TodoAdded } from '@eventloom/client/testing';
import { createConnection, createServer, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { oldInstance, ownAtHub } from './old-instance.node.ts';
import { hookPushes, todosAt } from './push-hook.node.ts';
import { SocketTap } from './socket-tap.node.ts';
import { live, syncFixtures, type TestDevice } from './sync-harness.node.ts';

const { hub: startHub, open, defer } = syncFixtures();

async function add(device: TestDevice, todo: string): Promise<EventEnvelope> {
  return device.loom.append('list:1', TodoAdded.create({ id: todo, title: todo, tags: [] }));
}

/** A store that calls `onRead` once, armed, right after the hub read `clientId`'s record. */
function watchingStore(clientId: () => string | undefined, onRead: () => void) {
  let armed = false;
  const wrap = (store: EventStore): EventStore =>
    new Proxy(store, {
      get: (target, name, receiver) => {
        // What `hello` reads the device's record with (and moves its epoch up by).
        if (name === 'claimClient') {
          return async (id: string, principal: string) => {
            const record = await target.claimClient(id, principal);
            if (armed && id === clientId()) {
              armed = false;
              onRead();
            }
            return record;
          };
        }
        const value: unknown = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  return { wrap, arm: () => void (armed = true) };
}

/**
 * A TCP relay to `port`. `hold()` holds what the connections open now send from then on (their
 * close included), as a network that lost those segments holds a dead process's last bytes
 * (the kernel still sends and resends them after the process is gone); the release delivers them,
 * then the close.
 */
async function relay(port: number) {
  interface Link {
    readonly upstream: Socket;
    held: Buffer[] | undefined;
    closed: boolean;
  }
  const links = new Set<Link>();
  const server = createServer((client) => {
    const upstream = createConnection({ port, host: '127.0.0.1', noDelay: true });
    const link: Link = { upstream, held: undefined, closed: false };
    links.add(link);
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => (link.held ? link.held.push(chunk) : upstream.write(chunk)));
    client.on('close', () => {
      link.closed = true;
      if (!link.held) upstream.end();
    });
    upstream.on('data', (chunk: Buffer) => void (client.destroyed || client.write(chunk)));
    upstream.on('close', () => client.destroy());
    for (const socket of [client, upstream]) socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(() => {
    for (const link of links) link.upstream.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    hold(): () => void {
      const now = [...links].filter((link) => !link.closed);
      for (const link of now) link.held = [];
      return () => {
        for (const link of now) {
          for (const chunk of link.held ?? []) link.upstream.write(chunk);
          link.held = undefined;
          if (link.closed) link.upstream.end();
        }
      };
    },
  };
}

/** The old instance's connection: it said `hello` (welcomed at seq `after`); `push` sends its add at `after + 1`. */
async function oldConnection(url: string, clientId: string, after: number) {
  const old = await oldInstance(url, clientId);
  defer(() => old.socket.disconnect());
  expect(old.welcome).toMatchObject({ lastClientSeq: after });
  const event = sampleEnvelope({
    clientId,
    clientSeq: after + 1,
    data: { id: 'X', title: 'X', tags: [] },
    version: 2,
    hlc: `${String(Date.now()).padStart(15, '0')}-0000000000-${clientId}`,
  });
  return { event, push: () => old.push([event]), hubErrors: old.hubErrors };
}

/**
 * A socket factory whose pushes' answers, and the live events the hub sends back (the echo of the
 * device's own events, which confirms them as an answer would), are lost while `lose()` says so,
 * and that calls `after` once a push left.
 */
function losingAnswers(lose: () => boolean) {
  let after: (() => void) | undefined;
  const factory: SocketFactory = (url, options) => {
    const inner = defaultSocketFactory(url, options);
    const emit = inner.emit.bind(inner);
    const on = inner.on.bind(inner);
    return Object.assign(inner, {
      on: (event: string, listener: (...args: unknown[]) => void) =>
        on(
          event,
          event === MessageName.events
            ? (...args: unknown[]) => void (lose() || listener(...args))
            : listener,
        ),
      emit: (event: string, ...args: unknown[]) => {
        if (event !== MessageName.push) return emit(event, ...args);
        const [payload, ack] = args as [unknown, (answer: unknown) => void];
        const lost = lose();
        const sent = emit(event, payload, (answer: unknown) => void (lost || ack(answer)));
        const then = after;
        after = undefined;
        then?.();
        return sent;
      },
    });
  };
  return { factory, afterNextPush: (fn: () => void) => void (after = fn) };
}

it("(CI) a first settle batch cut at maxEvents does not end the settling: the device's own events stay in append order", async () => {
  const hub = await startHub();
  let lose = false;
  const socket = losingAnswers(() => lose);
  const device = await open(hub, {
    killable: true,
    // The model test's push settings: batches of 3, two in flight.
    sync: { socket: socket.factory, push: { maxEvents: 3, inFlight: 2 } },
  });
  const clientId = device.loom.clientId;
  // Live first, so that no catch-up pull is still to come: its page would confirm a, b, c.
  await live(device.sync);
  // a, b, c go in one push, which the hub stores; its answer (and their echo) is on its way when
  // the kill falls.
  lose = true;
  const appended = await device.loom.appendMany(
    'list:1',
    ['a', 'b', 'c'].map((todo) => TodoAdded.create({ id: todo, title: todo, tags: [] })),
  );
  for (let i = 0; i < 500 && (await hub.events()).length < 3; i++)
    await new Promise((r) => setTimeout(r, 10));
  expect(await hub.events()).toHaveLength(3);
  // X's rows are pushed ahead of its write (the device is the only instance of its database); the
  // kill falls right after that push left, before the write starts.
  socket.afterNextPush(() => device.kill());
  void add(device, 'X').catch(() => undefined);
  expect(await device.killAfter({ ms: 5000 })).toMatchObject({ writesRolledBack: 0, writesCommitting: 0 });
  lose = false;
  await device.reopen({ sync: { startOffline: true } });
  // The new instance: a, b, c unacked (their answer died with the old one), no X; d, e, f from 4.
  const outbox = await syncPortOf(device.loom).readOutbox();
  expect(outbox.map((row) => [row.clientSeq, row.acked])).toEqual([
    [1, undefined],
    [2, undefined],
    [3, undefined],
  ]);
  for (const todo of ['d', 'e', 'f']) appended.push(await add(device, todo));
  expect(appended.map((e) => e.clientSeq)).toEqual([1, 2, 3, 4, 5, 6]);
  device.sync.goOnline();
  await device.sync.flushed();

  const order = await ownAtHub(hub, clientId);
  // The hub got X before the hello (stored at 4): it stays, before d. On main: [a, b, c, X, e, f, d].
  expect(order).toEqual(['a', 'b', 'c', 'X', 'd', 'e', 'f']);
});

it("(late push) a killed instance's push the hub receives after the new instance's welcome: the device's own events stay in append order", async () => {
  let clientId: string | undefined;
  let old: Awaited<ReturnType<typeof oldConnection>> | undefined;
  let oldAnswered: Promise<unknown> | undefined;
  let read = () => undefined as void;
  const welcomeRead = new Promise<void>((resolve) => (read = resolve));
  const store = watchingStore(
    () => clientId,
    () => {
      // The killed instance's push arrives now: after the hub read the record for the welcome.
      oldAnswered = old!.push();
      read();
    },
  );
  const hub = await startHub({ wrapStore: store.wrap });
  // The new instance's pushes leave once the old push was answered (without the fence: X stored at seq 4).
  const socket: SocketFactory = (url, options) => {
    const inner = defaultSocketFactory(url, options);
    const emit = inner.emit.bind(inner);
    return Object.assign(inner, {
      emit: (event: string, ...args: unknown[]) => {
        if (event !== MessageName.push || oldAnswered === undefined) return emit(event, ...args);
        void welcomeRead.then(() => oldAnswered).then(() => emit(event, ...args));
        return inner;
      },
    });
  };
  // The model test's push settings: batches of 3, two in flight.
  const device = await open(hub, { sync: { socket, push: { maxEvents: 3, inFlight: 2 } } });
  clientId = device.loom.clientId;
  await live(device.sync);
  const appended = [await add(device, 'a'), await add(device, 'b'), await add(device, 'c')];
  await device.sync.flushed();
  // The old instance's session, live at seq 3; then the device is "the new instance": offline,
  // its store without X (the old write was cut), it appends d, e, f and says hello again.
  old = await oldConnection(hub.url, clientId, 3);
  device.sync.goOffline();
  for (const todo of ['d', 'e', 'f']) appended.push(await add(device, todo));
  expect(appended.map((e) => e.clientSeq)).toEqual([1, 2, 3, 4, 5, 6]);
  store.arm();
  device.sync.goOnline();
  await welcomeRead;
  await oldAnswered;
  await device.sync.flushed();

  const order = await ownAtHub(hub, clientId);
  // The old session is fenced: X is stored nowhere, and the device's own adds are stored once
  // each, in the order it appended them. Before the fence: [a, b, c, X, e, f, d].
  expect(await oldAnswered).toBe('disconnected');
  expect(old.hubErrors).toEqual([ErrorCode.superseded]);
  expect(order).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
});

it('(late push) the same with a real instance killed right after its push left: the push reaches the hub after the new instance was welcomed', async () => {
  let clientId: string | undefined;
  let release: (() => void) | undefined;
  let read = () => undefined as void;
  const welcomeRead = new Promise<void>((resolve) => (read = resolve));
  const store = watchingStore(
    () => clientId,
    () => {
      // The killed instance's last bytes arrive now: after the hub read the record for the welcome.
      release!();
      read();
    },
  );
  let xId: string | undefined;
  let xResult: unknown;
  let judged = () => undefined as void;
  const xJudged = new Promise<void>((resolve) => (judged = resolve));
  const hub = await startHub({
    wrapStore: (inner) => {
      const watched = store.wrap(inner);
      return new Proxy(watched, {
        get: (target, name, receiver) => {
          if (name === 'append') {
            return async (batch: Parameters<EventStore['append']>[0]) => {
              const results = await target.append(batch);
              if (batch.some((item) => item.event.id === xId)) {
                xResult = results.find((r) => r.id === xId);
                judged();
              }
              return results;
            };
          }
          return Reflect.get(target, name, receiver) as unknown;
        },
      });
    },
  });
  const net = await relay(hub.port);
  const tap = new SocketTap();
  // The ids of each push the old instance sends.
  const pushed: string[][] = [];
  const recording: SocketFactory = (url, options) => {
    const inner = tap.factory(url, options);
    const emit = inner.emit.bind(inner);
    return Object.assign(inner, {
      emit: (event: string, ...args: unknown[]) => {
        if (event === MessageName.push)
          pushed.push((args[0] as { events: EventEnvelope[] }).events.map((e) => e.id));
        return emit(event, ...args);
      },
    });
  };
  const device = await open(net, {
    killable: true,
    sync: { socket: recording, push: { maxEvents: 3, inFlight: 2 } },
  });
  clientId = device.loom.clientId;
  await live(device.sync);
  const appended = [await add(device, 'a'), await add(device, 'b'), await add(device, 'c')];
  await device.sync.flushed();

  // The add in flight at the kill: its rows leave before its write starts (the device is the only
  // instance of its database); the kill falls right after the push left, and the write never runs.
  release = net.hold();
  tap.afterNextPush(() => {
    const report = device.kill();
    expect(report).toMatchObject({ writesRolledBack: 0, writesCommitting: 0 });
  });
  const inFlight = add(device, 'X');
  void inFlight.catch(() => undefined);
  const cut = await device.killAfter({ ms: 5000 });
  expect(cut.operations).toBeGreaterThan(0);
  // The new instance: its pushes wait until the store judged X (the CI run's timing stored it first).
  const socket: SocketFactory = (url, options) => {
    const inner = defaultSocketFactory(url, options);
    const emit = inner.emit.bind(inner);
    return Object.assign(inner, {
      emit: (event: string, ...args: unknown[]) => {
        if (event !== MessageName.push) return emit(event, ...args);
        void xJudged.then(() => emit(event, ...args));
        return inner;
      },
    });
  };
  await device.reopen({ sync: { startOffline: true, socket } });
  // Its store lacks X: the write was never made. It numbers d, e, f from 4.
  expect((await syncPortOf(device.loom).readOutbox()).map((row) => row.event.id)).toEqual([]);
  for (const todo of ['d', 'e', 'f']) appended.push(await add(device, todo));
  expect(appended.map((e) => e.clientSeq)).toEqual([1, 2, 3, 4, 5, 6]);
  // The kill fell right after X's push left: its one event is the last pushed.
  expect(pushed.at(-1)).toHaveLength(1);
  xId = pushed.at(-1)![0];
  store.arm();
  device.sync.goOnline();
  await welcomeRead;
  await xJudged;
  await device.sync.flushed();

  const order = await ownAtHub(hub, clientId);
  // The killed instance's session is fenced: X is stored nowhere. Before the fence: [a, b, c, X,
  // e, f, d] (X at seq 4, d refused `seq-used`, then stored at 7).
  expect(xResult).toMatchObject({ status: 'fenced', id: xId });
  expect(order).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
});

/** Adds two to-dos to a list in one decision: two guarded events on the list's stream. */
const addPair = defineDecider<null, { readonly list: string; readonly ids: readonly string[] }>({
  name: 'add-pair',
  initial: null,
  evolve: (state) => state,
  decide: (command) => command.ids.map((id) => TodoAdded.create({ id, title: id, tags: [] })),
  stream: (command) => command.list,
});

it('(decision) a decision across the welcome’s seq: its rows at or below it settle alone, refused `seq-used` whole, and go again together, renumbered', async () => {
  const hub = await startHub();
  let lose = false;
  const socket = losingAnswers(() => lose);
  // Each push the device sends: its events as `todo@clientSeq`.
  const pushes: string[][] = [];
  const recording = hookPushes(socket.factory, (payload, ack, send) => {
    pushes.push(todosAt(payload));
    send(payload, ack);
  });
  const device = await open(hub, {
    killable: true,
    sync: { socket: recording, deciders: [addPair], push: { maxEvents: 3, inFlight: 2 } },
  });
  const clientId = device.loom.clientId;
  await live(device.sync);
  // As in (CI): a, b, c stored, their answer lost; X pushed ahead of its write, and the kill.
  lose = true;
  await device.loom.appendMany(
    'list:1',
    ['a', 'b', 'c'].map((todo) => TodoAdded.create({ id: todo, title: todo, tags: [] })),
  );
  for (let i = 0; i < 500 && (await hub.events()).length < 3; i++)
    await new Promise((r) => setTimeout(r, 10));
  socket.afterNextPush(() => device.kill());
  void add(device, 'X').catch(() => undefined);
  await device.killAfter({ ms: 5000 });
  lose = false;
  await device.reopen({ sync: { startOffline: true } });
  // The new instance decides d and e together, on another list: seqs 4 and 5, where the hub holds
  // X at 4 (the welcome's seq), nothing at 5.
  const decided = await device.loom.execute(addPair, { list: 'list:2', ids: ['d', 'e'] });
  if (!decided.ok) throw new Error('the decider refused');
  expect(decided.events.map((e) => [e.clientSeq, e.expectedVersion])).toEqual([
    [4, 0],
    [5, 1],
  ]);
  pushes.length = 0;
  device.sync.goOnline();
  await device.sync.flushed();

  // The settle cut splits the decision at the welcome's seq: d goes alone. The hub holds another
  // event there, so it refuses d `seq-used` and stores nothing of the decision; the device numbers
  // d and e past the hub's seq, and they go together, judged as one.
  expect(pushes).toEqual([['a@1', 'b@2', 'c@3'], ['d@4'], ['d@5', 'e@6']]);
  expect(await ownAtHub(hub, clientId)).toEqual(['a', 'b', 'c', 'X', 'd', 'e']);
  const stored = (await hub.events()).filter((e) => e.stream === 'list:2');
  expect(stored.map((e) => [e.clientSeq, e.streamVersion])).toEqual([
    [5, 1],
    [6, 2],
  ]);
  expect(await device.loom.commandOutcome(decided)).toMatchObject({ status: 'committed', redecided: 0 });
});
