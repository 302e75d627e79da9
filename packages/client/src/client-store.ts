import type { CommittedEvent, EventEnvelope, RejectionCode } from '@eventloom/protocol';

/**
 * The device's bookkeeping, one record per database, updated in the same transaction as the rows
 * it describes.
 */
export interface ClientMeta {
  /** This device's id, made on first open and kept forever. */
  readonly clientId: string;
  /** The last `clientSeq` given out; the next event gets `clientSeq + 1` (gapless from 1). */
  readonly clientSeq: number;
  /** The last hybrid logical clock timestamp given out, to seed the clock of the next tab or start. */
  readonly hlc: string | undefined;
  /** The confirmed log covers every position up to this one (0: nothing confirmed yet). */
  readonly position: number;
  /**
   * Goes up each time rows leave the outbox other than by confirmation (a rejection): a reader's
   * pending list is then stale. Confirmations need no epoch: a reader sees the confirmed event in
   * the log and drops the pending one with its id.
   */
  readonly epoch: number;
}

/** A pending event in the outbox: the envelope as written, and the hub's ack once it came. */
export interface OutboxRow {
  /** The event's `clientSeq`: the outbox's key and order. */
  readonly clientSeq: number;
  readonly event: EventEnvelope;
  /** Set when the hub acked the event; it stays pending until it arrives as a confirmed event. */
  readonly acked?: { readonly position: number; readonly streamVersion: number };
}

/** An event the hub refused, kept with the reason instead of being lost (DESIGN.md §4). */
export interface RejectedRow {
  readonly clientSeq: number;
  readonly event: EventEnvelope;
  readonly code: RejectionCode;
  readonly message: string;
  readonly currentVersion?: number;
  /** When it was rejected, ms since the epoch. */
  readonly at: number;
}

/** The confirmed state of a projection at a position (DESIGN.md §8). */
export interface SnapshotRow {
  /** `name@version`, as `projectionId` of `@eventloom/core` makes it. */
  readonly id: string;
  readonly name: string;
  readonly version: number;
  /** The state covers every confirmed event up to this position. */
  readonly position: number;
  /** The state, or for a keyed projection a `Map` of key → state. Must be structured-cloneable. */
  readonly state: unknown;
}

/** Where a reader of the store stands: what it has already seen. */
export interface StoreCursor {
  readonly position: number;
  readonly clientSeq: number;
  readonly epoch: number;
}

/** What changed since a {@link StoreCursor}, read in one transaction so that it is consistent. */
export interface StoreChanges {
  readonly meta: ClientMeta;
  /** Confirmed events with `cursor.position < position ≤ meta.position`, in position order. */
  readonly confirmed: readonly CommittedEvent[];
  /** If `pendingReset`, the whole outbox; otherwise its rows above `cursor.clientSeq`. In clientSeq order. */
  readonly pending: readonly OutboxRow[];
  /** Whether rows were rejected out of the outbox since the cursor (the epoch moved): `pending` is then the whole outbox. */
  readonly pendingReset: boolean;
}

/** What {@link ClientStore.readConfirmed} takes. */
export interface ConfirmedQuery {
  /** Events after this position (exclusive); 0 by default. */
  readonly from?: number;
  /** Events up to this position (inclusive); no bound by default. */
  readonly until?: number;
  /** Only the events of this stream. */
  readonly stream?: string;
  /** Only the events of these types. */
  readonly types?: readonly string[];
  /** At most this many events. */
  readonly limit?: number;
}

/** What {@link ClientStore.insertConfirmed} did. */
export interface InsertConfirmedResult {
  /** The meta before the transaction: `before.position` tells which events were new. */
  readonly before: ClientMeta;
  readonly meta: ClientMeta;
  /** The events that were stored: those above the previous position. The others were already known. */
  readonly fresh: readonly CommittedEvent[];
  /** The outbox rows that left because their event came back confirmed (same client, seq and id). */
  readonly removed: readonly OutboxRow[];
}

/** A hub rejection to record with {@link ClientStore.reject}. */
export interface RejectionInput {
  readonly clientSeq: number;
  readonly code: RejectionCode;
  readonly message: string;
  readonly currentVersion?: number;
}

/**
 * The client's storage: the confirmed log, the outbox, snapshots and the meta record. Implemented
 * on Dexie ({@link DexieClientStore}); every implementation runs `describeClientStore` from
 * `@eventloom/client/testing`.
 *
 * Invariants every implementation keeps (the contract suite checks them):
 * - every method is one transaction: it happens whole or not at all, and a failure leaves no trace;
 * - `clientSeq` is gapless from 1 across every writer of the database, and each row's seq is the
 *   one `appendPending` gave it; outbox rows are read in clientSeq order;
 * - the confirmed log holds each position at most once, in position order; `meta.position` only
 *   goes up; inserting events at or below it changes nothing;
 * - an outbox row leaves only when its event comes back confirmed (same clientId, clientSeq and id,
 *   in the same transaction that stores the confirmed event) or is rejected (and then
 *   `meta.epoch` goes up).
 */
export interface ClientStore {
  /** Opens the store, making the meta record (and the client id) on first open. */
  open(): Promise<ClientMeta>;
  /** Closes the store; later calls fail with `database-closed`. */
  close(): void;
  /** The meta record. */
  readMeta(): Promise<ClientMeta>;
  /**
   * In one transaction: reads the meta, calls `build` with it (synchronously), and stores the
   * events it returns in the outbox, with the meta's `clientSeq` and `hlc` moved to theirs. The
   * events must carry the seqs `meta.clientSeq + 1, + 2, …` and the meta's client id.
   */
  appendPending(build: (meta: ClientMeta) => PendingBuild): Promise<AppendPendingResult>;
  /** The outbox in clientSeq order: rows above `afterSeq`, at most `limit`, optionally only those not acked. */
  readPending(query?: {
    readonly afterSeq?: number;
    readonly limit?: number;
    readonly unackedOnly?: boolean;
  }): Promise<OutboxRow[]>;
  /** Records the hub's acks on outbox rows; rows that are gone are skipped. */
  markAcked(
    acks: readonly {
      readonly clientSeq: number;
      readonly position: number;
      readonly streamVersion: number;
    }[],
  ): Promise<void>;
  /** Moves rejected rows from the outbox to the rejected list, with their reason; rows that are gone are skipped. */
  reject(
    rejections: readonly RejectionInput[],
  ): Promise<{ readonly meta: ClientMeta; readonly rejected: RejectedRow[] }>;
  /** The rejected events, in clientSeq order. */
  readRejected(): Promise<RejectedRow[]>;
  /**
   * Stores confirmed events (strictly increasing positions): those above `meta.position` are added
   * to the log, the outbox rows they confirm leave it, and `meta.position` moves to the last one's
   * position, or to `until` if that is higher (a filtered page covers positions it does not hold).
   */
  insertConfirmed(
    events: readonly CommittedEvent[],
    options?: { readonly until?: number },
  ): Promise<InsertConfirmedResult>;
  /** Confirmed events in position order. */
  readConfirmed(query?: ConfirmedQuery): Promise<CommittedEvent[]>;
  /** What changed since a cursor, read in one transaction. */
  readChanges(cursor: StoreCursor): Promise<StoreChanges>;
  /** The snapshot stored under `id` (`name@version`). */
  readSnapshot(id: string): Promise<SnapshotRow | undefined>;
  /** Stores snapshots, replacing those of the same id and dropping other versions of the same name. */
  putSnapshots(rows: readonly SnapshotRow[]): Promise<void>;
}

/** What the `build` callback of {@link ClientStore.appendPending} returns. */
export interface PendingBuild {
  readonly events: readonly EventEnvelope[];
  /** The hlc of the last event, to keep in the meta. */
  readonly hlc: string | undefined;
}

/** What {@link ClientStore.appendPending} did. */
export interface AppendPendingResult {
  /** The meta the events were built on. */
  readonly before: ClientMeta;
  readonly meta: ClientMeta;
  readonly rows: readonly OutboxRow[];
}
