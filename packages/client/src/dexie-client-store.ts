import type { CommittedEvent } from '@eventloom/protocol';
import { Dexie, type Table } from 'dexie';
import { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
import type {
  AckRecord,
  AppendPendingResult,
  ClientMeta,
  ClientStore,
  ConfirmedQuery,
  DeadLetterRow,
  InsertConfirmedResult,
  InsertHistoryResult,
  OutboxRow,
  PendingBuild,
  RealignInput,
  RealignResult,
  RejectionInput,
  RejectResult,
  SnapshotRow,
  StoreChanges,
  StoreCursor,
} from './client-store.ts';
import { SYNC_DEAD_LETTERS } from './client-store.ts';
import { aheadOfHub, planRealign } from './realign-plan.ts';
import { ackOf, checkOrder, deadLetterOf } from './store-rows.ts';

/** Where Dexie finds IndexedDB: the browser's by default; in Node, `fake-indexeddb` or another implementation. */
export interface IndexedDbDeps {
  readonly indexedDB: IDBFactory;
  readonly IDBKeyRange: typeof IDBKeyRange;
}

/** Options of {@link DexieClientStore}. */
export interface DexieClientStoreOptions {
  /** The database name. */
  readonly name: string;
  /** IndexedDB to use; the global one (the browser's) by default. */
  readonly indexedDB?: IndexedDbDeps;
  /** Called when the database closes under the store: a newer version took it over, or the browser closed it. */
  readonly onClosed?: (error: ClientError) => void;
  /** Makes the client id on first open; random by default. */
  readonly newClientId?: () => string;
  /**
   * Chromium's transaction durability: the browser's default (`relaxed` in current Chromium:
   * committed data survives a crash of the tab or the browser, not of the OS), or `strict` to
   * flush to disk before each commit resolves, at a cost in write speed.
   */
  readonly durability?: 'default' | 'strict' | 'relaxed';
}

/** Confirmed events per page row; see {@link DexieClientStore}. */
export const PAGE_SIZE = 256;

/**
 * A small insert adds to the last page only while it holds fewer events than this (or than the
 * insert brings); otherwise it starts a new page. See {@link DexieClientStore}.
 */
export const TAIL_FILL = 32;

/**
 * The IndexedDB schema version this code writes (Dexie's version; IndexedDB sees it × 10).
 *
 * History:
 * - 1: meta, events (pages), outbox, rejected, snapshots.
 * - 2: `rejected` becomes `deadLetters` (rows copied over); the outbox gets an index on
 *   `acked.position`, to settle acked rows of streams the log does not hold.
 * - 3: the reaction runtime's tables (`checkpoints`, `applied`, `sagas`, `timeouts`,
 *   `reactionOutbox`; its dead letters share `deadLetters`), and `appendKeys`, the idempotency
 *   keys of appends.
 */
export const SCHEMA_VERSION = 3;

/**
 * The {@link ClientStore} on Dexie (IndexedDB). Tables:
 *
 * - `meta`: one row, the {@link ClientMeta}, rewritten in every transaction that moves it.
 * - `outbox`: one row per pending event, keyed by `clientSeq`: the sync engine reads it in
 *   clientSeq order, and confirmations find their row by (clientId, clientSeq). One index, on
 *   `acked.position`: rows not acked yet have no entry, so appends do not pay for it.
 * - `events`: the confirmed log in **pages**: each row holds up to {@link PAGE_SIZE} consecutive
 *   confirmed events, keyed by its first position, with one multi-entry index over the streams
 *   it holds (to read one stream without scanning the log). `insertHistory` merges older events
 *   into the pages they fall in and splits them again: it rewrites the pages between the first
 *   and the last event it stores, a cost like that of pulling them.
 * - `deadLetters` (keyed by id, indexed by handler: the sync engine's and the reaction runtime's
 *   letters in one table), `snapshots` (keyed by `name@version`, indexed by name).
 * - `appendKeys`: the idempotency keys of appends (`appendPending`'s `key`), kept for good.
 * - `checkpoints`, `applied`, `sagas`, `timeouts`, `reactionOutbox`: the reaction runtime's, read
 *   and written by `DexieReactionStore` only.
 *
 * Why pages: IndexedDB pays per row and per index entry, far more than per byte. Measured in
 * Chromium (100k confirmed events of ~350 bytes over 1,000 streams, bulkAdd in batches of 1,000;
 * packages/client/bench/layout.browser.bench.ts): one row per event ≈ 33k events/s with the primary
 * key only, ≈ 21k/s with three indexes; pages of 256 ≈ 390k/s with no index, ≈ 120k/s with the
 * multi-entry stream index (the worst case: each page holds ~250 streams; fewer streams per page
 * cost less). Reading all 100k back: ≈ 720 ms as rows, 170–255 ms as pages. So: pages of up to
 * 256 events with the stream index, which still writes ~3.5× faster than the bare row-per-event
 * baseline (catchup-vs-row-per-event: ≈ 2.4× through the whole client) and lets `execute` and `events$`
 * read one stream without scanning the log.
 *
 * Live events arrive one or a few at a time, and adding them to the last page rewrites it whole
 * (read, cloned, its stream index redone): a cost in proportion to the page, not to the events.
 * So a small insert fills the last page only while it holds fewer than {@link TAIL_FILL} (32)
 * events, or fewer than the insert brings (which keeps a rewrite's cost per new event bounded),
 * and otherwise starts a new page: live stretches of the log are pages of 32, not rows of one, and
 * pulls (pages of 1,000) still fill pages to 256. Measured in Node on fake-indexeddb: storing one
 * live event took 1.2 ms at the median and 3.7 ms on a nearly full page of 256; 0.3 ms with the
 * bound.
 */
export class DexieClientStore implements ClientStore {
  /** The Dexie database, for tests and tools; never write to it directly. */
  readonly db: Dexie;
  readonly #meta: Table<MetaRow, string>;
  readonly #events: Table<PageRow, number>;
  readonly #outbox: Table<OutboxRow, number>;
  readonly #deadLetters: Table<DeadLetterRow, string>;
  readonly #snapshots: Table<SnapshotRow, string>;
  readonly #appendKeys: Table<AppendKeyRow, string>;
  readonly #options: DexieClientStoreOptions;
  #closing = false;
  /** Why the database closed under us, to tell callers instead of a bare `database-closed`. */
  #closedBecause: ClientError | undefined;

  constructor(options: DexieClientStoreOptions) {
    this.#options = options;
    const deps = options.indexedDB;
    this.db = new Dexie(options.name, {
      ...(deps ? { indexedDB: deps.indexedDB, IDBKeyRange: deps.IDBKeyRange } : {}),
      ...(options.durability ? { chromeTransactionDurability: options.durability } : {}),
      autoOpen: false,
    });
    this.db.version(1).stores({
      meta: 'key',
      events: 'first, *streams',
      outbox: 'clientSeq',
      rejected: 'clientSeq',
      snapshots: 'id, name',
    });
    this.db
      .version(2)
      .stores({ outbox: 'clientSeq, acked.position', rejected: null, deadLetters: 'id, handler' })
      .upgrade(async (tx) => {
        const rejected = (await tx.table('rejected').toArray()) as RejectedRowV1[];
        await tx
          .table('deadLetters')
          .bulkAdd(rejected.map((r) => deadLetterOf({ clientSeq: r.clientSeq, event: r.event }, r, r.at)));
      });
    // New tables only: nothing to copy.
    this.db.version(3).stores({
      appendKeys: 'key',
      checkpoints: 'consumer',
      applied: 'id',
      sagas: 'id, saga',
      timeouts: 'id',
      reactionOutbox: '++seq, &id',
    });
    this.#meta = this.db.table('meta');
    this.#events = this.db.table('events');
    this.#outbox = this.db.table('outbox');
    this.#deadLetters = this.db.table('deadLetters');
    this.#snapshots = this.db.table('snapshots');
    this.#appendKeys = this.db.table('appendKeys');
    // A newer version wants the database: step aside (or it stays blocked) and say why, instead of
    // letting Dexie reopen it silently under an old schema.
    this.db.on('versionchange', () => {
      this.#closing = true;
      this.db.close();
      this.#closedBecause = new ClientError(
        ClientErrorCode.versionConflict,
        `a newer version of database ${options.name} was opened elsewhere; this one is closed (reload to continue)`,
      );
      options.onClosed?.(this.#closedBecause);
      return false;
    });
    // Dexie fires `close` for every close, ours included: report only those we did not ask for.
    this.db.on('close', () => {
      if (this.#closing) return;
      options.onClosed?.(
        new ClientError(ClientErrorCode.databaseClosed, `database ${options.name} was closed by the browser`),
      );
    });
  }

  async open(): Promise<ClientMeta> {
    let onBlocked: () => void = () => undefined;
    const blocked = new Promise<never>((_, reject) => {
      onBlocked = () =>
        reject(
          new ClientError(
            ClientErrorCode.databaseBlocked,
            `opening ${this.#options.name} is blocked by another tab that keeps an older version open`,
          ),
        );
    });
    this.db.on('blocked', onBlocked);
    try {
      await Promise.race([this.db.open(), blocked]);
    } catch (thrown) {
      this.close();
      throw toClientError(thrown);
    } finally {
      this.db.on('blocked').unsubscribe(onBlocked);
    }
    // Dexie opens a newer installed version rather than fail; this code cannot read it.
    const installed = this.db.backendDB().version / 10;
    if (installed > SCHEMA_VERSION) {
      this.close();
      throw new ClientError(
        ClientErrorCode.versionConflict,
        `database ${this.#options.name} is at version ${installed}, newer than this code's ${SCHEMA_VERSION}; reload to continue`,
      );
    }
    return this.#run('rw', [this.#meta], async () => {
      const existing = await this.#meta.get(META_KEY);
      if (existing) return toMeta(existing);
      const meta: ClientMeta = {
        clientId: (this.#options.newClientId ?? randomClientId)(),
        clientSeq: 0,
        hlc: undefined,
        position: 0,
        epoch: 0,
        history: 0,
        subscriptions: undefined,
        hubId: undefined,
      };
      await this.#meta.add(toRow(meta));
      return meta;
    });
  }

  close(): void {
    this.#closing = true;
    this.db.close();
  }

  readMeta(): Promise<ClientMeta> {
    return this.#run('r', [this.#meta], () => this.#readMeta());
  }

  appendPending(
    build: (meta: ClientMeta) => PendingBuild,
    options: { readonly replace?: readonly number[]; readonly key?: string } = {},
  ): Promise<AppendPendingResult> {
    const { key } = options;
    const tables =
      key === undefined ? [this.#meta, this.#outbox] : [this.#meta, this.#outbox, this.#appendKeys];
    return this.#run('rw', tables, async () => {
      const before = await this.#readMeta();
      if (key !== undefined) {
        if ((await this.#appendKeys.get(key)) !== undefined) {
          return { before, meta: before, rows: [], replaced: [], duplicate: true };
        }
        await this.#appendKeys.add({ key, at: Date.now() });
      }
      const replace = options.replace ?? [];
      const replaced =
        replace.length === 0
          ? []
          : (await this.#outbox.bulkGet([...replace])).filter((r): r is OutboxRow => r !== undefined);
      const built = build(before);
      const rows = built.events.map((event, i): OutboxRow => {
        if (event.clientSeq !== before.clientSeq + i + 1 || event.clientId !== before.clientId) {
          throw new ClientError(
            ClientErrorCode.internal,
            `appendPending: event ${i} must have clientSeq ${before.clientSeq + i + 1} and clientId ${before.clientId}`,
          );
        }
        return built.command
          ? { clientSeq: event.clientSeq, event, command: built.command }
          : { clientSeq: event.clientSeq, event };
      });
      if (rows.length === 0 && replaced.length === 0) return { before, meta: before, rows, replaced };
      const meta: ClientMeta = {
        ...before,
        clientSeq: before.clientSeq + rows.length,
        hlc: built.hlc ?? before.hlc,
        epoch: before.epoch + (replaced.length > 0 ? 1 : 0),
      };
      if (replaced.length > 0) await this.#outbox.bulkDelete(replaced.map((r) => r.clientSeq));
      await Promise.all([this.#outbox.bulkAdd(rows), this.#meta.put(toRow(meta))]);
      return { before, meta, rows, replaced };
    });
  }

  readPending(
    query: { readonly afterSeq?: number; readonly limit?: number; readonly unackedOnly?: boolean } = {},
  ): Promise<OutboxRow[]> {
    return this.#run('r', [this.#outbox], () => this.#readPending(query));
  }

  markAcked(acks: readonly AckRecord[]): Promise<{ meta: ClientMeta; settled: OutboxRow[] }> {
    return this.#run('rw', [this.#meta, this.#outbox], async () => {
      const before = await this.#readMeta();
      if (acks.length === 0) return { meta: before, settled: [] };
      const rows = await this.#outbox.bulkGet(acks.map((a) => a.clientSeq));
      const updated: OutboxRow[] = [];
      const settled: OutboxRow[] = [];
      rows.forEach((row, i) => {
        const ack = acks[i]!;
        if (!row) return;
        if (ack.position <= before.position) settled.push(row);
        else updated.push({ ...row, acked: ackOf(ack) });
      });
      if (updated.length > 0) await this.#outbox.bulkPut(updated);
      if (settled.length === 0) return { meta: before, settled };
      const meta: ClientMeta = { ...before, epoch: before.epoch + 1 };
      await Promise.all([
        this.#outbox.bulkDelete(settled.map((r) => r.clientSeq)),
        this.#meta.put(toRow(meta)),
      ]);
      return { meta, settled };
    });
  }

  reject(rejections: readonly RejectionInput[]): Promise<RejectResult> {
    return this.#run('rw', [this.#meta, this.#outbox, this.#deadLetters], async () => {
      const before = await this.#readMeta();
      const rows = await this.#outbox.bulkGet(rejections.map((r) => r.clientSeq));
      const at = Date.now();
      const deadLetters: DeadLetterRow[] = [];
      const dropped: OutboxRow[] = [];
      rows.forEach((row, i) => {
        const r = rejections[i]!;
        if (!row) return;
        if (r.drop) dropped.push(row);
        else deadLetters.push(deadLetterOf(row, r, at));
      });
      if (deadLetters.length + dropped.length === 0) return { meta: before, deadLetters, dropped };
      const meta: ClientMeta = { ...before, epoch: before.epoch + 1 };
      await Promise.all([
        this.#outbox.bulkDelete([
          ...deadLetters.map((r) => r.rejection.clientSeq),
          ...dropped.map((r) => r.clientSeq),
        ]),
        this.#deadLetters.bulkPut(deadLetters),
        this.#meta.put(toRow(meta)),
      ]);
      return { meta, deadLetters, dropped };
    });
  }

  readDeadLetters(): Promise<DeadLetterRow[]> {
    return this.#run('r', [this.#deadLetters], async () => {
      const rows = await this.#deadLetters.where('handler').equals(SYNC_DEAD_LETTERS).toArray();
      return rows.sort((a, b) => a.rejection.clientSeq - b.rejection.clientSeq);
    });
  }

  deleteDeadLetters(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.#run('rw', [this.#deadLetters], () => this.#deadLetters.bulkDelete([...ids]));
  }

  async insertConfirmed(
    events: readonly CommittedEvent[],
    options: { readonly until?: number } = {},
  ): Promise<InsertConfirmedResult> {
    checkOrder(events);
    return await this.#run('rw', [this.#meta, this.#events, this.#outbox], async () => {
      const before = await this.#readMeta();
      const fresh =
        events[0] && events[0].position > before.position
          ? events
          : events.filter((e) => e.position > before.position);
      let removed: OutboxRow[] = [];
      if (fresh.length > 0) {
        await this.#writePages(fresh);
        removed = await this.#removeConfirmed(fresh, before.clientId);
      }
      const position = Math.max(before.position, fresh.at(-1)?.position ?? 0, options.until ?? 0);
      // Acked rows the position passed without their event: streams this log does not hold.
      const settled =
        position > before.position
          ? await this.#outbox.where('acked.position').belowOrEqual(position).toArray()
          : [];
      if (settled.length > 0) await this.#outbox.bulkDelete(settled.map((r) => r.clientSeq));
      const meta: ClientMeta = { ...before, position, epoch: before.epoch + (settled.length > 0 ? 1 : 0) };
      if (meta.position !== before.position) await this.#meta.put(toRow(meta));
      return { before, meta, fresh, removed, settled };
    });
  }

  async insertHistory(
    events: readonly CommittedEvent[],
    options: { readonly subscriptions?: readonly string[] } = {},
  ): Promise<InsertHistoryResult> {
    checkOrder(events);
    return await this.#run('rw', [this.#meta, this.#events, this.#outbox, this.#snapshots], async () => {
      const before = await this.#readMeta();
      const older = events.filter((e) => e.position <= before.position);
      let inserted: CommittedEvent[] = [];
      let removed: OutboxRow[] = [];
      if (older.length > 0) {
        inserted = await this.#mergePages(older);
        removed = await this.#removeConfirmed(inserted, before.clientId);
      }
      if (inserted.length > 0) await this.#snapshots.clear();
      const meta: ClientMeta = {
        ...before,
        history: before.history + (inserted.length > 0 ? 1 : 0),
        // Readers do not look below their position for confirmations: tell them by the epoch.
        epoch: before.epoch + (removed.length > 0 ? 1 : 0),
        ...(options.subscriptions ? { subscriptions: [...options.subscriptions] } : {}),
      };
      if (inserted.length > 0 || options.subscriptions) await this.#meta.put(toRow(meta));
      return { meta, inserted, removed };
    });
  }

  realign(input: RealignInput): Promise<RealignResult> {
    return this.#run('rw', [this.#meta, this.#events, this.#outbox, this.#snapshots], async () => {
      const meta = await this.#readMeta();
      const outbox = await this.#outbox.toArray();
      // Ahead of the hub (rare: a restored log), the whole log is read to find the own events it lost.
      const log = aheadOfHub(meta, outbox, input) ? await this.#readConfirmed({}) : [];
      const plan = planRealign(meta, outbox, log, input);
      if (plan.cutAbove !== undefined) {
        const cut = plan.cutAbove;
        const start =
          ((await this.#events.where('first').belowOrEqual(cut).lastKey()) as number | undefined) ?? cut;
        const pages = await this.#events.where('first').aboveOrEqual(start).toArray();
        await this.#events.bulkDelete(pages.map((p) => p.first));
        const kept = pages.flatMap((p) => p.events).filter((e) => e.position <= cut);
        const rows: PageRow[] = [];
        for (let i = 0; i < kept.length; i += PAGE_SIZE) rows.push(toPage(kept.slice(i, i + PAGE_SIZE)));
        if (rows.length > 0) await this.#events.bulkAdd(rows);
        await this.#snapshots.clear();
      }
      if (plan.deleteSeqs.length > 0) await this.#outbox.bulkDelete([...plan.deleteSeqs]);
      if (plan.putRows.length > 0) await this.#outbox.bulkPut([...plan.putRows]);
      if (plan.result.meta !== meta) await this.#meta.put(toRow(plan.result.meta));
      return plan.result;
    });
  }

  writeSyncState(state: {
    readonly subscriptions?: readonly string[];
    readonly hubId?: string;
  }): Promise<ClientMeta> {
    return this.#run('rw', [this.#meta], async () => {
      const meta: ClientMeta = {
        ...(await this.#readMeta()),
        ...(state.subscriptions ? { subscriptions: [...state.subscriptions] } : {}),
        ...(state.hubId === undefined ? {} : { hubId: state.hubId }),
      };
      await this.#meta.put(toRow(meta));
      return meta;
    });
  }

  readConfirmed(query: ConfirmedQuery = {}): Promise<CommittedEvent[]> {
    return this.#run('r', [this.#events], () => this.#readConfirmed(query));
  }

  readChanges(cursor: StoreCursor): Promise<StoreChanges> {
    return this.#run('r', [this.#meta, this.#events, this.#outbox], async () => {
      const meta = await this.#readMeta();
      const pendingReset = meta.epoch !== cursor.epoch;
      const historyReset = meta.history !== cursor.history;
      const [confirmed, pending] = await Promise.all([
        meta.position > cursor.position
          ? this.#readConfirmed({ from: cursor.position, until: meta.position })
          : Promise.resolve([]),
        pendingReset || meta.clientSeq > cursor.clientSeq
          ? this.#readPending(pendingReset ? {} : { afterSeq: cursor.clientSeq })
          : Promise.resolve([]),
      ]);
      return { meta, confirmed, pending, pendingReset, historyReset };
    });
  }

  readSnapshot(id: string): Promise<SnapshotRow | undefined> {
    return this.#run('r', [this.#snapshots], () => this.#snapshots.get(id));
  }

  putSnapshots(rows: readonly SnapshotRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.#run('rw', [this.#snapshots], async () => {
      for (const row of rows) {
        await this.#snapshots
          .where('name')
          .equals(row.name)
          .and((other) => other.id !== row.id)
          .delete();
      }
      await this.#snapshots.bulkPut([...rows]);
    });
  }

  // Every public method is one transaction, and every failure leaves as a ClientError.
  async #run<T>(mode: 'r' | 'rw', tables: Table[], body: () => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(mode, tables, body);
    } catch (thrown) {
      const error = toClientError(thrown);
      throw error.code === ClientErrorCode.databaseClosed && this.#closedBecause
        ? this.#closedBecause
        : error;
    }
  }

  async #readMeta(): Promise<ClientMeta> {
    const row = await this.#meta.get(META_KEY);
    if (!row) throw new ClientError(ClientErrorCode.databaseClosed, 'the store is not open (no meta record)');
    return toMeta(row);
  }

  async #readPending(query: {
    readonly afterSeq?: number;
    readonly limit?: number;
    readonly unackedOnly?: boolean;
  }): Promise<OutboxRow[]> {
    let collection = this.#outbox.where('clientSeq').above(query.afterSeq ?? 0);
    if (query.unackedOnly) collection = collection.and((row) => row.acked === undefined);
    if (query.limit !== undefined) collection = collection.limit(query.limit);
    return collection.toArray();
  }

  // Fills the last page up to PAGE_SIZE (a small insert only a small page: TAIL_FILL), then
  // starts new pages.
  async #writePages(fresh: readonly CommittedEvent[]): Promise<void> {
    let rest = fresh;
    const last = await this.#events.orderBy('first').last();
    const held = last?.events.length ?? PAGE_SIZE;
    if (last && held < PAGE_SIZE && (held < TAIL_FILL || fresh.length >= held)) {
      const take = rest.slice(0, PAGE_SIZE - last.events.length);
      rest = rest.slice(take.length);
      await this.#events.put(toPage([...last.events, ...take]));
    }
    if (rest.length === 0) return;
    const pages: PageRow[] = [];
    for (let i = 0; i < rest.length; i += PAGE_SIZE) pages.push(toPage(rest.slice(i, i + PAGE_SIZE)));
    await this.#events.bulkAdd(pages);
  }

  // Merges events at or below the position into the pages they fall in, skipping positions held,
  // and cuts the merged run into pages again. Returns the events stored.
  async #mergePages(older: readonly CommittedEvent[]): Promise<CommittedEvent[]> {
    const low = older[0]!.position;
    const high = older.at(-1)!.position;
    const start =
      ((await this.#events.where('first').belowOrEqual(low).lastKey()) as number | undefined) ?? low;
    const pages = await this.#events.where('first').between(start, high, true, true).toArray();
    const held = new Set<number>();
    for (const page of pages) for (const e of page.events) held.add(e.position);
    const inserted = older.filter((e) => !held.has(e.position));
    if (inserted.length === 0) return [];
    const merged = [...pages.flatMap((p) => p.events), ...inserted].sort((a, b) => a.position - b.position);
    await this.#events.bulkDelete(pages.map((p) => p.first));
    const rows: PageRow[] = [];
    for (let i = 0; i < merged.length; i += PAGE_SIZE) rows.push(toPage(merged.slice(i, i + PAGE_SIZE)));
    await this.#events.bulkAdd(rows);
    return inserted;
  }

  // The outbox rows these confirmed events stand for: same client, same seq, same id.
  async #removeConfirmed(fresh: readonly CommittedEvent[], clientId: string): Promise<OutboxRow[]> {
    const mine = fresh.filter((e) => e.clientId === clientId);
    if (mine.length === 0) return [];
    const rows = await this.#outbox.bulkGet(mine.map((e) => e.clientSeq));
    const removed = rows.filter(
      (row, i): row is OutboxRow => row !== undefined && row.event.id === mine[i]!.id,
    );
    if (removed.length > 0) await this.#outbox.bulkDelete(removed.map((r) => r.clientSeq));
    return removed;
  }

  async #readConfirmed(query: ConfirmedQuery): Promise<CommittedEvent[]> {
    const from = query.from ?? 0;
    const until = query.until ?? Infinity;
    const limit = query.limit ?? Infinity;
    const types = query.types ? new Set(query.types) : undefined;
    const out: CommittedEvent[] = [];
    const take = (pages: readonly PageRow[]): boolean => {
      for (const page of pages) {
        if (page.last <= from) continue;
        for (const e of page.events) {
          if (e.position <= from) continue;
          if (e.position > until) return false;
          if (query.stream !== undefined && e.stream !== query.stream) continue;
          if (types && !types.has(e.type)) continue;
          out.push(e);
          if (out.length >= limit) return false;
        }
      }
      return true;
    };
    if (query.stream !== undefined) {
      take(await this.#events.where('streams').equals(query.stream).toArray());
      return out;
    }
    // The page holding position from + 1 is the last page starting at or before it.
    const start =
      ((await this.#events
        .where('first')
        .belowOrEqual(from + 1)
        .lastKey()) as number | undefined) ?? from + 1;
    if (limit === Infinity) {
      const range =
        until === Infinity
          ? this.#events.where('first').aboveOrEqual(start)
          : this.#events.where('first').between(start, until, true, true);
      take(await range.toArray());
      return out;
    }
    // With a limit, read a few pages at a time instead of the whole tail.
    let next = start;
    for (;;) {
      const pages = await this.#events.where('first').aboveOrEqual(next).limit(8).toArray();
      if (pages.length === 0 || !take(pages)) return out;
      next = pages.at(-1)!.first + 1;
    }
  }
}

interface MetaRow extends Omit<ClientMeta, 'hlc' | 'history' | 'subscriptions' | 'hubId'> {
  readonly key: typeof META_KEY;
  readonly hlc?: string;
  // Missing in rows written by schema version 1.
  readonly history?: number;
  readonly subscriptions?: readonly string[];
  readonly hubId?: string;
}

/** A row of the `rejected` table of schema version 1, moved to `deadLetters` by version 2. */
interface RejectedRowV1 extends RejectionInput {
  readonly event: OutboxRow['event'];
  readonly at: number;
}

/** An idempotency key of an append (`appendPending`'s `key`), and when it was first used (ms). */
interface AppendKeyRow {
  readonly key: string;
  readonly at: number;
}

/** Up to {@link PAGE_SIZE} consecutive confirmed events, keyed by the first one's position. */
interface PageRow {
  readonly first: number;
  readonly last: number;
  /** The distinct streams of the page: one index entry per stream, not per event. */
  readonly streams: readonly string[];
  readonly events: readonly CommittedEvent[];
}

const META_KEY = 'client';

function toMeta(row: MetaRow): ClientMeta {
  return {
    clientId: row.clientId,
    clientSeq: row.clientSeq,
    hlc: row.hlc,
    position: row.position,
    epoch: row.epoch,
    history: row.history ?? 0,
    subscriptions: row.subscriptions,
    hubId: row.hubId,
  };
}

function toRow(meta: ClientMeta): MetaRow {
  const { hlc, subscriptions, hubId, ...rest } = meta;
  return {
    key: META_KEY,
    ...rest,
    ...(hlc === undefined ? {} : { hlc }),
    ...(subscriptions === undefined ? {} : { subscriptions: [...subscriptions] }),
    ...(hubId === undefined ? {} : { hubId }),
  };
}

function toPage(events: readonly CommittedEvent[]): PageRow {
  const streams = new Set<string>();
  for (const e of events) streams.add(e.stream);
  return { first: events[0]!.position, last: events.at(-1)!.position, streams: [...streams], events };
}

/** A random client id: 20 characters of [a-z0-9], about 103 bits. */
function randomClientId(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  let id = '';
  for (const b of bytes) id += ALPHABET[b % 36];
  return id;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
