import type { CommittedEvent } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from './client-error.ts';
import { aheadOfHub, planRealign } from './realign-plan.ts';
import { ackOf, checkOrder, deadLetterOf } from './store-rows.ts';
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

/** The contents of one in-memory database, shared by every {@link MemoryClientStore} of its name. */
export interface MemoryDatabase {
  meta: ClientMeta | undefined;
  readonly confirmed: CommittedEvent[];
  readonly outbox: Map<number, OutboxRow>;
  readonly deadLetters: Map<string, DeadLetterRow>;
  readonly snapshots: Map<string, SnapshotRow>;
  /** The idempotency keys of appends (`appendPending`'s `key`). */
  readonly appendKeys: Set<string>;
}

/** Options of {@link MemoryClientStore}. */
export interface MemoryClientStoreOptions {
  readonly name: string;
  /** Where databases live by name; a module-wide map by default (like an origin's IndexedDB). */
  readonly databases?: Map<string, MemoryDatabase>;
  /** Makes the client id on first open; random by default. */
  readonly newClientId?: () => string;
}

/**
 * A {@link ClientStore} in memory: for tests, server-side rendering and tools that need no
 * persistence. Each method reads and writes synchronously between its awaits, so each is atomic
 * like a transaction; rows are structured-cloned in and out, as IndexedDB does.
 *
 * @example const loom = await createEventloom({ name: 'todos', registry, storage: { store: new MemoryClientStore({ name: 'todos' }) } });
 */
export class MemoryClientStore implements ClientStore {
  readonly #options: MemoryClientStoreOptions;
  #db: MemoryDatabase | undefined;
  #closed = false;

  constructor(options: MemoryClientStoreOptions) {
    this.#options = options;
  }

  async open(): Promise<ClientMeta> {
    await Promise.resolve();
    if (this.#closed) throw closedError();
    const databases = this.#options.databases ?? SHARED;
    let db = databases.get(this.#options.name);
    if (!db) {
      db = {
        meta: undefined,
        confirmed: [],
        outbox: new Map(),
        deadLetters: new Map(),
        snapshots: new Map(),
        appendKeys: new Set(),
      };
      databases.set(this.#options.name, db);
    }
    db.meta ??= {
      clientId: (this.#options.newClientId ?? randomId)(),
      clientSeq: 0,
      hlc: undefined,
      position: 0,
      epoch: 0,
      history: 0,
      subscriptions: undefined,
      hubId: undefined,
    };
    this.#db = db;
    return db.meta;
  }

  close(): void {
    this.#closed = true;
  }

  async readMeta(): Promise<ClientMeta> {
    return (await this.#use()).meta!;
  }

  async appendPending(
    build: (meta: ClientMeta) => PendingBuild,
    options: { readonly replace?: readonly number[]; readonly key?: string } = {},
  ): Promise<AppendPendingResult> {
    const db = await this.#use();
    const before = db.meta!;
    const { key } = options;
    if (key !== undefined && db.appendKeys.has(key)) {
      return { before, meta: before, rows: [], replaced: [], duplicate: true };
    }
    const built = build(before);
    const rows = built.events.map((event, i): OutboxRow => {
      if (event.clientSeq !== before.clientSeq + i + 1 || event.clientId !== before.clientId) {
        throw new ClientError(
          ClientErrorCode.internal,
          `appendPending: event ${i} must have clientSeq ${before.clientSeq + i + 1} and clientId ${before.clientId}`,
        );
      }
      return clone(
        built.command
          ? { clientSeq: event.clientSeq, event, command: built.command }
          : { clientSeq: event.clientSeq, event },
      );
    });
    const replaced = (options.replace ?? []).flatMap((seq) => {
      const row = db.outbox.get(seq);
      return row ? [row] : [];
    });
    if (key !== undefined) db.appendKeys.add(key);
    if (rows.length === 0 && replaced.length === 0) return { before, meta: before, rows, replaced: [] };
    for (const row of replaced) db.outbox.delete(row.clientSeq);
    for (const row of rows) db.outbox.set(row.clientSeq, row);
    const meta: ClientMeta = {
      ...before,
      clientSeq: before.clientSeq + rows.length,
      hlc: built.hlc ?? before.hlc,
      epoch: before.epoch + (replaced.length > 0 ? 1 : 0),
    };
    db.meta = meta;
    return { before, meta, rows: clone(rows), replaced: clone(replaced) };
  }

  async readPending(
    query: { readonly afterSeq?: number; readonly limit?: number; readonly unackedOnly?: boolean } = {},
  ): Promise<OutboxRow[]> {
    return clone(pendingOf(await this.#use(), query));
  }

  async markAcked(acks: readonly AckRecord[]): Promise<{ meta: ClientMeta; settled: OutboxRow[] }> {
    const db = await this.#use();
    const settled: OutboxRow[] = [];
    for (const ack of acks) {
      const row = db.outbox.get(ack.clientSeq);
      if (!row) continue;
      if (ack.position <= db.meta!.position) {
        db.outbox.delete(ack.clientSeq);
        settled.push(row);
      } else db.outbox.set(ack.clientSeq, { ...row, acked: ackOf(ack) });
    }
    if (settled.length > 0) db.meta = { ...db.meta!, epoch: db.meta!.epoch + 1 };
    return { meta: db.meta!, settled: clone(settled) };
  }

  async reject(rejections: readonly RejectionInput[]): Promise<RejectResult> {
    const db = await this.#use();
    const at = Date.now();
    const deadLetters: DeadLetterRow[] = [];
    const dropped: OutboxRow[] = [];
    for (const r of rejections) {
      const row = db.outbox.get(r.clientSeq);
      if (!row) continue;
      db.outbox.delete(r.clientSeq);
      if (r.drop) dropped.push(row);
      else {
        const letter = deadLetterOf(row, r, at);
        db.deadLetters.set(letter.id, letter);
        deadLetters.push(letter);
      }
    }
    if (deadLetters.length + dropped.length > 0) db.meta = { ...db.meta!, epoch: db.meta!.epoch + 1 };
    return { meta: db.meta!, deadLetters: clone(deadLetters), dropped: clone(dropped) };
  }

  async readDeadLetters(): Promise<DeadLetterRow[]> {
    const db = await this.#use();
    return clone([...db.deadLetters.values()].sort((a, b) => a.rejection.clientSeq - b.rejection.clientSeq));
  }

  async deleteDeadLetters(ids: readonly string[]): Promise<void> {
    const db = await this.#use();
    for (const id of ids) db.deadLetters.delete(id);
  }

  async insertConfirmed(
    events: readonly CommittedEvent[],
    options: { readonly until?: number } = {},
  ): Promise<InsertConfirmedResult> {
    const db = await this.#use();
    checkOrder(events);
    const before = db.meta!;
    const fresh = clone(events.filter((e) => e.position > before.position));
    const removed: OutboxRow[] = [];
    for (const e of fresh) {
      db.confirmed.push(e);
      const row = e.clientId === before.clientId ? db.outbox.get(e.clientSeq) : undefined;
      if (row && row.event.id === e.id) {
        db.outbox.delete(row.clientSeq);
        removed.push(row);
      }
    }
    const position = Math.max(before.position, fresh.at(-1)?.position ?? 0, options.until ?? 0);
    const settled = [...db.outbox.values()].filter(
      (r) => r.acked !== undefined && r.acked.position <= position,
    );
    for (const row of settled) db.outbox.delete(row.clientSeq);
    db.meta = { ...before, position, epoch: before.epoch + (settled.length > 0 ? 1 : 0) };
    return { before, meta: db.meta, fresh: clone(fresh), removed: clone(removed), settled: clone(settled) };
  }

  async insertHistory(
    events: readonly CommittedEvent[],
    options: { readonly subscriptions?: readonly string[] } = {},
  ): Promise<InsertHistoryResult> {
    const db = await this.#use();
    checkOrder(events);
    const before = db.meta!;
    const held = new Set(db.confirmed.map((e) => e.position));
    const inserted = clone(events.filter((e) => e.position <= before.position && !held.has(e.position)));
    const removed: OutboxRow[] = [];
    for (const e of inserted) {
      const row = e.clientId === before.clientId ? db.outbox.get(e.clientSeq) : undefined;
      if (row && row.event.id === e.id) {
        db.outbox.delete(row.clientSeq);
        removed.push(row);
      }
    }
    if (inserted.length > 0) {
      db.confirmed.push(...inserted);
      db.confirmed.sort((a, b) => a.position - b.position);
      db.snapshots.clear();
    }
    db.meta = {
      ...before,
      history: before.history + (inserted.length > 0 ? 1 : 0),
      epoch: before.epoch + (removed.length > 0 ? 1 : 0),
      ...(options.subscriptions ? { subscriptions: [...options.subscriptions] } : {}),
    };
    return { meta: db.meta, inserted: clone(inserted), removed: clone(removed) };
  }

  async realign(input: RealignInput): Promise<RealignResult> {
    const db = await this.#use();
    const meta = db.meta!;
    const outbox = [...db.outbox.values()];
    const plan = planRealign(meta, outbox, aheadOfHub(meta, outbox, input) ? db.confirmed : [], input);
    if (plan.cutAbove !== undefined) {
      const cut = plan.cutAbove;
      const kept = db.confirmed.filter((e) => e.position <= cut);
      db.confirmed.splice(0, db.confirmed.length, ...kept);
      db.snapshots.clear();
    }
    for (const seq of plan.deleteSeqs) db.outbox.delete(seq);
    for (const row of plan.putRows) db.outbox.set(row.clientSeq, clone(row));
    db.meta = plan.result.meta;
    return clone(plan.result);
  }

  async writeSyncState(state: {
    readonly subscriptions?: readonly string[];
    readonly hubId?: string;
  }): Promise<ClientMeta> {
    const db = await this.#use();
    db.meta = {
      ...db.meta!,
      ...(state.subscriptions ? { subscriptions: [...state.subscriptions] } : {}),
      ...(state.hubId === undefined ? {} : { hubId: state.hubId }),
    };
    return db.meta;
  }

  async readConfirmed(query: ConfirmedQuery = {}): Promise<CommittedEvent[]> {
    return clone(confirmedOf(await this.#use(), query));
  }

  async readChanges(cursor: StoreCursor): Promise<StoreChanges> {
    const db = await this.#use();
    const meta = db.meta!;
    const pendingReset = meta.epoch !== cursor.epoch;
    return {
      meta,
      confirmed: clone(confirmedOf(db, { from: cursor.position, until: meta.position })),
      pending: clone(pendingOf(db, pendingReset ? {} : { afterSeq: cursor.clientSeq })),
      pendingReset,
      historyReset: meta.history !== cursor.history,
    };
  }

  async readSnapshot(id: string): Promise<SnapshotRow | undefined> {
    const row = (await this.#use()).snapshots.get(id);
    return row && clone(row);
  }

  async putSnapshots(rows: readonly SnapshotRow[]): Promise<void> {
    const db = await this.#use();
    for (const row of rows) {
      for (const [id, other] of db.snapshots)
        if (other.name === row.name && id !== row.id) db.snapshots.delete(id);
      db.snapshots.set(row.id, clone(row));
    }
  }

  // Yields once, as a real store would, then checks the store is usable.
  async #use(): Promise<MemoryDatabase> {
    await Promise.resolve();
    if (this.#closed || !this.#db) throw closedError();
    return this.#db;
  }
}

const SHARED = new Map<string, MemoryDatabase>();

function pendingOf(
  db: MemoryDatabase,
  query: { readonly afterSeq?: number; readonly limit?: number; readonly unackedOnly?: boolean },
): OutboxRow[] {
  const rows = [...db.outbox.values()]
    .filter((r) => r.clientSeq > (query.afterSeq ?? 0) && (!query.unackedOnly || r.acked === undefined))
    .sort((a, b) => a.clientSeq - b.clientSeq);
  return query.limit === undefined ? rows : rows.slice(0, query.limit);
}

function confirmedOf(db: MemoryDatabase, query: ConfirmedQuery): CommittedEvent[] {
  const from = query.from ?? 0;
  const until = query.until ?? Infinity;
  const types = query.types ? new Set(query.types) : undefined;
  const out = db.confirmed.filter(
    (e) =>
      e.position > from &&
      e.position <= until &&
      (query.stream === undefined || e.stream === query.stream) &&
      (types === undefined || types.has(e.type)),
  );
  return query.limit === undefined ? out : out.slice(0, query.limit);
}

function closedError(): ClientError {
  return new ClientError(ClientErrorCode.databaseClosed, 'the store is closed');
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function randomId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(36).padStart(2, '0'))
    .join('')
    .slice(0, 20);
}
