import type { CommittedEvent, LiveEvents } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { insecureDevAuthenticator } from './authenticator.ts';
import { createHub } from './create-hub.ts';
import { createHubTestKit, pull, push } from './create-hub.test-kit.ts';
import type { HubLimits } from './hub-options.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import { collect, connectClient, makeEvent, request, signToken, until } from './test-kit.ts';

const { scope, setup } = createHubTestKit();

describe('createHub: limits', () => {
  it('refuses a count limit that is not a whole number, and any limit that is not positive', async () => {
    const store = await createMemoryStore();
    scope.defer(() => store.close());
    const start = (limits: Partial<HubLimits>) =>
      createHub({ store, auth: insecureDevAuthenticator(), limits });
    for (const key of ['maxBatchSize', 'maxPullsPerSocket', 'maxConnectionsPerAddress'] as const) {
      await expect(start({ [key]: 0.5 })).rejects.toThrow(`limits: ${key} must be a positive integer`);
    }
    await expect(start({ maxEventBytes: 0 })).rejects.toThrow(
      'limits: maxEventBytes must be a positive number',
    );
    await expect(start({ maxBatchSize: Number.NaN })).rejects.toThrow(
      'limits: maxBatchSize must be a positive integer',
    );
  });

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

  it("hands a socket's pushes to the store in arrival order while one waits for a decision", async () => {
    // The second push's decision is known (cached) and the first's is pending: the second is
    // judged at once only when nothing before it waits, so it waits here, and the store never
    // sees its event ahead of the first's (it would hold it as a gap and append it twice).
    let decide: ((allowed: boolean) => void) | undefined;
    const authorize = (_principal: unknown, action: string, stream: string) =>
      action === 'push' && stream === 'slow:1' ? new Promise<boolean>((resolve) => (decide = resolve)) : true;
    const store = await createMemoryStore();
    const appended: number[] = [];
    const append = store.append.bind(store);
    store.append = (batch) => {
      appended.push(...batch.map((item) => item.event.clientSeq));
      return append(batch);
    };
    const { client } = await setup({ authorize, store });
    const a = await client('alice', 'client-a');
    expect((await push(a.socket, [makeEvent('client-a', 1, { stream: 'fast:1' })])).results).toMatchObject([
      { status: 'ok' },
    ]);
    const first = push(a.socket, [makeEvent('client-a', 2, { stream: 'slow:1' })]);
    const second = push(a.socket, [makeEvent('client-a', 3, { stream: 'fast:1' })]);
    // A pull answered after both pushes were read (a socket's messages are read in order).
    await pull(a.socket);
    await until(() => decide !== undefined, 'the pending decision');
    expect(appended).toEqual([1]);
    decide!(true);
    expect((await first).results).toMatchObject([{ status: 'ok' }]);
    expect((await second).results).toMatchObject([{ status: 'ok' }]);
    expect(appended).toEqual([1, 2, 3]);
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
