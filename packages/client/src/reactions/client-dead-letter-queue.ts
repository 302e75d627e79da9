import {
  snapshotError,
  type DeadLetter,
  type DeadLetterOutcome,
  type DeadLetterQueue,
  type Handler,
  type ReactionStore,
} from '@eventloom/core';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import { SYNC_DEAD_LETTERS, type DeadLetterRow } from '../client-store.ts';
import type { AppendInput, AppendManyOptions, ExecuteResult } from '../appender.ts';
import type { AnyDecider } from '../sync/sync-types.ts';

/** What {@link routeDeadLetters} needs of an Eventloom: to append again, or decide a command again. */
export interface DeadLetterTarget {
  appendMany(stream: string, events: readonly AppendInput[], options?: AppendManyOptions): Promise<unknown>;
  execute(
    decider: AnyDecider,
    command: unknown,
    options?: { readonly stream?: string; readonly meta?: AppendInput['meta'] },
  ): Promise<ExecuteResult<unknown>>;
}

/**
 * The client's one dead-letter queue over the shared `deadLetters` table, whose rows come from two
 * places, each retried in its own way:
 *
 * - **handler and saga letters** (`handler` is a handler's or saga's name): `retry` runs the
 *   handler again on the confirmed event (a saga's letter: its compensations), at most once per
 *   handler and event; `replay` runs another handler on it. This is the core queue's work.
 * - **sync letters** (`handler` is `eventloom.sync`: pushes the hub refused, parked by the conflict
 *   policy): the event never got a position, so no handler ran on it. `retry` appends it again —
 *   by deciding its command again when it came from `execute` and its decider is in `deciders`
 *   (a refusal then leaves the letter, one attempt more, with the decider's reason), otherwise
 *   as the same event anew (a new id, no `expectedVersion`: the person who retries overrides the
 *   conflict), and then removes the letter. `replay` refuses them (`invalid`).
 *
 * `list`, `deadLetters$`, `size` and `discard` cover both kinds.
 */
export function routeDeadLetters(options: {
  readonly queue: DeadLetterQueue;
  readonly store: ReactionStore;
  readonly loom: DeadLetterTarget;
  readonly deciders?: readonly AnyDecider[];
  readonly now?: () => number;
}): DeadLetterQueue {
  const { queue, store, loom } = options;
  const deciders = new Map((options.deciders ?? []).map((d) => [d.name, d]));
  const now = options.now ?? Date.now;
  // Sync retries run one at a time, like the core queue's.
  let serial: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = serial.then(work);
    serial = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };
  const letterOf = (id: string) => store.transaction((tx) => tx.getDeadLetter(id));

  const retrySync = (id: string): Promise<DeadLetterOutcome> =>
    exclusive(async () => {
      const letter = await letterOf(id);
      if (letter === undefined) return { id, status: 'missing' };
      const row = letter as unknown as DeadLetterRow;
      const pending = row.rejection.command;
      const decider = pending === undefined ? undefined : deciders.get(pending.decider);
      if (pending !== undefined && decider !== undefined) {
        const decided = await loom.execute(decider, pending.command, {
          ...(pending.stream === undefined ? {} : { stream: pending.stream }),
          ...(pending.meta === undefined ? {} : { meta: pending.meta }),
        });
        if (!decided.ok) {
          const error = {
            ...row.error,
            message: `decided again and refused: ${decided.rejection.code}: ${decided.rejection.message}`,
          };
          await store.transaction(async (tx) => {
            const current = await tx.getDeadLetter(id);
            if (current === undefined) return;
            await tx.putDeadLetter({
              ...current,
              attempts: current.attempts + 1,
              lastFailedAt: new Date(now()).toISOString(),
              error,
            });
          });
          return { id, status: 'failed', error };
        }
      } else {
        const { type, version, kind, data, meta, stream } = row.event;
        // Keyed by the letter: a retry cut short after its append appends nothing the second time.
        await loom.appendMany(stream, [{ type, version, kind, data, meta }], {
          idempotencyKey: `dead-letter:${id}`,
        });
      }
      await store.transaction((tx) => tx.deleteDeadLetter(id));
      return { id, status: 'applied' };
    });

  const isSync = (letter: DeadLetter | undefined) => letter?.handler === SYNC_DEAD_LETTERS;

  return {
    deadLetters$: queue.deadLetters$,
    list: () => queue.list(),
    size: () => queue.size(),
    discard: (id) => queue.discard(id),
    async retry(id) {
      return isSync(await letterOf(id)) ? retrySync(id) : queue.retry(id);
    },
    async retryAll() {
      const outcomes: DeadLetterOutcome[] = [];
      for (const letter of await queue.list()) {
        try {
          outcomes.push(await (isSync(letter) ? retrySync(letter.id) : queue.retry(letter.id)));
        } catch (error) {
          outcomes.push({ id: letter.id, status: 'failed', error: snapshotError(error) });
        }
      }
      return outcomes;
    },
    async replay(id, handler: Handler) {
      if (isSync(await letterOf(id))) {
        throw new ClientError(
          ClientErrorCode.invalid,
          `${id} is a push the hub refused: it has no position, so no handler can replay it (retry appends it again)`,
        );
      }
      return queue.replay(id, handler);
    },
  };
}
