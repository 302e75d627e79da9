import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { ErrorCode, Limits } from '@eventloom/protocol';
import type { EventStore, StoreAppend, StoreAppendResult } from '../store/event-store.ts';
import { pino, type Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import type { HubContext, SessionIdentity } from './hub-context.ts';
import { HubError, HubErrorCode, toHubError } from './hub-error.ts';
import { createHubMetrics, type HubMetrics } from './hub-metrics.ts';
import { RestoreWatch } from './restore-watch.ts';
import { COUNT_LIMITS, DEFAULT_HUB_LIMITS, type HubLimits, type HubOptions } from './hub-options.ts';
import { HubMemory } from './hub-memory.ts';
import { HubSession } from './hub-session.ts';
import { outgoingBytes } from './outgoing-buffer.ts';
import { PeerLimits } from './peer-limits.ts';
import { principalKey } from './principal-key.ts';
import { LiveFeed } from './live-feed.ts';
import { CrossNodeNotify } from './notify-relay.ts';
import { Sequencer } from './sequencer.ts';
import { encodeJsonText } from './json-text.ts';

/** How long close() lets peers finish their close handshake before cutting their connections. */
const CLOSE_GRACE_MS = 2_000;
/** How often the outgoing buffers of all sockets are summed into the hub's memory, in ms. */
const OUTGOING_SAMPLE_MS = 100;
/** Samples between two sweeps of the idle principals and addresses. */
const SWEEP_EVERY = 600;

/** A running hub. */
export interface Hub {
  /** The Socket.IO server (for adapters and inspection; the hub owns its event handlers). */
  readonly io: Server;
  /** The HTTP server the hub listens on or was attached to. */
  readonly server: HttpServer;
  readonly metrics: HubMetrics;
  /** The limits in force. */
  readonly limits: HubLimits;
  /** The event log the hub runs on (the hub does not close it). */
  readonly store: EventStore;
  /** The port the HTTP server listens on. */
  readonly port: number;
  /** `http://host:port` of the hub's own server (on an attached server, of that server's address). */
  readonly url: string;
  /**
   * Answers `/healthz`, `/readyz` and `/metrics`; true when it handled the request. The hub's own
   * server routes them already; call it from your handler when you attached the hub to yours.
   */
  handleOpsRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Appends events through the hub's sequencer, as the hub's own writer (reactions): ordered with
   * pushed events, resolved after the durable commit, broadcast to subscribers like pushed ones.
   * Nothing is validated or authorized here. After `close()` every event is `unavailable`.
   */
  append(items: readonly StoreAppend[]): Promise<StoreAppendResult[]>;
  /** Calls `listener` with the new head after each commit that stored events; returns the unsubscribe. */
  onCommit(listener: (head: number) => void): () => void;
  /**
   * Adds an HTTP handler that `handleOpsRequest` tries first (the reactions' admin endpoints): it
   * returns true when it answers the request. Returns the function that removes it.
   */
  addRequestHandler(handler: (req: IncomingMessage, res: ServerResponse) => boolean): () => void;
  /**
   * Shuts down: refuses new connections and messages, finishes in-flight commits and acks them,
   * disconnects every socket with `unavailable`, and closes the HTTP server if the hub made it.
   * Does not close the store.
   */
  close(): Promise<void>;
}

/**
 * Starts a sync hub: Socket.IO (WebSocket first) speaking the protocol of DESIGN.md §5 over the
 * given store. Listens on its own HTTP server (`port`, `host`) or attaches to `server`.
 *
 * @example
 * const hub = await createHub({
 *   store: createSqliteStore({ path: './data/events.db' }),
 *   auth: jwtAuthenticator({ secret: process.env.JWT_SECRET!, audience: 'eventloom' }),
 *   authorize: (principal, action, stream) => stream.startsWith(`user:${principal.sub}:`),
 *   port: 8080,
 * });
 * process.on('SIGTERM', () => void hub.close());
 */
export async function createHub(options: HubOptions): Promise<Hub> {
  const limits = resolveLimits(options.limits);
  if (typeof options.auth?.authenticate !== 'function') {
    throw new HubError(
      HubErrorCode.config,
      'createHub needs `auth`: jwtAuthenticator(…), or insecureDevAuthenticator() for local development',
    );
  }
  const logger = options.logger ?? pino({ name: 'eventloom-hub' });
  const { store, auth } = options;
  let hubId: string;
  let head: number;
  try {
    [hubId, head] = await Promise.all([store.hubId(), store.head()]);
  } catch (cause) {
    throw new HubError(HubErrorCode.store, 'the store could not be read', { cause });
  }
  if (auth.insecure === true) {
    logger.warn(
      '!!! INSECURE DEVELOPMENT MODE: no authentication, every connection is the principal "dev". ' +
        'Never expose this hub beyond your own machine. !!!',
    );
  }

  const metrics = createHubMetrics();
  let closing = false;
  const ready = new Set<HubSession>();
  /** Every connected session, ready or not. */
  const sessions = new Set<HubSession>();
  const memory = new HubMemory(limits.maxHubMemoryBytes);
  const peers = new PeerLimits(limits);
  const commitListeners = new Set<(head: number) => void>();
  const requestHandlers = new Set<(req: IncomingMessage, res: ServerResponse) => boolean>();
  const feed: LiveFeed = new LiveFeed(() => ctx, head);
  const sequencer = new Sequencer(store, {
    maxTransactionEvents: limits.maxTransactionEvents,
    gapTimeoutMs: limits.gapTimeoutMs,
    maxHeldPerClient: limits.maxHeldPerClient,
    onCommitted: (position, appended) => {
      metrics.eventsAppended.inc(appended);
      for (const listener of commitListeners) {
        try {
          listener(position);
        } catch (error) {
          logger.error({ err: error }, 'a commit listener threw');
        }
      }
    },
    onStoreError: (error) => logger.error({ err: error }, 'store append failed'),
  });
  // Every commit to the log, this node's and (on a shared database) other nodes', reaches the feed here.
  const unwatch = store.watchHead((change) => feed.onHead(change));

  const handleOpsRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    for (const handler of requestHandlers) if (handler(req, res)) return true;
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/healthz') {
      reply(res, 200, 'application/json', '{"status":"ok"}');
      return true;
    }
    if (path === '/readyz') {
      if (closing) {
        reply(res, 503, 'application/json', '{"status":"closing"}');
        return true;
      }
      // Ready while the log can be read. A cluster's bus down degrades notifications only
      // (events still flow): the node stays in service and says so.
      const cluster = options.cluster;
      const bus = cluster === undefined ? {} : { [cluster.name]: cluster.isUp() ? 'ok' : 'down' };
      store.head().then(
        () => {
          const status = Object.values(bus).includes('down') ? 'degraded' : 'ready';
          reply(res, 200, 'application/json', JSON.stringify({ status, store: 'ok', ...bus }));
        },
        () =>
          reply(
            res,
            503,
            'application/json',
            JSON.stringify({ status: 'store unavailable', store: 'unavailable', ...bus }),
          ),
      );
      return true;
    }
    if (path === '/metrics') {
      if (!metricsAllowed(req, options.metricsToken)) {
        res.setHeader('www-authenticate', 'Bearer realm="metrics"');
        reply(res, 401, 'application/json', '{"error":"metrics need the bearer token"}');
        return true;
      }
      metrics.registry.metrics().then(
        (text) => reply(res, 200, metrics.registry.contentType, text),
        (error: unknown) => {
          logger.error({ err: error }, 'metrics failed');
          reply(res, 500, 'text/plain', 'metrics failed');
        },
      );
      return true;
    }
    return false;
  };

  const ownServer = options.server === undefined;
  const server =
    options.server ??
    createServer((req, res) => {
      if (!handleOpsRequest(req, res)) reply(res, 404, 'application/json', '{"error":"not found"}');
    });
  // The hub's own server: track raw connections so that close() can end those a peer never closes.
  const connections = new Set<NetSocket>();
  if (ownServer) {
    server.on('connection', (c) => {
      connections.add(c);
      c.once('close', () => connections.delete(c));
    });
  }
  const origins = options.allowedOrigins ?? ['*'];
  const anyOrigin = origins.includes('*');
  const io = new Server(server, {
    path: options.path ?? '/socket.io',
    transports: ['websocket', 'polling'],
    serveClient: false,
    maxHttpBufferSize: limits.maxHttpBufferSize,
    perMessageDeflate: false,
    httpCompression: false,
    // CORS headers for the polling transport; same-origin requests (`self`) need none.
    cors: {
      origin: anyOrigin
        ? (origin, done) => done(null, origin !== 'null')
        : origins.filter((o) => o !== 'self'),
    },
    allowRequest: (req, callback) => {
      if (closing) {
        callback('the hub is shutting down', false);
        return;
      }
      const origin = req.headers.origin;
      if (origin === undefined || originAllowed(origin, origins, req.headers.host)) {
        callback(null, true);
        return;
      }
      metrics.rejections.inc({ code: ErrorCode.unauthorized });
      logger.warn({ origin }, 'connection from an origin not on the allow-list refused');
      callback('origin not allowed', false);
    },
  });
  encodeJsonText(io);

  /** Decides on a handshake; resolves with the refusal, or undefined to let the socket in. */
  const admit = async (socket: Socket): Promise<Error | undefined> => {
    if (closing) return connectError(ErrorCode.unavailable, 'the hub is shutting down');
    const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.['token'];
    let outcome;
    try {
      outcome = await auth.authenticate({ token, address: socket.handshake.address });
    } catch (error) {
      logger.error({ err: error }, 'authenticator threw: connection refused');
      return connectError(ErrorCode.unauthenticated, 'authentication failed');
    }
    if (outcome.ok && (outcome.expiresAt === undefined || outcome.expiresAt > Date.now())) {
      const key = principalKey(outcome.principal);
      const admitted = peers.connect(key, socket.handshake.address);
      if (!admitted.ok) {
        metrics.rejections.inc({ code: ErrorCode.rateLimited });
        logger.warn({ address: socket.handshake.address, reason: admitted.message }, 'connection refused');
        return connectError(ErrorCode.rateLimited, admitted.message);
      }
      // Counted until the socket disconnects, or its connection closes before it got that far
      // (one connection may open and close the namespace many times: each socket counts once).
      let counted = true;
      const release = () => {
        if (counted) peers.disconnect(admitted.peers);
        counted = false;
      };
      socket.conn.once('close', release);
      socket.once('disconnect', release);
      const identity: SessionIdentity = {
        principal: outcome.principal,
        key,
        claims: outcome.claims ?? {},
        expiresAt: outcome.expiresAt,
        peers: admitted.peers,
      };
      socket.data = identity;
      return undefined;
    }
    const message = outcome.ok ? 'token expired' : outcome.message;
    metrics.rejections.inc({ code: ErrorCode.unauthenticated });
    logger.info({ address: socket.handshake.address, reason: message }, 'connection refused');
    return connectError(ErrorCode.unauthenticated, message);
  };
  // `next` runs outside the promise chain, so that nothing it throws is swallowed.
  io.use((socket, next) => void admit(socket).then((refusal) => process.nextTick(next, refusal)));

  if (options.cluster !== undefined) {
    io.adapter(options.cluster.adapter);
  }

  io.on('connection', (socket: Socket) => {
    const identity = socket.data as SessionIdentity;
    socket.data = undefined;
    // The session lives as long as the socket: its listeners hold it.
    const session = new HubSession(ctx, socket, identity);
    sessions.add(session);
    metrics.connectedClients.inc();
    socket.once('disconnect', () => {
      sessions.delete(session);
      metrics.connectedClients.dec();
    });
    if (auth.insecure === true)
      logger.warn({ socket: socket.id }, 'insecure dev mode: unauthenticated connection');
  });

  const ctx: HubContext = {
    io,
    store,
    hubId,
    sequencer,
    feed,
    limits,
    memory,
    metrics,
    logger,
    restore: new RestoreWatch(metrics, logger),
    registry: options.registry,
    fingerprint: readFingerprint(options.registry, logger),
    authorize: options.authorize,
    queries: options.queries,
    ready,
    cluster: options.cluster,
    crossNode:
      options.cluster === undefined ? undefined : new CrossNodeNotify(options.cluster, () => ctx, logger),
    closing: () => closing,
  };

  if (ownServer) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((cause: unknown) => {
      void io.close();
      throw new HubError(HubErrorCode.config, `cannot listen: ${toHubError(cause).message}`, { cause });
    });
  }

  // Sums what is queued for every socket into the hub's memory; while outgoing buffers take more
  // than half the cap, the sockets with the most queued (more than one message) are dropped.
  let samples = 0;
  const sampler = setInterval(() => {
    let total = 0;
    const queued: [HubSession, number][] = [];
    for (const session of sessions) {
      const bytes = outgoingBytes(session.socket);
      total += bytes;
      if (bytes > limits.maxMessageBytes) queued.push([session, bytes]);
    }
    if (total > memory.limit / 2) {
      queued.sort((a, b) => b[1] - a[1]);
      for (const [session, bytes] of queued) {
        if (total <= memory.limit / 4) break;
        session.dropSlowConsumer();
        total -= bytes;
      }
    }
    memory.sampleOutgoing(total);
    metrics.memoryHeld.set(memory.used);
    if (++samples % SWEEP_EVERY === 0) peers.sweep();
  }, OUTGOING_SAMPLE_MS);
  sampler.unref();

  const address = (): AddressInfo | undefined => {
    const a = server.address();
    return typeof a === 'object' && a !== null ? a : undefined;
  };
  logger.info({ hubId, head, port: address()?.port }, 'hub started');

  let closed: Promise<void> | undefined;
  return {
    io,
    server,
    metrics,
    limits,
    get port() {
      return address()?.port ?? 0;
    },
    get url() {
      const a = address();
      const host = a === undefined ? '127.0.0.1' : a.family === 'IPv6' ? `[${a.address}]` : a.address;
      return `http://${host}:${a?.port ?? 0}`;
    },
    store,
    handleOpsRequest,
    append: (items) => sequencer.submit(items),
    onCommit(listener) {
      const wrapped = (head: number) => listener(head);
      commitListeners.add(wrapped);
      return () => commitListeners.delete(wrapped);
    },
    addRequestHandler(handler) {
      const wrapped = (req: IncomingMessage, res: ServerResponse) => handler(req, res);
      requestHandlers.add(wrapped);
      return () => requestHandlers.delete(wrapped);
    },
    close() {
      closed ??= (async () => {
        closing = true;
        clearInterval(sampler);
        logger.info('hub closing: finishing in-flight commits');
        await sequencer.close();
        await feed.idle();
        unwatch();
        feed.close();
        // Let the acks of the last commits reach their sockets before the connections close.
        await new Promise((resolve) => setImmediate(resolve));
        for (const [, socket] of io.of('/').sockets) {
          socket.emit('hub-error', {
            code: ErrorCode.unavailable,
            message: 'the hub is shutting down',
            retryable: true,
          });
          socket.disconnect(true);
        }
        if (ownServer) {
          const ioClosed = io.close();
          const grace = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
          await Promise.race([ioClosed, grace]);
          for (const c of connections) c.destroy();
          await ioClosed;
        } else {
          io.engine.close();
        }
        logger.info('hub closed');
      })();
      return closed;
    },
  };
}

function readFingerprint(registry: HubOptions['registry'], logger: Logger): string | undefined {
  try {
    return registry?.fingerprint;
  } catch (error) {
    logger.warn({ err: error }, 'the registry has no fingerprint; clients are not compared with it');
    return undefined;
  }
}

function resolveLimits(overrides: Partial<HubLimits> | undefined): HubLimits {
  const limits = { ...DEFAULT_HUB_LIMITS, ...overrides };
  const check = (ok: boolean, message: string): void => {
    if (!ok) throw new HubError(HubErrorCode.config, `limits: ${message}`);
  };
  for (const [key, value] of Object.entries(limits)) {
    const count = COUNT_LIMITS.has(key as keyof HubLimits);
    check(
      typeof value === 'number' && value > 0 && Number.isFinite(value) && (!count || Number.isInteger(value)),
      `${key} must be a positive ${count ? 'integer' : 'number'}`,
    );
  }
  check(limits.maxEventBytes <= Limits.maxEventBytes, `maxEventBytes may not exceed ${Limits.maxEventBytes}`);
  check(limits.maxBatchSize <= Limits.maxBatchSize, `maxBatchSize may not exceed ${Limits.maxBatchSize}`);
  check(
    limits.maxMessageBytes <= Limits.maxMessageBytes,
    `maxMessageBytes may not exceed ${Limits.maxMessageBytes}`,
  );
  check(limits.maxEventBytes <= limits.maxMessageBytes, 'maxEventBytes must not exceed maxMessageBytes');
  check(
    limits.maxTransactionEvents >= limits.maxBatchSize,
    'maxTransactionEvents must be at least maxBatchSize',
  );
  return limits;
}

/**
 * Whether a browser's `Origin` may connect: listed, or `self` listed and the origin is the hub's
 * own (the `Host` it was reached at), or `*` listed. The opaque origin `null` (sandboxed frames,
 * files) only when listed as such.
 */
function originAllowed(origin: string, allowed: readonly string[], host: string | undefined): boolean {
  if (allowed.includes(origin)) return true;
  if (origin === 'null') return false;
  if (allowed.includes('*')) return true;
  if (!allowed.includes('self') || host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** `/metrics` is open without a token; with one, only a request bearing it reads the metrics. */
function metricsAllowed(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const given = req.headers.authorization ?? '';
  const expected = `Bearer ${token}`;
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

function connectError(code: ErrorCode, message: string): Error & { data: { code: ErrorCode } } {
  return Object.assign(new Error(message), { data: { code } });
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
