import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CoreError,
  CoreErrorCode,
  type DeadLetterOutcome,
  type DeadLetterQueue,
  type Handler,
} from '@eventloom/core';
import type { Logger } from 'pino';
import {
  AdminErrorCode,
  adminError,
  allow,
  authenticate,
  fail,
  isAdminError,
  send,
  type AdminError,
  type ReactionAdminOptions,
} from '../hub/admin-http.ts';

export { AdminErrorCode, type AuthorizeAdmin, type ReactionAdminOptions } from '../hub/admin-http.ts';

const MAX_BODY_BYTES = 64 * 1024;

/** What the admin request handler works on. */
export interface AdminTarget {
  readonly deadLetters: DeadLetterQueue;
  /** Handlers a letter can be replayed into, by name. */
  readonly replayHandlers: ReadonlyMap<string, Handler>;
  readonly logger: Logger;
}

/**
 * Makes the HTTP handler of the dead-letter admin endpoints (see the hub README): list, show,
 * retry one, retry all, replay into a handler, discard. Every request needs a bearer token the
 * authenticator accepts (else 401) of a principal `authorizeAdmin` accepts (else 403). Returns
 * true for the requests it answers (those under its base path).
 *
 * @example hub.addRequestHandler(reactionAdminHandler({ auth, authorizeAdmin }, target));
 */
export function reactionAdminHandler(
  options: ReactionAdminOptions,
  target: AdminTarget,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const base = `${(options.basePath ?? '/admin').replace(/\/+$/, '')}/dead-letters`;
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path !== base && !path.startsWith(`${base}/`)) return false;
    handle(options, target, base, path, req, res).catch((error: unknown) => {
      target.logger.error({ err: error }, 'admin request failed');
      fail(res, AdminErrorCode.internal, 'the request failed inside the hub');
    });
    return true;
  };
}

async function handle(
  options: ReactionAdminOptions,
  target: AdminTarget,
  base: string,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    await authenticate(options, req, target.logger);
    const rest = path
      .slice(base.length)
      .split('/')
      .filter((s) => s !== '');
    const method = req.method ?? 'GET';
    const dlq = target.deadLetters;
    if (rest.length === 0) {
      allow(method, ['GET']);
      send(res, 200, { deadLetters: await dlq.list() });
      return;
    }
    if (rest.length === 1 && rest[0] === 'retry') {
      allow(method, ['POST']);
      send(res, 200, { outcomes: await dlq.retryAll() });
      return;
    }
    const id = decodeId(rest[0]!);
    if (rest.length === 1) {
      allow(method, ['GET', 'DELETE']);
      if (method === 'DELETE') {
        if (!(await dlq.discard(id))) throw notFound(id);
        send(res, 200, { discarded: id });
        return;
      }
      const letter = (await dlq.list()).find((l) => l.id === id);
      if (letter === undefined) throw notFound(id);
      send(res, 200, { deadLetter: letter });
      return;
    }
    if (rest.length === 2 && rest[1] === 'retry') {
      allow(method, ['POST']);
      sendOutcome(res, await dlq.retry(id));
      return;
    }
    if (rest.length === 2 && rest[1] === 'replay') {
      allow(method, ['POST']);
      const body = await readJson(req);
      const name = (body as { handler?: unknown } | undefined)?.handler;
      if (typeof name !== 'string' || name === '') {
        throw adminError(AdminErrorCode.invalid, 'the body must be JSON {"handler": "<handler name>"}');
      }
      const handler = target.replayHandlers.get(name);
      if (handler === undefined) {
        throw adminError(
          AdminErrorCode.invalid,
          `no handler ${JSON.stringify(name)} here to replay into (known: ${[...target.replayHandlers.keys()].join(', ') || 'none'})`,
        );
      }
      sendOutcome(res, await dlq.replay(id, handler));
      return;
    }
    throw adminError(AdminErrorCode.notFound, `no admin endpoint ${method} ${path}`);
  } catch (error) {
    if (isAdminError(error)) {
      fail(res, error.adminCode, error.message);
      return;
    }
    if (error instanceof CoreError && error.code === CoreErrorCode.unknownHandler) {
      fail(res, AdminErrorCode.unknownHandler, error.message);
      return;
    }
    throw error;
  }
}

function decodeId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw adminError(AdminErrorCode.invalid, 'the dead letter id is not valid percent-encoding');
  }
}

function notFound(id: string): AdminError {
  return adminError(AdminErrorCode.notFound, `no dead letter ${JSON.stringify(id)}`);
}

/** A retry's or replay's outcome: 200 when it ran (applied, duplicate or failed again), else the error. */
function sendOutcome(res: ServerResponse, outcome: DeadLetterOutcome): void {
  if (outcome.status === 'missing') throw notFound(outcome.id);
  if (outcome.status === 'busy') {
    throw adminError(
      AdminErrorCode.busy,
      `dead letter ${JSON.stringify(outcome.id)} is being retried right now`,
    );
  }
  send(res, 200, { outcome });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size > MAX_BODY_BYTES)
      throw adminError(AdminErrorCode.invalid, `the body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw adminError(AdminErrorCode.invalid, 'the body is not JSON');
  }
}
