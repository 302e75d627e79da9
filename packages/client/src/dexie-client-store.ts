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
import { mergePages, PAGE_SIZE, readConfirmed, toPage, writePages, type PageRow } from './confirmed-pages.ts';
import {
  defineSchema,
  META_KEY,
  randomClientId,
  SCHEMA_VERSION,
  toMeta,
  toRow,
  type AppendKeyRow,
  type MetaRow,
} from './dexie-schema.ts';
import { appendOnGuess, readPending, removeConfirmed, STALE_META } from './dexie-outbox.ts';
import { aheadOfHub, planRealign } from './realign-plan.ts';
import { ackOf, checkOrder, deadLetterOf, pendingRows } from './store-rows.ts';

export { PAGE_SIZE, TAIL_FILL } from './confirmed-pages.ts';
export { SCHEMA_VERSION } from './dexie-schema.ts';

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
  /**
   * The meta as this store last read or wrote it: the guess a plain append builds on without
   * waiting for a read (checked in the same transaction, see `#appendOnGuess`).
   */
  #lastMeta: ClientMeta | undefined;
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
    defineSchema(this.db);
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
      if (existing) return (this.#lastMeta = toMeta(existing));
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
      return (this.#lastMeta = meta);
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
    const guess = this.#lastMeta;
    if (guess === undefined || options.key !== undefined || (options.replace?.length ?? 0) > 0) {
      return this.#appendAfterRead(build, options);
    }
    // The plain append does not wait for the meta: see `appendOnGuess`.
    return this.#run('rw', [this.#meta, this.#outbox], () =>
      appendOnGuess(this.#meta, this.#outbox, guess, build, (meta) => this.#putMeta(meta)),
    ).catch((error: unknown) => {
      if (error === STALE_META) return this.#appendAfterRead(build, options);
      throw error;
    });
  }

  #appendAfterRead(
    build: (meta: ClientMeta) => PendingBuild,
    options: { readonly replace?: readonly number[]; readonly key?: string },
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
      const { meta, rows } = pendingRows(before, build(before), replaced);
      if (rows.length === 0 && replaced.length === 0) return { before, meta: before, rows, replaced };
      if (replaced.length > 0) await this.#outbox.bulkDelete(replaced.map((r) => r.clientSeq));
      await Promise.all([this.#outbox.bulkAdd(rows), this.#putMeta(meta)]);
      return { before, meta, rows, replaced };
    });
  }

  readPending(
    query: { readonly afterSeq?: number; readonly limit?: number; readonly unackedOnly?: boolean } = {},
  ): Promise<OutboxRow[]> {
    return this.#run('r', [this.#outbox], () => readPending(this.#outbox, query));
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
      await Promise.all([this.#outbox.bulkDelete(settled.map((r) => r.clientSeq)), this.#putMeta(meta)]);
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
        this.#putMeta(meta),
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
        await writePages(this.#events, fresh);
        removed = await removeConfirmed(this.#outbox, fresh, before.clientId);
      }
      const position = Math.max(before.position, fresh.at(-1)?.position ?? 0, options.until ?? 0);
      // Acked rows the position passed without their event: streams this log does not hold.
      const settled =
        position > before.position
          ? await this.#outbox.where('acked.position').belowOrEqual(position).toArray()
          : [];
      if (settled.length > 0) await this.#outbox.bulkDelete(settled.map((r) => r.clientSeq));
      const meta: ClientMeta = { ...before, position, epoch: before.epoch + (settled.length > 0 ? 1 : 0) };
      if (meta.position !== before.position) await this.#putMeta(meta);
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
        inserted = await mergePages(this.#events, older);
        removed = await removeConfirmed(this.#outbox, inserted, before.clientId);
      }
      if (inserted.length > 0) await this.#snapshots.clear();
      const meta: ClientMeta = {
        ...before,
        history: before.history + (inserted.length > 0 ? 1 : 0),
        // Readers do not look below their position for confirmations: tell them by the epoch.
        epoch: before.epoch + (removed.length > 0 ? 1 : 0),
        ...(options.subscriptions ? { subscriptions: [...options.subscriptions] } : {}),
      };
      if (inserted.length > 0 || options.subscriptions) await this.#putMeta(meta);
      return { meta, inserted, removed };
    });
  }

  realign(input: RealignInput): Promise<RealignResult> {
    return this.#run('rw', [this.#meta, this.#events, this.#outbox, this.#snapshots], async () => {
      const meta = await this.#readMeta();
      const outbox = await this.#outbox.toArray();
      // Ahead of the hub (rare: a restored log), the whole log is read to find the own events it lost.
      const log = aheadOfHub(meta, outbox, input) ? await readConfirmed(this.#events, {}) : [];
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
      if (plan.result.meta !== meta) await this.#putMeta(plan.result.meta);
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
      await this.#putMeta(meta);
      return meta;
    });
  }

  readConfirmed(query: ConfirmedQuery = {}): Promise<CommittedEvent[]> {
    return this.#run('r', [this.#events], () => readConfirmed(this.#events, query));
  }

  readChanges(cursor: StoreCursor): Promise<StoreChanges> {
    return this.#run('r', [this.#meta, this.#events, this.#outbox], async () => {
      const meta = await this.#readMeta();
      const pendingReset = meta.epoch !== cursor.epoch;
      const historyReset = meta.history !== cursor.history;
      const [confirmed, pending] = await Promise.all([
        meta.position > cursor.position
          ? readConfirmed(this.#events, { from: cursor.position, until: meta.position })
          : Promise.resolve([]),
        pendingReset || meta.clientSeq > cursor.clientSeq
          ? readPending(this.#outbox, pendingReset ? {} : { afterSeq: cursor.clientSeq })
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

  /** Writes the meta row (in the caller's transaction), and remembers it as the next append's guess. */
  #putMeta(meta: ClientMeta): Promise<string> {
    this.#lastMeta = meta;
    return this.#meta.put(toRow(meta));
  }

  async #readMeta(): Promise<ClientMeta> {
    const row = await this.#meta.get(META_KEY);
    if (!row) throw new ClientError(ClientErrorCode.databaseClosed, 'the store is not open (no meta record)');
    return (this.#lastMeta = toMeta(row));
  }
}
