/**
 * The hub's own share of e2e-latency, without the clients' stores: a diagnostic (not a benchmark:
 * no target). The hub runs as the benchmark runs it (`eventloom-hub`, a process of its own, on a
 * SQLite file), and so does the durable floor of e2e-latency (raw-relay-server.ts with a database).
 * Two bare protocol sockets, both subscribed to the stream as the benchmark's clients are (B said
 * hello first): A pushes one event at a time (the probe event as a client pushes it), and B's
 * socket receiving it ends the sample; `n` − 2 more subscribers (latency-peers.ts) load the
 * fan-out. The two paths alternate in rounds.
 *
 * Prints p50 and p99 of push → B's socket receives it, for each, and the CPU time each server
 * process (all its threads) spent per event while its samples ran, from /proc (Linux; a measure
 * that holds better than wall-clock time on a loaded machine): split into its main thread's user
 * and system time and its other threads' (V8's compiler and GC helpers, the SQLite threads), and
 * per round. A fresh hub compiles its hot code for its first few thousand events: rounds of a long
 * run show the CPU fall as it warms up.
 *
 * Run: `node --import tsx integration/bench/hub-hop.ts [samples] [n] [rounds]` (default 1000, 2,
 * 4; TMPDIR=/dev/shm takes the disk out). The hub gets nothing of this process's environment:
 * `HUB_NODE_OPTIONS` is its `NODE_OPTIONS` (`--perf-basic-prof-only-functions`, so that `perf
 * record -g -p <its pid>` names its JavaScript functions).
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectToHub, startHubProcess } from '@eventloom/sync-lab';
import { HUB_BIN } from '@eventloom/hub-server/testing';
import { MessageName } from '@eventloom/protocol';
import { percentile } from '../../bench/report.ts';
import { connectRaw, pause, probeEvent, probePush, startPeers, startRawRelay } from './sync-bench-kit.ts';

const SAMPLES = Number(process.argv[2] ?? 1000);
const N = Number(process.argv[3] ?? 2);
const ROUNDS = Number(process.argv[4] ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'eventloom-hub-hop-'));
const stream = 'hop:1';

const hubOptions = process.env['HUB_NODE_OPTIONS'];
const hub = await startHubProcess({
  bin: HUB_BIN,
  dbPath: join(dir, 'hub.db'),
  ...(hubOptions === undefined ? {} : { env: { NODE_OPTIONS: hubOptions } }),
});
const relay = await startRawRelay(join(dir, 'floor.db'));
const peers = await startPeers(hub.url, relay.url, N - 2, stream);

const { socket: b } = await connectToHub(hub.url, { clientId: 'hop-b', subscriptions: [stream] });
const { socket: a } = await connectToHub(hub.url, { clientId: 'hop-a', subscriptions: [stream] });
const [rawB, rawA] = await Promise.all([relay.url, relay.url].map(connectRaw));

let waiter: (() => void) | undefined;
b.on(MessageName.events, () => waiter?.());
rawB!.on('relay', () => waiter?.());
const arrived = () => new Promise<void>((resolve) => (waiter = resolve));

let pushed = 0;
async function hubSample(): Promise<number> {
  const n = ++pushed;
  const event = probePush(stream, n, 'hop-a');
  const got = arrived();
  const start = performance.now();
  const acked = a.emitWithAck(MessageName.push, { events: [event] });
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

/** A process's CPU time so far, in ms: user and system time of its main thread, and all its threads. */
interface Cpu {
  readonly user: number;
  readonly system: number;
  readonly all: number;
}
/** User and system time in ms of a /proc stat file; NaN where /proc cannot tell. */
function ticks(file: string): [number, number] {
  try {
    const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
    return [(Number(fields[11]) * 1000) / 100, (Number(fields[12]) * 1000) / 100];
  } catch {
    return [Number.NaN, Number.NaN];
  }
}
function cpuOf(pid: number | undefined): Cpu {
  const [user, system] = ticks(`/proc/${pid}/task/${pid}/stat`);
  const [allUser, allSystem] = ticks(`/proc/${pid}/stat`);
  return { user, system, all: allUser + allSystem };
}
const ZERO: Cpu = { user: 0, system: 0, all: 0 };
const plus = (a: Cpu, b: Cpu, sign = 1): Cpu => ({
  user: a.user + sign * b.user,
  system: a.system + sign * b.system,
  all: a.all + sign * b.all,
});

for (let i = 0; i < 200; i++) {
  await hubSample();
  await floorSample();
}
const paths = {
  floor: { sample: floorSample, pid: relay.pid, ms: [] as number[], cpu: ZERO, rounds: [] as number[] },
  hub: { sample: hubSample, pid: hub.pid, ms: [] as number[], cpu: ZERO, rounds: [] as number[] },
};
for (let round = 0; round < ROUNDS; round++) {
  for (const path of Object.values(paths)) {
    const before = cpuOf(path.pid);
    for (let i = 0; i < SAMPLES / ROUNDS; i++) {
      path.ms.push(await path.sample());
      await pause(1);
    }
    const spent = plus(cpuOf(path.pid), before, -1);
    path.cpu = plus(path.cpu, spent);
    path.rounds.push(spent.all / (SAMPLES / ROUNDS));
  }
}
console.log(`n = ${N}, ${SAMPLES} samples each`);
const us = (ms: number, events: number) => ((ms / events) * 1000).toFixed(0);
for (const [name, { ms, cpu, rounds }] of Object.entries(paths)) {
  console.log(
    `${name.padEnd(6)} p50 ${percentile(ms, 50).toFixed(3)} ms, p99 ${percentile(ms, 99).toFixed(3)} ms, ` +
      `CPU ${us(cpu.all, ms.length)} µs an event: main thread ${us(cpu.user, ms.length)} user + ` +
      `${us(cpu.system, ms.length)} system, other threads ${us(cpu.all - cpu.user - cpu.system, ms.length)}; ` +
      `by round ${rounds.map((r) => us(r, 1)).join(', ')}`,
  );
}
for (const socket of [a, b, rawA, rawB]) socket!.disconnect();
await peers.close();
await relay.close();
await hub.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
process.exit(0);
