import { decodeWelcome, ErrorCode, MessageName, PROTOCOL_VERSION } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import type { SyncRecord } from '../sync-port.ts';
import { issueError } from './session-errors.ts';
import type { SessionHost } from './session-host.ts';
import type { SessionLink } from './session-link.ts';
import type { SessionLog } from './session-log.ts';

/** What the hub's welcome settled, for the stages after it. */
export interface Welcomed {
  /** The subscriptions `hello` gave the hub. */
  readonly subscriptions: readonly string[];
  /** The hub's head. */
  readonly head: number;
  /** Own events up to this seq were lost by a restored hub log: they go again in `repair` pushes. */
  readonly repairUpTo: number;
  /** Whether the hub reads `repair` on a push (protocol 3). */
  readonly hubRepairs: boolean;
  /** Whether the hub records `unknown-event-version` refusals (protocol 4): such events wait aside. */
  readonly hubHoldsAside: boolean;
  /**
   * Undecided rows up to this seq may be events the hub never saw, at seqs it holds for others:
   * they go first, on their own (0 when the hub does not say so: protocol 4 and older).
   */
  readonly settleUpTo: number;
}

/**
 * The hello stage of a session: `hello` with the log's position and the desired subscriptions,
 * then the welcome's checks (protocol, the hub's log id) and the hub's word on this device
 * (`SyncPort.realign`), which may move the log's position. Undefined when the session ended
 * meanwhile; a refusal ends it, as fatal when no retry can fix it.
 */
export async function sayHello(
  host: SessionHost,
  link: SessionLink,
  log: SessionLog,
  record: SyncRecord,
): Promise<Welcomed | undefined> {
  const config = host.config;
  const desired = host.desiredSubscriptions();
  const welcome = decodeWelcome(
    await link.request(MessageName.hello, {
      protocol: PROTOCOL_VERSION,
      clientId: host.port.clientId,
      lastPosition: log.position,
      subscriptions: [...desired],
      schemaFingerprint: config.fingerprint,
    }),
  );
  if (!welcome.ok) {
    const error = issueError(welcome.error, 'hello');
    link.finish(error, FATAL_HELLO.has(welcome.error.code));
    return undefined;
  }
  if (welcome.value.minProtocol > PROTOCOL_VERSION) {
    const message = `the hub serves protocol ${welcome.value.minProtocol} and up; this client speaks ${PROTOCOL_VERSION}`;
    link.finish(new ClientError(ClientErrorCode.protocolTooOld, message), true);
    return undefined;
  }
  config.warnings.welcomed(config.url, config.fingerprint, welcome.value.schemaFingerprint);
  if (record.hubId !== undefined && record.hubId !== welcome.value.hubId && record.position > 0) {
    const message = `this device synced with hub log ${record.hubId}; ${config.url} serves ${welcome.value.hubId}: its positions mean something else`;
    link.finish(new ClientError(ClientErrorCode.hubChanged, message), true);
    return undefined;
  }
  // The hub's word on this device, checked at every hello: a hub that holds seqs this device
  // never gave out (its storage was cleared), or a log behind what the device saw (restored).
  // Before the hub's id is recorded: a device that never met it cannot have pushed to it.
  const realigned = await log.inbound.run(() =>
    host.port.realign({
      hubClientSeq: welcome.value.lastClientSeq,
      hubHead: welcome.value.head,
    }),
  );
  // The refusal handler's state is keyed by seq: it follows (even if the link closed meanwhile).
  if (realigned.seqs.size > 0) host.renumbered(realigned.seqs);
  if (!link.open) return undefined;
  if (record.hubId !== welcome.value.hubId) await host.port.writeSyncRecord({ hubId: welcome.value.hubId });
  if (!link.open) return undefined;
  log.position = realigned.position;
  const hubRepairs = welcome.value.protocol >= 3;
  const repairUpTo = realigned.repairSeqs.at(-1) ?? 0;
  if (realigned.repairSeqs.length > 0 || realigned.othersLost.length > 0 || realigned.renumbered > 0) {
    host.realigned(realigned);
  }
  // A hub of protocol 4 records `unknown-event-version`: such events wait aside in the dead
  // letters while the others go on, and are sent again (same ids, new seqs) at each hello.
  const hubHoldsAside = welcome.value.protocol >= 4;
  if (hubHoldsAside) await log.inbound.run(() => host.port.requeueHeld());
  if (!link.open) return undefined;
  // A hub of protocol 5 refuses `seq-used` an event at a seq it holds for another: the device
  // (killed after a push, before its write of it landed) gave that seq again, offline.
  const settleUpTo = welcome.value.protocol >= 5 ? welcome.value.lastClientSeq : 0;
  return {
    subscriptions: desired,
    head: welcome.value.head,
    repairUpTo,
    hubRepairs,
    hubHoldsAside,
    settleUpTo,
  };
}

/** Hello refusals that no retry can fix: the app or the hub must change first. */
const FATAL_HELLO: ReadonlySet<string> = new Set([
  ErrorCode.protocolTooOld,
  ErrorCode.protocolTooNew,
  ErrorCode.unauthorized,
  ErrorCode.invalid,
]);
