import Database from 'better-sqlite3';
import { matchesSubscription, type CommittedEvent, type RejectionCode } from '@eventloom/protocol';
import { HubFailure, HubFailureCode, toHubFailure } from '../hub/hub-failure.ts';
import type {
  ClientRecord,
  EventStore,
  StoreAppend,
  StoreAppendResult,
  StoreReadResult,
} from './event-store.ts';
import { planAppend, type AppendPlan, type AppendSnapshot, type RecordedResult } from './plan-append.ts';
import { migrateSqlite } from './sqlite-migrations.ts';
import { scanWindowOf, streamFilter } from './stream-filter.ts';

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file, created if missing; `:memory:` for a private in-memory log (tests). */
  readonly path: string;
  /** Positions one filtered read scans at most (default 50,000): bounds how long one read blocks. */
  readonly scanWindow?: number;
  /** How long to wait for another connection's lock before failing, in ms (default 5,000). */
  readonly busyTimeoutMs?: number;
}

/**
 * Opens (creating or migrating it) the SQLite event log at `options.path`: WAL with
 * `synchronous=FULL`, so that an append resolves only once its transaction is durable. Fails with a
 * {@link HubFailure} `store` on a file of another application or of a newer schema.
 *
 * @example
 * const store = await createSqliteStore({ path: 'data/hub.db' });
 * const page = await store.read({ from: 0, limit: 1000 });
 */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<EventStore> {
  const scanWindow = scanWindowOf(options.scanWindow);
  const db = openSqliteDatabase(options);
  try {
    migrateSqlite(db);
    return new SqliteEventStore(db, scanWindow);
  } catch (thrown) {
    db.close();
    throw toStoreFailure(thrown);
  }
}

/**
 * Opens a SQLite file the way the store needs it, without touching its schema: WAL (a private
 * journal for `:memory:`), `synchronous=FULL`, a busy timeout. The raw benchmarks open theirs with it too.
 */
export function openSqliteDatabase(
  options: Pick<SqliteStoreOptions, 'path' | 'busyTimeoutMs'>,
): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5_000 });
  } catch (cause) {
    throw new HubFailure(HubFailureCode.store, `cannot open ${options.path}: ${String(cause)}`, { cause });
  }
  try {
    if (db.memory) db.pragma('journal_mode = MEMORY');
    else {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') {
        throw new HubFailure(
          HubFailureCode.store,
          `${db.name}: WAL is unavailable (journal mode ${String(mode)})`,
        );
      }
    }
    db.pragma('synchronous = FULL');
    return db;
  } catch (thrown) {
    db.close();
    throw toStoreFailure(thrown);
  }
}

/**
 * The statements of filtered pages, which scan positions (from, bound] by rowid: `+stream` keeps
 * the planner off the (stream, stream_version) index, which would read whole streams and sort
 * them. The names travel as one JSON array parameter, so one statement serves any number of them;
 * substr() compares case-sensitively and needs no escaping, unlike LIKE. Exported for a test.
 */
export const FILTERED_PAGE_SQL = {
  exact: `SELECT event FROM events
    WHERE position > ? AND position <= ? AND +stream IN (SELECT value FROM json_each(?))
    ORDER BY position LIMIT ?`,
  prefix: `SELECT event FROM events
    WHERE position > ? AND position <= ? AND (
      +stream IN (SELECT value FROM json_each(?))
      OR EXISTS (SELECT 1 FROM json_each(?) AS p WHERE substr(stream, 1, length(p.value)) = p.value)
    )
    ORDER BY position LIMIT ?`,
} as const;

interface ResultRow {
  readonly event_id: string;
  readonly status: 'ok' | 'rejected';
  readonly position: number | null;
  readonly code: string | null;
  readonly message: string | null;
  readonly current_version: number | null;
}

/** The SQLite store; see {@link createSqliteStore}. */
class SqliteEventStore implements EventStore {
  readonly #db: Database.Database;
  readonly #scanWindow: number;
  readonly #appendTx: (batch: readonly StoreAppend[]) => StoreAppendResult[];
  readonly #readTx: <T>(fn: () => T) => T;
  readonly #snapshot: AppendSnapshot;
  readonly #sql: ReturnType<typeof prepareStatements>;

  constructor(db: Database.Database, scanWindow: number) {
    this.#db = db;
    this.#scanWindow = scanWindow;
    this.#sql = prepareStatements(db);
    const sql = this.#sql;
    this.#snapshot = {
      head: () => sql.head.get() ?? 0,
      lastClientSeq: (clientId) => sql.lastSeq.get(clientId) ?? 0,
      recordedResult: (clientId, clientSeq) => {
        const row = sql.result.get(clientId, clientSeq);
        return row && toRecordedResult(row);
      },
      committedById: (id) => {
        const text = sql.eventById.get(id);
        return text === undefined ? undefined : (JSON.parse(text) as CommittedEvent);
      },
      streamVersion: (stream) => sql.streamVersion.get(stream) ?? 0,
    };
    const append = db.transaction((batch: readonly StoreAppend[]) => {
      const plan = planAppend(this.#snapshot, batch, new Date().toISOString());
      this.#write(plan);
      return plan.results;
    });
    // IMMEDIATE: take the write lock before reading the state the batch is judged against.
    this.#appendTx = (batch) => append.immediate(batch);
    const read = db.transaction((fn: () => unknown) => fn());
    this.#readTx = <T>(fn: () => T) => read.deferred(fn) as T;
  }

  async append(batch: readonly StoreAppend[]): Promise<StoreAppendResult[]> {
    this.#open();
    if (batch.length === 0) return [];
    try {
      return this.#appendTx(batch);
    } catch (thrown) {
      throw toStoreFailure(thrown);
    }
  }

  async read(query: {
    readonly from: number;
    readonly limit: number;
    readonly streams?: readonly string[];
  }): Promise<StoreReadResult> {
    this.#open();
    const filter = streamFilter(query);
    const { from, limit } = query;
    const sql = this.#sql;
    return this.#readTx(() => {
      const head = sql.head.get() ?? 0;
      if (filter.kind === 'all') {
        const events = parseEvents(sql.page.all(from, limit));
        const until =
          events.length === limit ? (events[limit - 1] as CommittedEvent).position : Math.max(from, head);
        return { events, until, head };
      }
      const bound = Math.min(head, from + this.#scanWindow);
      const rows =
        filter.prefixes.length === 0
          ? sql.pageExact.all(from, bound, JSON.stringify(filter.exact), limit)
          : sql.pagePrefix.all(
              from,
              bound,
              JSON.stringify(filter.exact),
              JSON.stringify(filter.prefixes),
              limit,
            );
      const scanned = parseEvents(rows);
      const until =
        scanned.length === limit ? (scanned[limit - 1] as CommittedEvent).position : Math.max(from, bound);
      // SQLite holds text as UTF-8, where lone surrogates collapse; compare the exact names again.
      const subscriptions = [...filter.exact, ...filter.prefixes.map((p) => `${p}*`)];
      const events = scanned.filter((e) => matchesSubscription(e.stream, subscriptions));
      return { events, until, head };
    });
  }

  async head(): Promise<number> {
    this.#open();
    return this.#sql.head.get() ?? 0;
  }

  async streamVersion(stream: string): Promise<number> {
    this.#open();
    return this.#sql.streamVersion.get(stream) ?? 0;
  }

  async client(clientId: string): Promise<ClientRecord> {
    this.#open();
    const row = this.#sql.client.get(clientId);
    return { lastClientSeq: row?.last_seq ?? 0, principal: row?.principal ?? undefined };
  }

  async bindClient(clientId: string, principal: string): Promise<boolean> {
    this.#open();
    try {
      this.#sql.bindClient.run(clientId, principal);
    } catch (thrown) {
      throw toStoreFailure(thrown);
    }
    return this.#sql.client.get(clientId)?.principal === principal;
  }

  async hubId(): Promise<string> {
    this.#open();
    const id = this.#sql.hubId.get('hub_id');
    if (id === undefined) throw new HubFailure(HubFailureCode.store, `${this.#db.name} has no hub id`);
    return id;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #write(plan: AppendPlan): void {
    const sql = this.#sql;
    for (const e of plan.events) {
      sql.insertEvent.run(e.position, e.id, e.stream, e.streamVersion, JSON.stringify(e));
    }
    for (const { clientId, clientSeq, result } of plan.records) {
      if (result.status === 'ok') {
        sql.insertResult.run(clientId, clientSeq, result.id, 'ok', result.position, null, null, null);
      } else {
        sql.insertResult.run(
          clientId,
          clientSeq,
          result.id,
          'rejected',
          null,
          result.code,
          result.message,
          result.currentVersion ?? null,
        );
      }
    }
    for (const [stream, version] of plan.streamVersions) sql.setStream.run(stream, version);
    for (const [clientId, seq] of plan.clientSeqs) sql.setClientSeq.run(clientId, seq);
  }

  #open(): void {
    if (!this.#db.open) throw new HubFailure(HubFailureCode.closed, 'the event store is closed');
  }
}

/** Every statement the store runs, prepared once. */
function prepareStatements(db: Database.Database) {
  return {
    head: db.prepare<[], number>('SELECT coalesce(max(position), 0) FROM events').pluck(),
    hubId: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
    eventById: db.prepare<[string], string>('SELECT event FROM events WHERE id = ?').pluck(),
    streamVersion: db.prepare<[string], number>('SELECT version FROM streams WHERE stream = ?').pluck(),
    lastSeq: db.prepare<[string], number>('SELECT last_seq FROM clients WHERE client_id = ?').pluck(),
    client: db.prepare<[string], { last_seq: number; principal: string | null }>(
      'SELECT last_seq, principal FROM clients WHERE client_id = ?',
    ),
    result: db.prepare<[string, number], ResultRow>(
      `SELECT event_id, status, position, code, message, current_version
       FROM client_results WHERE client_id = ? AND client_seq = ?`,
    ),
    insertEvent: db.prepare<[number, string, string, number, string]>(
      'INSERT INTO events (position, id, stream, stream_version, event) VALUES (?, ?, ?, ?, ?)',
    ),
    insertResult: db.prepare<
      [string, number, string, string, number | null, string | null, string | null, number | null]
    >(
      `INSERT INTO client_results
         (client_id, client_seq, event_id, status, position, code, message, current_version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    setStream: db.prepare<[string, number]>(
      `INSERT INTO streams (stream, version) VALUES (?, ?)
       ON CONFLICT (stream) DO UPDATE SET version = excluded.version`,
    ),
    setClientSeq: db.prepare<[string, number]>(
      `INSERT INTO clients (client_id, last_seq) VALUES (?, ?)
       ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq`,
    ),
    bindClient: db.prepare<[string, string]>(
      `INSERT INTO clients (client_id, last_seq, principal) VALUES (?, 0, ?)
       ON CONFLICT (client_id) DO UPDATE SET principal = excluded.principal WHERE principal IS NULL`,
    ),
    page: db
      .prepare<[number, number], string>(
        'SELECT event FROM events WHERE position > ? ORDER BY position LIMIT ?',
      )
      .pluck(),
    pageExact: db.prepare<[number, number, string, number], string>(FILTERED_PAGE_SQL.exact).pluck(),
    pagePrefix: db
      .prepare<[number, number, string, string, number], string>(FILTERED_PAGE_SQL.prefix)
      .pluck(),
  };
}

/** Parses stored events, one `JSON.parse` per row (faster than one parse of the joined page). */
function parseEvents(rows: readonly string[]): CommittedEvent[] {
  return rows.map((text) => JSON.parse(text) as CommittedEvent);
}

function toRecordedResult(row: ResultRow): RecordedResult {
  if (row.status === 'ok') return { status: 'ok', id: row.event_id, position: row.position ?? 0 };
  const base = {
    status: 'rejected' as const,
    id: row.event_id,
    code: row.code as RejectionCode,
    message: row.message ?? '',
  };
  return row.current_version === null ? base : { ...base, currentVersion: row.current_version };
}

/** A SQLite error as the hub's `store` failure; our own failures pass through. */
function toStoreFailure(thrown: unknown): HubFailure {
  if (thrown instanceof HubFailure) return thrown;
  if (thrown instanceof Error) {
    return new HubFailure(HubFailureCode.store, `event store: ${thrown.message}`, { cause: thrown });
  }
  return toHubFailure(thrown);
}
