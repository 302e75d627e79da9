import type { LiveEvents } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import type { EventStore, HeadChange } from '../store/event-store.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import { createHubTestKit, pull, push } from './create-hub.test-kit.ts';
import { collect, makeEvent, until } from './test-kit.ts';

const { setup } = createHubTestKit();

/**
 * A memory store whose head changes hand the committed events over as JSON text, as a store that
 * keeps text does, and refuse to hand them over as objects: a feed that parses them fails.
 */
async function textHandingStore(): Promise<{ store: EventStore; parsed: () => number }> {
  const inner = await createMemoryStore();
  let parsed = 0;
  const asText = (change: HeadChange): HeadChange => {
    const { events } = change;
    if (events === undefined) return change;
    return {
      head: change.head,
      ...(change.from === undefined ? {} : { from: change.from }),
      events: () => {
        parsed++;
        throw new Error('the live feed parsed events it was handed as text');
      },
      json: () => events().map((e) => ({ position: e.position, stream: e.stream, json: JSON.stringify(e) })),
    };
  };
  const store: EventStore = {
    append: (batch) => inner.append(batch),
    read: (query) => inner.read(query),
    head: () => inner.head(),
    streamVersion: (stream) => inner.streamVersion(stream),
    client: (clientId) => inner.client(clientId),
    bindClient: (clientId, principal) => inner.bindClient(clientId, principal),
    claimClient: (clientId, principal) => inner.claimClient(clientId, principal),
    claimNewClient: (clientId, principal) => inner.claimNewClient(clientId, principal),
    watchHead: (listener) => inner.watchHead((change) => listener(asText(change))),
    hubId: () => inner.hubId(),
    close: () => inner.close(),
  };
  return { store, parsed: () => parsed };
}

describe('LiveFeed', () => {
  it('sends events handed over as JSON text as they are: what a pull gives, with prev, per subscription', async () => {
    const { store, parsed } = await textHandingStore();
    const { client } = await setup({ store });
    const a = await client('alice', 'client-a', ['list:*']);
    // b and c get the same message (one broadcast); d a subset of it (a message of its own).
    const b = await client('bob', 'client-b', ['list:*']);
    const c = await client('carol', 'client-c', ['*']);
    const d = await client('dave', 'client-d', ['list:2']);
    const toB = collect<LiveEvents>(b.socket, 'events');
    const toC = collect<LiveEvents>(c.socket, 'events');
    const toD = collect<LiveEvents>(d.socket, 'events');

    const events = Array.from({ length: 6 }, (_, i) =>
      makeEvent('client-a', i + 1, { stream: `list:${(i % 2) + 1}` }),
    );
    await push(a.socket, events.slice(0, 2));
    await push(a.socket, events.slice(2));

    const log = (await pull(a.socket)).events;
    expect(log.map((e) => e.id)).toEqual(events.map((e) => e.id));
    await until(() => toB.flatMap((m) => m.events).length === 6, 'b: live events');
    await until(() => toC.flatMap((m) => m.events).length === 6, 'c: live events');
    await until(() => toD.flatMap((m) => m.events).length === 3, 'd: live events');
    for (const received of [toB, toC]) {
      expect(received.flatMap((m) => m.events)).toEqual(log);
      expect(received.map((m) => m.prev)).toEqual([0, 2]);
    }
    expect(toD.flatMap((m) => m.events)).toEqual(log.filter((e) => e.stream === 'list:2'));
    expect(toD.map((m) => m.prev)).toEqual([0, 2]);
    expect(parsed()).toBe(0);
  });

  it("writes a subscribed pusher's live message with its ack, in one write, after the other subscribers'", async () => {
    const { hub, client } = await setup();
    // The pusher said hello first: without the hold its live message went out first, and alone.
    const a = await client('alice', 'client-a', ['list:*']);
    const b = await client('bob', 'client-b', ['list:*']);
    const writes: string[] = [];
    for (const [name, socket] of [
      ['a', a.socket],
      ['b', b.socket],
    ] as const) {
      const tcp = tcpOf(hub.io.sockets.sockets.get(socket.id!)!);
      const write = tcp._write.bind(tcp);
      const writev = tcp._writev!.bind(tcp);
      tcp._write = (chunk, encoding, callback) => {
        writes.push(`${name}: 1`);
        write(chunk, encoding, callback);
      };
      tcp._writev = (chunks, callback) => {
        writes.push(`${name}: ${chunks.length}`);
        writev(chunks, callback);
      };
    }
    const toA = collect<LiveEvents>(a.socket, 'events');
    const toB = collect<LiveEvents>(b.socket, 'events');
    const ack = await push(a.socket, [makeEvent('client-a', 1, { stream: 'list:1' })]);
    expect(ack.results[0]?.status).toBe('ok');
    await until(() => toA.length === 1 && toB.length === 1, 'live events');
    expect(writes).toEqual(['b: 1', 'a: 2']);
  });
});

/** The TCP socket under a server-side socket's WebSocket. */
function tcpOf(socket: { conn: unknown }): import('node:net').Socket {
  const conn = socket.conn as { transport: { socket: { _socket: import('node:net').Socket } } };
  return conn.transport.socket._socket;
}
