import type Database from 'better-sqlite3';
import type { CommittedEvent, RejectionCode } from '@eventloom/protocol';
import type { AppendSnapshot, PlanItem, RecordedRejection } from './plan-append.ts';

/** A row of `client_rejections`, as the snapshot reads it. */
export interface RejectionRow {
  readonly event_id: string;
  readonly code: string;
  readonly message: string;
  readonly current_version: number | null;
}

/** The statements a {@link SqliteAppendSnapshot} reads with (see `SqliteLog`). */
export interface SnapshotStatements {
  readonly head: Database.Statement<[], number>;
  /**
   * The head, a client's last seq and epoch, and a stream's version, in one row: [head, seq or
   * null, epoch or null, version or null]. Parameters: the stream, then the client id.
   */
  readonly firstLookups: Database.Statement<
    [string, string],
    [number, number | null, number | null, number | null]
  >;
  /** A client's [last seq, epoch], in one row (raw); none for a client never seen. */
  readonly clientRow: Database.Statement<[string], [number, number]>;
  readonly streamVersion: Database.Statement<[string], number>;
  readonly rejection: Database.Statement<[string, number], RejectionRow>;
  readonly eventById: Database.Statement<[string], string>;
}

/** The SQL of {@link SnapshotStatements.firstLookups}. */
export const FIRST_LOOKUPS_SQL = `SELECT
  (SELECT coalesce(max(position), 0) FROM events),
  c.last_seq,
  c.epoch,
  (SELECT version FROM streams WHERE stream = ?)
  FROM (SELECT 1) LEFT JOIN clients AS c ON c.client_id = ?`;

/** A client without a row: last seq 0, epoch 0. */
const NEVER_SEEN = [0, 0] as const;

/**
 * The state of a SQLite log a batch is judged against (`planAppend`), read inside the batch's
 * transaction. {@link prime} reads, in one statement, what judging the batch's first event needs
 * (the head, its client's last seq and epoch, its stream's version: a push holds one event most often);
 * any other stream is looked up when asked, any other client once per batch (its last seq and
 * epoch in one row, kept: the plan asks a client's epoch for each of its events, and an append never
 * moves an epoch). One per log and kind, made once: its
 * lookups are methods, not closures made for each batch.
 *
 * With `idsCheckedOnInsert`, the plan looks up the ids of repeated seqs and rejected events only,
 * and the unique index checks those of the events it inserts; otherwise it looks up every id.
 */
export class SqliteAppendSnapshot implements AppendSnapshot {
  readonly idsCheckedOnInsert: boolean;
  readonly #sql: SnapshotStatements;
  #head = 0;
  #client: string | undefined;
  #clientSeq = 0;
  #epoch = 0;
  /** [last seq, epoch] of the batch's other clients, read once each: cleared by {@link prime}. */
  readonly #others = new Map<string, readonly [number, number]>();
  #stream: string | undefined;
  #version = 0;

  constructor(sql: SnapshotStatements, idsCheckedOnInsert: boolean) {
    this.#sql = sql;
    this.idsCheckedOnInsert = idsCheckedOnInsert;
  }

  /** Reads the state before a batch whose first item is `first`: call at the start of its transaction. */
  prime(first: PlanItem | undefined): void {
    this.#others.clear();
    if (first === undefined) {
      this.#head = this.#sql.head.get() ?? 0;
      this.#client = this.#stream = undefined;
      return;
    }
    const { clientId, stream } = first.event;
    const [head, seq, epoch, version] = this.#sql.firstLookups.get(stream, clientId)!;
    this.#head = head;
    this.#client = clientId;
    this.#clientSeq = seq ?? 0;
    this.#epoch = epoch ?? 0;
    this.#stream = stream;
    this.#version = version ?? 0;
  }

  head(): number {
    return this.#head;
  }

  lastClientSeq(clientId: string): number {
    return clientId === this.#client ? this.#clientSeq : this.#other(clientId)[0];
  }

  clientEpoch(clientId: string): number {
    return clientId === this.#client ? this.#epoch : this.#other(clientId)[1];
  }

  streamVersion(stream: string): number {
    return stream === this.#stream ? this.#version : (this.#sql.streamVersion.get(stream) ?? 0);
  }

  #other(clientId: string): readonly [number, number] {
    let row = this.#others.get(clientId);
    if (row === undefined) {
      row = this.#sql.clientRow.get(clientId) ?? NEVER_SEEN;
      this.#others.set(clientId, row);
    }
    return row;
  }

  rejection(clientId: string, clientSeq: number): RecordedRejection | undefined {
    const row = this.#sql.rejection.get(clientId, clientSeq);
    return row && toRecordedRejection(row);
  }

  committedById(id: string): CommittedEvent | undefined {
    const text = this.#sql.eventById.get(id);
    return text === undefined ? undefined : (JSON.parse(text) as CommittedEvent);
  }
}

function toRecordedRejection(row: RejectionRow): RecordedRejection {
  const base = { id: row.event_id, code: row.code as RejectionCode, message: row.message };
  return row.current_version === null ? base : { ...base, currentVersion: row.current_version };
}
