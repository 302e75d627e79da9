import { matchesSubscription, type CommittedEvent } from '@eventloom/protocol';

/**
 * What a client knows of one of its appends at the end of a run:
 * - `acked`: the hub answered `ok` or `duplicate`, so it is stored;
 * - `rejected`: the client was told, for good, that it failed (a transient refusal that the
 *   client retries, such as `unknown-event-version` or `sequence-gap`, is not a rejection);
 * - `pending`: no final answer was seen.
 */
export type AppendOutcome = 'acked' | 'rejected' | 'pending';

/** One event a client appended, as the test harness recorded it. */
export interface AppendRecord {
  readonly id: string;
  readonly clientId: string;
  readonly clientSeq: number;
  readonly stream: string;
  readonly outcome: AppendOutcome;
  /** With `acked`: the position the ack named, checked against the hub's log. */
  readonly position?: number;
}

/** One client's state at the end of a run. */
export interface ClientHistory {
  readonly clientId: string;
  /** Its confirmed log, as it holds it (position order). */
  readonly confirmed: readonly CommittedEvent[];
  /**
   * It ended flushed (`flushed()` resolved, outbox empty): each event it appended that was not
   * rejected must be stored, and be in its confirmed log.
   */
  readonly flushed?: boolean;
  /** It ended live and caught up: it must hold every hub event its subscriptions cover. */
  readonly caughtUp?: boolean;
  /** Its subscriptions (exact names or `prefix*`); every stream when absent. */
  readonly subscriptions?: readonly string[];
}

/** Everything {@link checkHistory} compares. */
export interface History {
  /** Every append of every client; events of (clientId, clientSeq) not listed here are not judged. */
  readonly appends: readonly AppendRecord[];
  readonly clients: readonly ClientHistory[];
  /** The hub's whole log, from position 1 (e.g. `readHubLog(url)`). */
  readonly hub: readonly CommittedEvent[];
}

/** The kinds of anomaly, as data. */
export const AnomalyKind = {
  /** An acknowledged event (or one pending at the end of a flushed client) is not stored. */
  lost: 'lost',
  /** An id twice in a log, one (clientId, clientSeq) stored twice, or re-issued with a new id. */
  duplicate: 'duplicate',
  /**
   * Positions not gapless and increasing, a client's log not a copy of the hub's order (an event
   * elsewhere, a skipped position), a client's own events out of clientSeq order.
   */
  reordering: 'reordering',
  /** An event the client was told was rejected is stored after all. */
  failedWriteAppears: 'failed-write-appears',
  /** Two copies of a position differ: two clients, or a client and the hub. */
  divergence: 'divergence',
} as const;

/** One of the values of {@link AnomalyKind}. */
export type AnomalyKind = (typeof AnomalyKind)[keyof typeof AnomalyKind];

/** One thing that must not happen, said in a sentence. */
export interface Anomaly {
  readonly kind: AnomalyKind;
  /** Where it was seen: `hub`, `appends`, or `client <clientId>`. */
  readonly where: string;
  readonly message: string;
  /** The event it is about, when it is about one. */
  readonly id?: string;
  readonly position?: number;
}

/**
 * Checks a run's history for lost, duplicated, reordered, rejected-yet-stored and diverging
 * events. Pure: it reads what the harness recorded and the logs, and returns every anomaly found
 * (an empty list for a clean run), in a stable order.
 *
 * @example
 * const anomalies = checkHistory({ appends, clients, hub: await readHubLog(hub.url) });
 * expect(formatAnomalies(anomalies)).toBe('no anomalies'); // a failure lists them, readably
 */
export function checkHistory(history: History): Anomaly[] {
  const found: Anomaly[] = [];
  const report = (anomaly: Anomaly) => found.push(anomaly);
  const appends = mergeAppends(history.appends, report);
  const hub = indexLog(history.hub);
  checkLog('hub', history.hub, report, true);
  const missingReported = new Set<string>();
  for (const client of history.clients) {
    const where = `client ${client.clientId}`;
    checkLog(where, client.confirmed, report, false);
    checkCopy(where, client, hub, report, missingReported);
  }
  checkAppends(appends, history, hub, report, missingReported);
  checkClientsAgree(history.clients, report);
  return found;
}

/** A readable list of anomalies, at most `max` of them, for an assertion's message. */
export function formatAnomalies(anomalies: readonly Anomaly[], max = 25): string {
  if (anomalies.length === 0) return 'no anomalies';
  const lines = anomalies.slice(0, max).map((a) => `- [${a.kind}] ${a.where}: ${a.message}`);
  if (anomalies.length > max) lines.push(`… and ${anomalies.length - max} more`);
  return `${anomalies.length} ${anomalies.length === 1 ? 'anomaly' : 'anomalies'}:\n${lines.join('\n')}`;
}

type Report = (anomaly: Anomaly) => void;

interface LogIndex {
  readonly byId: Map<string, CommittedEvent>;
  readonly byPosition: Map<number, CommittedEvent>;
}

function indexLog(log: readonly CommittedEvent[]): LogIndex {
  const byId = new Map<string, CommittedEvent>();
  const byPosition = new Map<number, CommittedEvent>();
  for (const event of log) {
    if (!byId.has(event.id)) byId.set(event.id, event);
    if (!byPosition.has(event.position)) byPosition.set(event.position, event);
  }
  return { byId, byPosition };
}

/** Appends merged by id (the strongest outcome wins); contradictions and re-issues reported. */
function mergeAppends(records: readonly AppendRecord[], report: Report): Map<string, AppendRecord> {
  const byId = new Map<string, AppendRecord>();
  const rank = { pending: 0, rejected: 1, acked: 2 } as const;
  for (const record of records) {
    const seen = byId.get(record.id);
    if (seen === undefined) {
      byId.set(record.id, record);
      continue;
    }
    if (
      seen.clientId !== record.clientId ||
      seen.clientSeq !== record.clientSeq ||
      seen.stream !== record.stream
    ) {
      report({
        kind: AnomalyKind.duplicate,
        where: 'appends',
        id: record.id,
        message: `id ${record.id} was appended twice: as ${describeRecord(seen)} and as ${describeRecord(record)}`,
      });
      continue;
    }
    const outcomes = new Set([seen.outcome, record.outcome]);
    if (outcomes.has('acked') && outcomes.has('rejected')) {
      report({
        kind: AnomalyKind.failedWriteAppears,
        where: 'appends',
        id: record.id,
        message: `${describeRecord(record)} was reported both rejected and acked`,
      });
    }
    const position = seen.position ?? record.position;
    const stronger = rank[record.outcome] > rank[seen.outcome] ? record : seen;
    byId.set(record.id, { ...stronger, ...(position === undefined ? {} : { position }) });
  }
  const idsBySeq = new Map<string, string[]>();
  for (const record of byId.values()) {
    const key = `${record.clientId}#${record.clientSeq}`;
    const ids = idsBySeq.get(key) ?? [];
    ids.push(record.id);
    idsBySeq.set(key, ids);
  }
  for (const [key, ids] of idsBySeq) {
    if (ids.length > 1) {
      report({
        kind: AnomalyKind.duplicate,
        where: 'appends',
        id: ids[1]!,
        message: `${key} was issued ${ids.length} times, with ids ${ids.join(', ')}: re-issued with a new id`,
      });
    }
  }
  return byId;
}

/** Checks one log on its own: order, uniqueness, each client's clientSeq order. */
function checkLog(where: string, log: readonly CommittedEvent[], report: Report, isHub: boolean): void {
  const seenIds = new Map<string, number>();
  const seenSeqs = new Map<string, CommittedEvent>();
  const lastSeq = new Map<string, CommittedEvent>();
  const streamVersions = new Map<string, number>();
  let previous: CommittedEvent | undefined;
  for (const event of log) {
    const expected = previous === undefined ? 1 : previous.position + 1;
    if (isHub ? event.position !== expected : previous !== undefined && event.position <= previous.position) {
      report({
        kind: AnomalyKind.reordering,
        where,
        id: event.id,
        position: event.position,
        message:
          previous === undefined
            ? `the log starts at position ${event.position}, not 1`
            : `position ${event.position} (${describe(event)}) follows position ${previous.position}` +
              (isHub ? `: positions must be gapless and increasing` : `: positions must increase`),
      });
    }
    const firstAt = seenIds.get(event.id);
    if (firstAt !== undefined) {
      report({
        kind: AnomalyKind.duplicate,
        where,
        id: event.id,
        position: event.position,
        message: `${describe(event)} is held twice, at positions ${firstAt} and ${event.position}`,
      });
    } else {
      seenIds.set(event.id, event.position);
      const key = `${event.clientId}#${event.clientSeq}`;
      const sameSeq = seenSeqs.get(key);
      if (sameSeq !== undefined) {
        report({
          kind: AnomalyKind.duplicate,
          where,
          id: event.id,
          position: event.position,
          message: `${key} is stored twice: ${sameSeq.id} at position ${sameSeq.position} and ${event.id} at position ${event.position}`,
        });
      } else {
        seenSeqs.set(key, event);
        const last = lastSeq.get(event.clientId);
        if (last !== undefined && event.clientSeq < last.clientSeq) {
          report({
            kind: AnomalyKind.reordering,
            where,
            id: event.id,
            position: event.position,
            message: `${event.clientId}'s clientSeq ${event.clientSeq} (position ${event.position}) comes after its clientSeq ${last.clientSeq} (position ${last.position})`,
          });
        }
        if (last === undefined || event.clientSeq > last.clientSeq) lastSeq.set(event.clientId, event);
      }
    }
    if (isHub) {
      const version = (streamVersions.get(event.stream) ?? 0) + 1;
      if (event.streamVersion !== version) {
        report({
          kind: AnomalyKind.reordering,
          where,
          id: event.id,
          position: event.position,
          message: `${describe(event)} at position ${event.position} has streamVersion ${event.streamVersion}, expected ${version}`,
        });
      }
      streamVersions.set(event.stream, Math.max(version, event.streamVersion));
    }
    previous = event;
  }
}

/** Checks that a client's confirmed log is a faithful copy of (its part of) the hub's log. */
function checkCopy(
  where: string,
  client: ClientHistory,
  hub: LogIndex,
  report: Report,
  missingReported: Set<string>,
): void {
  const held = new Set<string>();
  let top = 0;
  for (const event of client.confirmed) {
    held.add(event.id);
    top = Math.max(top, event.position);
    const atPosition = hub.byPosition.get(event.position);
    const elsewhere = hub.byId.get(event.id);
    if (atPosition?.id === event.id) {
      const fields = differingFields(event, atPosition);
      if (fields.length > 0) {
        report({
          kind: AnomalyKind.divergence,
          where,
          id: event.id,
          position: event.position,
          message: `its copy of position ${event.position} (${describe(event)}) differs from the hub's in ${fields.join(', ')}`,
        });
      }
    } else if (elsewhere !== undefined) {
      report({
        kind: AnomalyKind.reordering,
        where,
        id: event.id,
        position: event.position,
        message: `holds ${describe(event)} at position ${event.position}; the hub has it at ${elsewhere.position}`,
      });
    } else if (atPosition !== undefined) {
      report({
        kind: AnomalyKind.divergence,
        where,
        id: event.id,
        position: event.position,
        message: `holds ${describe(event)} at position ${event.position}, where the hub has ${describe(atPosition)}, and the hub has no ${event.id}`,
      });
    } else {
      report({
        kind: AnomalyKind.lost,
        where,
        id: event.id,
        position: event.position,
        message: `confirmed ${describe(event)} at position ${event.position}, but the hub's log does not have it`,
      });
    }
  }
  const subscriptions = client.subscriptions ?? ['*'];
  for (const [position, event] of hub.byPosition) {
    if (held.has(event.id) || !matchesSubscription(event.stream, subscriptions)) continue;
    if (position < top) {
      missingReported.add(`${where}|${event.id}`);
      report({
        kind: AnomalyKind.reordering,
        where,
        id: event.id,
        position,
        message: `skips position ${position} (${describe(event)}), which its subscriptions cover, though it holds up to ${top}`,
      });
    } else if (client.caughtUp === true) {
      missingReported.add(`${where}|${event.id}`);
      report({
        kind: AnomalyKind.lost,
        where,
        id: event.id,
        position,
        message: `is caught up but lacks position ${position} (${describe(event)})`,
      });
    }
  }
}

/** Checks each append against the hub's log and its own client's log. */
function checkAppends(
  appends: ReadonlyMap<string, AppendRecord>,
  history: History,
  hub: LogIndex,
  report: Report,
  missingReported: ReadonlySet<string>,
): void {
  const clients = new Map(history.clients.map((c) => [c.clientId, c]));
  const heldBy = new Map(history.clients.map((c) => [c.clientId, new Set(c.confirmed.map((e) => e.id))]));
  const appendedSeqs = new Map<string, string[]>();
  for (const record of appends.values()) {
    const key = `${record.clientId}#${record.clientSeq}`;
    appendedSeqs.set(key, [...(appendedSeqs.get(key) ?? []), record.id]);
  }

  for (const record of appends.values()) {
    const stored = hub.byId.get(record.id);
    const client = clients.get(record.clientId);
    const flushed = client?.flushed === true;
    if (record.outcome === 'rejected') {
      const holders = history.clients
        .filter((c) => heldBy.get(c.clientId)!.has(record.id))
        .map((c) => c.clientId);
      if (stored !== undefined || holders.length > 0) {
        const places = [
          ...(stored === undefined ? [] : [`the hub's log at position ${stored.position}`]),
          ...holders.map((h) => `${h}'s confirmed log`),
        ];
        report({
          kind: AnomalyKind.failedWriteAppears,
          where: stored === undefined ? `client ${holders[0]!}` : 'hub',
          id: record.id,
          ...(stored === undefined ? {} : { position: stored.position }),
          message: `${describeRecord(record)} was rejected, yet is in ${places.join(' and ')}`,
        });
      }
      continue;
    }
    if (stored === undefined) {
      if (record.outcome === 'acked' || flushed) {
        report({
          kind: AnomalyKind.lost,
          where: 'hub',
          id: record.id,
          message:
            record.outcome === 'acked'
              ? `${describeRecord(record)} was acked${record.position === undefined ? '' : ` at position ${record.position}`} but is not in the hub's log`
              : `${describeRecord(record)} was pending when ${record.clientId} ended flushed, but is not in the hub's log`,
        });
      }
      continue;
    }
    if (record.outcome === 'acked' && record.position !== undefined && record.position !== stored.position) {
      report({
        kind: AnomalyKind.reordering,
        where: 'hub',
        id: record.id,
        position: stored.position,
        message: `${describeRecord(record)} was acked at position ${record.position} but is stored at ${stored.position}`,
      });
    }
    if (
      stored.clientId !== record.clientId ||
      stored.clientSeq !== record.clientSeq ||
      stored.stream !== record.stream
    ) {
      report({
        kind: AnomalyKind.divergence,
        where: 'hub',
        id: record.id,
        position: stored.position,
        message: `${describeRecord(record)} is stored as ${describe(stored)}`,
      });
    }
    const where = `client ${record.clientId}`;
    if (
      flushed &&
      !heldBy.get(record.clientId)!.has(record.id) &&
      !missingReported.has(`${where}|${record.id}`)
    ) {
      report({
        kind: AnomalyKind.lost,
        where,
        id: record.id,
        position: stored.position,
        message: `ended flushed, but its confirmed log lacks its own ${describe(stored)} (position ${stored.position})`,
      });
    }
  }

  // Stored events of a tracked (clientId, clientSeq) under another id: re-issued with a new id.
  for (const event of history.hub) {
    const appendedAs = appendedSeqs.get(`${event.clientId}#${event.clientSeq}`);
    if (appendedAs !== undefined && !appendedAs.includes(event.id)) {
      report({
        kind: AnomalyKind.duplicate,
        where: 'hub',
        id: event.id,
        position: event.position,
        message: `${describe(event)} is stored at position ${event.position}, but ${event.clientId} appended clientSeq ${event.clientSeq} as ${appendedAs.join(', ')}: re-issued with a new id`,
      });
    }
  }
}

/** Checks that every two clients hold the same event at each position both hold. */
function checkClientsAgree(clients: readonly ClientHistory[], report: Report): void {
  const first = new Map<number, { clientId: string; event: CommittedEvent }>();
  for (const client of clients) {
    for (const event of client.confirmed) {
      const other = first.get(event.position);
      if (other === undefined) {
        first.set(event.position, { clientId: client.clientId, event });
        continue;
      }
      if (other.clientId === client.clientId) continue;
      const fields = differingFields(event, other.event);
      if (fields.length === 0) continue;
      report({
        kind: AnomalyKind.divergence,
        where: `client ${client.clientId}`,
        id: event.id,
        position: event.position,
        message:
          other.event.id === event.id
            ? `its copy of position ${event.position} (${describe(event)}) differs from ${other.clientId}'s in ${fields.join(', ')}`
            : `holds ${describe(event)} at position ${event.position}, where ${other.clientId} holds ${describe(other.event)}`,
      });
    }
  }
}

function differingFields(a: CommittedEvent, b: CommittedEvent): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const differing: string[] = [];
  for (const key of [...keys].sort()) {
    const x = (a as Record<string, unknown>)[key];
    const y = (b as Record<string, unknown>)[key];
    if (stableJson(x) !== stableJson(y)) differing.push(key);
  }
  return differing;
}

/** JSON with object keys sorted, so that two copies compare equal whatever their key order. */
function stableJson(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

function describe(event: CommittedEvent): string {
  return `${event.id} (${event.clientId} #${event.clientSeq} in ${event.stream})`;
}

function describeRecord(record: AppendRecord): string {
  return `${record.id} (${record.clientId} #${record.clientSeq} in ${record.stream})`;
}
