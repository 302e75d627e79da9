import { compareCodeUnits } from '../compare-code-units.ts';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import { copyJson } from './copy-json.ts';
import type { DeadLetter } from './dead-letter.ts';
import type { OutboxMessage } from './outbox-message.ts';
import type { Checkpoint, ReactionStore, ReactionTable, ReactionTransaction } from './reaction-store.ts';
import type { SagaInstance, SagaStatus, SagaTimeoutRecord } from './saga-instance.ts';

/**
 * A {@link ReactionStore} in memory: for tests, and for a runtime whose reactions need not survive
 * the process. `reopen()` gives a second handle on the same data, as a restarted process would
 * open the same database; `close()` makes a handle fail every later transaction with
 * `store-closed` (a transaction in flight then fails to commit), as a killed process would.
 */
export interface MemoryReactionStore extends ReactionStore {
  /** A new handle on the same data. */
  reopen(): MemoryReactionStore;
  /** Ends this handle: its later and in-flight transactions fail with `store-closed`. */
  close(): void;
  readonly closed: boolean;
}

/**
 * Creates an empty in-memory {@link ReactionStore}.
 *
 * @example
 * const store = createMemoryReactionStore();
 * const runner = createReactionRunner({ store, feed, scheduler, handlers: [sendInvoice] });
 */
export function createMemoryReactionStore(): MemoryReactionStore {
  return new MemoryStore(new MemoryData());
}

class MemoryData {
  readonly checkpoints = new Map<string, Checkpoint>();
  readonly applied = new Map<string, true>();
  readonly deadLetters = new Map<string, DeadLetter>();
  readonly sagas = new Map<string, SagaInstance>();
  readonly timeouts = new Map<string, SagaTimeoutRecord>();
  readonly outbox = new Map<string, OutboxMessage>();
  readonly listeners = new Set<(tables: ReadonlySet<ReactionTable>) => void>();
  /** The tail of the serial queue of transactions. */
  lock: Promise<void> = Promise.resolve();
}

class MemoryStore implements MemoryReactionStore {
  readonly #data: MemoryData;
  #closed = false;

  constructor(data: MemoryData) {
    this.#data = data;
  }

  get closed(): boolean {
    return this.#closed;
  }

  reopen(): MemoryReactionStore {
    return new MemoryStore(this.#data);
  }

  close(): void {
    this.#closed = true;
  }

  transaction<T>(fn: (tx: ReactionTransaction) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    const data = this.#data;
    const run = data.lock.then(async () => {
      if (this.#closed) throw closedError();
      const tx = new MemoryTransaction(data);
      const result = await fn(tx);
      if (this.#closed) throw closedError();
      const touched = tx.commit();
      if (touched.size > 0) {
        for (const listener of data.listeners) {
          try {
            listener(touched);
          } catch {
            // A listener's failure is its own: the transaction has committed.
          }
        }
      }
      return result;
    });
    data.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  watch(listener: (tables: ReadonlySet<ReactionTable>) => void): () => void {
    const wrapped = (tables: ReadonlySet<ReactionTable>) => listener(tables);
    this.#data.listeners.add(wrapped);
    return () => {
      this.#data.listeners.delete(wrapped);
    };
  }
}

function closedError(): CoreError {
  return new CoreError(CoreErrorCode.storeClosed, 'the reaction store is closed');
}

const DELETED = Symbol('deleted');

/** A table's writes within one transaction, on top of the committed rows. */
class Staged<V> {
  readonly #base: Map<string, V>;
  readonly #changes = new Map<string, V | typeof DELETED>();

  constructor(base: Map<string, V>) {
    this.#base = base;
  }

  get changed(): boolean {
    return this.#changes.size > 0;
  }

  get(key: string): V | undefined {
    const change = this.#changes.get(key);
    if (change === DELETED) return undefined;
    return change ?? this.#base.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V): void {
    this.#changes.set(key, value);
  }

  delete(key: string): boolean {
    const had = this.has(key);
    if (had) this.#changes.set(key, DELETED);
    return had;
  }

  /** Rows in insertion order: committed ones first (where they were), then new ones. */
  *values(): IterableIterator<V> {
    for (const [key, value] of this.#base) {
      const change = this.#changes.get(key);
      if (change === DELETED) continue;
      yield change ?? value;
    }
    for (const [key, change] of this.#changes) {
      if (change !== DELETED && !this.#base.has(key)) yield change;
    }
  }

  get size(): number {
    let n = 0;
    for (const _ of this.values()) n++;
    return n;
  }

  apply(): void {
    for (const [key, change] of this.#changes) {
      if (change === DELETED) this.#base.delete(key);
      else this.#base.set(key, change);
    }
  }
}

class MemoryTransaction implements ReactionTransaction {
  readonly #checkpoints: Staged<Checkpoint>;
  readonly #applied: Staged<true>;
  readonly #deadLetters: Staged<DeadLetter>;
  readonly #sagas: Staged<SagaInstance>;
  readonly #timeouts: Staged<SagaTimeoutRecord>;
  readonly #outbox: Staged<OutboxMessage>;

  constructor(data: MemoryData) {
    this.#checkpoints = new Staged(data.checkpoints);
    this.#applied = new Staged(data.applied);
    this.#deadLetters = new Staged(data.deadLetters);
    this.#sagas = new Staged(data.sagas);
    this.#timeouts = new Staged(data.timeouts);
    this.#outbox = new Staged(data.outbox);
  }

  /** Applies the writes and returns the tables they touched. */
  commit(): Set<ReactionTable> {
    const touched = new Set<ReactionTable>();
    const tables: [ReactionTable, Staged<unknown>][] = [
      ['checkpoints', this.#checkpoints],
      ['applied', this.#applied],
      ['deadLetters', this.#deadLetters],
      ['sagas', this.#sagas],
      ['timeouts', this.#timeouts],
      ['outbox', this.#outbox],
    ];
    for (const [name, table] of tables) {
      if (!table.changed) continue;
      table.apply();
      touched.add(name);
    }
    return touched;
  }

  async getCheckpoint(consumer: string): Promise<Checkpoint | undefined> {
    const checkpoint = this.#checkpoints.get(consumer);
    return checkpoint && copyCheckpoint(checkpoint);
  }

  async putCheckpoint(consumer: string, checkpoint: Checkpoint): Promise<void> {
    this.#checkpoints.set(consumer, copyCheckpoint(checkpoint));
  }

  async hasApplied(consumer: string, eventId: string): Promise<boolean> {
    return this.#applied.has(appliedKey(consumer, eventId));
  }

  async putApplied(consumer: string, eventId: string): Promise<void> {
    this.#applied.set(appliedKey(consumer, eventId), true);
  }

  async getDeadLetter(id: string): Promise<DeadLetter | undefined> {
    const letter = this.#deadLetters.get(id);
    return letter && copy(letter);
  }

  async listDeadLetters(): Promise<DeadLetter[]> {
    return [...this.#deadLetters.values()]
      .sort((a, b) => compareCodeUnits(a.firstFailedAt, b.firstFailedAt) || compareCodeUnits(a.id, b.id))
      .map((row) => copy(row));
  }

  async countDeadLetters(): Promise<number> {
    return this.#deadLetters.size;
  }

  async putDeadLetter(letter: DeadLetter): Promise<void> {
    this.#deadLetters.set(letter.id, copy(letter, CoreErrorCode.invalid));
  }

  async deleteDeadLetter(id: string): Promise<boolean> {
    return this.#deadLetters.delete(id);
  }

  async getSaga(id: string): Promise<SagaInstance | undefined> {
    const instance = this.#sagas.get(id);
    return instance && copy(instance);
  }

  async listSagas(
    query: { readonly saga?: string; readonly status?: SagaStatus } = {},
  ): Promise<SagaInstance[]> {
    const { saga, status } = query;
    return [...this.#sagas.values()]
      .filter((s) => (saga === undefined || s.saga === saga) && (status === undefined || s.status === status))
      .sort((a, b) => compareCodeUnits(a.id, b.id))
      .map((row) => copy(row));
  }

  async putSaga(instance: SagaInstance): Promise<void> {
    this.#sagas.set(instance.id, copy(instance, CoreErrorCode.invalid));
  }

  async getTimeout(id: string): Promise<SagaTimeoutRecord | undefined> {
    const timeout = this.#timeouts.get(id);
    return timeout && copy(timeout);
  }

  async listTimeouts(
    query: { readonly saga?: string; readonly instance?: string } = {},
  ): Promise<SagaTimeoutRecord[]> {
    const { saga, instance } = query;
    return [...this.#timeouts.values()]
      .filter(
        (t) => (saga === undefined || t.saga === saga) && (instance === undefined || t.instance === instance),
      )
      .sort((a, b) => a.dueAt - b.dueAt || compareCodeUnits(a.id, b.id))
      .map((row) => copy(row));
  }

  async putTimeout(timeout: SagaTimeoutRecord): Promise<void> {
    this.#timeouts.set(timeout.id, copy(timeout, CoreErrorCode.invalid));
  }

  async deleteTimeout(id: string): Promise<boolean> {
    return this.#timeouts.delete(id);
  }

  async enqueue(messages: readonly OutboxMessage[]): Promise<void> {
    for (const message of messages) {
      if (!this.#outbox.has(message.id)) this.#outbox.set(message.id, copy(message, CoreErrorCode.invalid));
    }
  }

  async readOutbox(limit = Infinity): Promise<OutboxMessage[]> {
    const out: OutboxMessage[] = [];
    for (const message of this.#outbox.values()) {
      if (out.length >= limit) break;
      out.push(copy(message));
    }
    return out;
  }

  async deleteOutbox(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.#outbox.delete(id);
  }
}

/** Checkpoints are written on the hot path: copied by hand rather than walked as JSON. */
function copyCheckpoint(checkpoint: Checkpoint): Checkpoint {
  return { position: checkpoint.position, recentIds: checkpoint.recentIds.slice() };
}

function copy<T>(value: T, code: CoreErrorCode = CoreErrorCode.internal): T {
  return copyJson(value, 'value', code);
}

function appliedKey(consumer: string, eventId: string): string {
  return `${consumer}\n${eventId}`;
}
