/**
 * The hub's own share of e2e-latency, without the clients' stores: a diagnostic (not a benchmark:
 * no target). Two bare protocol sockets, A pushing one event at a time (the probe event as a
 * client pushes it) and B subscribed, through the hub (in this process, on a SQLite file), against
 * the durable floor of e2e-latency (raw-relay-server.ts with a database, in a child process).
 * Prints p50 and p99 of push → B's socket receives the events, for each.
 *
 * Run: `node --import tsx integration/bench/hub-hop.ts [samples]` (TMPDIR=/dev/shm takes the disk out).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHub, createSqliteStore, insecureDevAuthenticator } from '@eventloom/hub';
import { MessageName, PROTOCOL_VERSION } from '@eventloom/protocol';
import { io, type Socket } from 'socket.io-client';
import { percentile } from '../../bench/report.ts';
import { pause, probeEvent, startRawRelay } from './sync-bench-kit.ts';

const SAMPLES = Number(process.argv[2] ?? 1000);
const ROUNDS = 4;
const dir = mkdtempSync(join(tmpdir(), 'eventloom-hub-hop-'));
const stream = 'hop:1';

const store = await createSqliteStore({ path: join(dir, 'hub.db') });
const hub = await createHub({ store, auth: insecureDevAuthenticator(), port: 0, host: '127.0.0.1' });
const relay = await startRawRelay(join(dir, 'floor.db'));

function connect(url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}
async function hello(socket: Socket, clientId: string): Promise<void> {
  const welcome = (await socket.emitWithAck(MessageName.hello, {
    protocol: PROTOCOL_VERSION,
    clientId,
    lastPosition: 0,
    subscriptions: [stream],
    schemaFingerprint: null,
  })) as { error?: unknown };
  if (welcome.error !== undefined) throw new Error(`hello refused: ${JSON.stringify(welcome.error)}`);
}
const [a, b, rawA, rawB] = await Promise.all([hub.url, hub.url, relay.url, relay.url].map(connect));
await hello(a!, 'hop-a');
await hello(b!, 'hop-b');

let waiter: (() => void) | undefined;
b!.on(MessageName.events, () => waiter?.());
rawB!.on('relay', () => waiter?.());
const arrived = () => new Promise<void>((resolve) => (waiter = resolve));

let pushed = 0;
async function hubSample(): Promise<number> {
  const n = ++pushed;
  const { position: _p, streamVersion: _v, recordedAt: _r, ...committed } = probeEvent(stream, n);
  const event = { ...committed, clientId: 'hop-a', meta: {}, hlc: committed.hlc.replace('probe-a', 'hop-a') };
  const got = arrived();
  const start = performance.now();
  const acked = a!.emitWithAck(MessageName.push, { events: [event] });
  await got;
  const ms = performance.now() - start;
  const ack = (await acked) as { results?: { status: string }[] };
  if (ack.results?.[0]?.status !== 'ok') throw new Error(`push refused: ${JSON.stringify(ack)}`);
  return ms;
}
let relayed = 0;
async function floorSample(): Promise<number> {
  const n = ++relayed;
  const got = arrived();
  const start = performance.now();
  rawA!.emit('durable', { events: [probeEvent(stream, n)], prev: n - 1 });
  await got;
  return performance.now() - start;
}

for (let i = 0; i < 100; i++) {
  await hubSample();
  await floorSample();
}
const samples = { floor: [] as number[], hub: [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, sample] of [
    ['floor', floorSample],
    ['hub', hubSample],
  ] as const) {
    for (let i = 0; i < SAMPLES / ROUNDS; i++) {
      samples[name].push(await sample());
      await pause(1);
    }
  }
}
for (const [name, ms] of Object.entries(samples)) {
  console.log(
    `${name.padEnd(6)} p50 ${percentile(ms, 50).toFixed(3)} ms, p99 ${percentile(ms, 99).toFixed(3)} ms`,
  );
}
for (const socket of [a, b, rawA, rawB]) socket!.disconnect();
await hub.close();
await store.close();
await relay.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
