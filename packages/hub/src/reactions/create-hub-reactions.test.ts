import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMemoryReactionStore,
  createRegistry,
  defineHandler,
  type DeadLetter,
  type Handler,
  type OutboxMessage,
  type ReactionStore,
  type Saga,
  type Scheduler,
} from '@eventloom/core';
import {
  UUID_V7_PATTERN,
  type CommittedEvent,
  type JsonValue,
  type LiveEvents,
  type PushAck,
} from '@eventloom/protocol';
import { SignJWT } from 'jose';
import type { Socket as ClientSocket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { jwtAuthenticator } from '../hub/authenticator.ts';
import type { Hub } from '../hub/create-hub.ts';
import {
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_SECRET,
  collect,
  makeEvent,
  request,
  signToken,
  silentLogger,
  startTestHub,
  testScope,
  until,
  type TestHub,
} from '../hub/test-kit.ts';
import type { EventStore } from '../store/event-store.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import { createSqliteStore } from '../store/sqlite-store.ts';
import { createHubReactions, type HubReactions } from './create-hub-reactions.ts';
import {
  createHubOutboxRelay,
  type HubOutboxRelayOptions,
  type ReactionRegistry,
} from './hub-outbox-relay.ts';
import { COMPLETED_ORDER, orderSaga, orderServices } from './order-flow.test-fixture.ts';
import { createSqliteReactionStore } from './sqlite-reaction-store.ts';

const scope = testScope();

const auth = jwtAuthenticator({ secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
const admin = {
  auth,
  authorizeAdmin: (_p: unknown, claims: Readonly<Record<string, unknown>>) =>
    Array.isArray(claims['roles']) && claims['roles'].includes('admin'),
};

type Kind = 'memory' | 'sqlite';

interface Rig {
  readonly hub: Hub;
  readonly store: EventStore;
  readonly reactions: HubReactions;
  readonly socket: ClientSocket;
  /** Pushes events of `order.*` types as the client `shop`. */
  push(type: string, data: JsonValue, stream?: string): Promise<PushAck>;
  log(): Promise<CommittedEvent[]>;
}

async function rig(
  kind: Kind,
  options: {
    handlers?: readonly Handler[];
    sagas?: readonly Saga[];
    replayHandlers?: readonly Handler[];
    scheduler?: Scheduler;
  } = {},
): Promise<Rig> {
  let store: EventStore;
  let reactionStore: ReactionStore;
  if (kind === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'eventloom-hub-reactions-'));
    store = await createSqliteStore({ path: join(dir, 'events.db') });
    const sqlite = createSqliteReactionStore({ path: join(dir, 'events.reactions.db') });
    reactionStore = sqlite;
    scope.defer(async () => {
      await sqlite.close();
      await rm(dir, { recursive: true, force: true });
    });
  } else {
    store = await createMemoryStore();
    reactionStore = createMemoryReactionStore();
  }
  const started = await scope.startHub({ store });
  const reactions = await createHubReactions({
    hub: started.hub,
    reactionStore,
    logger: silentLogger,
    admin,
    ...options,
  });
  scope.defer(() => reactions.stop());
  const { socket } = await scope.client(started.url, 'shop', 'shop', []);
  let seq = 0;
  return {
    hub: started.hub,
    store,
    reactions,
    socket,
    push: (type, data, stream = 'orders') =>
      request<PushAck>(socket, 'push', { events: [makeEvent('shop', ++seq, { type, data, stream })] }),
    log: () => readAll(store),
  };
}

async function readAll(store: EventStore): Promise<CommittedEvent[]> {
  const events: CommittedEvent[] = [];
  for (let from = 0; ;) {
    const page = await store.read({ from, limit: 1000 });
    events.push(...page.events);
    if (page.until >= page.head) return events;
    from = page.until;
  }
}

function typesOf(events: readonly CommittedEvent[], orderId: string): string[] {
  return events.filter((e) => (e.data as { orderId?: string }).orderId === orderId).map((e) => e.type);
}

async function adminToken(sub = 'ops', roles: string[] = ['admin'], secret = TEST_SECRET): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(TEST_ISSUER)
    .setAudience(TEST_AUDIENCE)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

async function call(
  hub: Hub,
  method: string,
  path: string,
  options: { token?: string | null; body?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = options.token === undefined ? await adminToken() : options.token;
  const response = await fetch(`${hub.url}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe.each<Kind>(['memory', 'sqlite'])(
  'a three-step saga with compensations on the hub (%s stores)',
  (kind) => {
    it('completes: each step once, what it emitted in the log and broadcast to subscribers', async () => {
      const r = await rig(kind, { handlers: orderServices(), sagas: [orderSaga] });
      const { socket: watcher } = await scope.client(r.hub.url, 'watcher', 'watcher', ['orders']);
      const live = collect<LiveEvents>(watcher, 'events');
      await r.push('order.placed', { orderId: 'o1' });
      await r.reactions.settled();
      const log = await r.log();
      expect(typesOf(log, 'o1')).toEqual([...COMPLETED_ORDER]);
      const emitted = log.filter((e) => e.clientId === 'eventloom-hub');
      expect(emitted).toHaveLength(COMPLETED_ORDER.length - 1);
      // Traced to the order, stamped with the hub's principal, kinds kept.
      const placed = log[0]!;
      for (const event of emitted) {
        expect(event.meta.correlationId).toBe(placed.id);
        expect(event.meta.principal).toEqual({ sub: 'eventloom-hub', iss: 'eventloom-hub' });
      }
      expect(emitted.find((e) => e.type === 'stock.reserve')?.kind).toBe('command');
      expect(emitted.map((e) => e.clientSeq)).toEqual(emitted.map((_, i) => i + 1));
      await until(() => live.flatMap((m) => m.events).length === log.length, 'live events');
      expect(live.flatMap((m) => m.events).map((e) => e.id)).toEqual(log.map((e) => e.id));
      const [instance] = await r.reactions.runner.sagaInstances({ saga: 'order' });
      expect(instance).toMatchObject({ status: 'done', state: { steps: 4 } });
    });

    it.each([
      ['stock', ['order.cancelled']],
      ['payment', ['stock.release', 'order.cancelled']],
      ['shipment', ['payment.refund', 'stock.release', 'order.cancelled']],
    ] as const)(
      'fails at %s: the compensations of the completed steps run once, in reverse',
      async (failAt, undo) => {
        const r = await rig(kind, { handlers: orderServices(), sagas: [orderSaga] });
        await r.push('order.placed', { orderId: 'o2', failAt });
        await r.reactions.settled();
        const types = typesOf(await r.log(), 'o2');
        const failedAt = types.indexOf(`${failAt}.failed`);
        expect(failedAt).toBeGreaterThan(0);
        expect(types.slice(failedAt + 1)).toEqual(undo);
        for (const type of undo) expect(types.filter((t) => t === type)).toHaveLength(1);
        expect(types).not.toContain('order.completed');
        const [instance] = await r.reactions.runner.sagaInstances({ saga: 'order' });
        expect(instance).toMatchObject({ status: 'compensated', failure: { reason: expect.any(String) } });
        // Nothing more happens later: a second settle finds the same log.
        await r.reactions.settled();
        expect(typesOf(await r.log(), 'o2')).toEqual(types);
      },
    );
  },
);

describe('hub reactions: retries, dead letters and the admin endpoints', () => {
  /** A handler that fails while `failing` is true, and counts its successful runs per event. */
  function flaky(name: string, state: { failing: boolean; applied: string[] }): Handler {
    return defineHandler({
      name,
      on: 'order.placed',
      retry: { attempts: 3, backoff: { initialMs: 5, factor: 2, maxMs: 100 } },
      handle(event, ctx) {
        if (state.failing) throw new Error(`${name} is down (attempt ${ctx.attempt})`);
        state.applied.push(event.id);
        ctx.emit({
          type: 'invoice.sent',
          data: { by: name, orderId: (event.data as { orderId: string }).orderId },
        });
      },
    });
  }

  /** Real timers that also note each delay asked for. */
  function recordingScheduler(delays: number[]): Scheduler {
    return {
      now: () => Date.now(),
      schedule(delayMs, task) {
        delays.push(delayMs);
        const timer = setTimeout(task, delayMs);
        return () => clearTimeout(timer);
      },
    };
  }

  it('retries with backoff, dead-letters, shows it; a retry applies once; a replay never applies twice', async () => {
    const invoice = { failing: true, applied: [] as string[] };
    const audit = { failing: true, applied: [] as string[] };
    const delays: number[] = [];
    const r = await rig('sqlite', {
      handlers: [flaky('send-invoice', invoice), flaky('audit', audit)],
      scheduler: recordingScheduler(delays),
    });
    const ack = await r.push('order.placed', { orderId: 'o3' });
    const eventId = (ack.results[0] as { id: string }).id;
    await r.reactions.settled();
    // Three attempts each, 5 then 10 ms apart.
    expect(delays.filter((d) => d === 5)).toHaveLength(2);
    expect(delays.filter((d) => d === 10)).toHaveLength(2);

    const listed = await call(r.hub, 'GET', '/admin/dead-letters');
    expect(listed.status).toBe(200);
    const letters = listed.body['deadLetters'] as DeadLetter[];
    expect(letters.map((l) => l.id).sort()).toEqual([`audit/${eventId}`, `send-invoice/${eventId}`]);
    const letter = letters.find((l) => l.handler === 'send-invoice')!;
    expect(letter).toMatchObject({
      attempts: 3,
      error: { name: 'Error', message: 'send-invoice is down (attempt 3)', stack: expect.any(String) },
      event: { id: eventId, position: 1 },
    });
    expect(Date.parse(letter.lastFailedAt)).toBeGreaterThanOrEqual(Date.parse(letter.firstFailedAt));
    const one = await call(r.hub, 'GET', `/admin/dead-letters/${encodeURIComponent(letter.id)}`);
    expect(one).toMatchObject({ status: 200, body: { deadLetter: { id: letter.id } } });

    // Still failing: the retry fails again, counted.
    const again = await call(r.hub, 'POST', `/admin/dead-letters/${encodeURIComponent(letter.id)}/retry`);
    expect(again).toMatchObject({ status: 200, body: { outcome: { status: 'failed' } } });
    expect(await r.reactions.deadLetters.list()).toContainEqual(
      expect.objectContaining({ id: letter.id, attempts: 4 }),
    );

    invoice.failing = false;
    const retried = await call(r.hub, 'POST', `/admin/dead-letters/${encodeURIComponent(letter.id)}/retry`);
    expect(retried).toMatchObject({ status: 200, body: { outcome: { id: letter.id, status: 'applied' } } });
    await r.reactions.settled();
    expect(invoice.applied).toEqual([eventId]);
    expect((await r.log()).filter((e) => e.type === 'invoice.sent')).toHaveLength(1);

    // Replaying audit's letter into send-invoice, which applied the event already: nothing runs.
    const replayed = await call(
      r.hub,
      'POST',
      `/admin/dead-letters/${encodeURIComponent(`audit/${eventId}`)}/replay`,
      {
        body: JSON.stringify({ handler: 'send-invoice' }),
      },
    );
    expect(replayed).toMatchObject({ status: 200, body: { outcome: { status: 'duplicate' } } });
    expect(invoice.applied).toEqual([eventId]);
    // The retried letter is gone: retrying it again is 404, and applies nothing.
    const gone = await call(r.hub, 'POST', `/admin/dead-letters/${encodeURIComponent(letter.id)}/retry`);
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'not-found' } } });
    await r.reactions.settled();
    expect((await r.log()).filter((e) => e.type === 'invoice.sent')).toHaveLength(1);
    expect(await r.reactions.deadLetters.size()).toBe(0);
  });

  it('runs two replays of one letter sent at once only once, and retry-all and discard work', async () => {
    const invoice = { failing: true, applied: [] as string[] };
    const fallback = { failing: false, applied: [] as string[] };
    const r = await rig('sqlite', {
      handlers: [flaky('send-invoice', invoice)],
      replayHandlers: [flaky('send-invoice-v2', fallback)],
    });
    for (const orderId of ['a', 'b', 'c']) await r.push('order.placed', { orderId });
    await r.reactions.settled();
    const letters = await r.reactions.deadLetters.list();
    expect(letters).toHaveLength(3);
    const [first, second, third] = letters.map((l) => encodeURIComponent(l.id));
    const body = JSON.stringify({ handler: 'send-invoice-v2' });
    const both = await Promise.all([
      call(r.hub, 'POST', `/admin/dead-letters/${first}/replay`, { body }),
      call(r.hub, 'POST', `/admin/dead-letters/${first}/replay`, { body }),
    ]);
    expect(both.map((b) => b.status).sort((a, b) => a - b)).toEqual([200, 404]);
    expect(fallback.applied).toEqual([letters[0]!.event!.id]);

    const discarded = await call(r.hub, 'DELETE', `/admin/dead-letters/${second}`);
    expect(discarded).toMatchObject({ status: 200, body: { discarded: letters[1]!.id } });
    expect(await call(r.hub, 'DELETE', `/admin/dead-letters/${second}`)).toMatchObject({ status: 404 });

    invoice.failing = false;
    const all = await call(r.hub, 'POST', '/admin/dead-letters/retry');
    expect(all).toMatchObject({
      status: 200,
      body: { outcomes: [{ id: decodeURIComponent(third!), status: 'applied' }] },
    });
    await r.reactions.settled();
    expect(invoice.applied).toEqual([letters[2]!.event!.id]);
    expect(
      (await r.log()).filter((e) => e.type === 'invoice.sent').map((e) => (e.data as { by: string }).by),
    ).toEqual(['send-invoice-v2', 'send-invoice']);
  });

  it('answers bad admin input with 400, 404 or 405 and a coded error', async () => {
    const r = await rig('memory', { handlers: [flaky('send-invoice', { failing: true, applied: [] })] });
    await r.push('order.placed', { orderId: 'x' });
    await r.reactions.settled();
    const [letter] = await r.reactions.deadLetters.list();
    const path = `/admin/dead-letters/${encodeURIComponent(letter!.id)}`;
    expect(await call(r.hub, 'POST', `${path}/replay`)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid' } },
    });
    expect(await call(r.hub, 'POST', `${path}/replay`, { body: '{"handler":' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid', message: 'the body is not JSON' } },
    });
    expect(await call(r.hub, 'POST', `${path}/replay`, { body: '{"handler":"nope"}' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid', message: expect.stringContaining('no handler "nope"') } },
    });
    expect(await call(r.hub, 'POST', '/admin/dead-letters/%E0%A4%A/retry')).toMatchObject({ status: 400 });
    expect(await call(r.hub, 'PUT', path)).toMatchObject({
      status: 405,
      body: { error: { code: 'method-not-allowed' } },
    });
    expect(await call(r.hub, 'GET', '/admin/dead-letters/nope')).toMatchObject({ status: 404 });
    expect(await call(r.hub, 'GET', `${path}/frobnicate`)).toMatchObject({ status: 404 });
    expect(await r.reactions.deadLetters.size()).toBe(1);
  });

  it('refuses requests without a token, with a bad or expired one (401), and of non-admins (403)', async () => {
    const r = await rig('memory');
    const list = (token: string | null, header?: string) =>
      header === undefined
        ? call(r.hub, 'GET', '/admin/dead-letters', { token })
        : fetch(`${r.hub.url}/admin/dead-letters`, { headers: { authorization: header } }).then(
            async (res) => ({
              status: res.status,
              body: (await res.json()) as Record<string, unknown>,
            }),
          );
    const unauthenticated = { status: 401, body: { error: { code: 'unauthenticated' } } };
    expect(await list(null)).toMatchObject(unauthenticated);
    expect(await list(null, 'Basic b3BzOm9wcw==')).toMatchObject(unauthenticated);
    expect(
      await list(await adminToken('ops', ['admin'], 'another-secret-that-is-at-least-32-bytes!')),
    ).toMatchObject({
      ...unauthenticated,
      body: { error: { message: 'token signature invalid' } },
    });
    expect(
      await list(await signToken('ops', { expiresAt: Math.floor(Date.now() / 1000) - 60 })),
    ).toMatchObject(unauthenticated);
    const response = await fetch(`${r.hub.url}/admin/dead-letters`);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await response.body?.cancel();
    expect(await list(await adminToken('alice', ['user']))).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden' } },
    });
    expect(await list(await signToken('alice'))).toMatchObject({ status: 403 });
    expect(await list(await adminToken())).toMatchObject({ status: 200, body: { deadLetters: [] } });
    // Retry, replay and discard are guarded the same way.
    expect(await call(r.hub, 'POST', '/admin/dead-letters/retry', { token: null })).toMatchObject({
      status: 401,
    });
    expect(
      await call(r.hub, 'DELETE', '/admin/dead-letters/x', { token: await signToken('alice') }),
    ).toMatchObject({
      status: 403,
    });
  });
});

describe('hub reactions: metrics', () => {
  it('reports handler lag, dead letters and saga instances by status on /metrics', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = defineHandler({
      name: 'slow',
      on: 'order.placed',
      checkpointEvery: 1,
      async handle() {
        await gate;
      },
    });
    const broken = defineHandler({
      name: 'broken',
      on: (e) => e.type === 'order.placed' && (e.data as { orderId: string }).orderId === 'o1',
      retry: { attempts: 1, backoff: { initialMs: 0, factor: 1, maxMs: 0 } },
      handle() {
        throw new Error('broken');
      },
    });
    const r = await rig('sqlite', { handlers: [slow, broken, ...orderServices()], sagas: [orderSaga] });
    scope.defer(() => release());
    await r.push('order.placed', { orderId: 'o1' });
    await r.push('order.placed', { orderId: 'o2', failAt: 'payment' });
    // Everything but `slow` catches up: both sagas end, every other reaction reaches the head.
    for (;;) {
      const head = await r.store.head();
      const types = (await r.log()).map((e) => e.type);
      const others = [...r.reactions.runner.checkpoints()].filter(([name]) => name !== 'slow');
      if (
        types.includes('order.completed') &&
        types.includes('order.cancelled') &&
        others.every(([, p]) => p === head)
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const scrape = async () => {
      const response = await fetch(`${r.hub.url}/metrics`);
      return response.text();
    };
    let text = await scrape();
    expect(text).toContain('eventloom_hub_dead_letters 1');
    const head = await r.store.head();
    expect(text).toMatch(new RegExp(`eventloom_hub_reaction_lag_events\\{reaction="slow"\\} ${head}\\b`));
    release();
    await r.reactions.settled();
    text = await scrape();
    expect(text).toContain('eventloom_hub_reaction_lag_events{reaction="slow"} 0');
    expect(text).toContain('eventloom_hub_reaction_lag_events{reaction="order"} 0');
    expect(text).toContain('eventloom_hub_saga_instances{saga="order",status="done"} 1');
    expect(text).toContain('eventloom_hub_saga_instances{saga="order",status="compensated"} 1');
    expect(text).toContain('eventloom_hub_saga_instances{saga="order",status="active"} 0');
    // One reaction runtime per hub.
    await expect(
      createHubReactions({ hub: r.hub, reactionStore: createMemoryReactionStore(), logger: silentLogger }),
    ).rejects.toMatchObject({
      code: 'config',
    });
  });
});

describe('hub reactions: registry, principal', () => {
  it('upcasts stored events for handlers, writes emitted ones at the latest version, and lets the registry refuse them', async () => {
    // A core EventRegistry is a ReactionRegistry.
    const coreRegistry: ReactionRegistry = createRegistry([]);
    expect(coreRegistry.latestVersion?.('order.placed')).toBeUndefined();
    const registry: ReactionRegistry = {
      latestVersion: (type) => (type === 'order.noted' ? 3 : 1),
      validate: (event) =>
        event.type === 'order.noted' && (event.data as { bad?: boolean }).bad === true
          ? { ok: false, error: { code: 'invalid', message: 'bad note', path: 'data' } }
          : { ok: true, value: event },
      upcast: (event) =>
        event.type === 'order.placed' && event.version === 1
          ? { ok: true, value: { version: 2, data: { ...(event.data as object), upcast: true } } }
          : { ok: true, value: event },
    };
    const seen: unknown[] = [];
    const noter = defineHandler({
      name: 'noter',
      on: 'order.placed',
      handle(event, ctx) {
        seen.push({ version: event.version, data: event.data });
        ctx.emit({
          type: 'order.noted',
          data: { bad: (event.data as { orderId: string }).orderId === 'bad' },
        });
      },
    });
    const { hub, store } = await scope.startHub();
    const reactions = await createHubReactions({
      hub,
      reactionStore: createMemoryReactionStore(),
      handlers: [noter],
      registry,
      logger: silentLogger,
    });
    scope.defer(() => reactions.stop());
    await hub.append([
      { event: makeEvent('shop', 1, { type: 'order.placed', data: { orderId: 'good' } }) },
      { event: makeEvent('shop', 2, { type: 'order.placed', data: { orderId: 'bad' } }) },
    ]);
    await reactions.settled();
    expect(seen).toEqual([
      { version: 2, data: { orderId: 'good', upcast: true } },
      { version: 2, data: { orderId: 'bad', upcast: true } },
    ]);
    const noted = (await readAll(store)).filter((e) => e.type === 'order.noted');
    expect(noted.map((e) => [e.version, e.data])).toEqual([[3, { bad: false }]]);
    expect(await hub.metrics.registry.getSingleMetricAsString('eventloom_hub_rejections_total')).toContain(
      'eventloom_hub_rejections_total{code="invalid"} 1',
    );
  });

  it('keeps its client id to itself: a client cannot say hello as eventloom-hub', async () => {
    const r = await rig('memory');
    const { welcome } = await scope.client(r.hub.url, 'mallory', 'eventloom-hub');
    expect(welcome).toMatchObject({ error: { code: 'unauthorized' } });
  });
});

describe('hub reactions: the outbox relay', () => {
  function message(n: number, type = 'order.noted'): OutboxMessage {
    return {
      id: `emitter/e1/${n}`,
      source: 'emitter',
      draft: {
        type,
        data: { n },
        stream: 'orders',
        kind: 'domain',
        meta: { correlationId: 'c1', causationId: 'e1' },
      },
      createdAt: '2026-11-27T10:00:00.000Z',
    };
  }

  /** The relay of the hub's own client, appending through `hub`, with a memory reaction store. */
  async function relayOf({ hub, store }: TestHub, onRefused?: HubOutboxRelayOptions['onRefused']) {
    return createHubOutboxRelay({
      store,
      append: (items) => hub.append(items),
      reactionStore: createMemoryReactionStore(),
      hubId: await store.hubId(),
      clientId: 'eventloom-hub',
      principal: { sub: 'eventloom-hub', iss: 'eventloom-hub' },
      maxEventBytes: hub.limits.maxEventBytes,
      logger: silentLogger,
      ...(onRefused === undefined ? {} : { onRefused }),
    });
  }

  it('makes one event of a message delivered twice, a batch delivered again with more included', async () => {
    const started = await scope.startHub();
    const { store } = started;
    const relay = await relayOf(started);
    await relay.deliver([message(0), message(1)]);
    // The outbox delete was lost (a crash): the same batch comes again, now with a third message.
    await relay.deliver([message(0), message(1), message(2)]);
    await relay.deliver([message(2)]);
    const log = await readAll(store);
    expect(log.map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2]);
    expect(log.map((e) => e.clientSeq)).toEqual([1, 2, 3]);
    expect(new Set(log.map((e) => e.id)).size).toBe(3);
    for (const event of log) expect(event.id).toMatch(UUID_V7_PATTERN);
  });

  it('refuses a draft that is no valid event for good, under its seq, and appends the others', async () => {
    const started = await scope.startHub();
    const { store } = started;
    const refused: string[] = [];
    const relay = await relayOf(started, (m, result) => refused.push(`${m.id} ${result.code}`));
    await relay.deliver([message(0, 'not a type!'), message(1)]);
    await relay.deliver([message(0, 'not a type!'), message(1)]);
    expect((await readAll(store)).map((e) => (e.data as { n: number }).n)).toEqual([1]);
    expect(refused).toEqual(['emitter/e1/0 invalid', 'emitter/e1/0 invalid']);
    expect(await store.client('eventloom-hub')).toMatchObject({ lastClientSeq: 2 });
  });

  it('fails a delivery the hub cannot take (closing), so the outbox keeps it', async () => {
    const started = await startTestHub();
    const relay = await relayOf(started);
    await started.hub.close();
    await expect(relay.deliver([message(0)])).rejects.toMatchObject({ code: 'store' });
  });
});
