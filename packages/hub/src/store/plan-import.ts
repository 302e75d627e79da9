import type { CommittedEvent } from '@eventloom/protocol';
import { principalKey } from '../hub/principal-key.ts';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import { sameEnvelope } from './same-envelope.ts';

/** What an import is judged against: the log as it is before the batch. Reads only. */
export interface ImportSnapshot {
  head(): number;
  committedById(id: string): CommittedEvent | undefined;
  streamVersion(stream: string): number;
  lastClientSeq(clientId: string): number;
}

/** Everything one imported batch changes, for a store to write in one transaction. */
export interface ImportPlan {
  /** The events to insert as they are, in position order, from head + 1. */
  readonly events: CommittedEvent[];
  /** Events the log holds already, at the same position with the same content. */
  readonly skipped: number;
  /** Each stream's version after the batch. */
  readonly streamVersions: Map<string, number>;
  /** Each client's last seq after the batch (never lowered). */
  readonly clientSeqs: Map<string, number>;
  /** The principal key each client id is bound to, from its events' `meta.principal`. */
  readonly principals: Map<string, string>;
}

/**
 * Plans the import of committed events (an export of another log) into this one, keeping their
 * positions, stream versions and times. The log must hold nothing but a prefix of the same
 * export: an event already stored at its own position with the same content is skipped (so an
 * interrupted import can simply run again), and each other one must come at head + 1 and at its
 * stream's version + 1. Anything else throws a {@link HubError} `store` saying what differs, and
 * nothing of the batch is written.
 *
 * Invariant: the log after an import holds the exported events byte for byte in content, with the
 * client seqs and principal bindings their events imply.
 */
export function planImport(snapshot: ImportSnapshot, batch: readonly CommittedEvent[]): ImportPlan {
  if (snapshot.head() === 0 && batch.length > 0 && batch[0]!.position !== 1) {
    throw refusal(
      `the import starts at position ${batch[0]!.position}, but an empty log takes position 1 first (export from 0)`,
    );
  }
  const events: CommittedEvent[] = [];
  const streamVersions = new Map<string, number>();
  const clientSeqs = new Map<string, number>();
  const principals = new Map<string, string>();
  const inBatch = new Set<string>();
  let head = snapshot.head();
  let skipped = 0;
  for (const event of batch) {
    const stored = snapshot.committedById(event.id);
    if (stored !== undefined || inBatch.has(event.id)) {
      if (
        stored !== undefined &&
        stored.position === event.position &&
        stored.streamVersion === event.streamVersion &&
        stored.recordedAt === event.recordedAt &&
        sameEnvelope(stored, stripCommit(event))
      ) {
        skipped++;
        continue;
      }
      throw refusal(
        `event ${event.id} (position ${event.position}) is in the log already with another position or content`,
      );
    }
    if (event.position !== head + 1) {
      throw refusal(
        `event ${event.id} has position ${event.position}, but the log's head is ${head}: an import goes into an empty log, or one holding a prefix of the same export`,
      );
    }
    const version = streamVersions.get(event.stream) ?? snapshot.streamVersion(event.stream);
    if (event.streamVersion !== version + 1) {
      throw refusal(
        `event ${event.id} is version ${event.streamVersion} of stream ${JSON.stringify(event.stream)}, which is at version ${version}`,
      );
    }
    head = event.position;
    inBatch.add(event.id);
    events.push(event);
    streamVersions.set(event.stream, event.streamVersion);
    const lastSeq = clientSeqs.get(event.clientId) ?? snapshot.lastClientSeq(event.clientId);
    if (event.clientSeq > lastSeq) clientSeqs.set(event.clientId, event.clientSeq);
    const principal = event.meta.principal;
    if (principal !== undefined && !principals.has(event.clientId)) {
      principals.set(event.clientId, principalKey(principal));
    }
  }
  return { events, skipped, streamVersions, clientSeqs, principals };
}

/**
 * Checks a hub id an import brings against the log's: an empty log takes it (true: write it),
 * a log that holds events must have it already.
 */
export function importHubId(head: number, current: string, imported: string | undefined): boolean {
  if (imported === undefined || imported === current) return false;
  if (head === 0) return true;
  throw refusal(`the export is of hub log ${imported}, but this log is ${current} and holds events`);
}

function stripCommit(event: CommittedEvent) {
  const { position: _p, streamVersion: _v, recordedAt: _r, ...envelope } = event;
  return envelope;
}

function refusal(message: string): HubError {
  return new HubError(HubErrorCode.store, `import: ${message}`);
}
