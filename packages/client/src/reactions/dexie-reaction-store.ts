import {
  CoreError,
  CoreErrorCode,
  type Checkpoint,
  type DeadLetter,
  type OutboxMessage,
  type ReactionStore,
  type ReactionTable,
  type ReactionTransaction,
  type SagaInstance,
  type SagaStatus,
  type SagaTimeoutRecord,
} from '@eventloom/core';
import { Dexie, type Table } from 'dexie';
import { ClientErrorCode, toClientError } from '../client-error.ts';
import type { DexieClientStore } from '../dexie-client-store.ts';

/**
 * The reaction runtime's {@link ReactionStore} in the client's own IndexedDB database (DESIGN.md
 * §8), on the tables of {@link DexieClientStore}'s schema version 3: `checkpoints`, `applied`,
 * `sagas`, `timeouts`, `reactionOutbox`, and `deadLetters`, which it shares with the sync engine,
 * so that one dead-letter queue lists the handlers' letters and the pushes the hub refused (their
 * `handler` is `eventloom.sync`).
 *
 * Each `transaction` is one IndexedDB read-write transaction over those tables: atomic, and
 * serialised with every other one on the database (other tabs included). `watch` hears of every
 * committed write to those tables through Dexie's `storagemutated` event: this store's, the sync
 * engine's dead letters, another handle's, and (over Dexie's BroadcastChannel) another tab's.
 *
 * @example
 * const client = new DexieClientStore({ name: 'kanban' });
 * await client.open();
 * const store = new DexieReactionStore(client);
 */
export class DexieReactionStore implements ReactionStore {
  readonly #db: Dexie;

  /** Shares `client`'s Dexie database (and connection); open `client` before the first transaction. */
  constructor(client: DexieClientStore) {
    this.#db = client.db;
  }

  async transaction<T>(fn: (tx: ReactionTransaction) => Promise<T>): Promise<T> {
    try {
      // Tables bound to the transaction object, not found through Dexie's zone: the runtime's
      // nested native async functions can lose the zone, and a lookup would then run outside.
      return await this.#db.transaction('rw', DEXIE_TABLES, (trans) =>
        fn(
          new DexieReactionTransaction({
            checkpoints: trans.table('checkpoints'),
            applied: trans.table('applied'),
            deadLetters: trans.table('deadLetters'),
            sagas: trans.table('sagas'),
            timeouts: trans.table('timeouts'),
            outbox: trans.table('reactionOutbox'),
          }),
        ),
      );
    } catch (thrown) {
      throw storeError(thrown);
    }
  }

  watch(listener: (tables: ReadonlySet<ReactionTable>) => void): () => void {
    const prefix = `idb://${this.#db.name}/`;
    const onMutated = (parts: Readonly<Record<string, unknown>>) => {
      const touched = new Set<ReactionTable>();
      for (const part of Object.keys(parts)) {
        if (part === 'all') {
          for (const table of Object.values(TABLE_NAMES)) touched.add(table);
          continue;
        }
        if (!part.startsWith(prefix)) continue;
        const table = TABLE_NAMES[part.slice(prefix.length).split('/')[0] ?? ''];
        if (table !== undefined) touched.add(table);
      }
      if (touched.size === 0) return;
      try {
        listener(touched);
      } catch {
        // A listener's failure is its own: the transaction has committed.
      }
    };
    Dexie.on('storagemutated', onMutated);
    return () => Dexie.on('storagemutated').unsubscribe(onMutated);
  }
}

/** Dexie table name → the runtime's name for it. */
const TABLE_NAMES: Readonly<Record<string, ReactionTable>> = {
  checkpoints: 'checkpoints',
  applied: 'applied',
  deadLetters: 'deadLetters',
  sagas: 'sagas',
  timeouts: 'timeouts',
  reactionOutbox: 'outbox',
};

const DEXIE_TABLES = Object.keys(TABLE_NAMES);

interface CheckpointRow extends Checkpoint {
  readonly consumer: string;
}

/** `<consumer>\n<event id>`. */
interface AppliedRow {
  readonly id: string;
}

interface OutboxMessageRow {
  /** Enqueue order, given by IndexedDB. */
  readonly seq?: number;
  readonly id: string;
  readonly message: OutboxMessage;
}

interface Tables {
  readonly checkpoints: Table<CheckpointRow, string>;
  readonly applied: Table<AppliedRow, string>;
  readonly deadLetters: Table<DeadLetter, string>;
  readonly sagas: Table<SagaInstance, string>;
  readonly timeouts: Table<SagaTimeoutRecord, string>;
  readonly outbox: Table<OutboxMessageRow, number>;
}

// IndexedDB structured-clones values in and out: callers get copies.
class DexieReactionTransaction implements ReactionTransaction {
  readonly #t: Tables;

  constructor(tables: Tables) {
    this.#t = tables;
  }

  async getCheckpoint(consumer: string): Promise<Checkpoint | undefined> {
    const row = await this.#t.checkpoints.get(consumer);
    return row && { position: row.position, recentIds: row.recentIds };
  }

  async putCheckpoint(consumer: string, checkpoint: Checkpoint): Promise<void> {
    await this.#t.checkpoints.put({
      consumer,
      position: checkpoint.position,
      recentIds: [...checkpoint.recentIds],
    });
  }

  async hasApplied(consumer: string, eventId: string): Promise<boolean> {
    return (await this.#t.applied.get(appliedKey(consumer, eventId))) !== undefined;
  }

  async putApplied(consumer: string, eventId: string): Promise<void> {
    await this.#t.applied.put({ id: appliedKey(consumer, eventId) });
  }

  getDeadLetter(id: string): Promise<DeadLetter | undefined> {
    return this.#t.deadLetters.get(id);
  }

  async listDeadLetters(): Promise<DeadLetter[]> {
    const rows = await this.#t.deadLetters.toArray();
    return rows.sort((a, b) => compare(a.firstFailedAt, b.firstFailedAt) || compare(a.id, b.id));
  }

  countDeadLetters(): Promise<number> {
    return this.#t.deadLetters.count();
  }

  async putDeadLetter(letter: DeadLetter): Promise<void> {
    await this.#t.deadLetters.put(letter);
  }

  async deleteDeadLetter(id: string): Promise<boolean> {
    return removeRow(this.#t.deadLetters, id);
  }

  getSaga(id: string): Promise<SagaInstance | undefined> {
    return this.#t.sagas.get(id);
  }

  async listSagas(
    query: { readonly saga?: string; readonly status?: SagaStatus } = {},
  ): Promise<SagaInstance[]> {
    const { saga, status } = query;
    const rows =
      saga === undefined
        ? await this.#t.sagas.toArray()
        : await this.#t.sagas.where('saga').equals(saga).toArray();
    return rows
      .filter((s) => status === undefined || s.status === status)
      .sort((a, b) => compare(a.id, b.id));
  }

  async putSaga(instance: SagaInstance): Promise<void> {
    await this.#t.sagas.put(instance);
  }

  getTimeout(id: string): Promise<SagaTimeoutRecord | undefined> {
    return this.#t.timeouts.get(id);
  }

  async listTimeouts(
    query: { readonly saga?: string; readonly instance?: string } = {},
  ): Promise<SagaTimeoutRecord[]> {
    const { saga, instance } = query;
    const rows = await this.#t.timeouts.toArray();
    return rows
      .filter(
        (t) => (saga === undefined || t.saga === saga) && (instance === undefined || t.instance === instance),
      )
      .sort((a, b) => a.dueAt - b.dueAt || compare(a.id, b.id));
  }

  async putTimeout(timeout: SagaTimeoutRecord): Promise<void> {
    await this.#t.timeouts.put(timeout);
  }

  async deleteTimeout(id: string): Promise<boolean> {
    return removeRow(this.#t.timeouts, id);
  }

  async enqueue(messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const ids = messages.map((m) => m.id);
    const known = new Set((await this.#t.outbox.where('id').anyOf(ids).toArray()).map((row) => row.id));
    const rows: OutboxMessageRow[] = [];
    for (const message of messages) {
      if (known.has(message.id)) continue;
      known.add(message.id);
      rows.push({ id: message.id, message });
    }
    if (rows.length > 0) await this.#t.outbox.bulkAdd(rows);
  }

  async readOutbox(limit?: number): Promise<OutboxMessage[]> {
    const ordered = this.#t.outbox.orderBy('seq');
    const rows = await (limit === undefined ? ordered : ordered.limit(limit)).toArray();
    return rows.map((row) => row.message);
  }

  async deleteOutbox(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const keys = await this.#t.outbox
      .where('id')
      .anyOf([...ids])
      .primaryKeys();
    if (keys.length > 0) await this.#t.outbox.bulkDelete(keys);
  }
}

/**
 * The runtime stops quietly on `store-closed` (the database closed under it: the tab is going
 * away, or a newer version took over); other storage failures become `ClientError`s; what the
 * transaction's body threw passes unchanged.
 */
function storeError(thrown: unknown): unknown {
  if (!(thrown instanceof Dexie.DexieError) && !(thrown instanceof DOMException)) return thrown;
  const error = toClientError(thrown);
  if (error.code === ClientErrorCode.databaseClosed || error.code === ClientErrorCode.versionConflict) {
    return new CoreError(CoreErrorCode.storeClosed, `the reaction store is closed: ${error.message}`, {
      cause: error,
    });
  }
  return error;
}

/** Deletes a row by key, saying whether there was one. */
async function removeRow<R>(table: Table<R, string>, key: string): Promise<boolean> {
  if ((await table.get(key)) === undefined) return false;
  await table.delete(key);
  return true;
}

function appliedKey(consumer: string, eventId: string): string {
  return `${consumer}\n${eventId}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
