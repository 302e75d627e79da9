import { createServer } from 'node:http';
import {
  PROTOCOL_VERSION,
  type CommittedEvent,
  type LiveEvents,
  type PullResult,
  type PushAck,
  type PushResult,
} from '@eventloom/protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Socket as ClientSocket } from 'socket.io-client';
import { createMemoryStore } from '../store/memory-store.ts';
import { insecureDevAuthenticator, jwtAuthenticator } from './authenticator.ts';
import { createHub } from './create-hub.ts';
import { HubError } from './hub-error.ts';
import {
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_SECRET,
  collect,
  connectClient,
  hello,
  makeEvent,
  request,
  signToken,
  silentLogger,
  startTestHub,
  testScope,
  until,
} from './test-kit.ts';

const scope = testScope();

async function setup(options: Parameters<typeof startTestHub>[0] = {}) {
  const hub = await scope.startHub(options);
  const client = (sub: string, clientId: string, subscriptions?: string[]) =>
    scope.client(hub.url, sub, clientId, subscriptions);
  return { ...hub, client };
}

const push = (socket: ClientSocket, events: unknown[]) => request<PushAck>(socket, 'push', { events });
const pull = (socket: ClientSocket, from = 0, limit = 1000, streams?: string[]) =>
  request<PullResult>(socket, 'pull', streams === undefined ? { from, limit } : { from, limit, streams });

describe('createHub: push, ack, pull, broadcast', () => {
  it('commits pushed events in order, acks them, and serves them by pull and live broadcast', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a', ['list:*']);
    const b = await client('bob', 'client-b', ['list:*']);
    const c = await client('carol', 'client-c', ['other']);
    expect(a.welcome).toMatchObject({
      protocol: PROTOCOL_VERSION,
      minProtocol: 1,
      head: 0,
      lastClientSeq: 0,
    });
    const live = collect<LiveEvents>(b.socket, 'events');
    const notForC = collect<LiveEvents>(c.socket, 'events');

    const events = [1, 2, 3].map((seq) =>
      makeEvent('client-a', seq, { meta: { principal: { sub: 'mallory' } } }),
    );
    const ack = await push(a.socket, events);
    expect(ack.results).toEqual(
      events.map((e, i) => ({ status: 'ok', id: e.id, position: i + 1, streamVersion: i + 1 })),
    );

    const page = await pull(b.socket);
    expect(page).toMatchObject({ head: 3, until: 3, more: false });
    expect(page.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    // The hub writes the authenticated principal, whatever the client claimed.
    expect(page.events.map((e) => e.meta.principal)).toEqual(
      Array(3).fill({ sub: 'alice', iss: 'eventloom-test' }),
    );

    await until(() => live.flatMap((m) => m.events).length === 3, 'live events');
    expect(live[0]!.prev).toBe(0);
    expect(live.flatMap((m) => m.events.map((e) => e.position))).toEqual([1, 2, 3]);
    const again = await pull(c.socket);
    expect(again.events).toEqual([]);
    expect(notForC).toEqual([]);
  });

  it('pages a pull with until and more, and filters it by the socket subscriptions', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const b = await client('bob', 'client-b', ['list:2']);
    const events = Array.from({ length: 10 }, (_, i) =>
      makeEvent('client-a', i + 1, { stream: i % 2 === 0 ? 'list:1' : 'list:2' }),
    );
    await push(a.socket, events);
    const first = await pull(a.socket, 0, 4);
    expect(first).toMatchObject({ until: 4, head: 10, more: true });
    const second = await pull(a.socket, first.until, 100);
    expect(second.events.map((e) => e.position)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(second.more).toBe(false);
    const filtered = await pull(b.socket);
    expect(filtered.events.map((e) => e.stream)).toEqual(Array(5).fill('list:2'));
    const intersected = await pull(b.socket, 0, 100, ['list:1']);
    expect(intersected.events).toEqual([]);
  });

  it('sends live events in position order with prev, so a client can detect what it missed', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const b = await client('bob', 'client-b');
    const watcher = await client('watcher', 'client-w', ['*']);
    const live = collect<LiveEvents>(watcher.socket, 'events');
    const pushes: Promise<PushAck>[] = [];
    for (let i = 1; i <= 20; i++) {
      pushes.push(push(a.socket, [makeEvent('client-a', i)]));
      pushes.push(push(b.socket, [makeEvent('client-b', i)]));
    }
    await Promise.all(pushes);
    await until(() => live.flatMap((m) => m.events).length === 40, 'all live events');
    let last = 0;
    for (const message of live) {
      expect(message.prev).toBe(last);
      for (const event of message.events) expect(event.position).toBe(++last);
    }
  });
});

describe('createHub: idempotency and ordering', () => {
  it('stores the same batch sent twice once, and answers the second with duplicates', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a');
    const batch = [1, 2, 3].map((seq) => makeEvent('client-a', seq));
    const first = await push(a.socket, batch);
    const second = await push(a.socket, batch);
    expect(second.results).toEqual(
      first.results.map((r) => ({
        status: 'duplicate',
        id: r.id,
        position: (r as { position: number }).position,
      })),
    );
    expect(await store.head()).toBe(3);
  });

  it('stores an event sent in two different batches once', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a');
    const [e1, e2, e3] = [1, 2, 3].map((seq) => makeEvent('client-a', seq));
    await push(a.socket, [e1, e2]);
    const ack = await push(a.socket, [e2, e3]);
    expect(ack.results.map((r) => r.status)).toEqual(['duplicate', 'ok']);
    const page = await pull(a.socket);
    expect(page.events.map((e) => e.id)).toEqual([e1!.id, e2!.id, e3!.id]);
    expect(await store.head()).toBe(3);
  });

  it('answers id-conflict when an id comes back with other content', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const original = makeEvent('client-a', 1);
    await push(a.socket, [original]);
    const ack = await push(a.socket, [{ ...original, clientSeq: 2, data: { title: 'changed' } }]);
    expect(ack.results[0]).toMatchObject({ status: 'rejected', id: original.id, code: 'id-conflict' });
  });

  it('accepts exactly one of 50 concurrent pushes that expect the same stream version', async () => {
    const { client, store } = await setup();
    const clients = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client(`user-${i}`, `client-${i}`)),
    );
    const acks = await Promise.all(
      clients.map((c, i) =>
        push(c.socket, [makeEvent(`client-${i}`, 1, { stream: 'seat:1A', expectedVersion: 0 })]),
      ),
    );
    const results = acks.map((a) => a.results[0]!);
    expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(49);
    for (const r of refused) expect(r).toMatchObject({ code: 'wrong-expected-version', currentVersion: 1 });
    expect(await store.streamVersion('seat:1A')).toBe(1);
  });

  it('holds an event whose clientSeq skips ahead until the gap is filled', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const [e1, e2, e3] = [1, 2, 3].map((seq) => makeEvent('client-a', seq));
    const answered: string[] = [];
    const late = push(a.socket, [e3!]).then((ack) => (answered.push('e3'), ack));
    const middle = push(a.socket, [e2!]).then((ack) => (answered.push('e2'), ack));
    // A pull answered after both pushes arrived: they are held, not answered.
    await pull(a.socket);
    expect(answered).toEqual([]);
    const first = await push(a.socket, [e1!]);
    expect(first.results[0]).toMatchObject({ status: 'ok', position: 1 });
    expect((await middle).results[0]).toMatchObject({ status: 'ok', position: 2 });
    expect((await late).results[0]).toMatchObject({ status: 'ok', position: 3 });
    expect((await pull(a.socket)).events.map((e) => e.clientSeq)).toEqual([1, 2, 3]);
  });

  it('answers sequence-gap when the gap is not filled in time, and stores nothing', async () => {
    const { client, store } = await setup({ limits: { gapTimeoutMs: 20 } });
    const a = await client('alice', 'client-a');
    const ack = await push(a.socket, [makeEvent('client-a', 5)]);
    expect(ack.results[0]).toMatchObject({ status: 'rejected', code: 'sequence-gap' });
    expect(await store.head()).toBe(0);
    expect((await store.client('client-a')).lastClientSeq).toBe(0);
  });

  it('changes nothing when a captured push frame is replayed', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a');
    const frame = { events: [1, 2].map((seq) => makeEvent('client-a', seq)) };
    const original = await request<PushAck>(a.socket, 'push', frame);
    const before = await pull(a.socket);
    // The replay comes from the same principal on a new connection, long after.
    const replayer = await client('alice', 'client-a');
    const replay = await request<PushAck>(replayer.socket, 'push', structuredClone(frame));
    expect(replay.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
    expect(replay.results.map((r) => (r as { position: number }).position)).toEqual(
      original.results.map((r) => (r as { position: number }).position),
    );
    expect(await pull(a.socket)).toEqual(before);
    expect(await store.head()).toBe(2);
  });
});

describe('createHub: protocol', () => {
  it('answers not-ready to a message before hello', async () => {
    const { url } = await setup();
    const socket = await connectClient(url, { token: await signToken('alice') });
    scope.defer(() => socket.disconnect());
    const answer = await request<{ error: { code: string } }>(socket, 'push', {
      events: [makeEvent('x', 1)],
    });
    expect(answer.error.code).toBe('not-ready');
    expect(
      (await request<{ error: { code: string } }>(socket, 'pull', { from: 0, limit: 1 })).error.code,
    ).toBe('not-ready');
  });

  it('refuses a protocol too old or too new, and a second hello', async () => {
    const { url } = await setup();
    const socket = await connectClient(url, { token: await signToken('alice') });
    scope.defer(() => socket.disconnect());
    expect((await hello(socket, 'client-a', [], 0)).error?.code).toBe('protocol-too-old');
    expect((await hello(socket, 'client-a', [], 99)).error?.code).toBe('protocol-too-new');
    expect((await hello(socket, 'client-a', [])).lastClientSeq).toBe(0);
    expect((await hello(socket, 'client-a', [])).error?.code).toBe('invalid');
  });

  it('answers malformed messages with a coded error and keeps serving the socket', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const errors = collect<{ code: string }>(a.socket, 'hub-error');
    expect(
      (await request<{ error: { code: string } }>(a.socket, 'push', { events: 'nope' })).error.code,
    ).toBe('invalid');
    expect((await request<{ error: { code: string } }>(a.socket, 'push', { events: [] })).error.code).toBe(
      'invalid',
    );
    expect((await request<{ error: { code: string } }>(a.socket, 'launch', {})).error.code).toBe('invalid');
    a.socket.emit('push', { events: [] });
    a.socket.emit('whatever', 1, 2, 3);
    await until(() => errors.length === 2, 'hub-error messages');
    expect(errors.map((e) => e.code)).toEqual(['invalid', 'invalid']);
    const ack = await push(a.socket, [makeEvent('client-a', 1), { id: 'not-an-envelope' }]);
    expect(ack.results.map((r) => r.status)).toEqual(['ok', 'rejected']);
  });

  it('records an undecodable event of the connection itself so its sequence moves on', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a');
    const bad = { ...makeEvent('client-a', 1), data: undefined, extra: true };
    const ack = await push(a.socket, [bad, makeEvent('client-a', 2)]);
    expect(ack.results.map((r) => r.status)).toEqual(['rejected', 'ok']);
    expect(ack.results[0]).toMatchObject({ code: 'invalid', id: bad.id });
    expect((await store.client('client-a')).lastClientSeq).toBe(2);
    expect((await push(a.socket, [bad])).results[0]).toMatchObject({ status: 'rejected', code: 'invalid' });
  });

  it('relays notify to the stream subscribers or to one client, and never stores it', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a', ['room:1']);
    const b = await client('bob', 'client-b', ['room:1']);
    const c = await client('carol', 'client-c', ['room:2']);
    const toB = collect<Record<string, unknown>>(b.socket, 'notify');
    const toC = collect<Record<string, unknown>>(c.socket, 'notify');
    const toA = collect<Record<string, unknown>>(a.socket, 'notify');
    a.socket.emit('notify', {
      id: makeEvent('x', 1).id,
      kind: 'notification',
      type: 'presence.typing',
      stream: 'room:1',
      data: { typing: true },
    });
    await until(() => toB.length === 1, 'notify to b');
    expect(toB[0]).toMatchObject({
      from: 'client-a',
      type: 'presence.typing',
      meta: { principal: { sub: 'alice' } },
    });
    c.socket.emit('notify', {
      id: makeEvent('x', 1).id,
      kind: 'reply',
      type: 'q.reply',
      stream: 'room:1',
      data: 1,
      to: 'client-a',
    });
    await until(() => toA.length === 1, 'directed notify');
    expect(toB).toHaveLength(1);
    expect(toC).toEqual([]);
    expect(await store.head()).toBe(0);
  });
});

describe('createHub: registry', () => {
  const registry = {
    fingerprint: 'fp-1',
    validate(event: { type: string; version: number; data: unknown }) {
      if (event.type !== 'todo.added' || event.version !== 1) {
        return {
          ok: false as const,
          error: { code: 'unknown-event-version' as const, message: 'unknown', path: 'type' },
        };
      }
      const title = (event.data as { title?: unknown } | null)?.title;
      return typeof title === 'string'
        ? { ok: true as const, value: event }
        : {
            ok: false as const,
            error: { code: 'invalid' as const, message: 'data.title: expected string', path: 'data.title' },
          };
    },
  };

  it('tells clients of protocol 2 its fingerprint, and warns in its log of another fingerprint and of refusals, with the fields', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { url } = await setup({ registry, logger });
    const socket = await connectClient(url, { token: await signToken('alice') });
    scope.defer(() => socket.disconnect());
    expect(await hello(socket, 'client-a')).toMatchObject({ schemaFingerprint: 'fp-1' });
    const old = await connectClient(url, { token: await signToken('bob') });
    scope.defer(() => old.disconnect());
    expect(await hello(old, 'client-b', ['*'], 1)).not.toHaveProperty('schemaFingerprint');
    await push(socket, [
      makeEvent('client-a', 1, { data: { title: 3 } }),
      makeEvent('client-a', 2, { data: {} }),
    ]);
    const warnings = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; count?: number })
      .filter((l) => l.level === 40);
    expect(warnings.filter((w) => /fingerprint differs/.test(w.msg))).toHaveLength(2);
    expect(warnings.find((w) => w.code === 'invalid')).toMatchObject({
      count: 2,
      msg: '2 pushed events refused (invalid): data.title: expected string',
    });
  });

  it('rejects invalid data (recorded) and, for a client of protocol 3, unknown versions (not recorded, later events wait)', async () => {
    const { url, store } = await setup({ registry });
    const socket = await connectClient(url, { token: await signToken('alice') });
    scope.defer(() => socket.disconnect());
    await hello(socket, 'client-a', ['*'], 3);
    const a = { socket };
    const invalid = makeEvent('client-a', 1, { data: { title: 3 } });
    const unknown = makeEvent('client-a', 2, { version: 2 });
    const after = makeEvent('client-a', 3);
    const ack = await push(a.socket, [invalid, unknown, after]);
    expect(ack.results).toMatchObject([
      { status: 'rejected', code: 'invalid' },
      { status: 'rejected', code: 'unknown-event-version' },
      { status: 'rejected', code: 'sequence-gap' },
    ]);
    expect((await store.client('client-a')).lastClientSeq).toBe(1);
    expect(await store.head()).toBe(0);
    // Once the client sends a version the hub knows for seq 2, the sequence goes on.
    const fixed = await push(a.socket, [{ ...unknown, version: 1 }, after]);
    expect(fixed.results.map((r: PushResult) => r.status)).toEqual(['ok', 'ok']);
  });

  it('records the unknown-version refusal of a client of protocol 4, so that its later events go on', async () => {
    const { client, store } = await setup({ registry });
    const a = await client('alice', 'client-a');
    const unknown = makeEvent('client-a', 1, { version: 2 });
    const after = makeEvent('client-a', 2);
    const ack = await push(a.socket, [unknown, after]);
    expect(ack.results).toMatchObject([
      { status: 'rejected', code: 'unknown-event-version' },
      { status: 'ok', position: 1 },
    ]);
    expect((await store.client('client-a')).lastClientSeq).toBe(2);
    // Sent again by the client, same id under a new seq, once the hub knows it: committed.
    const again = await push(a.socket, [{ ...unknown, clientSeq: 3, version: 1 }]);
    expect(again.results).toMatchObject([{ status: 'ok', id: unknown.id, position: 2 }]);
    // The old seq still answers its recorded refusal.
    expect((await push(a.socket, [unknown])).results).toMatchObject([
      { status: 'rejected', code: 'unknown-event-version' },
    ]);
  });
});

describe('createHub: limits', () => {
  it('rejects an event that is too large and a batch that is too big', async () => {
    const { client } = await setup({ limits: { maxEventBytes: 1024, maxBatchSize: 5 } });
    const a = await client('alice', 'client-a');
    const big = makeEvent('client-a', 1, { data: { title: 'x'.repeat(2000) } });
    const ack = await push(a.socket, [big, makeEvent('client-a', 2)]);
    expect(ack.results).toMatchObject([{ status: 'rejected', code: 'too-large' }, { status: 'ok' }]);
    const tooMany = await request<{ error: { code: string } }>(a.socket, 'push', {
      events: Array.from({ length: 6 }, (_, i) => makeEvent('client-a', i + 3)),
    });
    expect(tooMany.error.code).toBe('too-large');
  });

  it('answers rate-limited past the token bucket, then disconnects a socket that keeps going', async () => {
    const { client } = await setup({ limits: { rateBurst: 5, ratePerSecond: 0.001 } });
    const a = await client('alice', 'client-a');
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        request<{ error?: { code: string } }>(a.socket, 'pull', { from: 0, limit: 1 }),
      ),
    );
    expect(answers.filter((x) => x.error?.code === 'rate-limited').length).toBeGreaterThan(0);
    const errors = collect<{ code: string }>(a.socket, 'hub-error');
    const closed = new Promise((resolve) => a.socket.once('disconnect', resolve));
    for (let i = 0; i < 200; i++) a.socket.emit('notify', {});
    await closed;
    expect(errors.at(-1)?.code).toBe('rate-limited');
  });

  it('drops a slow consumer with slow-consumer and keeps serving the others', async () => {
    const { client, hub } = await setup({ limits: { maxOutgoingBytes: 256 * 1024 } });
    const writer = await client('alice', 'client-a', []);
    const slow = await client('bob', 'client-b');
    const fine = await client('carol', 'client-c');
    // Stop reading on the slow socket: the hub's buffer for it can only grow.
    const engine = (
      slow.socket.io as unknown as { engine: { transport: { ws: { _socket: { pause(): void } } } } }
    ).engine;
    engine.transport.ws._socket.pause();
    const dropped = new Promise<void>((resolve) => {
      hub.io.of('/').sockets.forEach((s) => {
        s.once('disconnect', (reason) => {
          if (s.id === slow.socket.id && reason === 'server namespace disconnect') resolve();
        });
      });
    });
    const liveFine = collect<LiveEvents>(fine.socket, 'events');
    let seq = 0;
    const payload = 'y'.repeat(60_000);
    let isDropped = false;
    void dropped.then(() => (isDropped = true));
    while (!isDropped && seq < 2000) {
      const batch = Array.from({ length: 20 }, () =>
        makeEvent('client-a', ++seq, { data: { title: payload } }),
      );
      await push(writer.socket, batch);
    }
    await dropped;
    await until(() => liveFine.flatMap((m) => m.events).length === seq, 'the fine client to get everything');
    const metrics = await hub.metrics.registry.getSingleMetricAsString('eventloom_hub_rejections_total');
    expect(metrics).toContain('code="slow-consumer"} 1');
  });
});

describe('createHub: security', () => {
  it('binds a client id to the principal that first pushes with it, and refuses it to another', async () => {
    const { client, store } = await setup();
    const alice = await client('alice', 'client-a');
    // hello alone binds nothing (connections that never push leave no trace)…
    expect(await store.client('client-a')).toEqual({ lastClientSeq: 0, principal: undefined });
    expect((await push(alice.socket, [makeEvent('client-a', 1)])).results[0]!.status).toBe('ok');
    expect((await store.client('client-a')).principal).toBe('["eventloom-test","alice"]');
    // …the first push does, and then the id is no one else's.
    const mallory = await client('mallory', 'client-a');
    expect(mallory.welcome).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('refuses the push of a principal that said hello with an id another one bound meanwhile', async () => {
    const { client, store } = await setup();
    const alice = await client('alice', 'client-a');
    const mallory = await client('mallory', 'client-a');
    expect(mallory.welcome.head).toBe(0);
    expect((await push(alice.socket, [makeEvent('client-a', 1)])).results[0]!.status).toBe('ok');
    const refused = await push(mallory.socket, [makeEvent('client-a', 2)]);
    expect(refused).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await store.client('client-a')).lastClientSeq).toBe(1);
  });

  it('refuses events carrying another client id, without touching that client sequence', async () => {
    const { client, store } = await setup();
    const bob = await client('bob', 'client-b');
    const mallory = await client('mallory', 'client-m');
    const ack = await push(mallory.socket, [makeEvent('client-b', 1), makeEvent('client-m', 1)]);
    expect(ack.results).toMatchObject([{ status: 'rejected', code: 'unauthorized' }, { status: 'ok' }]);
    expect((await store.client('client-b')).lastClientSeq).toBe(0);
    const bobsOwn = await push(bob.socket, [makeEvent('client-b', 1)]);
    expect(bobsOwn.results[0]!.status).toBe('ok');
  });

  it('enforces authorize on push, pull and subscribe', async () => {
    const authorize = (principal: { sub: string }, _action: string, stream: string) =>
      stream.startsWith(`user:${principal.sub}:`) || stream === 'public';
    const { client, store } = await setup({ authorize });
    const alice = await client('alice', 'client-a', ['user:alice:*', 'user:bob:*']);
    const bob = await client('bob', 'client-b', ['user:bob:*']);
    const bobLive = collect<LiveEvents>(bob.socket, 'events');
    const ack = await push(alice.socket, [
      makeEvent('client-a', 1, { stream: 'user:bob:inbox' }),
      makeEvent('client-a', 2, { stream: 'user:alice:notes' }),
    ]);
    expect(ack.results).toMatchObject([{ status: 'rejected', code: 'unauthorized' }, { status: 'ok' }]);
    await push(bob.socket, [makeEvent('client-b', 1, { stream: 'user:bob:inbox' })]);
    const denied = await request<{ error: { code: string } }>(alice.socket, 'pull', {
      from: 0,
      limit: 10,
      streams: ['user:bob:inbox'],
    });
    expect(denied.error.code).toBe('unauthorized');
    const all = await pull(alice.socket);
    expect(all.events.map((e) => e.stream)).toEqual(['user:alice:notes']);
    const sub = await request<{ subscriptions: string[] }>(alice.socket, 'subscribe', {
      subscriptions: ['user:bob:*', 'public'],
    });
    expect(sub.subscriptions).toEqual(['public']);
    await until(() => bobLive.length === 1, 'bob live');
    expect(bobLive[0]!.events.map((e: CommittedEvent) => e.stream)).toEqual(['user:bob:inbox']);
    expect(await store.head()).toBe(2);
  });

  it('delivers live events in order through subscribe decisions still pending', async () => {
    // An authorize that answers later: the live feed waits for each decision, session by session,
    // and still sends each session only what it may read, in position order. Patterns are allowed
    // (so `user:*` stays subscribed); each concrete stream is decided when its first event comes.
    const authorize = (principal: { sub: string }, _action: string, stream: string) =>
      new Promise<boolean>((resolve) =>
        setTimeout(
          () =>
            resolve(
              stream === 'public' || stream.endsWith('*') || stream.startsWith(`user:${principal.sub}:`),
            ),
          5,
        ),
      );
    const { client } = await setup({ authorize });
    const alice = await client('alice', 'client-a', ['public', 'user:*']);
    const bob = await client('bob', 'client-b', ['public', 'user:*']);
    const carol = await client('carol', 'client-c', ['public']);
    const live = [alice, bob, carol].map((c) => collect<LiveEvents>(c.socket, 'events'));
    for (let n = 1; n <= 3; n++) {
      await push(alice.socket, [
        makeEvent('client-a', 2 * n - 1, { stream: `user:alice:notes-${n}` }),
        makeEvent('client-a', 2 * n, { stream: 'public' }),
      ]);
    }
    const seen = (messages: LiveEvents[]) =>
      messages.flatMap((m) => m.events.map((e: CommittedEvent) => `${e.position}:${e.stream}`));
    await until(() => seen(live[0]!).length === 6, 'alice live');
    await until(() => seen(live[1]!).length === 3 && seen(live[2]!).length === 3, 'bob and carol live');
    expect(seen(live[0]!)).toEqual([
      '1:user:alice:notes-1',
      '2:public',
      '3:user:alice:notes-2',
      '4:public',
      '5:user:alice:notes-3',
      '6:public',
    ]);
    expect(seen(live[1]!)).toEqual(['2:public', '4:public', '6:public']);
    expect(seen(live[2]!)).toEqual(['2:public', '4:public', '6:public']);
  });

  it('disconnects a socket when its token expires', async () => {
    const { url } = await setup();
    const token = await signToken('alice', { expiresAt: Math.floor(Date.now() / 1000) + 2 });
    const socket = await connectClient(url, { token });
    scope.defer(() => socket.disconnect());
    const errors = collect<{ code: string }>(socket, 'hub-error');
    await new Promise((resolve) => socket.once('disconnect', resolve));
    expect(errors[0]?.code).toBe('unauthenticated');
  });
});

describe('createHub: operations', () => {
  it('serves /healthz, /readyz and /metrics', async () => {
    const { url, client } = await setup({ limits: { gapTimeoutMs: 10 } });
    const a = await client('alice', 'client-a');
    await push(a.socket, [makeEvent('client-a', 1), makeEvent('client-a', 3)]);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('eventloom_hub_connected_clients 1');
    expect(metrics).toContain('eventloom_hub_events_appended_total 1');
    expect(metrics).toMatch(/eventloom_hub_push_duration_seconds_count \d/);
    expect(metrics).toContain('eventloom_hub_rejections_total{code="sequence-gap"} 1');
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });

  it('acks in-flight pushes before closing, then refuses new work', async () => {
    const store = await createMemoryStore();
    const { hub, url } = await startTestHub({ store });
    const socket = await connectClient(url, { token: await signToken('alice') });
    await hello(socket, 'client-a');
    expect((await push(socket, [makeEvent('client-a', 1)])).results[0]!.status).toBe('ok');
    // Fewer than maxInFlightPerSocket, so that none is refused as rate-limited.
    const acks = Array.from({ length: 25 }, (_, i) => push(socket, [makeEvent('client-a', i + 2)]));
    // Close while the pushes are on their way: each is either committed and acked ok, or refused.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const closing = hub.close();
    const results = await Promise.all(acks.map((p) => p.catch(() => undefined)));
    await closing;
    const statuses = results.map(
      (r) => r?.results?.[0]?.status ?? (r as { error?: { code: string } })?.error?.code,
    );
    const okCount = statuses.filter((s) => s === 'ok').length;
    for (const s of statuses) expect(['ok', 'unavailable', undefined]).toContain(s);
    expect(await store.head()).toBe(1 + okCount);
    socket.disconnect();
    await store.close();
  });

  it('attaches to an HTTP server it does not own, and leaves it open on close', async () => {
    const store = await createMemoryStore();
    let hub: Awaited<ReturnType<typeof createHub>> | undefined;
    const server = createServer((req, res) => {
      if (hub?.handleOpsRequest(req, res) !== true) res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hub = await createHub({
      store,
      server,
      auth: jwtAuthenticator({ secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
      logger: silentLogger,
    });
    const socket = await connectClient(hub.url, { token: await signToken('alice') });
    expect((await hello(socket, 'client-a')).head).toBe(0);
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${hub.url}/teapot`)).status).toBe(418);
    socket.disconnect();
    await hub.close();
    expect(server.listening).toBe(true);
    expect((await fetch(`${hub.url}/teapot`)).status).toBe(418);
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });

  it('refuses to start without an authenticator, and announces insecure dev mode', async () => {
    const store = await createMemoryStore();
    await expect(createHub({ store } as never)).rejects.toBeInstanceOf(HubError);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const hub = await createHub({ store, auth: insecureDevAuthenticator(), logger });
    await hub.close();
    const warning = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.level === 40);
    expect(warning?.msg).toMatch(/INSECURE/);
  });
});
