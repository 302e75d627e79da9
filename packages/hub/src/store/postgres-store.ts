import type { CommittedEvent, EventEnvelope, RejectionCode } from '@eventloom/protocol';
import { matchesSubscription } from '@eventloom/protocol';
import type { Sql, TransactionSql } from 'postgres';
import { HubError, HubErrorCode, toHubError } from '../hub/hub-error.ts';
import { committedJson, envelopeJson } from './committed-json.ts';
import type {
  ClientRecord,
  EventStore,
  HeadChange,
  StoreAppend,
  StoreAppendResult,
  StoreReadQuery,
  StoreReadResult,
} from './event-store.ts';
import { HeadWatchers } from './head-watchers.ts';
import { planAppend, type AppendPlan, type AppendSnapshot, type PlanItem } from './plan-append.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { scanWindowOf, streamFilter } from './stream-filter.ts';

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
 * The advisory lock every append holds for its transaction (`pg_advisory_xact_lock`): writers on
 * every node take turns, so positions are assigned and committed in the same order and a reader
 * never sees position n + 1 before n (a sequence would hand numbers out in one order and commit
 * them in another). Any 64-bit number of ours; 'Eloo' then 2.
 */
export const POSTGRES_APPEND_LOCK = 0x456c6f6f_0002n;

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
  readonly #hubId: string;
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
        committed = await this.#sql.begin((tx) => this.#transaction(tx, items, true));
      } catch (thrown) {
        if (thrown !== REUSED_ID) throw thrown;
        committed = await this.#sql.begin((tx) => this.#transaction(tx, items, false));
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
   * One append transaction: the lock, the state the batch is judged against (read in one round
   * trip, for the clients and streams it names), the plan, the writes (one more round trip).
   * The plan is pure: when it asks for a row that was not read (a repeated seq's refusal or event,
   * an id to check), the rows it asked for are read and it plans again.
   */
  async #transaction(
    tx: TransactionSql,
    items: readonly Item[],
    idsCheckedOnInsert: boolean,
  ): Promise<Committed> {
    const clientIds = [...new Set(items.map((i) => i.event.clientId))];
    const streams = [...new Set(items.map((i) => i.event.stream))];
    const [, headRows, clientRows, streamRows, repeatRows] = await Promise.all([
      tx`SELECT pg_advisory_xact_lock(${POSTGRES_APPEND_LOCK.toString()}::bigint)`,
      tx<{ head: string }[]>`SELECT coalesce(max(position), 0) AS head FROM eventloom_events`,
      tx<{ client_id: string; last_seq: string }[]>`
        SELECT client_id, last_seq FROM eventloom_clients WHERE client_id = ANY(${clientIds}::text[])`,
      tx<{ stream: string; version: number }[]>`
        SELECT stream, version FROM eventloom_streams WHERE stream = ANY(${streams}::text[])`,
      // The events of seqs decided before: a repeat is answered from them (or their refusals).
      tx<{ id: string; event: string }[]>`
        SELECT e.id, e.event FROM eventloom_events e WHERE e.id IN (
          SELECT b.id FROM unnest(${items.map((i) => i.event.id)}::text[],
                                  ${items.map((i) => i.event.clientId)}::text[],
                                  ${items.map((i) => i.event.clientSeq)}::bigint[]) AS b(id, client_id, seq)
          JOIN eventloom_clients c ON c.client_id = b.client_id WHERE b.seq <= c.last_seq)`,
    ]);
    const state: JudgedState = {
      head: Number(headRows[0]?.head ?? 0),
      lastSeqs: new Map(clientRows.map((r) => [r.client_id, Number(r.last_seq)])),
      versions: new Map(streamRows.map((r) => [r.stream, r.version])),
      events: new Map(repeatRows.map((r) => [r.id, r.event])),
      rejections: new Map(),
      fetchedIds: new Set(repeatRows.map((r) => r.id)),
      fetchedRejections: new Set(),
    };
    await fetchRejections(tx, state, repeatedSeqs(items, state));
    let plan: AppendPlan<Item>;
    for (;;) {
      const missing: Missing = { ids: new Set(), seqs: [] };
      plan = planAppend(snapshotOf(state, missing, idsCheckedOnInsert), items, envelopeOf);
      if (missing.ids.size === 0 && missing.seqs.length === 0) break;
      await Promise.all([fetchEvents(tx, state, [...missing.ids]), fetchRejections(tx, state, missing.seqs)]);
    }
    const recordedAt = new Date().toISOString();
    const writes: Promise<unknown>[] = [];
    if (plan.events.length > 0) {
      const texts = plan.events.map((p) =>
        committedJson(p.item.envelope, p.position, p.streamVersion, recordedAt),
      );
      writes.push(
        tx<{ id: string }[]>`
          INSERT INTO eventloom_events (position, id, stream, stream_version, event)
          SELECT * FROM unnest(${plan.events.map((p) => p.position)}::bigint[],
                               ${plan.events.map((p) => p.item.event.id)}::text[],
                               ${plan.events.map((p) => p.item.event.stream)}::text[],
                               ${plan.events.map((p) => p.streamVersion)}::integer[],
                               ${texts}::text[])
          ON CONFLICT (id) DO NOTHING RETURNING id`.then((inserted) => {
          if (inserted.length === plan.events.length) return;
          if (idsCheckedOnInsert) throw REUSED_ID;
          throw new HubError(HubErrorCode.store, 'event store: an id of the batch is stored already');
        }),
      );
    }
    if (plan.rejections.length > 0) {
      const r = plan.rejections;
      writes.push(tx`
        INSERT INTO eventloom_rejections (client_id, client_seq, event_id, code, message, current_version)
        SELECT * FROM unnest(${r.map((x) => x.clientId)}::text[], ${r.map((x) => x.clientSeq)}::bigint[],
                             ${r.map((x) => x.rejection.id)}::text[], ${r.map((x) => x.rejection.code)}::text[],
                             ${r.map((x) => x.rejection.message)}::text[],
                             ${r.map((x) => x.rejection.currentVersion ?? null)}::integer[])`);
    }
    if (plan.streamVersions.size > 0) {
      writes.push(tx`
        INSERT INTO eventloom_streams (stream, version)
        SELECT * FROM unnest(${[...plan.streamVersions.keys()]}::text[], ${[...plan.streamVersions.values()]}::integer[])
        ON CONFLICT (stream) DO UPDATE SET version = excluded.version`);
    }
    if (plan.clientSeqs.size > 0) {
      writes.push(tx`
        INSERT INTO eventloom_clients (client_id, last_seq)
        SELECT * FROM unnest(${[...plan.clientSeqs.keys()]}::text[], ${[...plan.clientSeqs.values()]}::bigint[])
        ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq`);
    }
    if (plan.events.length > 0) {
      // Delivered to the listeners of every node when (and only if) the transaction commits.
      const head = plan.events[plan.events.length - 1]!.position;
      writes.push(tx`SELECT pg_notify(${this.#channel}, ${String(head)})`);
    }
    await Promise.all(writes);
    return { plan, recordedAt, before: state.head };
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

/** Thrown inside an append transaction, to roll it back, when the unique index refused an id. */
const REUSED_ID = Symbol('reused id');

/** One event of a batch, as the plan reads it, with its envelope as the JSON text to store. */
interface Item extends PlanItem {
  readonly envelope: string;
}

interface Committed {
  readonly plan: AppendPlan<Item>;
  readonly recordedAt: string;
  /** The head the batch followed. */
  readonly before: number;
}

/** The rows a transaction read: what the plan is judged against. */
interface JudgedState {
  readonly head: number;
  readonly lastSeqs: Map<string, number>;
  readonly versions: Map<string, number>;
  /** Committed events by id, as stored text. */
  readonly events: Map<string, string>;
  /** Refusals by `seq:clientId`. */
  readonly rejections: Map<string, RejectionRow>;
  readonly fetchedIds: Set<string>;
  readonly fetchedRejections: Set<string>;
}

/** What a plan asked for that was not read yet. */
interface Missing {
  readonly ids: Set<string>;
  readonly seqs: { clientId: string; clientSeq: number }[];
}

interface RejectionRow {
  readonly client_id: string;
  readonly client_seq: string;
  readonly event_id: string;
  readonly code: string;
  readonly message: string;
  readonly current_version: number | null;
}

/** Copies what the plan judges by: the caller may change its objects once append has returned. */
function toItem({ event, rejection }: StoreAppend): Item {
  const envelope = envelopeJson(event);
  const { id, clientId, clientSeq, stream, expectedVersion } = event;
  const judged = { id, clientId, clientSeq, stream, expectedVersion };
  return rejection === undefined
    ? { event: judged, envelope }
    : { event: judged, envelope, rejection: { code: rejection.code, message: rejection.message } };
}

/** The whole envelope of an item, for the plan's rare comparison of contents. */
function envelopeOf(item: Item): EventEnvelope {
  return JSON.parse(item.envelope) as EventEnvelope;
}

function snapshotOf(state: JudgedState, missing: Missing, idsCheckedOnInsert: boolean): AppendSnapshot {
  return {
    head: () => state.head,
    lastClientSeq: (clientId) => state.lastSeqs.get(clientId) ?? 0,
    rejection: (clientId, clientSeq) => {
      const key = `${clientSeq}:${clientId}`;
      if (!state.fetchedRejections.has(key)) {
        missing.seqs.push({ clientId, clientSeq });
        return undefined;
      }
      const row = state.rejections.get(key);
      if (row === undefined) return undefined;
      const base = { id: row.event_id, code: row.code as RejectionCode, message: row.message };
      return row.current_version === null ? base : { ...base, currentVersion: row.current_version };
    },
    committedById: (id) => {
      if (!state.fetchedIds.has(id)) {
        missing.ids.add(id);
        return undefined;
      }
      const text = state.events.get(id);
      return text === undefined ? undefined : (JSON.parse(text) as CommittedEvent);
    },
    streamVersion: (stream) => state.versions.get(stream) ?? 0,
    idsCheckedOnInsert,
  };
}

/** The (client, seq) pairs of the batch at or below their client's last seq: repeats. */
function repeatedSeqs(items: readonly Item[], state: JudgedState): { clientId: string; clientSeq: number }[] {
  const seqs: { clientId: string; clientSeq: number }[] = [];
  for (const { event } of items) {
    if (event.clientSeq <= (state.lastSeqs.get(event.clientId) ?? 0)) {
      seqs.push({ clientId: event.clientId, clientSeq: event.clientSeq });
    }
  }
  return seqs;
}

async function fetchEvents(tx: TransactionSql, state: JudgedState, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const rows = await tx<{ id: string; event: string }[]>`
    SELECT id, event FROM eventloom_events WHERE id = ANY(${ids as string[]}::text[])`;
  for (const id of ids) state.fetchedIds.add(id);
  for (const row of rows) state.events.set(row.id, row.event);
}

async function fetchRejections(
  tx: TransactionSql,
  state: JudgedState,
  seqs: readonly { clientId: string; clientSeq: number }[],
): Promise<void> {
  if (seqs.length === 0) return;
  const rows = await tx<RejectionRow[]>`
    SELECT r.client_id, r.client_seq, r.event_id, r.code, r.message, r.current_version
    FROM eventloom_rejections r
    JOIN unnest(${seqs.map((s) => s.clientId)}::text[], ${seqs.map((s) => s.clientSeq)}::bigint[])
      AS b(client_id, seq) ON r.client_id = b.client_id AND r.client_seq = b.seq`;
  for (const s of seqs) state.fetchedRejections.add(`${s.clientSeq}:${s.clientId}`);
  for (const row of rows) state.rejections.set(`${Number(row.client_seq)}:${row.client_id}`, row);
}

function eventsOf(plan: AppendPlan<Item>, recordedAt: string): CommittedEvent[] {
  return plan.events.map(
    (p) =>
      JSON.parse(committedJson(p.item.envelope, p.position, p.streamVersion, recordedAt)) as CommittedEvent,
  );
}

async function readHead(sql: Sql): Promise<number> {
  const [row] = await sql<
    { head: string }[]
  >`SELECT coalesce(max(position), 0) AS head FROM eventloom_events`;
  return Number(row?.head ?? 0);
}

/** Postgres error classes that mean "cannot reach or use the server now", not "this is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3])/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/**
 * A Postgres error as a {@link HubError}: `unavailable` when the server cannot be reached or
 * is shutting down (retry later), else `store`.
 */
export function toPostgresError(thrown: unknown): HubError {
  if (thrown instanceof HubError) return thrown;
  const code = (thrown as { code?: unknown } | null)?.code;
  if (
    typeof code === 'string' &&
    (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code) || code.startsWith('CONNECT'))
  ) {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return new HubError(HubErrorCode.unavailable, `event store unavailable: ${message}`, {
      cause: thrown,
    });
  }
  return toHubError(thrown, HubErrorCode.store);
}
