/**
 * What the hub's admin endpoints share (`/admin/events` here, the dead letters' in
 * `reaction-admin-handler.ts`): the bearer-token check, the error codes and JSON answers. Apart
 * from the reactions, so that a hub without reactions never loads them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '@eventloom/protocol';
import type { Logger } from 'pino';
import type { Authenticator } from './authenticator.ts';

/**
 * Decides whether an authenticated principal may use the admin endpoints, from its principal and
 * its token's claims (`{}` when the authenticator gives none). A throw counts as a denial.
 *
 * @example const authorizeAdmin: AuthorizeAdmin = (p, claims) => Array.isArray(claims.roles) && claims.roles.includes('admin');
 */
export type AuthorizeAdmin = (
  principal: Principal,
  claims: Readonly<Record<string, unknown>>,
) => boolean | Promise<boolean>;

/** How the admin endpoints authenticate and authorize. */
export interface ReactionAdminOptions {
  /** Verifies the `Authorization: Bearer <token>` of each request: the hub's own (`jwtAuthenticator`) fits. */
  readonly auth: Authenticator;
  readonly authorizeAdmin: AuthorizeAdmin;
  /** Where the endpoints live; default `/admin`. */
  readonly basePath?: string;
}

/** The codes of the admin endpoints' errors, as data: `{ "error": { "code", "message" } }`. */
export const AdminErrorCode = {
  unauthenticated: 'unauthenticated',
  forbidden: 'forbidden',
  notFound: 'not-found',
  methodNotAllowed: 'method-not-allowed',
  invalid: 'invalid',
  unknownHandler: 'unknown-handler',
  busy: 'busy',
  internal: 'internal',
} as const;

/** One of the values of {@link AdminErrorCode}. */
export type AdminErrorCode = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];

const STATUS: Record<AdminErrorCode, number> = {
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  invalid: 400,
  'unknown-handler': 409,
  busy: 409,
  internal: 500,
};

/** An answer to send as an error: thrown inside a request, caught by its handler (never leaves the admin endpoints). */
export type AdminError = Error & { readonly adminCode: AdminErrorCode };

export function adminError(code: AdminErrorCode, message: string): AdminError {
  return Object.assign(new Error(message), { adminCode: code });
}

export function isAdminError(error: unknown): error is AdminError {
  return error instanceof Error && typeof (error as Partial<AdminError>).adminCode === 'string';
}

export async function authenticate(
  options: ReactionAdminOptions,
  req: IncomingMessage,
  logger: Logger,
): Promise<void> {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) {
    throw adminError(AdminErrorCode.unauthenticated, 'send a token as Authorization: Bearer <token>');
  }
  let outcome;
  try {
    outcome = await options.auth.authenticate({ token: match[1], address: req.socket.remoteAddress ?? '' });
  } catch (error) {
    logger.error({ err: error }, 'admin: authenticator threw');
    throw adminError(AdminErrorCode.unauthenticated, 'authentication failed');
  }
  if (!outcome.ok) throw adminError(AdminErrorCode.unauthenticated, outcome.message);
  if (outcome.expiresAt !== undefined && outcome.expiresAt <= Date.now()) {
    throw adminError(AdminErrorCode.unauthenticated, 'token expired');
  }
  let admitted = false;
  try {
    admitted = await options.authorizeAdmin(outcome.principal, outcome.claims ?? {});
  } catch (error) {
    logger.warn({ err: error }, 'admin: authorizeAdmin threw; denied');
  }
  if (admitted !== true) {
    logger.warn({ sub: outcome.principal.sub, path: req.url }, 'admin: request of a non-admin refused');
    throw adminError(AdminErrorCode.forbidden, `${outcome.principal.sub} is not an admin`);
  }
}

export function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) {
    throw adminError(AdminErrorCode.methodNotAllowed, `use ${methods.join(' or ')} here, not ${method}`);
  }
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export function fail(res: ServerResponse, code: AdminErrorCode, message: string): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (code === AdminErrorCode.unauthenticated) headers['www-authenticate'] = 'Bearer';
  res.writeHead(STATUS[code], headers);
  res.end(JSON.stringify({ error: { code, message } }));
}
