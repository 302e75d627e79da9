/**
 * hub-memory: heap per idle connected client, with 1,000 clients connected (and, for the hub,
 * authenticated by JWT and past `hello`, subscribed to one stream), against a bare Socket.IO
 * server holding the same 1,000 plain connections. The servers run in child processes so that
 * only their heap counts; heap is measured after full GCs, before and after the clients connect.
 * Ratio of bytes per client, target ≤ 1.5×.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Socket as ClientSocket } from 'socket.io-client';
import { expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { connectClient, hello, signToken } from '../src/hub/test-kit.ts';

const CLIENTS = 1_000;
const ROUNDS = 2;

it('hub-memory', async () => {
  let hubPerClient = Infinity;
  let barePerClient = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    barePerClient = Math.min(barePerClient, await perClient('bare'));
    hubPerClient = Math.min(hubPerClient, await perClient('hub'));
  }
  expect(hubPerClient).toBeGreaterThan(0);
  await reportBench({
    name: 'hub-memory',
    value: hubPerClient,
    unit: 'bytes/client',
    baseline: barePerClient,
    target: 1.5,
    better: 'lower',
  });
});

/** Heap growth of the server per connected client. */
async function perClient(mode: 'hub' | 'bare'): Promise<number> {
  const script = fileURLToPath(new URL('./hub-memory-server.ts', import.meta.url));
  const child = fork(script, [mode], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  try {
    const { url } = await reply<{ url: string }>(child);
    const token = await signToken('client');
    // Warm up the code paths, so that what is compiled and cached once is not counted per client.
    const warm = await connectAll(url, token, mode, 20, 'warm');
    for (const s of warm) s.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = await heap(child);
    const sockets = await connectAll(url, token, mode, CLIENTS, 'client');
    const after = await heap(child);
    for (const s of sockets) s.disconnect();
    return (after - before) / CLIENTS;
  } finally {
    child.kill();
  }
}

async function connectAll(
  url: string,
  token: string,
  mode: 'hub' | 'bare',
  count: number,
  prefix: string,
): Promise<ClientSocket[]> {
  const sockets: ClientSocket[] = [];
  // In groups, so that the handshakes do not all queue at once.
  for (let i = 0; i < count; i += 50) {
    const group = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, async (_, j) => {
        const socket = await connectClient(url, { token });
        if (mode === 'hub') await hello(socket, `${prefix}-${i + j}`, ['list:1']);
        return socket;
      }),
    );
    sockets.push(...group);
  }
  return sockets;
}

function reply<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve) => child.once('message', (m) => resolve(m as T)));
}

async function heap(child: ChildProcess): Promise<number> {
  const answer = reply<{ heap: number }>(child);
  child.send('heap');
  return (await answer).heap;
}
