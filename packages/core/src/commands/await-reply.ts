import { Observable, timer } from 'rxjs';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import type { Rejection } from '../decider.ts';
import type { FoldableEvent } from '../foldable-event.ts';
import type { Scheduler } from '../reactions/scheduler.ts';
import { replyOf } from './reply-meta.ts';

/** A command's answer: the events its handler decided, or its rejection. */
export type CommandReply =
  | { readonly ok: true; readonly events: readonly FoldableEvent[] }
  | { readonly ok: false; readonly rejection: Rejection; readonly event: FoldableEvent };

/** What {@link awaitReply} takes besides the events and the command id. */
export interface AwaitReplyOptions {
  /** How long to wait for the whole reply. Default 30 s. */
  readonly timeoutMs?: number;
  /** The timer to use; default RxJS's `timer` (tests pass a fake scheduler). */
  readonly scheduler?: Pick<Scheduler, 'schedule'>;
}

/** The default of {@link AwaitReplyOptions.timeoutMs}. */
export const DEFAULT_REPLY_TIMEOUT_MS = 30_000;

/**
 * Waits for the reply to a command among `events$` (events one by one or in lists): the events
 * stamped `meta.reply.to` = the command id, all `meta.reply.count` of them, or its rejection.
 * Emits one {@link CommandReply} and completes; errors with a {@link CoreError} `timeout` if the
 * reply is not complete in time. Nothing is cancelled on the handler's side: the command stays
 * stored and may still be answered later. Subscribe before the command can be answered (or use
 * an `events$` that replays from before it). A decision with no events sends no reply.
 *
 * @example
 * const sent = await loom.append('show:42', commandTo('hub', { type: 'seat.book', data: { seat: 'A1' } }));
 * const reply = await firstValueFrom(awaitReply(loom.events$({ stream: 'show:42' }), sent.id, { timeoutMs: 10_000 }));
 * if (!reply.ok) toast(reply.rejection.message);
 */
export function awaitReply(
  events$: Observable<FoldableEvent | readonly FoldableEvent[]>,
  commandId: string,
  options: AwaitReplyOptions = {},
): Observable<CommandReply> {
  const { timeoutMs = DEFAULT_REPLY_TIMEOUT_MS, scheduler } = options;
  if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
    throw new RangeError(`awaitReply: timeoutMs must be a finite number ≥ 0, got ${timeoutMs}`);
  }
  return new Observable<CommandReply>((subscriber) => {
    const replies = new Map<string, FoldableEvent>();
    const onTimeout = () =>
      subscriber.error(
        new CoreError(
          CoreErrorCode.timeout,
          `no complete reply to command ${commandId} within ${timeoutMs} ms`,
        ),
      );
    let cancelTimer: () => void;
    if (scheduler === undefined) {
      const subscription = timer(timeoutMs).subscribe(onTimeout);
      cancelTimer = () => subscription.unsubscribe();
    } else {
      cancelTimer = scheduler.schedule(timeoutMs, onTimeout);
    }
    const take = (event: FoldableEvent): boolean => {
      const reply = replyOf(event);
      if (reply?.to !== commandId) return false;
      if (reply.rejected === true) {
        subscriber.next({ ok: false, rejection: rejectionOf(event), event });
        return true;
      }
      replies.set(event.id, event);
      if (replies.size < reply.count) return false;
      subscriber.next({ ok: true, events: [...replies.values()].sort(byPosition) });
      return true;
    };
    const subscription = events$.subscribe({
      next: (value) => {
        const events: readonly FoldableEvent[] = isList(value) ? value : [value];
        for (const event of events) {
          if (take(event)) {
            subscriber.complete();
            return;
          }
        }
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () =>
        subscriber.error(
          new CoreError(CoreErrorCode.timeout, `the events ended before the reply to command ${commandId}`),
        ),
    });
    return () => {
      cancelTimer();
      subscription.unsubscribe();
    };
  });
}

function rejectionOf(event: FoldableEvent): Rejection {
  const { code, message, details } = (event.data ?? {}) as Partial<Rejection>;
  const base = {
    rejected: true as const,
    code: typeof code === 'string' ? code : 'rejected',
    message: typeof message === 'string' ? message : '',
  };
  return details === undefined ? base : { ...base, details };
}

function byPosition(a: FoldableEvent, b: FoldableEvent): number {
  return (a.position ?? Number.MAX_SAFE_INTEGER) - (b.position ?? Number.MAX_SAFE_INTEGER);
}

function isList(value: FoldableEvent | readonly FoldableEvent[]): value is readonly FoldableEvent[] {
  return Array.isArray(value);
}
