import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './cluster-rig.ts';

const POSTGRES = process.env['EVENTLOOM_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env['EVENTLOOM_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const HAPROXY = process.env['HAPROXY'] ?? '/usr/sbin/haproxy';

async function missing(): Promise<string | undefined> {
  const { existsSync } = await import('node:fs');
  if (!existsSync(HAPROXY)) return `no HAProxy at ${HAPROXY} (apt-get install haproxy)`;
  const sql = postgres(POSTGRES, { max: 1, connect_timeout: 3, onnotice: () => undefined });
  try {
    await sql`SELECT 1`;
  } catch (error) {
    return `Postgres at ${POSTGRES} is unreachable: ${String(error)}`;
  } finally {
    await sql.end({ timeout: 1 });
  }
  const { createConnection } = await import('node:net');
  const redis = new URL(REDIS);
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = createConnection(Number(redis.port || 6379), redis.hostname);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
  return reachable ? undefined : `Redis at ${REDIS} is unreachable`;
}

const why = await missing();
if (why !== undefined && process.env['CI'] === 'true') throw new Error(`CI needs these services: ${why}`);
if (why !== undefined) console.warn(`skipping the HAProxy cluster test: ${why}`);

/** One device: a fixed outbox of events, pushed in batches through HAProxy, again after each reconnect. */
class Uploader {
  readonly acked = new Map<string, number>();
  readonly events: Record<string, unknown>[];
  readonly clientId: string;
  reconnects = 0;
  /** Events the hub answered `duplicate`: it had stored them already. */
  duplicates = 0;
  #socket: Socket | undefined;
  #stopped = false;

  constructor(clientId: string, count: number) {
    this.clientId = clientId;
    this.events = Array.from({ length: count }, (_, i) => ({
      id: uuidv7(),
      type: 'todo.added',
      version: 1,
      kind: 'domain',
      stream: `list:${clientId}`,
      data: { title: `item ${i + 1}` },
      meta: {},
      clientId,
      clientSeq: i + 1,
      hlc: `${String(1_732_700_000_000 + i).padStart(15, '0')}-0000000000-${clientId}`,
    }));
  }

  /** Pushes everything, reconnecting (to whichever node HAProxy picks) until every event is acked. */
  async run(url: string): Promise<void> {
    while (!this.#stopped && this.acked.size < this.events.length) {
      try {
        await this.#session(url, this.events.length, true);
      } catch {
        this.reconnects++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** Pushes the first `count` events and drops the hub's answer: a push committed whose ack never came. */
  async pushAckLost(url: string, count: number): Promise<void> {
    await this.#session(url, count, false);
  }

  stop(): void {
    this.#stopped = true;
    this.#socket?.disconnect();
  }

  async #session(url: string, upTo: number, record: boolean): Promise<void> {
    const socket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 5_000,
    });
    this.#socket = socket;
    const lost = new Promise<never>((_, reject) => {
      socket.once('disconnect', () => reject(new Error('disconnected')));
      socket.once('connect_error', (error) => reject(error));
    });
    lost.catch(() => undefined);
    try {
      await Promise.race([new Promise<void>((resolve) => socket.once('connect', () => resolve())), lost]);
      const ask = <T>(name: string, payload: unknown) =>
        Promise.race([socket.timeout(10_000).emitWithAck(name, payload) as Promise<T>, lost]);
      const welcome = await ask<{ lastClientSeq: number }>('hello', {
        protocol: 1,
        clientId: this.clientId,
        lastPosition: 0,
        subscriptions: [],
        schemaFingerprint: null,
      });
      if (typeof welcome.lastClientSeq !== 'number') throw new Error(`hello: ${JSON.stringify(welcome)}`);
      // From the first event without an ack: those the hub holds already (a node died between the
      // commit and the ack) are answered `duplicate`, with their positions. Going on from the
      // hub's lastClientSeq instead would leave them unacked for good.
      const unacked = this.events.findIndex((event) => !this.acked.has(event['id'] as string));
      let next = Math.min(unacked === -1 ? upTo + 1 : unacked + 1, welcome.lastClientSeq + 1);
      while (next <= upTo) {
        const batch = this.events.slice(next - 1, Math.min(next - 1 + 10, upTo));
        const ack = await ask<{ results: { status: string; id: string; position?: number }[] }>('push', {
          events: batch,
        });
        if (!Array.isArray(ack.results)) throw new Error(`push: ${JSON.stringify(ack)}`);
        for (const result of ack.results) {
          if (result.status !== 'ok' && result.status !== 'duplicate') {
            throw new Error(`refused: ${JSON.stringify(result)}`);
          }
          if (!record) continue;
          if (result.status === 'duplicate') this.duplicates++;
          this.acked.set(result.id, result.position!);
        }
        next += batch.length;
      }
    } finally {
      socket.disconnect();
    }
  }
}

describe.runIf(why === undefined)('a hub cluster behind HAProxy', () => {
  const database = `eventloom_haproxy_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const dbUrl = new URL(POSTGRES);
  dbUrl.pathname = `/${database}`;
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
    const sql = postgres(POSTGRES, { max: 1, onnotice: () => undefined });
    await sql.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await sql.end();
  }, 60_000);

  it(
    'loses and duplicates no acked event when a node is SIGKILLed during an upload',
    { timeout: 120_000 },
    async () => {
      cluster = await startCluster({ port: 0, db: dbUrl.toString(), redis: REDIS, nodes: 3 });
      const uploaders = Array.from({ length: 3 }, (_, i) => new Uploader(`device-${i}`, 300));
      // A device whose first push was committed but never acked (its node died in between), as
      // the SIGKILL below may cause at any run: it pushes those events again.
      await uploaders[0]!.pushAckLost(cluster.url, 10);
      const running = uploaders.map((u) => u.run(cluster!.url));
      // Kill a node once every device is under way.
      const started = Date.now();
      while (uploaders.some((u) => u.acked.size < 30) && Date.now() - started < 60_000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const victim = cluster.nodes[0]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      await Promise.all(running);
      // Round robin put one device on the killed node: it went on through another.
      expect(uploaders.some((u) => u.reconnects > 0)).toBe(true);
      expect(uploaders[0]!.duplicates).toBeGreaterThanOrEqual(10);
      const sql = postgres(dbUrl.toString(), { max: 1, onnotice: () => undefined });
      try {
        const rows = await sql<{ position: string; id: string }[]>`
        SELECT position, id FROM eventloom_events ORDER BY position`;
        const total = uploaders.reduce((n, u) => n + u.events.length, 0);
        expect(rows.map((r) => Number(r.position))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        const stored = new Map(rows.map((r) => [r.id, Number(r.position)]));
        expect(stored.size).toBe(total);
        for (const uploader of uploaders) {
          for (const event of uploader.events) expect(stored.has(event['id'] as string)).toBe(true);
          // Each ack named the position the event holds, duplicates included.
          for (const [id, position] of uploader.acked) expect(stored.get(id)).toBe(position);
        }
      } finally {
        await sql.end();
      }
    },
  );
});

function uuidv7(): string {
  const hex = randomUUID().replaceAll('-', '');
  const ms = Date.now().toString(16).padStart(12, '0');
  const variant = '89ab'[Number.parseInt(hex[16]!, 16) % 4]!;
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
