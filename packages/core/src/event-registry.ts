import { err, ErrorCode, ok, type ProtocolIssue, type Result } from '@eventloom/protocol';
import { z } from 'zod';
import { CoreError, CoreErrorCode } from './core-error.ts';
import type { EventData, EventDefinition } from './define-event.ts';
import { snapshotDefinitions, type RegistrySnapshot } from './registry-snapshot.ts';

/** What a registry reads: anything with a type, a version and data (an envelope, a committed event, a row). */
export interface VersionedEvent {
  readonly type: string;
  readonly version: number;
  readonly data: unknown;
  /** When present, `validate` checks it against the kind the type was defined with. */
  readonly kind?: string;
}

/** `{ type, version, data }` at the latest version, for each definition of a registry: a union discriminated by `type`. */
export type LatestEventOf<D extends EventDefinition> = D extends EventDefinition
  ? { readonly type: D['type']; readonly version: D['version']; readonly data: EventData<D> }
  : never;

/** An event `E` as a registry returns it: every field kept, `version` and `data` at the latest version of its type. */
export type UpcastEvent<E extends VersionedEvent, D extends EventDefinition> = Omit<
  E,
  'type' | 'version' | 'data'
> &
  LatestEventOf<D>;

/**
 * The event types an app knows, with every version's schema and the upcasters between them.
 * `validate` is the decode boundary for events from outside (a push, an outbox written by an older
 * app); `upcast` lifts stored events that were validated when written. Both return a `Result` and
 * never throw. A registry is immutable: `register` and `merge` return a new one.
 *
 * @example
 * const registry = createRegistry([TodoAdded, TodoDone]);
 * const result = registry.validate(envelope);
 * if (result.ok) apply(result.value); // data at the latest version of its type
 * else reject(result.error.code);     // 'unknown-event-version' | 'invalid' | 'internal'
 */
export class EventRegistry<D extends EventDefinition = EventDefinition> {
  readonly #types: ReadonlyMap<string, TypeEntry>;
  readonly #definitions: readonly D[];
  #snapshot: RegistrySnapshot | undefined;

  /** Prefer {@link createRegistry}. Throws a {@link CoreError} `duplicate-event-type` if two definitions share a type. */
  constructor(definitions: Iterable<D>) {
    const types = new Map<string, TypeEntry>();
    const list: D[] = [];
    for (const definition of definitions) {
      const existing = types.get(definition.type);
      if (existing !== undefined) {
        if (existing.definition === definition) continue;
        throw new CoreError(
          CoreErrorCode.duplicateEventType,
          `event type ${definition.type} is defined twice; one registry holds one definition per type`,
        );
      }
      types.set(definition.type, entryOf(definition));
      list.push(definition);
    }
    this.#types = types;
    this.#definitions = Object.freeze(list);
  }

  /** The definitions, in registration order. */
  get definitions(): readonly D[] {
    return this.#definitions;
  }

  /** The definition of a type, if registered. */
  get<T extends D['type']>(type: T): Extract<D, { readonly type: T }> | undefined;
  get(type: string): D | undefined;
  get(type: string): D | undefined {
    return this.#types.get(type)?.definition as D | undefined;
  }

  /** Whether the registry knows this type, and this version of it if given. */
  has(type: string, version?: number): boolean {
    const entry = this.#types.get(type);
    if (entry === undefined) return false;
    return version === undefined || (Number.isInteger(version) && version >= 1 && version <= entry.latest);
  }

  /** The latest version of a type, or `undefined` if the type is unknown. */
  latestVersion(type: string): number | undefined {
    return this.#types.get(type)?.latest;
  }

  /**
   * Checks an event's data against the schema of its (type, version), upcasts it through the
   * chain to the latest version and checks the result against the latest schema. The value is
   * the event with every other field kept and `version`/`data` at the latest version; the data is
   * zod's parsed output (defaults applied, unknown keys dropped). Errors:
   * `unknown-event-version` (type or version not registered), `invalid` (the data does not match,
   * with a readable message and the path, e.g. `data.title`; or a `kind` other than the type's),
   * `internal` (an upcaster threw or
   * produced data the latest schema refuses — a bug in the app, not in the event).
   */
  validate<E extends VersionedEvent>(event: E): Result<UpcastEvent<E, D>> {
    const found = this.#find(event);
    if (!found.ok) return found;
    const { entry, step } = found.value;
    if (event.kind !== undefined && event.kind !== entry.definition.kind) {
      return err({
        code: ErrorCode.invalid,
        message: `${entry.definition.type} is a ${entry.definition.kind} event, not ${String(event.kind)}`,
        path: 'kind',
      });
    }
    const parsed = z.safeParse(step.schema, event.data);
    if (!parsed.success) return err(invalid(entry, event.version, parsed.error.issues));
    if (step.chain.length === 0) return ok(withData(event, entry.latest, parsed.data));
    const lifted = runChain(entry, event.version, step.chain, parsed.data);
    if (!lifted.ok) return lifted;
    const verified = z.safeParse(entry.latestSchema, lifted.value);
    if (!verified.success) {
      const issue = invalid(entry, entry.latest, verified.error.issues);
      return err({
        code: ErrorCode.internal,
        message: `${entry.definition.type}: upcasting v${event.version} to v${entry.latest} gives data v${entry.latest} refuses: ${issue.message}`,
        path: issue.path,
      });
    }
    return ok(withData(event, entry.latest, verified.data));
  }

  /**
   * Upcasts an event that was validated when it was written (a stored row) to the latest version
   * of its type, without parsing its data again. Errors: `unknown-event-version`, or `internal` if
   * an upcaster throws. Upcasters must not mutate their input: it is the stored data.
   */
  upcast<E extends VersionedEvent>(event: E): Result<UpcastEvent<E, D>> {
    const found = this.#find(event);
    if (!found.ok) return found;
    const { entry, step } = found.value;
    if (step.chain.length === 0) return ok(event as unknown as UpcastEvent<E, D>);
    const lifted = runChain(entry, event.version, step.chain, event.data);
    if (!lifted.ok) return lifted;
    return ok(withData(event, entry.latest, lifted.value));
  }

  /** A new registry with these definitions added; this one is unchanged. Throws like the constructor. */
  register<N extends EventDefinition>(...definitions: readonly N[]): EventRegistry<D | N> {
    return new EventRegistry<D | N>([...this.#definitions, ...definitions]);
  }

  /** A new registry with the definitions of both; this one is unchanged. Throws like the constructor. */
  merge<N extends EventDefinition>(other: EventRegistry<N>): EventRegistry<D | N> {
    return new EventRegistry<D | N>([...this.#definitions, ...other.definitions]);
  }

  /**
   * Every (type, version) as JSON Schema with its fingerprint, and the registry's fingerprint:
   * what `eventloom schema snapshot` commits and `checkCompatibility` compares. Computed once.
   */
  snapshot(): RegistrySnapshot {
    this.#snapshot ??= snapshotDefinitions(this.#definitions);
    return this.#snapshot;
  }

  /** The registry's fingerprint (see {@link EventRegistry.snapshot}), what a client sends in `hello`. */
  get fingerprint(): string {
    return this.snapshot().fingerprint;
  }

  #find(event: VersionedEvent): Result<{ entry: TypeEntry; step: VersionStep }> {
    const entry = this.#types.get(event.type);
    if (entry === undefined) {
      return err({
        code: ErrorCode.unknownEventVersion,
        message: `unknown event type ${JSON.stringify(event.type)}`,
        path: 'type',
      });
    }
    const step = Number.isInteger(event.version) ? entry.steps[event.version] : undefined;
    if (step === undefined) {
      return err({
        code: ErrorCode.unknownEventVersion,
        message: `${entry.definition.type} has no version ${String(event.version)} (this registry knows 1 … ${entry.latest})`,
        path: 'version',
      });
    }
    return ok({ entry, step });
  }
}

/**
 * Makes a registry of event definitions. Throws a {@link CoreError} `duplicate-event-type` if two
 * different definitions share a type (the same definition twice is fine).
 *
 * @example const registry = createRegistry([TodoAdded, TodoDone, ListRenamed]);
 */
export function createRegistry<const L extends readonly EventDefinition[]>(
  definitions: L,
): EventRegistry<L[number]> {
  return new EventRegistry<L[number]>(definitions);
}

interface TypeEntry {
  readonly definition: EventDefinition;
  readonly latest: number;
  readonly latestSchema: z.core.$ZodType;
  /** By version number; index 0 is unused. */
  readonly steps: readonly (VersionStep | undefined)[];
}

interface VersionStep {
  readonly schema: z.core.$ZodType;
  /** The upcasters from this version to the latest, in order; empty for the latest. */
  readonly chain: readonly ((data: unknown) => unknown)[];
}

function entryOf(definition: EventDefinition): TypeEntry {
  const latest = definition.version;
  const steps: (VersionStep | undefined)[] = [undefined];
  for (let version = 1; version <= latest; version++) {
    const chain: ((data: unknown) => unknown)[] = [];
    for (let from = version; from < latest; from++) chain.push(definition.upcasters.get(from)!);
    steps.push({ schema: definition.schemas.get(version)!, chain });
  }
  return { definition, latest, latestSchema: definition.schema, steps };
}

function runChain(
  entry: TypeEntry,
  version: number,
  chain: readonly ((data: unknown) => unknown)[],
  data: unknown,
): Result<unknown> {
  let value = data;
  let i = 0;
  try {
    for (; i < chain.length; i++) value = chain[i]!(value);
  } catch (cause) {
    const from = version + i;
    return err({
      code: ErrorCode.internal,
      message: `${entry.definition.type}: the upcaster from v${from} to v${from + 1} threw: ${cause instanceof Error ? cause.message : String(cause)}`,
      path: 'data',
    });
  }
  return ok(value);
}

function withData<E extends VersionedEvent, D extends EventDefinition>(
  event: E,
  version: number,
  data: unknown,
): UpcastEvent<E, D> {
  return { ...event, version, data } as unknown as UpcastEvent<E, D>;
}

function invalid(entry: TypeEntry, version: number, issues: readonly z.core.$ZodIssue[]): ProtocolIssue {
  const first = issues[0];
  const path = ['data', ...(first?.path ?? []).map(String)].join('.');
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return {
    code: ErrorCode.invalid,
    message: `${entry.definition.type} v${version}: ${path}: ${first?.message ?? 'invalid'}${more}`.slice(
      0,
      1024,
    ),
    path,
  };
}
