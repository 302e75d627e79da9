import { randomUUID } from 'node:crypto';
import { decodeNotify, ErrorCode, type Notify } from '@eventloom/protocol';
import type { Logger } from 'pino';
import type { CrossNode, HubContext, ReadySession } from './hub-context.ts';
import type { HubCluster } from './hub-options.ts';
import { NotifyRoutes, routeOfMessage, type NotifyBus } from './notify-routes.ts';

/** Why a notify reached this node's clients only. */
export interface NotifyShortfall {
  readonly code: typeof ErrorCode.unavailable;
  readonly message: string;
}

/**
 * Hands a notification (or a query, or a reply) to every ready session of this node that should
 * see it (its own checks: subscription or `to`, `authorize`, slow consumer), except `from`, then,
 * on a cluster, to the nodes listening on its route (see {@link CrossNodeNotify}), each of which
 * does the same with its own sessions. Events never take this path: every node reads them from
 * the log. Resolves with why the other nodes could not be told (the cluster's bus is down), or
 * undefined.
 */
export async function relayNotify(
  ctx: Pick<HubContext, 'ready' | 'cluster' | 'crossNode'>,
  from: ReadySession | undefined,
  message: Notify,
): Promise<NotifyShortfall | undefined> {
  await deliverLocally(ctx, from, message);
  const { cluster, crossNode } = ctx;
  if (cluster === undefined || crossNode === undefined) return undefined;
  if (!cluster.isUp()) {
    return {
      code: ErrorCode.unavailable,
      message: `notify reached this node's clients only: ${cluster.name} is unreachable`,
    };
  }
  crossNode.publish(message);
  return undefined;
}

/** Delivers a notification to this node's ready sessions, each judged by its own checks. */
export async function deliverLocally(
  ctx: Pick<HubContext, 'ready'>,
  from: ReadySession | undefined,
  message: Notify,
): Promise<void> {
  for (const session of ctx.ready) {
    if (session !== from) await session.deliverNotify(message);
  }
}

/** How long a session's `hello` waits at most for the bus to listen on its routes, in ms. */
const OPEN_WAIT_MS = 2_000;

/** Notifications another node published recently, remembered to drop the copies of one. */
const RECENT_IDS = 64;

/**
 * The notifications of one node of a cluster, per route rather than to every node: the node
 * listens on the routes its sessions need (their streams, prefixes and client ids: see
 * `NotifyRoutes`), and publishes each notification once, on its stream or its `to`, so that only
 * the nodes with a session that may receive it are told. On receipt a node runs every
 * per-recipient check itself ({@link deliverLocally}): a route picks nodes, never sockets.
 *
 * A node that listens on a stream and on a prefix of it receives one message twice: each carries
 * the sender's node id and a counter, and the copies are dropped (as is a node's own message).
 */
export class CrossNodeNotify implements CrossNode {
  readonly #node = randomUUID();
  readonly #cluster: HubCluster;
  readonly #bus: NotifyBus;
  readonly #routes: NotifyRoutes;
  #sent = 0;
  readonly #recent: string[] = [];

  constructor(cluster: HubCluster, ctx: () => Pick<HubContext, 'ready'>, logger: Logger) {
    this.#cluster = cluster;
    this.#bus = cluster.notifications((payload) => {
      const received = this.#accept(payload);
      if (received === undefined) return;
      void deliverLocally(ctx(), undefined, received).catch((error: unknown) =>
        logger.warn({ err: error }, 'a notification from another node could not be delivered'),
      );
    });
    this.#routes = new NotifyRoutes(this.#bus);
  }

  /** Routes this node listens on now. */
  get routes(): number {
    return this.#routes.size;
  }

  /**
   * Sets what a session needs (at `hello`, and when its subscriptions change). Resolves when the
   * bus listens on its routes, at once while the bus is down (the session must not wait for it),
   * and after {@link OPEN_WAIT_MS} at most.
   */
  track(session: object, clientId: string, subscriptions: readonly string[]): Promise<void> {
    const opened = this.#routes.track(session, clientId, subscriptions);
    if (!this.#cluster.isUp()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, OPEN_WAIT_MS);
      timer.unref?.();
      void opened.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Forgets a session that disconnected. */
  untrack(session: object): void {
    this.#routes.untrack(session);
  }

  /** Publishes a notification (delivered here already) on its route. */
  publish(message: Notify): void {
    const payload: CrossNodeMessage = { node: this.#node, n: ++this.#sent, message };
    this.#bus.publish(routeOfMessage(message), JSON.stringify(payload));
  }

  /** The notification a payload carries, or undefined for one of ours, a copy, or garbage. */
  #accept(payload: string): Notify | undefined {
    let parsed: Partial<CrossNodeMessage>;
    try {
      parsed = JSON.parse(payload) as Partial<CrossNodeMessage>;
    } catch {
      return undefined;
    }
    if (typeof parsed.node !== 'string' || typeof parsed.n !== 'number') return undefined;
    if (parsed.node === this.#node) return undefined;
    const id = `${parsed.n}@${parsed.node}`;
    if (this.#recent.includes(id)) return undefined;
    this.#recent.push(id);
    if (this.#recent.length > RECENT_IDS) this.#recent.shift();
    const decoded = decodeNotify(parsed.message);
    return decoded.ok ? decoded.value : undefined;
  }
}

/** What nodes publish to each other: the sender, its counter, the notification. */
interface CrossNodeMessage {
  readonly node: string;
  readonly n: number;
  readonly message: Notify;
}
