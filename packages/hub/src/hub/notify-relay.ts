import { ErrorCode, type Notify } from '@eventloom/protocol';
import type { HubContext, ReadySession } from './hub-context.ts';

/** The server-side event a node sends the others (through the cluster's adapter) for each notify. */
export const CLUSTER_NOTIFY_EVENT = 'eventloom:notify';

/** Why a notify reached this node's clients only. */
export interface NotifyShortfall {
  readonly code: typeof ErrorCode.unavailable;
  readonly message: string;
}

/**
 * Hands a notification (or a query, or a reply) to every ready session of this node that should
 * see it (its own checks: subscription or `to`, `authorize`, slow consumer), except `from`, then,
 * on a cluster, to every other node, which does the same with its own sessions. Events never take
 * this path: every node reads them from the log. Resolves with why the other nodes could not be
 * told (the cluster's bus is down), or undefined.
 */
export async function relayNotify(
  ctx: Pick<HubContext, 'ready' | 'io' | 'cluster' | 'logger'>,
  from: ReadySession | undefined,
  message: Notify,
): Promise<NotifyShortfall | undefined> {
  await deliverLocally(ctx, from, message);
  const cluster = ctx.cluster;
  if (cluster === undefined) return undefined;
  if (!cluster.isUp()) {
    return {
      code: ErrorCode.unavailable,
      message: `notify reached this node's clients only: ${cluster.name} is unreachable`,
    };
  }
  ctx.io.serverSideEmit(CLUSTER_NOTIFY_EVENT, message);
  return undefined;
}

/** Delivers a notification another node relayed (it was checked there) to this node's sessions. */
export async function deliverLocally(
  ctx: Pick<HubContext, 'ready'>,
  from: ReadySession | undefined,
  message: Notify,
): Promise<void> {
  for (const session of ctx.ready) {
    if (session !== from) await session.deliverNotify(message);
  }
}
