/**
 * e2e-latency-browser: two real Chromium pages through a real hub. Page A (its own page, opened
 * with `noopener`: e2e-latency-browser-writer.ts) appends a probe event with `@eventloom/client`
 * (Dexie on real IndexedDB, `createSync`); page B (this one, the same) times until its
 * `projection$` of a count shows it. The hub is `eventloom-hub` as a child process on a SQLite
 * file (acked and broadcast after the durable commit), started by
 * e2e-latency-browser.global-setup.node.ts.
 *
 * Baseline, same run, alternating with the subject in rounds: A puts the same row in a raw
 * IndexedDB table, then emits it to a bare Socket.IO relay (a child process), which commits it
 * durably (one raw SQLite transaction, the hub's settings and schema) and relays it to B, which
 * folds it by hand — one raw IndexedDB put + a raw durable commit + a relay between the two pages.
 * Targets: p50 ≤ 2×, p99 ≤ 3×. Times are `performance.timeOrigin + performance.now()` in each
 * page (one machine, one clock). One sample at a time; A and B get the requests over a
 * BroadcastChannel, outside what is timed.
 */
import type { CommittedEvent } from '@eventloom/protocol';
import { Dexie } from 'dexie';
import { io } from 'socket.io-client';
import { expect, inject, test } from 'vitest';
import { createEventloom, createSync } from '@eventloom/client';
import { dbName, todoCount, todoRegistry } from '@eventloom/client/testing';
import { reportBench } from '../../bench/browser.ts';
import { percentile } from '../../bench/report.ts';

const ROUNDS = 4;
const SAMPLES = 100;
const WARMUP = 30;
/** Between samples: a steady trickle, not a flood. */
const GAP_MS = 2;
const TARGETS = [
  [50, 2],
  [99, 3],
] as const;

test('e2e-latency-browser', async () => {
  const hubUrl = inject('latencyHubUrl');
  const relayUrl = inject('latencyRelayUrl');
  const stream = `latency:browser:${Date.now()}`;
  const channelName = `e2e-latency-browser-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const channel = new BroadcastChannel(channelName);

  // Page B: a client folding a count, and a bare socket of the relay folding it by hand.
  const loom = await createEventloom({
    name: dbName('latency-b'),
    registry: todoRegistry,
    projections: [todoCount],
  });
  const sync = createSync(loom, { url: hubUrl, subscriptions: [stream] });
  let seen = 0;
  let hubWaiter: { readonly target: number; readonly resolve: (at: number) => void } | undefined;
  loom.projection$(todoCount).subscribe((count) => {
    seen = count;
    if (hubWaiter !== undefined && count >= hubWaiter.target) {
      const { resolve } = hubWaiter;
      hubWaiter = undefined;
      resolve(now());
    }
  });
  const relay = io(relayUrl, { transports: ['websocket'], reconnection: false, forceNew: true });
  let rawCount = 0;
  let rawWaiter: ((at: number) => void) | undefined;
  relay.on('relay', (message: { events: CommittedEvent[] }) => {
    for (const event of message.events) if (event.type === 'todo.added') rawCount++;
    const waiter = rawWaiter;
    rawWaiter = undefined;
    waiter?.(now());
  });
  await new Promise<void>((resolve, reject) => {
    relay.once('connect', () => resolve());
    relay.once('connect_error', reject);
  });

  // Page A: a page of its own.
  let startWaiter: ((start: number) => void) | undefined;
  let failure: string | undefined;
  const ready = new Promise<void>((resolve) => {
    channel.onmessage = ({ data }: MessageEvent<{ ready?: true; start?: number; error?: string }>) => {
      if (data.error !== undefined) failure = data.error;
      else if (data.ready) resolve();
      else if (data.start !== undefined) startWaiter?.(data.start);
    };
  });
  const page = new URL('./e2e-latency-browser-writer.html', import.meta.url);
  for (const [k, v] of Object.entries({ hub: hubUrl, relay: relayUrl, stream, channel: channelName })) {
    page.searchParams.set(k, v);
  }
  window.open(page, '_blank', 'noopener');
  await ready;

  let sent = 0;
  const sample = async (op: 'hub' | 'floor'): Promise<number> => {
    const arrived = new Promise<number>((resolve) => {
      if (op === 'hub') hubWaiter = { target: seen + 1, resolve };
      else rawWaiter = resolve;
    });
    const started = new Promise<number>((resolve) => (startWaiter = resolve));
    channel.postMessage({ op, n: ++sent });
    const start = await started;
    const ms = (await arrived) - start;
    expect(failure).toBeUndefined();
    return ms;
  };

  try {
    for (let i = 0; i < WARMUP; i++) {
      await sample('floor');
      await sample('hub');
    }
    const hubMs: number[] = [];
    const floorMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [samples, op] of [
        [floorMs, 'floor'],
        [hubMs, 'hub'],
      ] as const) {
        for (let i = 0; i < SAMPLES; i++) {
          samples.push(await sample(op));
          await new Promise((resolve) => setTimeout(resolve, GAP_MS));
        }
      }
    }
    expect(rawCount).toBe(WARMUP + ROUNDS * SAMPLES);
    expect(seen).toBe(WARMUP + ROUNDS * SAMPLES);
    for (const [p, target] of TARGETS) {
      await reportBench({
        name: `e2e-latency-browser-p${p}`,
        value: percentile(hubMs, p),
        unit: 'ms',
        baseline: percentile(floorMs, p),
        target,
        better: 'lower',
      });
    }
  } finally {
    channel.postMessage({ close: true });
    channel.close();
    relay.disconnect();
    await sync.close();
    await loom.close();
    await Dexie.delete(loom.name);
  }
});

/** Milliseconds since the epoch, sub-millisecond, comparable across the pages of this machine. */
function now(): number {
  return performance.timeOrigin + performance.now();
}
