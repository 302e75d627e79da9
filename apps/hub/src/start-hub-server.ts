import { access, mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Handler, ReactionStore } from '@eventloom/core';
import type * as CoreModule from '@eventloom/core';
import {
  HubError,
  HubErrorCode,
  adminEventsHandler,
  createHub,
  createSqliteStore,
  type Authenticator,
  type EventStore,
  type Hub,
  type HubLimits,
  type ReactionAdminOptions,
} from '@eventloom/hub';
import type { HubReactions, SqliteReactionStore } from '@eventloom/hub/reactions';
import type * as ReactionsModule from '@eventloom/hub/reactions';
import type { JetStreamInbound, JetStreamRelay } from '@eventloom/hub/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { isPostgresUrl, type HubServerConfig } from './hub-server-config.ts';
import { connectRedisCluster, type RedisCluster } from '@eventloom/hub/redis';
import { createStaticHandler, type StaticHandler } from './static-files.ts';
import { loadAuthenticator, loadAuthorize, loadReactions, loadRegistry } from './load-config-modules.ts';

/** A running hub server: the hub over its SQLite store. */
export interface HubServer {
  readonly hub: Hub;
  readonly store: EventStore;
  /** The handlers and sagas of `--reactions`, running. */
  readonly reactions?: HubReactions | undefined;
  /** `http://host:port` it listens on. */
  readonly url: string;
  readonly logger: Logger;
  /**
   * Graceful shutdown: stop the reactions (those in progress finish), stop accepting, finish
   * in-flight commits, close the hub, then the databases.
   */
  close(): Promise<void>;
}

/**
 * Starts the hub the `eventloom-hub` command runs: opens (or creates) the SQLite log, loads the
 * keys and the schemas, and listens. Throws a {@link HubError} (`config` or `store`) with a
 * message a person can act on; nothing is left open when it does.
 *
 * @example
 * const server = await startHubServer({ port: 0, host: '127.0.0.1', db: 'data/events.db', jwtSecret, corsOrigins: [], insecureDev: false, logLevel: 'info' });
 * process.once('SIGTERM', () => void server.close());
 */
export async function startHubServer(
  config: HubServerConfig,
  options: { readonly logger?: Logger; readonly limits?: Partial<HubLimits> } = {},
): Promise<HubServer> {
  const logger = options.logger ?? pino({ name: 'eventloom-hub', level: config.logLevel });
  const auth = await loadAuthenticator(config);
  const authorize = await loadAuthorize(config, logger);
  const registry = config.schemas === undefined ? undefined : await loadRegistry(config.schemas);
  const reactionModule = config.reactions === undefined ? undefined : await loadReactions(config.reactions);
  const onPostgres = isPostgresUrl(config.db);
  if (!onPostgres && config.db !== ':memory:') await mkdir(dirname(resolve(config.db)), { recursive: true });
  const files = config.static === undefined ? undefined : await staticFiles(config.static);
  const store = await openEventStore(config, logger);
  let cluster: RedisCluster | undefined;
  if (config.redis !== undefined) {
    try {
      // One bus per log: the nodes of this log share its hub id, other logs on the Redis differ.
      cluster = await connectRedisCluster(config.redis, logger, { key: `eventloom#${await store.hubId()}` });
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  // With --static the server is ours (the hub attaches to it): files and the hub share one port.
  // Its listener is in place before the hub attaches, so that Socket.IO answers its own path first.
  let hub: Hub | undefined;
  const server = files === undefined ? undefined : createServer((req, res) => route(req, res, hub, files));
  let reactionStore: (ReactionStore & { close?: () => void | Promise<void> }) | undefined;
  let reactions: HubReactions | undefined;
  let nats: NatsConnection | undefined;
  let relay: JetStreamRelay | undefined;
  let inbound: JetStreamInbound | undefined;
  let removeNatsMetrics: () => void = () => undefined;
  let leadership: { stop(): Promise<void> } | undefined;
  let stopReactions: () => Promise<void> = async () => undefined;
  try {
    hub = await createHub({
      store,
      auth,
      logger,
      port: config.port,
      host: config.host,
      ...(server === undefined ? {} : { server }),
      ...(registry === undefined ? {} : { registry }),
      // Browsers from the hub's own origin only, unless told; any origin for the local demo.
      allowedOrigins:
        config.corsOrigins.length > 0 ? config.corsOrigins : config.insecureDev ? ['*'] : ['self'],
      authorize,
      ...(config.metricsToken === undefined ? {} : { metricsToken: config.metricsToken }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(cluster === undefined ? {} : { cluster }),
    });
    if (server !== undefined) await listen(server, hub, config);
    // Loaded only with --nats: a hub without NATS never loads its client.
    const jetstream = config.nats === undefined ? undefined : await import('@eventloom/hub/jetstream');
    if (jetstream !== undefined && config.nats !== undefined) {
      nats = await jetstream.connectNats(config.nats);
      relay = await jetstream.createJetStreamRelay({
        connection: nats,
        ...(config.natsStream === undefined ? {} : { stream: config.natsStream }),
        ...(config.natsSubjectPrefix === undefined ? {} : { subjectPrefix: config.natsSubjectPrefix }),
      });
    }
    const admin = adminOptions(config, auth);
    if (admin !== undefined) hub.addRequestHandler(adminEventsHandler(admin, store, logger));
    const running = hub;
    // Loaded only with --reactions or --nats: a hub without them never loads the reactions (nor rxjs).
    const kit = reactionModule === undefined && relay === undefined ? undefined : await loadReactionKit();
    const handlers = [
      ...(reactionModule?.handlers ?? []),
      ...(relay === undefined || kit === undefined ? [] : [jetStreamHandler(kit, relay)]),
    ];
    const sagas = reactionModule?.sagas ?? [];
    /** Starts the reactions (and the inbound consumer) on `fenced`: here, or on the cluster's runner node. */
    const startReactions = async (fenced: ReactionStore, { createHubReactions }: ReactionKit) => {
      const started = await createHubReactions({
        hub: running,
        reactionStore: fenced,
        handlers,
        sagas,
        replayHandlers: reactionModule?.replayHandlers ?? [],
        ...(registry === undefined ? {} : { registry }),
        ...(admin === undefined ? {} : { admin }),
        logger,
      });
      let consumer: JetStreamInbound | undefined;
      if (jetstream !== undefined && nats !== undefined && config.natsInbound !== undefined) {
        try {
          consumer = await jetstream.startJetStreamInbound({
            connection: nats,
            hub: running,
            reactionStore: fenced,
            ...(registry === undefined ? {} : { registry }),
            stream: config.natsInboundStream ?? 'EVENTLOOM_INBOUND',
            subjects: config.natsInbound,
            logger,
          });
        } catch (error) {
          await started.stop();
          throw error;
        }
      }
      inbound = consumer;
      return {
        reactions: started,
        async stop() {
          await consumer?.stop();
          if (inbound === consumer) inbound = undefined;
          await started.stop();
        },
      };
    };
    if (kit !== undefined) {
      if (onPostgres && config.reactionsDb === undefined) {
        // A cluster: the reactions' state is in the log's database, and one node runs them.
        const postgres = await import('@eventloom/hub/postgres');
        const shared = await postgres.createPostgresReactionStore({ url: config.db });
        reactionStore = shared;
        leadership = postgres.runReactionsOnce({
          store: shared,
          node: `${hostname()}:${process.pid}:${new URL(hub.url).port}`,
          reactions: [...handlers.map((h) => h.name), ...sagas.map((s) => s.name)],
          metrics: hub.metrics.registry,
          logger,
          start: async (fenced) => {
            const started = await startReactions(fenced, kit);
            reactions = started.reactions;
            return {
              async stop() {
                await started.stop();
                reactions = undefined;
              },
            };
          },
        });
      } else {
        reactionStore = openReactionStore(config, kit);
        const started = await startReactions(reactionStore, kit);
        reactions = started.reactions;
        stopReactions = () => started.stop();
      }
    }
    if (jetstream !== undefined && relay !== undefined) {
      removeNatsMetrics = jetstream.registerJetStreamMetrics(hub.metrics.registry, {
        relay,
        inbound: () => inbound,
      });
    }
  } catch (error) {
    await leadership?.stop();
    await stopReactions();
    relay?.close();
    await nats?.close().catch(() => undefined);
    await hub?.close();
    await reactionStore?.close?.();
    await cluster?.close();
    await store.close();
    throw error;
  }
  logger.info(
    {
      url: hub.url,
      db: onPostgres ? redactedUrl(config.db) : config.db,
      redis: config.redis === undefined ? null : redactedUrl(config.redis),
      schemas: config.schemas ?? null,
      static: config.static ?? null,
      reactions: config.reactions ?? null,
      nats: config.nats ?? null,
    },
    'eventloom-hub listening',
  );
  let closing: Promise<void> | undefined;
  const running = hub;
  return {
    hub,
    store,
    get reactions() {
      return reactions;
    },
    url: hub.url,
    logger,
    close() {
      closing ??= (async () => {
        await leadership?.stop();
        await stopReactions();
        removeNatsMetrics();
        relay?.close();
        await nats?.drain().catch(() => undefined);
        await running.close();
        if (server !== undefined) await closeServer(server);
        await reactionStore?.close?.();
        await cluster?.close();
        await store.close();
        logger.info('eventloom-hub stopped');
      })();
      return closing;
    },
  };
}

/** The handler name the `--nats` relay's checkpoint and dead letters are stored under. */
export const JETSTREAM_RELAY_HANDLER = 'jetstream-relay';

/**
 * Integration events to JetStream, a page at a time in flight; the checkpoint is written every 500
 * events and only past acknowledged ones (a crash re-sends at most those, dropped by Nats-Msg-Id).
 */
function jetStreamHandler({ integrationHandler }: ReactionKit, relay: JetStreamRelay): Handler {
  return integrationHandler(relay, {
    name: JETSTREAM_RELAY_HANDLER,
    source: '/eventloom-hub',
    checkpointEvery: 500,
  });
}

/**
 * Opens the log `--db` names: Postgres for a `postgres://` URL (its driver loaded only then),
 * else the SQLite file.
 */
async function openEventStore(config: HubServerConfig, logger: Logger): Promise<EventStore> {
  if (!isPostgresUrl(config.db)) {
    const onError = (error: HubError) =>
      logger.error({ err: error }, 'event log on SQLite: background work failed');
    return createSqliteStore({ path: config.db, onError });
  }
  const { createPostgresStore } = await import('@eventloom/hub/postgres');
  const store = await createPostgresStore({
    url: config.db,
    ...(config.dbPool === undefined ? {} : { poolSize: config.dbPool }),
  }).catch((error: unknown) => {
    throw error instanceof HubError && error.code === HubErrorCode.unavailable
      ? new HubError(HubErrorCode.config, `--db: cannot reach ${redactedUrl(config.db)}: ${error.message}`, {
          cause: error,
        })
      : error;
  });
  logger.info({ db: redactedUrl(config.db), poolSize: config.dbPool ?? 10 }, 'event log on Postgres');
  return store;
}

/** A URL without its password, for logs and messages. */
function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:…@');
}

/** Checks that `--static` is a folder with an index.html, and makes its handler. */
async function staticFiles(dir: string): Promise<StaticHandler> {
  try {
    await access(join(dir, 'index.html'));
  } catch (cause) {
    throw new HubError(
      HubErrorCode.config,
      `--static ${dir} has no index.html (for the demo, run \`pnpm build\` first)`,
      { cause },
    );
  }
  return createStaticHandler(dir);
}

/** The ops endpoints, then the files, then 404. */
function route(req: IncomingMessage, res: ServerResponse, hub: Hub | undefined, files: StaticHandler): void {
  if (hub?.handleOpsRequest(req, res) === true) return;
  files(req, res).then(
    (served) => {
      if (served || res.headersSent) return;
      res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end('{"error":"not found"}');
    },
    () => res.destroy(),
  );
}

async function listen(server: Server, hub: Hub, config: HubServerConfig): Promise<void> {
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(config.port, config.host, () => {
      server.off('error', fail);
      done();
    });
  }).catch(async (cause: unknown) => {
    await hub.close();
    throw new HubError(HubErrorCode.config, `cannot listen: ${String(cause)}`, { cause });
  });
}

/** Stops listening and ends the connections still open (the hub has said goodbye on its sockets). */
function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    server.close(() => done());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  });
}

/** The reactions' store: SQLite beside the log (or at `--reactions-db`); in memory for a `:memory:` log. */
function openReactionStore(
  config: HubServerConfig,
  { createMemoryReactionStore, createSqliteReactionStore }: ReactionKit,
): ReactionStore & { close?: () => void | Promise<void> } {
  if (config.reactionsDb === undefined && config.db === ':memory:') return createMemoryReactionStore();
  const path = config.reactionsDb ?? reactionsDbBeside(config.db);
  const store: SqliteReactionStore = createSqliteReactionStore({ path });
  return store;
}

/** What running reactions takes beyond the hub: imported only when there are some to run. */
type ReactionKit = typeof ReactionsModule &
  Pick<typeof CoreModule, 'createMemoryReactionStore' | 'integrationHandler'>;

async function loadReactionKit(): Promise<ReactionKit> {
  const [reactions, core] = await Promise.all([
    import('@eventloom/hub/reactions'),
    import('@eventloom/core'),
  ]);
  return {
    ...reactions,
    createMemoryReactionStore: core.createMemoryReactionStore,
    integrationHandler: core.integrationHandler,
  };
}

/** `data/events.db` → `data/events.reactions.db`. */
export function reactionsDbBeside(db: string): string {
  const ext = extname(db);
  const name = basename(db, ext);
  return join(dirname(db), `${name}.reactions${ext === '' ? '.db' : ext}`);
}

/** The admin endpoints' guard: the subjects and role of the config; none without either. */
function adminOptions(config: HubServerConfig, auth: Authenticator): ReactionAdminOptions | undefined {
  const { adminSubs = [], adminRole } = config;
  if (adminSubs.length === 0 && adminRole === undefined) return undefined;
  const subs = new Set(adminSubs);
  return {
    auth,
    authorizeAdmin: (principal, claims) => {
      if (subs.has(principal.sub)) return true;
      if (adminRole === undefined) return false;
      const roles = claims['roles'];
      return (Array.isArray(roles) && roles.includes(adminRole)) || claims['role'] === adminRole;
    },
  };
}
