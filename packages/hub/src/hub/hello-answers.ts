import { ErrorCode, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, type Hello } from '@eventloom/protocol';
import type { Logger } from 'pino';

/** The welcome to `hello`: this hub's protocols and log, its head, and the client's last decided seq. */
export function welcomeOf(
  hello: Hello,
  hubId: string,
  head: number,
  lastClientSeq: number,
  fingerprint: string | undefined,
): Record<string, unknown> {
  return {
    protocol: PROTOCOL_VERSION,
    minProtocol: MIN_PROTOCOL_VERSION,
    hubId,
    head,
    lastClientSeq,
    ...(hello.protocol >= 2 ? { schemaFingerprint: fingerprint ?? null } : {}),
  };
}

/** Why this hub does not serve a client that speaks `protocol`; undefined when it does. */
export function protocolRefusal(
  protocol: number,
): { readonly code: ErrorCode; readonly message: string } | undefined {
  if (protocol < MIN_PROTOCOL_VERSION) {
    const message = `protocol ${protocol} is older than ${MIN_PROTOCOL_VERSION}, the oldest this hub serves`;
    return { code: ErrorCode.protocolTooOld, message };
  }
  if (protocol > PROTOCOL_VERSION) {
    const message = `protocol ${protocol} is newer than ${PROTOCOL_VERSION}, the newest this hub knows`;
    return { code: ErrorCode.protocolTooNew, message };
  }
  return undefined;
}

/** Warns when a client's schema fingerprint differs from the hub's (`fingerprint`, when it has one). */
export function warnOtherSchema(logger: Logger, hello: Hello, fingerprint: string | undefined): void {
  if (fingerprint === undefined || hello.schemaFingerprint === fingerprint) return;
  logger.warn(
    { clientId: hello.clientId, client: hello.schemaFingerprint, hub: fingerprint },
    "client schema fingerprint differs from the hub's: its events of unknown types or versions wait on the device, those of another shape are refused",
  );
}
