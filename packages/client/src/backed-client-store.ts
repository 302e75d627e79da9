import type { CommittedEvent } from '@eventloom/protocol';
import { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
import type {
  AckRecord,
  AppendPendingOptions,
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
import { META_KEY, randomClientId, sameMeta, toMeta, toRow, type ClientRows } from './client-tables.ts';
import {
  cutPages,
  mergePages,
  readConfirmed,
  tailAt,
  writePages,
  type KnownTail,
} from './confirmed-pages.ts';
import {
  deleteRows,
  getRows,
  putRows,
  readPending,
  removeConfirmed,
  settleAcked,
  settleUnheld,
  type PendingQuery,
} from './outbox-tables.ts';
import { aheadOfHub, planRealign, realignsNothing } from './realign-plan.ts';
import { keepSent, readSent, sentAbove, trimSent } from './sent-pages.ts';
import { putSnapshotRows } from './snapshot-rows.ts';
import type { ReadTx, StoreBackend, WriteTx } from './store-backend.ts';
import { ackOf, checkOrder, deadLetterOf, pendingRows } from './store-rows.ts';

/** Options every {@link BackedClientStore} takes. */
export interface BackedClientStoreOptions {
  /** Makes the client id on first open; random by default. */
  readonly newClientId?: () => string;
}

/**
 * The {@link ClientStore}'s rules (outbox, acks, confirmations, history, realign, snapshots, the
 * meta record), written once above a thin {@link StoreBackend}: a new backend is an adapter of a
 * few transactional table reads and writes, and passes `describeClientStore` as it is. The tables
 * are `CLIENT_SCHEMA`'s.
 *
 * The confirmed log is kept in **pages**: each row of `events` holds up to `PAGE_SIZE` (256)
 * consecutive confirmed events, keyed by its first position, with one multi-entry index over the
 * streams it holds (to read one stream without scanning the log). IndexedDB pays per row and per
 * index entry, far more than per byte. Measured in Chromium (100k confirmed events of ~350 bytes
 * over 1,000 streams, bulkAdd in batches of 1,000; packages/client/bench/layout.browser.bench.ts):
 * one row per event ≈ 33k events/s with the primary key only, ≈ 21k/s with three indexes; pages of
 * 256 ≈ 390k/s with no index, ≈ 120k/s with the stream index. Reading all 100k back: ≈ 720 ms as
 * rows, 170–255 ms as pages. `insertHistory` merges older events into the pages they fall in and
 * splits them again: it rewrites the pages between the first and the last event it stores, a cost
 * like that of pulling them.
 *
 * Live events arrive one or a few at a time, and adding them to the last page rewrites it whole. So
 * a small insert fills the last page only while it holds fewer than `TAIL_FILL` (32) events, or
 * fewer than the insert brings, and otherwise starts a new page: live stretches of the log are
 * pages of 32, and pulls (pages of 1,000) still fill pages to 256. Until it makes 32, a small page
 * is a row per insert, made one then (`writePages`), and the store keeps the tail it wrote: a live
 * event is stored without reading or rewriting any row. On fake-indexeddb, one live event took 1.2
 * ms (3.7 on a page of 256) unbounded, 0.3 with the bound; rows per insert: CPU 600 → 270 µs/event.
 *
 * The outbox is `outbox` (to push) and `acked` (acked, waiting for the event to come back
 * confirmed). An acked row whose event will not come back **settles**: when the position passes its
 * ack, or, on a log that holds no stream (a write-only device: its position never moves while a
 * session lasts), in bulk once the acked rows are at least four times as many as those still to ack
 * (`settleUnheld`). Settled rows are kept in `sent`, the device's last `SENT_KEPT` (10,000) seqs:
 * storage stays bounded, `readSent` answers `loom.outcome`, and `realign` returns to the outbox
 * those a hub restored from a backup lacks.
 */
export class BackedClientStore implements ClientStore {
  readonly #backend: StoreBackend<ClientRows>;
  readonly #newClientId: () => string;
  /**
   * The meta as this store last read or wrote it: the guess a plain append builds on without
   * waiting for a read (checked in the same transaction, see {@link appendOnGuess}).
   */
  #lastMeta: ClientMeta | undefined;
  /**
   * The tail of the confirmed log as this store last wrote it, trusted only at the same meta
   * ({@link tailAt}: clientId, position, history) and forgotten on open and close: a live event
   * adds to it without reading it back.
   */
  #tail: KnownTail | undefined;

  constructor(backend: StoreBackend<ClientRows>, options: BackedClientStoreOptions = {}) {
    this.#backend = backend;
    this.#newClientId = options.newClientId ?? randomClientId;
  }

  async open(): Promise<ClientMeta> {
    this.#tail = undefined;
    await this.#backend.open();
    return this.#write(['meta'], async (tx) => {
      const existing = await tx.get('meta', META_KEY);
      if (existing) return (this.#lastMeta = toMeta(existing));
      const meta: ClientMeta = {
        clientId: this.#newClientId(),
        clientSeq: 0,
        hlc: undefined,
        position: 0,
        epoch: 0,
        history: 0,
        subscriptions: undefined,
        hubId: undefined,
      };
      await this.#putMeta(tx, meta);
      return meta;
    });
  }

  close(): void {
    this.#tail = undefined;
    this.#backend.close();
  }

  readMeta(): Promise<ClientMeta> {
    return this.#backend.read(['meta'], (tx) => this.#readMeta(tx));
  }

  appendPending(
    build: (meta: ClientMeta) => PendingBuild,
    options: AppendPendingOptions = {},
  ): Promise<AppendPendingResult> {
    const guess = this.#lastMeta;
    if (guess === undefined || options.key !== undefined || (options.replace?.length ?? 0) > 0) {
      return this.#appendAfterRead(build, options);
    }
    // The plain append does not wait for the meta: see `appendOnGuess`.
    let built: { meta: ClientMeta; rows: OutboxRow[] };
    try {
      built = pendingRows(guess, build(guess), []);
    } catch (error) {
      return Promise.reject(toClientError(error));
    }
    const { stamped } = options;
    // Told before the transaction starts: the push leaves at once (see `AppendPendingOptions.sole`).
    const early = built.rows.length > 0 && stamped !== undefined && options.sole === true;
    if (early) stamped(built.rows);
    return this.#write(['meta', 'outbox'], (tx) =>
      this.#appendOnGuess(tx, guess, built, early ? undefined : stamped),
    ).catch((error: unknown) => {
      if (error !== STALE_META) throw error;
      if (!early) return this.#appendAfterRead(build, options);
      throw new ClientError(
        ClientErrorCode.storage,
        'another writer of the database moved the clientSeq counter while this append was pushed on it: not stored (the hub may hold the events; they come back confirmed)',
      );
    });
  }

  /**
   * A plain append (no key, nothing replaced) that does not wait for the meta: the rows and the new
   * meta are built on `guess`, the meta this store last saw, and written at once, while the meta is
   * read in the same transaction. A transaction's requests run in order, so the read sees the state
   * before the writes; if another tab or instance moved the meta since, it throws
   * {@link STALE_META} and the transaction rolls back with nothing stored. Saves a round trip per
   * append on IndexedDB. `built`: the rows and the meta, built on `guess`; `stamped`: told once the
   * read confirmed the guess.
   */
  async #appendOnGuess(
    tx: WriteTx<ClientRows>,
    guess: ClientMeta,
    built: { readonly meta: ClientMeta; readonly rows: OutboxRow[] },
    stamped: AppendPendingOptions['stamped'],
  ): Promise<AppendPendingResult> {
    const { meta, rows } = built;
    const read = tx.get('meta', META_KEY);
    // A write that throws at once (a row that cannot be cloned) aborts the transaction before the
    // read is awaited: the read's failure is that one.
    void read.catch(() => undefined);
    const writes =
      rows.length === 0 ? Promise.resolve() : Promise.all([tx.put('outbox', rows), this.#putMeta(tx, meta)]);
    // Rolling back fails the writes too: that is the point, not an error to report.
    void writes.catch(() => undefined);
    const row = await read;
    if (row === undefined || !sameMeta(toMeta(row), guess)) {
      this.#lastMeta = undefined;
      throw STALE_META;
    }
    if (rows.length > 0 && stamped) tx.outside(() => stamped(rows));
    await writes;
    return { before: guess, meta, rows, replaced: [] };
  }

  #appendAfterRead(
    build: (meta: ClientMeta) => PendingBuild,
    options: AppendPendingOptions,
  ): Promise<AppendPendingResult> {
    const { key } = options;
    const replace = options.replace ?? [];
    return this.#write(
      [
        'meta',
        'outbox',
        ...(replace.length > 0 ? (['acked'] as const) : []),
        ...(key === undefined ? [] : (['appendKeys'] as const)),
      ],
      async (tx) => {
        const before = await this.#readMeta(tx);
        if (key !== undefined) {
          if ((await tx.get('appendKeys', key)) !== undefined) {
            return { before, meta: before, rows: [], replaced: [], duplicate: true };
          }
          await tx.put('appendKeys', [{ key, at: Date.now() }]);
        }
        const replaced = (await getRows(tx, replace)).filter((r): r is OutboxRow => r !== undefined);
        const { meta, rows } = pendingRows(before, build(before), replaced);
        if (rows.length === 0 && replaced.length === 0) return { before, meta: before, rows, replaced };
        const { stamped } = options;
        if (rows.length > 0 && stamped) tx.outside(() => stamped(rows));
        await deleteRows(tx, replaced);
        await tx.put('outbox', rows);
        await this.#putMeta(tx, meta);
        return { before, meta, rows, replaced };
      },
    );
  }

  readPending(query: PendingQuery = {}): Promise<OutboxRow[]> {
    return this.#backend.read(query.unackedOnly ? ['outbox'] : ['outbox', 'acked'], (tx) =>
      readPending(tx, query),
    );
  }

  markAcked(acks: readonly AckRecord[]): Promise<{ meta: ClientMeta; settled: number }> {
    return this.#write(['meta', 'outbox', 'acked', 'sent'], async (tx) => {
      const [before, rows] = await Promise.all([
        this.#readMeta(tx),
        getRows(
          tx,
          acks.map((a) => a.clientSeq),
        ),
      ]);
      if (acks.length === 0) return { meta: before, settled: 0 };
      const updated: OutboxRow[] = [];
      const passed: OutboxRow[] = [];
      rows.forEach((row, i) => {
        const ack = acks[i]!;
        if (!row) return;
        const acked = { ...row, acked: ackOf(ack) };
        if (ack.position <= before.position) passed.push(acked);
        else updated.push(acked);
      });
      await putRows(tx, updated);
      if (passed.length > 0) {
        // Acked at or below the position: its stream is not in this log, and it will not come back.
        const seqs = passed.map((r) => r.clientSeq);
        await Promise.all([
          tx.delete('outbox', seqs),
          tx.delete('acked', seqs),
          keepSent(tx, passed, before.clientSeq),
        ]);
      }
      // A log that holds no stream: see `settleUnheld`.
      const settled = passed.length + (await settleUnheld(tx, before));
      if (settled === 0) return { meta: before, settled };
      const meta: ClientMeta = { ...before, epoch: before.epoch + 1 };
      await this.#putMeta(tx, meta);
      return { meta, settled };
    });
  }

  reject(rejections: readonly RejectionInput[]): Promise<RejectResult> {
    return this.#write(['meta', 'outbox', 'acked', 'deadLetters'], async (tx) => {
      const before = await this.#readMeta(tx);
      const rows = await getRows(
        tx,
        rejections.map((r) => r.clientSeq),
      );
      const at = Date.now();
      const deadLetters: DeadLetterRow[] = [];
      const dropped: OutboxRow[] = [];
      const gone: OutboxRow[] = [];
      rows.forEach((row, i) => {
        const r = rejections[i]!;
        if (!row) return;
        gone.push(row);
        if (r.drop) dropped.push(row);
        else deadLetters.push(deadLetterOf(row, r, at));
      });
      if (gone.length === 0) return { meta: before, deadLetters, dropped };
      const meta: ClientMeta = { ...before, epoch: before.epoch + 1 };
      await deleteRows(tx, gone);
      await tx.put('deadLetters', deadLetters);
      await this.#putMeta(tx, meta);
      return { meta, deadLetters, dropped };
    });
  }

  readSent(seqs: readonly number[]): Promise<(OutboxRow | undefined)[]> {
    if (seqs.length === 0) return Promise.resolve([]);
    return this.#backend.read(['sent'], (tx) => readSent(tx, seqs));
  }

  readDeadLetters(): Promise<DeadLetterRow[]> {
    return this.#backend.read(['deadLetters'], async (tx) => {
      const rows = await tx.scanIndex('deadLetters', 'handler', {
        lower: SYNC_DEAD_LETTERS,
        upper: SYNC_DEAD_LETTERS,
      });
      return rows.sort((a, b) => a.rejection.clientSeq - b.rejection.clientSeq);
    });
  }

  deleteDeadLetters(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.#write(['deadLetters'], (tx) => tx.delete('deadLetters', ids));
  }

  async insertConfirmed(
    events: readonly CommittedEvent[],
    options: { readonly until?: number } = {},
  ): Promise<InsertConfirmedResult> {
    checkOrder(events);
    const known = this.#tail;
    this.#tail = undefined;
    const result = await this.#write(['meta', 'events', 'outbox', 'acked', 'sent'], async (tx) => {
      const before = await this.#readMeta(tx);
      const fresh =
        events[0] && events[0].position > before.position
          ? events
          : events.filter((e) => e.position > before.position);
      let tail = tailAt(known, before);
      let removed: OutboxRow[] = [];
      if (fresh.length > 0) {
        tail = await writePages(tx, fresh, tail);
        removed = await removeConfirmed(tx, fresh, before.clientId);
      }
      const position = Math.max(before.position, fresh.at(-1)?.position ?? 0, options.until ?? 0);
      // Acked rows the position passed without their event: streams this log does not hold.
      const settled = position > before.position ? await settleAcked(tx, position, before.clientSeq) : [];
      const meta: ClientMeta = { ...before, position, epoch: before.epoch + (settled.length > 0 ? 1 : 0) };
      if (meta.position !== before.position) await this.#putMeta(tx, meta);
      return { tail, result: { before, meta, fresh, removed, settled } };
    });
    const { meta } = result.result;
    if (result.tail) this.#tail = { rows: result.tail, meta };
    return result.result;
  }

  async insertHistory(
    events: readonly CommittedEvent[],
    options: { readonly subscriptions?: readonly string[] } = {},
  ): Promise<InsertHistoryResult> {
    checkOrder(events);
    return await this.#write(['meta', 'events', 'outbox', 'acked', 'snapshots'], async (tx) => {
      const before = await this.#readMeta(tx);
      const older = events.filter((e) => e.position <= before.position);
      let inserted: CommittedEvent[] = [];
      let removed: OutboxRow[] = [];
      if (older.length > 0) {
        inserted = await mergePages(tx, older);
        removed = await removeConfirmed(tx, inserted, before.clientId);
      }
      if (inserted.length > 0) await tx.clear('snapshots');
      const meta: ClientMeta = {
        ...before,
        history: before.history + (inserted.length > 0 ? 1 : 0),
        // Readers do not look below their position for confirmations: tell them by the epoch.
        epoch: before.epoch + (removed.length > 0 ? 1 : 0),
        ...(options.subscriptions ? { subscriptions: [...options.subscriptions] } : {}),
      };
      if (inserted.length > 0 || options.subscriptions) await this.#putMeta(tx, meta);
      return { meta, inserted, removed };
    });
  }

  realign(input: RealignInput): Promise<RealignResult> {
    return this.#write(['meta', 'events', 'outbox', 'acked', 'sent', 'snapshots'], async (tx) => {
      // Nearly always nothing changes, which the lowest unacked seq and a count of the rows above
      // the hub's tell: the outbox is read only otherwise (a backlog of 100k rows was read whole).
      const above = { lower: input.hubClientSeq, lowerOpen: true };
      const [meta, [lowest], outboxAbove, ackedAbove] = await Promise.all([
        this.#readMeta(tx),
        tx.scanKeys('outbox', { limit: 1 }) as Promise<number[]>,
        tx.count('outbox', above),
        tx.count('acked', above),
      ]);
      const ahead = input.usedFrom === undefined && aheadOfHub(meta, lowest, input);
      const rowsAbove = outboxAbove + ackedAbove;
      if (realignsNothing(meta, input, ahead, rowsAbove)) {
        return { before: meta, meta, returned: [], dropped: [], renumbered: new Map() };
      }
      const outbox = await readPending(tx, {});
      // Ahead of the hub (rare: a restored log), the whole log is read to find the own events it
      // lost, and the settled ones it lacks (`sent`, above the hub's seq).
      const log = ahead ? await readConfirmed(tx, {}) : [];
      const sent = ahead ? await sentAbove(tx, input.hubClientSeq) : [];
      const plan = planRealign(meta, outbox, log, input, ahead, sent);
      if (plan.cutAbove !== undefined) {
        await cutPages(tx, plan.cutAbove);
        await tx.clear('snapshots');
      }
      if (plan.deleteSeqs.length > 0) {
        await tx.delete('outbox', plan.deleteSeqs);
        await tx.delete('acked', plan.deleteSeqs);
      }
      if (plan.deleteSent.length > 0) await trimSent(tx, input.hubClientSeq);
      await putRows(tx, plan.putRows);
      if (plan.result.meta !== meta) await this.#putMeta(tx, plan.result.meta);
      return plan.result;
    });
  }

  writeSyncState(state: {
    readonly subscriptions?: readonly string[] | null;
    readonly hubId?: string;
  }): Promise<ClientMeta> {
    return this.#write(['meta'], async (tx) => {
      const { subscriptions } = state;
      const meta: ClientMeta = {
        ...(await this.#readMeta(tx)),
        ...(subscriptions === undefined
          ? {}
          : { subscriptions: subscriptions === null ? undefined : [...subscriptions] }),
        ...(state.hubId === undefined ? {} : { hubId: state.hubId }),
      };
      await this.#putMeta(tx, meta);
      return meta;
    });
  }

  readConfirmed(query: ConfirmedQuery = {}): Promise<CommittedEvent[]> {
    return this.#backend.read(['events'], (tx) => readConfirmed(tx, query));
  }

  readChanges(cursor: StoreCursor): Promise<StoreChanges> {
    return this.#backend.read(['meta', 'events', 'outbox', 'acked'], async (tx) => {
      const meta = await this.#readMeta(tx);
      const pendingReset = meta.epoch !== cursor.epoch;
      const historyReset = meta.history !== cursor.history;
      const confirmed =
        meta.position > cursor.position
          ? await readConfirmed(tx, { from: cursor.position, until: meta.position })
          : [];
      const pending =
        pendingReset || meta.clientSeq > cursor.clientSeq
          ? await readPending(tx, pendingReset ? {} : { afterSeq: cursor.clientSeq })
          : [];
      return { meta, confirmed, pending, pendingReset, historyReset };
    });
  }

  readSnapshot(id: string): Promise<SnapshotRow | undefined> {
    return this.#backend.read(['snapshots'], (tx) => tx.get('snapshots', id));
  }

  putSnapshots(rows: readonly SnapshotRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.#write(['snapshots'], (tx) => putSnapshotRows(tx, rows));
  }

  /**
   * A write transaction of the backend. One that fails forgets the guess: it may have put a meta
   * that never landed, and an append told on it would fail (see `AppendPendingOptions.sole`).
   */
  #write<T>(
    tables: readonly (keyof ClientRows)[],
    body: (tx: WriteTx<ClientRows>) => Promise<T>,
  ): Promise<T> {
    return this.#backend.write(tables, body).catch((error: unknown) => {
      this.#lastMeta = undefined;
      throw error;
    });
  }

  /** Writes the meta row (in the caller's transaction), and remembers it as the next append's guess. */
  #putMeta(tx: WriteTx<ClientRows>, meta: ClientMeta): Promise<void> {
    this.#lastMeta = meta;
    return tx.put('meta', [toRow(meta)]);
  }

  async #readMeta(tx: ReadTx<ClientRows>): Promise<ClientMeta> {
    const row = await tx.get('meta', META_KEY);
    if (!row) throw new ClientError(ClientErrorCode.databaseClosed, 'the store is not open (no meta record)');
    return (this.#lastMeta = toMeta(row));
  }
}

/** What {@link BackedClientStore}'s append on a guessed meta throws when the meta moved: its transaction rolls back. */
const STALE_META = new ClientError(ClientErrorCode.internal, 'the meta moved since it was last seen');
