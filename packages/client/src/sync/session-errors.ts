import { ErrorCode, type ProtocolIssue } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import type { SessionConfig } from './session-host.ts';

/** Hello refusals that no retry can fix: the app or the hub must change first. */
export const FATAL_HELLO: ReadonlySet<string> = new Set([
  ErrorCode.protocolTooOld,
  ErrorCode.protocolTooNew,
  ErrorCode.unauthorized,
  ErrorCode.invalid,
]);

/** The token to connect with: the fixed one, or the token function's answer. */
export async function resolveToken(token: SessionConfig['token']): Promise<string | undefined> {
  if (typeof token !== 'function') return token;
  try {
    return await token();
  } catch (cause) {
    throw new ClientError(ClientErrorCode.unauthenticated, 'the token function failed', { cause });
  }
}

/** A `connect_error` as a client error, with the hub's code where it sent one. */
export function connectError(error: unknown): ClientError {
  const data = (error as { data?: { code?: unknown } } | undefined)?.data;
  const code = typeof data?.code === 'string' ? clientCode(data.code) : ClientErrorCode.connectionFailed;
  const message = error instanceof Error ? error.message : String(error);
  return new ClientError(code, `cannot connect: ${message}`, { cause: error });
}

/** A protocol issue (the hub's refusal or an undecodable answer) to `what` as a client error. */
export function issueError(issue: ProtocolIssue, what: string): ClientError {
  return new ClientError(clientCode(issue.code), `${what}: ${issue.message}`);
}

const CLIENT_CODES = new Set<string>(Object.values(ClientErrorCode));

/** The hub's code as a client code (they share the protocol's), `internal` if unknown. */
export function clientCode(code: string): ClientErrorCode {
  return CLIENT_CODES.has(code) ? (code as ClientErrorCode) : ClientErrorCode.internal;
}

/** Whether subscription `c` covers every stream `s` covers. */
export function covers(c: string, s: string): boolean {
  if (c === s) return true;
  if (!c.endsWith('*')) return false;
  return s.startsWith(c.slice(0, -1));
}

/** Whether two subscription lists hold the same entries, in any order. */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((s) => set.has(s));
}

/** Whether `value` is a non-null object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
