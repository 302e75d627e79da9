/**
 * Helpers for tests that drive a real hub with real `socket.io-client` sockets. Test-only: the
 * package's entry point does not export it.
 */
import { randomBytes } from 'node:crypto';
import type { EventEnvelope, Welcome } from '@eventloom/protocol';
import { PROTOCOL_VERSION } from '@eventloom/protocol';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach } from 'vitest';
import type { EventStore } from '../store/event-store.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import { jwtAuthenticator } from './authenticator.ts';
import { createHub, type Hub } from './create-hub.ts';
import type { HubOptions } from './hub-options.ts';

/** The HS256 secret test hubs verify with. */
export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';
export const TEST_ISSUER = 'eventloom-test';
export const TEST_AUDIENCE = 'eventloom-hub';

/** Signs a token for `sub` with the test secret, valid for an hour unless told otherwise. */
export async function signToken(
  sub: string,
  options: { secret?: string; audience?: string; issuer?: string; expiresAt?: number } = {},
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(options.issuer ?? TEST_ISSUER)
    .setAudience(options.audience ?? TEST_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

/** A logger that logs nothing, for test hubs and what runs beside them. */
export const silentLogger = pino({ level: 'silent' });

/** What {@link startTestHub} started: the hub, its store, its URL, and `close` for both. */
export interface TestHub {
  readonly hub: Hub;
  readonly store: EventStore;
  readonly url: string;
  close(): Promise<void>;
}

/** A hub on 127.0.0.1 and an ephemeral port, over a memory store unless one is given. */
export async function startTestHub(options: Partial<HubOptions> = {}): Promise<TestHub> {
  const store = options.store ?? (await createMemoryStore());
  const hub = await createHub({
    auth: jwtAuthenticator({ secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
    logger: silentLogger,
    ...options,
    store,
  });
  return {
    hub,
    store,
    url: hub.url,
    async close() {
      await hub.close();
      await store.close();
    },
  };
}

/** What a test file opens, closed after each of its tests; see {@link testScope}. */
export interface TestScope {
  /** Runs each of `cleanups` after the current test, the last deferred first. */
  defer(...cleanups: (() => unknown)[]): void;
  /** {@link startTestHub}, closed after the test. */
  startHub(options?: Partial<HubOptions>): Promise<TestHub>;
  /** A socket of `sub` that said hello as `clientId`, with the answer; disconnected after the test. */
  client(
    url: string,
    sub: string,
    clientId: string,
    subscriptions?: string[],
  ): Promise<{ socket: ClientSocket; welcome: Welcome & { error?: { code: string } } }>;
}

/**
 * Registers an `afterEach` that closes what the calling test file's tests opened. Call it once,
 * at the top of a test file.
 *
 * @example
 * const scope = testScope();
 * it('…', async () => {
 *   const { url } = await scope.startHub();
 *   const { socket } = await scope.client(url, 'alice', 'client-a');
 * });
 */
export function testScope(): TestScope {
  const cleanups: (() => unknown)[] = [];
  // Generous: closing a hub lets its peers finish for up to 2 s, and a test may start several.
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  }, 30_000);
  const defer = (...more: (() => unknown)[]) => void cleanups.push(...more);
  return {
    defer,
    async startHub(options = {}) {
      const started = await startTestHub(options);
      defer(() => started.close());
      return started;
    },
    async client(url, sub, clientId, subscriptions = ['*']) {
      const socket = await connectClient(url, { token: await signToken(sub) });
      defer(() => socket.disconnect());
      const welcome = await hello(socket, clientId, subscriptions);
      return { socket, welcome };
    },
  };
}

/** Connects a socket.io-client (see {@link openClient}; no reconnection) and waits for `connect`. */
export async function connectClient(
  url: string,
  auth: { token?: unknown } | undefined,
  options: ClientOptions = {},
): Promise<ClientSocket> {
  const socket = openClient(url, auth, options);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** How {@link openClient} connects: WebSocket only unless `polling` (long-polling only, never upgraded). */
export interface ClientOptions {
  readonly extraHeaders?: Record<string, string>;
  readonly polling?: boolean;
}

/** Opens a client socket without waiting (for tests of refusals). */
export function openClient(
  url: string,
  auth: { token?: unknown } | undefined,
  options: ClientOptions = {},
): ClientSocket {
  return connect(url, {
    transports: options.polling === true ? ['polling'] : ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(auth === undefined ? {} : { auth: auth as Record<string, unknown> }),
    ...(options.extraHeaders === undefined ? {} : { extraHeaders: options.extraHeaders }),
  });
}

/** The error a connection attempt is refused with. */
export function connectError(socket: ClientSocket): Promise<Error & { data?: { code?: string } }> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but a refusal was expected')));
    socket.once('connect_error', (error) => resolve(error as Error & { data?: { code?: string } }));
  });
}

/** Sends a request and resolves with the hub's ack (fails after 20 s so a hang cannot stall the run). */
export function request<T = Record<string, unknown>>(
  socket: ClientSocket,
  name: string,
  payload: unknown,
): Promise<T> {
  return socket.timeout(20_000).emitWithAck(name, payload) as Promise<T>;
}

/** Says `hello` and resolves with the welcome (or the error reply). */
export function hello(
  socket: ClientSocket,
  clientId: string,
  subscriptions: string[] = ['*'],
  protocol: number = PROTOCOL_VERSION,
): Promise<Welcome & { error?: { code: string } }> {
  return request(socket, 'hello', {
    protocol,
    clientId,
    lastPosition: 0,
    subscriptions,
    schemaFingerprint: null,
  });
}

/** A fresh random UUIDv7. */
export function newEventId(): string {
  const hex = randomBytes(16).toString('hex');
  const variant = '89ab'[Number.parseInt(hex[16]!, 16) % 4]!;
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${hex.slice(0, 3)}-${variant}${hex.slice(3, 6)}-${hex.slice(6, 18)}`;
}

/** A valid envelope of `clientId` at `clientSeq`, with any field overridden. */
export function makeEvent(
  clientId: string,
  clientSeq: number,
  overrides: Partial<EventEnvelope> = {},
): EventEnvelope {
  return {
    id: newEventId(),
    type: 'todo.added',
    version: 1,
    kind: 'domain',
    stream: 'list:1',
    data: { title: `item ${clientSeq}` },
    meta: {},
    clientId,
    clientSeq,
    hlc: `${String(1_732_700_000_000 + clientSeq).padStart(15, '0')}-0000000000-${clientId}`,
    ...overrides,
  };
}

/** Collects what a socket receives on `name`. */
export function collect<T = unknown>(socket: ClientSocket, name: string): T[] {
  const received: T[] = [];
  socket.on(name, (message: T) => received.push(message));
  return received;
}

/** Resolves once `check()` is true, polling on each macrotask turn (fails after 20 s). */
export async function until(check: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
