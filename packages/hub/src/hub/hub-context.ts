import type { Notify, Principal } from '@eventloom/protocol';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import type { EventStore } from '../store/event-store.ts';
import type { HubMemory } from './hub-memory.ts';
import type { HubMetrics } from './hub-metrics.ts';
import type { Authorize, HubCluster, HubLimits, HubQueryHandler, HubRegistry } from './hub-options.ts';
import type { FeedSession, LiveFeed } from './live-feed.ts';
import type { PeerPair } from './peer-limits.ts';
import type { RestoreWatch } from './restore-watch.ts';
import type { Sequencer } from './sequencer.ts';

/**
 * What the hub's shared parts need of a session that said `hello` (`HubSession` is the one
 * implementation): the live feed's view, plus its principal and notification delivery.
 */
export interface ReadySession extends FeedSession {
  readonly principal: Principal;
  /** Delivers a notification if this session should see it; false when it did not. */
  deliverNotify(message: Notify): Promise<boolean>;
}

/** What every session of one hub shares (internal to the hub). */
export interface HubContext {
  readonly io: Server;
  readonly store: EventStore;
  readonly hubId: string;
  readonly sequencer: Sequencer;
  readonly feed: LiveFeed;
  readonly limits: HubLimits;
  /** The memory the hub holds for its peers, across all sockets (`limits.maxHubMemoryBytes`). */
  readonly memory: HubMemory;
  readonly metrics: HubMetrics;
  readonly logger: Logger;
  /** What devices coming back to a restored log tell: detections, repairs, what is still missing. */
  readonly restore: RestoreWatch;
  readonly registry: HubRegistry | undefined;
  /** The registry's fingerprint, read once at start (undefined without a registry). */
  readonly fingerprint: string | undefined;
  readonly authorize: Authorize | undefined;
  /** Query types the hub answers itself (`queries` option). */
  readonly queries: Readonly<Record<string, HubQueryHandler>> | undefined;
  /** Sessions that said `hello`: they receive live events and notifications. */
  readonly ready: Set<ReadySession>;
  /** The bus to the other nodes, on a cluster. */
  readonly cluster: HubCluster | undefined;
  /** This node's notifications to and from the others, on a cluster. */
  readonly crossNode: CrossNode | undefined;
  /** True once the hub is closing: nothing new is accepted. */
  closing(): boolean;
}

/**
 * What the sessions and the notify path use of the notifications that cross nodes
 * (`CrossNodeNotify`, in notify-relay.ts, implements it): it is declared here so that the context
 * does not import the relay, which reads the context.
 */
export interface CrossNode {
  /** Sets what a session needs (at `hello`, and when its subscriptions change). */
  track(session: object, clientId: string, subscriptions: readonly string[]): Promise<void>;
  /** Forgets a session that disconnected. */
  untrack(session: object): void;
  /** Publishes a notification (delivered here already) to the nodes that may deliver it. */
  publish(message: Notify): void;
}

/** Who a connection is and what it shares with the other connections of its principal and address. */
export interface SessionIdentity {
  readonly principal: Principal;
  /** `principalKey(principal)`: what its client ids are bound to. */
  readonly key: string;
  /** The verified token's claims (empty without a token). */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly expiresAt: number | undefined;
  readonly peers: PeerPair;
}
