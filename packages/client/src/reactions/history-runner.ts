import {
  deadLetterId,
  snapshotError,
  type DeadLetter,
  type FoldableEvent,
  type Handler,
  type ReactionStore,
} from '@eventloom/core';
import { ClientError, ClientErrorCode } from '../client-error.ts';

/**
 * Where a handler starts, and what it does with history stored later below its checkpoint (the
 * history of a stream the device subscribes to after the handler passed those positions):
 * - `from-the-beginning` (the default): every confirmed event the device holds, whenever it is
 *   stored. On its first start it handles the log from position 0; history stored later below
 *   its checkpoint is run through it too, once each, in position order, when it arrives.
 * - `from-now`: what is confirmed after it first starts. On its first start its checkpoint is the
 *   device's position; history stored later below its checkpoint is not run through it.
 */
export type HandlerStart = 'from-the-beginning' | 'from-now';

/** The handlers' choices: by handler name, `from-the-beginning` when not named. */
export type HandlerStarts = Readonly<Record<string, HandlerStart>>;

/** The error a history letter waits with until it runs (it stays with the handler's if it fails). */
const WAITING = 'stored below the checkpoint after the handler passed it: waiting to run';

/** The handler's choice, checked. */
export function startOf(starts: HandlerStarts | undefined, handler: string): HandlerStart {
  const start = starts?.[handler] ?? 'from-the-beginning';
  if (start !== 'from-the-beginning' && start !== 'from-now') {
    throw new ClientError(
      ClientErrorCode.invalid,
      `handler ${handler}: start must be from-the-beginning or from-now`,
    );
  }
  return start;
}

/**
 * Gives each `from-now` handler that never ran a checkpoint at `position`, so that it starts
 * there rather than at the start of the log.
 */
export async function startFromNow(
  store: ReactionStore,
  handlers: readonly Handler[],
  starts: HandlerStarts | undefined,
  position: number,
): Promise<void> {
  const fresh = handlers.filter((h) => startOf(starts, h.name) === 'from-now');
  if (fresh.length === 0) return;
  await store.transaction(async (tx) => {
    for (const handler of fresh) {
      if ((await tx.getCheckpoint(handler.name)) === undefined) {
        await tx.putCheckpoint(handler.name, { position, recentIds: [] });
      }
    }
  });
}

/**
 * Queues the history events each `from-the-beginning` handler takes and has passed (at or below
 * its stored checkpoint: the handler's feed will not deliver them) as letters of the handler's
 * dead-letter queue, to be run once each by its `retry` (the `applied` ledger keeps it once, and
 * a failure stays visible there). Resolves with the letters' ids, in position order. Events above
 * a checkpoint are left to the handler's feed.
 */
export async function queueHistory(
  store: ReactionStore,
  handlers: readonly Handler[],
  starts: HandlerStarts | undefined,
  events: readonly FoldableEvent[],
  now: number,
): Promise<string[]> {
  const sorted = [...events].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  const at = new Date(now).toISOString();
  const error = snapshotError(new ClientError(ClientErrorCode.notReady, WAITING));
  return store.transaction(async (tx) => {
    const ids: string[] = [];
    for (const handler of handlers) {
      if (startOf(starts, handler.name) !== 'from-the-beginning') continue;
      const checkpoint = await tx.getCheckpoint(handler.name);
      if (checkpoint === undefined) continue;
      for (const event of sorted) {
        if ((event.position ?? 0) > checkpoint.position || !handler.matches(event as never)) continue;
        if (await tx.hasApplied(handler.name, event.id)) continue;
        const id = deadLetterId(handler.name, event.id);
        if ((await tx.getDeadLetter(id)) !== undefined) continue;
        const letter: DeadLetter = {
          id,
          handler: handler.name,
          event,
          error,
          attempts: 0,
          firstFailedAt: at,
          lastFailedAt: at,
        };
        await tx.putDeadLetter(letter);
        ids.push(id);
      }
    }
    return ids;
  });
}
