import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMemoryReactionStore,
  type Handler,
  type ReactionStore,
  type Saga,
  type Scheduler,
} from '@eventloom/core';
import type { CommittedEvent, JsonValue, PushAck } from '@eventloom/protocol';
import { SignJWT } from 'jose';
import type { Socket as ClientSocket } from 'socket.io-client';
import { jwtAuthenticator } from '../hub/authenticator.ts';
import type { Hub } from '../hub/create-hub.ts';
import {
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_SECRET,
  makeEvent,
  request,
  silentLogger,
  testScope,
} from '../hub/test-kit.ts';
import type { EventStore } from '../store/event-store.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import { createSqliteStore } from '../store/sqlite-store.ts';
import { createHubReactions, type HubReactions } from './create-hub-reactions.ts';
import { createSqliteReactionStore } from './sqlite-reaction-store.ts';

const auth = jwtAuthenticator({ secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
const admin = {
  auth,
  authorizeAdmin: (_p: unknown, claims: Readonly<Record<string, unknown>>) =>
    Array.isArray(claims['roles']) && claims['roles'].includes('admin'),
};

export type Kind = 'memory' | 'sqlite';

export interface Rig {
  readonly hub: Hub;
  readonly store: EventStore;
  readonly reactions: HubReactions;
  readonly socket: ClientSocket;
  /** Pushes events of `order.*` types as the client `shop`. */
  push(type: string, data: JsonValue, stream?: string): Promise<PushAck>;
  log(): Promise<CommittedEvent[]>;
}

/**
 * The fixtures the `create-hub-reactions.*.test.ts` files share. Call it once at the top of a test
 * file: its scope cleans up after each test of that file.
 */
export function hubReactionsTestKit() {
  const scope = testScope();

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

  return { scope, rig };
}

export async function readAll(store: EventStore): Promise<CommittedEvent[]> {
  const events: CommittedEvent[] = [];
  for (let from = 0; ;) {
    const page = await store.read({ from, limit: 1000 });
    events.push(...page.events);
    if (page.until >= page.head) return events;
    from = page.until;
  }
}

export function typesOf(events: readonly CommittedEvent[], orderId: string): string[] {
  return events.filter((e) => (e.data as { orderId?: string }).orderId === orderId).map((e) => e.type);
}

export async function adminToken(
  sub = 'ops',
  roles: string[] = ['admin'],
  secret = TEST_SECRET,
): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(TEST_ISSUER)
    .setAudience(TEST_AUDIENCE)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

export async function call(
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
