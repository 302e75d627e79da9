import { matchesSubscription, type CommittedEvent } from '@eventloom/protocol';
import { HubError, HubErrorCode, toHubError } from '../hub/hub-error.ts';
import { envelopeJson } from './committed-json.ts';
import { HeadWatchers } from './head-watchers.ts';
import { RecentCommits } from './recent-commits.ts';
import type {
  ClientRecord,
  EventStore,
  HeadChange,
  StoreAppend,
  StoreAppendResult,
  StoreReadQuery,
  StoreImportResult,
  StoreReadResult,
} from './event-store.ts';
import type { AppendAnswer, AppendColumns, PageText, SqliteLogOptions } from './sqlite-log.ts';
import { SqliteThread, type SqliteCall } from './sqlite-thread.ts';
import { scanWindowOf, streamFilter } from './stream-filter.ts';

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file, created if missing; `:memory:` for a private in-memory log (tests). */
  readonly path: string;
  /** Positions one filtered read scans at most (default 50,000): bounds how long one read blocks. */
  readonly scanWindow?: number;
  /** How long to wait for another connection's lock before failing, in ms (default 5,000). */
  readonly busyTimeoutMs?: number;
  /**
   * Reads on a second connection, on a thread of their own (default true for a file; a
   * `:memory:` log has one connection only). Catch-up pulls then run beside commits.
   */
  readonly readConnection?: boolean;
}

/**
 * Opens (creating or migrating it) the SQLite event log at `options.path`: WAL with
 * `synchronous=FULL`, so that an append resolves only once its transaction is durable. Fails with a
 * {@link HubError} `store` on a file of another application or of a newer schema.
 *
 * The log runs on worker threads (shared by all SQLite stores of the process): commits on one,
 * reads on another with a connection of their own, both opened by the first read that reaches
 * SQLite; neither blocks the caller's event loop, which goes on reading sockets meanwhile, and a
 * long catch-up read does not hold commits up.
 *
 * @example
 * const store = await createSqliteStore({ path: 'data/hub.db' });
 * const page = await store.read({ from: 0, limit: 1000 });
 */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<EventStore> {
  const scanWindow = scanWindowOf(options.scanWindow);
  const logOptions = {
    path: options.path,
    scanWindow,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
  };
  const thread = SqliteThread.shared('writer');
  const handle = await thread.request<number>({ op: 'open', options: logOptions });
  const writer = { thread, handle };
  const inMemory =
    options.path === ':memory:' || options.path === '' || options.path.startsWith('file::memory:');
  if (options.readConnection === false || inMemory) return new SqliteEventStore(writer, undefined);
  // The read connection, and its thread, wait for the first read that needs them: a hub nobody
  // catches up from never starts them (a thread with its own heap costs megabytes).
  return new SqliteEventStore(writer, logOptions);
}

/** A log opened on one of the SQLite threads. */
interface OpenLog {
  readonly thread: SqliteThread;
  readonly handle: number;
}

/** The SQLite store: the caller's side of a log on the SQLite thread; see {@link createSqliteStore}. */
class SqliteEventStore implements EventStore {
  readonly #writer: OpenLog;
  /** How to open the read connection; undefined when reads go to the writer. */
  readonly #readerOptions: SqliteLogOptions | undefined;
  /** The read connection, once a read has needed it (again after a failed open). */
  #reader: Promise<OpenLog> | undefined;
  /** What this store committed last: read back (live feed, pulls near the head) without a query. */
  readonly #recent = new RecentCommits();
  readonly #watchers = new HeadWatchers();
  #closed: Promise<void> | undefined;

  constructor(writer: OpenLog, readerOptions: SqliteLogOptions | undefined) {
    this.#writer = writer;
    this.#readerOptions = readerOptions;
  }

  append(batch: readonly StoreAppend[]): Promise<StoreAppendResult[]> {
    try {
      this.#open();
      if (batch.length === 0) return Promise.resolve([]);
      const columns = columnsOf(batch);
      const { ids, envelopes } = columns;
      const call: SqliteCall = { op: 'append', handle: this.#writer.handle, batch: columns };
      return this.#call<AppendAnswer>(call).then((answer) => {
        let from = -1;
        let head = 0;
        for (let i = 0; i < ids.length; i++) {
          if (answer.others[i] !== undefined) continue;
          const position = answer.positions[i]!;
          if (from < 0) from = position - 1;
          head = position;
          this.#recent.add(envelopes[i]!, position, answer.streamVersions[i]!, answer.recordedAt);
        }
        if (from >= 0 && this.#watchers.size > 0) {
          const recent = this.#recent;
          this.#watchers.emit({ head, from, events: () => recent.page(from, head - from)?.events ?? [] });
        }
        return resultsOf(ids, answer);
      });
    } catch (thrown) {
      return Promise.reject(toHubError(thrown, HubErrorCode.store));
    }
  }

  async read(query: StoreReadQuery): Promise<StoreReadResult> {
    this.#open();
    const filter = streamFilter(query);
    const { from, limit, maxJsonChars } = query;
    if (filter.kind === 'all') {
      const recent = this.#recent.page(from, limit, maxJsonChars);
      if (recent !== undefined) return recent;
    }
    const { thread, handle } = await this.#readLog();
    const page = await thread.request<PageText>({
      op: 'read',
      handle,
      from,
      limit,
      filter,
      ...(maxJsonChars === undefined ? {} : { maxJsonChars }),
    });
    let jsonChars = 0;
    const parsed = page.events.map((text) => {
      jsonChars += text.length;
      return JSON.parse(text) as CommittedEvent;
    });
    if (filter.kind === 'all') return { events: parsed, until: page.until, head: page.head, jsonChars };
    // SQLite holds text as UTF-8, where lone surrogates collapse; compare the exact names again.
    const subscriptions = [...filter.exact, ...filter.prefixes.map((p) => `${p}*`)];
    const events = parsed.filter((e) => matchesSubscription(e.stream, subscriptions));
    return { events, until: page.until, head: page.head, jsonChars };
  }

  async importEvents(
    events: readonly CommittedEvent[],
    options: { readonly hubId?: string } = {},
  ): Promise<StoreImportResult> {
    this.#open();
    // The recent-commits cache holds only what this store appended: an import goes around it, so
    // it starts again from the log.
    const result = await this.#call<StoreImportResult>({
      op: 'import',
      handle: this.#writer.handle,
      events,
      hubId: options.hubId,
    });
    this.#recent.clear();
    return result;
  }

  async head(): Promise<number> {
    this.#open();
    return this.#call<number>({ op: 'head', handle: this.#writer.handle });
  }

  async streamVersion(stream: string): Promise<number> {
    this.#open();
    return this.#call<number>({ op: 'streamVersion', handle: this.#writer.handle, stream });
  }

  async client(clientId: string): Promise<ClientRecord> {
    this.#open();
    return this.#call<ClientRecord>({ op: 'client', handle: this.#writer.handle, clientId });
  }

  async bindClient(clientId: string, principal: string): Promise<boolean> {
    this.#open();
    return this.#call<boolean>({ op: 'bindClient', handle: this.#writer.handle, clientId, principal });
  }

  async hubId(): Promise<string> {
    this.#open();
    return this.#call<string>({ op: 'hubId', handle: this.#writer.handle });
  }

  watchHead(listener: (change: HeadChange) => void): () => void {
    this.#open();
    return this.#watchers.add(listener);
  }

  close(): Promise<void> {
    this.#watchers.clear();
    // Each thread answers in order: requests made before close() finish first.
    const close = ({ thread, handle }: OpenLog) =>
      thread.request<undefined>({ op: 'close', handle }).then(
        () => undefined,
        () => undefined,
      );
    // The reader first, the writer last: the last connection to close folds the WAL into the
    // file, so a file copied after the hub stopped is the whole log. Closed together, the two
    // raced, and a copy of the file alone could miss the end of the log (its hub id included).
    this.#closed ??= (async () => {
      await this.#reader?.then(close, () => undefined);
      await close(this.#writer);
    })();
    return this.#closed;
  }

  /**
   * The connection reads go to: the writer's, or the read connection, opened on the reader thread
   * by the first read (after the writer created or migrated the file: it finds the schema current).
   */
  #readLog(): OpenLog | Promise<OpenLog> {
    const options = this.#readerOptions;
    if (options === undefined) return this.#writer;
    if (this.#reader === undefined) {
      const thread = SqliteThread.shared('reader');
      const opening = thread.request<number>({ op: 'open', options }).then(
        (handle) => ({ thread, handle }),
        (thrown: unknown) => {
          if (this.#reader === opening) this.#reader = undefined;
          throw toHubError(thrown, HubErrorCode.store);
        },
      );
      this.#reader = opening;
    }
    return this.#reader;
  }

  #call<T>(call: SqliteCall): Promise<T> {
    return this.#writer.thread.request<T>(call);
  }

  #open(): void {
    if (this.#closed !== undefined) throw new HubError(HubErrorCode.closed, 'the event store is closed');
  }
}

/** A batch as the SQLite thread takes it: each envelope as JSON text, the fields it judges by beside. */
function columnsOf(batch: readonly StoreAppend[]): AppendColumns {
  const columns: AppendColumns = {
    envelopes: [],
    ids: [],
    clientIds: [],
    clientSeqs: [],
    streams: [],
    expectedVersions: [],
    rejections: [],
  };
  for (const { event, rejection, envelopeJson: text } of batch) {
    columns.envelopes.push(text ?? envelopeJson(event));
    columns.ids.push(event.id);
    columns.clientIds.push(event.clientId);
    columns.clientSeqs.push(event.clientSeq);
    columns.streams.push(event.stream);
    columns.expectedVersions.push(event.expectedVersion);
    columns.rejections.push(rejection);
  }
  return columns;
}

function resultsOf(ids: readonly string[], answer: AppendAnswer): StoreAppendResult[] {
  const results: StoreAppendResult[] = [];
  for (let i = 0; i < ids.length; i++) {
    results.push(
      answer.others[i] ?? {
        status: 'ok',
        id: ids[i]!,
        position: answer.positions[i]!,
        streamVersion: answer.streamVersions[i]!,
      },
    );
  }
  return results;
}
