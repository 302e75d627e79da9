import type { CommittedEvent, PushResult } from '@eventloom/protocol';
import type { ClientError } from '../client-error.ts';
import type { OutboxRow } from '../client-store.ts';
import type { AckInput, RealignOutcome, SyncPort } from '../sync-port.ts';
import type { Backoff } from './backoff.ts';
import type { SocketFactory, SocketIoOptions } from './sync-socket.ts';
import type { SyncWarnings } from './sync-warnings.ts';

/** What a session needs from the engine that runs it (one engine, many sessions over time). */
export interface SessionHost {
  readonly port: SyncPort;
  readonly config: SessionConfig;
  /** The subscriptions the app wants now. */
  desiredSubscriptions(): readonly string[];
  /** The session reached a state the app should see. */
  stateChanged(state: 'catching-up' | 'live'): void;
  /** The log's position or the hub's head moved, or confirmed events were stored: `metrics$` shows it. */
  positionChanged(position: number, head: number): void;
  pushed(count: number): void;
  /** Confirmed events were stored: counted, and shown by the {@link positionChanged} that follows. */
  received(count: number): void;
  /** A failure worth showing (`metrics$.lastError`) that the session recovers from. */
  report(error: ClientError): void;
  /** The hub's word on this device changed its store (`SyncPort.realign`): a restored log, or a cleared device. */
  realigned(outcome: RealignOutcome): void;
  /** Outbox rows were numbered anew (`SyncPort.realign`, at hello or after `seq-used`): old seq to new. */
  renumbered(seqs: ReadonlyMap<number, number>): void;
  /** Final refusals of pushed events: the conflict policy's turn. */
  refused(refusals: readonly Refusal[]): Promise<void>;
  /** Whether an outbox row waits to be decided again (not to be pushed meanwhile). */
  parked(clientSeq: number): boolean;
  /** The refused guarded event `row` was decided on, to send again ahead of it ({@link RefusalReminders}). */
  reminder(row: OutboxRow): OutboxRow | undefined;
  /** The session caught up (again): decisions waiting for fresh state can be made now. */
  caughtUp(): void;
  /** Acks were recorded or the outbox moved: `flushed()` may resolve. */
  progressed(): void;
  /** A `notify` message arrived (notification, query or reply): undecoded. */
  notified(payload: unknown): void;
  /** Live events arrived (decoded, not yet stored): for the engine's taps. */
  broadcast(events: readonly CommittedEvent[]): void;
  /** Acks about to be recorded: for the engine's taps. */
  acked(acks: readonly AckInput[]): void;
  /** Confirmed events were stored, the last `inserted` of them new (the others held already): for the engine's taps. */
  stored(events: readonly CommittedEvent[], inserted: number): void;
}

/** What a session is configured with (resolved defaults). */
export interface SessionConfig {
  readonly url: string;
  readonly token: string | (() => string | Promise<string>) | undefined;
  readonly io: SocketIoOptions;
  readonly socket: SocketFactory;
  readonly fingerprint: string | null;
  /** The developer's warnings (refusals nobody hears, held events, another registry than the hub's). */
  readonly warnings: SyncWarnings;
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly inFlight: number;
  readonly pullLimit: number;
  readonly requestTimeoutMs: number;
  readonly holdBackoff: Backoff;
}

/** A pushed event the hub refused for good, with its outbox row. */
export interface Refusal {
  readonly row: OutboxRow;
  readonly result: Extract<PushResult, { status: 'rejected' }>;
}

/** How a session ended: the error, whether retrying is pointless, whether it had gone live. */
export interface SessionOutcome {
  readonly error: ClientError | undefined;
  readonly fatal: boolean;
  readonly live: boolean;
}
