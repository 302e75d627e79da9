import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import type { Socket as ClientSocket } from 'socket.io-client';
import { describe, expect, it, vi } from 'vitest';
import { rememberAckIds, sendAck, type Ack } from './direct-ack.ts';
import { engineConnectionOf } from './engine-connection.ts';
import { encodeJsonText, JsonText } from './json-text.ts';
import { connectClient, testScope, until } from './test-kit.ts';

const scope = testScope();

const answer = { results: [{ status: 'ok', id: 'e1', position: 7, text: 'ü🙂 "quoted"' }] };

/**
 * A server as the hub makes it (JsonText encoding, ack ids remembered), one client on `transport`,
 * its server socket, the Engine.IO `message` packets that socket made, and the acks its `ask`
 * requests received (the server socket's handler keeps each ack callback for the test to call).
 */
async function setup(transport: 'websocket' | 'polling') {
  const io = new Server({ transports: ['websocket', 'polling'], perMessageDeflate: false });
  const server = io.listen(0);
  encodeJsonText(io);
  const messages: string[] = [];
  const acks: Ack[] = [];
  io.on('connection', (socket) => {
    rememberAckIds(socket);
    (socket.conn as unknown as { on(e: string, f: (p: { type: string }) => void): void }).on(
      'packetCreate',
      (packet) => messages.push(packet.type),
    );
    socket.on('ask', (_payload: unknown, ack: Ack) => acks.push(ack));
  });
  scope.defer(() => io.close());
  await new Promise<void>((resolve) =>
    server.httpServer.listening ? resolve() : server.httpServer.once('listening', () => resolve()),
  );
  const url = `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}`;
  const client: ClientSocket = await connectClient(url, undefined, { polling: transport === 'polling' });
  scope.defer(() => client.disconnect());
  const socket = io.of('/').sockets.get(client.id!)!;
  messages.length = 0;
  return { client, socket, messages, acks };
}

/** A spy on the frames `socket`'s WebSocket writes. */
function framesOf(socket: ServerSocket) {
  const { _sender: sender } = engineConnectionOf(socket).transport.socket as unknown as {
    _sender: { sendFrame(list: Buffer[]): void };
  };
  return vi.spyOn(sender, 'sendFrame');
}

describe('sendAck', () => {
  it('writes the ack Socket.IO would send, as one frame straight to the WebSocket, without an Engine.IO packet', async () => {
    const { client, socket, messages, acks } = await setup('websocket');
    const frames = framesOf(socket);
    const answered = client.emitWithAck('ask', 1);
    await until(() => acks.length === 1, 'the request arrives');

    sendAck(socket, acks[0]!, new JsonText(JSON.stringify(answer)));

    expect(await answered).toEqual(answer);
    expect(messages).toEqual([]);
    expect(frames).toHaveBeenCalledTimes(1);
    const [expected] = new Server().encoder.encode({ type: 3, nsp: '/', id: 0, data: [answer] }) as [string];
    expect(frames.mock.calls[0]![0][0]!.subarray(2).toString()).toBe(`4${expected}`);
  });

  it.each([
    ['written straight to the WebSocket', () => new JsonText('1')],
    // A text that lends its buffer goes through Socket.IO (see below).
    ['written by Socket.IO', () => JsonText.framedAround(() => undefined, new Uint8Array(Buffer.from('1')))],
  ])(
    'writes an ack once: once %s, a later call that could write directly sends nothing',
    async (_, first) => {
      const { client, socket, acks } = await setup('websocket');
      const frames = framesOf(socket);
      const answered = client.emitWithAck('ask', 1);
      await until(() => acks.length === 1, 'the request arrives');

      sendAck(socket, acks[0]!, first());
      sendAck(socket, acks[0]!, new JsonText('2'));
      expect(await answered).toBe(1);
      sendAck(socket, acks[0]!, new JsonText('3'));

      expect(frames).toHaveBeenCalledTimes(1);
    },
  );

  it('leaves the ack to Socket.IO on long-polling', async () => {
    const { client, socket, messages, acks } = await setup('polling');
    const answered = client.emitWithAck('ask', 1);
    await until(() => acks.length === 1, 'the request arrives');

    sendAck(socket, acks[0]!, new JsonText(JSON.stringify(answer)));

    expect(await answered).toEqual(answer);
    expect(messages).toEqual(['message']);
  });

  it('leaves the ack to Engine.IO behind packets it still holds for the socket, so that it keeps its place', async () => {
    const { client, socket, messages, acks } = await setup('websocket');
    const order: string[] = [];
    client.on('first', () => order.push('first'));
    const answered = client
      .emitWithAck('ask', 1)
      .then((value: unknown) => order.push(`ack ${String(value)}`));
    await until(() => acks.length === 1, 'the request arrives');
    const conn = socket.conn as unknown as {
      transport: { writable: boolean };
      writeBuffer: unknown[];
      flush(): void;
    };
    conn.transport.writable = false;
    socket.emit('first', 1);
    expect(conn.writeBuffer).toHaveLength(1);

    sendAck(socket, acks[0]!, new JsonText('2'));

    expect(conn.writeBuffer).toHaveLength(2);
    conn.transport.writable = true;
    conn.flush();
    await answered;
    expect(order).toEqual(['first', 'ack 2']);
    expect(messages).toEqual(['message', 'message']);
  });

  it('leaves an ack whose text lends its buffer to Socket.IO, which gives the buffer back once written', async () => {
    const { client, socket, messages, acks } = await setup('websocket');
    const answered = client.emitWithAck('ask', 1);
    await until(() => acks.length === 1, 'the request arrives');
    const released = vi.fn<() => void>();
    const bytes = new Uint8Array(Buffer.from(JSON.stringify(answer)));

    sendAck(socket, acks[0]!, JsonText.framedAround(released, bytes));

    expect(await answered).toEqual(answer);
    expect(messages).toEqual(['message']);
    await until(() => released.mock.calls.length === 1, 'the buffer is given back');
  });
});
