import type { StoredEventKind } from '@eventloom/protocol';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import type { EventDraft } from '../decider.ts';
import type { ConfirmedEvent } from './confirmed-event.ts';
import { deadLetterId, snapshotError, type DeadLetter } from './dead-letter.ts';
import type { Handler, HandlerContext } from './define-handler.ts';
import { isoTime, MessageBuilder } from './emit-messages.ts';
import type { EventFeed } from './event-feed.ts';
import { Lane } from './lane.ts';
import type { OutboxMessage } from './outbox-message.ts';
import { backoffDelay } from './retry-policy.ts';
import type { Runtime } from './runtime.ts';
import type { Scheduler } from './scheduler.ts';
import { traceOf, type TraceMeta } from './trace-meta.ts';

interface Failed {
  readonly error: unknown;
}

/**
 * Runs one handler over the feed. The hot path is synchronous for a synchronous handler: no
 * promise per event, one transaction per page (or per `checkpointEvery` events) writing the
 * checkpoint, the dedupe window and what the handler emitted, together.
 */
export class HandlerLane extends Lane {
  readonly handler: Handler;
  #pending: OutboxMessage[] = [];
  #dirty = 0;

  constructor(handler: Handler, feed: EventFeed, rt: Runtime) {
    super(handler.name, feed, rt);
    this.handler = handler;
  }

  protected reset(): void {
    this.#pending = [];
    this.#dirty = 0;
  }

  protected async processPage(page: readonly ConfirmedEvent[]): Promise<void> {
    const { handler } = this;
    const every = handler.checkpointEvery;
    if (handler.prepare !== undefined) this.#prepare(handler.prepare, page);
    for (let i = 0; i < page.length; i++) {
      if (this.stopped) break;
      const event = page[i]!;
      if (event.position <= this.position) continue;
      let outcome: boolean | Promise<true | Failed>;
      try {
        outcome = handler.matches(event) && !this.window.has(event.id) && this.#attempt(event, 1);
      } catch (error) {
        outcome = Promise.resolve({ error });
      }
      if (outcome !== true && outcome !== false && !(await this.#settle(event, outcome))) return;
      this.position = event.position;
      if (++this.#dirty >= every) await this.flush();
    }
    await this.flush();
  }

  protected flush(): Promise<void> {
    return this.#commit(undefined);
  }

  #prepare(prepare: (events: readonly ConfirmedEvent[]) => void, page: readonly ConfirmedEvent[]): void {
    const due: ConfirmedEvent[] = [];
    try {
      for (const event of page) {
        if (event.position > this.position && this.handler.matches(event) && !this.window.has(event.id)) {
          due.push(event);
        }
      }
      if (due.length > 0) prepare(due);
    } catch (error) {
      // Only a head start: each event is still handled (and its failure retried) on its own.
      this.rt.report(error);
    }
  }

  /** One run of `handle`: `true` when it succeeded synchronously, else a promise of the outcome. */
  #attempt(event: ConfirmedEvent, attempt: number): true | Promise<true | Failed> {
    const ctx = new CallContext(this.handler.name, attempt, event, this.rt.scheduler);
    let result: void | Promise<void>;
    try {
      result = this.handler.handle(event, ctx);
    } catch (error) {
      ctx.close();
      return Promise.resolve({ error });
    }
    if (!isThenable(result)) return this.#succeeded(event, ctx);
    return Promise.resolve(result).then(
      () => this.#succeeded(event, ctx),
      (error: unknown) => {
        ctx.close();
        return { error };
      },
    );
  }

  #succeeded(event: ConfirmedEvent, ctx: CallContext): true {
    const messages = ctx.close();
    if (messages !== undefined) for (const message of messages) this.#pending.push(message);
    this.window.add(event.id);
    return true;
  }

  /**
   * Waits for an attempt; on failure commits the progress before the event, retries with backoff,
   * and after the last attempt dead-letters the event with the checkpoint moved past it. `false`
   * when the lane stopped during a backoff (the event stays unhandled, to run again on restart).
   */
  async #settle(event: ConfirmedEvent, first: Promise<true | Failed>): Promise<boolean> {
    let outcome = await first;
    if (outcome === true) return true;
    const { retry } = this.handler;
    const { scheduler } = this.rt;
    const firstFailedAt = scheduler.now();
    let lastFailedAt = firstFailedAt;
    let attempts = 1;
    await this.flush();
    while (attempts < retry.attempts) {
      if (!(await this.sleep(backoffDelay(retry.backoff, attempts, this.rt.random)))) return false;
      attempts++;
      outcome = await this.#attempt(event, attempts);
      if (outcome === true) return true;
      lastFailedAt = scheduler.now();
    }
    const letter: DeadLetter = {
      id: deadLetterId(this.handler.name, event.id),
      handler: this.handler.name,
      event,
      error: snapshotError(outcome.error),
      attempts,
      firstFailedAt: isoTime(firstFailedAt),
      lastFailedAt: isoTime(lastFailedAt),
    };
    this.window.add(event.id);
    this.position = event.position;
    await this.#commit(letter);
    return true;
  }

  async #commit(letter: DeadLetter | undefined): Promise<void> {
    this.#dirty = 0;
    if (this.position === this.committed && this.#pending.length === 0 && letter === undefined) return;
    const checkpoint = this.progress();
    const messages = this.#pending;
    this.#pending = [];
    await this.rt.store.transaction(async (tx) => {
      await tx.putCheckpoint(this.name, checkpoint);
      if (messages.length > 0) await tx.enqueue(messages);
      if (letter !== undefined) await tx.putDeadLetter(letter);
    });
    this.committedTo(checkpoint);
    if (messages.length > 0) this.rt.outboxChanged();
  }
}

/**
 * The context of one call of `handle`: collects what it emits until the call returns, after which
 * emitting is an error (what it emitted is committed with the checkpoint, or dropped on failure).
 */
export class CallContext implements HandlerContext {
  readonly handler: string;
  readonly attempt: number;
  readonly #event: ConfirmedEvent;
  readonly #scheduler: Scheduler;
  #builder: MessageBuilder | undefined;
  #trace: TraceMeta | undefined;
  #closed = false;

  constructor(handler: string, attempt: number, event: ConfirmedEvent, scheduler: Scheduler) {
    this.handler = handler;
    this.attempt = attempt;
    this.#event = event;
    this.#scheduler = scheduler;
  }

  get now(): number {
    return this.#scheduler.now();
  }

  get trace(): TraceMeta {
    return (this.#trace ??= traceOf(this.#event));
  }

  emit(draft: EventDraft): void {
    this.#add(draft, undefined);
  }

  command(draft: EventDraft): void {
    this.#add(draft, 'command');
  }

  /** Ends the call; returns what it emitted. */
  close(): OutboxMessage[] | undefined {
    this.#closed = true;
    return this.#builder?.messages;
  }

  #add(draft: EventDraft, kind: StoredEventKind | undefined): void {
    if (this.#closed) {
      throw new CoreError(
        CoreErrorCode.invalidState,
        `handler ${this.handler} emitted after its handle() returned: await the work before returning`,
      );
    }
    this.#builder ??= new MessageBuilder(
      this.handler,
      `${this.handler}/${this.#event.id}`,
      this.trace,
      this.#event.stream,
      isoTime(this.#scheduler.now()),
    );
    this.#builder.add(draft, kind);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
