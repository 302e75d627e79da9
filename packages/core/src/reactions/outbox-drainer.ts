import { CoreError, CoreErrorCode, toCoreError } from '../core-error.ts';
import type { OutboxRelay } from './outbox-message.ts';
import type { ReactionStore } from './reaction-store.ts';
import { backoffDelay, type BackoffPolicy } from './retry-policy.ts';
import type { Scheduler } from './scheduler.ts';

const BATCH = 100;
const DRAIN_BACKOFF: BackoffPolicy = { initialMs: 200, factor: 2, maxMs: 30_000 };

/**
 * Moves the reaction store's outbox to the relay, oldest first, one batch at a time: deliver,
 * then delete. A crash between the two delivers the batch again (the relay dedupes by message id).
 * Without a relay it does nothing: the store then writes emitted events into the log itself.
 */
export class OutboxDrainer {
  readonly #store: ReactionStore;
  readonly #relay: OutboxRelay | undefined;
  readonly #scheduler: Scheduler;
  readonly #random: () => number;
  readonly #report: (error: CoreError) => void;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #failures = 0;
  #cancelRetry: (() => void) | undefined;

  constructor(options: {
    readonly store: ReactionStore;
    readonly relay: OutboxRelay | undefined;
    readonly scheduler: Scheduler;
    readonly random: () => number;
    readonly report: (error: CoreError) => void;
  }) {
    this.#store = options.store;
    this.#relay = options.relay;
    this.#scheduler = options.scheduler;
    this.#random = options.random;
    this.#report = options.report;
  }

  /** Something was enqueued: drain now, or once more after the drain in progress. */
  kick(): void {
    if (this.#relay === undefined || this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
    this.#running = this.#drain(this.#relay).finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves when no drain is in progress (a failed one may be waiting for its retry). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelRetry?.();
    await this.idle();
  }

  async #drain(relay: OutboxRelay): Promise<void> {
    try {
      do {
        this.#again = false;
        for (;;) {
          const batch = await this.#store.transaction((tx) => tx.readOutbox(BATCH));
          if (batch.length === 0 || this.#stopped) break;
          await relay.deliver(batch);
          await this.#store.transaction((tx) => tx.deleteOutbox(batch.map((m) => m.id)));
        }
      } while (this.#again && !this.#stopped);
      this.#failures = 0;
    } catch (error) {
      if (error instanceof CoreError && error.code === CoreErrorCode.storeClosed) return;
      this.#report(toCoreError(error));
      if (this.#stopped) return;
      this.#failures++;
      this.#cancelRetry = this.#scheduler.schedule(
        backoffDelay(DRAIN_BACKOFF, this.#failures, this.#random),
        () => this.kick(),
      );
    }
  }
}
