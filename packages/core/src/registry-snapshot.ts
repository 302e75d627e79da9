import {
  err,
  ErrorCode,
  ok,
  STORED_EVENT_KINDS,
  type Result,
  type StoredEventKind,
} from '@eventloom/protocol';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import type { JsonSchema } from './compare-json-schemas.ts';
import { CoreError, CoreErrorCode } from './core-error.ts';
import type { EventDefinition } from './define-event.ts';
import { fingerprint } from './fingerprint.ts';

/** The snapshot file format; bumped when its shape changes. */
export const REGISTRY_SNAPSHOT_FORMAT = 1;

/**
 * What a registry looks like as data: for every event type, its kind and, for every version, the
 * JSON Schema of its data (zod's own `z.toJSONSchema`, input side) with a fingerprint. Committed
 * to the repository by `eventloom schema snapshot`, it is what `checkCompatibility` compares the
 * current code against. `fingerprint` covers every type's kind and version fingerprints; it is
 * what a client sends in `hello`.
 */
export interface RegistrySnapshot {
  readonly format: typeof REGISTRY_SNAPSHOT_FORMAT;
  readonly fingerprint: string;
  readonly events: { readonly [type: string]: EventTypeSnapshot };
}

/** One event type in a {@link RegistrySnapshot}. */
export interface EventTypeSnapshot {
  readonly kind: StoredEventKind;
  readonly latestVersion: number;
  /** By version number, as a string key: `"1"`, `"2"`. */
  readonly versions: { readonly [version: string]: EventVersionSnapshot };
}

/** One (type, version) in a {@link RegistrySnapshot}. */
export interface EventVersionSnapshot {
  /** SHA-256 of the canonical JSON of `schema`. */
  readonly fingerprint: string;
  readonly schema: JsonSchema;
}

/**
 * Takes the snapshot of a list of definitions (what `EventRegistry.snapshot()` returns). Throws a
 * {@link CoreError} `unrepresentable-schema` if zod cannot export a schema as JSON Schema.
 */
export function snapshotDefinitions(definitions: Iterable<EventDefinition>): RegistrySnapshot {
  const events: Record<string, EventTypeSnapshot> = {};
  for (const definition of [...definitions].sort((a, b) => compare(a.type, b.type))) {
    const versions: Record<string, EventVersionSnapshot> = {};
    for (const [version, schema] of definition.schemas) {
      const json = toJsonSchema(definition.type, version, schema);
      versions[String(version)] = { fingerprint: fingerprint(json), schema: json };
    }
    events[definition.type] = { kind: definition.kind, latestVersion: definition.version, versions };
  }
  return { format: REGISTRY_SNAPSHOT_FORMAT, fingerprint: registryFingerprint(events), events };
}

/**
 * The JSON Schema zod gives for one version's data: draft 2020-12, the input side (what a reader
 * accepts), recursion as `$ref`. Parts JSON Schema cannot express (refinements, transforms) are
 * left out or opened up to "any", so the check may miss a change hidden inside them.
 */
export function toJsonSchema(type: string, version: number, schema: z.core.$ZodType): JsonSchema {
  try {
    return z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
      cycles: 'ref',
      reused: 'inline',
    }) as JsonSchema;
  } catch (cause) {
    throw new CoreError(
      CoreErrorCode.unrepresentableSchema,
      `${type} v${version}: cannot export the schema as JSON Schema: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/**
 * Reads a snapshot from parsed JSON (a committed file): checks its shape, its format version, and
 * that every fingerprint matches its schema (a hand-edited file is refused). Never throws.
 */
export function parseRegistrySnapshot(input: unknown): Result<RegistrySnapshot> {
  const parsed = registrySnapshotSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') ?? '';
    return err({
      code: ErrorCode.invalid,
      message: `${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}`,
      path,
    });
  }
  const snapshot = parsed.data as RegistrySnapshot;
  for (const [type, entry] of Object.entries(snapshot.events)) {
    const numbers = Object.keys(entry.versions).map(Number);
    if (numbers.length !== entry.latestVersion || Math.max(...numbers) !== entry.latestVersion) {
      return err({
        code: ErrorCode.invalid,
        message: `${type}: versions must be 1 … latestVersion (${entry.latestVersion}) without gaps`,
        path: `events.${type}.latestVersion`,
      });
    }
    for (const [version, v] of Object.entries(entry.versions)) {
      if (fingerprint(v.schema) !== v.fingerprint) {
        return err({
          code: ErrorCode.invalid,
          message: `${type} v${version}: the fingerprint does not match the schema (was the file edited by hand?)`,
          path: `events.${type}.versions.${version}.fingerprint`,
        });
      }
    }
  }
  if (registryFingerprint(snapshot.events) !== snapshot.fingerprint) {
    return err({
      code: ErrorCode.invalid,
      message: 'the registry fingerprint does not match its events',
      path: 'fingerprint',
    });
  }
  return ok(snapshot);
}

/** A snapshot as the text of the committed file: canonical (sorted keys), 2-space indented, with a final newline. */
export function stringifyRegistrySnapshot(snapshot: RegistrySnapshot): string {
  return `${canonicalJson(snapshot, 2)}\n`;
}

const fingerprintSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in lower-case hex');
const jsonSchemaSchema: z.ZodType<JsonSchema> = z.union([z.boolean(), z.record(z.string(), z.json())]);

/** The shape of a snapshot file, for {@link parseRegistrySnapshot}. */
export const registrySnapshotSchema = z.strictObject({
  format: z.literal(REGISTRY_SNAPSHOT_FORMAT),
  fingerprint: fingerprintSchema,
  events: z.record(
    z.string(),
    z.strictObject({
      kind: z.enum(STORED_EVENT_KINDS),
      latestVersion: z.int().min(1),
      versions: z
        .record(
          z.string().regex(/^[1-9][0-9]*$/, 'versions are positive integers'),
          z.strictObject({
            fingerprint: fingerprintSchema,
            schema: jsonSchemaSchema,
          }),
        )
        .refine((versions) => Object.keys(versions).length > 0, 'an event type needs at least one version'),
    }),
  ),
});

function registryFingerprint(events: RegistrySnapshot['events']): string {
  const summary: Record<string, unknown> = {};
  for (const [type, entry] of Object.entries(events)) {
    const versions: Record<string, string> = {};
    for (const [version, v] of Object.entries(entry.versions)) versions[version] = v.fingerprint;
    summary[type] = { kind: entry.kind, versions };
  }
  return fingerprint(summary);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
