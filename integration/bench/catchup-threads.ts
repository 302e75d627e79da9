/**
 * What a catch-up costs the hub's threads, and its online clients: a diagnostic for the second
 * figure of sync-catchup (not a benchmark: no target). The hub runs as the benchmark runs it
 * (`eventloom-hub`, a process of its own, on a SQLite file of 100k events); two bare protocol
 * sockets measure the hub's own push → live latency (A pushes one event, B's socket receiving it
 * ends the sample), in rounds without a catch-up and during one (catchup-client.ts under
 * SCHED_IDLE, as the benchmark runs it), alternating.
 *
 * Prints, per round, p50/p90/p99 of the samples, and for each thread of the hub that ran (the
 * main thread, the SQLite threads, V8's helpers) its CPU time, its run-queue wait (runnable but
 * not running: /proc/<pid>/task/<tid>/schedstat) and its context switches, as shares of the
 * round's wall time, with the bytes the hub read from disk. On a loaded machine the run-queue
 * wait of the hub's main thread tells how much of a latency is the machine's, not the hub's.
 *
 * Run: `node --import tsx integration/bench/catchup-threads.ts [rounds]` (default 3; Linux).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageName } from '@eventloom/protocol';
import { N } from '@eventloom/client/testing';
import { HUB_BIN } from '@eventloom/hub-server/testing';
import { connectToHub, startHubProcess } from '@eventloom/sync-lab';
import { percentile } from '../../bench/report.ts';
import { pause, probePush, sampleDuringCatchUp, writeBacklog } from './sync-bench-kit.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const GAP_MS = 5;
const stream = 'catchup-threads:1';
const dir = mkdtempSync(join(tmpdir(), 'eventloom-catchup-threads-'));

const hub = await startHubProcess({ bin: HUB_BIN, dbPath: join(dir, 'hub.db') });
const pid = hub.pid!;
await writeBacklog(hub.url);
const { socket: b } = await connectToHub(hub.url, { clientId: 'threads-b', subscriptions: [stream] });
const { socket: a } = await connectToHub(hub.url, { clientId: 'threads-a', subscriptions: [stream] });
let arrived: (() => void) | undefined;
b.on(MessageName.events, () => arrived?.());
let pushed = 0;

/** Push on A → B's socket receives it, in ms. */
async function sample(): Promise<number> {
  const got = new Promise<void>((resolve) => (arrived = resolve));
  const start = performance.now();
  const acked = a.emitWithAck(MessageName.push, { events: [probePush(stream, ++pushed, 'threads-a')] });
  await got;
  const ms = performance.now() - start;
  const ack = (await acked) as { results?: { status: string }[] };
  if (ack.results?.[0]?.status !== 'ok') throw new Error(`push refused: ${JSON.stringify(ack)}`);
  return ms;
}

for (let i = 0; i < 200; i++) await sample();
const all = { quiet: [] as number[], busy: [] as number[] };
let catchUpMs = 3000;
for (let round = 0; round < ROUNDS; round++) {
  // As long without a catch-up as the last one lasted, right before the next.
  let before = threadTimes();
  let started = performance.now();
  const quiet: number[] = [];
  while (performance.now() < started + catchUpMs) {
    quiet.push(await sample());
    await pause(GAP_MS);
  }
  report(`round ${round} without a catch-up`, quiet, before, performance.now() - started);
  all.quiet.push(...quiet);

  const during = await sampleDuringCatchUp(hub.url, N, sample, GAP_MS, () => {
    before = threadTimes();
    started = performance.now();
  });
  catchUpMs = during.ms;
  report(
    `round ${round} during a catch-up of ${Math.round(catchUpMs)} ms`,
    during.samples,
    before,
    performance.now() - started,
  );
  all.busy.push(...during.samples);
}
console.log(
  `all rounds: p50 ${ratio(all.busy, all.quiet, 50)}, p90 ${ratio(all.busy, all.quiet, 90)}, p99 ${ratio(all.busy, all.quiet, 99)} (during catch-ups vs without)`,
);
a.disconnect();
b.disconnect();
await hub.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
process.exit(0);

/** One thread's times so far, in ms (schedstat), and its context switches. */
interface ThreadTimes {
  readonly cpu: number;
  readonly wait: number;
  readonly switches: number;
  readonly forced: number;
}

/** The hub's threads' times so far, by tid; and the bytes it read from disk, under `io`. */
function threadTimes(): { threads: Map<string, ThreadTimes>; readBytes: number } {
  const threads = new Map<string, ThreadTimes>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [cpu, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      threads.set(tid, {
        cpu: cpu! / 1e6,
        wait: wait! / 1e6,
        switches: Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN),
        forced: Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN),
      });
    } catch {
      // A thread that ended meanwhile.
    }
  }
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return { threads, readBytes: Number(/read_bytes: (\d+)/.exec(io)?.[1] ?? Number.NaN) };
}

/** Prints a round: its samples' percentiles, and each thread that ran 0.5% of it or more. */
function report(title: string, ms: number[], before: ReturnType<typeof threadTimes>, wallMs: number): void {
  const after = threadTimes();
  const pct = (x: number) => `${((100 * x) / wallMs).toFixed(1)}%`.padStart(6);
  console.log(
    `${title}: ${ms.length} samples, p50 ${percentile(ms, 50).toFixed(2)} p90 ${percentile(ms, 90).toFixed(2)} p99 ${percentile(ms, 99).toFixed(2)} ms; hub read ${after.readBytes - before.readBytes} bytes from disk`,
  );
  for (const [tid, now] of after.threads) {
    const then = before.threads.get(tid) ?? { cpu: 0, wait: 0, switches: 0, forced: 0 };
    if (now.cpu - then.cpu < wallMs * 0.005) continue;
    const name = tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    console.log(
      `  ${name.padEnd(16)} ${tid.padStart(7)}  CPU ${pct(now.cpu - then.cpu)}  run-queue wait ${pct(now.wait - then.wait)}  switches ${now.switches - then.switches} (${now.forced - then.forced} preempted)`,
    );
  }
}

function ratio(busy: number[], quiet: number[], p: number): string {
  const [x, y] = [percentile(busy, p), percentile(quiet, p)];
  return `${x.toFixed(2)} vs ${y.toFixed(2)} ms (${(x / y).toFixed(2)}×)`;
}
