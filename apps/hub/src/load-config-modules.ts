import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Handler, Saga } from '@eventloom/core';
import {
  HubError,
  HubErrorCode,
  insecureDevAuthenticator,
  jwtAuthenticator,
  openStreamsExceptCommands,
  parseStreamRules,
  streamRules,
  toHubError,
  type Authenticator,
  type Authorize,
  type HubRegistry,
  type StreamRule,
} from '@eventloom/hub';
import type { Logger } from 'pino';
import type { HubServerConfig } from './hub-server-config.ts';

/*
 * What `eventloom-hub` loads from what its command line names: the keys of the authenticator, the
 * stream rules and the authorize hook, the schemas module, the reactions module. Each failure is
 * a HubError (`config`) that names the flag and the way out.
 */

/** The authenticator of the config: insecure dev mode, a JWT secret, a public key file, or a JWKS file. */
export async function loadAuthenticator(config: HubServerConfig): Promise<Authenticator> {
  if (config.insecureDev) return insecureDevAuthenticator();
  const claims = {
    ...(config.jwtIssuer === undefined ? {} : { issuer: config.jwtIssuer }),
    ...(config.jwtAudience === undefined ? {} : { audience: config.jwtAudience }),
  };
  const age =
    config.maxTokenAgeSeconds === undefined ? {} : { maxTokenAgeSeconds: config.maxTokenAgeSeconds };
  Object.assign(claims, age);
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
      throw new HubError(HubErrorCode.config, `--jwks ${config.jwks} is not JSON`, { cause });
    }
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
      throw new HubError(HubErrorCode.config, `--jwks ${config.jwks} has no "keys" array`);
    }
    return jwtAuthenticator({ jwks: jwks as { keys: [] }, ...claims });
  }
  throw new HubError(HubErrorCode.config, 'no authentication configured');
}

/**
 * Who may do what to which streams: the `--rules` file, then the `--authorize` module for what no
 * rule grants. Without either, every client may read and write every stream (but not push
 * `command` or `integration` events): said loudly at start.
 */
export async function loadAuthorize(config: HubServerConfig, logger: Logger): Promise<Authorize> {
  let rules: StreamRule[] | undefined;
  if (config.rules !== undefined) {
    const text = await readConfigFile(config.rules, '--rules');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new HubError(HubErrorCode.config, `--rules ${config.rules} is not JSON`, { cause });
    }
    try {
      rules = parseStreamRules(json);
    } catch (cause) {
      throw new HubError(HubErrorCode.config, `--rules ${config.rules}: ${toHubError(cause).message}`, {
        cause,
      });
    }
  }
  const hook = config.authorize === undefined ? undefined : await loadAuthorizeHook(config.authorize);
  if (rules === undefined && hook === undefined) {
    logger.warn(
      '!!! NO STREAM RULES: every authenticated client may read and write every stream (only command ' +
        'and integration events are refused). Give --rules (and/or --authorize) before real users connect. !!!',
    );
    return openStreamsExceptCommands;
  }
  return streamRules(rules ?? [], hook);
}

/** Imports the `--authorize` module and takes its `authorize` export, or its default export. */
async function loadAuthorizeHook(path: string): Promise<Authorize> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (cause) {
    throw new HubError(HubErrorCode.config, `--authorize: cannot import ${path}: ${String(cause)}`, {
      cause,
    });
  }
  const hook = module['authorize'] ?? module['default'];
  if (typeof hook !== 'function') {
    throw new HubError(
      HubErrorCode.config,
      `--authorize: ${path} must export a function authorize(principal, action, stream, context) as \`authorize\` or default`,
    );
  }
  return hook as Authorize;
}

async function readConfigFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new HubError(HubErrorCode.config, `${flag}: cannot read ${path}`, { cause });
  }
}

/**
 * Imports a module the user named on the command line. A `.ts` module needs a Node that strips
 * types (22.18 and later, or 22.6 with `--experimental-strip-types`) or a loader such as tsx
 * (`NODE_OPTIONS=--import=tsx`); on a Node that has neither, the error says so.
 */
async function importUserModule(path: string, flag: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (cause) {
    const code = (cause as { code?: unknown } | null)?.code;
    const hint =
      code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?ts$/.test(path)
        ? ` (Node ${process.versions.node} cannot import TypeScript by itself: use Node 22.18 or later, ` +
          'or install tsx and run with NODE_OPTIONS=--import=tsx, or compile the module to JavaScript)'
        : '';
    throw new HubError(HubErrorCode.config, `${flag}: cannot import ${path}: ${String(cause)}${hint}`, {
      cause,
    });
  }
}

/** Imports the `--schemas` module and takes its `registry` export, or its default export. */
export async function loadRegistry(path: string): Promise<HubRegistry> {
  const module = await importUserModule(path, '--schemas');
  const registry = module['registry'] ?? module['default'];
  if (typeof (registry as { validate?: unknown } | undefined)?.validate !== 'function') {
    throw new HubError(
      HubErrorCode.config,
      `--schemas: ${path} must export an event registry as \`registry\` or default (createRegistry([...]) of @eventloom/core)`,
    );
  }
  return registry as HubRegistry;
}

/** What a `--reactions` module gives the hub to run. */
export interface ReactionModule {
  readonly handlers: readonly Handler[];
  readonly sagas: readonly Saga[];
  readonly replayHandlers: readonly Handler[];
}

/**
 * Imports the `--reactions` module: its `handlers`, `sagas` and `replayHandlers` exports (lists of
 * what `defineHandler` and `defineSaga` return), or a default export holding them.
 */
export async function loadReactions(path: string): Promise<ReactionModule> {
  const module = await importUserModule(path, '--reactions');
  const fallback = (module['default'] ?? {}) as Record<string, unknown>;
  const list = <T>(key: string, check: (item: unknown) => boolean, what: string): readonly T[] => {
    const value = module[key] ?? fallback[key] ?? [];
    if (!Array.isArray(value) || !value.every(check)) {
      throw new HubError(
        HubErrorCode.config,
        `--reactions: ${path} must export \`${key}\` as a list of what ${what} returns`,
      );
    }
    return value as T[];
  };
  const isHandler = (h: unknown) =>
    typeof (h as Handler | undefined)?.name === 'string' && typeof (h as Handler).handle === 'function';
  const isSaga = (s: unknown) =>
    typeof (s as Saga | undefined)?.name === 'string' && (s as Saga).on instanceof Map;
  const reactions = {
    handlers: list<Handler>('handlers', isHandler, 'defineHandler'),
    sagas: list<Saga>('sagas', isSaga, 'defineSaga'),
    replayHandlers: list<Handler>('replayHandlers', isHandler, 'defineHandler'),
  };
  if (reactions.handlers.length + reactions.sagas.length === 0) {
    throw new HubError(HubErrorCode.config, `--reactions: ${path} exports no handlers and no sagas`);
  }
  return reactions;
}
