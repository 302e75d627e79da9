import type { ProtocolIssue } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from '../client-error.ts';

/** A protocol issue the hub answered `what` with, as a client error. */
export function issueError(issue: ProtocolIssue, what: string): ClientError {
  return new ClientError(clientCode(issue.code), `${what}: ${issue.message}`);
}

/** A `connect_error` (with the hub's code when it refused the handshake), as a client error. */
export function connectError(error: unknown): ClientError {
  const data = (error as { data?: { code?: unknown } } | undefined)?.data;
  const code = typeof data?.code === 'string' ? clientCode(data.code) : ClientErrorCode.connectionFailed;
  const message = error instanceof Error ? error.message : String(error);
  return new ClientError(code, `cannot connect: ${message}`, { cause: error });
}

const CLIENT_CODES = new Set<string>(Object.values(ClientErrorCode));

/** The hub's code as a client code (they share the protocol's), `internal` if unknown. */
export function clientCode(code: string): ClientErrorCode {
  return CLIENT_CODES.has(code) ? (code as ClientErrorCode) : ClientErrorCode.internal;
}
