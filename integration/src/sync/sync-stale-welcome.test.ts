/**
 * A killed instance's push still in the hub's sequencer when the new instance of the same device
 * says `hello`: the hub answers the welcome only once that push is answered, so its
 * `lastClientSeq` counts it and the new instance never gives those seqs again. Each of the
 * device's own events then reaches the hub once, in the order it appended them (found by
 * sync-model.test.ts, seed 2137602492: the hub held `[a,b,c,e,d]`).
 *
 * The old push is held in the store's append until the hub reads the device's record for the
 * welcome (what a hub that does not wait does at once), or else a while after the new instance's
 * `hello` left (a hub that waits reads the record only after the push).
 */
import type { EventEnvelope } from '@eventloom/protocol';
import { MessageName, PROTOCOL_VERSION } from '@eventloom/protocol';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import type { EventStore } from '@eventloom/hub';
import { defaultSocketFactory, type SocketFactory } from '@eventloom/client';
import { TodoAdded } from '@eventloom/client/testing';
import { io } from 'socket.io-client';
import { expect, it } from 'vitest';
import { syncFixtures, type TestDevice } from './sync-harness.node.ts';

const { hub: startHub, open, defer } = syncFixtures();

async function add(device: TestDevice, todo: string): Promise<EventEnvelope> {
  return device.loom.append('list:1', TodoAdded.create({ id: todo, title: todo, tags: [] }));
}

/** A store whose appends of `clientId`'s events wait, once armed, until `release`. */
function holdingStore(clientId: () => string | undefined) {
  let armed = false;
  let held: Promise<void> | undefined;
  let release = () => undefined as void;
  let entered = () => undefined as void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const wrap = (store: EventStore): EventStore => {
    const own: Partial<EventStore> = {
      append: async (batch) => {
        if (armed && batch.some((item) => item.event.clientId === clientId())) {
          armed = false;
          held = new Promise<void>((resolve) => (release = resolve));
          entered();
          await held;
        }
        return store.append(batch);
      },
      client: async (id) => {
        const record = await store.client(id);
        // The welcome's read while the old push is held: a hub that does not wait for it.
        if (id === clientId() && held !== undefined) release();
        return record;
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
  return {
    wrap,
    arm: () => void (armed = true),
    inside,
    release: () => release(),
  };
}

/** The killed instance's push of seqs 1..n, on a connection of its own; resolves with its answer. */
async function oldPush(url: string, clientId: string, todos: readonly string[]) {
  const socket = io(url, { transports: ['websocket'], forceNew: true });
  defer(() => socket.disconnect());
  const request = (name: string, payload: unknown) =>
    new Promise<unknown>((resolve) => socket.emit(name, payload, resolve));
  const welcome = await request(MessageName.hello, {
    protocol: PROTOCOL_VERSION,
    clientId,
    lastPosition: 0,
    subscriptions: [],
    schemaFingerprint: null,
  });
  expect(welcome).toMatchObject({ lastClientSeq: 0 });
  const events = todos.map((id, i) =>
    sampleEnvelope({
      clientId,
      clientSeq: i + 1,
      data: { id, title: id, tags: [] },
      version: 2,
      hlc: `${String(1_732_700_000_000 + i).padStart(15, '0')}-0000000000-${clientId}`,
    }),
  );
  return request(MessageName.push, { events });
}

async function scenario(appends: readonly string[]): Promise<string[]> {
  let clientId: string | undefined;
  const store = holdingStore(() => clientId);
  const hub = await startHub({ wrapStore: store.wrap });
  // A hub that waits for the old push reads the device's record only after it: let the push go a
  // while after the new instance's hello left (not an assertion: without the wait, the read lets it go).
  const socket: SocketFactory = (url, options) => {
    const inner = defaultSocketFactory(url, options);
    const emit = inner.emit.bind(inner);
    return Object.assign(inner, {
      emit: (event: string, ...args: unknown[]) => {
        if (event === MessageName.hello) setTimeout(() => store.release(), 300);
        return emit(event, ...args);
      },
    });
  };
  const device = await open(hub, { sync: { startOffline: true, socket } });
  clientId = device.loom.clientId;
  for (const todo of appends) await add(device, todo);
  store.arm();
  const old = oldPush(hub.url, clientId, ['a', 'b', 'c']);
  await store.inside;
  device.sync.goOnline();
  await device.sync.flushed();
  expect(await old).toMatchObject({ results: [{ status: 'ok' }, { status: 'ok' }, { status: 'ok' }] });
  const own = (await hub.events()).filter((x) => x.clientId === clientId);
  return own.map((x) => (x.data as { id: string }).id);
}

it("a killed instance's push still in the sequencer at the new instance's hello is counted in its welcome", async () => {
  expect(await scenario(['d', 'e'])).toEqual(['a', 'b', 'c', 'd', 'e']);
});

it("the same, when the new instance's first batch goes past the seqs the old push took", async () => {
  expect(await scenario(['d', 'e', 'f', 'g', 'h'])).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
});
