import { matchesSubscription, type CommittedEvent } from '@eventloom/protocol';
import { HubError, HubErrorCode, toHubError } from '../hub/hub-error.ts';
import { committedJson } from './committed-json.ts';
import { HeadWatchers } from './head-watchers.ts';
import { RecentCommits } from './recent-commits.ts';
import type {
  ClientRecord,
  CommittedJson,
  EventStore,
  HeadChange,
  StoreAppend,
  StoreAppendResult,
  StoreReadQuery,
  StoreImportResult,
  StoreJsonPage,
  StoreReadResult,
} from './event-store.ts';
import type { LocalWriter } from './sqlite-local-writer.ts';
import { appendColumnsOf, type AppendAnswer, type AppendColumns } from './append-columns.ts';
import type { PageText, SqliteLogOptions } from './sqlite-log.ts';
import { SqliteThread, type SqliteCall } from './sqlite-thread.ts';
import { scanWindowOf, streamFilter, subscriptionsOf, type StreamFilter } from './stream-filter.ts';

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
 * long catch-up read does not hold commits up. One exception, for latency: a small batch (at most
 * 16 events) that finds the commit thread idle is committed on the caller's thread, on a second
 * connection, unless that thread committed too recently or its last commit took over 2 ms (then
 * for a while, longer while such commits follow: see `sqlite-local-writer.ts`); durability is the same.
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
  // A `:memory:` log lives on the SQLite thread alone; a file gets a second write connection on
  // this thread, opened by the first append.
  const local = inMemory ? undefined : logOptions;
  if (options.readConnection === false || inMemory) return new SqliteEventStore(writer, undefined, local);
  // The read connection, and its thread, wait for the first read that needs them: a hub nobody
  // catches up from never starts them (a thread with its own heap costs megabytes).
  return new SqliteEventStore(writer, logOptions, local);
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
  /** The read connection, opening or open, once a read has needed it (again after a failed open). */
  #reader: Promise<OpenLog> | undefined;
  /** The read connection once it is open: until then, reads go to the writer's. */
  #readerOpen: OpenLog | undefined;
  /** What this store committed last: read back (live feed, pulls near the head) without a query. */
  readonly #recent = new RecentCommits();
  readonly #watchers = new HeadWatchers();
  /**
   * How to open the write connection on this thread, for small batches while the SQLite thread is
   * idle (undefined for a `:memory:` log); the connection, once the first append has opened it in
   * the background (a hub nobody pushes to loads no SQLite on its thread); null when it cannot be.
   */
  readonly #localOptions: SqliteLogOptions | undefined;
  #local: LocalWriter | null | undefined;
  /** Requests of this log on the SQLite thread not answered yet. */
  #calls = 0;
  #closed: Promise<void> | undefined;

  constructor(
    writer: OpenLog,
    readerOptions: SqliteLogOptions | undefined,
    localOptions: SqliteLogOptions | undefined,
  ) {
    this.#writer = writer;
    this.#readerOptions = readerOptions;
    this.#localOptions = localOptions;
  }

  append(batch: readonly StoreAppend[]): Promise<StoreAppendResult[]> {
    try {
      this.#open();
      if (batch.length === 0) return Promise.resolve([]);
      const { columns, texts } = appendColumnsOf(batch);
      // Here and now when the SQLite thread has nothing of this log in hand (so commits keep their
      // call order) and the batch is small: no thread hop on an idle hub's path.
      const local =
        this.#calls === 0 ? this.#localWriter()?.append(columns, () => this.#checkpoint()) : undefined;
      if (local !== undefined) return Promise.resolve(this.#committed(columns, texts, local));
      const call: SqliteCall = { op: 'append', handle: this.#writer.handle, batch: columns };
      return this.#call<AppendAnswer>(call).then((answer) => this.#committed(columns, texts, answer));
    } catch (thrown) {
      return Promise.reject(toHubError(thrown, HubErrorCode.store));
    }
  }

  /** Takes a durable commit's answer: remembers the events, tells the watchers, answers the batch. */
  #committed(
    { ids, streams }: AppendColumns,
    envelopes: readonly string[],
    answer: AppendAnswer,
  ): StoreAppendResult[] {
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
      this.#watchers.emit({
        head,
        from,
        events: () => recent.page(from, head - from)?.events ?? [],
        json: () => committedTexts(envelopes, streams, answer),
      });
    }
    return resultsOf(ids, answer);
  }

  /** The write connection on this thread, if open; the first call starts opening it. */
  #localWriter(): LocalWriter | undefined {
    if (this.#local !== undefined || this.#localOptions === undefined) return this.#local ?? undefined;
    this.#local = null;
    const options = this.#localOptions;
    import('./sqlite-local-writer.ts').then(
      ({ LocalWriter }) => {
        if (this.#closed !== undefined) return;
        try {
          this.#local = LocalWriter.open(options);
        } catch {
          // Every batch goes to the SQLite thread, as it would anyway.
        }
      },
      () => undefined,
    );
    return undefined;
  }

  /** Asks the SQLite thread to checkpoint what this thread's connection committed. */
  #checkpoint(): void {
    void this.#writer.thread
      .request<undefined>({ op: 'checkpoint', handle: this.#writer.handle })
      .catch(() => undefined);
  }

  async read(query: StoreReadQuery): Promise<StoreReadResult> {
    this.#open();
    const filter = streamFilter(query);
    const { from, limit, maxJsonChars } = query;
    if (filter.kind === 'all') {
      const recent = this.#recent.page(from, limit, maxJsonChars);
      if (recent !== undefined) return recent;
    }
    const page = await this.#readPage<PageText>('read', query, filter);
    let jsonChars = 0;
    const parsed = page.events.map((text) => {
      jsonChars += text.length;
      return JSON.parse(text) as CommittedEvent;
    });
    if (filter.kind === 'all') return { events: parsed, until: page.until, head: page.head, jsonChars };
    // SQLite holds text as UTF-8, where lone surrogates collapse; compare the exact names again.
    const subscriptions = subscriptionsOf(filter);
    const events = parsed.filter((e) => matchesSubscription(e.stream, subscriptions));
    return { events, until: page.until, head: page.head, jsonChars };
  }

  /**
   * Always from SQLite, not from the recent commits: on the read connection's thread (the writer's
   * until it is open), the texts are joined, encoded and the filter checked off this thread, which
   * only passes the page on (its bytes moved, not copied).
   */
  async readJson(query: StoreReadQuery): Promise<StoreJsonPage> {
    this.#open();
    return this.#readPage<StoreJsonPage>('readJson', query, streamFilter(query));
  }

  /** Asks the read connection (the writer's, without one or until it is open) for a page. */
  async #readPage<T>(op: 'read' | 'readJson', query: StoreReadQuery, filter: StreamFilter): Promise<T> {
    const { thread, handle } = this.#readLog();
    const { from, limit, maxJsonChars } = query;
    return thread.request<T>({
      op,
      handle,
      from,
      limit,
      filter,
      ...(maxJsonChars === undefined ? {} : { maxJsonChars }),
    });
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
      this.#local?.close();
      await close(this.#writer);
    })();
    return this.#closed;
  }

  /**
   * The connection a read goes to: the read connection once it is open, the writer's until then.
   * The first read starts opening the read connection on the reader thread (after the writer
   * created or migrated the file: it finds the schema current), and no read waits for it: starting
   * that thread takes milliseconds on an idle machine but seconds on a loaded one (from TypeScript
   * source, tsx registers inside it), and after every start of the hub the first pulls waited so.
   */
  #readLog(): OpenLog {
    const options = this.#readerOptions;
    if (options === undefined) return this.#writer;
    if (this.#readerOpen !== undefined) return this.#readerOpen;
    if (this.#reader === undefined) {
      const thread = SqliteThread.shared('reader');
      const opening = thread.request<number>({ op: 'open', options }).then(
        (handle) => {
          this.#readerOpen = { thread, handle };
          return this.#readerOpen;
        },
        (thrown: unknown) => {
          // A later read tries again; meanwhile the writer's connection serves them.
          this.#reader = undefined;
          throw toHubError(thrown, HubErrorCode.store);
        },
      );
      // Awaited by close() only: a failed open is not a failed read.
      opening.catch(() => undefined);
      this.#reader = opening;
    }
    return this.#writer;
  }

  #call<T>(call: SqliteCall): Promise<T> {
    this.#calls++;
    const answered = () => {
      this.#calls--;
    };
    const request = this.#writer.thread.request<T>(call);
    request.then(answered, answered);
    return request;
  }

  #open(): void {
    if (this.#closed !== undefined) throw new HubError(HubErrorCode.closed, 'the event store is closed');
  }
}

/** The events a batch committed (those the answer gives a position), as their JSON text. */
function committedTexts(
  envelopes: readonly string[],
  streams: readonly string[],
  answer: AppendAnswer,
): CommittedJson[] {
  const texts: CommittedJson[] = [];
  for (let i = 0; i < envelopes.length; i++) {
    if (answer.others[i] !== undefined) continue;
    const position = answer.positions[i]!;
    const json = committedJson(envelopes[i]!, position, answer.streamVersions[i]!, answer.recordedAt);
    texts.push({ position, stream: streams[i]!, json });
  }
  return texts;
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
