import type { StoredEventKind } from '@eventloom/protocol';
import { z } from 'zod';
import { compareCodeUnits } from './compare-code-units.ts';
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
  for (const definition of [...definitions].sort((a, b) => compareCodeUnits(a.type, b.type))) {
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

/** The registry fingerprint of a snapshot's events: every type's kind and version fingerprints. */
export function registryFingerprint(events: RegistrySnapshot['events']): string {
  const summary: Record<string, unknown> = {};
  for (const [type, entry] of Object.entries(events)) {
    const versions: Record<string, string> = {};
    for (const [version, v] of Object.entries(entry.versions)) versions[version] = v.fingerprint;
    summary[type] = { kind: entry.kind, versions };
  }
  return fingerprint(summary);
}
