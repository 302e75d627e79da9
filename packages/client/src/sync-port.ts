import type { Decider, Rejection } from '@eventloom/core';
import { ErrorCode, type CommittedEvent, type EventEnvelope, type RejectionCode } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from './client-error.ts';
import type {
  ClientStore,
  DeadLetterRow,
  InsertConfirmedResult,
  OutboxRow,
  RealignInput,
} from './client-store.ts';
import type { Appender, WriteListener } from './appender.ts';
import type { DeviceClock } from './device-clock.ts';
import type { LoomRuntime } from './loom-runtime.ts';
import { isHeldAside, requeueHeld } from './held-events.ts';
import { committed, droppedFate, refused, settledFates, type AppendOutcome } from './outcomes.ts';
import type { ProjectionHost } from './projection-host.ts';

/** A hub ack of a pushed event, for {@link SyncPort.markAcked}. `streamVersion` is missing for a `duplicate`. */
export interface AckInput {
  readonly id: string;
  readonly position: number;
  readonly streamVersion?: number;
}

/** A hub rejection of a pushed event, for {@link SyncPort.markRejected}. */
export interface RejectInput {
  readonly id: string;
  readonly code: RejectionCode;
  readonly message: string;
  readonly currentVersion?: number;
  /** Forget the event instead of parking it in the dead letters. */
  readonly drop?: boolean;
}

/** One rejected decision to make again, for {@link SyncPort.redecide}. */
export interface RedecideInput {
  /** The ids of the decision's rejected events (outbox rows that carry the same `command`). */
  readonly ids: readonly string[];
  // oxlint-disable-next-line no-explicit-any -- any decider: its types are the app's
  readonly decider: Decider<any, any, any, any>;
  /** The stream's version the hub reported: the decision waits until the log has caught up with it. */
  readonly currentVersion?: number;
}

/**
 * What became of a decision made again: new events appended in place of the rejected ones; the
 * decider now refuses (the rejected events are parked in the dead letters with its reason); it
 * decides nothing now (they are dropped); the log has not caught up with `currentVersion` yet
 * (nothing done); or the events are no longer pending.
 */
export type RedecideOutcome =
  | { readonly kind: 'appended'; readonly events: readonly EventEnvelope[] }
  | {
      readonly kind: 'refused';
      readonly rejection: Rejection;
      readonly deadLetters: readonly DeadLetterRow[];
    }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'stale'; readonly streamVersion: number }
  | { readonly kind: 'gone' };

/** What the sync engine keeps in the meta record. */
export interface SyncRecord {
  readonly position: number;
  /** The subscriptions the confirmed log covers up to `position`; undefined before the first sync. */
  readonly subscriptions: readonly string[] | undefined;
  /** The id of the hub log the positions come from. */
  readonly hubId: string | undefined;
}

/**
 * What the sync engine uses: the outbox to push, and where to put what the hub says. Every method
 * runs in the client's queue, so projections follow each change.
 */
export interface SyncPort {
  /** This device's id, for `hello`. */
  readonly clientId: string;
  /** The database name (tabs of one name share one sync). */
  readonly name: string;
  /**
   * How often (ms) this instance reads the store for other tabs' writes when nothing tells it of
   * them (`TabEnvironment.pollMs`): a follower without a channel to the leader checks `flushed()`
   * in the store as often.
   */
  readonly tabPollMs: number;
  /**
   * Stores a page of confirmed events (position order) from a pull or a live `events` message:
   * events at or below the last confirmed position are ignored, the confirmed state folds the new
   * ones in position order, the pending events they confirm (same id) leave the outbox, and the
   * pending rest is rebased on top. `until`: the position a filtered page covers up to. `from`:
   * the position the events follow on from (the log holds nothing between it and the first of
   * them): given, the projections may fold them before their write lands (the hub holds them).
   */
  insertConfirmed(
    events: readonly CommittedEvent[],
    options?: { readonly until?: number; readonly from?: number },
  ): Promise<{ readonly inserted: number; readonly position: number }>;
  /**
   * Stores confirmed events at or below the last position that the log does not hold: the history
   * of streams subscribed later. Projections are rebuilt from the log (their snapshots dropped).
   * `subscriptions`: what the log covers from now on, recorded in the same transaction.
   */
  insertHistory(
    events: readonly CommittedEvent[],
    options?: { readonly subscriptions?: readonly string[] },
  ): Promise<{ readonly inserted: number; readonly position: number }>;
  /**
   * Tells `listener` of this instance's appends while their write is in flight, once their rows
   * are final (inside the append's task): the sync may push them before the commit. The listener
   * may return what to call with whether the write landed. Returns the function that stops it.
   */
  onWriting?(listener: WriteListener): () => void;
  /** The outbox in clientSeq order (the push order): rows above `afterSeq`, at most `limit`, optionally not yet acked. */
  readOutbox(query?: {
    readonly afterSeq?: number;
    readonly limit?: number;
    readonly unackedOnly?: boolean;
  }): Promise<OutboxRow[]>;
  /**
   * Records acks: the events stay pending until they come back confirmed, or until the position
   * passes them (a stream this device does not hold). Unknown ids are skipped.
   */
  markAcked(acks: readonly AckInput[]): Promise<void>;
  /** Moves rejected events out of the outbox (and the optimistic state) into the dead letters, or drops them. */
  markRejected(
    rejections: readonly RejectInput[],
  ): Promise<{ readonly deadLetters: readonly DeadLetterRow[]; readonly dropped: readonly OutboxRow[] }>;
  /**
   * Makes rejected decisions again, in order, each on the freshest state (confirmed events, then the
   * pending ones other than those being replaced), replacing their events in one transaction.
   */
  redecide(decisions: readonly RedecideInput[]): Promise<RedecideOutcome[]>;
  /** The events parked in the dead letters, with the reasons, in clientSeq order. */
  readDeadLetters(): Promise<DeadLetterRow[]>;
  /** Deletes dead letters by id. */
  discardDeadLetters(ids: readonly string[]): Promise<void>;
  /** The last confirmed position, for `hello` and `pull`. */
  lastPosition(): Promise<number>;
  /** The last `clientSeq` given out: every event appended from now on gets a higher one. */
  lastClientSeq(): Promise<number>;
  /** What the sync engine keeps in the meta. */
  readSyncRecord(): Promise<SyncRecord>;
  /** Records the subscriptions the log covers (`null`: not known, while they change), or the hub's id. */
  writeSyncRecord(record: {
    readonly subscriptions?: readonly string[] | null;
    readonly hubId?: string;
  }): Promise<void>;
  /**
   * Takes the hub's word on this device at `welcome` (`ClientStore.realign`): the counter moves
   * past the hub's seq; a device ahead of a restored log re-derives its confirmed log and queues
   * its own lost events to be sent again. The view follows. With `usedFrom` (a push refused
   * `seq-used`), the undecided rows from that seq on are numbered past the hub's.
   */
  realign(welcome: RealignInput): Promise<RealignOutcome>;
  /**
   * Puts the events held aside (dead letters of `unknown-event-version`) back in the outbox, same
   * ids, new seqs, to be sent again: at each `hello` to a hub that records such refusals.
   */
  requeueHeld(): Promise<readonly EventEnvelope[]>;
}

/** What {@link SyncPort.realign} did. */
export interface RealignOutcome {
  /** The confirmed position now (lower than before when the hub's log was restored). */
  readonly position: number;
  /** The device's own events sent back to the outbox: their seqs, in order (a `repair` push sends them). */
  readonly repairSeqs: readonly number[];
  /** Other devices' events the hub's log lost: they come back when those devices do. */
  readonly othersLost: readonly CommittedEvent[];
  /** How many outbox rows were numbered anew. */
  readonly renumbered: number;
  /** The rows numbered anew: old clientSeq to new (empty when none were). */
  readonly seqs: ReadonlyMap<number, number>;
}

/** Own confirmed event ids remembered for acks that come after the event (see `markAcked`). */
const MAX_CONFIRMED_IDS = 1024;

/**
 * The {@link SyncPort} of an open Eventloom: each method is one task in the runtime's queue, and
 * the in-memory view follows what it stored.
 */
export class LoomSyncPort implements SyncPort {
  readonly clientId: string;
  readonly name: string;
  readonly tabPollMs: number;

  readonly #runtime: LoomRuntime;
  readonly #store: ClientStore;
  readonly #host: ProjectionHost;
  readonly #appender: Appender;
  readonly #clock: DeviceClock;
  readonly #announce: () => void;
  readonly #note: (fates: Iterable<readonly [string, AppendOutcome]>) => void;
  readonly #historyStored: (events: readonly CommittedEvent[]) => void;
  /** Own events lately stored confirmed: they left the outbox then, so an ack of one records nothing. */
  readonly #confirmedIds = new Set<string>();

  constructor(options: {
    readonly runtime: LoomRuntime;
    readonly store: ClientStore;
    readonly host: ProjectionHost;
    readonly appender: Appender;
    readonly clock: DeviceClock;
    readonly clientId: string;
    /** How often this instance reads the store for other tabs' writes (`TabEnvironment.pollMs`). */
    readonly tabPollMs: number;
    /** Tells other tabs the store changed. */
    readonly announce: () => void;
    /** Hears what became of appended events, as each is stored (`loom.outcome`). */
    readonly note?: (fates: Iterable<readonly [string, AppendOutcome]>) => void;
    /** Hears the history stored below the position (`loom.history$`). */
    readonly historyStored?: (events: readonly CommittedEvent[]) => void;
  }) {
    this.clientId = options.clientId;
    this.name = options.runtime.name;
    this.tabPollMs = options.tabPollMs;
    this.#runtime = options.runtime;
    this.#store = options.store;
    this.#host = options.host;
    this.#appender = options.appender;
    this.#clock = options.clock;
    this.#announce = options.announce;
    this.#note = options.note ?? (() => undefined);
    this.#historyStored = options.historyStored ?? (() => undefined);
  }

  readonly insertConfirmed = (
    events: readonly CommittedEvent[],
    options?: { readonly until?: number; readonly from?: number },
  ): Promise<{ readonly inserted: number; readonly position: number }> => {
    // Started at once on an idle client: a live event reaches `projection$` inside the socket's
    // listener, not a microtask later.
    return this.#runtime.runNow(async () => {
      const until = options?.until;
      // The projections show the hub's events before the write lands (the hub holds them).
      const ahead =
        options?.from === undefined ? undefined : this.#host.foldAhead(events, options.from, until);
      let result: InsertConfirmedResult;
      try {
        result = await this.#store.insertConfirmed(events, until === undefined ? {} : { until });
      } catch (error) {
        if (ahead) await this.#host.dropAhead(ahead);
        throw error;
      }
      if (ahead) await this.#host.settleAhead(ahead, result.before, result.meta, result.settled.length > 0);
      else
        await this.#host.follow(result.before, result.settled.length === 0, {
          meta: result.meta,
          confirmed: result.fresh,
          pending: [],
          pendingReset: false,
          historyReset: false,
        });
      this.#clock.observe(result.fresh);
      const own = result.fresh.filter((e) => e.clientId === this.clientId);
      for (const e of own) this.#confirmedIds.add(e.id);
      for (const id of this.#confirmedIds) {
        if (this.#confirmedIds.size <= MAX_CONFIRMED_IDS) break;
        this.#confirmedIds.delete(id);
      }
      this.#note([
        ...own.map((e) => [e.id, committed(e.position, e.streamVersion)] as const),
        ...settledFates(result.settled),
      ]);
      await this.#host.snapshotDue();
      if (result.fresh.length > 0 || result.meta.position !== result.before.position) this.#announce();
      return { inserted: result.fresh.length, position: result.meta.position };
    });
  };

  readonly insertHistory = (
    events: readonly CommittedEvent[],
    options?: { readonly subscriptions?: readonly string[] },
  ): Promise<{ readonly inserted: number; readonly position: number }> => {
    return this.#runtime.run(async () => {
      const subscriptions = options?.subscriptions;
      const result = await this.#store.insertHistory(events, subscriptions ? { subscriptions } : {});
      if (result.inserted.length > 0 || result.removed.length > 0) {
        await this.#host.refresh();
        this.#clock.observe(result.inserted);
        this.#announce();
        if (result.inserted.length > 0) this.#historyStored(result.inserted);
      }
      return { inserted: result.inserted.length, position: result.meta.position };
    });
  };

  readonly onWriting = (listener: WriteListener): (() => void) => this.#appender.onWriting(listener);

  readonly readOutbox = (query?: {
    readonly afterSeq?: number;
    readonly limit?: number;
    readonly unackedOnly?: boolean;
  }): Promise<OutboxRow[]> => {
    return this.#runtime.run(() => this.#store.readPending(query));
  };

  readonly markAcked = (acks: readonly AckInput[]): Promise<void> => {
    return this.#runtime.run(async () => {
      // The event came back confirmed before its ack (the hub broadcasts first): nothing to record.
      const open = acks.filter((a) => !this.#confirmedIds.has(a.id));
      if (open.length === 0) return;
      const { seqs, stale } = await this.#seqsOf(open.map((a) => a.id));
      const rows = open.flatMap((a) => {
        const clientSeq = seqs.get(a.id);
        if (clientSeq === undefined) return [];
        return [
          a.streamVersion === undefined
            ? { clientSeq, position: a.position }
            : { clientSeq, position: a.position, streamVersion: a.streamVersion },
        ];
      });
      if (rows.length === 0) return;
      const { settled } = await this.#store.markAcked(rows);
      this.#host.noteAcked(new Map(rows.map(({ clientSeq, ...fields }) => [clientSeq, fields])));
      this.#note(open.map((a) => [a.id, committed(a.position, a.streamVersion)] as const));
      if (stale) await this.#host.refresh();
      if (settled > 0) {
        await this.#host.refresh();
        this.#announce();
      }
    });
  };

  readonly markRejected = (
    rejections: readonly RejectInput[],
  ): Promise<{ readonly deadLetters: readonly DeadLetterRow[]; readonly dropped: readonly OutboxRow[] }> => {
    return this.#runtime.run(async () => {
      const { seqs } = await this.#seqsOf(rejections.map((r) => r.id));
      const rows = rejections.flatMap((r) => {
        const clientSeq = seqs.get(r.id);
        return clientSeq === undefined ? [] : [{ ...r, clientSeq }];
      });
      if (rows.length === 0) return { deadLetters: [], dropped: [] };
      const { deadLetters, dropped } = await this.#store.reject(rows);
      this.#note([
        // An event held aside is sent again later: its fate is still open.
        ...deadLetters.filter((l) => !isHeldAside(l)).map((l) => [l.event.id, refused(l)] as const),
        ...dropped.map((row) => [row.event.id, droppedFate('dropped by the conflict policy')] as const),
      ]);
      await this.#host.refresh();
      this.#announce();
      return { deadLetters, dropped };
    });
  };

  /**
   * The clientSeq of each event id, from the view's pending list, or from the store when an id is
   * not in it: a row another tab appended and pushed before this one read it (`stale`).
   */
  async #seqsOf(ids: readonly string[]): Promise<{ seqs: Map<string, number>; stale: boolean }> {
    const seqs = this.#host.seqsOf(ids);
    if (ids.every((id) => seqs.has(id))) return { seqs, stale: false };
    for (const row of await this.#store.readPending()) seqs.set(row.event.id, row.clientSeq);
    return { seqs, stale: true };
  }

  readonly redecide = (decisions: readonly RedecideInput[]): Promise<RedecideOutcome[]> => {
    return this.#runtime.run(() => this.#redecide(decisions));
  };

  async #redecide(decisions: readonly RedecideInput[]): Promise<RedecideOutcome[]> {
    await this.#host.refresh();
    // Every decision still to make is left out of the state the earlier ones are made on.
    const waiting = new Set(decisions.flatMap((d) => this.#host.rowsOf(d.ids).map((r) => r.clientSeq)));
    const outcomes: RedecideOutcome[] = [];
    for (const { ids, decider, currentVersion } of decisions) {
      const rows = this.#host.rowsOf(ids);
      const remembered = rows[0]?.command;
      if (rows.length === 0 || remembered === undefined) {
        outcomes.push({ kind: 'gone' });
        continue;
      }
      const seqs = rows.map((r) => r.clientSeq);
      const { first: _, ...command } = remembered;
      const stream = command.stream ?? decider.stream?.(command.command);
      if (stream === undefined)
        throw new ClientError(ClientErrorCode.invalid, `decider ${decider.name} has no stream()`);
      const confirmed = await this.#store.readConfirmed({ stream, until: this.#host.view.position });
      const streamVersion = confirmed.at(-1)?.streamVersion ?? 0;
      if (currentVersion !== undefined && streamVersion < currentVersion) {
        outcomes.push({ kind: 'stale', streamVersion });
        continue;
      }
      const decided = await this.#appender.decide(
        decider,
        command.command,
        stream,
        waiting,
        { ...command, attempt: command.attempt + 1, replaces: rows.map((r) => r.event.id) },
        seqs,
      );
      for (const seq of seqs) waiting.delete(seq);
      if (decided.ok && decided.events.length > 0) {
        this.#note(rows.map((r) => [r.event.id, { status: 'redecided', events: decided.events }] as const));
        outcomes.push({ kind: 'appended', events: decided.events });
        continue;
      }
      const { deadLetters } = await this.#store.reject(
        seqs.map((clientSeq) =>
          decided.ok
            ? {
                clientSeq,
                code: ErrorCode.wrongExpectedVersion,
                message: 'decided again: nothing to do',
                drop: true,
              }
            : {
                clientSeq,
                code: ErrorCode.wrongExpectedVersion,
                message:
                  `decided again and refused: ${decided.rejection.code}: ${decided.rejection.message}`.slice(
                    0,
                    1024,
                  ),
                ...(currentVersion === undefined ? {} : { currentVersion }),
              },
        ),
      );
      this.#note(
        decided.ok
          ? rows.map((r) => [r.event.id, droppedFate('decided again: nothing to do')] as const)
          : deadLetters.map(
              (letter) => [letter.event.id, { ...refused(letter), rejection: decided.rejection }] as const,
            ),
      );
      await this.#host.refresh();
      outcomes.push(
        decided.ok ? { kind: 'nothing' } : { kind: 'refused', rejection: decided.rejection, deadLetters },
      );
    }
    this.#announce();
    return outcomes;
  }

  readonly requeueHeld = (): Promise<readonly EventEnvelope[]> => {
    return this.#runtime.run(async () => {
      const requeued = await requeueHeld({ store: this.#store, host: this.#host, clock: this.#clock });
      if (requeued.length > 0) this.#announce();
      return requeued;
    });
  };

  readonly readDeadLetters = (): Promise<DeadLetterRow[]> => {
    return this.#runtime.run(() => this.#store.readDeadLetters());
  };

  readonly discardDeadLetters = (ids: readonly string[]): Promise<void> => {
    return this.#runtime.run(() => this.#store.deleteDeadLetters(ids));
  };

  readonly lastPosition = (): Promise<number> => {
    return this.#runtime.run(async () => (await this.#store.readMeta()).position);
  };

  readonly lastClientSeq = (): Promise<number> => {
    return this.#runtime.run(async () => (await this.#store.readMeta()).clientSeq);
  };

  readonly readSyncRecord = (): Promise<SyncRecord> => {
    return this.#runtime.run(async () => {
      const { position, subscriptions, hubId } = await this.#store.readMeta();
      return { position, subscriptions, hubId };
    });
  };

  readonly writeSyncRecord = (record: {
    readonly subscriptions?: readonly string[] | null;
    readonly hubId?: string;
  }): Promise<void> => {
    return this.#runtime.run(async () => {
      await this.#store.writeSyncState(record);
    });
  };

  readonly realign = (welcome: RealignInput): Promise<RealignOutcome> => {
    return this.#runtime.run(async () => {
      const result = await this.#store.realign(welcome);
      // Own events the hub lost go back to the outbox under their ids, to be acked again.
      this.#confirmedIds.clear();
      const changed =
        result.meta.position !== result.before.position ||
        result.meta.epoch !== result.before.epoch ||
        result.meta.clientSeq !== result.before.clientSeq;
      if (changed) {
        await this.#host.refresh();
        this.#announce();
      }
      return {
        position: result.meta.position,
        repairSeqs: result.returned.map((row) => row.clientSeq),
        othersLost: result.dropped,
        renumbered: result.renumbered.size,
        seqs: result.renumbered,
      };
    });
  };
}
