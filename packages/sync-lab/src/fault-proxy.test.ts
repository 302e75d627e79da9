import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { seededRandom } from './seeded-random.ts';
import { waitUntil } from './wait-until.ts';

/** An echo server that records what each of its connections received. */
interface Echo {
  readonly port: number;
  readonly connections: { socket: Socket; received: Buffer[]; closed: boolean }[];
  close(): Promise<void>;
}

async function startEcho(): Promise<Echo> {
  const connections: Echo['connections'] = [];
  const server: Server = createServer((socket) => {
    const entry = { socket, received: [] as Buffer[], closed: false };
    connections.push(entry);
    socket.on('data', (chunk: Buffer) => {
      entry.received.push(chunk);
      socket.write(chunk);
    });
    socket.on('error', () => {});
    socket.on('close', () => (entry.closed = true));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    connections,
    close: () =>
      new Promise((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client socket that keeps what it reads and whether it closed. */
async function dial(port: number) {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  const state = { socket, received: [] as Buffer[], closed: false, error: undefined as Error | undefined };
  socket.on('data', (chunk: Buffer) => state.received.push(chunk));
  socket.on('error', (error) => (state.error = error));
  socket.on('close', () => (state.closed = true));
  await once(socket, 'connect');
  return state;
}

const bytes = (chunks: readonly Buffer[]) => Buffer.concat(chunks);

function payload(seed: number, length: number): Buffer {
  const random = seededRandom(seed);
  return Buffer.from(Array.from({ length }, () => random.int(0, 255)));
}

let echo: Echo | undefined;
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await echo?.close();
  proxy = undefined;
  echo = undefined;
});

async function setUp(seed = 1) {
  echo = await startEcho();
  proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: echo.port }, seed });
  return { echo, proxy };
}

describe('createFaultProxy', () => {
  it('passes bytes through unchanged and in order while splitting and delaying them', async () => {
    const { proxy } = await setUp(7);
    proxy.setFaults({ delayMs: [0, 4], splitProbability: 1, maxPieces: 8 });
    const client = await dial(proxy.port);
    const data = payload(1, 300_000);
    const random = seededRandom(2);
    for (let offset = 0; offset < data.length;) {
      const size = random.int(1, 20_000);
      client.socket.write(data.subarray(offset, offset + size));
      offset += size;
    }
    await waitUntil(() => bytes(client.received).length >= data.length, {
      message: () => `the echo (${JSON.stringify(proxy.stats)})`,
    });
    expect(bytes(client.received).equals(data)).toBe(true);
    client.socket.end();
    await waitUntil(() => client.closed && proxy.stats.open === 0, { message: 'a clean close' });

    const { up, down } = proxy.stats;
    for (const direction of [up, down]) {
      expect(direction.bytesIn).toBe(data.length);
      expect(direction.bytesOut).toBe(data.length);
      expect(direction.bytesDropped).toBe(0);
      expect(direction.splitChunks).toBe(direction.chunks);
      expect(direction.writes).toBeGreaterThan(direction.chunks);
      expect(direction.delayedChunks).toBeGreaterThan(0);
    }
    expect(proxy.stats.resets).toBe(0);
  });

  it('applies faults to one direction only when asked', async () => {
    const { proxy } = await setUp();
    proxy.setFaults({ splitProbability: 1 }, 'up');
    expect(proxy.faults('up').splitProbability).toBe(1);
    expect(proxy.faults('down').splitProbability).toBe(0);
    const client = await dial(proxy.port);
    const data = payload(3, 50_000);
    client.socket.write(data);
    await waitUntil(() => bytes(client.received).length >= data.length);
    expect(bytes(client.received).equals(data)).toBe(true);
    expect(proxy.stats.up.splitChunks).toBeGreaterThan(0);
    expect(proxy.stats.down.splitChunks).toBe(0);
    proxy.clearFaults();
    expect(proxy.faults('up').splitProbability).toBe(0);
  });

  it('draws the same faults for the same seed and the same traffic', async () => {
    const run = async (seed: number) => {
      const { proxy, echo } = await setUp(seed);
      proxy.setFaults({ delayMs: [0, 3], splitProbability: 0.5, maxPieces: 4 });
      const client = await dial(proxy.port);
      let expected = 0;
      // One write at a time, each echoed before the next, so the proxy reads the same chunks.
      for (let i = 0; i < 40; i++) {
        const chunk = payload(i, 200 + i * 37);
        client.socket.write(chunk);
        expected += chunk.length;
        await waitUntil(() => bytes(client.received).length >= expected);
      }
      client.socket.destroy();
      const { up } = proxy.stats;
      await proxy.close();
      await echo.close();
      return up;
    };
    const first = await run(1234);
    expect(first.chunks).toBe(40);
    expect(await run(1234)).toEqual(first);
    expect(await run(4321)).not.toEqual(first);
  });

  it('resetAll destroys both sides of every connection', async () => {
    const { echo, proxy } = await setUp();
    const a = await dial(proxy.port);
    const b = await dial(proxy.port);
    a.socket.write('ping');
    b.socket.write('ping');
    await waitUntil(() => echo.connections.length === 2 && bytes(a.received).length === 4);
    expect(proxy.stats.open).toBe(2);
    expect(proxy.connections().map((c) => c.id)).toEqual([0, 1]);

    proxy.resetAll();
    await waitUntil(() => a.closed && b.closed && echo.connections.every((c) => c.closed), {
      message: 'both sides to close',
    });
    expect(a.error?.message).toMatch(/ECONNRESET/);
    expect(proxy.stats).toMatchObject({ accepted: 2, open: 0, resets: 2 });
  });

  it('a reset fault lets a prefix of the chunk through, then cuts both sides', async () => {
    const { echo, proxy } = await setUp(5);
    proxy.setFaults({ resetProbability: 1 }, 'up');
    const client = await dial(proxy.port);
    const data = payload(9, 1000);
    client.socket.write(data);
    await waitUntil(() => client.closed && echo.connections.every((c) => c.closed) && proxy.stats.open === 0);
    const { up } = proxy.stats;
    expect(up.bytesIn).toBe(1000);
    expect(up.bytesOut).toBeLessThan(1000);
    expect(up.bytesOut + up.bytesDropped).toBe(1000);
    // What arrived (the RST may discard part of what was written) is a prefix of what was sent.
    const arrived = bytes(echo.connections[0]?.received ?? []);
    expect(arrived.length).toBeLessThanOrEqual(up.bytesOut);
    expect(arrived.equals(data.subarray(0, arrived.length))).toBe(true);
    expect(proxy.stats.resets).toBe(1);
  });

  it('a blackhole swallows the traffic, then resets the connection', async () => {
    const { echo, proxy } = await setUp();
    proxy.setFaults({ blackholeProbability: 1, blackholeMs: 30 }, 'up');
    const client = await dial(proxy.port);
    client.socket.write('lost in the void');
    await waitUntil(() => client.closed && proxy.stats.open === 0, {
      message: 'the reset after the blackhole',
    });
    expect(bytes(echo.connections[0]?.received ?? []).length).toBe(0);
    expect(proxy.stats).toMatchObject({ blackholes: 1, resets: 1 });
    expect(proxy.stats.up.bytesDropped).toBe('lost in the void'.length);
    expect(proxy.stats.up.bytesOut).toBe(0);
  });

  it('blackholes one connection on demand, leaving the others alone', async () => {
    const { proxy } = await setUp();
    const a = await dial(proxy.port);
    const b = await dial(proxy.port);
    await waitUntil(() => proxy.stats.open === 2);
    proxy
      .connections()
      .find((c) => c.id === 0)!
      .blackhole(20);
    a.socket.write('into the void');
    b.socket.write('echo me');
    await waitUntil(() => a.closed && bytes(b.received).toString() === 'echo me');
    expect(bytes(a.received).length).toBe(0);
    expect(b.closed).toBe(false);
    expect(proxy.stats).toMatchObject({ blackholes: 1, resets: 1, open: 1 });
  });

  it('pause holds traffic without dropping it, and resume delivers it in order', async () => {
    const { echo, proxy } = await setUp();
    const client = await dial(proxy.port);
    await waitUntil(() => echo.connections.length === 1);
    proxy.pause();
    const parts = [payload(1, 3000), payload(2, 10), payload(3, 70_000)];
    for (const part of parts) client.socket.write(part);
    const total = parts.reduce((n, p) => n + p.length, 0);
    // The proxy has read everything, and forwarded none of it.
    await waitUntil(() => proxy.stats.up.bytesIn === total);
    expect(proxy.stats.up.bytesOut).toBe(0);
    expect(bytes(echo.connections[0]!.received).length).toBe(0);

    proxy.resume();
    await waitUntil(() => bytes(client.received).length >= total);
    expect(bytes(client.received).equals(Buffer.concat(parts))).toBe(true);
    expect(proxy.stats.up.bytesDropped).toBe(0);
  });

  it("a connection's flushed resolves once what its client sent reached the target", async () => {
    const { echo, proxy } = await setUp();
    const client = await dial(proxy.port);
    await waitUntil(() => echo.connections.length === 1);
    const [connection] = proxy.connections();
    await connection!.flushed();
    // The client's last bytes and its end are held in the proxy, as a dead process's are in the network.
    proxy.pause();
    client.socket.end('last words');
    await waitUntil(() => proxy.stats.up.bytesIn === 'last words'.length && client.socket.writableFinished);
    let flushed = false;
    void connection!.flushed().then(() => (flushed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(false);
    expect(bytes(echo.connections[0]!.received).length).toBe(0);

    proxy.resume();
    await connection!.flushed();
    expect(flushed).toBe(true);
    await waitUntil(() => bytes(echo.connections[0]!.received).length === 'last words'.length);
    expect(bytes(echo.connections[0]!.received).toString()).toBe('last words');
  });

  it("a connection's flushed resolves when a reset drops what was held", async () => {
    const { proxy } = await setUp();
    const client = await dial(proxy.port);
    await waitUntil(() => proxy.stats.open === 1);
    const [connection] = proxy.connections();
    proxy.pause();
    client.socket.write('never delivered');
    await waitUntil(() => proxy.stats.up.bytesIn === 'never delivered'.length);
    const flushed = connection!.flushed();
    connection!.reset();
    await flushed;
    expect(proxy.stats.up.bytesDropped).toBe('never delivered'.length);
  });

  it('resets the client when the target refuses (e.g. the hub is down)', async () => {
    const dead = await startEcho();
    await dead.close();
    proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: dead.port } });
    const client = await dial(proxy.port);
    await waitUntil(() => client.closed);
    expect(proxy.stats).toMatchObject({ accepted: 1, targetFailures: 1, open: 0 });
  });

  it('close ends every connection and frees the port', async () => {
    const { proxy } = await setUp();
    const client = await dial(proxy.port);
    await waitUntil(() => proxy.stats.open === 1);
    const port = proxy.port;
    await proxy.close();
    await waitUntil(() => client.closed);
    // The same port can be listened on again at once.
    const again = await createFaultProxy({ target: { host: '127.0.0.1', port: 1 }, listenPort: port });
    expect(again.port).toBe(port);
    await again.close();
  });
});
