import {
  CoreError,
  CoreErrorCode,
  type Checkpoint,
  type DeadLetter,
  type OutboxMessage,
  type ReactionTable,
  type ReactionTransaction,
  type SagaInstance,
  type SagaStatus,
  type SagaTimeoutRecord,
} from '@eventloom/core';
import type { PendingQuery, Row, RowList, Sql, TransactionSql } from 'postgres';

/** The lease a fenced store's transactions check: `name` must still be at `epoch`. */
export interface Fence {
  readonly name: string;
  readonly epoch: number;
}

/** The SQLSTATE `eventloom_reaction_fence` raises when the lease moved on. */
export const FENCE_SQLSTATE = 'EL409';

/**
 * The fence as one statement, so that it can travel in the same round trip as the writes it
 * guards: under a share lock on the lease row (a new leader's epoch bump waits for this
 * transaction, and later ones see it), it raises `FENCE_SQLSTATE` unless the lease is at `epoch`.
 */
export const FENCE_FUNCTION = `
  CREATE OR REPLACE FUNCTION eventloom_reaction_fence(lease_name text, lease_epoch bigint) RETURNS void
  LANGUAGE plpgsql AS $fence$
  DECLARE
    held_epoch bigint;
    held_by text;
  BEGIN
    SELECT epoch, holder INTO held_epoch, held_by FROM eventloom_reaction_leases WHERE name = lease_name FOR SHARE;
    IF held_epoch IS DISTINCT FROM lease_epoch THEN
      RAISE EXCEPTION 'epoch %, held by %', coalesce(held_epoch::text, 'none'), coalesce(held_by, 'nobody')
        USING ERRCODE = '${FENCE_SQLSTATE}';
    END IF;
  END
  $fence$;
`;

/** A statement not sent yet, built on whichever connection the transaction ends up on. */
type Statement = Write | Read;

interface Write {
  readonly build: (sql: Sql | TransactionSql) => PendingQuery<Row[]>;
  /** The table it touches when it changed a row (`always`: whenever it ran). */
  readonly table: ReactionTable;
  readonly always: boolean;
}

interface Read {
  readonly build: (sql: TransactionSql) => PendingQuery<Row[]>;
  readonly resolve: (rows: RowList<Row[]>) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One transaction of the Postgres reaction store, in as few round trips as its reads allow.
 * Writes resolve at once and are sent later: a transaction that only writes (a lane's
 * checkpoint, with what it emitted) goes out at its end as one batch, fence first, which
 * PostgreSQL runs as one implicit transaction (all of it commits or none): one round trip. The
 * first read opens a real transaction; the fence and every statement issued until it is open go
 * out together, and later ones as they are issued, pipelined before the next read or the commit.
 * Invariant: statements reach PostgreSQL in the order they were issued (a read sees exactly the
 * writes issued before it), whether the transaction is not open yet, opening, or open.
 * A failed write (or fence) fails the transaction at its next read or at its end.
 */
export class PgTransaction implements ReactionTransaction {
  readonly touched = new Set<ReactionTable>();
  readonly #sql: Sql;
  readonly #fence: Fence | undefined;
  /** Statements issued while there is no open transaction to send them on, in issue order. */
  #queue: Statement[] = [];
  /** The open transaction, once a read asked for it and `sql.begin` called back. */
  #tx: TransactionSql | undefined;
  /** Settles `sql.begin`'s callback: resolving it commits, rejecting it rolls back. */
  #finish: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #begun: Promise<void> | undefined;
  /** Why the transaction could not be opened (no connection, BEGIN failed). */
  #unopened: unknown = undefined;
  /** The first failure of a statement sent without waiting for it. */
  #failure: unknown = undefined;
  #ended = false;

  constructor(sql: Sql, fence: Fence | undefined) {
    this.#sql = sql;
    this.#fence = fence;
  }

  /** Runs `fn`, then commits what it wrote (or rolls back if it threw). */
  async run<T>(fn: (tx: ReactionTransaction) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn(this);
    } catch (error) {
      this.#ended = true;
      if (this.#begun === undefined) throw error;
      this.#finish!.reject(error);
      try {
        // Rolls back, and rethrows the first failure of the transaction rather than its echo (25P02).
        await this.#begun;
      } catch (rolledBack) {
        throw this.#failure ?? rolledBack;
      }
      throw error;
    }
    this.#ended = true;
    if (this.#begun !== undefined) {
      this.#finish!.resolve();
      try {
        await this.#begun;
      } catch (error) {
        throw this.#failure ?? error;
      }
    } else if (this.#queue.length > 0 || this.#fence !== undefined) {
      // Even with nothing to write, a fenced transaction fails once the lease moved on. Without a
      // read (which would have begun a transaction), the queue holds only writes.
      const writes = this.#queue as Write[];
      this.#queue = [];
      const fence = this.#fence;
      const queries = writes.map((write) => write.build(this.#sql));
      const results = await this.#sql.batch(
        fence === undefined ? queries : [fenceQuery(this.#sql, fence), ...queries],
      );
      const offset = fence === undefined ? 0 : 1;
      for (let i = 0; i < writes.length; i++) this.#noteWrite(writes[i]!, results[i + offset]!.count);
    }
    return result;
  }

  async getCheckpoint(consumer: string): Promise<Checkpoint | undefined> {
    const [row] = await this.#read<{ position: string; recent_ids: string }[]>(
      (tx) => tx`
      SELECT position, recent_ids FROM eventloom_reaction_checkpoints WHERE consumer = ${consumer}`,
    );
    return row && { position: Number(row.position), recentIds: JSON.parse(row.recent_ids) as string[] };
  }

  async putCheckpoint(consumer: string, checkpoint: Checkpoint): Promise<void> {
    const { position } = checkpoint;
    const recentIds = json(checkpoint.recentIds);
    return this.#write(
      'checkpoints',
      true,
      (sql) => sql`
      INSERT INTO eventloom_reaction_checkpoints (consumer, position, recent_ids)
      VALUES (${consumer}, ${position}, ${recentIds})
      ON CONFLICT (consumer) DO UPDATE SET position = EXCLUDED.position, recent_ids = EXCLUDED.recent_ids`,
    );
  }

  async hasApplied(consumer: string, eventId: string): Promise<boolean> {
    const rows = await this.#read(
      (tx) => tx`
      SELECT 1 FROM eventloom_reaction_applied WHERE consumer = ${consumer} AND event_id = ${eventId}`,
    );
    return rows.length > 0;
  }

  async putApplied(consumer: string, eventId: string): Promise<void> {
    return this.#write(
      'applied',
      true,
      (sql) => sql`
      INSERT INTO eventloom_reaction_applied (consumer, event_id) VALUES (${consumer}, ${eventId})
      ON CONFLICT DO NOTHING`,
    );
  }

  async getDeadLetter(id: string): Promise<DeadLetter | undefined> {
    const [row] = await this.#read<{ letter: string }[]>(
      (tx) => tx`
      SELECT letter FROM eventloom_reaction_dead_letters WHERE id = ${id}`,
    );
    return row && (JSON.parse(row.letter) as DeadLetter);
  }

  async listDeadLetters(): Promise<DeadLetter[]> {
    const rows = await this.#read<{ letter: string }[]>(
      (tx) => tx`
      SELECT letter FROM eventloom_reaction_dead_letters ORDER BY first_failed_at COLLATE "C", id COLLATE "C"`,
    );
    return rows.map((r) => JSON.parse(r.letter) as DeadLetter);
  }

  async countDeadLetters(): Promise<number> {
    const [row] = await this.#read<{ count: string }[]>(
      (tx) => tx`SELECT count(*) AS count FROM eventloom_reaction_dead_letters`,
    );
    return Number(row?.count ?? 0);
  }

  async putDeadLetter(letter: DeadLetter): Promise<void> {
    const text = json(letter);
    return this.#write(
      'deadLetters',
      true,
      (sql) => sql`
      INSERT INTO eventloom_reaction_dead_letters (id, first_failed_at, letter)
      VALUES (${letter.id}, ${letter.firstFailedAt}, ${text})
      ON CONFLICT (id) DO UPDATE SET first_failed_at = EXCLUDED.first_failed_at, letter = EXCLUDED.letter`,
    );
  }

  async deleteDeadLetter(id: string): Promise<boolean> {
    const result = await this.#read((tx) => tx`DELETE FROM eventloom_reaction_dead_letters WHERE id = ${id}`);
    if (result.count > 0) this.touched.add('deadLetters');
    return result.count > 0;
  }

  async getSaga(id: string): Promise<SagaInstance | undefined> {
    const [row] = await this.#read<{ instance: string }[]>(
      (tx) => tx`
      SELECT instance FROM eventloom_reaction_sagas WHERE id = ${id}`,
    );
    return row && (JSON.parse(row.instance) as SagaInstance);
  }

  async listSagas(
    query: { readonly saga?: string; readonly status?: SagaStatus } = {},
  ): Promise<SagaInstance[]> {
    const saga = query.saga ?? null;
    const status = query.status ?? null;
    const rows = await this.#read<{ instance: string }[]>(
      (tx) => tx`
      SELECT instance FROM eventloom_reaction_sagas
       WHERE (${saga}::text IS NULL OR saga = ${saga}::text) AND (${status}::text IS NULL OR status = ${status}::text)
       ORDER BY id COLLATE "C"`,
    );
    return rows.map((r) => JSON.parse(r.instance) as SagaInstance);
  }

  async putSaga(instance: SagaInstance): Promise<void> {
    const text = json(instance);
    return this.#write(
      'sagas',
      true,
      (sql) => sql`
      INSERT INTO eventloom_reaction_sagas (id, saga, status, instance)
      VALUES (${instance.id}, ${instance.saga}, ${instance.status}, ${text})
      ON CONFLICT (id) DO UPDATE SET saga = EXCLUDED.saga, status = EXCLUDED.status, instance = EXCLUDED.instance`,
    );
  }

  async getTimeout(id: string): Promise<SagaTimeoutRecord | undefined> {
    const [row] = await this.#read<{ record: string }[]>(
      (tx) => tx`
      SELECT record FROM eventloom_reaction_timeouts WHERE id = ${id}`,
    );
    return row && (JSON.parse(row.record) as SagaTimeoutRecord);
  }

  async listTimeouts(
    query: { readonly saga?: string; readonly instance?: string } = {},
  ): Promise<SagaTimeoutRecord[]> {
    const saga = query.saga ?? null;
    const instance = query.instance ?? null;
    const rows = await this.#read<{ record: string }[]>(
      (tx) => tx`
      SELECT record FROM eventloom_reaction_timeouts
       WHERE (${saga}::text IS NULL OR saga = ${saga}::text) AND (${instance}::text IS NULL OR instance = ${instance}::text)
       ORDER BY due_at, id COLLATE "C"`,
    );
    return rows.map((r) => JSON.parse(r.record) as SagaTimeoutRecord);
  }

  async putTimeout(timeout: SagaTimeoutRecord): Promise<void> {
    const text = json(timeout);
    return this.#write(
      'timeouts',
      true,
      (sql) => sql`
      INSERT INTO eventloom_reaction_timeouts (id, saga, instance, due_at, record)
      VALUES (${timeout.id}, ${timeout.saga}, ${timeout.instance}, ${timeout.dueAt}, ${text})
      ON CONFLICT (id) DO UPDATE SET saga = EXCLUDED.saga, instance = EXCLUDED.instance,
        due_at = EXCLUDED.due_at, record = EXCLUDED.record`,
    );
  }

  async deleteTimeout(id: string): Promise<boolean> {
    const result = await this.#read((tx) => tx`DELETE FROM eventloom_reaction_timeouts WHERE id = ${id}`);
    if (result.count > 0) this.touched.add('timeouts');
    return result.count > 0;
  }

  async enqueue(messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return this.#check();
    const ids = messages.map((m) => m.id);
    const texts = messages.map((m) => json(m));
    // One statement, in the given order (WITH ORDINALITY): the sequence numbers follow it.
    return this.#write(
      'outbox',
      false,
      (sql) => sql`
      INSERT INTO eventloom_reaction_outbox (id, message)
      SELECT id, message FROM unnest(${ids}::text[], ${texts}::text[]) WITH ORDINALITY AS m(id, message, n)
       ORDER BY n
      ON CONFLICT (id) DO NOTHING`,
    );
  }

  async readOutbox(limit?: number): Promise<OutboxMessage[]> {
    const n = limit === undefined ? null : Math.max(0, Math.floor(limit));
    const rows = await this.#read<{ message: string }[]>(
      (tx) => tx`
      SELECT message FROM eventloom_reaction_outbox ORDER BY seq LIMIT ${n}`,
    );
    return rows.map((r) => JSON.parse(r.message) as OutboxMessage);
  }

  async deleteOutbox(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return this.#check();
    const list = [...ids];
    return this.#write(
      'outbox',
      false,
      (sql) => sql`
      DELETE FROM eventloom_reaction_outbox WHERE id = ANY(${list}::text[])`,
    );
  }

  /** Issues a write: it resolves at once, and fails the transaction if it fails. */
  #write(table: ReactionTable, always: boolean, build: Write['build']): void {
    this.#check();
    this.#issue({ build, table, always });
  }

  /** Issues a read, opening the transaction if it is not yet: its rows, once every earlier statement ran. */
  #read<T extends readonly Row[] = Row[]>(build: Read['build']): Promise<RowList<T>> {
    this.#check();
    if (this.#unopened !== undefined) return Promise.reject(this.#unopened);
    const rows = new Promise<RowList<Row[]>>((resolve, reject) => this.#issue({ build, resolve, reject }));
    this.#open();
    // `T` is the caller's word for the rows, as a tagged template's type argument would be.
    return rows as unknown as Promise<RowList<T>>;
  }

  /** Sends the statement now in the open transaction, else queues it (in issue order) for when it opens. */
  #issue(statement: Statement): void {
    if (this.#tx === undefined) this.#queue.push(statement);
    else this.#send(this.#tx, statement);
  }

  /** Begins the transaction (once): the fence and the queued statements go first, in order. */
  #open(): void {
    if (this.#begun !== undefined) return;
    const finished = new Promise<void>((commit, rollback) => {
      this.#finish = { resolve: commit, reject: rollback };
    });
    this.#begun = this.#sql
      .begin(async (tx) => {
        if (this.#fence !== undefined) this.#watch(fenceQuery(tx, this.#fence));
        const queued = this.#queue;
        this.#queue = [];
        this.#tx = tx;
        for (const statement of queued) this.#send(tx, statement);
        await finished;
      })
      .then(() => undefined);
    this.#begun.catch((error: unknown) => {
      if (this.#tx !== undefined) return;
      // The callback never ran (no connection, BEGIN failed): the reads waiting for it, and any
      // later one, fail with sql.begin's error.
      this.#unopened = error;
      for (const statement of this.#queue) if ('reject' in statement) statement.reject(error);
    });
  }

  /**
   * Sends a statement without waiting for it. A query goes out in the order its execution was
   * asked for (`then` asks at once, where an `await` of it would ask a microtask later).
   */
  #send(tx: TransactionSql, statement: Statement): void {
    if (!('reject' in statement)) {
      this.#watch(statement.build(tx), (count) => this.#noteWrite(statement, count));
    } else if (this.#failure !== undefined) {
      // The transaction failed already: the read would only echo it (25P02).
      statement.reject(this.#failure);
    } else {
      statement
        .build(tx)
        .then(statement.resolve, (error: unknown) => statement.reject(this.#failure ?? error));
    }
  }

  /** Sends a statement without waiting for it; its failure fails the transaction. */
  #watch(query: PendingQuery<Row[]>, counted?: (count: number) => void): void {
    query.then(
      (result) => counted?.(result.count),
      (error: unknown) => {
        this.#failure ??= error;
      },
    );
  }

  #noteWrite(write: Write, count: number): void {
    if (write.always || count > 0) this.touched.add(write.table);
  }

  #check(): void {
    if (this.#ended) {
      throw new CoreError(CoreErrorCode.invalidState, 'the reaction store transaction has ended');
    }
  }
}

function fenceQuery(sql: Sql | TransactionSql, fence: Fence): PendingQuery<Row[]> {
  return sql`SELECT eventloom_reaction_fence(${fence.name}, ${fence.epoch})`;
}

/** JSON text of a value the runtime stores; a value JSON cannot hold is the caller's bug. */
function json(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new CoreError(CoreErrorCode.invalid, 'the value is not JSON');
  return text;
}
