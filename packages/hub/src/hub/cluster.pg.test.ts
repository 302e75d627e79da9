import type { LiveEvents, Notify, PushAck } from '@eventloom/protocol';
import postgres from 'postgres';
import type { Socket as ClientSocket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventStore } from '../store/event-store.ts';
import { createPostgresStore } from '../store/postgres-store.ts';
import { postgresUnavailable, requirePostgres, testSchemas } from '../store/postgres-test-database.ts';
import type { HubOptions } from './hub-options.ts';
import { connectRedisCluster, type RedisCluster } from './redis-cluster.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.test-kit.ts';
import { collect, makeEvent, request, silentLogger, testScope, until, type TestHub } from './test-kit.ts';

const REDIS_URL = process.env['EVENTLOOM_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function redisUnavailable(): Promise<string | undefined> {
  try {
    const cluster = await connectRedisCluster(REDIS_URL, silentLogger);
    await cluster.close();
    return undefined;
  } catch (error) {
    return `Redis at ${REDIS_URL} is unreachable (${String(error)}): set EVENTLOOM_TEST_REDIS_URL`;
  }
}

const why = (await postgresUnavailable()) ?? (await redisUnavailable());
const run = requirePostgres(why);

/**
 * Several hub nodes on one Postgres log and one Redis bus, in this process: what a cluster
 * guarantees (every node delivers every commit in order, one sequencer for all, notify across
 * nodes) and how it behaves when Postgres or Redis go away.
 */
describe.runIf(run)('hub cluster on Postgres and Redis', () => {
  const schemas = testSchemas('eventloom_cluster');
  afterAll(() => schemas.drop(), 30_000);
  const scope = testScope();

  /** Starts `n` nodes on a fresh log; each store connects through `dbPort` when given (a proxy). */
  async function cluster(
    n: number,
    options: {
      pollIntervalMs?: number;
      dbPort?: number;
      redisPort?: number;
      authorize?: HubOptions['authorize'];
    } = {},
  ): Promise<{
    nodes: TestHub[];
    stores: EventStore[];
    buses: RedisCluster[];
    /** What each node's bus received from Redis: the notifications routed to it, copies included. */
    received: string[][];
    url: string;
    schema: string;
  }> {
    const { url, schema } = await schemas.next();
    const dbUrl = new URL(url);
    if (options.dbPort !== undefined) dbUrl.port = String(options.dbPort);
    const redisUrl = new URL(REDIS_URL);
    if (options.redisPort !== undefined) redisUrl.port = String(options.redisPort);
    const nodes: TestHub[] = [];
    const stores: EventStore[] = [];
    const buses: RedisCluster[] = [];
    const received: string[][] = [];
    for (let i = 0; i < n; i++) {
      const store = await createPostgresStore({
        url: dbUrl.toString(),
        schema,
        poolSize: 3,
        pollIntervalMs: options.pollIntervalMs ?? 5_000,
        connectTimeoutSeconds: 2,
      });
      const bus = await connectRedisCluster(redisUrl.toString(), silentLogger, {
        key: `eventloom#${await store.hubId()}`,
      });
      scope.defer(() => bus.close());
      const seen: string[] = [];
      received.push(seen);
      const observed: RedisCluster = {
        ...bus,
        notifications: (onMessage) =>
          bus.notifications((payload) => {
            seen.push(payload);
            onMessage(payload);
          }),
      };
      const authorize = options.authorize === undefined ? {} : { authorize: options.authorize };
      nodes.push(await scope.startHub({ store, cluster: observed, ...authorize }));
      stores.push(store);
      buses.push(bus);
    }
    return { nodes, stores, buses, received, url, schema };
  }

  /** Pushes `count` events of `clientId` in batches of `batch`, in order; resolves with the acks. */
  async function pushAll(socket: ClientSocket, clientId: string, count: number, batch: number, first = 1) {
    const results: PushAck['results'][number][] = [];
    const end = first + count - 1;
    for (let seq = first; seq <= end; seq += batch) {
      const events = Array.from({ length: Math.min(batch, end - seq + 1) }, (_, i) =>
        makeEvent(clientId, seq + i, { stream: `list:${(seq + i) % 4}` }),
      );
      const ack = await request<PushAck>(socket, 'push', { events });
      results.push(...ack.results);
    }
    return results;
  }

  /** Checks that live messages form one gapless chain from `from`: each `prev` is the last position sent. */
  function positionsOf(messages: LiveEvents[], from = 0): number[] {
    const positions: number[] = [];
    let last = from;
    for (const message of messages) {
      expect(message.prev).toBe(last);
      for (const event of message.events) {
        expect(event.position).toBeGreaterThan(last);
        positions.push(event.position);
        last = event.position;
      }
    }
    return positions;
  }

  /** A push whose socket the hub closes: the `hub-error` code it closed with, or the ack if it answered. */
  function pushOrClosed(socket: ClientSocket, events: unknown[]): Promise<PushAck | string> {
    return new Promise((resolve) => {
      socket.once('hub-error', (error: { code: string }) => resolve(error.code));
      void request<PushAck>(socket, 'push', { events }).then(resolve, () => undefined);
    });
  }

  it('fences a client id’s older connection on another node: the welcome’s lastClientSeq is final', async () => {
    const { nodes, stores } = await cluster(2);
    const [n0, n1] = nodes as [TestHub, TestHub];
    // A device the log knows (seq 1), then a connection of it on node 0 that dies unnoticed…
    const first = await scope.client(n0.url, 'alice', 'fence-a', []);
    const known = makeEvent('fence-a', 1);
    expect((await request<PushAck>(first.socket, 'push', { events: [known] })).results).toMatchObject([
      { status: 'ok' },
    ]);
    const old = await scope.client(n0.url, 'alice', 'fence-a', []);
    // …the device's new instance says hello on node 1…
    const now = await scope.client(n1.url, 'alice', 'fence-a', []);
    expect(now.welcome.lastClientSeq).toBe(1);
    // …and the old connection's push reaches node 0 only now: refused unstored, closed.
    const stale = [2, 3, 4].map((seq) => makeEvent('fence-a', seq));
    expect(await pushOrClosed(old.socket, stale)).toBe('superseded');
    const own = [2, 3].map((seq) => makeEvent('fence-a', seq));
    expect((await request<PushAck>(now.socket, 'push', { events: own })).results).toMatchObject([
      { status: 'ok' },
      { status: 'ok' },
    ]);
    const log = (await stores[0]!.read({ from: 0, limit: 100 })).events.filter(
      (e) => e.clientId === 'fence-a',
    );
    expect(log.map((e) => e.id)).toEqual([known.id, ...own.map((e) => e.id)]);

    // A client id the log never saw: both connections said hello without a record; the first push claims it.
    const a = await scope.client(n0.url, 'alice', 'fence-b', []);
    const b = await scope.client(n1.url, 'alice', 'fence-b', []);
    expect(
      (await request<PushAck>(a.socket, 'push', { events: [makeEvent('fence-b', 1)] })).results,
    ).toMatchObject([{ status: 'ok' }]);
    expect(await pushOrClosed(b.socket, [makeEvent('fence-b', 1)])).toBe('superseded');
    const again = await scope.client(n1.url, 'alice', 'fence-b', []);
    expect(again.welcome.lastClientSeq).toBe(1);
    expect(await pushOrClosed(a.socket, [makeEvent('fence-b', 2)])).toBe('superseded');
  });

  it('delivers every commit of every node to every client live, in position order; the log is gapless', async () => {
    const { nodes } = await cluster(3);
    const clients = await Promise.all(
      nodes.map((node, i) => scope.client(node.url, `user-${i}`, `client-${i}`, ['*'])),
    );
    const live = clients.map(({ socket }) => collect<LiveEvents>(socket, 'events'));
    const perClient = 60;
    const acks = await Promise.all(
      clients.map(({ socket }, i) => pushAll(socket, `client-${i}`, perClient, 7)),
    );
    for (const results of acks) expect(results.every((r) => r.status === 'ok')).toBe(true);
    const total = perClient * 3;
    const all = Array.from({ length: total }, (_, i) => i + 1);
    await until(
      () => live.every((messages) => messages.flatMap((m) => m.events).length >= total),
      'live delivery',
    );
    for (const messages of live) expect(positionsOf(messages)).toEqual(all);
    const okPositions = acks.flat().map((r) => (r.status === 'ok' ? r.position : 0));
    expect(okPositions.sort((a, b) => a - b)).toEqual(all);
    const page = await nodes[1]!.store.read({ from: 0, limit: 1000 });
    expect(page.events.map((e) => e.position)).toEqual(all);
  });

  it('takes exactly one of 50 pushes with the same expectedVersion, spread over three nodes', async () => {
    const { nodes } = await cluster(3);
    const clients = await Promise.all(
      Array.from({ length: 6 }, (_, i) => scope.client(nodes[i % 3]!.url, `user-${i}`, `occ-${i}`, [])),
    );
    const pushes = Array.from({ length: 50 }, (_, i) => {
      const { socket } = clients[i % clients.length]!;
      const seq = Math.floor(i / clients.length) + 1;
      const event = makeEvent(`occ-${i % clients.length}`, seq, { stream: 'seat:1', expectedVersion: 0 });
      return request<PushAck>(socket, 'push', { events: [event] });
    });
    const results = (await Promise.all(pushes)).flatMap((a) => a.results);
    expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.code === 'wrong-expected-version').length).toBe(
      49,
    );
    expect(await nodes[2]!.store.streamVersion('seat:1')).toBe(1);
  });

  it('carries notify and query replies between nodes through Redis', async () => {
    const { nodes } = await cluster(2);
    const a = await scope.client(nodes[0]!.url, 'alice', 'notify-a', ['room:*']);
    const c = await scope.client(nodes[1]!.url, 'carol', 'notify-c', ['room:*']);
    const atC = collect<Notify>(c.socket, 'notify');
    const atA = collect<Notify>(a.socket, 'notify');
    const query = {
      id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      kind: 'query',
      type: 'presence.who',
      stream: 'room:1',
      data: {},
    };
    a.socket.emit('notify', query);
    await until(() => atC.length === 1, 'the query on the other node');
    expect(atC[0]).toMatchObject({ kind: 'query', from: 'notify-a', stream: 'room:1' });
    c.socket.emit('notify', {
      id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c',
      kind: 'reply',
      type: 'presence.who',
      stream: 'room:1',
      data: { here: ['carol'] },
      to: 'notify-a',
      replyTo: query.id,
    });
    await until(() => atA.length === 1, 'the reply back on the first node');
    expect(atA[0]).toMatchObject({ kind: 'reply', from: 'notify-c', data: { here: ['carol'] } });
  });

  it('routes a notify only to the nodes with a session that may take it, and each node still checks each session', async () => {
    // Dave may not receive room:secret: his node is told (his room:* route), his session is not.
    const authorize: HubOptions['authorize'] = (principal, action, stream) =>
      !(principal.sub === 'dave' && action === 'subscribe' && stream === 'room:secret');
    const { nodes, received } = await cluster(3, { authorize });
    const alice = await scope.client(nodes[0]!.url, 'alice', 'route-alice', []);
    const bob = await scope.client(nodes[1]!.url, 'bob', 'route-bob', ['room:1']);
    const dave = await scope.client(nodes[1]!.url, 'dave', 'route-dave', ['room:*']);
    const carol = await scope.client(nodes[2]!.url, 'carol', 'route-carol', ['li[s]t?:*']);
    const at = {
      bob: collect<Notify>(bob.socket, 'notify'),
      dave: collect<Notify>(dave.socket, 'notify'),
      carol: collect<Notify>(carol.socket, 'notify'),
    };
    const notify = (n: number, stream: string, to?: string) =>
      alice.socket.emit('notify', {
        id: `0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4b0${n}`,
        kind: 'notification',
        type: 'typing',
        stream,
        data: { n },
        ...(to === undefined ? {} : { to }),
      });
    const streamsAt = (node: number) =>
      received[node]!.map((p) => (JSON.parse(p) as { message: Notify }).message.stream);
    notify(1, 'room:1');
    notify(2, 'room:secret');
    notify(3, 'li[s]t?:9');
    notify(4, 'list:9');
    notify(5, 'elsewhere', 'route-carol');
    await until(() => at.carol.length === 2, 'the list notification and the one to carol on node 2');
    await until(() => at.bob.length === 1 && at.dave.length === 1, 'room:1 on node 1');
    // Node 1 listens on room:1 and room:*: it got room:1 twice (one copy dropped), and room:secret.
    await until(() => received[1]!.length === 3, 'node 1 told of what its routes match');
    expect(streamsAt(1)).toEqual(['room:1', 'room:1', 'room:secret']);
    expect(at.bob.map((m) => m.data)).toEqual([{ n: 1 }]);
    expect(at.dave.map((m) => m.data)).toEqual([{ n: 1 }]);
    // Node 2 was told of its literal prefix and of carol's own message only; node 0 of nothing.
    expect(streamsAt(2)).toEqual(['li[s]t?:9', 'elsewhere']);
    expect(at.carol.map((m) => m.data)).toEqual([{ n: 3 }, { n: 5 }]);
    expect(received[0]).toEqual([]);
  });

  it('still delivers every commit after its listener connection is killed: by the poll, then by a new listener', async () => {
    const { nodes, url } = await cluster(2, { pollIntervalMs: 300 });
    const writer = await scope.client(nodes[0]!.url, 'w', 'writer', []);
    const reader = await scope.client(nodes[1]!.url, 'r', 'reader', ['*']);
    const live = collect<LiveEvents>(reader.socket, 'events');
    const admin = postgres(url, { max: 1, onnotice: () => undefined });
    scope.defer(() => admin.end());
    const listeners = async () =>
      (
        await admin<{ pid: number }[]>`
        SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%'`
      ).map((r) => r.pid);
    await until(() => live.length === 0, 'start');
    await expect.poll(listeners, { timeout: 10_000 }).toHaveLength(2);
    const before = await listeners();
    await admin`SELECT pg_terminate_backend(pid) FROM unnest(${before}::int[]) AS pid`;
    const acks = await pushAll(writer.socket, 'writer', 20, 5);
    expect(acks.every((r) => r.status === 'ok')).toBe(true);
    await until(() => live.flatMap((m) => m.events).length === 20, 'delivery without a listener');
    expect(positionsOf(live)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // The driver listens again on a new connection; notifications wake the node again.
    await expect
      .poll(async () => (await listeners()).filter((p) => !before.includes(p)).length, {
        timeout: 15_000,
      })
      .toBe(2);
    const later = await pushAll(writer.socket, 'writer', 5, 5, 21);
    expect(later.every((r) => r.status === 'ok')).toBe(true);
    await until(() => live.flatMap((m) => m.events).length === 25, 'delivery by the new listener');
    expect(positionsOf(live)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('keeps events flowing when Redis is down: notify answers unavailable, /readyz says redis down', async () => {
    const proxy: TcpProxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379));
    scope.defer(() => proxy.close());
    const { nodes } = await cluster(2, { redisPort: proxy.port });
    const a = await scope.client(nodes[0]!.url, 'a', 'redis-a', ['*']);
    const c = await scope.client(nodes[1]!.url, 'c', 'redis-c', ['*']);
    const live = collect<LiveEvents>(c.socket, 'events');
    const errors = collect<{ code: string; retryable: boolean }>(a.socket, 'hub-error');
    const ready = async () =>
      (await fetch(`${nodes[0]!.url}/readyz`)).json() as Promise<Record<string, string>>;
    expect(await ready()).toEqual({ status: 'ready', store: 'ok', redis: 'ok' });
    proxy.cut();
    await expect.poll(ready, { timeout: 10_000 }).toEqual({ status: 'degraded', store: 'ok', redis: 'down' });
    expect((await fetch(`${nodes[0]!.url}/readyz`)).status).toBe(200);
    const acks = await pushAll(a.socket, 'redis-a', 10, 5);
    expect(acks.every((r) => r.status === 'ok')).toBe(true);
    await until(() => live.flatMap((m) => m.events).length === 10, 'events without Redis');
    a.socket.emit('notify', {
      id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d',
      kind: 'notification',
      type: 'typing',
      stream: 'room:1',
      data: {},
    });
    await until(() => errors.length === 1, 'the coded refusal');
    expect(errors[0]).toMatchObject({ code: 'unavailable', retryable: true });
    proxy.restore();
    await expect.poll(ready, { timeout: 15_000 }).toEqual({ status: 'ready', store: 'ok', redis: 'ok' });
  });

  it('refuses pushes with a retryable unavailable while Postgres is down, and resumes without loss', async () => {
    const proxy = await startTcpProxy(Number(new URL(schemasUrl()).port || 5432));
    scope.defer(() => proxy.close());
    const { nodes, stores } = await cluster(1, { dbPort: proxy.port, pollIntervalMs: 500 });
    const { socket } = await scope.client(nodes[0]!.url, 'p', 'pg-client', ['*']);
    const live = collect<LiveEvents>(socket, 'events');
    const first = await pushAll(socket, 'pg-client', 5, 5);
    expect(first.every((r) => r.status === 'ok')).toBe(true);
    proxy.cut();
    const down = await request<PushAck>(socket, 'push', { events: [makeEvent('pg-client', 6)] });
    expect(down.results[0]).toMatchObject({ status: 'rejected', code: 'unavailable' });
    expect((await fetch(`${nodes[0]!.url}/readyz`)).status).toBe(503);
    proxy.restore();
    // The client pushes the refused event again (same seq): it is taken once, and the rest follow.
    let again: PushAck | undefined;
    await expect
      .poll(
        async () => {
          again = await request<PushAck>(socket, 'push', { events: [makeEvent('pg-client', 6)] });
          return again.results[0]?.status;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe('ok');
    await until(() => live.flatMap((m) => m.events).length === 6, 'delivery after the outage');
    expect(positionsOf(live)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await stores[0]!.read({ from: 0, limit: 100 })).events.map((e) => e.clientSeq)).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
  });
});

function schemasUrl(): string {
  return process.env['EVENTLOOM_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}
