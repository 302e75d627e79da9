import { matchesSubscription, type CommittedEvent } from '@eventloom/protocol';
import { HubError, HubErrorCode, toHubError } from '../hub/hub-error.ts';
import { CommittedChange, resultsOf } from './committed-change.ts';
import { HeadWatchers } from './head-watchers.ts';
import { RecentCommits } from './recent-commits.ts';
import type {
  ClientClaim,
  ClientRecord,
  NewClientClaim,
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
import type { PageText, SqliteLog, SqliteLogOptions } from './sqlite-log.ts';
import { SqliteThread, type SqliteCall, type SqliteThreadRole } from './sqlite-thread.ts';
import { ThreadFailures } from './thread-failures.ts';
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
  /**
   * Hears of failures that no call awaits: a SQLite thread that cannot open the log (told once,
   * until it opens; meanwhile the caller's connection does its work, checkpoints included, and a
   * need tries again after 1 s, doubled while it fails, up to a minute), or a checkpoint that
   * failed on the caller's connection too (one that failed on the thread is run there instead).
   * By default a process warning (`process.emitWarning`): a hub should log it, as `eventloom-hub` does.
   */
  readonly onError?: (error: HubError) => void;
}

/**
 * Opens (creating or migrating it) the SQLite event log at `options.path`: WAL with
 * `synchronous=FULL`, so that an append resolves only once its transaction is durable. Fails with a
 * {@link HubError} `store` on a file of another application or of a newer schema.
 *
 * A file log is opened on the caller's thread, which keeps that connection; the log's work runs on
 * worker threads (shared by all SQLite stores of the process), so that it does not block the
 * caller's event loop, which goes on reading sockets meanwhile: commits on one, started by the
 * first append, import or checkpoint; reads on another, with a connection of their own, started by
 * the first read that reaches SQLite (a long catch-up read then does not hold commits up). Nothing
 * waits for a thread to start: until it is up, its work runs on the caller's connection (a hub
 * nobody writes to never starts the commit thread; each thread is a heap of its own). Once it is
 * up, one exception, for latency: a small batch (at most 16 events) that finds the commit thread
 * idle is committed on the caller's thread, unless that thread committed too recently or its last
 * commit took over 2 ms (then for a while, longer while such commits follow: see
 * `sqlite-local-writer.ts`); durability is the same. A `:memory:` log lives on the commit thread alone.
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
  const inMemory =
    options.path === ':memory:' || options.path === '' || options.path.startsWith('file::memory:');
  if (inMemory) {
    const thread = SqliteThread.shared('writer');
    const handle = await thread.request<number>({ op: 'open', options: logOptions });
    return new SqliteEventStore({ thread, handle }, options);
  }
  const { LocalWriter } = await import('./sqlite-local-writer.ts').catch((cause: unknown) => {
    throw new HubError(HubErrorCode.store, `event store: cannot load SQLite: ${String(cause)}`, { cause });
  });
  const local = LocalWriter.open(logOptions);
  // The read connection, and its thread, wait for the first read that needs them: a hub nobody
  // catches up from never starts them.
  const reader = options.readConnection === false ? undefined : logOptions;
  return new SqliteEventStore({ local, options: logOptions }, options, reader);
}

/** A log opened on one of the SQLite threads. */
interface OpenLog {
  readonly thread: SqliteThread;
  readonly handle: number;
}

/** A file log's connection on the caller's thread, and how to open it on the commit thread. */
interface LocalLog {
  readonly local: LocalWriter;
  readonly options: SqliteLogOptions;
}

/** The SQLite store: the caller's side of a log on the SQLite thread; see {@link createSqliteStore}. */
class SqliteEventStore implements EventStore {
  /** The connection on this thread (undefined for a `:memory:` log): open from the start. */
  readonly #local: LocalWriter | undefined;
  /** How to open the log on the commit thread (undefined when it was open from the start). */
  readonly #writerOptions: SqliteLogOptions | undefined;
  /** The log on the commit thread, opening or open, once something needed it (again after a failed open). */
  #writer: Promise<OpenLog> | undefined;
  /** The log on the commit thread once it is open: until then, its work runs on {@link #local}. */
  #writerOpen: OpenLog | undefined;
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
   * Requests of this log for the commit thread not answered yet (posted, or waiting for it to
   * open). Invariant: the connection here writes only while there are none, and none is made while
   * it writes (its commits are synchronous), so commits keep their call order.
   */
  #calls = 0;
  #closed: Promise<void> | undefined;
  /** {@link #checkpoint}, made once: the local writer is handed it with every batch. */
  readonly #askCheckpoint = () => this.#checkpoint();
  readonly #onError: (error: HubError) => void;
  readonly #failures: ThreadFailures;

  constructor(
    writer: OpenLog | LocalLog,
    { onError = (error) => process.emitWarning(error) }: Pick<SqliteStoreOptions, 'onError'>,
    readerOptions?: SqliteLogOptions,
  ) {
    this.#onError = onError;
    this.#failures = new ThreadFailures(onError);
    if ('local' in writer) {
      this.#local = writer.local;
      this.#writerOptions = writer.options;
    } else {
      this.#writerOpen = writer;
      this.#writer = Promise.resolve(writer);
    }
    this.#readerOptions = readerOptions;
  }

  append(batch: readonly StoreAppend[]): Promise<StoreAppendResult[]> {
    try {
      this.#open();
      if (batch.length === 0) return Promise.resolve([]);
      const { columns, texts } = appendColumnsOf(batch);
      const local = this.#local;
      // Here and now when the commit thread has nothing of this log in hand (so commits keep their
      // call order): every batch while that thread starts (this starts it), a small one after.
      let answer: AppendAnswer | undefined;
      if (local !== undefined && this.#calls === 0) {
        const starting = this.#writerLive() === undefined;
        if (starting) void this.#startWriter();
        answer = local.append(columns, this.#askCheckpoint, starting);
      }
      if (answer !== undefined) return Promise.resolve(this.#committed(columns, texts, answer));
      return this.#call<AppendAnswer>((handle) => ({ op: 'append', handle, batch: columns })).then((answer) =>
        this.#committed(columns, texts, answer),
      );
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
      this.#watchers.emit(new CommittedChange(head, from, this.#recent, { envelopes, streams }, answer));
    }
    return resultsOf(ids, answer);
  }

  /**
   * Asks the commit thread (starting it if need be) to checkpoint what this thread's connection
   * committed; here if that thread cannot open the log or checkpoint it: this connection never
   * checkpoints on its own, so without a commit thread the WAL grew without bound.
   */
  #checkpoint(): void {
    this.#startWriter()
      .then(({ thread, handle }) => thread.request<undefined>({ op: 'checkpoint', handle }))
      .catch(() => {
        if (this.#closed !== undefined) return;
        try {
          this.#local?.now((log) => log.checkpoint());
        } catch (thrown) {
          this.#onError(toHubError(thrown, HubErrorCode.store));
        }
      });
  }

  async read(query: StoreReadQuery): Promise<StoreReadResult> {
    this.#open();
    const filter = streamFilter(query);
    const { from, limit, maxJsonChars } = query;
    if (filter.kind === 'all') {
      const recent = this.#recent.page(from, limit, maxJsonChars);
      if (recent !== undefined) return recent;
    }
    const page = await this.#readPage<PageText>(
      (handle) => ({ op: 'read', handle, ...pageOf(query, filter) }),
      (log) => log.read(from, limit, filter, maxJsonChars),
    );
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
   * only passes the page on (its bytes moved, not copied); here only while neither thread is up.
   */
  async readJson(query: StoreReadQuery): Promise<StoreJsonPage> {
    this.#open();
    const filter = streamFilter(query);
    const { from, limit, maxJsonChars } = query;
    return this.#readPage<StoreJsonPage>(
      (handle) => ({ op: 'readJson', handle, ...pageOf(query, filter) }),
      (log) => log.readJson(from, limit, filter, maxJsonChars),
    );
  }

  /**
   * Asks the read connection for a page: the writer's without one or until it is open, and this
   * thread's while neither thread is up (without a read connection, this starts the commit thread).
   */
  async #readPage<T>(call: (handle: number) => SqliteCall, here: (log: SqliteLog) => T): Promise<T> {
    // Not counted among the commit thread's calls: a read does not order commits.
    const log = this.#readLog() ?? this.#writerLive();
    if (log !== undefined) return log.thread.request<T>(call(log.handle));
    return this.#run(call, here, this.#readerOptions === undefined);
  }

  async importEvents(
    events: readonly CommittedEvent[],
    options: { readonly hubId?: string } = {},
  ): Promise<StoreImportResult> {
    this.#open();
    const { hubId } = options;
    // The recent-commits cache holds only what this store appended: an import goes around it, so
    // it starts again from the log.
    const result = await this.#run<StoreImportResult>(
      (handle) => ({ op: 'import', handle, events, hubId }),
      (log) => log.importEvents(events, hubId),
      true,
    );
    this.#recent.clear();
    return result;
  }

  async head(): Promise<number> {
    this.#open();
    return this.#run(
      (handle) => ({ op: 'head', handle }),
      (log) => log.head(),
    );
  }

  async streamVersion(stream: string): Promise<number> {
    this.#open();
    return this.#run(
      (handle) => ({ op: 'streamVersion', handle, stream }),
      (log) => log.streamVersion(stream),
    );
  }

  async client(clientId: string): Promise<ClientRecord> {
    this.#open();
    return this.#run(
      (handle) => ({ op: 'client', handle, clientId }),
      (log) => log.client(clientId),
    );
  }

  async bindClient(clientId: string, principal: string): Promise<boolean> {
    this.#open();
    return this.#run(
      (handle) => ({ op: 'bindClient', handle, clientId, principal }),
      (log) => log.bindClient(clientId, principal),
    );
  }

  async claimClient(clientId: string, principal: string): Promise<ClientClaim> {
    this.#open();
    return this.#run(
      (handle) => ({ op: 'claimClient', handle, clientId, principal }),
      (log) => log.claimClient(clientId, principal),
    );
  }

  async claimNewClient(clientId: string, principal: string): Promise<NewClientClaim> {
    this.#open();
    return this.#run(
      (handle) => ({ op: 'claimNewClient', handle, clientId, principal }),
      (log) => log.claimNewClient(clientId, principal),
    );
  }

  async hubId(): Promise<string> {
    this.#open();
    return this.#run(
      (handle) => ({ op: 'hubId', handle }),
      (log) => log.hubId(),
    );
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
      const writer = await this.#writer?.catch(() => undefined);
      this.#local?.close();
      if (writer !== undefined) await close(writer);
    })();
    return this.#closed;
  }

  /**
   * The log on the commit thread, opening or open; the first call starts opening it (after the
   * connection here created or migrated the file: it finds the schema current). Nothing waits for
   * it but the work this thread's connection declined: starting a thread takes milliseconds on an
   * idle machine but seconds on a loaded one (from TypeScript source, tsx registers inside it).
   */
  #startWriter(): Promise<OpenLog> {
    // On a failure, a need after a while tries again (see ThreadFailures); meanwhile the connection
    // here does the work. The calls this thread declined await it (a failed open fails them only);
    // close() too.
    this.#writerLive();
    this.#writer ??= openOnThread('writer', this.#writerOptions!, (log) => {
      if (this.#failures.opened('writer', log, () => (this.#writer = undefined))) this.#writerOpen = log;
    });
    return this.#writer;
  }

  /**
   * The log on the commit thread while it is open there and alive. A dead thread fails every
   * request: a file log forgets it, the next need opens the log on a new one (asked at each use: a
   * listener on the process's thread would keep every store ever opened alive).
   */
  #writerLive(): OpenLog | undefined {
    const log = this.#writerOpen;
    if (log !== undefined && !log.thread.alive && this.#writerOptions !== undefined) {
      this.#writer = this.#writerOpen = undefined;
    }
    return this.#writerOpen;
  }

  /**
   * Runs `here` on this thread's connection while the commit thread is not up and has nothing of
   * this log in hand (starting that thread when `start`), else `call` on that thread.
   */
  #run<T>(call: (handle: number) => SqliteCall, here: (log: SqliteLog) => T, start = false): Promise<T> {
    const local = this.#local;
    if (local !== undefined && this.#writerLive() === undefined && this.#calls === 0) {
      if (start) void this.#startWriter();
      try {
        const value = local.now(here);
        if (value !== undefined) return Promise.resolve(value);
      } catch (thrown) {
        return Promise.reject(toHubError(thrown, HubErrorCode.store));
      }
    }
    return this.#call(call);
  }

  /**
   * The connection a read goes to: the read connection once it is open, undefined (the writer's)
   * until then. The first read starts opening the read connection on the reader thread, and no
   * read waits for it: after every start of the hub the first pulls waited so.
   */
  #readLog(): OpenLog | undefined {
    const options = this.#readerOptions;
    // A read thread that died: forgotten, as the commit thread's (see #writerLive).
    if (this.#readerOpen !== undefined && !this.#readerOpen.thread.alive)
      this.#reader = this.#readerOpen = undefined;
    if (options === undefined || this.#readerOpen !== undefined) return this.#readerOpen;
    // A failed open is not a failed read: a read after a while tries again; meanwhile the writer's
    // connection serves them. Awaited by close() only.
    this.#reader ??= openOnThread('reader', options, (log) => {
      if (this.#failures.opened('reader', log, () => (this.#reader = undefined))) this.#readerOpen = log;
    });
    return undefined;
  }

  /** Posts `call` to the commit thread, once the log is open there (this starts opening it). */
  #call<T>(call: (handle: number) => SqliteCall): Promise<T> {
    this.#calls++;
    const answered = () => {
      this.#calls--;
    };
    // Through the one opening promise: the calls are posted in the order they were made.
    const request = this.#startWriter().then(({ thread, handle }) => thread.request<T>(call(handle)));
    request.then(answered, answered);
    return request;
  }

  #open(): void {
    if (this.#closed !== undefined) throw new HubError(HubErrorCode.closed, 'the event store is closed');
  }
}

/**
 * Opens a log on the process's `role` thread; `settled` hears of the outcome (the log, or the
 * failure) before anyone awaiting the open does. A failure rejects with a {@link HubError}
 * `store`, and counts as handled: it fails only those who await it.
 */
function openOnThread(
  role: SqliteThreadRole,
  options: SqliteLogOptions,
  settled: (log: OpenLog | HubError) => void,
): Promise<OpenLog> {
  // A thread that cannot start rejects too (never throws at the caller, a commit's checkpoint).
  const open = async (): Promise<OpenLog> => {
    const thread = SqliteThread.shared(role);
    return { thread, handle: await thread.request<number>({ op: 'open', options }) };
  };
  const opening = open().then(
    (log) => {
      settled(log);
      return log;
    },
    (thrown: unknown) => {
      const failure = toHubError(thrown, HubErrorCode.store);
      settled(failure);
      throw failure;
    },
  );
  opening.catch(() => undefined);
  return opening;
}

/** A page query's fields, as a read request carries them. */
function pageOf(query: StoreReadQuery, filter: StreamFilter) {
  const { from, limit, maxJsonChars } = query;
  return { from, limit, filter, ...(maxJsonChars === undefined ? {} : { maxJsonChars }) };
}
