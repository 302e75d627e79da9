import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteStore } from '@eventloom/hub';
import { createSqliteReactionStore } from '@eventloom/hub/reactions';
import { COMPLETED_ORDER } from '@eventloom/hub/testing';
import type { CommittedEvent, PullResult, PushAck, Welcome } from '@eventloom/protocol';
import type { Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { reactionsDbBeside } from './start-hub-server.ts';
import {
  call,
  connectTo,
  eventOf,
  hubArgs,
  killHub,
  spawnHub,
  tokenFor,
  type HubProcess,
} from './spawn-hub.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'order-reactions.ts');

const FAILED_AT_SHIPMENT = [
  ...COMPLETED_ORDER.slice(0, 6),
  'shipment.failed',
  'payment.refund',
  'stock.release',
  'order.cancelled',
];

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDb(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eventloom-hub-reactions-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'events.db');
}

async function start(
  db: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<HubProcess> {
  const hub = await spawnHub(hubArgs(db, ['--reactions', FIXTURE, ...extra]), env);
  cleanups.push(() => killHub(hub));
  return hub;
}

async function shop(url: string, clientId = 'shop'): Promise<ClientSocket> {
  const socket = await connectTo(url, await tokenFor(clientId));
  cleanups.push(async () => socket.close());
  await call<Welcome>(socket, 'hello', {
    protocol: 1,
    clientId,
    lastPosition: 0,
    subscriptions: ['orders'],
    schemaFingerprint: null,
  });
  return socket;
}

/** Every event of the hub's log, read over the socket. */
async function pullAll(socket: ClientSocket): Promise<CommittedEvent[]> {
  const events: CommittedEvent[] = [];
  for (let from = 0; ;) {
    const page = await call<PullResult>(socket, 'pull', { from, limit: 1000 });
    events.push(...page.events);
    if (!page.more) return events;
    from = page.until;
  }
}

/** Pulls until `done(log)` holds (the hub's reactions run in the background). */
async function pullUntil(
  socket: ClientSocket,
  done: (log: CommittedEvent[]) => boolean,
): Promise<CommittedEvent[]> {
  for (;;) {
    const log = await pullAll(socket);
    if (done(log)) return log;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function typesOf(log: readonly CommittedEvent[], orderId: string): string[] {
  return log.filter((e) => (e.data as { orderId?: string }).orderId === orderId).map((e) => e.type);
}

async function readLog(db: string): Promise<CommittedEvent[]> {
  const store = await createSqliteStore({ path: db });
  try {
    return (await store.read({ from: 0, limit: 10_000 })).events as CommittedEvent[];
  } finally {
    await store.close();
  }
}

async function sagaStatuses(db: string): Promise<Record<string, string>> {
  const store = createSqliteReactionStore({ path: reactionsDbBeside(db) });
  try {
    const instances = await store.transaction((tx) => tx.listSagas({ saga: 'order' }));
    return Object.fromEntries(instances.map((i) => [i.key, i.status]));
  } finally {
    await store.close();
  }
}

function placed(clientSeq: number, orderId: string, failAt?: string) {
  return {
    ...eventOf('shop', clientSeq, 'orders'),
    type: 'order.placed',
    data: failAt ? { orderId, failAt } : { orderId },
  };
}

describe('eventloom-hub --reactions (child process)', () => {
  it('completes a saga exactly once after a SIGKILL in its middle', async () => {
    const db = await tempDb();
    const first = await start(db, [], { EVENTLOOM_TEST_HOLD_SHIPMENT: '1' });
    const socket = await shop(first.url);
    const ack = await call<PushAck>(socket, 'push', { events: [placed(1, 'k1')] });
    expect(ack.results[0]).toMatchObject({ status: 'ok' });
    // The saga got to its third step; the shipping service hangs on it.
    await pullUntil(socket, (log) => typesOf(log, 'k1').includes('shipment.schedule'));
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(typesOf(await readLog(db), 'k1')).toEqual(COMPLETED_ORDER.slice(0, 6));
    expect(await sagaStatuses(db)).toEqual({ k1: 'active' });

    const second = await start(db);
    const again = await shop(second.url);
    await pullUntil(again, (log) => typesOf(log, 'k1').includes('order.completed'));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const log = await readLog(db);
    expect(typesOf(log, 'k1')).toEqual(COMPLETED_ORDER);
    expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
    expect(await sagaStatuses(db)).toEqual({ k1: 'done' });
  }, 60_000);

  it('runs every saga and its compensations exactly once through repeated SIGKILLs', async () => {
    const db = await tempDb();
    const orders = Array.from({ length: 12 }, (_, i) => ({
      id: `o${i}`,
      failAt: i % 3 === 0 ? 'shipment' : undefined,
    }));
    const expected = (o: (typeof orders)[number]) =>
      o.failAt === undefined ? COMPLETED_ORDER : FAILED_AT_SHIPMENT;
    const total = orders.reduce((n, o) => n + expected(o).length, 0);
    let seen = 0;
    for (let round = 0; round < 4; round++) {
      const hub = await start(db);
      const socket = await shop(hub.url);
      if (round === 0) {
        const ack = await call<PushAck>(socket, 'push', {
          events: orders.map((o, i) => placed(i + 1, o.id, o.failAt)),
        });
        expect(ack.results.every((r) => r.status === 'ok')).toBe(true);
      }
      // Let the reactions make some progress, then kill the hub wherever they are.
      const target = Math.min(total, seen + 10 + round * 5);
      seen = (await pullUntil(socket, (log) => log.length >= target)).length;
      hub.child.kill('SIGKILL');
      expect(await hub.exited).toBe('SIGKILL');
    }
    const last = await start(db);
    const socket = await shop(last.url);
    await pullUntil(
      socket,
      (log) => log.length >= total && orders.every((o) => typesOf(log, o.id).length === expected(o).length),
    );
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    const log = await readLog(db);
    expect(log).toHaveLength(total);
    for (const o of orders) expect(typesOf(log, o.id)).toEqual(expected(o));
    expect(new Set(log.map((e) => e.id)).size).toBe(total);
    const statuses = await sagaStatuses(db);
    for (const o of orders) expect(statuses[o.id]).toBe(o.failAt === undefined ? 'done' : 'compensated');
  }, 120_000);

  it('serves the dead-letter admin endpoints to the configured admins only', async () => {
    const db = await tempDb();
    const hub = await start(db, ['--admin-sub', 'ops', '--admin-role', 'auditor']);
    const list = async (token: string | undefined) => {
      const response = await fetch(`${hub.url}/admin/dead-letters`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: response.status, body: (await response.json()) as unknown };
    };
    expect(await list(undefined)).toMatchObject({
      status: 401,
      body: { error: { code: 'unauthenticated' } },
    });
    expect(await list('not-a-jwt')).toMatchObject({ status: 401 });
    expect(await list(await tokenFor('alice'))).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden' } },
    });
    expect(await list(await tokenFor('ops'))).toEqual({ status: 200, body: { deadLetters: [] } });
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toContain('eventloom_hub_dead_letters 0');
    expect(metrics).toContain('eventloom_hub_saga_instances{saga="order",status="active"} 0');
    expect(metrics).toMatch(/eventloom_hub_reaction_lag_events\{reaction="stock-service"\} 0/);
  }, 60_000);

  it('refuses a --reactions module that exports no handlers or sagas, with exit code 1', async () => {
    const db = await tempDb();
    const bad = join(dirname(FIXTURE), '..', 'hub-server-config.ts');
    await expect(spawnHub(hubArgs(db, ['--reactions', bad]))).rejects.toThrow(
      /exports no handlers and no sagas/,
    );
  }, 30_000);
});
