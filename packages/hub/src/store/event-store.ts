import type { CommittedEvent, EventEnvelope, RejectionCode } from '@eventloom/protocol';

/**
 * One event offered to {@link EventStore.append}. When `rejection` is set the hub has already
 * refused the event (invalid, unauthorized, too large…): the store records the refusal under the
 * event's (clientId, clientSeq) so that the client's sequence advances and a re-push gets the same
 * answer, but commits nothing.
 */
export interface StoreAppend {
  readonly event: EventEnvelope;
  readonly rejection?: { readonly code: RejectionCode; readonly message: string };
  /**
   * The event's JSON text as the built-in stores keep it (`JSON.stringify(event)`, without commit
   * fields), when the caller made it already: the hub makes it as a push arrives, while the store
   * commits the transaction before, so that a transaction's turn does not wait for it. A store
   * that keeps text takes it as it is; one that does not ignores it.
   */
  readonly envelopeJson?: string;
  /**
   * The client epoch of the session that pushed the event ({@link EventStore.claimClient}): the
   * event is `fenced` unless it is still the client's epoch when the batch is judged. Without it
   * the event is not fenced (an integration that appends for a client of its own).
   */
  readonly epoch?: number;
}

/**
 * What the store did with one event.
 * - `ok`: committed now, at `position`.
 * - `duplicate`: committed before (same id and same content, or a `clientSeq` already accepted
 *   for this very event); `position` is the original one.
 * - `rejected`: refused, and recorded; a re-push of the same (clientId, clientSeq) gets this again.
 * - `gap`: `clientSeq` is above the client's last accepted seq + 1. Nothing was recorded: the hub
 *   holds the event until the gap is filled.
 * - `fenced`: the event's `epoch` is not its client's any more (`epoch` is the current one): a
 *   later session of the client claimed it. Nothing was recorded; judged before anything else.
 */
export type StoreAppendResult =
  | { readonly status: 'ok'; readonly id: string; readonly position: number; readonly streamVersion: number }
  | { readonly status: 'duplicate'; readonly id: string; readonly position: number }
  | {
      readonly status: 'rejected';
      readonly id: string;
      readonly code: RejectionCode;
      readonly message: string;
      readonly currentVersion?: number;
    }
  | { readonly status: 'gap'; readonly id: string; readonly expectedSeq: number }
  | { readonly status: 'fenced'; readonly id: string; readonly epoch: number };

/** A page of committed events. */
export interface StoreReadResult {
  /** Events with `from < position ≤ until`, of the requested streams, in position order. */
  readonly events: readonly CommittedEvent[];
  /**
   * The position this page covers up to (inclusive): the last event's when the page is full, else
   * as far as the store looked (the head, or, for a filtered page, the end of a bounded scan, so a
   * filtered page may cover more than it holds, even hold nothing). Never below `from`: the next
   * page starts after it.
   */
  readonly until: number;
  /** The highest committed position when the page was read. */
  readonly head: number;
  /**
   * When the store keeps events as JSON text: the sum of the texts' lengths (UTF-16 code units,
   * as `JSON.stringify` of the events gives them), or more (texts it read and left out). Their
   * UTF-8 size is at most three times it, so a reader can tell without serialising that a page
   * fits in one message.
   */
  readonly jsonChars?: number;
}

/**
 * A page as {@link EventStore.readJson} gives it: the events of the {@link StoreReadResult} that
 * `read` gives for the same query, as JSON text, for a reader that forwards them without looking
 * inside (a pull's answer).
 */
export interface StoreJsonPage {
  /**
   * The events' JSON texts in position order, joined by commas, in UTF-8: `[${json}]` is the JSON
   * of the events `read` gives (empty for none), ready to be written to a socket as it is.
   */
  readonly json: Uint8Array;
  /** How many events `json` holds. */
  readonly count: number;
  /** The distinct streams of those events, exactly as the events name them. */
  readonly streams: readonly string[];
  /** As {@link StoreReadResult.until}. */
  readonly until: number;
  /** As {@link StoreReadResult.head}. */
  readonly head: number;
  /**
   * Optional: gives the page's buffer (`json.buffer`) back to the store, for a later page. With it,
   * the buffer is the reader's until then, the bytes around `json` in it included (the hub writes
   * a message's framing there, around the page, instead of copying the page); nothing may use
   * the buffer after the call. Not calling it only leaves the buffer to the garbage collector.
   */
  readonly release?: () => void;
}

/** What {@link EventStore.read} is asked for. */
export interface StoreReadQuery {
  /** Events after this position. */
  readonly from: number;
  /** Events in the page, at most. */
  readonly limit: number;
  /** Only events of these streams (exact names or `prefix*`; `*` is every stream). */
  readonly streams?: readonly string[];
  /**
   * The page's memory budget: the store stops before the event that would bring the sum of the
   * page's JSON text lengths (each event as `JSON.stringify` gives it, as `jsonChars` counts) above
   * it, so that a read never holds more than about this much, whatever `limit` says. The first
   * event in range always goes in (a page always moves on); a page cut by the budget ends
   * (`until`) before the first event it left out. It must stop the read itself (not read a whole page and cut it afterwards).
   */
  readonly maxJsonChars?: number;
}

/**
 * A new head of the log, as {@link EventStore.watchHead} tells it. `events`, when given, are the
 * events of positions `from + 1 … head` (consecutive, in position order), handed over by a store
 * that committed them itself, so that a watcher need not read them back; without them, the
 * watcher reads from its own cursor. Calling `events` costs a parse: call it only when needed.
 */
export interface HeadChange {
  readonly head: number;
  readonly from?: number;
  readonly events?: () => readonly CommittedEvent[];
  /**
   * The same events as `events`, as their JSON text, from a store that keeps events as text: for
   * a watcher that sends them on without looking inside (the live feed), with no parse. Optional
   * even when `events` is given.
   */
  readonly json?: () => readonly CommittedJson[];
}

/** A committed event as JSON text, with the fields a reader selects it by without parsing it. */
export interface CommittedJson {
  readonly position: number;
  readonly stream: string;
  /** What `JSON.stringify` gives of the event as `EventStore.read` gives it. */
  readonly json: string;
}

/** What {@link EventStore.importEvents} did. */
export interface StoreImportResult {
  readonly imported: number;
  readonly skipped: number;
  /** The log's head after the batch. */
  readonly head: number;
}

/** What the store knows about one client. */
export interface ClientRecord {
  /** The highest `clientSeq` accepted or rejected-and-recorded; 0 for a client never seen. */
  readonly lastClientSeq: number;
  /** The principal (`sub`) the client id is bound to; undefined until first bound. */
  readonly principal: string | undefined;
}

/** What {@link EventStore.claimClient} read, and the epoch it gave the session. */
export interface ClientClaim extends ClientRecord {
  /**
   * The session's epoch, which its appends carry (`StoreAppend.epoch`); 0 for a client never
   * seen, for which nothing was written: its session claims it at its first push
   * ({@link EventStore.claimNewClient}).
   */
  readonly epoch: number;
}

/** What {@link EventStore.claimNewClient} did. */
export type NewClientClaim =
  | { readonly status: 'claimed'; readonly epoch: number }
  /** The client changed since the session's `claimClient` (a record, an epoch, a seq): say hello again. */
  | { readonly status: 'fenced' }
  | { readonly status: 'other-principal' };

/**
 * The hub's event log: the sequencer and the source of truth.
 *
 * Invariants every implementation keeps (the contract suite checks them):
 * - `position` is gapless from 1 and strictly increasing in commit order; a reader never sees
 *   position n+1 before n is committed.
 * - an event id is stored at most once; (stream, streamVersion) is unique; streamVersion is gapless
 *   from 1 within a stream.
 * - a client's events are taken in `clientSeq` order: seq ≤ last is answered from the record of
 *   what happened to it (never committed twice), seq > last + 1 is a `gap`.
 * - `read` with `maxJsonChars` holds no more events than fit in it (the first one always does).
 * - `append` resolves only after the batch is durable; a batch is one transaction, and each event
 *   in it is judged in the light of the ones before it (two events expecting version 3 of the same
 *   stream: the first is `ok`, the second `rejected`).
 * - `expectedVersion` must equal the stream's version before the event, or it is rejected with
 *   `wrong-expected-version` and `currentVersion`.
 * - once one of a client's events on a stream is refused within a batch, that client's later events
 *   on the stream that carry `expectedVersion` are refused too (they were decided on the refused
 *   one), even if the stream's version happens to match.
 * - the client epoch is a fence: `claimClient` (a session's `hello`) moves a known client's epoch
 *   up in the same atomic step that reads its record, and an event whose `epoch` is not the
 *   client's current one is `fenced`, with nothing recorded. So once a session is claimed, no older
 *   session of the client (on any node sharing the store) stores anything more, and the
 *   `lastClientSeq` it read is final for it: only it moves the client's seq from then on.
 */
export interface EventStore {
  /** Commits or records each event, in order, in one durable transaction. */
  append(batch: readonly StoreAppend[]): Promise<StoreAppendResult[]>;
  /**
   * Reads committed events after position `from`, at most `limit` of them, optionally only those
   * whose stream matches one of `streams` (exact names or `prefix*`; `*` is every stream; an empty
   * list matches none), and at most `maxJsonChars` of JSON (see {@link StoreReadQuery}).
   */
  read(query: StoreReadQuery): Promise<StoreReadResult>;
  /**
   * The page `read` gives for `query`, as UTF-8 JSON: for a store that keeps events as text, a
   * pull's answer that the caller's thread neither parses, serialises nor encodes, only sends on.
   * Optional: without it, the hub reads pages with `read` and serialises the events itself.
   */
  readJson?(query: StoreReadQuery): Promise<StoreJsonPage>;
  /** The highest committed position; 0 for an empty log. */
  head(): Promise<number>;
  /** The stream's version: the number of events committed to it; 0 for an unknown stream. */
  streamVersion(stream: string): Promise<number>;
  /** What the store knows about a client. */
  client(clientId: string): Promise<ClientRecord>;
  /**
   * Binds a client id to a principal the first time it is seen; true when the id is (now) bound to
   * this principal, false when it belongs to another one.
   */
  bindClient(clientId: string, principal: string): Promise<boolean>;
  /**
   * Starts a session of a client (its `hello`): for a client with a record, moves its epoch up by
   * one and reads its record, in one atomic step, ordered with every append (see the fence above).
   * For a client never seen, writes nothing and answers epoch 0. Never moves the epoch of a client
   * bound to another principal than `principal` (it answers the record, whose principal differs).
   * A durable write: a `hello` that fails after it (its authorization, its socket closed) has
   * fenced the client's previous session all the same, with no session to replace it; the
   * device, reconnecting, says hello again.
   */
  claimClient(clientId: string, principal: string): Promise<ClientClaim>;
  /**
   * The first push of a session that `claimClient` answered with epoch 0: binds the id to
   * `principal` and moves its epoch to 1, in one atomic step, if the client is still as that
   * session saw it (no record, or one at epoch 0 and seq 0, unbound or bound to `principal`).
   * Else `other-principal` when another principal holds the id, or `fenced` (another session
   * claimed it or stored something since: the session must say hello again).
   */
  claimNewClient(clientId: string, principal: string): Promise<NewClientClaim>;
  /**
   * Calls `listener` whenever the head moves up, whoever committed (this process, or another node
   * on a shared database); returns the function that stops it. Heads only grow, but a listener
   * may skip some: it must read what it has not seen. In-process stores call it right after each
   * commit, with the committed events; a shared database wakes it by notification and polls
   * slowly as a safety net for a lost one.
   */
  watchHead(listener: (change: HeadChange) => void): () => void;
  /**
   * Writes committed events exported from another log (see `planImport`), keeping their
   * positions, stream versions and times, in one durable transaction per call. The log must be
   * empty or hold a prefix of the same export: events stored already (same id, position and
   * content) are skipped, so an interrupted import can run again. With `hubId`, an empty log takes
   * that id (a moved log stays the same log to its clients) and a non-empty one must have it.
   * Optional: a store without it cannot be the target of `eventloom-hub import`.
   */
  importEvents?(
    events: readonly CommittedEvent[],
    options?: { readonly hubId?: string },
  ): Promise<StoreImportResult>;
  /** A stable id of this log, made when the log was created. */
  hubId(): Promise<string>;
  /** Finishes in-flight work and releases the store. */
  close(): Promise<void>;
}
