import { regexes } from 'zod';
import {
  CLIENT_ID_PATTERN,
  EVENT_TYPE_PATTERN,
  STREAM_PATTERN,
  TRACEPARENT_PATTERN,
  UUID_V7_PATTERN,
  type CommittedEvent,
  type EventEnvelope,
  type EventMeta,
  type StoredEventKind,
} from './envelope.ts';
import { HLC_PATTERN } from './hlc-string.ts';
import {
  guardJsonAt,
  isPlainAt,
  jsonStringBytes,
  numberBytes,
  type GuardState,
  type JsonValue,
} from './json-guard.ts';
import { Limits } from './limits.ts';

/**
 * Checks an event envelope by hand, with exactly the rules of `eventEnvelopeSchema`, for input that
 * `guardJson` has accepted (plain JSON, no `__proto__`, bounded). It returns the envelope as zod
 * would (a fresh object, keys in schema order, `data` and free meta values shared), or `undefined`
 * whenever anything is off: the caller then runs zod, which says what. It is the hub's hot path:
 * zod costs about 15× more per valid event.
 *
 * Invariant (property-tested against zod): a result here means zod accepts the input and outputs
 * an equal value.
 *
 * With `tally` (the hub's decode of a pushed event), it also does `guardJson`'s job in the same
 * walk, as {@link fastCommittedEvent} does: undefined for anything `guardJson` would refuse (bytes
 * aside: the caller checks `tally.bytes`), and the event's JSON bytes counted into the tally.
 */
export function fastEnvelope(input: unknown, tally?: GuardState): EventEnvelope | undefined {
  return checkEnvelope(input, ENVELOPE_KEYS, tally, 0);
}

/**
 * {@link fastEnvelope} for a committed event (`committedEventSchema`: the envelope and the hub's
 * `position`, `streamVersion` and `recordedAt`): what a client decodes for every event it pulls or
 * receives live. Same invariant, against that schema.
 *
 * With `tally` (the event found at `depth` of a message), it also does `guardJson`'s job in the
 * same walk: undefined for anything `guardJson` would refuse (bytes aside: the caller checks
 * `tally.bytes`), and the event's JSON bytes counted into the tally.
 */
export function fastCommittedEvent(
  input: unknown,
  tally?: GuardState,
  depth = 0,
): CommittedEvent | undefined {
  const envelope = checkEnvelope(input, COMMITTED_KEYS, tally, depth);
  if (envelope === undefined) return undefined;
  const { position, streamVersion, recordedAt } = input as Record<string, unknown>;
  if (!intIn(position, 1)) return undefined;
  if (!intIn(streamVersion, 1)) return undefined;
  if (typeof recordedAt !== 'string' || !RECORDED_AT_PATTERN.test(recordedAt)) return undefined;
  // The pattern's characters are written as they are in JSON.
  if (tally) tally.bytes += numberBytes(position) + numberBytes(streamVersion) + recordedAt.length + 2;
  // The envelope is fresh: the fields go on it in the schema's order (a spread copies slowly).
  const committed = envelope as Record<string, unknown>;
  committed['position'] = position;
  committed['streamVersion'] = streamVersion;
  committed['recordedAt'] = recordedAt;
  return committed as CommittedEvent;
}

/** `recordedAt`'s rule: zod's own ISO datetime pattern, as `z.iso.datetime({ offset: false })` checks it. */
const RECORDED_AT_PATTERN = regexes.datetime({ offset: false });

/**
 * The envelope's checks; `keys`: every key the object may have (all but `expectedVersion` required);
 * `tally` and `depth`: as {@link fastCommittedEvent}'s.
 */
function checkEnvelope(
  input: unknown,
  keys: ReadonlySet<string>,
  tally: GuardState | undefined,
  depth: number,
): EventEnvelope | undefined {
  if (!isObject(input)) return undefined;
  if (tally && !isPlainAt(input, depth, tally)) return undefined;
  let present = 0;
  let keyBytes = 0;
  for (const key in input) {
    if (!keys.has(key)) return undefined;
    present++;
    keyBytes += key.length + 3; // the known keys are plain ASCII: `"key":`
  }
  const { id, type, version, kind, stream, data, meta, clientId, clientSeq, hlc, expectedVersion } =
    input as Record<string, unknown>;
  const required = expectedVersion === undefined ? present : present - 1;
  if (required !== keys.size - 1) return undefined;
  if (typeof id !== 'string' || !UUID_V7_PATTERN.test(id)) return undefined;
  if (!boundedString(type, Limits.maxTypeLength) || !EVENT_TYPE_PATTERN.test(type)) return undefined;
  if (!intIn(version, 1, Limits.maxEventVersion)) return undefined;
  if (kind !== 'domain' && kind !== 'command' && kind !== 'integration') return undefined;
  if (!isStreamName(stream)) return undefined;
  if (data === undefined) return undefined;
  const checkedMeta = fastMeta(meta, tally, depth + 1);
  if (checkedMeta === undefined) return undefined;
  if (!boundedString(clientId, Limits.maxClientIdLength) || !CLIENT_ID_PATTERN.test(clientId)) {
    return undefined;
  }
  if (!intIn(clientSeq, 1)) return undefined;
  if (typeof hlc !== 'string' || hlc.length > 160 || !HLC_PATTERN.test(hlc)) return undefined;
  if (expectedVersion !== undefined && !intIn(expectedVersion, 0)) return undefined;
  if (tally) {
    // Braces, commas and keys; then the values (the patterns' characters are written as they are).
    tally.bytes += 1 + present + keyBytes + id.length + type.length + kind.length + clientId.length;
    tally.bytes += hlc.length + 10 + jsonStringBytes(stream) + numberBytes(version) + numberBytes(clientSeq);
    if (expectedVersion !== undefined) tally.bytes += numberBytes(expectedVersion);
    if (!guardJsonAt(data, depth + 1, tally)) return undefined;
  }
  const envelope: EventEnvelope = {
    id,
    type,
    version,
    kind: kind as StoredEventKind,
    stream,
    data: data as JsonValue,
    meta: checkedMeta,
    clientId,
    clientSeq,
    hlc,
  };
  // Set on the fresh object, last as in the schema (a spread copies slowly).
  if (expectedVersion !== undefined)
    (envelope as { expectedVersion?: number }).expectedVersion = expectedVersion as number;
  return envelope;
}

const ENVELOPE_KEYS: ReadonlySet<string> = new Set([
  'id',
  'type',
  'version',
  'kind',
  'stream',
  'data',
  'meta',
  'clientId',
  'clientSeq',
  'hlc',
  'expectedVersion',
]);

const COMMITTED_KEYS: ReadonlySet<string> = new Set([
  ...ENVELOPE_KEYS,
  'position',
  'streamVersion',
  'recordedAt',
]);

const META_KEYS = ['correlationId', 'causationId', 'traceparent', 'principal'] as const;

/**
 * `meta` as `eventMetaSchema` outputs it: the known keys in schema order, then the free ones;
 * `tally` and `depth` as {@link fastCommittedEvent}'s.
 */
function fastMeta(meta: unknown, tally: GuardState | undefined, depth: number): EventMeta | undefined {
  if (!isObject(meta)) return undefined;
  if (tally && !isPlainAt(meta, depth, tally)) return undefined;
  const { correlationId, causationId, traceparent, principal } = meta as Record<string, unknown>;
  if (correlationId !== undefined && !boundedString(correlationId, 128)) return undefined;
  if (causationId !== undefined && !boundedString(causationId, 128)) return undefined;
  if (
    traceparent !== undefined &&
    (typeof traceparent !== 'string' || !TRACEPARENT_PATTERN.test(traceparent))
  ) {
    return undefined;
  }
  const out: Record<string, unknown> = {};
  if (correlationId !== undefined) out['correlationId'] = correlationId;
  if (causationId !== undefined) out['causationId'] = causationId;
  if (traceparent !== undefined) out['traceparent'] = traceparent;
  if (principal !== undefined) {
    const checked = fastPrincipal(principal, tally, depth + 1);
    if (checked === undefined) return undefined;
    out['principal'] = checked;
  }
  let count = 0;
  for (const key in meta) {
    const known = (META_KEYS as readonly string[]).includes(key);
    if (tally) {
      // guardJson refuses a `__proto__` key and an undefined value, even of a known key.
      if (key === '__proto__') return undefined;
      count++;
      tally.bytes += jsonStringBytes(key) + 1;
      if (known && (meta as Record<string, unknown>)[key] === undefined) return undefined;
    }
    if (known) continue;
    const value = (meta as Record<string, unknown>)[key];
    if (tally && !guardJsonAt(value, depth + 1, tally)) return undefined;
    out[key] = value;
  }
  if (tally) {
    tally.bytes += 1 + Math.max(1, count);
    if (correlationId !== undefined) tally.bytes += jsonStringBytes(correlationId as string);
    if (causationId !== undefined) tally.bytes += jsonStringBytes(causationId as string);
    if (traceparent !== undefined) tally.bytes += (traceparent as string).length + 2;
  }
  return out as EventMeta;
}

function fastPrincipal(
  principal: unknown,
  tally: GuardState | undefined,
  depth: number,
): { sub: string; iss?: string } | undefined {
  if (!isObject(principal)) return undefined;
  if (tally && !isPlainAt(principal, depth, tally)) return undefined;
  let count = 0;
  for (const key in principal) {
    if (key !== 'sub' && key !== 'iss') return undefined;
    count++;
  }
  const { sub, iss } = principal as Record<string, unknown>;
  if (!boundedString(sub, 256)) return undefined;
  // `{"sub":…}`, and `,"iss":…` when given.
  if (tally) tally.bytes += 8 + jsonStringBytes(sub);
  if (iss === undefined) {
    // guardJson refuses an `iss` key holding undefined.
    return tally && count !== 1 ? undefined : { sub };
  }
  if (typeof iss !== 'string' || iss.length > 256) return undefined;
  if (tally) tally.bytes += 7 + jsonStringBytes(iss);
  return { sub, iss };
}

/** Whether `value` is a valid stream name: exactly what `streamSchema` accepts, without zod. */
export function isStreamName(value: unknown): value is string {
  return boundedString(value, Limits.maxStreamLength) && STREAM_PATTERN.test(value);
}

/** A non-array object (what the hand checks of messages start from). */
export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function boundedString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max;
}

/** A safe integer in `min..max`. */
export function intIn(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}
