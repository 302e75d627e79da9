import { decodeWelcome, PROTOCOL_VERSION, type Welcome } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import type { SyncRecord } from '../sync-port.ts';
import { FATAL_HELLO, issueError } from './session-errors.ts';
import type { SessionConfig } from './session-host.ts';

/** The hub's answer to `hello`: its welcome, or why the session ends (and whether retrying is pointless). */
export type WelcomeCheck =
  | { readonly ok: true; readonly welcome: Welcome }
  | { readonly ok: false; readonly error: ClientError; readonly fatal: boolean };

/**
 * Decodes and checks the hub's answer to `hello`: a refusal, a protocol this client is too old
 * for, or another hub log than the one this device synced with end the session. Tells the
 * developer's warnings of the hub's registry once the protocol is known to fit.
 */
export function checkWelcome(answer: unknown, record: SyncRecord, config: SessionConfig): WelcomeCheck {
  const welcome = decodeWelcome(answer);
  if (!welcome.ok) {
    const error = issueError(welcome.error, 'hello');
    return { ok: false, error, fatal: FATAL_HELLO.has(welcome.error.code) };
  }
  if (welcome.value.minProtocol > PROTOCOL_VERSION) {
    const message = `the hub serves protocol ${welcome.value.minProtocol} and up; this client speaks ${PROTOCOL_VERSION}`;
    return { ok: false, error: new ClientError(ClientErrorCode.protocolTooOld, message), fatal: true };
  }
  config.warnings.welcomed(config.url, config.fingerprint, welcome.value.schemaFingerprint);
  if (record.hubId !== undefined && record.hubId !== welcome.value.hubId && record.position > 0) {
    const message = `this device synced with hub log ${record.hubId}; ${config.url} serves ${welcome.value.hubId}: its positions mean something else`;
    return { ok: false, error: new ClientError(ClientErrorCode.hubChanged, message), fatal: true };
  }
  return { ok: true, welcome: welcome.value };
}
