import type Database from 'better-sqlite3';
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { migrateSqlite } from '../src/store/sqlite-migrations.ts';
import { openSqliteDatabase } from '../src/store/sqlite-log.ts';

/** One row of the store's `events` table. */
export interface RawEventRow {
  readonly position: number;
  readonly id: string;
  readonly stream: string;
  readonly streamVersion: number;
  /** The committed event as JSON text. */
  readonly event: string;
}

/**
 * A bare SQLite writer on the event store's own file setup (WAL, `synchronous=FULL`) and schema
 * (the same migrations): the raw baseline of the ingest benchmarks. It inserts `events` rows and
 * nothing else; what the store does beyond that (judging, the stream and client counters, a
 * refusal's record) is the overhead a benchmark's ratio measures.
 *
 * @example
 * const raw = openRawSqliteLog(path);
 * raw.insertBatch(rawRowsOf(envelopes));
 * raw.close();
 */
export interface RawSqliteLog {
  readonly db: Database.Database;
  /** Inserts the rows in one transaction, one cached prepared statement per row; durable on return. */
  insertBatch(rows: readonly RawEventRow[]): void;
  close(): void;
}

/** Opens (creating it with the store's schema) a raw log at `path`; see {@link RawSqliteLog}. */
export function openRawSqliteLog(path: string): RawSqliteLog {
  const db = openSqliteDatabase({ path });
  migrateSqlite(db);
  const insert = db.prepare<[number, string, string, number, string]>(
    'INSERT INTO events (position, id, stream, stream_version, event) VALUES (?, ?, ?, ?, ?)',
  );
  const insertAll = db.transaction((rows: readonly RawEventRow[]) => {
    for (const r of rows) insert.run(r.position, r.id, r.stream, r.streamVersion, r.event);
  });
  return {
    db,
    insertBatch: (rows) => {
      insertAll.immediate(rows);
    },
    close: () => db.close(),
  };
}

/**
 * The rows the store would write for `envelopes` committed in order after position
 * `from` (default 0), counting stream versions in `streams` (updated in place; default fresh).
 */
export function rawRowsOf(
  envelopes: readonly EventEnvelope[],
  from = 0,
  streams: Map<string, number> = new Map(),
): RawEventRow[] {
  const recordedAt = new Date().toISOString();
  return envelopes.map((envelope, i) => {
    const streamVersion = (streams.get(envelope.stream) ?? 0) + 1;
    streams.set(envelope.stream, streamVersion);
    const committed: CommittedEvent = { ...envelope, position: from + i + 1, streamVersion, recordedAt };
    return {
      position: committed.position,
      id: envelope.id,
      stream: envelope.stream,
      streamVersion,
      event: JSON.stringify(committed),
    };
  });
}
