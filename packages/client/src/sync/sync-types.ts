import type { Decider } from '@eventloom/core';
import type { CommittedEvent, EventEnvelope, Notify, RejectionCode } from '@eventloom/protocol';
import type { Observable } from 'rxjs';
import type { ClientError } from '../client-error.ts';
import type { OutboxRow } from '../client-store.ts';
import type { AckInput } from '../sync-port.ts';
import type { BackoffOptions } from './backoff.ts';
import type { ConflictPolicy } from './conflict-policy.ts';
import type { OnlineDetector } from './online-detector.ts';
import type { SocketFactory, SocketIoOptions } from './sync-socket.ts';

// The public types of the sync: what `createSync` takes and returns, and what the engine, the
// session and the extensions share. Types only, so that every sync module can import them.

/** Where the sync stands, for the app to show: `error` waits for `goOnline()` (see `metrics$.lastError`). */
export type SyncState = 'offline' | 'connecting' | 'catching-up' | 'live' | 'error';

/** Figures of the sync for the app to show, emitted after each change. */
export interface SyncMetrics {
  readonly state: SyncState;
  /** Pending events: the outbox (acked ones included, until they come back confirmed). */
  readonly outbox: number;
  /**
   * Of `outbox`, the events the hub acked (stored at a position) that have not come back confirmed
   * yet; `outbox − acked` have not been acked.
   */
  readonly acked: number;
  /** The last confirmed position this device holds. */
  readonly position: number;
  /** The hub's head, as last heard. */
  readonly head: number;
  /** `head − position`: how far behind this device is. */
  readonly lag: number;
  /** Events acked per second, over the last few seconds. */
  readonly pushedPerSecond: number;
  /** Confirmed events stored per second (pulled or live), over the last few seconds. */
  readonly pulledPerSecond: number;
  /** Events acked since the sync started. */
  readonly pushed: number;
  /** Confirmed events stored since the sync started. */
  readonly pulled: number;
  /**
   * Own events this device sent again since the sync started because the hub's log had lost them
   * (it was restored from an older backup): same ids, new positions.
   */
  readonly repaired: number;
  /**
   * Events of other devices this device held that the hub's log lost (at the last restore it
   * noticed): they are back only once their devices return and send them again.
   */
  readonly lostElsewhere: number;
  /** The last failure, whether retried (connection, hub errors) or final (`error` state). */
  readonly lastError: ClientError | undefined;
}

/** What the conflict policy did with a refused event, on `rejections$`. */
export interface RejectionReport {
  readonly event: EventEnvelope;
  readonly code: RejectionCode;
  readonly message: string;
  /** `redecided`: appended anew as `events`; `dropped`: forgotten; `dead-lettered`: parked with the reason. */
  readonly action: 'redecided' | 'dropped' | 'dead-lettered';
  /** The events a decision made again appended in place of the refused ones. */
  readonly events?: readonly EventEnvelope[];
}

/**
 * Any decider, whatever its types, as `deciders` lists them.
 */
// oxlint-disable-next-line no-explicit-any -- a list of deciders of different types
export type AnyDecider = Decider<any, any, any, any>;

/** What `createSync` takes. */
export interface SyncOptions {
  /** The hub's URL, e.g. `https://sync.example.com` (Socket.IO's path is `/socket.io` unless `io.path` says otherwise). */
  readonly url: string;
  /** The JWT for the handshake, or a function that gives a fresh one for each connection. */
  readonly token?: string | (() => string | Promise<string>);
  /** The streams to sync: exact names, `prefix*`, or `*` for all. Changeable with `setSubscriptions`. */
  readonly subscriptions: readonly string[];
  /**
   * socket.io-client options, over the engine's (`transports: ['websocket', 'polling']`: WebSocket
   * first). The engine makes a fresh socket for each connection and reconnects itself, so
   * `reconnection`, `forceNew` and `autoConnect` are its own.
   */
  readonly io?: SocketIoOptions;
  /** Makes each connection's socket (socket.io-client's `io` by default): a test can point it at a proxy or wrap it. */
  readonly socket?: SocketFactory;
  /** What to do with pushed events the hub refuses for good; default: decide conflicts again, park the rest. */
  readonly conflicts?: ConflictPolicy;
  /** The deciders `execute` ran, found by name to decide a refused command again. */
  readonly deciders?: readonly AnyDecider[];
  /** How many times one command is decided again before it is parked instead; default 5. */
  readonly maxRedecides?: number;
  /** Online/offline signal; the browser's (`navigator.onLine` and its events) where there is one, else always online. */
  readonly online?: OnlineDetector;
  /** Reconnect delays: exponential with jitter (seedable). */
  readonly backoff?: BackoffOptions;
  /** Push batches: events and bytes per batch (default 1,000 and 1 MiB), batches in flight (default 4). */
  readonly push?: { readonly maxEvents?: number; readonly maxBytes?: number; readonly inFlight?: number };
  /** Events per pull page; default 1,000. */
  readonly pullLimit?: number;
  /** How long to wait for any answer of the hub before the connection is dropped and made again; default 20 s. */
  readonly requestTimeoutMs?: number;
  /** Start as if `goOffline()` had been called. */
  readonly startOffline?: boolean;
  /** BroadcastChannel, to mirror the leader tab's sync in the others; the global one by default, `null`: none. */
  readonly tabs?: { readonly BroadcastChannel?: typeof BroadcastChannel | null };
  /**
   * Where the developer's warnings go: refused events while nothing subscribes to `rejections$`,
   * events the hub holds back, a registry that differs from the hub's; each kind once per sync.
   * `console.warn` by default; `false`: none.
   */
  readonly warn?: ((message: string) => void) | false;
  /** The clock of the rates in `metrics$`; `Date.now` by default. */
  readonly now?: () => number;
}

/** A running sync: see `createSync`. */
export interface Sync {
  /** `offline`, `connecting`, `catching-up`, `live` or `error`: now, then each change. */
  readonly syncState$: Observable<SyncState>;
  /** Outbox size, lag, rates, last error: now, then each change. */
  readonly metrics$: Observable<SyncMetrics>;
  /** What the conflict policy did with each refused event. */
  readonly rejections$: Observable<RejectionReport>;
  /** This device's client id. */
  readonly clientId: string;
  /** The subscriptions in force. */
  readonly subscriptions: readonly string[];
  /**
   * Resolves once the outbox holds no event the hub has not acked (events appended meanwhile
   * included), and no refused command waits to be decided again. Waits while offline; rejects
   * when the sync is closed.
   */
  flushed(): Promise<void>;
  /** Disconnects and stays offline until `goOnline()`; appends go on into the outbox. */
  goOffline(): void;
  /** Connects again now (leaving `offline` or `error`), without waiting for the backoff. */
  goOnline(): void;
  /**
   * Syncs these streams from now on. A stream added later is synced whole: its events up to the
   * position this device has reached are pulled from position 0 and stored among the others, in
   * position order (projections are rebuilt from the log); later ones come as for any stream.
   * Events of a stream removed stay in the log. Resolves once in force (at once when offline).
   */
  setSubscriptions(subscriptions: readonly string[]): Promise<void>;
  /** Disconnects and stops for good (the Eventloom stays open). */
  close(): Promise<void>;

  // The extension point of optional features (`createMessaging`, `flowOf`), kept out of the engine
  // so that an app that does not import them does not ship them.

  /** Shows `tap` what passes through this tab's sync until the function returned is called; see {@link SyncTap}. */
  attach(tap: SyncTap): () => void;
  /**
   * Hands a `notify` message (checked already) to this tab's connection, or to the leader tab's
   * while it is connected: true if handed on, false when neither is up (nothing is queued).
   */
  sendNotify(message: Notify): boolean;
  /** Shows a failure that has no caller (an extension's) as `metrics$.lastError`. */
  report(error: ClientError): void;
}

/**
 * What an extension attached with `sync.attach` sees, each hook optional. Hooks run synchronously
 * in the sync's path: they must be quick and must not throw.
 */
export interface SyncTap {
  /** The outbox (pending events, clientSeq order): at once when attached, then after each change. */
  pending?(pending: readonly EventEnvelope[]): void;
  /** An append's events while their outbox write is in flight, before they may be pushed (this tab's appends). */
  writing?(events: readonly EventEnvelope[]): void;
  /** Hub acks (`ok` or `duplicate`), about to be recorded (leader tab). */
  acked?(acks: readonly AckInput[]): void;
  /** Events received live from the hub, decoded, before they are stored (leader tab). */
  broadcast?(events: readonly CommittedEvent[]): void;
  /** Confirmed events new to the log (pulled or live), once stored and folded (leader tab). */
  stored?(events: readonly CommittedEvent[]): void;
  /** A `notify` message from the hub, undecoded; in a follower tab, as the leader passed it on. */
  notified?(payload: unknown): void;
  /** The sync closed: no hook is called again. */
  closed?(): void;
}

/**
 * The part of an `Eventloom` the sync engine uses: an Eventloom (its sync port is private: the
 * engine finds it by the Eventloom itself), or a wrapper of one that a test bound a port to
 * (`bindSyncPort` of `@eventloom/client/testing`).
 */
export interface SyncTarget {
  /** The outbox rows with their acks: `metrics$.acked` counts the acked ones. */
  readonly outbox$: Observable<readonly OutboxRow[]>;
  readonly pending$: Observable<readonly EventEnvelope[]>;
  readonly leader$: Observable<boolean>;
  readonly registry: { readonly fingerprint: string };
}
