import { decodePullResult, ErrorCode, MessageName } from '@eventloom/protocol';
import type { SerialQueue } from '../serial-queue.ts';
import { issueError } from './session-errors.ts';
import type { SessionHost } from './session-host.ts';

/** What {@link pullHistory} needs of the session that runs it. */
export interface HistoryContext {
  readonly host: SessionHost;
  /** The session's queue of confirmed events. */
  readonly inbound: SerialQueue;
  /** Sends a request and resolves with the hub's answer. */
  request(name: string, payload: unknown): Promise<unknown>;
}

/**
 * Pulls the history of streams `added` to the subscriptions, from position 0 up to `bound` (the
 * position the log has reached), inserts it (`insertHistory`), and records `desired` as the
 * log's coverage with the last page. A stream the principal may not pull is reported and skipped.
 */
export async function pullHistory(
  ctx: HistoryContext,
  added: readonly string[],
  desired: readonly string[],
  bound: number,
): Promise<void> {
  const { host } = ctx;
  let from = 0;
  for (;;) {
    const answer = decodePullResult(
      await ctx.request(MessageName.pull, { from, limit: host.config.pullLimit, streams: [...added] }),
    );
    if (!answer.ok) {
      // A stream the principal may not pull has no history to fetch here; the rest carries on.
      if (answer.error.code === ErrorCode.unauthorized) {
        host.report(issueError(answer.error, 'pull'));
        await host.port.writeSyncRecord({ subscriptions: desired });
        return;
      }
      throw issueError(answer.error, 'pull');
    }
    const page = answer.value;
    const last = !page.more || page.until >= bound;
    const older = page.events.filter((e) => e.position <= bound);
    await ctx.inbound.run(async () => {
      const result = await host.port.insertHistory(older, last ? { subscriptions: desired } : {});
      host.received(result.inserted);
    });
    if (last) return;
    from = page.until;
  }
}
