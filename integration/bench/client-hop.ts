/**
 * The clients' share of e2e-latency: a diagnostic (not a benchmark: no target). The hub runs as in
 * the benchmark (`eventloom-hub` child process, SQLite); A (client-hop-writer.ts, another process)
 * holds a full client and a bare protocol socket, and B (here) a full client folding a count and a
 * bare socket, each subscribed to a stream of its own. Four paths, alternating in rounds, one
 * sample at a time: bare → bare (the hub alone), client → bare (adds A's client: append → push
 * leaves), bare → client (adds B's client: frame → `projection$`), client → client (the
 * benchmark's path). Prints p50 and p99 of each, the CPU time A's and B's processes spent per
 * sample on each path (`process.cpuUsage`, which the machine's load does not inflate as it does
 * wall-clock times), A's append → push frame leaving (A's own clock), and B's own share on its
 * clock: the `events` frame reaching the socket's transport (before Socket.IO decodes it) → the
 * sync decoded it (its `broadcast` tap) → `projection$`, against the bare socket's frame → handler.
 *
 * Run: `node --import tsx integration/bench/client-hop.ts [samples per path]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectToHub, startHubProcess } from '@eventloom/sync-lab';
import { HUB_BIN } from '@eventloom/hub-server/testing';
import { MessageName } from '@eventloom/protocol';
import { defaultSocketFactory, type SocketFactory, type SyncSocket } from '@eventloom/client';
import { todoCount } from '@eventloom/client/testing';
import { percentile } from '../../bench/report.ts';
import { forkScript, now, openNodeClient, pause, whenLive } from './sync-bench-kit.ts';

const SAMPLES = Number(process.argv[2] ?? 400);
const ROUNDS = 4;
const WARMUP = 50;
const dir = mkdtempSync(join(tmpdir(), 'eventloom-client-hop-'));
const streams = { client: 'hop:client', bare: 'hop:bare' } as const;

/** What reaches past Socket.IO: the Engine.IO transport, whose `onData` sees each frame undecoded. */
interface EngineSocket {
  readonly io: {
    on(event: 'open', listener: () => void): unknown;
    readonly engine?: { readonly transport: { onData(data: unknown): void } };
  };
}
/**
 * Calls `seen` when an `events` frame reaches the socket's transport, before anything decodes it:
 * at once if the socket is open, else once it opens (WebSocket only, as both B's are).
 */
function tapFrames(socket: EngineSocket, seen: () => void): void {
  const tap = () => {
    const transport = socket.io.engine!.transport;
    const onData = transport.onData.bind(transport);
    transport.onData = (data: unknown) => {
      if (typeof data === 'string' && data.startsWith('42["events"')) seen();
      onData(data);
    };
  };
  if (socket.io.engine === undefined) socket.io.on('open', tap);
  else tap();
}
/** When B's client and the bare B last received an `events` frame, and when B's sync had decoded it. */
const frames = { client: 0, decoded: 0, bare: 0 };
const framesOfB: SocketFactory = (url, options) => {
  const socket = defaultSocketFactory(url, options);
  tapFrames(socket as SyncSocket & EngineSocket, () => (frames.client = now()));
  return socket;
};

const hub = await startHubProcess({ bin: HUB_BIN, dbPath: join(dir, 'hub.db') });
const b = await openNodeClient(hub.url, {
  projections: [todoCount],
  sync: { subscriptions: [streams.client], socket: framesOfB },
});
await whenLive(b.sync);
b.sync.attach({ broadcast: () => (frames.decoded = now()) });
const { socket: bareB } = await connectToHub(hub.url, {
  clientId: `hop-b-${process.pid}`,
  subscriptions: [streams.bare],
});
tapFrames(bareB as unknown as EngineSocket, () => (frames.bare = now()));
const writer = await forkScript('./client-hop-writer.ts', [hub.url, streams.client, streams.bare]);

let seen = 0;
let clientWaiter: { target: number; resolve: (at: number) => void } | undefined;
b.loom.projection$(todoCount).subscribe((count) => {
  seen = count;
  if (clientWaiter !== undefined && count >= clientWaiter.target) {
    const { resolve } = clientWaiter;
    clientWaiter = undefined;
    resolve(now());
  }
});
let bareWaiter: ((at: number) => void) | undefined;
bareB.on(MessageName.events, () => {
  const waiter = bareWaiter;
  bareWaiter = undefined;
  waiter?.(now());
});

let sent = 0;
const leftMs: number[] = [];
/** B's own share, by receiver: frame → decoded, decoded → `projection$` (client); frame → handler (bare). */
const inB = { decode: [] as number[], fold: [] as number[], bare: [] as number[] };
function ask(op: 'client' | 'bare', stream: string): Promise<number> {
  return new Promise((resolve) => {
    writer.child.once('message', (m) => {
      const { start, pushed } = m as { start: number; pushed?: number };
      if (pushed !== undefined) leftMs.push(pushed - start);
      resolve(start);
    });
    writer.child.send({ op, n: ++sent, stream });
  });
}
async function sample(from: 'client' | 'bare', to: 'client' | 'bare'): Promise<number> {
  const arrived =
    to === 'client'
      ? new Promise<number>((resolve) => (clientWaiter = { target: seen + 1, resolve }))
      : new Promise<number>((resolve) => (bareWaiter = resolve));
  const start = await ask(from, streams[to]);
  const at = await arrived;
  if (to === 'client') {
    inB.decode.push(frames.decoded - frames.client);
    inB.fold.push(at - frames.decoded);
  } else inB.bare.push(at - frames.bare);
  // Between samples, so that A's ack and B's write have landed.
  await pause(2);
  return at - start;
}

const paths = [
  ['bare → bare', 'bare', 'bare'],
  ['client → bare', 'client', 'bare'],
  ['bare → client', 'bare', 'client'],
  ['client → client', 'client', 'client'],
] as const;
for (let i = 0; i < WARMUP; i++) for (const [, from, to] of paths) await sample(from, to);
for (const ms of Object.values(inB)) ms.length = 0;
const samples = new Map<string, number[]>(paths.map(([name]) => [name, []]));
/** CPU time (user + system, µs) of A's process and of this one (B, with the bare B), per path. */
const cpu = new Map<string, { a: number; b: number }>(paths.map(([name]) => [name, { a: 0, b: 0 }]));
const cpuOfA = () =>
  new Promise<number>((resolve) => {
    writer.child.once('message', (m) => {
      const { user, system } = (m as { cpu: NodeJS.CpuUsage }).cpu;
      resolve(user + system);
    });
    writer.child.send({ op: 'cpu' });
  });
const cpuOfB = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, from, to] of paths) {
    const [a0, b0] = [await cpuOfA(), cpuOfB()];
    for (let i = 0; i < SAMPLES / ROUNDS; i++) samples.get(name)!.push(await sample(from, to));
    const [a1, b1] = [await cpuOfA(), cpuOfB()];
    const used = cpu.get(name)!;
    used.a += a1 - a0;
    used.b += b1 - b0;
  }
}
const bare = samples.get('bare → bare')!;
for (const [name, ms] of samples) {
  const p50 = percentile(ms, 50);
  const p99 = percentile(ms, 99);
  const { a, b: used } = cpu.get(name)!;
  console.log(
    `${name.padEnd(16)} p50 ${p50.toFixed(3)} ms (+${(p50 - percentile(bare, 50)).toFixed(3)}), p99 ${p99.toFixed(3)} ms; CPU per sample: A ${(a / ms.length).toFixed(0)} µs, B ${(used / ms.length).toFixed(0)} µs`,
  );
}
console.log(
  `A: append → push left: p50 ${percentile(leftMs, 50).toFixed(3)} ms, p99 ${percentile(leftMs, 99).toFixed(3)} ms`,
);
const ms = (values: number[], p: number) => percentile(values, p).toFixed(3);
console.log(
  `B: frame → decoded p50 ${ms(inB.decode, 50)} ms (p99 ${ms(inB.decode, 99)}), decoded → projection$ p50 ${ms(inB.fold, 50)} ms (p99 ${ms(inB.fold, 99)}); bare socket frame → handler p50 ${ms(inB.bare, 50)} ms (p99 ${ms(inB.bare, 99)})`,
);
bareB.disconnect();
await writer.close();
await b.close();
await hub.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
process.exit(0);
