/**
 * e2e-latency: append on Node client A → `projection$` emission on Node client B, through the hub
 * (`eventloom-hub` as a child process, SQLite store: acked and broadcast after the durable
 * commit), with N = 2, 10 and 50 clients subscribed to the stream. A and B are full clients
 * (Eventloom on fake-indexeddb + `createSync`); the N − 2 others are subscribers in a child
 * process (see latency-peers.ts), so the hub fans each event out to N − 1 sockets.
 *
 * Baseline, same run, same N sockets: the durable floor — A emits the event to a bare Socket.IO
 * relay in a child process, which commits it durably (one raw SQLite transaction of the same row,
 * the hub's settings: WAL, synchronous=FULL, the hub's schema) and then broadcasts it to the N − 1
 * others; B folds it by hand. A system that loses nothing cannot go below it. Targets against the
 * floor: p50 ≤ 1.5×, p99 ≤ 2.5×. The ratio to the bare relay (the same without the commit) is
 * printed too, for the reader.
 * One sample at a time, the three paths alternating in rounds; p50 and p99 of each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubProcess } from '@eventloom/sync-lab';
import { HUB_BIN } from '@eventloom/hub-server/testing';
import { afterAll, expect, it } from 'vitest';
import { reportBench } from '../../bench/node.ts';
import { percentile } from '../../bench/report.ts';
import { LatencyProbe, pause, startPeers, startRawRelay } from './sync-bench-kit.ts';

const SIZES = [2, 10, 50] as const;
const ROUNDS = 4;
const SAMPLES = 150;
const WARMUP = 50;
/** Between samples, so that the fan-out to the other clients has drained. */
const GAP_MS = 2;

const dir = mkdtempSync(join(tmpdir(), 'eventloom-e2e-latency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('e2e-latency', async () => {
  for (const n of SIZES) {
    const hub = await startHubProcess({ bin: HUB_BIN, dbPath: join(dir, `hub-${n}.db`) });
    const relay = await startRawRelay(join(dir, `floor-${n}.db`));
    const stream = `latency:${n}`;
    const peers = await startPeers(hub.url, relay.url, n - 2, stream);
    const probe = await LatencyProbe.open(hub.url, relay.url, stream);
    try {
      for (let i = 0; i < WARMUP; i++) {
        await probe.raw();
        await probe.floor();
        await probe.hub();
      }
      const hubMs: number[] = [];
      const floorMs: number[] = [];
      const rawMs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (const [samples, measure] of [
          [rawMs, () => probe.raw()],
          [floorMs, () => probe.floor()],
          [hubMs, () => probe.hub()],
        ] as const) {
          for (let i = 0; i < SAMPLES; i++) {
            samples.push(await measure());
            await pause(GAP_MS);
          }
        }
      }
      expect(probe.rawCount).toBe(2 * (WARMUP + ROUNDS * SAMPLES));
      for (const [p, target] of [
        [50, 1.5],
        [99, 2.5],
      ] as const) {
        const hub = percentile(hubMs, p);
        const bare = percentile(rawMs, p);
        console.log(
          `[bench] e2e-latency-n${n}-p${p}: hub ${hub.toFixed(3)} ms, durable floor ${percentile(floorMs, p).toFixed(3)} ms, bare relay ${bare.toFixed(3)} ms → ${(hub / bare).toFixed(2)}× the bare relay`,
        );
        await reportBench({
          name: `e2e-latency-n${n}-p${p}`,
          value: hub,
          unit: 'ms',
          baseline: percentile(floorMs, p),
          target,
          better: 'lower',
        });
      }
    } finally {
      await probe.close();
      await peers.close();
      await relay.close();
      await hub.kill('SIGKILL');
    }
  }
});
