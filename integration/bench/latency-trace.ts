/**
 * Where the time of one event goes, append on A → `projection$` on B, hop by hop: a diagnostic for
 * the e2e-latency benchmark (not a benchmark: no target). Everything runs in this one process (the
 * hub on a SQLite file, A and B on fake-indexeddb), one event at a time, so the hops do not
 * overlap; the process's single thread makes each hop a little slower than across processes.
 *
 * Hops: A's append → A's push leaves (local write, outbox read) → the hub receives it → the store
 * is called → durable (the SQLite thread answered) → the hub emits to B's socket → B's socket
 * receives it → `projection$` emits on B. Also: A's append resolves.
 *
 * Run: `node --import tsx integration/bench/latency-trace.ts [samples]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHub, createSqliteStore, insecureDevAuthenticator, type EventStore } from '@eventloom/hub';
import { MessageName } from '@eventloom/protocol';
import { defaultSocketFactory, type SocketFactory } from '@eventloom/client';
import { TodoAdded, todoCount } from '@eventloom/client/testing';
import { pause } from './sync-bench-kit.ts';
import { openNodeClient, whenLive } from './sync-bench-kit.ts';
import { percentile } from '../../bench/report.ts';

const SAMPLES = Number(process.argv[2] ?? 400);
const WARMUP = 50;
const dir = mkdtempSync(join(tmpdir(), 'eventloom-latency-trace-'));
const marks = new Map<string, number>();
const mark = (name: string) => {
  if (!marks.has(name)) marks.set(name, performance.now());
};

const sqlite = await createSqliteStore({ path: join(dir, 'hub.db') });
const append: EventStore['append'] = (batch) => {
  mark('store called');
  return sqlite.append(batch).then((results) => {
    mark('durable');
    return results;
  });
};
const store = new Proxy(sqlite, {
  get: (target, key) => {
    if (key === 'append') return append;
    const value = Reflect.get(target, key) as unknown;
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  },
});
const hub = await createHub({
  store,
  auth: insecureDevAuthenticator(),
  port: 0,
  host: '127.0.0.1',
});
hub.io.on('connection', (socket) => {
  socket.onAny((name: string) => {
    if (name === MessageName.push) mark('hub received');
  });
  socket.onAnyOutgoing((name: string) => {
    if (name === MessageName.events) mark('hub emitted');
  });
});
const tapped: SocketFactory = (url, options) => {
  const socket = defaultSocketFactory(url, options);
  const emit = socket.emit.bind(socket);
  return Object.assign(socket, {
    emit: (event: string, ...args: unknown[]) => {
      if (event === MessageName.push) mark('A pushed');
      return emit(event, ...args);
    },
  });
};
const stream = 'trace:1';
const a = await openNodeClient(hub.url, { sync: { subscriptions: [stream], socket: tapped } });
const b = await openNodeClient(hub.url, { projections: [todoCount], sync: { subscriptions: [stream] } });
await Promise.all([whenLive(a.sync), whenLive(b.sync)]);
b.sync.attach({ broadcast: () => mark('B received') });
let seen = 0;
let waiter: (() => void) | undefined;
b.loom.projection$(todoCount).subscribe((count) => {
  seen = count;
  mark('B projection$');
  waiter?.();
});

const order = [
  'A pushed',
  'hub received',
  'store called',
  'durable',
  'hub emitted',
  'B received',
  'B projection$',
] as const;
const hops = new Map<string, number[]>();
const appendDone: number[] = [];
for (let n = 0; n < WARMUP + SAMPLES; n++) {
  marks.clear();
  const target = seen + 1;
  const arrived = new Promise<void>((resolve) => {
    waiter = () => {
      if (seen >= target) resolve();
    };
  });
  const start = performance.now();
  marks.set('start', start);
  const appended = a.loom
    .append(stream, TodoAdded.create({ id: `t${n}`, title: `trace ${n}`, tags: ['bench'] }))
    .then(() => performance.now() - start);
  await arrived;
  const appendMs = await appended;
  if (n < WARMUP) continue;
  appendDone.push(appendMs);
  let previous = 'start';
  for (const name of order) {
    const at = marks.get(name);
    const from = marks.get(previous);
    if (at === undefined || from === undefined) continue;
    const list = hops.get(`${previous} → ${name}`) ?? [];
    list.push(at - from);
    hops.set(`${previous} → ${name}`, list);
    previous = name;
  }
  const total = hops.get('total') ?? [];
  total.push(marks.get('B projection$')! - start);
  hops.set('total', total);
  await pause(2);
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
console.log(`hop (ms, ${SAMPLES} samples)                 mean    p50    p99`);
for (const [name, xs] of hops) {
  console.log(
    `${name.padEnd(40)} ${mean(xs).toFixed(3).padStart(6)} ${percentile(xs, 50).toFixed(3).padStart(6)} ${percentile(xs, 99).toFixed(3).padStart(6)}`,
  );
}
console.log(
  `${'A: append resolved'.padEnd(40)} ${mean(appendDone).toFixed(3).padStart(6)} ${percentile(appendDone, 50).toFixed(3).padStart(6)} ${percentile(appendDone, 99).toFixed(3).padStart(6)}`,
);
await a.close();
await b.close();
await hub.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
