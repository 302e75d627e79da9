import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import type { Socket as ClientSocket } from 'socket.io-client';
import { describe, expect, it, vi } from 'vitest';
import { Broadcast } from './frame-fanout.ts';
import { encodeJsonText, JsonText } from './json-text.ts';
import { collect, connectClient, testScope, until } from './test-kit.ts';

const scope = testScope();

const message = {
  events: [{ id: 'e1', stream: 'list:1', data: { text: 'ü🙂 "quoted"' }, position: 3 }],
  prev: 2,
};

/** The engine side of a server socket, as far as these tests look at it. */
interface Conn {
  readonly id: string;
  readonly writeBuffer: unknown[];
  readonly transport: {
    name: string;
    writable: boolean;
    socket?: { _sender: { sendFrame(list: Buffer[]): void } };
  };
  flush(): void;
}
const connOf = (socket: Socket) => socket.conn as unknown as Conn;

/**
 * A listening server as the hub makes it (WebSocket and long-polling, JsonText encoding), its
 * clients, their server sockets, and the Engine.IO packets each server socket made.
 */
async function setup(transports: ('websocket' | 'polling')[]) {
  const io = new Server({ transports: ['websocket', 'polling'], perMessageDeflate: false });
  const server = io.listen(0);
  encodeJsonText(io);
  const packets = new Map<string, string[]>();
  io.engine.on(
    'connection',
    (conn: Conn & { on(e: 'packetCreate', f: (p: { type: string }) => void): void }) => {
      packets.set(conn.id, []);
      conn.on('packetCreate', (packet) => packets.get(conn.id)!.push(packet.type));
    },
  );
  scope.defer(() => io.close());
  await new Promise<void>((resolve) =>
    server.httpServer.listening ? resolve() : server.httpServer.once('listening', () => resolve()),
  );
  const url = `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}`;
  const clients: ClientSocket[] = [];
  for (const transport of transports) {
    const client = await connectClient(url, undefined, { polling: transport === 'polling' });
    scope.defer(() => client.disconnect());
    clients.push(client);
  }
  const sockets = clients.map((c) => io.of('/').sockets.get(c.id!)!);
  // From here on: the Socket.IO handshake (a message too) is behind.
  for (const made of packets.values()) made.length = 0;
  const messagesOf = (socket: Socket) => packets.get(connOf(socket).id)!.filter((type) => type === 'message');
  return { io, clients, sockets, messagesOf };
}

describe('Broadcast', () => {
  it('writes one frame, the bytes Socket.IO sends, to every WebSocket as it is given, without an Engine.IO packet; long-polling gets it through Socket.IO at the end', async () => {
    const { io, clients, sockets, messagesOf } = await setup(['websocket', 'websocket', 'polling']);
    const received = clients.map((c) => collect(c, 'events'));
    const frames = sockets.slice(0, 2).map((s) => vi.spyOn(connOf(s).transport.socket!._sender, 'sendFrame'));

    const broadcast = new Broadcast('events', new JsonText(JSON.stringify(message)));
    // The long-polling socket first: it waits for the end, the WebSockets after it do not.
    broadcast.to(sockets[2]!);
    broadcast.to(sockets[0]!);
    expect(frames[0]!).toHaveBeenCalledTimes(1);
    expect(frames[1]!).not.toHaveBeenCalled();
    broadcast.to(sockets[1]!);
    expect(frames[1]!).toHaveBeenCalledTimes(1);
    expect(messagesOf(sockets[2]!)).toEqual([]);
    broadcast.end(io);

    await until(() => received.every((r) => r.length === 1), 'every client receives the message');
    for (const r of received) expect(r).toEqual([message]);
    const [expected] = new Server().encoder.encode({ type: 2, nsp: '/', data: ['events', message] }) as [
      string,
    ];
    const written = frames.map((spy) => spy.mock.calls.map(([list]) => list));
    expect(written[0]).toHaveLength(1);
    expect(written[1]).toEqual(written[0]);
    // The same buffer for both: encoded once.
    expect(written[1]![0]![0]).toBe(written[0]![0]![0]);
    expect(written[0]![0]![0]!.subarray(2).toString()).toBe(`4${expected}`);
    expect(sockets.map(messagesOf)).toEqual([[], [], ['message']]);
    expect(clients[2]!.io.engine.transport.name).toBe('polling');
  });

  it('leaves the message to Engine.IO behind packets it still holds for a socket, so that it keeps its place', async () => {
    const { io, clients, sockets, messagesOf } = await setup(['websocket', 'websocket']);
    const order: string[] = [];
    clients[0]!.onAny((name: string) => order.push(name));
    const other = collect(clients[1]!, 'events');
    // The first socket's transport is busy: what it is sent waits in Engine.IO's buffer.
    const held = connOf(sockets[0]!);
    held.transport.writable = false;
    sockets[0]!.emit('first', 1);
    expect(held.writeBuffer).toHaveLength(1);

    const broadcast = new Broadcast('events', new JsonText(JSON.stringify(message)));
    for (const socket of sockets) broadcast.to(socket);
    broadcast.end(io);

    expect(held.writeBuffer).toHaveLength(2);
    await until(() => other.length === 1, 'the other client receives the message');
    expect(messagesOf(sockets[1]!)).toEqual([]);
    held.transport.writable = true;
    held.flush();
    await until(() => order.length === 2, 'the held client receives both');
    expect(order).toEqual(['first', 'events']);
  });
});
