import {
  ErrorCode,
  UUID_V7_PATTERN,
  type DecodedPushEvent,
  type EventEnvelope,
  type Principal,
  type PushResult,
  type RejectionCode,
  type Result,
} from '@eventloom/protocol';
import { envelopeJsonSlices } from '../store/committed-json.ts';
import type { StoreAppend } from '../store/event-store.ts';
import { undefinedSlots } from '../store/slots.ts';
import type { HubAction, HubRegistry } from './hub-options.ts';
import { readOwn } from './message-payload.ts';
import { rejected, toPushResult, type DecidedResult } from './push-results.ts';

/** What judging a push reads of its connection. */
export interface PushJudge {
  readonly clientId: string;
  readonly principal: Principal;
  /** The protocol the client spoke at `hello`. */
  readonly protocol: number;
  /** The session's client epoch, which its events carry (`StoreAppend.epoch`); set at its first push when 0. */
  epoch: number;
  readonly registry: HubRegistry | undefined;
  allowed(action: HubAction, stream: string, kind?: string): boolean | Promise<boolean>;
}

/** A push judged by the session: answers it gave itself, and the events for the sequencer. */
export interface JudgedPush {
  /** One slot per pushed event; filled here for the events the session refused itself. */
  readonly results: (PushResult | undefined)[];
  readonly items: StoreAppend[];
  /** The index in `results` of each item. */
  readonly slots: number[];
  /** The protocol the client spoke at `hello`. */
  readonly protocol: number;
}

/**
 * Judges each event before the store sees it: envelope and size (decoded already), client id,
 * registry, authorization; writes the principal into `meta`. Refusals that concern this
 * client's own sequence are recorded through the store so its `clientSeq` advances; those that
 * cannot be (unknown schema, unreadable event, someone else's client id) are answered directly.
 *
 * Synchronous while every authorization decision is known (the common case: cached, or no
 * `authorize` hook): the push then reaches the sequencer in the turn it was read, without a
 * microtask hop per event or per push. From the first decision still pending it goes on once
 * that decision settles, event by event in order as before, and answers with a promise.
 */
export function judgePush(
  judge: PushJudge,
  events: readonly DecodedPushEvent[],
  raw: readonly unknown[],
): JudgedPush | Promise<JudgedPush> {
  return new Judging(judge, events, raw).from(0);
}

/** One push being judged: {@link judgePush}'s state, so that a pending decision can resume it. */
class Judging {
  readonly #judge: PushJudge;
  readonly #events: readonly DecodedPushEvent[];
  readonly #raw: readonly unknown[];
  readonly #results: (PushResult | undefined)[];
  readonly #items: (StoreAppend | undefined)[] = [];
  /** The events to commit, and where their items go: made once their texts are (see #done). */
  readonly #accepted: EventEnvelope[] = [];
  readonly #acceptedAt: number[] = [];
  readonly #slots: number[] = [];
  /** The lowest own seq refused without a record: nothing after it can be accepted yet. */
  #blockedAt = Infinity;

  constructor(judge: PushJudge, events: readonly DecodedPushEvent[], raw: readonly unknown[]) {
    this.#judge = judge;
    this.#events = events;
    this.#raw = raw;
    this.#results = undefinedSlots<PushResult>(events.length);
  }

  /** Judges the events from index `start` on; a promise from the first decision still pending. */
  from(start: number): JudgedPush | Promise<JudgedPush> {
    const events = this.#events;
    const { clientId } = this.#judge;
    for (let i = start; i < events.length; i++) {
      const decoded = events[i]!;
      if (!decoded.ok) {
        this.#undecodable(i, decoded);
        continue;
      }
      const event = decoded.value;
      if (event.clientId !== clientId) {
        this.#results[i] = rejected(
          event.id,
          ErrorCode.unauthorized,
          `clientId ${event.clientId} is not this connection's (${clientId})`,
        );
        continue;
      }
      if (event.clientSeq > this.#blockedAt) {
        this.#results[i] = rejected(
          event.id,
          ErrorCode.sequenceGap,
          `an earlier event (clientSeq ${this.#blockedAt}) was not accepted yet`,
        );
        continue;
      }
      const verdict = validate(this.#judge.registry, event);
      // A client of protocol 4 holds such an event aside and sends it again later under a new
      // seq: its refusal is recorded and the events after it go on. Older clients wait on it.
      const heldAside =
        !verdict.ok && verdict.error.code === ErrorCode.unknownEventVersion && this.#judge.protocol >= 4;
      if (!verdict.ok && verdict.error.code !== ErrorCode.invalid && !heldAside) {
        const code =
          verdict.error.code === ErrorCode.unknownEventVersion ? verdict.error.code : ErrorCode.internal;
        this.#results[i] = rejected(event.id, code, verdict.error.message);
        this.#blockedAt = Math.min(this.#blockedAt, event.clientSeq);
        continue;
      }
      if (!verdict.ok) {
        const code = heldAside ? ErrorCode.unknownEventVersion : ErrorCode.invalid;
        this.#take(i, event, { code, message: verdict.error.message.slice(0, 1024) });
        continue;
      }
      const allowed = this.#judge.allowed('push', event.stream, event.kind);
      if (typeof allowed !== 'boolean') {
        // Wait for this decision only; the events after it are judged once it is known.
        return allowed.then((yes) => {
          this.#take(i, event, yes ? undefined : denied(event));
          return this.from(i + 1);
        });
      }
      this.#take(i, event, allowed ? undefined : denied(event));
    }
    return this.#done();
  }

  /** An event that failed to decode: recorded under its own seq when it has one, else answered here. */
  #undecodable(i: number, decoded: Extract<DecodedPushEvent, { ok: false }>): void {
    const own = ownSequence(decoded, this.#raw[i], this.#judge.clientId);
    if (own !== undefined && own.seq < this.#blockedAt) {
      this.#items.push({
        event: own.envelope,
        rejection: { code: rejectionCode(decoded.error.code), message: decoded.error.message },
        epoch: this.#judge.epoch,
      });
      this.#slots.push(i);
      return;
    }
    this.#results[i] = rejected(decoded.id, rejectionCode(decoded.error.code), decoded.error.message);
    if (own !== undefined) this.#blockedAt = Math.min(this.#blockedAt, own.seq);
  }

  /** Hands event `i` to the store: to commit, or with the refusal it records. */
  #take(i: number, event: EventEnvelope, rejection: StoreAppend['rejection']): void {
    // The decoded event is this push's own copy (the decoder built it): stamp it in place.
    event.meta.principal = this.#judge.principal;
    if (rejection === undefined) {
      this.#accepted.push(event);
      this.#acceptedAt.push(this.#items.length);
      this.#items.push(undefined);
    } else this.#items.push({ event, rejection, epoch: this.#judge.epoch });
    this.#slots.push(i);
  }

  #done(): JudgedPush {
    const accepted = this.#accepted;
    const items = this.#items;
    // Their stored texts now, while the store commits the transaction before (see StoreAppend).
    const texts = envelopeJsonSlices(accepted);
    const { epoch } = this.#judge;
    for (let k = 0; k < accepted.length; k++) {
      items[this.#acceptedAt[k]!] = { event: accepted[k]!, envelopeJson: texts[k]!, epoch };
    }
    return {
      results: this.#results,
      items: items as StoreAppend[],
      slots: this.#slots,
      protocol: this.#judge.protocol,
    };
  }
}

function denied(event: EventEnvelope): StoreAppend['rejection'] {
  return { code: ErrorCode.unauthorized, message: `may not push to ${event.stream}` };
}

/** The push's answers: the session's own, and the store's on the events it was given (`stored`, in `items` order). */
export function pushResults(judged: JudgedPush, stored: readonly DecidedResult[]): PushResult[] {
  const { results, slots } = judged;
  for (let i = 0; i < slots.length; i++) results[slots[i]!] = toPushResult(stored[i]!, judged.protocol);
  return results as PushResult[];
}

/** The registry's verdict on an event's data; a registry that throws counts as `internal`. */
function validate(registry: HubRegistry | undefined, event: EventEnvelope): Result<unknown> {
  if (registry === undefined) return { ok: true, value: event };
  try {
    return registry.validate(event);
  } catch (error) {
    return {
      ok: false,
      error: { code: ErrorCode.internal, message: `the hub's registry failed: ${String(error)}`, path: '' },
    };
  }
}

function rejectionCode(code: ErrorCode): RejectionCode {
  return code === ErrorCode.tooLarge ? ErrorCode.tooLarge : ErrorCode.invalid;
}

/**
 * For an event that failed to decode but names this connection's client, a UUIDv7 id and a
 * clientSeq: a stand-in envelope under which its refusal is recorded, so the sequence moves on.
 */
function ownSequence(
  decoded: Extract<DecodedPushEvent, { ok: false }>,
  raw: unknown,
  clientId: string,
): { seq: number; envelope: EventEnvelope } | undefined {
  if (!UUID_V7_PATTERN.test(decoded.id)) return undefined;
  const seq = readOwn(raw, 'clientSeq');
  if (
    readOwn(raw, 'clientId') !== clientId ||
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    seq < 1
  ) {
    return undefined;
  }
  const envelope: EventEnvelope = {
    id: decoded.id,
    type: 'eventloom.unreadable',
    version: 1,
    kind: 'domain',
    stream: 'eventloom:unreadable',
    data: null,
    meta: {},
    clientId,
    clientSeq: seq,
    hlc: `000000000000000-0000000000-${clientId}`,
  };
  return { seq, envelope };
}
