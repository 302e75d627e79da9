import {
  createReactionRunner,
  type DeadLetterQueue,
  type Handler,
  type ReactionRunner,
  type ReactionStore,
  type Saga,
  type SagaStatus,
  type Scheduler,
} from '@eventloom/core';
import type { CommittedEvent, Principal } from '@eventloom/protocol';
import { pino, type Logger } from 'pino';
import type { Hub } from '../hub/create-hub.ts';
import { principalKey } from '../hub/principal-key.ts';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import { hubEventFeed } from './hub-event-feed.ts';
import { createHubOutboxRelay, RELAY_CHECKPOINT, type ReactionRegistry } from './hub-outbox-relay.ts';
import { reactionAdminHandler, type ReactionAdminOptions } from './reaction-admin-handler.ts';
import { registerReactionMetrics } from './reaction-metrics.ts';
import type { SagaCount, SqliteReactionStore } from './sqlite-reaction-store.ts';

/** The client id the hub's emitted events are written under, unless told otherwise. */
export const HUB_REACTIONS_CLIENT_ID = 'eventloom-hub';

/** What {@link createHubReactions} takes. */
export interface HubReactionsOptions {
  /** The running hub: its log is the feed, its sequencer takes what reactions emit. */
  readonly hub: Hub;
  /** Checkpoints, dead letters, sagas, timeouts, outbox: `createSqliteReactionStore`, or core's `createMemoryReactionStore`. */
  readonly reactionStore: ReactionStore | SqliteReactionStore;
  /** Handlers (any core `Handler`: `defineHandler`, command handlers, relays…). */
  readonly handlers?: readonly Handler[];
  readonly sagas?: readonly Saga[];
  /** Handlers a dead letter may be replayed into besides `handlers` (fallbacks), not run on the log. */
  readonly replayHandlers?: readonly Handler[];
  /** For the version of emitted events and upcasting stored ones: the hub's `EventRegistry`. */
  readonly registry?: ReactionRegistry;
  /** The dead-letter admin endpoints on the hub's HTTP server; off without it. */
  readonly admin?: ReactionAdminOptions;
  /** The client id emitted events are written under (default `eventloom-hub`); bound to the hub's own principal. */
  readonly clientId?: string;
  readonly logger?: Logger;
  /** Default: real timers (unref'd) and `Date.now`. */
  readonly scheduler?: Scheduler;
  readonly random?: () => number;
  readonly dedupeWindow?: number;
  /** Events per page each reaction reads from the log; default 500. What a reaction holds: see `hubEventFeed`. */
  readonly pageSize?: number;
}

/** The reactions running on a hub. */
export interface HubReactions {
  readonly runner: ReactionRunner;
  readonly deadLetters: DeadLetterQueue;
  /** The principal written into the `meta` of emitted events. */
  readonly principal: Principal;
  /**
   * Resolves once every handler and saga has caught up with the log head and what they emitted is
   * in the log and caught up with in turn (for tests and graceful shutdown).
   */
  settled(): Promise<void>;
  /** Stops the runner (the reactions in progress finish), the admin endpoints and the metrics. */
  stop(): Promise<void>;
}

/**
 * Runs handlers and sagas of `@eventloom/core` on the hub (DESIGN.md §7): over the committed log in
 * position order, waking on each commit; what they emit goes through the reaction store's outbox
 * into the hub's own log (idempotently) and is broadcast like any pushed event. Adds the reaction
 * metrics to `/metrics` and, with `admin`, the dead-letter admin endpoints.
 *
 * Run it once per log: with several hub processes on one database, only the one holding a lock
 * (e.g. a Postgres advisory lock) may run it; two would react twice.
 *
 * @example
 * const hub = await createHub({ store, auth, port: 8080 });
 * const reactions = await createHubReactions({
 *   hub,
 *   reactionStore: createSqliteReactionStore({ path: 'data/events.reactions.db' }),
 *   handlers: [sendInvoice],
 *   sagas: [checkout],
 *   admin: { auth, authorizeAdmin: (p, claims) => claims['role'] === 'admin' },
 * });
 * // on shutdown: await reactions.stop(); await hub.close(); …
 */
export async function createHubReactions(options: HubReactionsOptions): Promise<HubReactions> {
  const { hub, reactionStore } = options;
  const { store } = hub;
  const handlers = options.handlers ?? [];
  const sagas = options.sagas ?? [];
  const logger = options.logger ?? pino({ name: 'eventloom-hub-reactions' });
  const clientId = options.clientId ?? HUB_REACTIONS_CLIENT_ID;
  for (const { name } of [...handlers, ...sagas]) {
    if (name === RELAY_CHECKPOINT) throw new HubError(HubErrorCode.config, `${name} is a reserved name`);
  }
  const principal: Principal = { sub: clientId, iss: 'eventloom-hub' };
  let hubId: string;
  let head: number;
  try {
    [hubId, head] = await Promise.all([store.hubId(), store.head()]);
    if (!(await store.bindClient(clientId, principalKey(principal)))) {
      throw new HubError(
        HubErrorCode.config,
        `client id ${clientId} belongs to another principal: give the reactions another clientId`,
      );
    }
  } catch (cause) {
    if (cause instanceof HubError) throw cause;
    throw new HubError(HubErrorCode.store, 'reactions: the event store could not be read', { cause });
  }
  // The store's head, whoever committed: this node, or another node on a shared database.
  const onCommit = (listener: (head: number) => void) => store.watchHead((change) => listener(change.head));
  const unwatchHead = onCommit((position) => {
    if (position > head) head = position;
  });
  const registry = options.registry;
  const upcast =
    registry?.upcast === undefined
      ? undefined
      : (event: CommittedEvent) => {
          const result = registry.upcast!(event);
          return result.ok
            ? {
                ok: true as const,
                value: { ...event, version: result.value.version, data: result.value.data },
              }
            : result;
        };
  const runner = createReactionRunner({
    store: reactionStore,
    feed: hubEventFeed({
      store,
      onCommit,
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      ...(upcast === undefined ? {} : { upcast }),
    }),
    scheduler: options.scheduler ?? realScheduler,
    handlers,
    sagas,
    outbox: createHubOutboxRelay({
      store,
      append: (items) => hub.append(items),
      reactionStore,
      hubId,
      clientId,
      principal,
      ...(registry === undefined ? {} : { registry }),
      maxEventBytes: hub.limits.maxEventBytes,
      logger,
      onRefused: (_message, result) => hub.metrics.rejections.inc({ code: result.code }),
    }),
    ...(options.random === undefined ? {} : { random: options.random }),
    ...(options.dedupeWindow === undefined ? {} : { dedupeWindow: options.dedupeWindow }),
  });
  const errors = runner.errors$.subscribe((error) =>
    logger.error({ err: error, code: error.code }, 'reactions: a reaction could not run; it will try again'),
  );
  const sagaCounts = (): Promise<readonly SagaCount[]> =>
    'sagaCounts' in reactionStore ? reactionStore.sagaCounts() : countSagas(runner);
  let removeMetrics: () => void = () => undefined;
  let removeAdmin: () => void = () => undefined;
  try {
    removeMetrics = registerReactionMetrics(hub.metrics.registry, {
      runner,
      head: () => head,
      sagas: sagas.map((s) => s.name),
      sagaCounts,
    });
    await runner.start();
  } catch (error) {
    removeMetrics();
    unwatchHead();
    errors.unsubscribe();
    await runner.stop();
    throw error;
  }
  if (options.admin !== undefined) {
    const replayHandlers = new Map([...handlers, ...(options.replayHandlers ?? [])].map((h) => [h.name, h]));
    removeAdmin = hub.addRequestHandler(
      reactionAdminHandler(options.admin, { deadLetters: runner.deadLetters, replayHandlers, logger }),
    );
  }
  logger.info(
    {
      handlers: handlers.map((h) => h.name),
      sagas: sagas.map((s) => s.name),
      clientId,
      admin: options.admin !== undefined,
    },
    'reactions started',
  );
  let stopped: Promise<void> | undefined;
  return {
    runner,
    deadLetters: runner.deadLetters,
    principal,
    async settled() {
      for (;;) {
        const position = await store.head();
        await runner.settled(position);
        if ((await store.head()) === position) return;
      }
    },
    stop() {
      stopped ??= (async () => {
        removeAdmin();
        await runner.stop();
        unwatchHead();
        removeMetrics();
        errors.unsubscribe();
        logger.info('reactions stopped');
      })();
      return stopped;
    },
  };
}

/** Timers that never keep the process alive on their own: the server does. */
const realScheduler: Scheduler = {
  now: () => Date.now(),
  schedule(delayMs, task) {
    const timer = setTimeout(task, delayMs);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

async function countSagas(runner: ReactionRunner): Promise<SagaCount[]> {
  const counts = new Map<string, SagaCount>();
  for (const { saga, status } of await runner.sagaInstances()) {
    const key = `${saga}\u0000${status}`;
    const count = counts.get(key)?.count ?? 0;
    counts.set(key, { saga, status: status satisfies SagaStatus, count: count + 1 });
  }
  return [...counts.values()];
}
