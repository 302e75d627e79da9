import type { Server as HttpServer } from 'node:http';
import type { EventEnvelope, JsonValue, Notify, Principal, Result } from '@eventloom/protocol';
import { Limits } from '@eventloom/protocol';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import type { EventStore } from '../store/event-store.ts';
import type { Authenticator } from './authenticator.ts';
import type { NotifyBus } from './notify-routes.ts';

/** What a principal asks to do to a stream: store events, read them back, receive them live, relay a `notify`. */
export type HubAction = 'push' | 'pull' | 'subscribe' | 'notify';

/** What else an {@link Authorize} decision may depend on. */
export interface AuthorizeContext {
  /** For `push`, the event's kind (`domain`, `command`, `integration`); for `notify`, the message's. */
  readonly kind?: string;
  /** The verified token's claims (empty without a token, e.g. in insecure dev mode). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Decides whether `principal` may do `action` to `stream` (for `subscribe`, `stream` may be a
 * pattern such as `board:*`; live events are then checked again per concrete stream). Decisions
 * are cached for the life of a connection, per action, stream and kind. A throw counts as a denial.
 * `streamRules(…)` makes one from rules stated as data.
 */
export type Authorize = (
  principal: Principal,
  action: HubAction,
  stream: string,
  context: AuthorizeContext,
) => boolean | Promise<boolean>;

/**
 * The event schemas the hub validates `data` against: an `EventRegistry` of `@eventloom/core`
 * (`createRegistry([...])`) fits. `validate` fails with `unknown-event-version` (recorded as a
 * rejection for a client of protocol 4, which holds the event aside and sends it again later, so
 * that its later events go on; not recorded for older clients, whose later events wait), `invalid`
 * (recorded as a rejection), or `internal` (an upcaster bug on the hub: not recorded either).
 */
export interface HubRegistry {
  /** The registry's fingerprint, compared with the client's at `hello` (a mismatch is logged). */
  readonly fingerprint?: string;
  validate(event: EventEnvelope): Result<unknown>;
}

/** The hub's bounds; each one answers with a coded error and none can bring the process down. */
export interface HubLimits {
  /** Bytes of one event (UTF-8 JSON); at most the protocol's `Limits.maxEventBytes`. */
  readonly maxEventBytes: number;
  /** Events in one push; at most `Limits.maxBatchSize`. */
  readonly maxBatchSize: number;
  /** Bytes of one push, and the most a pull page or live message carries. */
  readonly maxMessageBytes: number;
  /** Socket.IO's `maxHttpBufferSize`: a bigger frame closes the connection. */
  readonly maxHttpBufferSize: number;
  /** Token bucket per socket: each message costs 1, each pushed event 1 more. */
  readonly rateBurst: number;
  readonly ratePerSecond: number;
  /** Bytes queued for a socket beyond which it is a slow consumer and dropped. */
  readonly maxOutgoingBytes: number;
  /** Requests (push, pull, subscribe, hello) one socket may have unanswered at once. */
  readonly maxInFlightPerSocket: number;
  /** How long an event above its client's next `clientSeq` waits for the gap to fill, in ms. */
  readonly gapTimeoutMs: number;
  /** Events held for one client at once. */
  readonly maxHeldPerClient: number;
  /** Most events in one store transaction (pushes queued together are committed together). */
  readonly maxTransactionEvents: number;
  /**
   * Bytes the hub holds for its peers at once, across all sockets: pages read for pulls, pushes
   * being judged and committed, events held for a gap, and outgoing buffers. Past it, pulls and
   * pushes are answered `rate-limited` (retryable), gapped events `sequence-gap`, and the sockets
   * with the most queued for them are dropped as slow consumers.
   */
  readonly maxHubMemoryBytes: number;
  /** Pulls one socket may have unanswered at once (more are answered `rate-limited`). */
  readonly maxPullsPerSocket: number;
  /** Token bucket per principal, shared by all its sockets (costs as `rateBurst`). */
  readonly principalRateBurst: number;
  readonly principalRatePerSecond: number;
  /** Token bucket per remote address, shared by all its sockets. */
  readonly addressRateBurst: number;
  readonly addressRatePerSecond: number;
  /** Sockets one principal may have open at once. */
  readonly maxConnectionsPerPrincipal: number;
  /** Sockets one remote address may have open at once (behind a proxy, all clients share its address). */
  readonly maxConnectionsPerAddress: number;
  /** New client ids one principal, and one address, may bind at once (bound at their first push)… */
  readonly newClientIdsBurst: number;
  /** …and then per hour. */
  readonly newClientIdsPerHour: number;
}

/** The limits that count things (events, requests, sockets): whole numbers, as a fraction has no meaning there. */
export const COUNT_LIMITS: ReadonlySet<keyof HubLimits> = new Set<keyof HubLimits>([
  'maxBatchSize',
  'maxInFlightPerSocket',
  'maxHeldPerClient',
  'maxTransactionEvents',
  'maxPullsPerSocket',
  'maxConnectionsPerPrincipal',
  'maxConnectionsPerAddress',
]);

/** The limits a hub uses unless told otherwise. */
export const DEFAULT_HUB_LIMITS: HubLimits = {
  maxEventBytes: Limits.maxEventBytes,
  maxBatchSize: Limits.maxBatchSize,
  maxMessageBytes: Limits.maxMessageBytes,
  maxHttpBufferSize: Limits.maxMessageBytes + 1024 * 1024,
  rateBurst: 20_000,
  ratePerSecond: 10_000,
  maxOutgoingBytes: 16 * 1024 * 1024,
  maxInFlightPerSocket: 32,
  gapTimeoutMs: 5_000,
  maxHeldPerClient: Limits.maxBatchSize,
  maxTransactionEvents: 5_000,
  maxHubMemoryBytes: 256 * 1024 * 1024,
  maxPullsPerSocket: 2,
  principalRateBurst: 20_000,
  principalRatePerSecond: 10_000,
  addressRateBurst: 80_000,
  addressRatePerSecond: 40_000,
  maxConnectionsPerPrincipal: 64,
  maxConnectionsPerAddress: 1_024,
  newClientIdsBurst: 1_000,
  newClientIdsPerHour: 1_000,
};

/** What {@link createHub} takes. */
export interface HubOptions {
  /** The event log. The hub does not close it: its owner does, after `hub.close()`. */
  readonly store: EventStore;
  /** Who connections are: {@link jwtAuthenticator}, or {@link insecureDevAuthenticator} for the demo. */
  readonly auth: Authenticator;
  /**
   * Per-stream permissions for push, pull, subscribe and notify; everything is allowed without it
   * (`eventloom-hub` warns then). `streamRules(…)` states them as data.
   */
  readonly authorize?: Authorize;
  /** Event schemas; without one the hub checks envelopes only. */
  readonly registry?: HubRegistry;
  /** Query types the hub answers itself, by type (see {@link HubQueryHandler}); the rest go to the clients. */
  readonly queries?: Readonly<Record<string, HubQueryHandler>>;
  readonly limits?: Partial<HubLimits>;
  /** A pino logger; by default one that writes JSON to stdout at `info`. */
  readonly logger?: Logger;
  /** Attach to this HTTP server (its owner listens and closes it); otherwise the hub makes its own. */
  readonly server?: HttpServer;
  /** Port to listen on when the hub makes its own server; default 0 (any free port). */
  readonly port?: number;
  /** Host to listen on when the hub makes its own server; default `127.0.0.1`. */
  readonly host?: string;
  /**
   * Origins a browser may connect from (the `Origin` header, e.g. `https://app.example`), checked
   * in `allowRequest`: `self` is the hub's own origin (the app served beside it), `*` any origin
   * but the opaque `null`, which must be listed as `null`. Requests without an Origin (non-browser
   * clients) pass. Default: `*` (`eventloom-hub` defaults to `self` outside `--insecure-dev`).
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * A bearer token `/metrics` requires. Without one `/metrics` is open, and tells anyone who can
   * reach it the hub's counts: connected sockets, events appended, rejections by code, latencies,
   * memory held, and with reactions their names, positions and dead letters.
   */
  readonly metricsToken?: string;
  /** Socket.IO path; default `/socket.io`. */
  readonly path?: string;
  /**
   * For a hub of several nodes on one shared log (the Postgres store): the bus that carries
   * notifications and queries between nodes (`connectRedisCluster` of `@eventloom/hub/redis`).
   * Events never go through it: every node follows the log.
   */
  readonly cluster?: HubCluster;
}

/** The bus between the nodes of a hub (see {@link HubOptions.cluster}). */
export interface HubCluster {
  /** The Socket.IO adapter, as `io.adapter()` takes it (Socket.IO's own cross-node calls). */
  readonly adapter: NonNullable<Parameters<Server['adapter']>[0]>;
  /** What the bus runs on, for `/readyz` and error messages (`redis`). */
  readonly name: string;
  /** Whether the bus is reachable now. */
  isUp(): boolean;
  /**
   * The notification routes of one node: `onMessage` receives each payload published by any node
   * on a route this node opened (see `NotifyBus`).
   */
  notifications(onMessage: (payload: string) => void): NotifyBus;
}

/**
 * Answers queries of one type on the hub (`queries` option of `createHub`): JSON to reply with, or
 * `undefined` to leave the query to the clients subscribed to its stream.
 *
 * @example
 * createHub({ store, auth, queries: { 'hub.head': async () => store.head() } });
 */
export type HubQueryHandler = (
  query: Notify,
  principal: Principal,
) => JsonValue | undefined | Promise<JsonValue | undefined>;
