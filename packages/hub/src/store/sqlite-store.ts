import { matchesSubscription, type CommittedEvent } from '@eventloom/protocol';
import { HubFailure, HubFailureCode } from '../hub/hub-failure.ts';
import { envelopeJson } from './committed-json.ts';
import type {
  ClientRecord,
  EventStore,
  StoreAppend,
  StoreAppendResult,
  StoreReadResult,
} from './event-store.ts';
import type { AppendAnswer, AppendColumns, PageText } from './sqlite-log.ts';
import { SqliteThread, type SqliteCall } from './sqlite-thread.ts';
import { toStoreFailure } from './store-failure.ts';
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
 * The log runs on a worker thread (one for all SQLite stores of the process): its commits, fsyncs
 * and queries never block the caller's event loop, which goes on reading sockets meanwhile.
 *
 * @example
 * const store = await createSqliteStore({ path: 'data/hub.db' });
 * const page = await store.read({ from: 0, limit: 1000 });
 */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<EventStore> {
  const scanWindow = scanWindowOf(options.scanWindow);
  const thread = SqliteThread.shared();
  const handle = await thread.request<number>({
    op: 'open',
    options: {
      path: options.path,
      scanWindow,
      ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
    },
  });
  return new SqliteEventStore(thread, handle);
}

/** The SQLite store: the caller's side of a log on the SQLite thread; see {@link createSqliteStore}. */
class SqliteEventStore implements EventStore {
  readonly #thread: SqliteThread;
  readonly #handle: number;
  #closed: Promise<void> | undefined;

  constructor(thread: SqliteThread, handle: number) {
    this.#thread = thread;
    this.#handle = handle;
  }

  append(batch: readonly StoreAppend[]): Promise<StoreAppendResult[]> {
    try {
      this.#open();
      if (batch.length === 0) return Promise.resolve([]);
      const columns = columnsOf(batch);
      // Only the ids wait for the answer: the JSON texts are let go as soon as they are posted.
      const ids = columns.ids;
      const call: SqliteCall = { op: 'append', handle: this.#handle, batch: columns };
      return this.#call<AppendAnswer>(call).then((answer) => resultsOf(ids, answer));
    } catch (thrown) {
      return Promise.reject(toStoreFailure(thrown));
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
    const page = await this.#call<PageText>({ op: 'read', handle: this.#handle, from, limit, filter });
    const parsed = page.events.map((text) => JSON.parse(text) as CommittedEvent);
    if (filter.kind === 'all') return { events: parsed, until: page.until, head: page.head };
    // SQLite holds text as UTF-8, where lone surrogates collapse; compare the exact names again.
    const subscriptions = [...filter.exact, ...filter.prefixes.map((p) => `${p}*`)];
    const events = parsed.filter((e) => matchesSubscription(e.stream, subscriptions));
    return { events, until: page.until, head: page.head };
  }

  async head(): Promise<number> {
    this.#open();
    return this.#call<number>({ op: 'head', handle: this.#handle });
  }

  async streamVersion(stream: string): Promise<number> {
    this.#open();
    return this.#call<number>({ op: 'streamVersion', handle: this.#handle, stream });
  }

  async client(clientId: string): Promise<ClientRecord> {
    this.#open();
    return this.#call<ClientRecord>({ op: 'client', handle: this.#handle, clientId });
  }

  async bindClient(clientId: string, principal: string): Promise<boolean> {
    this.#open();
    return this.#call<boolean>({ op: 'bindClient', handle: this.#handle, clientId, principal });
  }

  async hubId(): Promise<string> {
    this.#open();
    return this.#call<string>({ op: 'hubId', handle: this.#handle });
  }

  close(): Promise<void> {
    // The thread answers in order: requests made before close() finish first.
    this.#closed ??= this.#call<undefined>({ op: 'close', handle: this.#handle }).then(
      () => undefined,
      () => undefined,
    );
    return this.#closed;
  }

  #call<T>(call: SqliteCall): Promise<T> {
    return this.#thread.request<T>(call);
  }

  #open(): void {
    if (this.#closed !== undefined) throw new HubFailure(HubFailureCode.closed, 'the event store is closed');
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
  for (const { event, rejection } of batch) {
    columns.envelopes.push(envelopeJson(event));
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
