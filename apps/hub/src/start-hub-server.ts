import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  HubFailure,
  HubFailureCode,
  createHub,
  createSqliteStore,
  insecureDevAuthenticator,
  jwtAuthenticator,
  type Authenticator,
  type EventStore,
  type Hub,
  type HubLimits,
  type HubRegistry,
} from '@eventloom/hub';
import { pino, type Logger } from 'pino';
import type { HubServerConfig } from './hub-server-config.ts';

/** A running hub server: the hub over its SQLite store. */
export interface HubServer {
  readonly hub: Hub;
  readonly store: EventStore;
  /** `http://host:port` it listens on. */
  readonly url: string;
  readonly logger: Logger;
  /** Graceful shutdown: stop accepting, finish in-flight commits, close the hub, then the database. */
  close(): Promise<void>;
}

/**
 * Starts the hub the `eventloom-hub` command runs: opens (or creates) the SQLite log, loads the
 * keys and the schemas, and listens. Throws a {@link HubFailure} (`config` or `store`) with a
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
  const registry = config.schemas === undefined ? undefined : await loadRegistry(config.schemas);
  if (config.db !== ':memory:') await mkdir(dirname(resolve(config.db)), { recursive: true });
  const store = await createSqliteStore({ path: config.db });
  let hub: Hub;
  try {
    hub = await createHub({
      store,
      auth,
      logger,
      port: config.port,
      host: config.host,
      ...(registry === undefined ? {} : { registry }),
      ...(config.corsOrigins.length === 0 ? {} : { allowedOrigins: config.corsOrigins }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  logger.info({ url: hub.url, db: config.db, schemas: config.schemas ?? null }, 'eventloom-hub listening');
  let closing: Promise<void> | undefined;
  return {
    hub,
    store,
    url: hub.url,
    logger,
    close() {
      closing ??= (async () => {
        await hub.close();
        await store.close();
        logger.info('eventloom-hub stopped');
      })();
      return closing;
    },
  };
}

async function loadAuthenticator(config: HubServerConfig): Promise<Authenticator> {
  if (config.insecureDev) return insecureDevAuthenticator();
  const claims = {
    ...(config.jwtIssuer === undefined ? {} : { issuer: config.jwtIssuer }),
    ...(config.jwtAudience === undefined ? {} : { audience: config.jwtAudience }),
  };
  if (config.jwtSecret !== undefined) return jwtAuthenticator({ secret: config.jwtSecret, ...claims });
  if (config.jwtPublicKey !== undefined) {
    return jwtAuthenticator({
      publicKey: await readConfigFile(config.jwtPublicKey, '--jwt-public-key'),
      ...claims,
    });
  }
  if (config.jwks !== undefined) {
    const text = await readConfigFile(config.jwks, '--jwks');
    let jwks: unknown;
    try {
      jwks = JSON.parse(text);
    } catch (cause) {
      throw new HubFailure(HubFailureCode.config, `--jwks ${config.jwks} is not JSON`, { cause });
    }
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
      throw new HubFailure(HubFailureCode.config, `--jwks ${config.jwks} has no "keys" array`);
    }
    return jwtAuthenticator({ jwks: jwks as { keys: [] }, ...claims });
  }
  throw new HubFailure(HubFailureCode.config, 'no authentication configured');
}

async function readConfigFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new HubFailure(HubFailureCode.config, `${flag}: cannot read ${path}`, { cause });
  }
}

/** Imports the `--schemas` module and takes its `registry` export, or its default export. */
async function loadRegistry(path: string): Promise<HubRegistry> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (cause) {
    throw new HubFailure(HubFailureCode.config, `--schemas: cannot import ${path}: ${String(cause)}`, {
      cause,
    });
  }
  const registry = module['registry'] ?? module['default'];
  if (typeof (registry as { validate?: unknown } | undefined)?.validate !== 'function') {
    throw new HubFailure(
      HubFailureCode.config,
      `--schemas: ${path} must export an event registry as \`registry\` or default (createRegistry([...]) of @eventloom/core)`,
    );
  }
  return registry as HubRegistry;
}
