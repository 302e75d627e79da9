import type { Principal } from '@eventloom/protocol';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import type { EventStore } from '../store/event-store.ts';
import type { HubMetrics } from './hub-metrics.ts';
import type { Authorize, HubLimits, HubRegistry } from './hub-options.ts';
import type { HubQueryHandler } from './hub-queries.ts';
import type { HubSession } from './hub-session.ts';
import type { LiveFeed } from './live-feed.ts';
import type { Sequencer } from './sequencer.ts';

/** What every session of one hub shares (internal to the hub). */
export interface HubContext {
  readonly io: Server;
  readonly store: EventStore;
  readonly hubId: string;
  readonly sequencer: Sequencer;
  readonly feed: LiveFeed;
  readonly limits: HubLimits;
  readonly metrics: HubMetrics;
  readonly logger: Logger;
  readonly registry: HubRegistry | undefined;
  /** The registry's fingerprint, read once at start (undefined without a registry). */
  readonly fingerprint: string | undefined;
  readonly authorize: Authorize | undefined;
  /** Query types the hub answers itself (`queries` option). */
  readonly queries: Readonly<Record<string, HubQueryHandler>> | undefined;
  /** Sessions that said `hello`: they receive live events and notifications. */
  readonly ready: Set<HubSession>;
  /** True once the hub is closing: nothing new is accepted. */
  closing(): boolean;
}

/** The key a client id is bound to in the store: the principal's `sub`, qualified by its issuer. */
export function principalKey(principal: Principal): string {
  return principal.iss === undefined ? principal.sub : `${principal.iss}|${principal.sub}`;
}
