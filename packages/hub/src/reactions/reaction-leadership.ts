import type { ReactionStore } from '@eventloom/core';
import type { Logger } from 'pino';
import type { ReservedSql } from 'postgres';
import { Gauge, type Registry } from 'prom-client';
import type { PostgresReactionStore } from './postgres-reaction-store.ts';

/** What {@link runReactionsOnce} takes. */
export interface ReactionLeadershipOptions {
  /** The shared reaction store; its pool gives the lock its own connection. */
  readonly store: PostgresReactionStore;
  /** This node's name, as `/metrics` and the lease show it (default host and pid). */
  readonly node: string;
  /** Starts the reactions on the fenced store when this node becomes the runner; `stop` ends them. */
  readonly start: (store: ReactionStore, epoch: number) => Promise<{ stop(): Promise<void> }>;
  /** What runs (handler and saga names), for the metrics. */
  readonly reactions: readonly string[];
  /** The lock's name (default `reactions`): one runner per name per database. */
  readonly lock?: string;
  /** How often a follower tries the lock and the runner checks its connection, in ms (default 1,000). */
  readonly pollMs?: number;
  /**
   * How long the lock's connection may stay silent before Postgres ends it and frees the lock, in
   * ms (default 5,000): a node that stops answering (paused, cut off) loses the lock this long after.
   */
  readonly silenceMs?: number;
  /** `/metrics` gains `eventloom_hub_reaction_runner{reaction, node}` (1 on the node that runs it). */
  readonly metrics?: Registry;
  readonly logger: Logger;
}

/** A node taking part in the election of the reaction runner. */
export interface ReactionLeadership {
  /** Whether this node runs the reactions now. */
  readonly leading: boolean;
  /** Resolves the next time this node becomes the runner (for tests). */
  led(): Promise<void>;
  /** Stops the reactions (if running here), releases the lock, and leaves the election. */
  stop(): Promise<void>;
}

/** The metric of who runs what. */
export const REACTION_RUNNER_METRIC = 'eventloom_hub_reaction_runner';

/**
 * Runs the hub's reactions on exactly one node of a cluster: every node calls this; the one that
 * holds the Postgres advisory lock (`pg_try_advisory_lock`, on a connection of its own) takes the
 * lease (bumping its epoch) and runs them on a store fenced by that epoch, so that a node that lost
 * the lock and did not notice yet (paused, cut off) can no longer write. The others try again every
 * `pollMs`. The lock goes when its connection goes: at once when the node dies, and within
 * `silenceMs` when it stops answering (`idle_session_timeout`), so another node takes over within
 * a few seconds.
 *
 * @example
 * const leadership = runReactionsOnce({ store, node: 'hub-1', reactions: ['send-invoice'], logger,
 *   start: (fenced) => createHubReactions({ hub, reactionStore: fenced, handlers }) });
 */
export function runReactionsOnce(options: ReactionLeadershipOptions): ReactionLeadership {
  const { store, node, logger } = options;
  const lock = options.lock ?? 'reactions';
  const pollMs = options.pollMs ?? 1_000;
  const silenceMs = options.silenceMs ?? 5_000;
  let stopped = false;
  let leading = false;
  let running: { stop(): Promise<void> } | undefined;
  let conn: ReservedSql | undefined;
  let wake: (() => void) | undefined;
  let ledWaiters: (() => void)[] = [];
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const removeMetrics =
    options.metrics === undefined ? () => undefined : registerRunnerMetric(options.metrics, options, lock);

  const demote = async (why: string) => {
    if (leading) logger.warn({ node, lock, why }, 'reactions: this node no longer runs the reactions');
    leading = false;
    const was = running;
    running = undefined;
    await was?.stop().catch((error: unknown) => logger.error({ err: error }, 'reactions: stop failed'));
    const c = conn;
    conn = undefined;
    // A broken connection is dropped; a sound one is released (unlocking first, in case).
    if (c !== undefined) {
      await c`SELECT pg_advisory_unlock_all()`.catch(() => undefined);
      c.release();
    }
  };

  const loop = async () => {
    while (!stopped) {
      try {
        if (conn === undefined) {
          conn = await store.sql.reserve();
          await conn.unsafe(`SET idle_session_timeout = ${Math.max(1, Math.round(silenceMs))}`);
        }
        if (!leading) {
          const [row] = await conn<
            { ok: boolean }[]
          >`SELECT pg_try_advisory_lock(hashtext(${`eventloom:${lock}`})) AS ok`;
          if (row?.ok === true) {
            const epoch = await store.takeLease(lock, node);
            leading = true;
            logger.info({ node, lock, epoch }, 'reactions: this node runs the reactions');
            try {
              running = await options.start(store.fenced(lock, epoch), epoch);
            } catch (error) {
              logger.error({ err: error }, 'reactions: could not start; giving the lock up');
              await demote('start failed');
              await sleep(pollMs);
              continue;
            }
            const waiting = ledWaiters;
            ledWaiters = [];
            for (const resolve of waiting) resolve();
          }
        } else {
          // The heartbeat: an answer keeps the session (and the lock); none means both are gone.
          await conn`SELECT 1`;
        }
      } catch (error) {
        await demote(`the lock's connection failed: ${String(error)}`);
      }
      if (!stopped) await sleep(pollMs);
    }
  };
  const looping = loop();

  return {
    get leading() {
      return leading;
    },
    led() {
      return leading ? Promise.resolve() : new Promise((resolve) => ledWaiters.push(resolve));
    },
    async stop() {
      stopped = true;
      wake?.();
      await looping;
      await demote('stopped');
      removeMetrics();
    },
  };
}

function registerRunnerMetric(
  registry: Registry,
  options: ReactionLeadershipOptions,
  lock: string,
): () => void {
  const { store, reactions } = options;
  if (registry.getSingleMetric(REACTION_RUNNER_METRIC) !== undefined) return () => undefined;
  new Gauge({
    name: REACTION_RUNNER_METRIC,
    help: 'Which node runs each handler and saga of the cluster (1), as the lease in the database says.',
    labelNames: ['reaction', 'node', 'epoch'],
    registers: [registry],
    async collect() {
      this.reset();
      const [row] = await store.sql<{ holder: string; epoch: string }[]>`
        SELECT holder, epoch FROM eventloom_reaction_leases WHERE name = ${lock}`.catch(() => []);
      if (row === undefined) return;
      for (const reaction of reactions) this.set({ reaction, node: row.holder, epoch: row.epoch }, 1);
    },
  });
  return () => registry.removeSingleMetric(REACTION_RUNNER_METRIC);
}
