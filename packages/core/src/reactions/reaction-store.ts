import type { DeadLetter } from './dead-letter.ts';
import type { OutboxMessage } from './outbox-message.ts';
import type { SagaInstance, SagaStatus, SagaTimeoutRecord } from './saga-instance.ts';

/**
 * How far a handler or saga got: every event at or below `position` is done (handled, skipped by
 * its filter, or dead-lettered), plus the ids of the last events it handled (the dedupe window),
 * so that an event delivered again under another position is still recognised.
 */
export interface Checkpoint {
  readonly position: number;
  /** Oldest first; at most the runner's `dedupeWindow` ids. */
  readonly recentIds: readonly string[];
}

/** The tables of a {@link ReactionStore}, as {@link ReactionStore.watch} names them. */
export type ReactionTable = 'checkpoints' | 'applied' | 'deadLetters' | 'sagas' | 'timeouts' | 'outbox';

/**
 * Durable state of the reaction runtime (DESIGN.md §7): checkpoints, dead letters, saga instances,
 * saga timeouts and the outbox of emitted events, plus the `applied` ledger that makes dead-letter
 * retries and replays apply once. The client implements it on Dexie (tables `checkpoints`,
 * `deadLetters`, `sagas`…), the hub on SQLite and Postgres; every implementation runs
 * `describeReactionStore` from `@eventloom/core/testing`.
 *
 * Invariants:
 * - `transaction(fn)` is atomic: every write `fn` made, or none (when `fn` throws or the store
 *   fails). Transactions of one store see each other's writes in a serial order.
 * - Inside `fn` the runtime awaits only the transaction's own methods, never user code or other
 *   I/O (so an IndexedDB transaction does not auto-commit under it). `fn` never opens another
 *   transaction.
 * - Values go in and come out as copies (JSON): a caller mutating what it got changes nothing stored.
 *
 * @example
 * await store.transaction(async (tx) => {
 *   await tx.putSaga(instance);
 *   await tx.putCheckpoint('checkout', { position: event.position, recentIds });
 *   await tx.enqueue(messages); // no effect without its state, no state without its effect
 * });
 */
export interface ReactionStore {
  transaction<T>(fn: (tx: ReactionTransaction) => Promise<T>): Promise<T>;
  /**
   * Calls `listener` after each committed transaction that wrote something, with the tables it
   * wrote to (another handle on the same storage, such as another tab, may report too). Returns
   * the unsubscribe function.
   */
  watch(listener: (tables: ReadonlySet<ReactionTable>) => void): () => void;
}

/** What a transaction of a {@link ReactionStore} can read and write. */
export interface ReactionTransaction {
  getCheckpoint(consumer: string): Promise<Checkpoint | undefined>;
  putCheckpoint(consumer: string, checkpoint: Checkpoint): Promise<void>;

  /** Whether a dead-letter retry or replay applied this event in this consumer. */
  hasApplied(consumer: string, eventId: string): Promise<boolean>;
  putApplied(consumer: string, eventId: string): Promise<void>;

  getDeadLetter(id: string): Promise<DeadLetter | undefined>;
  /** Ordered by `firstFailedAt`, then `id`. */
  listDeadLetters(): Promise<DeadLetter[]>;
  countDeadLetters(): Promise<number>;
  /** Inserts, or replaces the letter with the same id. */
  putDeadLetter(letter: DeadLetter): Promise<void>;
  /** Whether there was one to delete. */
  deleteDeadLetter(id: string): Promise<boolean>;

  getSaga(id: string): Promise<SagaInstance | undefined>;
  /** Ordered by `id`. */
  listSagas(query?: { readonly saga?: string; readonly status?: SagaStatus }): Promise<SagaInstance[]>;
  putSaga(instance: SagaInstance): Promise<void>;

  getTimeout(id: string): Promise<SagaTimeoutRecord | undefined>;
  /** Ordered by `dueAt`, then `id`. */
  listTimeouts(query?: { readonly saga?: string; readonly instance?: string }): Promise<SagaTimeoutRecord[]>;
  /** Inserts, or replaces the timeout with the same id. */
  putTimeout(timeout: SagaTimeoutRecord): Promise<void>;
  deleteTimeout(id: string): Promise<boolean>;

  /** Adds messages at the end of the outbox; a message whose id is already there is skipped. */
  enqueue(messages: readonly OutboxMessage[]): Promise<void>;
  /** The oldest messages first, at most `limit` (all by default). */
  readOutbox(limit?: number): Promise<OutboxMessage[]>;
  /** Removes delivered messages; unknown ids are skipped. */
  deleteOutbox(ids: readonly string[]): Promise<void>;
}
