/**
 * The rig end to end, as the sync engine's fault tests will use it: devices push through the
 * fault proxy to a hub child process that is SIGKILLed and restarted mid-run, then the history
 * is checked. The devices here are bare protocol clients that behave like an outbox (re-push
 * from the first unacknowledged event after any failure); the sync engine will take their place.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventEnvelope } from '@eventloom/protocol';
import { sampleEnvelope, sampleEventId } from '@eventloom/protocol/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHistory, formatAnomalies, type AppendRecord } from '@eventloom/sync-lab';
import { HUB_BIN } from '@eventloom/hub-server/testing';
import { connectToHub, readHubLog, type HubClient } from '@eventloom/sync-lab';
import { createFaultProxy, type FaultProxy } from '@eventloom/sync-lab';
import { forceEachFault, RIG_FAULTS } from '@eventloom/sync-lab';
import { startHubProcess, type HubProcess } from '@eventloom/sync-lab';
import { withReplaySeed } from '@eventloom/sync-lab';
import { seededRandom, type SeededRandom } from '@eventloom/sync-lab';
import { waitUntil } from '@eventloom/sync-lab';

const DEVICES = 3;
const EVENTS_PER_DEVICE = 40;
/** Refusals a device retries; any other rejection is a failure of the run. */
const TRANSIENT = new Set(['sequence-gap', 'unavailable', 'internal', 'rate-limited']);

class Device {
  readonly clientId: string;
  readonly outbox: EventEnvelope[];
  readonly records = new Map<string, AppendRecord>();
  readonly violations: string[] = [];
  readonly #random: SeededRandom;
  #next = 0;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(index: number, random: SeededRandom) {
    this.clientId = `device-${index}`;
    this.#random = random;
    this.outbox = Array.from({ length: EVENTS_PER_DEVICE }, (_, i) =>
      sampleEnvelope({
        id: sampleEventId(),
        clientId: this.clientId,
        clientSeq: i + 1,
        stream: random.pick(['list:shared', `list:${this.clientId}`]),
      }),
    );
    for (const e of this.outbox) {
      this.records.set(e.id, {
        id: e.id,
        clientId: e.clientId,
        clientSeq: e.clientSeq,
        stream: e.stream,
        outcome: 'pending',
      });
    }
  }

  get acked(): number {
    return this.#next;
  }

  get done(): boolean {
    return this.#next >= this.outbox.length;
  }

  start(url: string): void {
    this.#running ??= this.#run(url);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #run(url: string): Promise<void> {
    while (!this.#stopped && !this.done) {
      let client: HubClient | undefined;
      try {
        client = await connectToHub(url, { clientId: this.clientId, timeoutMs: 5000 });
        while (!this.#stopped && !this.done) {
          const batch = this.outbox.slice(this.#next, this.#next + this.#random.int(1, 5));
          const ack = await client.push(batch);
          for (const [i, result] of ack.results.entries()) {
            if (result.status === 'rejected') {
              if (!TRANSIENT.has(result.code)) this.violations.push(`${result.code}: ${result.message}`);
              break;
            }
            const event = batch[i]!;
            if (result.id !== event.id)
              this.violations.push(`result ${i} names ${result.id}, not ${event.id}`);
            this.records.set(event.id, {
              ...this.records.get(event.id)!,
              outcome: 'acked',
              position: result.position,
            });
            this.#next++;
          }
          // A duplicated frame, at the Socket.IO layer: the same push again must change nothing.
          if (this.#random.chance(0.1)) {
            const again = await client.push(batch);
            for (const [i, result] of again.results.entries()) {
              const first = this.records.get(batch[i]!.id)!;
              if (first.outcome !== 'acked') continue;
              if (result.status !== 'duplicate' || result.position !== first.position) {
                this.violations.push(`re-push of ${first.id} answered ${JSON.stringify(result)}`);
              }
            }
          }
        }
      } catch {
        // Reset, blackholed, hub down: the outbox is the truth, try again.
        await sleep(10);
      } finally {
        client?.close();
      }
    }
  }
}

let dir: string | undefined;
let hub: HubProcess | undefined;
let proxy: FaultProxy | undefined;
afterAll(async () => {
  await proxy?.close();
  await hub?.kill('SIGKILL');
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the fault rig', () => {
  it('loses, duplicates and reorders nothing through resets, blackholes, splits, delays, re-sent pushes and a SIGKILL', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sync-lab-rig-'));
    const runHub = await startHubProcess({ bin: HUB_BIN, dbPath: join(dir, 'events.db') });
    hub = runHub;
    await withReplaySeed(
      async ({ seed }) => {
        const random = seededRandom(seed);
        const faulty = await createFaultProxy({
          target: { host: '127.0.0.1', port: runHub.port },
          seed,
          faults: RIG_FAULTS,
        });
        proxy = faulty;
        const devices = Array.from({ length: DEVICES }, (_, i) => new Device(i, random.fork('device', i)));
        for (const device of devices) device.start(faulty.url);
        const total = () => devices.reduce((n, d) => n + d.acked, 0);
        const progress = () =>
          `${total()} acked; proxy ${JSON.stringify(faulty.stats)}\n${runHub.describe(10)}`;

        // Faults on demand, on top of the random ones, so that each surely happens once.
        await forceEachFault(faulty, { acked: total, at: [20, 40, 60], message: progress });
        expect(await runHub.kill('SIGKILL')).toBe('SIGKILL');
        await runHub.restart();
        await waitUntil(() => devices.every((d) => d.done), { timeoutMs: 60_000, message: progress });
        await Promise.all(devices.map((d) => d.stop()));

        faulty.clearFaults();
        const clients = await Promise.all(
          devices.map(async (d) => {
            const client = await connectToHub(faulty.url, { clientId: d.clientId });
            try {
              return {
                clientId: d.clientId,
                confirmed: await client.pullAll(),
                flushed: true,
                caughtUp: true,
              };
            } finally {
              client.close();
            }
          }),
        );
        const history = {
          appends: devices.flatMap((d) => [...d.records.values()]),
          clients,
          hub: await readHubLog(runHub.url),
        };
        expect(formatAnomalies(checkHistory(history))).toBe('no anomalies');
        expect(history.hub).toHaveLength(DEVICES * EVENTS_PER_DEVICE);
        expect(devices.flatMap((d) => d.violations)).toEqual([]);
        const { stats } = faulty;
        expect(stats.resets).toBeGreaterThanOrEqual(1);
        expect(stats.blackholes).toBeGreaterThanOrEqual(1);
        expect(stats.up.splitChunks + stats.down.splitChunks).toBeGreaterThan(0);
        expect(runHub.starts).toBe(2);
      },
      { label: 'fault rig' },
    );
  }, 120_000);
});
