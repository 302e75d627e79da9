import {
  isRejection,
  type Decider,
  type EventDefinition,
  type EventRegistry,
  type FoldableEvent,
  type Rejection,
} from '@eventloom/core';
import {
  eventMetaSchema,
  guardJson,
  isStreamName,
  Limits,
  STORED_EVENT_KINDS,
  type EventEnvelope,
  type EventMeta,
  type JsonValue,
  type StoredEventKind,
} from '@eventloom/protocol';
import { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
import type { AppendPendingResult, ClientStore, OutboxRow, PendingCommand } from './client-store.ts';
import type { DeviceClock } from './device-clock.ts';
import type { ProjectionHost } from './projection-host.ts';
import type { Upcaster } from './upcaster.ts';

/**
 * An event to append: what `EventDefinition.create` returns, a decider's draft, or a plain object.
 * `version` defaults to the latest of the type, `kind` to the type's kind, `stream` to the stream
 * passed to `append`.
 */
export interface AppendInput<T extends string = string, I = unknown> {
  readonly type: T;
  readonly data: I;
  readonly version?: number;
  readonly kind?: StoredEventKind;
  readonly meta?: EventMeta;
  readonly stream?: string;
}

/** The {@link AppendInput}s a registry of definitions `D` accepts, typed by event type. */
export type AppendInputOf<D extends EventDefinition> =
  D extends EventDefinition<infer T, number, unknown, infer I> ? AppendInput<T, I> : never;

/** Options of `append` and `appendMany`. */
export interface AppendOptions {
  /**
   * Optimistic concurrency: the version of the stream the events were decided on. The first event
   * of the stream carries it, each further one of the same stream one more.
   */
  readonly expectedVersion?: number;
  /** Metadata merged under each event's own `meta`. */
  readonly meta?: EventMeta;
}

/** Options of `appendMany`. */
export interface AppendManyOptions extends AppendOptions {
  /**
   * Makes the append idempotent: the key is stored with the events, in the same transaction, and
   * a later append with the same key (from any tab, after any restart) stores nothing and
   * resolves with no events. Keys are kept for good.
   */
  readonly idempotencyKey?: string;
}

/** What `execute` returns: the events appended, or the decider's rejection, with the state decided on. */
export type ExecuteResult<S, Code extends string = string> =
  | { readonly ok: true; readonly events: readonly EventEnvelope[]; readonly state: S }
  | { readonly ok: false; readonly rejection: Rejection<Code>; readonly state: S };

/** A decision made: the events appended, or the rejection, with the state and stream version decided on. */
export type Decided<S, Code extends string> =
  | { ok: true; events: EventEnvelope[]; state: S; streamVersion: number }
  | { ok: false; rejection: Rejection<Code>; state: S; streamVersion: number };

/** One `append` call waiting in a group (see {@link Appender.appendGrouped}). */
export interface AppendGroupEntry {
  readonly stream: string;
  readonly event: AppendInput;
  readonly options: AppendOptions | undefined;
  readonly resolve: (event: EventEnvelope) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Told of an append's outbox rows while their write is in flight; may return what to call, inside
 * the same task, with whether the write landed.
 */
export type WriteListener = (rows: readonly OutboxRow[]) => ((landed: boolean) => void) | undefined;

/** An event validated, before the store gives it an id, a clientSeq and an hlc. */
type Draft = Omit<EventEnvelope, 'id' | 'clientId' | 'clientSeq' | 'hlc'>;

/** What an append carries besides its events: the command that decided them, the rows they replace. */
interface AppendExtra {
  readonly command?: Omit<PendingCommand, 'first'>;
  readonly replace?: readonly number[];
}

/**
 * Appends events to the outbox: validates them, stamps them (id, clientSeq, hlc) in the store's
 * transaction, and moves the in-memory view by what was stored. Runs deciders (`execute`) on the
 * freshest state. Every method runs inside the runtime's queue.
 */
export class Appender {
  readonly #store: ClientStore;
  readonly #host: ProjectionHost;
  readonly #upcaster: Upcaster;
  readonly #clock: DeviceClock;
  readonly #nextId: () => string;
  readonly #announce: () => void;
  readonly #sole: () => boolean;
  readonly #writing = new Set<WriteListener>();

  constructor(options: {
    readonly store: ClientStore;
    readonly host: ProjectionHost;
    readonly upcaster: Upcaster;
    readonly clock: DeviceClock;
    readonly nextId: () => string;
    /** Tells other tabs the store changed. */
    readonly announce: () => void;
    /** Whether this instance knows of no other writer of its database (`AppendPendingOptions.sole`). */
    readonly sole?: () => boolean;
  }) {
    this.#store = options.store;
    this.#host = options.host;
    this.#upcaster = options.upcaster;
    this.#clock = options.clock;
    this.#nextId = options.nextId;
    this.#announce = options.announce;
    this.#sole = options.sole ?? (() => false);
  }

  /**
   * Validates and stores events in one transaction (all or none), replacing the outbox rows
   * `extra.replace`; `extra.command` is kept with them. Resolves with the stored envelopes.
   */
  async append(
    stream: string,
    inputs: readonly AppendInput[],
    options: AppendManyOptions | undefined,
    many: boolean,
    extra: AppendExtra = {},
  ): Promise<EventEnvelope[]> {
    const drafts = validateAppend(this.#upcaster.registry, stream, inputs, options, many);
    return this.#stamp(drafts, many, extra, options?.idempotencyKey);
  }

  /**
   * Appends the single events of a group (`append` calls made at once) in one transaction: each
   * is validated alone (a bad one fails alone), the valid ones are stored together. If that
   * transaction fails, each is tried alone, so that one event cannot fail the others. Settles
   * every entry.
   */
  async appendGrouped(entries: readonly AppendGroupEntry[]): Promise<void> {
    if (entries.length === 1) {
      const only = entries[0]!;
      try {
        only.resolve((await this.append(only.stream, [only.event], only.options, false))[0]!);
      } catch (error) {
        only.reject(toClientError(error));
      }
      return;
    }
    const valid: AppendGroupEntry[] = [];
    const drafts: Draft[] = [];
    for (const entry of entries) {
      try {
        drafts.push(
          ...validateAppend(this.#upcaster.registry, entry.stream, [entry.event], entry.options, false),
        );
        valid.push(entry);
      } catch (error) {
        entry.reject(toClientError(error));
      }
    }
    if (valid.length === 0) return;
    let events: EventEnvelope[];
    const shared = { stamped: false };
    try {
      events = await this.#stamp(drafts, false, {}, undefined, shared);
    } catch (error) {
      // Stamped rows may have been pushed: sent again alone, they would go under new ids.
      if (shared.stamped) {
        for (const entry of valid) entry.reject(toClientError(error));
        return;
      }
      // The shared transaction stored nothing: each on its own, so only the culprit fails.
      for (const entry of valid) await this.appendGrouped([entry]);
      return;
    }
    for (let i = 0; i < valid.length; i++) valid[i]!.resolve(events[i]!);
  }

  /** Stamps validated drafts (id, clientSeq, hlc) and stores them in one transaction. */
  async #stamp(
    drafts: readonly Draft[],
    many: boolean,
    extra: AppendExtra,
    idempotencyKey: string | undefined,
    shared: { stamped: boolean } = { stamped: false },
  ): Promise<EventEnvelope[]> {
    // Told once the rows are final, while their write is in flight: the sync may push them then.
    const landed: ((ok: boolean) => void)[] = [];
    const stamped = (rows: readonly OutboxRow[]) => {
      shared.stamped = true;
      for (const listener of this.#writing) {
        const then = listener(rows);
        if (then) landed.push(then);
      }
    };
    let result: AppendPendingResult;
    try {
      result = await this.#appendPending(drafts, many, extra, idempotencyKey, stamped);
    } catch (error) {
      for (const then of landed) then(false);
      throw error;
    }
    for (const then of landed) then(true);
    await this.#host.follow(result.before, result.replaced.length === 0, {
      meta: result.meta,
      confirmed: [],
      pending: result.rows,
      pendingReset: false,
      historyReset: false,
    });
    this.#announce();
    return result.rows.map((r) => r.event);
  }

  #appendPending(
    drafts: readonly Draft[],
    many: boolean,
    extra: AppendExtra,
    idempotencyKey: string | undefined,
    stamped: (rows: readonly OutboxRow[]) => void,
  ): Promise<AppendPendingResult> {
    return this.#store.appendPending(
      (meta) => {
        this.#clock.catchUp(meta.hlc);
        const events = drafts.map((draft, i): EventEnvelope => {
          const envelope: EventEnvelope = {
            id: this.#nextId(),
            ...draft,
            clientId: meta.clientId,
            clientSeq: meta.clientSeq + i + 1,
            hlc: this.#clock.stamp(),
          };
          checkSize(envelope, draft, i, many);
          return envelope;
        });
        const command = extra.command ? { ...extra.command, first: meta.clientSeq + 1 } : undefined;
        return { events, hlc: events.at(-1)?.hlc, ...(command ? { command } : {}) };
      },
      {
        ...(extra.replace ? { replace: extra.replace } : {}),
        ...(idempotencyKey === undefined ? {} : { key: idempotencyKey }),
        ...(this.#writing.size === 0 ? {} : { stamped, sole: this.#sole() }),
      },
    );
  }

  /**
   * Tells `listener` of each append's rows once they are final, while their write is in flight
   * (inside the append's task); it may return what to call with whether the write landed. Returns
   * the function that stops telling it.
   */
  onWriting(listener: WriteListener): () => void {
    this.#writing.add(listener);
    return () => void this.#writing.delete(listener);
  }

  /** Runs a decider for `execute`: the command is remembered (if it is JSON) for a later redecide. */
  async execute<S, C, M extends object, Code extends string>(
    decider: Decider<S, C, M, Code>,
    command: C,
    options: { readonly stream?: string; readonly meta?: EventMeta },
  ): Promise<ExecuteResult<S, Code>> {
    const stream = options.stream ?? decider.stream?.(command);
    if (stream === undefined) {
      throw new ClientError(
        ClientErrorCode.invalid,
        `decider ${decider.name} has no stream(): pass options.stream`,
      );
    }
    // Kept only if it is JSON: a command that is not cannot be stored nor decided again.
    const json = guardJson(command, { maxBytes: Limits.maxEventBytes }).ok;
    const remembered: Omit<PendingCommand, 'first'> | undefined = json
      ? {
          decider: decider.name,
          command: command as JsonValue,
          attempt: 0,
          ...(options.stream === undefined ? {} : { stream: options.stream }),
          ...(options.meta === undefined ? {} : { meta: options.meta }),
        }
      : undefined;
    const decided = await this.decide(decider, command, stream, new Set(), remembered, []);
    return decided.ok
      ? { ok: true, events: decided.events, state: decided.state }
      : { ok: false, rejection: decided.rejection, state: decided.state };
  }

  /**
   * Decides a command on the freshest state this device has (other tabs may have stored events
   * since), leaving out the pending rows in `without` (a decision being made again), and appends
   * the events, replacing `replace`.
   */
  async decide<S, C, M extends object, Code extends string>(
    decider: Decider<S, C, M, Code>,
    command: C,
    stream: string,
    without: ReadonlySet<number>,
    remembered: Omit<PendingCommand, 'first'> | undefined,
    replace: readonly number[],
  ): Promise<Decided<S, Code>> {
    await this.#host.refresh();
    const confirmed = await this.#store.readConfirmed({ stream, until: this.#host.view.position });
    const pending = this.#host.pending.filter(
      (p) => p.row.event.stream === stream && !without.has(p.row.clientSeq),
    );
    let state = decider.initial;
    const evolve = decider.evolve as (state: S, event: FoldableEvent) => S;
    for (const event of [...confirmed, ...pending.map((p) => p.row.event)]) {
      state = evolve(state, this.#upcaster.readOrThrow(event));
    }
    const streamVersion = confirmed.at(-1)?.streamVersion ?? 0;
    const decision = decider.decide(command, state);
    if (isRejection(decision)) return { ok: false, rejection: decision, state, streamVersion };
    if (decision.length === 0) return { ok: true, events: [], state, streamVersion };
    const expectedVersion = streamVersion + pending.length;
    const meta = remembered?.meta;
    const events = await this.append(
      stream,
      decision as readonly AppendInput[],
      { expectedVersion, ...(meta ? { meta } : {}) },
      true,
      { ...(remembered ? { command: remembered } : {}), replace },
    );
    return { ok: true, events, state, streamVersion };
  }
}

/** The size is the whole envelope's: the path names the event, the message the part that tipped it. */
function checkSize(envelope: EventEnvelope, draft: Draft, i: number, many: boolean): void {
  const size = guardJson(envelope, { maxBytes: Limits.maxEventBytes });
  if (size.ok) return;
  const tooLarge = size.error.code === 'too-large';
  throw appendError(
    many,
    i,
    tooLarge ? ClientErrorCode.tooLarge : ClientErrorCode.invalid,
    tooLarge
      ? `${draft.type}: the event is larger than ${Limits.maxEventBytes} bytes (at ${size.error.path || 'the root'})`
      : `${draft.type}: ${size.error.message}`,
    tooLarge ? '' : size.error.path,
  );
}

/** The error of event `i` of an append: with `many`, its path starts with the index. */
function appendError(
  many: boolean,
  i: number,
  code: ClientErrorCode,
  message: string,
  path: string,
): ClientError {
  return new ClientError(code, message, { path: [many ? String(i) : '', path].filter(Boolean).join('.') });
}

/**
 * Checks everything that does not depend on the meta, before any transaction starts: the stream
 * name, the type and version against the registry, the data, the kind and the meta. Numbers the
 * `expectedVersion` of each further event of `stream`.
 */
export function validateAppend(
  registry: EventRegistry,
  stream: string,
  inputs: readonly AppendInput[],
  options: AppendOptions | undefined,
  many: boolean,
): Draft[] {
  if (!Array.isArray(inputs))
    throw new ClientError(ClientErrorCode.invalid, 'appendMany takes an array of events');
  const nextVersion = new Map<string, number>();
  return inputs.map((input, i) => {
    if (typeof input !== 'object' || input === null)
      throw appendError(many, i, ClientErrorCode.invalid, 'an event must be an object', '');
    const target = input.stream ?? stream;
    if (!isStreamName(target)) {
      throw appendError(
        many,
        i,
        ClientErrorCode.invalid,
        `not a valid stream name: ${JSON.stringify(target)}`,
        'stream',
      );
    }
    const definition = registry.get(input.type);
    if (definition === undefined) {
      throw appendError(
        many,
        i,
        ClientErrorCode.unknownEventVersion,
        `unknown event type ${JSON.stringify(input.type)}`,
        'type',
      );
    }
    const version = input.version ?? definition.version;
    const validated = registry.validate({ type: input.type, version, data: input.data });
    if (!validated.ok) {
      const code =
        validated.error.code === 'unknown-event-version'
          ? ClientErrorCode.unknownEventVersion
          : ClientErrorCode.invalid;
      throw appendError(many, i, code, validated.error.message, validated.error.path);
    }
    const kind = input.kind ?? definition.kind;
    if (!(STORED_EVENT_KINDS as readonly string[]).includes(kind)) {
      throw appendError(
        many,
        i,
        ClientErrorCode.invalid,
        `kind must be one of ${STORED_EVENT_KINDS.join(', ')}`,
        'kind',
      );
    }
    // No meta at all (the common case) is `{}`, as the schema would output it.
    const noMeta = options?.meta === undefined && input.meta === undefined;
    const parsedMeta = noMeta
      ? { success: true as const, data: {} }
      : eventMetaSchema.safeParse({ ...options?.meta, ...input.meta });
    if (!parsedMeta.success) {
      const issue = parsedMeta.error.issues[0];
      throw appendError(
        many,
        i,
        ClientErrorCode.invalid,
        `meta: ${issue?.message ?? 'invalid'}`,
        ['meta', ...(issue?.path ?? []).map(String)].join('.'),
      );
    }
    const { value } = validated;
    const draft = {
      type: input.type,
      version: value.version,
      kind,
      stream: target,
      data: value.data as EventEnvelope['data'],
      meta: parsedMeta.data,
    };
    if (options?.expectedVersion === undefined || target !== stream) return draft;
    const expected = nextVersion.get(target) ?? options.expectedVersion;
    nextVersion.set(target, expected + 1);
    return { ...draft, expectedVersion: expected };
  });
}
