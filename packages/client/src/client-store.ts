import type { CommittedEvent, EventEnvelope, EventMeta, JsonValue, RejectionCode } from '@eventloom/protocol';

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
   * Goes up each time rows leave the outbox other than by confirmation above the position (a
   * rejection, a replacement, an acked event of a stream this log does not hold, a confirmation
   * stored as history): a reader's pending list is then stale. Confirmations need no epoch: a reader sees the confirmed event in the log and
   * drops the pending one with its id.
   */
  readonly epoch: number;
  /**
   * Goes up each time confirmed events are stored at or below `position` (the history of a
   * stream subscribed later): a reader's confirmed states are then stale and are rebuilt.
   */
  readonly history: number;
  /**
   * The subscriptions the confirmed log covers up to `position` (DESIGN.md §5): every event of
   * these streams up to there is stored. Undefined until the sync engine first records them.
   */
  readonly subscriptions: readonly string[] | undefined;
  /** The id of the hub log the positions come from; undefined until the first `welcome`. */
  readonly hubId: string | undefined;
}

/**
 * The command an `execute` decided, kept with each outbox row it appended (never sent on the
 * wire), so that the sync engine can decide it again if the hub rejects the events (DESIGN.md §4).
 */
export interface PendingCommand {
  /** The decider's name: the sync engine finds the decider by it. */
  readonly decider: string;
  /** The command, as JSON. */
  readonly command: JsonValue;
  /** The stream it was decided on, when `execute` was told one (else the decider's `stream(command)`). */
  readonly stream?: string;
  /** The `meta` option of `execute`. */
  readonly meta?: EventMeta;
  /** The clientSeq of the first event the decision appended: rows with the same `first` are one decision. */
  readonly first: number;
  /** How many times the command was decided again after a rejection (0: the first decision). */
  readonly attempt: number;
  /** The ids of the refused events a decision made again replaced (`loom.outcome` follows them). */
  readonly replaces?: readonly string[];
}

/** A pending event in the outbox: the envelope as written, and the hub's ack once it came. */
export interface OutboxRow {
  /** The event's `clientSeq`: the outbox's key and order. */
  readonly clientSeq: number;
  readonly event: EventEnvelope;
  /**
   * Set when the hub acked the event; it stays pending until it arrives as a confirmed event, or
   * until the log's position passes `position` without it (a stream this device does not hold),
   * or, on a log that holds no stream, until it settles with the other acked rows (see
   * `markAcked`). `streamVersion` is missing when the hub answered `duplicate`.
   */
  readonly acked?: { readonly position: number; readonly streamVersion?: number };
  /** The decision that appended it, when it came from `execute` (client-only). */
  readonly command?: PendingCommand;
}

/** The `handler` of the dead letters the sync engine parks: events the hub refused. */
export const SYNC_DEAD_LETTERS = 'eventloom.sync';

/**
 * An event the hub refused, parked with the reason instead of being lost (DESIGN.md §4, §8). The
 * row has the shape of a handler's dead letter (`DeadLetter` of `@eventloom/core`: id
 * `<handler>/<event id>`, handler, event, error, attempts, times), with handler
 * {@link SYNC_DEAD_LETTERS}, so that the `deadLetters` table and a screen that lists it serve
 * both; `rejection` adds what only a refused push has.
 */
export interface DeadLetterRow {
  /** `eventloom.sync/<event id>`. */
  readonly id: string;
  readonly handler: typeof SYNC_DEAD_LETTERS;
  readonly event: EventEnvelope;
  /** The hub's reason: its code and message. */
  readonly error: { readonly name: 'ClientError'; readonly message: string; readonly code: RejectionCode };
  readonly attempts: number;
  /** ISO time it was parked. */
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
  readonly rejection: {
    /** The event's clientSeq (it left the outbox). */
    readonly clientSeq: number;
    /** With `wrong-expected-version`: the stream's version at the hub. */
    readonly currentVersion?: number;
    /** The decision that appended it, when it came from `execute`. */
    readonly command?: PendingCommand;
  };
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
  readonly history: number;
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
  /**
   * Whether confirmed events were stored below the cursor's position (the history moved): the
   * reader rebuilds its confirmed states from the log; `confirmed` still holds the events above it.
   */
  readonly historyReset: boolean;
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
  /**
   * Acked outbox rows that left because the position passed their ack without their event: it
   * belongs to a stream this log does not hold, so it will not come back (the epoch moved).
   */
  readonly settled: readonly OutboxRow[];
}

/** What {@link ClientStore.insertHistory} did. */
export interface InsertHistoryResult {
  readonly meta: ClientMeta;
  /** The events stored: at or below the position, and not held before. */
  readonly inserted: readonly CommittedEvent[];
  /** The outbox rows they confirmed. */
  readonly removed: readonly OutboxRow[];
}

/** A hub rejection to settle with {@link ClientStore.reject}. */
export interface RejectionInput {
  readonly clientSeq: number;
  readonly code: RejectionCode;
  readonly message: string;
  readonly currentVersion?: number;
  /** Forget the event instead of parking it in the dead letters. */
  readonly drop?: boolean;
}

/** What {@link ClientStore.realign} takes: what the hub's `welcome` said of this device. */
export interface RealignInput {
  /** The highest `clientSeq` the hub has decided for this client (`welcome.lastClientSeq`). */
  readonly hubClientSeq: number;
  /** The head of the hub's log (`welcome.head`). */
  readonly hubHead: number;
  /**
   * The hub holds other events at the seqs from this one up to `hubClientSeq` (it refused one
   * `seq-used`: the device lost events the hub stored and gave their seqs again). The undecided
   * rows from it on are numbered past `hubClientSeq`, in order; the log is not checked against
   * `hubHead` (a push's answer says nothing of it).
   */
  readonly usedFrom?: number;
}

/** What {@link ClientStore.realign} did. */
export interface RealignResult {
  readonly before: ClientMeta;
  readonly meta: ClientMeta;
  /** The device's own confirmed events sent back to the outbox, as rows with their new seqs, in order. */
  readonly returned: readonly OutboxRow[];
  /** Other devices' confirmed events that left the log (the hub lost them; their devices send them again). */
  readonly dropped: readonly CommittedEvent[];
  /** The seqs given anew, old → new (empty when none moved). */
  readonly renumbered: ReadonlyMap<number, number>;
}

/** What {@link ClientStore.reject} did. */
export interface RejectResult {
  readonly meta: ClientMeta;
  /** The rows parked in the dead letters. */
  readonly deadLetters: DeadLetterRow[];
  /** The rows forgotten. */
  readonly dropped: OutboxRow[];
}

/**
 * The client's storage: the confirmed log, the outbox, dead letters, snapshots and the meta record. Implemented
 * on Dexie ({@link DexieClientStore}); every implementation runs `describeClientStore` from
 * `@eventloom/client/testing`.
 *
 * Invariants every implementation keeps (the contract suite checks them):
 * - every method is one transaction: it happens whole or not at all, and a failure leaves no trace;
 * - `clientSeq` is gapless from 1 across every writer of the database, and each row's seq is the
 *   one `appendPending` gave it; outbox rows are read in clientSeq order;
 * - the confirmed log holds each position at most once, in position order; `meta.position` only
 *   goes up (but for `realign` after a hub's log was restored from a backup); `insertConfirmed` of events at or below it changes nothing (only `insertHistory`
 *   stores there, and then `meta.history` goes up);
 * - an outbox row leaves only when its event comes back confirmed (same clientId, clientSeq and id,
 *   in the same transaction that stores the confirmed event), or, with `meta.epoch` going up, when
 *   it is rejected, replaced, or settled: acked at or below the position without coming back, or
 *   acked on a log that holds no stream (`meta.subscriptions` recorded empty: a write-only
 *   device), once its acked rows are at least four times as many as the rows still to ack;
 * - a settled row is kept, with its ack, while among the device's last `SENT_KEPT` (10,000) seqs
 *   (in pages of 256: up to a page longer)
 *   ({@link ClientStore.readSent}); `realign` sends those a restored hub lacks again.
 */
export interface ClientStore {
  /** Opens the store, making the meta record (and the client id) on first open. */
  open(): Promise<ClientMeta>;
  /** Closes the store; later calls fail with `database-closed`. */
  close(): void;
  /** The meta record. */
  readMeta(): Promise<ClientMeta>;
  /**
   * In one transaction: reads the meta, calls `build` with it (synchronously; a store may call it
   * more than once, on a meta it guessed and then on the one it read: only the last call's events
   * are stored), and stores the
   * events it returns in the outbox, with the meta's `clientSeq` and `hlc` moved to theirs. The
   * events must carry the seqs `meta.clientSeq + 1, + 2, …` and the meta's client id. `replace`:
   * outbox rows (by clientSeq) to take out in the same transaction (a decision made again).
   * `key`: an idempotency key, recorded in the same transaction; if an earlier append recorded
   * it, nothing is stored, `build` is not called and the result says `duplicate`. `stamped`: called
   * once the rows are those the transaction stores if it commits (their seqs checked against the
   * meta it read), before it commits; the sync pushes them from there. `sole`: see
   * {@link AppendPendingOptions.sole}.
   */
  appendPending(
    build: (meta: ClientMeta) => PendingBuild,
    options?: AppendPendingOptions,
  ): Promise<AppendPendingResult>;
  /** The outbox in clientSeq order: rows above `afterSeq`, at most `limit`, optionally only those not acked. */
  readPending(query?: {
    readonly afterSeq?: number;
    readonly limit?: number;
    readonly unackedOnly?: boolean;
  }): Promise<OutboxRow[]>;
  /**
   * Records the hub's acks on outbox rows; rows that are gone are skipped. A row acked at or below
   * `meta.position` leaves at once (its stream is not in this log; the epoch moves). On a log that
   * holds no stream (`meta.subscriptions` is `[]`), no acked row comes back confirmed: the acked
   * rows leave too once they are at least four times as many as the rows not acked yet (by the
   * spans of their seqs), at the latest with the ack that leaves none. `settled`: how many rows
   * left so (the settled rows are kept in `sent`: {@link readSent}).
   */
  markAcked(acks: readonly AckRecord[]): Promise<{ readonly meta: ClientMeta; readonly settled: number }>;
  /**
   * The settled rows of these seqs, with their acks, in the same order (undefined where none): own
   * events the hub acked that left the outbox without coming back confirmed. Only the device's
   * last `SENT_KEPT` (10,000) seqs are kept.
   */
  readSent(seqs: readonly number[]): Promise<(OutboxRow | undefined)[]>;
  /** Moves rejected rows out of the outbox into the dead letters, or drops them; rows that are gone are skipped. */
  reject(rejections: readonly RejectionInput[]): Promise<RejectResult>;
  /** The dead letters of refused pushes, in clientSeq order. */
  readDeadLetters(): Promise<DeadLetterRow[]>;
  /** Deletes dead letters by id; unknown ones are skipped. */
  deleteDeadLetters(ids: readonly string[]): Promise<void>;
  /**
   * Stores confirmed events (strictly increasing positions): those above `meta.position` are added
   * to the log, the outbox rows they confirm leave it, and `meta.position` moves to the last one's
   * position, or to `until` if that is higher (a filtered page covers positions it does not hold).
   * Acked rows at or below the new position that did not come back leave too (`settled`).
   */
  insertConfirmed(
    events: readonly CommittedEvent[],
    options?: { readonly until?: number },
  ): Promise<InsertConfirmedResult>;
  /**
   * Stores confirmed events (strictly increasing positions) at or below `meta.position` that the
   * log does not hold yet, in position order among the others: the history of streams subscribed
   * later. Events above the position are ignored. If any is stored, `meta.history` goes up and the
   * snapshots are dropped; if outbox rows leave (confirmed by them), `meta.epoch` goes up. `subscriptions`: the new `meta.subscriptions`, in the same transaction.
   */
  insertHistory(
    events: readonly CommittedEvent[],
    options?: { readonly subscriptions?: readonly string[] },
  ): Promise<InsertHistoryResult>;
  /**
   * Brings the device in line with the hub's `welcome` (see `planRealign`): when the device is
   * ahead of the hub (a log restored from an older backup), the confirmed log above the hub's head
   * is dropped (the position goes down, `meta.history` up, snapshots are dropped) and the device's
   * own events there return to the outbox, and so do those it has not decided that the log does not
   * hold (acked rows, whose ack is void, and rows kept in `sent`); the rows the hub has not
   * decided are numbered from `hubClientSeq + 1` where they do not follow on from it, and the
   * counter moves past the hub's (`meta.epoch` goes up when rows change). The one exception to
   * "`meta.position` only goes up".
   */
  realign(input: RealignInput): Promise<RealignResult>;
  /**
   * Records what the sync engine keeps in the meta: the subscriptions the log covers (`null`: not
   * known, as before the sync recorded any: while the coverage changes), the hub's id.
   */
  writeSyncState(state: {
    readonly subscriptions?: readonly string[] | null;
    readonly hubId?: string;
  }): Promise<ClientMeta>;
  /** Confirmed events in position order. */
  readConfirmed(query?: ConfirmedQuery): Promise<CommittedEvent[]>;
  /** What changed since a cursor, read in one transaction. */
  readChanges(cursor: StoreCursor): Promise<StoreChanges>;
  /** The snapshot stored under `id` (`name@version`). */
  readSnapshot(id: string): Promise<SnapshotRow | undefined>;
  /** Stores snapshots, replacing those of the same id and dropping other versions of the same name. */
  putSnapshots(rows: readonly SnapshotRow[]): Promise<void>;
}

/** A hub ack to record with {@link ClientStore.markAcked}. */
export interface AckRecord {
  readonly clientSeq: number;
  readonly position: number;
  readonly streamVersion?: number;
}

/** The options of {@link ClientStore.appendPending}. */
export interface AppendPendingOptions {
  readonly replace?: readonly number[];
  readonly key?: string;
  readonly stamped?: (rows: readonly OutboxRow[]) => void;
  /**
   * The caller knows of no other writer of the database: a plain append may tell `stamped` its
   * rows as built on the meta the store last saw, before the transaction has read the meta. If
   * the meta moved anyway (a writer the caller did not know of), the rows told may have left, so
   * they are never given again under new ids: the append fails (`storage`), nothing stored. The
   * same holds for a transaction that fails for any other reason (a full disk): the rows told may
   * be at the hub, and come back confirmed, as after a failed write of rows pushed ahead.
   */
  readonly sole?: boolean;
}

/** What the `build` callback of {@link ClientStore.appendPending} returns. */
export interface PendingBuild {
  readonly events: readonly EventEnvelope[];
  /** The hlc of the last event, to keep in the meta. */
  readonly hlc: string | undefined;
  /** The decision the events come from, kept on each row (its `first` is set by the store's caller). */
  readonly command?: PendingCommand;
}

/** What {@link ClientStore.appendPending} did. */
export interface AppendPendingResult {
  /** The meta the events were built on. */
  readonly before: ClientMeta;
  readonly meta: ClientMeta;
  readonly rows: readonly OutboxRow[];
  /** The rows `replace` took out (those still there). */
  readonly replaced: readonly OutboxRow[];
  /** Set when the append's `key` was recorded already: nothing was stored. */
  readonly duplicate?: true;
}
