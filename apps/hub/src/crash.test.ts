import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '@eventloom/hub';
import type { CommittedEvent, EventEnvelope, PushAck, Welcome } from '@eventloom/protocol';
import type { Socket as ClientSocket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { SECRET, call, connectTo, eventOf, spawnHub, tokenFor, type HubProcess } from './spawn-hub.ts';

const CLIENTS = 4;
const EVENTS_PER_CLIENT = 400;
const KILLS = 6;

/**
 * A device with an outbox: it pushes its pending events in clientSeq order, in small batches,
 * over whatever hub is up, and keeps what the hub acknowledged. Like the real client, it treats
 * the outbox as the truth and re-pushes after any failure.
 */
class Device {
  readonly clientId: string;
  readonly outbox: EventEnvelope[];
  /** Acknowledged events (ok or duplicate) and the position the hub gave them. */
  readonly acked = new Map<string, number>();
  /** Answers the hub must never give; checked by the test (assertions here would be swallowed). */
  readonly violations: string[] = [];
  #next = 0;
  #url: string | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(index: number) {
    this.clientId = `device-${index}`;
    this.outbox = Array.from({ length: EVENTS_PER_CLIENT }, (_, i) =>
      eventOf(this.clientId, i + 1, `list:${i % 3}`),
    );
  }

  get done(): boolean {
    return this.#next >= this.outbox.length;
  }

  /** Points the device at a (new) hub; it keeps trying whichever hub it was told last. */
  useHub(url: string): void {
    this.#url = url;
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #run(): Promise<void> {
    while (!this.#stopped && !this.done) {
      let socket: ClientSocket | undefined;
      try {
        socket = await connectTo(this.#url!, await tokenFor(this.clientId));
        const welcome = await call<Welcome>(socket, 'hello', {
          protocol: 1,
          clientId: this.clientId,
          lastPosition: 0,
          subscriptions: [],
          schemaFingerprint: null,
        });
        // The hub remembers at least every acknowledged seq.
        if (welcome.lastClientSeq < this.#next)
          this.violations.push(`lastClientSeq ${welcome.lastClientSeq} < ${this.#next}`);
        while (!this.#stopped && !this.done) {
          const batch = this.outbox.slice(this.#next, this.#next + 1 + (this.#next % 7));
          const ack = await call<PushAck>(socket, 'push', { events: batch });
          for (const [i, result] of ack.results.entries()) {
            if (result.status === 'rejected') {
              // Only transient refusals may happen here; anything else is a bug.
              if (!['sequence-gap', 'unavailable', 'internal'].includes(result.code)) {
                this.violations.push(`${result.code}: ${result.message}`);
              }
              break;
            }
            if (result.id !== batch[i]!.id) this.violations.push(`ack ${i} names ${result.id}`);
            this.acked.set(result.id, result.position);
            this.#next++;
          }
        }
      } catch {
        // The hub died or is not up yet: try again shortly.
        await new Promise((resolve) => setTimeout(resolve, 10));
      } finally {
        socket?.close();
      }
    }
  }
}

/** Reads the whole log from the file and checks the invariants against what devices saw acked. */
async function verify(db: string, devices: readonly Device[]): Promise<number> {
  const store = await createSqliteStore({ path: db });
  try {
    const events: CommittedEvent[] = [];
    for (let from = 0; ;) {
      const page = await store.read({ from, limit: 1000 });
      events.push(...page.events);
      if (page.until >= page.head) break;
      from = page.until;
    }
    // Gapless positions from 1, each id once.
    expect(events.map((e) => e.position)).toEqual(events.map((_, i) => i + 1));
    const positionOf = new Map(events.map((e) => [e.id, e.position]));
    expect(positionOf.size).toBe(events.length);
    for (const device of devices) {
      // Every acknowledged event is there, exactly once, where the ack said.
      for (const [id, position] of device.acked) expect(positionOf.get(id)).toBe(position);
      // A device's events are stored in its clientSeq order, without holes.
      const own = events.filter((e) => e.clientId === device.clientId).map((e) => e.clientSeq);
      expect(own).toEqual(own.map((_, i) => i + 1));
    }
    return events.length;
  } finally {
    await store.close();
  }
}

let dir: string;
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('eventloom-hub crash safety', () => {
  it('loses no acknowledged event and duplicates none when SIGKILLed again and again during uploads', async () => {
    dir = await mkdtemp(join(tmpdir(), 'eventloom-crash-'));
    const db = join(dir, 'events.db');
    const devices = Array.from({ length: CLIENTS }, (_, i) => new Device(i));
    const args = ['--port', '0', '--host', '127.0.0.1', '--db', db, '--jwt-secret', SECRET];
    let stored = 0;
    for (let round = 0; round < KILLS; round++) {
      const hub: HubProcess = await spawnHub(args);
      for (const device of devices) device.useHub(hub.url);
      // Let the devices upload for a while (more acks each round), then kill the hub mid-stream.
      const target = stored + 150 + round * 20;
      while (devices.reduce((n, d) => n + d.acked.size, 0) < Math.min(target, CLIENTS * EVENTS_PER_CLIENT)) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      hub.child.kill('SIGKILL');
      expect(await hub.exited).toBe('SIGKILL');
      stored = await verify(db, devices);
      for (const device of devices) expect(device.violations).toEqual([]);
      expect(stored).toBeGreaterThanOrEqual(devices.reduce((n, d) => n + d.acked.size, 0));
    }
    // A last hub lets every device finish its outbox.
    const last = await spawnHub(args);
    for (const device of devices) device.useHub(last.url);
    while (!devices.every((d) => d.done)) await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all(devices.map((d) => d.stop()));
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    expect(await verify(db, devices)).toBe(CLIENTS * EVENTS_PER_CLIENT);
    for (const device of devices) {
      expect(device.acked.size).toBe(EVENTS_PER_CLIENT);
      expect(device.violations).toEqual([]);
    }
  }, 120_000);
});
