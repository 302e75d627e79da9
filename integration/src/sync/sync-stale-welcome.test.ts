/**
 * A killed instance's push that reaches the store only after the new instance of the same device
 * said `hello`: still in the hub's sequencer at the hello, or still in transit (sent by the old
 * connection, received after the hello). The hello's claim moved the client's epoch, so the store
 * refuses the old push unstored (`superseded`), the welcome's `lastClientSeq` is final, and each
 * of the device's own events reaches the hub once, in the order it appended them. Without the
 * fence the old push takes seqs the welcome did not count, and a first batch of the new instance
 * that goes past them is stored around them: later appends before earlier ones (found by
 * sync-model.test.ts, seed 2137602492: the hub held `[a,b,c,e,d]`).
 */
import type { EventEnvelope } from '@eventloom/protocol';
import { ErrorCode, MessageName } from '@eventloom/protocol';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import type { EventStore } from '@eventloom/hub';
import { defaultSocketFactory, type SocketFactory } from '@eventloom/client';
import { TodoAdded } from '@eventloom/client/testing';
import { expect, it } from 'vitest';
import { oldInstance, ownAtHub } from './old-instance.node.ts';
import { syncFixtures, type TestDevice } from './sync-harness.node.ts';

const { hub: startHub, open, defer } = syncFixtures();

async function add(device: TestDevice, todo: string): Promise<EventEnvelope> {
  return device.loom.append('list:1', TodoAdded.create({ id: todo, title: todo, tags: [] }));
}

/** A store whose first append of `clientId`'s events, once armed, waits until the next claim of it. */
function holdingStore(clientId: () => string | undefined) {
  let armed = false;
  let release: (() => void) | undefined;
  let entered = () => undefined as void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const wrap = (store: EventStore): EventStore => {
    const own: Partial<EventStore> = {
      append: async (batch) => {
        if (armed && batch.some((item) => item.event.clientId === clientId())) {
          armed = false;
          const held = new Promise<void>((resolve) => (release = resolve));
          entered();
          await held;
        }
        return store.append(batch);
      },
      claimClient: async (id, principal) => {
        const claim = await store.claimClient(id, principal);
        // The new instance's hello read the device's record: the old push goes to the store now.
        if (id === clientId()) release?.();
        return claim;
      },
    };
    return new Proxy(store, {
      get: (target, name, receiver) => {
        if (name in own) return own[name as keyof EventStore];
        const value: unknown = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  return { wrap, arm: () => void (armed = true), inside };
}

/** The killed instance's connection, welcomed already; `push` sends its seqs `first`, `first + 1`… */
async function oldConnection(url: string, clientId: string) {
  const old = await oldInstance(url, clientId);
  defer(() => old.socket.disconnect());
  const push = (todos: readonly string[], first = 1) =>
    old.push(
      todos.map((id, i) =>
        sampleEnvelope({
          clientId,
          clientSeq: first + i,
          data: { id, title: id, tags: [] },
          version: 2,
          hlc: `${String(1_732_700_000_000 + i).padStart(15, '0')}-0000000000-${clientId}`,
        }),
      ),
    );
  return { push, hubErrors: old.hubErrors, welcome: old.welcome };
}

it("refuses a killed instance's push still in the sequencer at the new instance's hello", async () => {
  let clientId: string | undefined;
  const store = holdingStore(() => clientId);
  const hub = await startHub({ wrapStore: store.wrap });
  const device = await open(hub, { sync: { startOffline: true } });
  clientId = device.loom.clientId;
  const appends = ['d', 'e', 'f', 'g', 'h'];
  for (const todo of appends) await add(device, todo);
  const old = await oldConnection(hub.url, clientId);
  store.arm();
  const answer = old.push(['a', 'b', 'c']);
  await store.inside;
  device.sync.goOnline();
  await device.sync.flushed();
  expect(await ownAtHub(hub, clientId)).toEqual(appends);
  expect(await answer).toBe('disconnected');
  expect(old.hubErrors).toEqual([ErrorCode.superseded]);
});

/**
 * The device's first push leaves once `before()` (the old connection's push) was answered. Its
 * instance is the new one: `hello` was said before, the old push is received after it.
 */
function pushingAfter(before: () => Promise<unknown> | undefined): SocketFactory {
  let done = false;
  return (url, options) => {
    const inner = defaultSocketFactory(url, options);
    const emit = inner.emit.bind(inner);
    return Object.assign(inner, {
      emit: (event: string, ...args: unknown[]) => {
        const first = event === MessageName.push && !done ? before() : undefined;
        if (first === undefined) return emit(event, ...args);
        done = true;
        void first.then(() => emit(event, ...args));
        return inner;
      },
    });
  };
}

it("refuses a killed instance's push in transit at the new instance's hello, received after it", async () => {
  const hub = await startHub();
  let old: Awaited<ReturnType<typeof oldConnection>> | undefined;
  let answer: Promise<unknown> | undefined;
  const device = await open(hub, {
    sync: { socket: pushingAfter(() => (answer = old?.push(['a', 'b', 'c'], 2))) },
  });
  const clientId = device.loom.clientId;
  // Known to the hub: its record's epoch moves at each hello.
  await add(device, 'z');
  await device.sync.flushed();
  device.sync.goOffline();
  old = await oldConnection(hub.url, clientId);
  expect(old.welcome).toMatchObject({ lastClientSeq: 1 });
  const appends = ['d', 'e', 'f', 'g', 'h'];
  for (const todo of appends) await add(device, todo);
  device.sync.goOnline();
  await device.sync.flushed();
  expect(await ownAtHub(hub, clientId)).toEqual(['z', ...appends]);
  expect(await answer).toBe('disconnected');
  expect(old.hubErrors).toEqual([ErrorCode.superseded]);
});

it('keeps the order when the old push of a client never seen claims it first: the new instance says hello again', async () => {
  const hub = await startHub();
  let old: Awaited<ReturnType<typeof oldConnection>> | undefined;
  let answer: Promise<unknown> | undefined;
  const socket = pushingAfter(() => (answer = old?.push(['a', 'b', 'c'])));
  const device = await open(hub, { sync: { startOffline: true, socket } });
  const clientId = device.loom.clientId;
  const appends = ['d', 'e', 'f', 'g', 'h'];
  for (const todo of appends) await add(device, todo);
  old = await oldConnection(hub.url, clientId);
  device.sync.goOnline();
  await device.sync.flushed();
  // Both said hello to a client without a record: the first push claims it, and the new
  // instance, superseded, is welcomed again with the old push counted.
  expect(await answer).toMatchObject({ results: [{ status: 'ok' }, { status: 'ok' }, { status: 'ok' }] });
  expect(await ownAtHub(hub, clientId)).toEqual(['a', 'b', 'c', ...appends]);
});
