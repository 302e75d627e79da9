/**
 * A JsonText whose bytes lie in a buffer lent to it (a pull page's, `JsonText.framedAround`): its
 * frame is written in that buffer, around the bytes, and the buffer goes back once the frame was
 * written out; never before, and at once when it had to be copied.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { encodeJsonText, EncodedPacket, JsonText, type TcpSocket, whenWritten } from './json-text.ts';
import { connectClient, testScope, until } from './test-kit.ts';

const scope = testScope();
const encoding = new Server(createServer());
encodeJsonText(encoding);
type Packet = Parameters<Server['encoder']['encode']>[0];

const page = { events: [{ id: 'e1', data: { text: 'ü🙂 "quoted"' } }], head: 9, until: 1, more: true };
const json = JSON.stringify(page.events).slice(1, -1);
const after = `],"head":9,"until":1,"more":true}`;

/** The page's events' JSON in a buffer of its own, `room` bytes free on each side. */
function lent(room: number): Uint8Array {
  const bytes = new TextEncoder().encode(json);
  const inBuffer = new Uint8Array(new ArrayBuffer(bytes.byteLength + 2 * room), room, bytes.byteLength);
  inBuffer.set(bytes);
  return inBuffer;
}

function encode(packet: Packet): EncodedPacket {
  const [encoded] = encoding.encoder.encode(packet) as unknown[];
  expect(encoded).toBeInstanceOf(EncodedPacket);
  return encoded as EncodedPacket;
}

describe('a JsonText of lent bytes', () => {
  it('is framed as an ack in the buffer of its bytes, the bytes Socket.IO sends, and not given back yet', () => {
    const bytes = lent(128);
    let released = 0;
    const text = JsonText.framedAround(() => released++, '{"events":[', bytes, after);
    const { frame } = encode({ type: 3, nsp: '/', id: 42, data: [text] });
    const [expected] = new Server().encoder.encode({ type: 3, nsp: '/', id: 42, data: [page] }) as [string];
    expect(frame.buffer).toBe(bytes.buffer);
    expect(frame.subarray(2).toString()).toBe(`4${expected}`);
    expect(released).toBe(0);
  });

  it('is copied, and given back at once, without room around it or as a message to many', () => {
    const packets: ((arg: unknown) => Packet)[] = [
      (arg) => ({ type: 3, nsp: '/', id: 7, data: [arg] }),
      (arg) => ({ type: 2, nsp: '/', data: ['events', arg] }),
    ];
    for (const [room, packet] of [
      [8, packets[0]!],
      [128, packets[1]!],
    ] as const) {
      const bytes = lent(room);
      let released = 0;
      const encoded = encode(packet(JsonText.framedAround(() => released++, '{"events":[', bytes, after)));
      expect(encoded.frame.buffer).not.toBe(bytes.buffer);
      const [expected] = new Server().encoder.encode(packet(page)) as [string];
      expect(encoded.toString()).toBe(expected);
      expect(encoded.release).toBeUndefined();
      expect(released).toBe(1);
    }
  });
});

describe('a lent page sent as an ack', () => {
  /** A listening server as the hub makes it, and a client of `transport`. */
  async function setup(transport: 'websocket' | 'polling') {
    const io = new Server({ transports: ['websocket', 'polling'], perMessageDeflate: false });
    const server = io.listen(0);
    encodeJsonText(io);
    scope.defer(() => io.close());
    await new Promise<void>((resolve) =>
      server.httpServer.listening ? resolve() : server.httpServer.once('listening', () => resolve()),
    );
    const url = `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}`;
    const client = await connectClient(url, undefined, { polling: transport === 'polling' });
    scope.defer(() => client.disconnect());
    const socket: Socket = io.of('/').sockets.get(client.id!)!;
    return { client, socket };
  }

  it('gives its buffer back once the frame was written to the WebSocket, not while Engine.IO holds it', async () => {
    const { client, socket } = await setup('websocket');
    const conn = socket.conn as unknown as { transport: { writable: boolean }; flush(): void };
    const bytes = lent(128);
    let released = 0;
    socket.on('pull', (ack: (answer: unknown) => void) => {
      // The transport is busy: the ack waits in Engine.IO's buffer.
      conn.transport.writable = false;
      ack(JsonText.framedAround(() => released++, '{"events":[', bytes, after));
    });
    const answered = client.emitWithAck('pull');
    await until(() => !conn.transport.writable, 'the ack is made');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(released).toBe(0);
    conn.transport.writable = true;
    conn.flush();
    expect(await answered).toEqual(page);
    await until(() => released === 1, 'the buffer is given back');
  });

  it('keeps its buffer while its bytes wait in the TCP socket, even when a drain comes too early', async () => {
    const { client, socket } = await setup('websocket');
    const conn = socket.conn as unknown as {
      transport: {
        socket: { _socket: TcpSocket & { cork(): void; uncork(): void } };
        emit(event: 'drain'): void;
      };
      sentCallbackFn: unknown[];
    };
    const tcp = conn.transport.socket._socket;
    const bytes = lent(128);
    let released = 0;
    let acked = false;
    socket.on('pull', (ack: (answer: unknown) => void) => {
      // The frame is written into the TCP socket but stays queued there.
      tcp.cork();
      ack(JsonText.framedAround(() => released++, '{"events":[', bytes, after));
      acked = true;
    });
    const answered = client.emitWithAck('pull');
    await until(() => acked, 'the ack is made');
    expect(tcp.writableLength).toBeGreaterThan(0);
    // Engine.IO matches send callbacks to drains by position: a drain not of this flush runs ours.
    expect(conn.sentCallbackFn).toHaveLength(1);
    conn.transport.emit('drain');
    expect(conn.sentCallbackFn).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toBe(0);
    tcp.uncork();
    expect(await answered).toEqual(page);
    await until(() => released === 1, 'the buffer is given back');
  });

  it('gives it back once copied into its text on long-polling', async () => {
    const { client, socket } = await setup('polling');
    let released = 0;
    socket.on('pull', (ack: (answer: unknown) => void) =>
      ack(JsonText.framedAround(() => released++, '{"events":[', lent(128), after)),
    );
    expect(await client.emitWithAck('pull')).toEqual(page);
    expect(released).toBe(1);
  });
});

describe('whenWritten', () => {
  it('gives back at once on an idle socket, after the bytes queued before, and on close', async () => {
    const { createServer: createTcpServer, connect } = await import('node:net');
    const server = createTcpServer((peer) => peer.resume()).listen(0, '127.0.0.1');
    scope.defer(() => server.close());
    await new Promise((resolve) => server.once('listening', resolve));
    const tcp = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => tcp.once('connect', resolve));
    const released: string[] = [];
    whenWritten(tcp, () => released.push('idle'));
    expect(released).toEqual(['idle']);
    tcp.cork();
    tcp.write(Buffer.alloc(1000));
    whenWritten(tcp, () => released.push('queued'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toEqual(['idle']);
    tcp.uncork();
    await until(() => released.length === 2, 'given back after the queued bytes');
    tcp.cork();
    tcp.write(Buffer.alloc(1000));
    whenWritten(tcp, () => released.push('closed'));
    tcp.destroy();
    await until(() => released.length === 3, 'given back once closed');
    expect(tcp.closed).toBe(true);
  });
});
