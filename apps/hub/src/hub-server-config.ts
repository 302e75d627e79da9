import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Everything the `eventloom-hub` command can be told, by flag or environment variable. */
export interface HubServerConfig {
  readonly port: number;
  readonly host: string;
  /**
   * The event log: a SQLite file (its folder is created when missing), or a `postgres://` URL
   * (the Postgres store, for a hub of several nodes).
   */
  readonly db: string;
  /** Connections in the Postgres pool (with a `postgres://` db). */
  readonly dbPool?: number;
  /** `redis://…`: the bus that carries notifications between the nodes of a cluster. */
  readonly redis?: string;
  readonly jwtSecret?: string;
  /** Path of a PEM public key file. */
  readonly jwtPublicKey?: string;
  /** Path of a JWKS (JSON) file. */
  readonly jwks?: string;
  readonly jwtIssuer?: string;
  readonly jwtAudience?: string;
  /** A module exporting an event registry (`export const registry = createRegistry([...])` or default). */
  readonly schemas?: string;
  /** Browser origins allowed to connect; empty: the hub's own origin only (any with --insecure-dev). */
  readonly corsOrigins: readonly string[];
  /** A JSON file of stream rules (who may push, pull, subscribe, notify which streams, by kind). */
  readonly rules?: string;
  /** A module exporting `authorize(principal, action, stream, context)`, asked when no rule grants. */
  readonly authorize?: string;
  /** The longest a client token may be valid, in seconds (default a day). */
  readonly maxTokenAgeSeconds?: number;
  /** A bearer token `/metrics` requires (open without one). */
  readonly metricsToken?: string;
  readonly insecureDev: boolean;
  readonly logLevel: string;
  /** A folder of files (a built web app) to serve from the hub's own HTTP server. */
  readonly static?: string;
  /** A module exporting the hub's handlers and sagas (`handlers`, `sagas`, `replayHandlers`, or a default object of them). */
  readonly reactions?: string;
  /** The SQLite file of the reactions' state; default beside `db` (`events.db` → `events.reactions.db`). */
  readonly reactionsDb?: string;
  /** Token subjects (`sub`) allowed on the admin endpoints (`/admin/events`; dead letters with `reactions`). */
  readonly adminSubs?: readonly string[];
  /** A role allowed on the admin endpoints: the token's `roles` claim lists it, or its `role` claim is it. */
  readonly adminRole?: string;
  /** NATS servers (comma-separated URLs): integration events are relayed to JetStream. */
  readonly nats?: string;
  /** The JetStream stream integration events go to (default `EVENTLOOM`). */
  readonly natsStream?: string;
  /** Integration events go to `<prefix>.<type>` (default `eventloom`). */
  readonly natsSubjectPrefix?: string;
  /** Subjects whose messages (CloudEvents) become events of the log. */
  readonly natsInbound?: readonly string[];
  /** The stream of the inbound subjects (default `EVENTLOOM_INBOUND`). */
  readonly natsInboundStream?: string;
}

/** The outcome of reading the command line: a config, a request for help, or what is wrong. */
export type ParsedHubServerConfig =
  | { readonly ok: true; readonly help: true }
  | { readonly ok: true; readonly help: false; readonly config: HubServerConfig }
  | { readonly ok: false; readonly error: string };

/** Each option: its flag, its environment variable, and what it means (for `--help`). */
const OPTIONS = {
  port: {
    env: 'EVENTLOOM_PORT',
    type: 'string',
    help: 'port to listen on (default 8080; 0 picks a free one)',
  },
  host: {
    env: 'EVENTLOOM_HOST',
    type: 'string',
    help: 'address to listen on (default 0.0.0.0; 127.0.0.1 with --insecure-dev)',
  },
  db: {
    env: 'EVENTLOOM_DB',
    type: 'string',
    help: 'event log: a SQLite file (default ./data/events.db) or a postgres:// URL',
  },
  'db-pool': {
    env: 'EVENTLOOM_DB_POOL',
    type: 'string',
    help: 'connections in the Postgres pool (default 10; postgres:// db only)',
  },
  redis: {
    env: 'EVENTLOOM_REDIS',
    type: 'string',
    help: 'redis:// URL: carries notify between the nodes of a cluster',
  },
  'jwt-secret': {
    env: 'EVENTLOOM_JWT_SECRET',
    type: 'string',
    help: 'HS256 secret that signs client tokens (at least 32 bytes)',
  },
  'jwt-public-key': {
    env: 'EVENTLOOM_JWT_PUBLIC_KEY',
    type: 'string',
    help: 'PEM file of the public key that verifies client tokens',
  },
  jwks: { env: 'EVENTLOOM_JWKS', type: 'string', help: 'JWKS file of the keys that verify client tokens' },
  'jwt-issuer': { env: 'EVENTLOOM_JWT_ISSUER', type: 'string', help: 'required `iss` of client tokens' },
  'jwt-audience': { env: 'EVENTLOOM_JWT_AUDIENCE', type: 'string', help: 'required `aud` of client tokens' },
  schemas: {
    env: 'EVENTLOOM_SCHEMAS',
    type: 'string',
    help: 'module exporting the event registry; without it only envelopes are checked',
  },
  'cors-origin': {
    env: 'EVENTLOOM_CORS_ORIGIN',
    type: 'string',
    help: 'browser origin allowed to connect (repeat, or comma-separate; default the hub’s own; any with --insecure-dev)',
  },
  rules: {
    env: 'EVENTLOOM_RULES',
    type: 'string',
    help: 'JSON file of stream rules: claims → streams, per action and kind (see the README)',
  },
  authorize: {
    env: 'EVENTLOOM_AUTHORIZE',
    type: 'string',
    help: 'module exporting authorize(principal, action, stream, context), asked when no rule grants',
  },
  'max-token-age': {
    env: 'EVENTLOOM_MAX_TOKEN_AGE',
    type: 'string',
    help: 'longest a client token may be valid, in seconds (default 86400)',
  },
  'metrics-token': {
    env: 'EVENTLOOM_METRICS_TOKEN',
    type: 'string',
    help: 'bearer token /metrics requires (default: open, see the README for what it tells)',
  },
  'insecure-dev': {
    env: 'EVENTLOOM_INSECURE_DEV',
    type: 'boolean',
    help: 'NO AUTHENTICATION: every client is "dev". For the local demo only',
  },
  'log-level': { env: 'EVENTLOOM_LOG_LEVEL', type: 'string', help: 'pino log level (default info)' },
  static: {
    env: 'EVENTLOOM_STATIC',
    type: 'string',
    help: 'folder of a built web app to serve on the same port (e.g. apps/demo/dist)',
  },
  reactions: {
    env: 'EVENTLOOM_REACTIONS',
    type: 'string',
    help: 'module exporting the handlers and sagas the hub runs (handlers, sagas)',
  },
  'reactions-db': {
    env: 'EVENTLOOM_REACTIONS_DB',
    type: 'string',
    help: 'SQLite file of the reactions (default beside --db: events.reactions.db)',
  },
  'admin-sub': {
    env: 'EVENTLOOM_ADMIN_SUB',
    type: 'string',
    help: 'token sub allowed on the /admin endpoints (repeat, or comma-separate)',
  },
  'admin-role': {
    env: 'EVENTLOOM_ADMIN_ROLE',
    type: 'string',
    help: 'role allowed on the /admin endpoints (token claim roles[] or role)',
  },
  nats: {
    env: 'EVENTLOOM_NATS',
    type: 'string',
    help: 'NATS servers (nats://127.0.0.1:4222, comma-separate several): relay integration events to JetStream',
  },
  'nats-stream': {
    env: 'EVENTLOOM_NATS_STREAM',
    type: 'string',
    help: 'JetStream stream of the relayed events, created when missing (default EVENTLOOM)',
  },
  'nats-subject-prefix': {
    env: 'EVENTLOOM_NATS_SUBJECT_PREFIX',
    type: 'string',
    help: 'events go to <prefix>.<type> (default eventloom)',
  },
  'nats-inbound': {
    env: 'EVENTLOOM_NATS_INBOUND',
    type: 'string',
    help: 'subjects whose CloudEvents become events of the log (repeat, or comma-separate)',
  },
  'nats-inbound-stream': {
    env: 'EVENTLOOM_NATS_INBOUND_STREAM',
    type: 'string',
    help: 'JetStream stream of --nats-inbound, created when missing (default EVENTLOOM_INBOUND)',
  },
  help: { env: undefined, type: 'boolean', help: 'show this help' },
} as const;

/** The text of `eventloom-hub --help`. */
export const HUB_SERVER_HELP = [
  'eventloom-hub: the Eventloom sync hub (Socket.IO + SQLite, or Postgres and Redis for several nodes).',
  '',
  'Usage: eventloom-hub [options]',
  '',
  'Options (each also an environment variable; a flag wins over the variable):',
  ...Object.entries(OPTIONS).map(
    ([flag, o]) => `  --${flag.padEnd(20)} ${(o.env ?? '').padEnd(30)} ${o.help}`,
  ),
  '',
  'Authentication: exactly one of --jwt-secret, --jwt-public-key or --jwks, or --insecure-dev.',
  'Endpoints: /socket.io (the sync protocol), /healthz, /readyz, /metrics (Prometheus);',
  'with --admin-sub or --admin-role, /admin/events (bearer token), and with --reactions too,',
  '/admin/dead-letters;',
  'Commands: eventloom-hub export | import (copy the log as NDJSON; eventloom-hub export --help).',
  'with --static, every other GET serves a file of that folder.',
  'With --nats, integration events go to JetStream (<prefix>.<type>, Nats-Msg-Id = event id).',
].join('\n');

/**
 * Reads the command line and the environment into a {@link HubServerConfig}, or says what is
 * wrong in a sentence a person can act on. Never throws.
 *
 * @example
 * const parsed = parseHubServerConfig(process.argv.slice(2), process.env);
 * if (parsed.ok && !parsed.help) await startHubServer(parsed.config);
 */
export function parseHubServerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedHubServerConfig {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    const options: ParseArgsConfig['options'] = Object.fromEntries(
      Object.entries(OPTIONS).map(([flag, o]) => [
        flag,
        { type: o.type, multiple: flag === 'cors-origin' || flag === 'admin-sub' || flag === 'nats-inbound' },
      ]),
    );
    ({ values } = parseArgs({ args: [...argv], options, allowPositionals: false, strict: true }));
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  if (values['help'] === true) return { ok: true, help: true };

  const text = (flag: keyof typeof OPTIONS): string | undefined => {
    const value = values[flag];
    if (typeof value === 'string') return value;
    const fromEnv = OPTIONS[flag].env === undefined ? undefined : env[OPTIONS[flag].env];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
  const insecureFromEnv = env['EVENTLOOM_INSECURE_DEV'];
  if (insecureFromEnv !== undefined && !['', '0', '1', 'true', 'false'].includes(insecureFromEnv)) {
    return {
      ok: false,
      error: `EVENTLOOM_INSECURE_DEV must be 1, 0, true or false, not ${JSON.stringify(insecureFromEnv)}`,
    };
  }
  const insecureDev =
    values['insecure-dev'] === true || insecureFromEnv === '1' || insecureFromEnv === 'true';

  const portText = text('port') ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) {
    return {
      ok: false,
      error: `--port must be a whole number from 0 to 65535, not ${JSON.stringify(portText)}`,
    };
  }

  const jwtSecret = text('jwt-secret');
  const jwtPublicKey = text('jwt-public-key');
  const jwks = text('jwks');
  const keySources = [jwtSecret, jwtPublicKey, jwks].filter((v) => v !== undefined).length;
  if (insecureDev && keySources > 0) {
    return {
      ok: false,
      error:
        '--insecure-dev turns authentication off: do not combine it with --jwt-secret, --jwt-public-key or --jwks',
    };
  }
  if (!insecureDev && keySources === 0) {
    return {
      ok: false,
      error:
        'no authentication configured: give --jwt-secret, --jwt-public-key or --jwks (or --insecure-dev for the local demo)',
    };
  }
  if (keySources > 1)
    return { ok: false, error: 'give only one of --jwt-secret, --jwt-public-key and --jwks' };
  if (jwtSecret !== undefined && new TextEncoder().encode(jwtSecret).byteLength < 32) {
    return { ok: false, error: '--jwt-secret must be at least 32 bytes long' };
  }

  const flagOrigins = values['cors-origin'];
  const originList =
    Array.isArray(flagOrigins) && flagOrigins.length > 0
      ? flagOrigins.map(String)
      : [text('cors-origin') ?? ''];
  const corsOrigins = originList
    .flatMap((o) => o.split(','))
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of corsOrigins) {
    if (origin !== '*' && origin !== 'self' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      return {
        ok: false,
        error: `--cors-origin must be an origin like https://app.example (no path), or *, not ${JSON.stringify(origin)}`,
      };
    }
  }

  const flagAdmins = values['admin-sub'];
  const adminSubs = (
    Array.isArray(flagAdmins) && flagAdmins.length > 0 ? flagAdmins.map(String) : [text('admin-sub') ?? '']
  )
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const adminRole = text('admin-role')?.trim();
  if (adminRole === '') return { ok: false, error: '--admin-role must not be empty' };
  const reactions = text('reactions');
  if (text('reactions-db') !== undefined && reactions === undefined) {
    return { ok: false, error: '--reactions-db is the state of --reactions: give --reactions too' };
  }

  const nats = text('nats');
  const flagInbound = values['nats-inbound'];
  const natsInbound = (
    Array.isArray(flagInbound) && flagInbound.length > 0
      ? flagInbound.map(String)
      : [text('nats-inbound') ?? '']
  )
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const flag of ['nats-stream', 'nats-subject-prefix', 'nats-inbound-stream'] as const) {
    if (text(flag) !== undefined && nats === undefined) {
      return { ok: false, error: `--${flag} configures the NATS relay: give --nats too` };
    }
  }
  if (natsInbound.length > 0 && nats === undefined) {
    return { ok: false, error: '--nats-inbound reads from NATS: give --nats too' };
  }
  if (nats !== undefined) {
    for (const server of nats.split(',').map((s) => s.trim())) {
      if (!/^(nats|tls|ws|wss):\/\/[^\s/]+\/?$/.test(server) && !/^[^\s/:]+:\d+$/.test(server)) {
        return {
          ok: false,
          error: `--nats must be server URLs like nats://127.0.0.1:4222 (comma-separated), not ${JSON.stringify(server)}`,
        };
      }
    }
  }
  for (const flag of ['nats-stream', 'nats-inbound-stream'] as const) {
    const value = text(flag);
    if (value !== undefined && !/^[A-Za-z0-9_-]+$/.test(value)) {
      return { ok: false, error: `--${flag} must be letters, digits, _ and -, not ${JSON.stringify(value)}` };
    }
  }
  const natsSubjectPrefix = text('nats-subject-prefix');
  if (natsSubjectPrefix !== undefined && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(natsSubjectPrefix)) {
    return {
      ok: false,
      error: `--nats-subject-prefix must be subject tokens joined by dots (eventloom), not ${JSON.stringify(natsSubjectPrefix)}`,
    };
  }
  for (const subject of natsInbound) {
    if (!/^[^\s.]+(\.[^\s.]+)*$/.test(subject)) {
      return {
        ok: false,
        error: `--nats-inbound must be NATS subjects (billing.>), not ${JSON.stringify(subject)}`,
      };
    }
  }

  const db = text('db') ?? './data/events.db';
  const onPostgres = isPostgresUrl(db);
  const poolText = text('db-pool');
  if (poolText !== undefined && !onPostgres) {
    return { ok: false, error: '--db-pool sizes the Postgres pool: give a postgres:// --db too' };
  }
  const dbPool = poolText === undefined ? undefined : Number(poolText);
  if (dbPool !== undefined && (!/^\d+$/.test(poolText!) || dbPool < 1 || dbPool > 1000)) {
    return {
      ok: false,
      error: `--db-pool must be a whole number from 1 to 1000, not ${JSON.stringify(poolText)}`,
    };
  }
  const redis = text('redis');
  if (redis !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redis)) {
    return { ok: false, error: `--redis must be a redis:// or rediss:// URL, not ${JSON.stringify(redis)}` };
  }
  if (redis !== undefined && !onPostgres) {
    return {
      ok: false,
      error: '--redis joins the nodes of a cluster, which share a Postgres log: give a postgres:// --db too',
    };
  }

  const maxAgeText = text('max-token-age');
  const maxTokenAgeSeconds = maxAgeText === undefined ? undefined : Number(maxAgeText);
  if (maxAgeText !== undefined && (!/^\d+$/.test(maxAgeText) || maxTokenAgeSeconds! < 1)) {
    return {
      ok: false,
      error: `--max-token-age must be a whole number of seconds ≥ 1, not ${JSON.stringify(maxAgeText)}`,
    };
  }
  const metricsToken = text('metrics-token');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    return { ok: false, error: '--metrics-token must be at least 16 characters long' };
  }

  const logLevel = text('log-level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    return {
      ok: false,
      error: `--log-level must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(logLevel)}`,
    };
  }

  const config: HubServerConfig = {
    port,
    host: text('host') ?? (insecureDev ? '127.0.0.1' : '0.0.0.0'),
    db,
    ...(dbPool === undefined ? {} : { dbPool }),
    ...optional('redis', redis),
    ...(jwtSecret === undefined ? {} : { jwtSecret }),
    ...(jwtPublicKey === undefined ? {} : { jwtPublicKey }),
    ...(jwks === undefined ? {} : { jwks }),
    ...optional('jwtIssuer', text('jwt-issuer')),
    ...optional('jwtAudience', text('jwt-audience')),
    ...optional('schemas', text('schemas')),
    corsOrigins,
    ...optional('rules', text('rules')),
    ...optional('authorize', text('authorize')),
    ...(maxTokenAgeSeconds === undefined ? {} : { maxTokenAgeSeconds }),
    ...optional('metricsToken', metricsToken),
    insecureDev,
    logLevel,
    ...optional('static', text('static')),
    ...optional('reactions', reactions),
    ...optional('reactionsDb', text('reactions-db')),
    ...(adminSubs.length === 0 ? {} : { adminSubs }),
    ...optional('adminRole', adminRole),
    ...optional('nats', nats),
    ...optional('natsStream', text('nats-stream')),
    ...optional('natsSubjectPrefix', natsSubjectPrefix),
    ...(natsInbound.length === 0 ? {} : { natsInbound }),
    ...optional('natsInboundStream', text('nats-inbound-stream')),
  };
  return { ok: true, help: false, config };
}

/** Whether `--db` names a Postgres database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

/** pino's levels, and `silent`. */
const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
