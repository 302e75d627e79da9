import {
  eventTypeSchema,
  Limits,
  STORED_EVENT_KINDS,
  type EventMeta,
  type StoredEventKind,
} from '@eventloom/protocol';
import { z } from 'zod';
import { CoreError, CoreErrorCode } from './core-error.ts';

/** The zod schemas of an event type's versions, by version number: `{ 1: v1, 2: v2 }`. */
export type VersionSchemas = { readonly [version: number]: z.core.$ZodType };

/** The highest version of a {@link VersionSchemas} map (versions run 1, 2, … N without gaps). */
export type LatestVersion<V extends VersionSchemas> = number extends keyof V
  ? number
  : { [K in keyof V & number]: Next<K> extends keyof V ? never : K }[keyof V & number];

/**
 * One upcaster per version but the latest: `upcast[n]` turns the parsed data of version n into
 * the data of version n + 1. Pure and total: it must accept every valid value of version n.
 */
export type Upcasters<V extends VersionSchemas> = {
  readonly [K in Exclude<keyof V & number, LatestVersion<V>>]: (
    data: z.output<V[K]>,
  ) => z.output<V[Next<K> & keyof V]>;
};

/** What {@link defineEvent} takes besides the type and the schemas. */
export type DefineEventOptions<V extends VersionSchemas, K extends StoredEventKind = StoredEventKind> = {
  /** The kind of every event of this type (DESIGN.md §7). Default `domain`. */
  readonly kind?: K;
} & (LatestVersion<V> extends 1
  ? { readonly upcast?: Readonly<Record<never, never>> }
  : { readonly upcast: Upcasters<V> });

/** What {@link EventDefinition.create} takes besides the data. */
export interface CreateEventOptions {
  /** Metadata: `correlationId`, `causationId`, `traceparent`, free JSON keys. */
  readonly meta?: EventMeta;
}

/**
 * An event of a defined type at its latest version, as {@link EventDefinition.create} makes it:
 * the client completes it into an envelope (id, stream, clientId, clientSeq, hlc). Structurally
 * it is also what deciders return.
 */
export interface NewEvent<
  T extends string = string,
  Ver extends number = number,
  D = unknown,
  K = StoredEventKind,
> {
  readonly type: T;
  readonly version: Ver;
  readonly kind: K;
  readonly data: D;
  readonly meta?: EventMeta;
}

/**
 * A defined event type: its name, kind, the schema of each version, the upcasters between them,
 * and {@link EventDefinition.create} to make events of the latest version. The type parameters
 * carry the type name, the latest version, the latest data (output and input of its schema) and
 * the kind; the defaults erase them, for registries of any definition.
 */
export interface EventDefinition<
  T extends string = string,
  Ver extends number = number,
  D = unknown,
  I = D,
  K extends StoredEventKind = StoredEventKind,
> {
  /** The event type name, e.g. `todo.added`. */
  readonly type: T;
  /** The latest version: what {@link EventDefinition.create} writes and what reads upcast to. */
  readonly version: Ver;
  readonly kind: K;
  /** The schema of every version, by version number (1 … `version`). */
  readonly schemas: ReadonlyMap<number, z.core.$ZodType>;
  /** The schema of the latest version. */
  readonly schema: z.core.$ZodType<D, I>;
  /** `upcasters.get(n)` turns data of version n into data of version n + 1 (type-erased). */
  readonly upcasters: ReadonlyMap<number, (data: unknown) => unknown>;
  /**
   * Makes an event of the latest version. Parses `data` with the latest schema first (defaults
   * apply, unknown keys are dropped) and throws a {@link CoreError} `invalid` if it does not match:
   * creating an invalid event is a programmer error. Check untrusted input with `schema` first.
   */
  create(data: I, options?: CreateEventOptions): NewEvent<T, Ver, D, K>;
  /** Whether an event is of this type (any version). Narrows to the latest shape, for upcast events. */
  is(event: {
    readonly type: string;
  }): event is { readonly type: T; readonly version: Ver; readonly data: D };
}

/** The data type of a definition's latest version. @example type Todo = EventData<typeof TodoAdded>; */
export type EventData<E extends EventDefinition> = ReturnType<E['create']>['data'];

/** The event {@link EventDefinition.create} makes for a definition. */
export type NewEventOf<E extends EventDefinition> = ReturnType<E['create']>;

/**
 * Defines an event type with its schema versions and the upcasters that lift old data to the
 * latest version. Versions are the integers 1 … N without gaps; every version but the latest
 * needs an upcaster to the next. Stored events keep the version they were written with and are
 * upcast on read (DESIGN.md §6). Throws a {@link CoreError} `invalid-definition` on a gap, a
 * missing or extra upcaster, a bad type name or kind: those are programmer errors.
 *
 * Schemas should describe plain JSON. A schema's output must parse again as its input (defaults
 * are fine, transforms that change the shape are not), because `create` stores the output.
 *
 * @example
 * const TodoAdded = defineEvent(
 *   'todo.added',
 *   { 1: z.object({ title: z.string() }), 2: z.object({ title: z.string(), done: z.boolean() }) },
 *   { upcast: { 1: (v1) => ({ ...v1, done: false }) } },
 * );
 * const draft = TodoAdded.create({ title: 'milk', done: false }); // { type: 'todo.added', version: 2, kind: 'domain', data }
 */
export function defineEvent<
  const T extends string,
  const V extends VersionSchemas,
  const K extends StoredEventKind = 'domain',
>(
  type: T,
  versions: V & ConsecutiveVersions<V>,
  ...options: LatestVersion<V> extends 1
    ? [options?: DefineEventOptions<V, K>]
    : [options: DefineEventOptions<V, K>]
): EventDefinition<T, LatestVersion<V>, z.output<V[LatestVersion<V>]>, z.input<V[LatestVersion<V>]>, K> {
  const opts: { kind?: unknown; upcast?: unknown } = options[0] ?? {};
  const fail = (message: string): never => {
    throw new CoreError(CoreErrorCode.invalidDefinition, `defineEvent(${JSON.stringify(type)}): ${message}`);
  };
  if (!eventTypeSchema.safeParse(type).success) fail('not a valid event type name');
  const kind = (opts.kind ?? 'domain') as K;
  if (!(STORED_EVENT_KINDS as readonly unknown[]).includes(kind)) {
    fail(`kind must be one of ${STORED_EVENT_KINDS.join(', ')}, not ${String(kind)}`);
  }

  const schemas = new Map<number, z.core.$ZodType>();
  const keys = Object.keys(versions);
  if (keys.length === 0) fail('needs at least version 1');
  if (keys.length > Limits.maxEventVersion) fail(`more than ${Limits.maxEventVersion} versions`);
  for (let version = 1; version <= keys.length; version++) {
    const schema: unknown = (versions as Record<number, unknown>)[version];
    if (schema === undefined) fail(`versions must be 1 … ${keys.length} without gaps; ${version} is missing`);
    if (!isZodSchema(schema)) fail(`version ${version} is not a zod schema`);
    schemas.set(version, schema as z.core.$ZodType);
  }
  const latest = keys.length;

  const upcast = opts.upcast ?? {};
  if (typeof upcast !== 'object' || upcast === null) fail('upcast must be an object of functions');
  const upcasters = new Map<number, (data: unknown) => unknown>();
  for (const key of Object.keys(upcast as object)) {
    const from = Number(key);
    if (!Number.isInteger(from) || from < 1 || from >= latest) {
      fail(`upcast[${key}] has no next version to upcast to (versions are 1 … ${latest})`);
    }
  }
  for (let from = 1; from < latest; from++) {
    const fn: unknown = (upcast as Record<number, unknown>)[from];
    if (typeof fn !== 'function') fail(`missing upcaster from version ${from} to ${from + 1}`);
    upcasters.set(from, fn as (data: unknown) => unknown);
  }

  type D = z.output<V[LatestVersion<V>]>;
  type Ver = LatestVersion<V>;
  const schema = schemas.get(latest) as z.core.$ZodType<D, z.input<V[Ver]>>;
  return Object.freeze({
    type,
    version: latest as Ver,
    kind,
    schemas,
    schema,
    upcasters,
    create(data: z.input<V[Ver]>, createOptions?: CreateEventOptions): NewEvent<T, Ver, D, K> {
      const parsed = z.safeParse(schema, data);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const path = issue?.path.map(String).join('.') ?? '';
        throw new CoreError(
          CoreErrorCode.invalid,
          `${type} v${latest}: ${path ? `${path}: ` : ''}${issue?.message ?? 'invalid data'}`,
          { cause: parsed.error },
        );
      }
      const base = { type, version: latest as Ver, kind, data: parsed.data };
      return createOptions?.meta === undefined ? base : { ...base, meta: createOptions.meta };
    },
    is(event: {
      readonly type: string;
    }): event is { readonly type: T; readonly version: Ver; readonly data: D } {
      return event.type === type;
    },
  });
}

/** Whether a value is a zod (v4, classic or mini) schema. */
function isZodSchema(value: unknown): boolean {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/**
 * `unknown` when the versions run 1 … N without gaps; otherwise an object type whose key names the
 * problem, so that the call does not compile and the error message says why.
 */
type ConsecutiveVersions<V extends VersionSchemas> = number extends keyof V
  ? unknown
  : 1 extends keyof V
    ? [Gaps<V>] extends [never]
      ? unknown
      : { readonly 'versions must run 1 … N without gaps; missing the one before': Gaps<V> }
    : { readonly 'versions must start at 1': never };

/** The versions whose predecessor is missing. */
type Gaps<V extends VersionSchemas> = {
  [K in keyof V & number]: K extends 1 ? never : Prev<K> extends keyof V ? never : K;
}[keyof V & number];

// N + 1 and N - 1 for version numbers, as types: tuple lengths do the arithmetic.
type Prev<N extends number> = Tuple<N> extends [unknown, ...infer Rest] ? Rest['length'] : never;
type Next<N extends number> = [...Tuple<N>, unknown]['length'];
type Tuple<N extends number, T extends unknown[] = []> = T['length'] extends N
  ? T
  : Tuple<N, [...T, unknown]>;
