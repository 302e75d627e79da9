import type { CommittedEvent } from '@eventloom/protocol';
import { matchesSubscription } from '@eventloom/protocol';
import type { Sql } from 'postgres';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import type {
  ClientClaim,
  ClientRecord,
  NewClientClaim,
  EventStore,
  HeadChange,
  StoreAppend,
  StoreAppendResult,
  StoreImportResult,
  StoreReadQuery,
  StoreReadResult,
} from './event-store.ts';
import { HeadWatchers } from './head-watchers.ts';
import {
  eventsOf,
  readHead,
  REUSED_ID,
  runAppend,
  toItem,
  type Committed,
  type Item,
} from './postgres-append.ts';
import { claimNewPostgresClient, claimPostgresClient } from './postgres-clients.ts';
import { toPostgresError } from './postgres-errors.ts';
import { importTransaction } from './postgres-import.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { scanWindowOf, streamFilter } from './stream-filter.ts';

export { POSTGRES_APPEND_LOCK } from './postgres-append.ts';
export { toPostgresError } from './postgres-errors.ts';

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database`. */
  readonly url: string;
  /** Connections in the pool (default 10); the head watcher holds one more of its own. */
  readonly poolSize?: number;
  /** Positions one filtered read scans at most (default 50,000). */
  readonly scanWindow?: number;
  /**
   * How often the head is read when no notification came, in ms (default 5,000): the safety net
   * for a notification lost with its connection. 0 turns watching off (a store that only writes).
   */
  readonly pollIntervalMs?: number;
  /** How long to wait for a connection, in seconds (default 10). */
  readonly connectTimeoutSeconds?: number;
  /**
   * The schema the log's tables live in (created if missing; default: the connection's
   * `search_path`, normally `public`). Several logs can share a database this way; they still
   * share its append lock.
   */
  readonly schema?: string;
}

/** The channel commits are announced on (the payload is the new head); `_<schema>` is added for a named schema. */
export const POSTGRES_HEAD_CHANNEL = 'eventloom_head';

/**
 * Opens (creating or migrating it) the event log in the Postgres database at `options.url`. Every
 * node of a cluster opens the same database: they share the log, its positions and its `hubId`.
 * Each append is one transaction under a transaction-scoped advisory lock (see
 * {@link POSTGRES_APPEND_LOCK}), ends with `NOTIFY eventloom_head`, and resolves after the commit
 * (durable as far as the server's `synchronous_commit` says, `on` by default). The `postgres`
 * driver is loaded only here: install it beside `@eventloom/hub` to use this store.
 *
 * @example
 * import { createPostgresStore } from '@eventloom/hub/postgres';
 * const store = await createPostgresStore({ url: 'postgres://postgres@127.0.0.1/eventloom', poolSize: 10 });
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<EventStore> {
  const scanWindow = scanWindowOf(options.scanWindow);
  const poolSize = options.poolSize ?? 10;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) {
    throw new HubError(HubErrorCode.config, `poolSize must be an integer ≥ 1, got ${poolSize}`);
  }
  const pollIntervalMs = options.pollIntervalMs ?? 5_000;
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 0) {
    throw new HubError(HubErrorCode.config, `pollIntervalMs must be ≥ 0, got ${pollIntervalMs}`);
  }
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,47}$/.test(schema)) {
    throw new HubError(
      HubErrorCode.config,
      `schema must be a lower-case SQL name, got ${JSON.stringify(schema)}`,
    );
  }
  const channel = schema === undefined ? POSTGRES_HEAD_CHANNEL : `${POSTGRES_HEAD_CHANNEL}_${schema}`;
  let postgres: typeof import('postgres').default;
  try {
    postgres = (await import('postgres')).default;
  } catch (cause) {
    throw new HubError(
      HubErrorCode.config,
      'the Postgres store needs the `postgres` package: npm install postgres',
      { cause },
    );
  }
  const sql = postgres(options.url, {
    max: poolSize,
    onnotice: () => undefined,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    connection:
      schema === undefined
        ? { application_name: 'eventloom-hub' }
        : { application_name: 'eventloom-hub', search_path: schema },
  });
  try {
    if (schema !== undefined) await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await migratePostgres(sql);
    const [row] = await sql<{ value: string }[]>`SELECT value FROM eventloom_meta WHERE key = 'hub_id'`;
    if (row === undefined) throw new HubError(HubErrorCode.store, 'the Postgres event log has no hub id');
    const head = await readHead(sql);
    return new PostgresEventStore(sql, row.value, head, { scanWindow, pollIntervalMs, channel });
  } catch (thrown) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw toPostgresError(thrown);
  }
}

/** The Postgres store; see {@link createPostgresStore}. */
class PostgresEventStore implements EventStore {
  readonly #sql: Sql;
  /** Changed by an import only (an empty log takes the id of the log it imports). */
  #hubId: string;
  readonly #scanWindow: number;
  readonly #watchers: HeadWatchers;
  readonly #pollIntervalMs: number;
  readonly #channel: string;
  /** Appends run one after the other, in call order (the lock orders nodes, this orders callers). */
  #tail: Promise<unknown> = Promise.resolve();
  /** The highest head this store has seen: its own commits, notifications, polls. */
  #knownHead: number;
  #listening: Promise<{ unlisten(): Promise<void> } | undefined> | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  #closed: Promise<void> | undefined;

  constructor(
    sql: Sql,
    hubId: string,
    head: number,
    options: { scanWindow: number; pollIntervalMs: number; channel: string },
  ) {
    this.#sql = sql;
    this.#hubId = hubId;
    this.#knownHead = head;
    this.#scanWindow = options.scanWindow;
    this.#pollIntervalMs = options.pollIntervalMs;
    this.#channel = options.channel;
    this.#watchers = new HeadWatchers(() => this.#startWatching());
  }

  append(batch: readonly StoreAppend[]): Promise<StoreAppendResult[]> {
    try {
      this.#open();
    } catch (thrown) {
      return Promise.reject(thrown);
    }
    if (batch.length === 0) return Promise.resolve([]);
    const items = batch.map(toItem);
    const run = this.#tail.then(() => this.#append(items));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  importEvents(
    events: readonly CommittedEvent[],
    options: { readonly hubId?: string } = {},
  ): Promise<StoreImportResult> {
    try {
      this.#open();
    } catch (thrown) {
      return Promise.reject(thrown);
    }
    const run = this.#tail.then(async () => {
      this.#open();
      let imported;
      try {
        imported = await this.#sql.begin((tx) => importTransaction(tx, events, options.hubId, this.#channel));
      } catch (thrown) {
        throw toPostgresError(thrown);
      }
      this.#hubId = imported.hubId;
      this.#sawHead(imported.head);
      const { imported: count, skipped, head } = imported;
      return { imported: count, skipped, head };
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async read(query: StoreReadQuery): Promise<StoreReadResult> {
    this.#open();
    const filter = streamFilter(query);
    const { from, limit } = query;
    // Rows past the budget stay in Postgres: only the page's own rows (the first always) come over.
    const budget = query.maxJsonChars ?? Number.MAX_SAFE_INTEGER;
    let rows: { head: string; position: string | null; event: string | null; next: string | null }[];
    try {
      if (filter.kind === 'all') {
        // One statement, one snapshot: the head and the page agree.
        rows = await this.#sql`
          WITH h AS (SELECT coalesce(max(position), 0) AS head FROM eventloom_events)
          SELECT h.head, e.position, e.event, e.next FROM h LEFT JOIN LATERAL (
            SELECT position, event, next FROM (
              SELECT position, event,
                sum(length(event)) OVER (ORDER BY position) AS running,
                row_number() OVER (ORDER BY position) AS n,
                lead(position) OVER (ORDER BY position) AS next
              FROM (
                SELECT position, event FROM eventloom_events
                WHERE position > ${from} ORDER BY position LIMIT ${limit}
              ) p
            ) r WHERE running <= ${budget} OR n = 1
          ) e ON true`;
      } else {
        rows = await this.#sql`
          WITH h AS (SELECT coalesce(max(position), 0) AS head FROM eventloom_events)
          SELECT h.head, e.position, e.event, e.next FROM h LEFT JOIN LATERAL (
            SELECT position, event, next FROM (
              SELECT position, event,
                sum(length(event)) OVER (ORDER BY position) AS running,
                row_number() OVER (ORDER BY position) AS n,
                lead(position) OVER (ORDER BY position) AS next
              FROM (
                SELECT position, event FROM eventloom_events
                WHERE position > ${from} AND position <= least(h.head, ${from + this.#scanWindow})
                  AND (stream = ANY(${filter.exact}::text[])
                    OR EXISTS (SELECT 1 FROM unnest(${filter.prefixes}::text[]) AS p(prefix)
                               WHERE left(stream, length(p.prefix)) = p.prefix))
                ORDER BY position LIMIT ${limit}
              ) p
            ) r WHERE running <= ${budget} OR n = 1
          ) e ON true`;
      }
    } catch (thrown) {
      throw toPostgresError(thrown);
    }
    const head = Number(rows[0]?.head ?? 0);
    this.#sawHead(head);
    let jsonChars = 0;
    let last = 0;
    /** The first row the budget left out, if any (the last row kept has a successor). */
    let next: number | undefined;
    const parsed: CommittedEvent[] = [];
    for (const row of rows) {
      if (row.event === null) continue;
      jsonChars += row.event.length;
      last = Number(row.position);
      next = row.next === null ? undefined : Number(row.next);
      parsed.push(JSON.parse(row.event) as CommittedEvent);
    }
    const full = parsed.length === limit;
    const bound = filter.kind === 'all' ? head : Math.min(head, from + this.#scanWindow);
    const until = next !== undefined ? next - 1 : full ? last : Math.max(from, bound);
    if (filter.kind === 'all') return { events: parsed, until, head, jsonChars };
    // Postgres holds text as UTF-8, where lone surrogates collapse; compare the exact names again.
    const subscriptions = [...filter.exact, ...filter.prefixes.map((p) => `${p}*`)];
    const events = parsed.filter((e) => matchesSubscription(e.stream, subscriptions));
    return { events, until, head, jsonChars };
  }

  async head(): Promise<number> {
    this.#open();
    try {
      const head = await readHead(this.#sql);
      this.#sawHead(head);
      return head;
    } catch (thrown) {
      throw toPostgresError(thrown);
    }
  }

  async streamVersion(stream: string): Promise<number> {
    this.#open();
    try {
      const [row] = await this.#sql<{ version: number }[]>`
        SELECT version FROM eventloom_streams WHERE stream = ${stream}`;
      return row?.version ?? 0;
    } catch (thrown) {
      throw toPostgresError(thrown);
    }
  }

  async client(clientId: string): Promise<ClientRecord> {
    this.#open();
    try {
      const [row] = await this.#sql<{ last_seq: string; principal: string | null }[]>`
        SELECT last_seq, principal FROM eventloom_clients WHERE client_id = ${clientId}`;
      return { lastClientSeq: Number(row?.last_seq ?? 0), principal: row?.principal ?? undefined };
    } catch (thrown) {
      throw toPostgresError(thrown);
    }
  }

  async bindClient(clientId: string, principal: string): Promise<boolean> {
    this.#open();
    try {
      await this.#sql`
        INSERT INTO eventloom_clients (client_id, last_seq, principal) VALUES (${clientId}, 0, ${principal})
        ON CONFLICT (client_id) DO UPDATE SET principal = excluded.principal
        WHERE eventloom_clients.principal IS NULL`;
      const [row] = await this.#sql<{ principal: string | null }[]>`
        SELECT principal FROM eventloom_clients WHERE client_id = ${clientId}`;
      return row?.principal === principal;
    } catch (thrown) {
      throw toPostgresError(thrown);
    }
  }

  claimClient(clientId: string, principal: string): Promise<ClientClaim> {
    return this.#query((sql) => claimPostgresClient(sql, clientId, principal));
  }

  claimNewClient(clientId: string, principal: string): Promise<NewClientClaim> {
    return this.#query((sql) => claimNewPostgresClient(sql, clientId, principal));
  }

  /** Runs `query` on the open store, its failures as the store's errors. */
  async #query<T>(query: (sql: Sql) => Promise<T>): Promise<T> {
    this.#open();
    try {
      return await query(this.#sql);
    } catch (thrown) {
      throw toPostgresError(thrown);
    }
  }

  async hubId(): Promise<string> {
    this.#open();
    return this.#hubId;
  }

  watchHead(listener: (change: HeadChange) => void): () => void {
    this.#open();
    return this.#watchers.add(listener);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#poll);
      this.#watchers.clear();
      await this.#tail;
      const listening = await this.#listening?.catch(() => undefined);
      await listening?.unlisten().catch(() => undefined);
      await this.#sql.end({ timeout: 5 }).catch(() => undefined);
    })();
    return this.#closed;
  }

  async #append(items: readonly Item[]): Promise<StoreAppendResult[]> {
    this.#open();
    try {
      let committed: Committed;
      try {
        committed = await runAppend(this.#sql, items, true, this.#channel);
      } catch (thrown) {
        if (thrown !== REUSED_ID) throw thrown;
        committed = await runAppend(this.#sql, items, false, this.#channel);
      }
      const { plan, recordedAt, before } = committed;
      if (plan.events.length > 0) {
        const head = plan.events[plan.events.length - 1]!.position;
        this.#sawHead(head, () => eventsOf(plan, recordedAt), before);
      }
      return plan.results;
    } catch (thrown) {
      throw toPostgresError(thrown);
    }
  }

  /**
   * Learns of a head: tells the watchers when it is above what they were told. `events` (with the
   * head it follows, `from`) hands over what this node committed itself, so that they need not
   * read it back.
   */
  #sawHead(head: number, events?: () => readonly CommittedEvent[], from?: number): void {
    if (head <= this.#knownHead) return;
    const previous = this.#knownHead;
    this.#knownHead = head;
    if (events !== undefined && from === previous) this.#watchers.emit({ head, from, events });
    else this.#watchers.emit({ head });
  }

  /** Starts listening and polling, the first time someone watches. */
  #startWatching(): void {
    if (this.#pollIntervalMs === 0 || this.#listening !== undefined) return;
    const check = () => {
      if (this.#polling || this.#closed !== undefined) return;
      this.#polling = true;
      readHead(this.#sql).then(
        (head) => {
          this.#polling = false;
          this.#sawHead(head);
        },
        () => {
          this.#polling = false;
        },
      );
    };
    this.#listening = this.#sql
      .listen(
        this.#channel,
        (payload) => {
          const head = Number(payload);
          if (Number.isSafeInteger(head)) this.#sawHead(head);
        },
        // On every (re)connection of the listener: what was committed while it was away.
        check,
      )
      .then(
        (listening) => listening,
        () => undefined,
      );
    this.#poll = setInterval(check, this.#pollIntervalMs);
    this.#poll.unref?.();
  }

  #open(): void {
    if (this.#closed !== undefined) throw new HubError(HubErrorCode.closed, 'the event store is closed');
  }
}
