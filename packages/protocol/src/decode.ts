import type { z } from 'zod';
import {
  eventEnvelopeSchema,
  UUID_V7_PATTERN,
  withGuardedInput,
  type CommittedEvent,
  type EventEnvelope,
} from './envelope.ts';
import { fastCommittedEvent, fastEnvelope, intIn, isObject } from './envelope-fast-path.ts';
import { ErrorCode } from './error-codes.ts';
import { helloSchema, type Hello } from './hello.ts';
import { hubErrorReplySchema, hubErrorSchema, type HubError } from './hub-error.ts';
import { guardJson, isPlainAt, jsonTally, numberBytes, type GuardState } from './json-guard.ts';
import { Limits, type ProtocolLimits } from './limits.ts';
import { liveEventsSchema, type LiveEvents } from './live-events.ts';
import { notifySchema, type Notify } from './notify.ts';
import { pullResultSchema, type PullResult } from './pull-result.ts';
import { pullSchema, type Pull } from './pull.ts';
import { pushAckSchema, type PushAck } from './push-ack.ts';
import { err, ok, type ProtocolIssue, type Result } from './result.ts';
import { subscribeAckSchema, subscribeSchema, type Subscribe, type SubscribeAck } from './subscribe.ts';
import { welcomeSchema, type Welcome } from './welcome.ts';

/** A decoded `push`: the batch was readable, and each event was decoded on its own. */
export interface DecodedPush {
  readonly events: readonly DecodedPushEvent[];
  /** The batch re-sends events a restored log lost (see `pushSchema`). */
  readonly repair: boolean;
}

/** One event of a push: decoded, or refused with a code and the id it carried (if readable). */
export type DecodedPushEvent =
  | { readonly ok: true; readonly value: EventEnvelope; readonly bytes: number }
  | { readonly ok: false; readonly error: ProtocolIssue; readonly id: string };

/**
 * Decodes anything against a schema without ever throwing: first a JSON guard (plain data only,
 * no `__proto__` keys, bounded depth and size), then the strict zod schema. `fast`: the schema's
 * rules written by hand for the common valid input (undefined for anything else, which zod then
 * decodes and explains); its result must be what zod outputs.
 */
export function decodeWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  maxBytes: number = Limits.maxMessageBytes,
  fast?: (input: unknown) => z.output<S> | undefined,
): Result<z.output<S>> {
  try {
    const guarded = guardJson(input, { maxBytes });
    if (!guarded.ok) return guarded;
    // A message checked by hand (exactly the schema's rules) skips zod; anything off goes to zod.
    const checked = fast?.(input);
    if (checked !== undefined) return ok(checked);
    const parsed = withGuardedInput(() => schema.safeParse(input));
    if (parsed.success) return ok(parsed.data);
    return err(toIssue(parsed.error));
  } catch (cause) {
    return err({ code: ErrorCode.invalid, message: `undecodable: ${String(cause)}`, path: '' });
  }
}

/** Decodes a `hello` (hub side). */
export function decodeHello(input: unknown): Result<Hello> {
  return decodeWith(helloSchema, input);
}

/**
 * Decodes a `push` (hub side). The batch itself must be an object with 1..maxBatchSize events;
 * each event is then decoded alone, so that one bad event is rejected without refusing the rest.
 */
export function decodePush(
  input: unknown,
  limits: Pick<ProtocolLimits, 'maxBatchSize' | 'maxEventBytes' | 'maxMessageBytes'> = Limits,
): Result<DecodedPush> {
  try {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return err({ code: ErrorCode.invalid, message: 'push must be an object', path: '' });
    }
    if (Object.getPrototypeOf(input) !== Object.prototype && Object.getPrototypeOf(input) !== null) {
      return err({ code: ErrorCode.invalid, message: 'push must be a plain object', path: '' });
    }
    const extra = Object.keys(input).find((k) => k !== 'events' && k !== 'repair');
    if (extra !== undefined) {
      return err({ code: ErrorCode.invalid, message: `unrecognized key: ${extra}`, path: extra });
    }
    const repair: unknown = Object.getOwnPropertyDescriptor(input, 'repair')?.value;
    if (repair !== undefined && repair !== true) {
      return err({ code: ErrorCode.invalid, message: 'repair must be true when given', path: 'repair' });
    }
    const events: unknown = Object.getOwnPropertyDescriptor(input, 'events')?.value;
    if (!Array.isArray(events)) {
      return err({ code: ErrorCode.invalid, message: 'events must be an array', path: 'events' });
    }
    if (events.length === 0) {
      return err({ code: ErrorCode.invalid, message: 'events must not be empty', path: 'events' });
    }
    if (events.length > limits.maxBatchSize) {
      const message = `more than ${limits.maxBatchSize} events in one push`;
      return err({ code: ErrorCode.tooLarge, message, path: 'events' });
    }
    const decoded: DecodedPushEvent[] = [];
    let bytes = 0;
    for (let i = 0; i < events.length; i++) {
      const event = decodePushEvent(events[i], limits.maxEventBytes);
      bytes += event.ok ? event.bytes : 0;
      if (bytes > limits.maxMessageBytes) {
        const message = `push larger than ${limits.maxMessageBytes} bytes`;
        return err({ code: ErrorCode.tooLarge, message, path: 'events' });
      }
      decoded.push(event);
    }
    return ok({ events: decoded, repair: repair === true });
  } catch (cause) {
    return err({ code: ErrorCode.invalid, message: `undecodable: ${String(cause)}`, path: '' });
  }
}

/** Decodes one event envelope, checking its size against `maxEventBytes`. */
export function decodePushEvent(
  input: unknown,
  maxEventBytes: number = Limits.maxEventBytes,
): DecodedPushEvent {
  // The common valid envelope is checked by hand in one walk, `guardJson`'s checks and its byte
  // count included (property-tested to decode as the way below does): no second walk of the event.
  try {
    const tally = jsonTally({ maxBytes: maxEventBytes });
    const fast = fastEnvelope(input, tally);
    if (fast !== undefined && tally.bytes <= maxEventBytes)
      return { ok: true, value: fast, bytes: tally.bytes };
  } catch {
    // the way below reads it again and says what
  }
  return decodePushEventSlowly(input, maxEventBytes);
}

/**
 * {@link decodePushEvent} the usual way, two walks: `guardJson`, then the hand check, then zod,
 * which says what. What the one walk falls back on, and the reference its test holds it to.
 */
export function decodePushEventSlowly(input: unknown, maxEventBytes: number): DecodedPushEvent {
  const id = readableId(input);
  const guarded = guardJson(input, { maxBytes: maxEventBytes });
  if (!guarded.ok) {
    const error =
      guarded.error.code === ErrorCode.tooLarge
        ? { ...guarded.error, message: `event larger than ${maxEventBytes} bytes` }
        : guarded.error;
    return { ok: false, error, id };
  }
  // The common valid envelope is checked by hand; anything else goes to zod, which says what is wrong.
  const fast = fastEnvelope(input);
  if (fast !== undefined) return { ok: true, value: fast, bytes: guarded.value };
  const parsed = withGuardedInput(() => eventEnvelopeSchema.safeParse(input));
  if (!parsed.success) return { ok: false, error: toIssue(parsed.error), id };
  return { ok: true, value: parsed.data, bytes: guarded.value };
}

/** Decodes a `pull` (hub side). */
export function decodePull(input: unknown): Result<Pull> {
  return decodeWith(pullSchema, input);
}

/** Decodes a `subscribe` (hub side). */
export function decodeSubscribe(input: unknown): Result<Subscribe> {
  return decodeWith(subscribeSchema, input);
}

/** Decodes a `notify` (both sides). */
export function decodeNotify(input: unknown): Result<Notify> {
  return decodeWith(notifySchema, input, Limits.maxEventBytes);
}

/** Decodes the answer to `hello` (client side): a `welcome`, or the hub's error as a failed result. */
export function decodeWelcome(input: unknown): Result<Welcome> {
  return decodeReply(welcomeSchema, input);
}

/** Decodes the answer to `push` (client side). */
export function decodePushAck(input: unknown): Result<PushAck> {
  return decodeReply(pushAckSchema, input, fastPushAck);
}

/** Decodes the answer to `pull` (client side). */
export function decodePullResult(input: unknown): Result<PullResult> {
  return decodeReply(pullResultSchema, input, fastPullResult);
}

/** Decodes the answer to `subscribe` (client side). */
export function decodeSubscribeAck(input: unknown): Result<SubscribeAck> {
  return decodeReply(subscribeAckSchema, input);
}

/**
 * Decodes live `events` (client side). The common valid message is checked in one walk, the
 * schema's rules and `guardJson`'s together; anything off (or a throwing getter) goes the usual
 * way, `guardJson` then zod, which says what. Property-tested to decode as that way does.
 */
export function decodeLiveEvents(input: unknown): Result<LiveEvents> {
  try {
    const tally = jsonTally({ maxBytes: Limits.maxMessageBytes });
    const checked = fastLiveEvents(input, tally);
    if (checked !== undefined && tally.bytes <= tally.maxBytes) return ok(checked);
  } catch {
    // decodeWith reads it again and says what
  }
  // The hand check already failed or threw: `guardJson`, then zod, which says what.
  return decodeWith(liveEventsSchema, input, Limits.maxMessageBytes);
}

/** Decodes a `hub-error` event (client side). */
export function decodeHubError(input: unknown): Result<HubError> {
  return decodeWith(hubErrorSchema, input);
}

/** Decodes an ack's answer, which is either the expected message or `{ error }`. */
function decodeReply<S extends z.ZodType>(
  schema: S,
  input: unknown,
  fast?: (input: unknown) => z.output<S> | undefined,
): Result<z.output<S>> {
  if (typeof input === 'object' && input !== null && 'error' in input) {
    const reply = decodeWith(hubErrorReplySchema, input);
    if (!reply.ok) return reply;
    return err({ code: reply.value.error.code, message: reply.value.error.message, path: '' });
  }
  return decodeWith(schema, input, Limits.maxMessageBytes, fast);
}

/**
 * `liveEventsSchema` by hand for the common valid message (see {@link fastCommittedEvent}): every
 * event a client receives live goes through it. Undefined when anything is off (zod then says what).
 * With `tally`, `guardJson`'s checks too, as {@link fastCommittedEvent}'s (the caller checks bytes).
 */
function fastLiveEvents(input: unknown, tally?: GuardState): LiveEvents | undefined {
  if (!hasKeys(input, 2)) return undefined;
  const { events, prev } = input as Record<string, unknown>;
  if (!intIn(prev, 0) || !Array.isArray(events)) return undefined;
  if (events.length < 1 || events.length > Limits.maxBatchSize) return undefined;
  if (tally) {
    if (!isPlainAt(input as object, 0, tally) || !isPlainAt(events, 1, tally)) return undefined;
    // `{"events":[…],"prev":n}`: braces, comma and keys, the array's brackets and commas.
    tally.bytes += 19 + numberBytes(prev) + 1 + events.length;
  }
  const decoded = fastCommittedEvents(events, tally);
  return decoded && { events: decoded, prev };
}

/** `pullResultSchema` by hand for the common valid page, as {@link fastLiveEvents}. */
function fastPullResult(input: unknown): PullResult | undefined {
  if (!hasKeys(input, 4)) return undefined;
  const { events, head, until, more } = input as Record<string, unknown>;
  if (!intIn(head, 0) || !intIn(until, 0) || typeof more !== 'boolean') return undefined;
  if (!Array.isArray(events) || events.length > Limits.maxPullLimit) return undefined;
  const decoded = fastCommittedEvents(events);
  return decoded && { events: decoded, head, until, more };
}

/**
 * `pushAckSchema` by hand for the common answer, every event committed now (`ok`) or before
 * (`duplicate`), as {@link fastLiveEvents}: every push a client makes gets one. A refusal, or
 * anything off, goes to zod.
 */
function fastPushAck(input: unknown): PushAck | undefined {
  if (!hasKeys(input, 1)) return undefined;
  const { results } = input as Record<string, unknown>;
  if (!Array.isArray(results) || results.length > Limits.maxBatchSize) return undefined;
  const out: PushAck['results'][number][] = [];
  for (const result of results) {
    if (!isObject(result)) return undefined;
    const { status, id, position, streamVersion } = result as Record<string, unknown>;
    if (typeof id !== 'string' || !UUID_V7_PATTERN.test(id) || !intIn(position, 1)) return undefined;
    if (status === 'ok' && hasKeys(result, 4) && intIn(streamVersion, 1)) {
      out.push({ status, id, position, streamVersion });
    } else if (status === 'duplicate' && hasKeys(result, 3)) {
      out.push({ status, id, position });
    } else return undefined;
  }
  return { results: out };
}

function fastCommittedEvents(events: readonly unknown[], tally?: GuardState): CommittedEvent[] | undefined {
  const out: CommittedEvent[] = [];
  for (const event of events) {
    const decoded = fastCommittedEvent(event, tally, 2);
    if (decoded === undefined) return undefined;
    out.push(decoded);
  }
  return out;
}

/** A plain object with exactly `count` own keys (the caller reads the ones it expects). */
function hasKeys(input: unknown, count: number): boolean {
  return isObject(input) && Object.keys(input).length === count;
}

function toIssue(error: z.ZodError): ProtocolIssue {
  const first = error.issues[0];
  if (!first) return { code: ErrorCode.invalid, message: 'invalid', path: '' };
  const path = first.path.map(String).join('.');
  const tooLarge = first.code === 'too_big' && first.origin === 'array';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  return {
    code: tooLarge ? ErrorCode.tooLarge : ErrorCode.invalid,
    message: `${path ? `${path}: ` : ''}${first.message}${more}`.slice(0, 1024),
    path,
  };
}

function readableId(input: unknown): string {
  try {
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
      const id = Object.getOwnPropertyDescriptor(input, 'id')?.value;
      if (typeof id === 'string' && id.length <= 64) return id;
    }
  } catch {
    // a proxy that throws has no readable id
  }
  return '';
}
