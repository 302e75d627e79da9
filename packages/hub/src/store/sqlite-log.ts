import Database from 'better-sqlite3';
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { HubError, HubErrorCode, toHubError } from '../hub/hub-error.ts';
import type {
  ClientClaim,
  ClientRecord,
  NewClientClaim,
  StoreAppendResult,
  StoreImportResult,
  StoreJsonPage,
} from './event-store.ts';
import { envelopeAt, type AppendAnswer, type AppendColumns } from './append-columns.ts';
import { jsonPageOf } from './json-page.ts';
import { importHubId, planImport } from './plan-import.ts';
import { committedJsonParts } from './committed-json.ts';
import { planAppend, type AppendPlan, type PlanItem } from './plan-append.ts';
import { FIRST_LOOKUPS_SQL, SqliteAppendSnapshot, type RejectionRow } from './sqlite-append-snapshot.ts';
import { migrateSqlite } from './sqlite-migrations.ts';
import { undefinedSlots } from './slots.ts';
import type { StreamFilter } from './stream-filter.ts';

/** Where a SQLite log lives and how it waits for locks; see `SqliteStoreOptions`. */
export interface SqliteLogOptions {
  readonly path: string;
  readonly scanWindow: number;
  readonly busyTimeoutMs?: number;
}

/** A page as {@link SqliteLog.read} gives it: the events as JSON text, parsed by the reader. */
export interface PageText {
  readonly events: string[];
  readonly until: number;
  readonly head: number;
}

/**
 * Opens a SQLite file the way the store needs it, without touching its schema: WAL (a private
 * journal for `:memory:`), `synchronous=FULL`, a busy timeout. The raw benchmarks open theirs with it too.
 */
export function openSqliteDatabase(
  options: Pick<SqliteLogOptions, 'path' | 'busyTimeoutMs'>,
): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5_000 });
  } catch (cause) {
    throw new HubError(HubErrorCode.store, `cannot open ${options.path}: ${String(cause)}`, { cause });
  }
  try {
    if (db.memory) db.pragma('journal_mode = MEMORY');
    else {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') {
        throw new HubError(
          HubErrorCode.store,
          `${db.name}: WAL is unavailable (journal mode ${String(mode)})`,
        );
      }
    }
    db.pragma('synchronous = FULL');
    return db;
  } catch (thrown) {
    db.close();
    throw toHubError(thrown, HubErrorCode.store);
  }
}

/**
 * The statements of filtered pages, which scan positions (from, bound] by rowid: `+stream` keeps
 * the planner off the (stream, stream_version) index, which would read whole streams and sort
 * them. The names travel as one JSON array parameter, so one statement serves any number of them;
 * substr() compares case-sensitively and needs no escaping, unlike LIKE. Exported for a test.
 */
export const FILTERED_PAGE_SQL = {
  exact: `SELECT position, event, stream FROM events
    WHERE position > ? AND position <= ? AND +stream IN (SELECT value FROM json_each(?))
    ORDER BY position LIMIT ?`,
  prefix: `SELECT position, event, stream FROM events
    WHERE position > ? AND position <= ? AND (
      +stream IN (SELECT value FROM json_each(?))
      OR EXISTS (SELECT 1 FROM json_each(?) AS p WHERE substr(stream, 1, length(p.value)) = p.value)
    )
    ORDER BY position LIMIT ?`,
} as const;

/** Thrown inside an append transaction, to roll it back, when the unique index refused an id. */
const REUSED_ID = Symbol('reused id');

/**
 * The SQLite event log on one connection, synchronous: the store's thread runs it (see
 * `createSqliteStore`). Every append is one IMMEDIATE transaction, durable when it returns.
 */
export class SqliteLog {
  readonly #db: Database.Database;
  readonly #scanWindow: number;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #appendTx: (batch: AppendColumns) => AppendAnswer;
  readonly #readTx: <T>(fn: () => T) => T;
  readonly #importTx: (events: readonly CommittedEvent[], hubId: string | undefined) => StoreImportResult;
  readonly #claimTx: (clientId: string, principal: string) => ClientClaim;
  readonly #claimNewTx: (clientId: string, principal: string) => NewClientClaim;

  /**
   * Opens (creating or migrating it) the log; fails with a {@link HubError} `store`. Without
   * `autoCheckpoint`, its commits never copy the WAL into the file: {@link checkpoint} does.
   * `busyTimeoutMs`: how long its statements wait for a lock once it is open (the migrations wait
   * `options.busyTimeoutMs`).
   */
  static open(
    options: SqliteLogOptions,
    { autoCheckpoint = true, busyTimeoutMs }: { autoCheckpoint?: boolean; busyTimeoutMs?: number } = {},
  ): SqliteLog {
    const db = openSqliteDatabase(options);
    try {
      if (!autoCheckpoint) db.pragma('wal_autocheckpoint = 0');
      migrateSqlite(db);
      // PRAGMA takes no parameters: a number, checked here.
      if (busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
      return new SqliteLog(db, options.scanWindow);
    } catch (thrown) {
      db.close();
      throw toHubError(thrown, HubErrorCode.store);
    }
  }

  private constructor(db: Database.Database, scanWindow: number) {
    this.#db = db;
    this.#scanWindow = scanWindow;
    this.#sql = prepareStatements(db);
    const snapshots = [new SqliteAppendSnapshot(this.#sql, false), new SqliteAppendSnapshot(this.#sql, true)];
    const append = db.transaction((items: readonly LogItem[], idsCheckedOnInsert: boolean) => {
      const snapshot = snapshots[Number(idsCheckedOnInsert)]!;
      snapshot.prime(items[0]);
      const plan = planAppend(snapshot, items, envelopeOfItem);
      const recordedAt = new Date().toISOString();
      this.#write(plan, recordedAt, idsCheckedOnInsert);
      return answerOf(plan.results, recordedAt);
    });
    // IMMEDIATE: take the write lock before reading the state the batch is judged against. First
    // without a lookup of each new event's id: the unique index refuses one that is stored already
    // (nearly never), and then the batch is rolled back and planned again, looking every id up.
    this.#appendTx = (batch) => {
      const items = itemsOf(batch);
      try {
        return append.immediate(items, true);
      } catch (thrown) {
        if (thrown !== REUSED_ID) throw thrown;
        return append.immediate(items, false);
      }
    };
    const importTx = db.transaction((events: readonly CommittedEvent[], hubId: string | undefined) => {
      const sql = this.#sql;
      const takeId = importHubId(sql.head.get() ?? 0, this.hubId(), hubId);
      const plan = planImport(
        {
          head: () => sql.head.get() ?? 0,
          committedById: (id) => {
            const text = sql.eventById.get(id);
            return text === undefined ? undefined : (JSON.parse(text) as CommittedEvent);
          },
          streamVersion: (stream) => sql.streamVersion.get(stream) ?? 0,
          lastClientSeq: (clientId) => sql.lastSeq.get(clientId) ?? 0,
        },
        events,
      );
      if (takeId) sql.setMeta.run(hubId!, 'hub_id');
      for (const event of plan.events) {
        sql.insertEvent.run(
          event.position,
          event.id,
          event.stream,
          event.streamVersion,
          JSON.stringify(event),
          '',
        );
      }
      for (const [stream, version] of plan.streamVersions) sql.setStream.run(stream, version);
      for (const [clientId, seq] of plan.clientSeqs) sql.setClientSeq.run(clientId, seq);
      for (const [clientId, principal] of plan.principals) sql.bindClient.run(clientId, principal);
      return { imported: plan.events.length, skipped: plan.skipped, head: sql.head.get() ?? 0 };
    });
    this.#importTx = (events, hubId) => importTx.immediate(events, hubId);
    const sql = this.#sql;
    const claim = db.transaction((clientId: string, principal: string): ClientClaim => {
      const row = sql.claimClient.get(clientId, principal) ?? sql.client.get(clientId);
      if (row === undefined) return { lastClientSeq: 0, principal: undefined, epoch: 0 };
      return { lastClientSeq: row.last_seq, principal: row.principal ?? undefined, epoch: row.epoch };
    });
    this.#claimTx = (clientId, principal) => claim.immediate(clientId, principal);
    const claimNew = db.transaction((clientId: string, principal: string): NewClientClaim => {
      const row = sql.client.get(clientId);
      if (row !== undefined && row.principal !== null && row.principal !== principal) {
        return { status: 'other-principal' };
      }
      if (row !== undefined && (row.epoch !== 0 || row.last_seq !== 0)) return { status: 'fenced' };
      sql.claimNewClient.run(clientId, principal);
      return { status: 'claimed', epoch: 1 };
    });
    this.#claimNewTx = (clientId, principal) => claimNew.immediate(clientId, principal);
    const read = db.transaction((fn: () => unknown) => fn());
    this.#readTx = <T>(fn: () => T) => read.deferred(fn) as T;
  }

  /** Commits or records each event, in order, in one durable transaction. */
  append(batch: AppendColumns): AppendAnswer {
    return this.#appendTx(batch);
  }

  /**
   * Reads the events after `from` (see `EventStore.read`), as JSON text. A filtered page may hold
   * events of streams that differ from a wanted one only in lone surrogates (SQLite keeps UTF-8):
   * the reader filters the parsed events again.
   */
  read(from: number, limit: number, filter: StreamFilter, maxJsonChars = Infinity): PageText {
    return this.#readTx(() => {
      const { texts, until, head } = this.#page(from, limit, filter, maxJsonChars);
      return { events: texts, until, head };
    });
  }

  /** The same page as {@link read}, as `EventStore.readJson` gives it (filtered exactly). */
  readJson(from: number, limit: number, filter: StreamFilter, maxJsonChars = Infinity): StoreJsonPage {
    return this.#readTx(() => {
      const { texts, streams, until, head } = this.#page(from, limit, filter, maxJsonChars);
      return jsonPageOf(texts, streams, filter, until, head);
    });
  }

  /** The rows of a page (inside a read transaction): their texts and stream columns, until, head. */
  #page(from: number, limit: number, filter: StreamFilter, maxJsonChars: number) {
    const sql = this.#sql;
    const head = sql.head.get() ?? 0;
    if (filter.kind === 'all') {
      // Without a budget every row is wanted: all() is the quicker way to them.
      const rows = maxJsonChars === Infinity ? sql.page.all(from, limit) : sql.page.iterate(from, limit);
      const page = collect(rows, maxJsonChars);
      const until = page.cut ? page.last : page.texts.length === limit ? page.last : Math.max(from, head);
      return { texts: page.texts, streams: page.streams, until, head };
    }
    const bound = Math.min(head, from + this.#scanWindow);
    const exact = JSON.stringify(filter.exact);
    const prefixes = JSON.stringify(filter.prefixes);
    const all = maxJsonChars === Infinity;
    const rows =
      filter.prefixes.length === 0
        ? all
          ? sql.pageExact.all(from, bound, exact, limit)
          : sql.pageExact.iterate(from, bound, exact, limit)
        : all
          ? sql.pagePrefix.all(from, bound, exact, prefixes, limit)
          : sql.pagePrefix.iterate(from, bound, exact, prefixes, limit);
    const page = collect(rows, maxJsonChars);
    const until = page.cut ? page.next - 1 : page.texts.length === limit ? page.last : Math.max(from, bound);
    return { texts: page.texts, streams: page.streams, until, head };
  }

  /** Writes exported events as they are, in one durable transaction (see `planImport`). */
  importEvents(events: readonly CommittedEvent[], hubId: string | undefined): StoreImportResult {
    return this.#importTx(events, hubId);
  }

  head(): number {
    return this.#sql.head.get() ?? 0;
  }

  streamVersion(stream: string): number {
    return this.#sql.streamVersion.get(stream) ?? 0;
  }

  client(clientId: string): ClientRecord {
    const row = this.#sql.client.get(clientId);
    return { lastClientSeq: row?.last_seq ?? 0, principal: row?.principal ?? undefined };
  }

  bindClient(clientId: string, principal: string): boolean {
    this.#sql.bindClient.run(clientId, principal);
    return this.#sql.client.get(clientId)?.principal === principal;
  }

  /** `EventStore.claimClient`, in one IMMEDIATE transaction: ordered with every append. */
  claimClient(clientId: string, principal: string): ClientClaim {
    return this.#claimTx(clientId, principal);
  }

  /** `EventStore.claimNewClient`, in one IMMEDIATE transaction. */
  claimNewClient(clientId: string, principal: string): NewClientClaim {
    return this.#claimNewTx(clientId, principal);
  }

  hubId(): string {
    const id = this.#sql.hubId.get('hub_id');
    if (id === undefined) throw new HubError(HubErrorCode.store, `${this.#db.name} has no hub id`);
    return id;
  }

  /** Copies what the WAL holds into the file, as far as readers let it, waiting for no one. */
  checkpoint(): void {
    this.#db.pragma('wal_checkpoint(PASSIVE)');
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #write(plan: AppendPlan<LogItem>, recordedAt: string, idsCheckedOnInsert: boolean): void {
    const sql = this.#sql;
    for (const { item, position, streamVersion } of plan.events) {
      // SQLite joins the two parts: no joined copy of each event is made on this heap.
      const [head, tail] = committedJsonParts(item.envelope, position, streamVersion, recordedAt);
      const { changes } = sql.insertEvent.run(
        position,
        item.event.id,
        item.event.stream,
        streamVersion,
        head,
        tail,
      );
      if (changes === 0) {
        if (idsCheckedOnInsert) throw REUSED_ID;
        throw new HubError(HubErrorCode.store, `event store: id ${item.event.id} is stored already`);
      }
    }
    for (const { clientId, clientSeq, rejection } of plan.rejections) {
      sql.insertRejection.run(
        clientId,
        clientSeq,
        rejection.id,
        rejection.code,
        rejection.message,
        rejection.currentVersion ?? null,
      );
    }
    for (const [stream, version] of plan.streamVersions) sql.setStream.run(stream, version);
    for (const [clientId, seq] of plan.clientSeqs) sql.setClientSeq.run(clientId, seq);
  }
}

/** The whole envelope of an item, for the plan's rare comparison of contents. */
function envelopeOfItem(item: LogItem): EventEnvelope {
  return JSON.parse(item.envelope) as EventEnvelope;
}

/** One event of an {@link AppendColumns} batch, as the plan reads it. */
interface LogItem extends PlanItem {
  readonly envelope: string;
}

function itemsOf(batch: AppendColumns): LogItem[] {
  const items: LogItem[] = [];
  for (let i = 0; i < batch.ids.length; i++) {
    const event = {
      id: batch.ids[i]!,
      clientId: batch.clientIds[i]!,
      clientSeq: batch.clientSeqs[i]!,
      stream: batch.streams[i]!,
      expectedVersion: batch.expectedVersions[i],
    };
    // One shape for every item, `rejection` and `epoch` undefined when absent.
    items.push({
      event,
      envelope: envelopeAt(batch, i),
      rejection: batch.rejections[i],
      epoch: batch.epochs?.[i],
    });
  }
  return items;
}

function answerOf(results: readonly StoreAppendResult[], recordedAt: string): AppendAnswer {
  const positions = new Float64Array(results.length);
  const streamVersions = new Float64Array(results.length);
  const others = undefinedSlots<StoreAppendResult>(results.length);
  for (let i = 0; i < results.length; i++) {
    const result = results[i]!;
    if (result.status === 'ok') {
      positions[i] = result.position;
      streamVersions[i] = result.streamVersion;
    } else others[i] = result;
  }
  return { positions, streamVersions, others, recordedAt };
}

/**
 * The texts and streams of rows (position, event, stream) in position order, until `maxJsonChars`
 * would be passed (the first row always goes in). `cut`: rows were left; `next` is the position of
 * the first one left. Stops the statement there, so the rows after the budget are never read.
 */
function collect(
  rows: Iterable<[number, string, string]>,
  maxJsonChars: number,
): { texts: string[]; streams: string[]; last: number; cut: boolean; next: number } {
  const texts: string[] = [];
  const streams: string[] = [];
  let chars = 0;
  let last = 0;
  // Leaving the loop early ends the statement (for an iterator) before the next row is read.
  for (const [position, text, stream] of rows) {
    if (texts.length > 0 && chars + text.length > maxJsonChars) {
      return { texts, streams, last, cut: true, next: position };
    }
    texts.push(text);
    streams.push(stream);
    chars += text.length;
    last = position;
  }
  return { texts, streams, last, cut: false, next: 0 };
}

/** Every statement the log runs, prepared once. */
function prepareStatements(db: Database.Database) {
  return {
    head: db.prepare<[], number>('SELECT coalesce(max(position), 0) FROM events').pluck(),
    hubId: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare<[string, string]>('UPDATE meta SET value = ? WHERE key = ?'),
    eventById: db.prepare<[string], string>('SELECT event FROM events WHERE id = ?').pluck(),
    streamVersion: db.prepare<[string], number>('SELECT version FROM streams WHERE stream = ?').pluck(),
    lastSeq: db.prepare<[string], number>('SELECT last_seq FROM clients WHERE client_id = ?').pluck(),
    client: db.prepare<[string], { last_seq: number; principal: string | null; epoch: number }>(
      'SELECT last_seq, principal, epoch FROM clients WHERE client_id = ?',
    ),
    clientRow: db
      .prepare<[string], [number, number]>('SELECT last_seq, epoch FROM clients WHERE client_id = ?')
      .raw(),
    claimClient: db.prepare<[string, string], { last_seq: number; principal: string | null; epoch: number }>(
      `UPDATE clients SET epoch = epoch + 1
       WHERE client_id = ? AND (principal IS NULL OR principal = ?)
       RETURNING last_seq, principal, epoch`,
    ),
    claimNewClient: db.prepare<[string, string]>(
      `INSERT INTO clients (client_id, last_seq, principal, epoch) VALUES (?, 0, ?, 1)
       ON CONFLICT (client_id) DO UPDATE SET principal = excluded.principal, epoch = 1`,
    ),
    firstLookups: db
      .prepare<[string, string], [number, number | null, number | null, number | null]>(FIRST_LOOKUPS_SQL)
      .raw(),
    rejection: db.prepare<[string, number], RejectionRow>(
      `SELECT event_id, code, message, current_version
       FROM client_rejections WHERE client_id = ? AND client_seq = ?`,
    ),
    insertEvent: db.prepare<[number, string, string, number, string, string]>(
      `INSERT INTO events (position, id, stream, stream_version, event) VALUES (?, ?, ?, ?, ? || ?)
       ON CONFLICT (id) DO NOTHING`,
    ),
    insertRejection: db.prepare<[string, number, string, string, string, number | null]>(
      `INSERT INTO client_rejections (client_id, client_seq, event_id, code, message, current_version)
       VALUES (?, ?, ?, ?, ?, ?)`,
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
      .prepare<[number, number], [number, string, string]>(
        'SELECT position, event, stream FROM events WHERE position > ? ORDER BY position LIMIT ?',
      )
      .raw(),
    pageExact: db
      .prepare<[number, number, string, number], [number, string, string]>(FILTERED_PAGE_SQL.exact)
      .raw(),
    pagePrefix: db
      .prepare<[number, number, string, string, number], [number, string, string]>(FILTERED_PAGE_SQL.prefix)
      .raw(),
  };
}
