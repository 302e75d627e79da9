import { compareCodeUnits } from './compare-code-units.ts';
import { compareJsonSchemas, type SchemaSides } from './compare-json-schemas.ts';
import { CompatibilityChange } from './compatibility-change.ts';
import type { EventTypeSnapshot, RegistrySnapshot } from './registry-snapshot.ts';

/**
 * The compatibility modes of a schema registry, with the meanings Confluent's Schema Registry
 * gives them. BACKWARD: the new schema reads data written with the previous one. FORWARD: the
 * previous schema reads data written with the new one. FULL: both. The `_TRANSITIVE` forms check
 * against every earlier schema, not only the last; see {@link checkCompatibility} for what
 * "earlier" means for event types with several versions.
 */
export const CompatibilityMode = {
  backward: 'BACKWARD',
  forward: 'FORWARD',
  full: 'FULL',
  backwardTransitive: 'BACKWARD_TRANSITIVE',
  forwardTransitive: 'FORWARD_TRANSITIVE',
  fullTransitive: 'FULL_TRANSITIVE',
} as const;

/** One of the values of {@link CompatibilityMode}. */
export type CompatibilityMode = (typeof CompatibilityMode)[keyof typeof CompatibilityMode];

/** Every mode, in the order above. */
export const COMPATIBILITY_MODES = Object.values(CompatibilityMode) as readonly CompatibilityMode[];

/**
 * Reads a mode the way people type it: any case, `-` or `_` between words
 * (`backward`, `full-transitive`). `undefined` if it names no mode.
 */
export function parseCompatibilityMode(text: string): CompatibilityMode | undefined {
  const normal = text.trim().toUpperCase().replaceAll('-', '_');
  return COMPATIBILITY_MODES.find((mode) => mode === normal);
}

/** One breaking change: which event type and version, where in its data, what, and why it breaks. */
export interface BreakingChange {
  readonly type: string;
  /** The version whose schema breaks (for a removal, the version that was removed). */
  readonly version: number;
  /** The version it was compared with: the same version in the snapshot, or an earlier version (transitive modes). */
  readonly againstVersion: number;
  /** Into the event's data: `title`, `address.street`, `tags[]`; empty for the whole event. */
  readonly path: string;
  readonly change: CompatibilityChange;
  /** Which guarantee it breaks: `backward` (new reads old), `forward` (old reads new), or `both`. */
  readonly direction: 'backward' | 'forward' | 'both';
  /** A sentence that names the reader and the writer, e.g. "v2 requires field "done", which v1 data does not have". */
  readonly message: string;
}

/**
 * Lists what breaks between a committed snapshot (`previous`) and the current registry's snapshot
 * (`current`) in a compatibility mode; empty means compatible. The rules:
 *
 * 1. Each (type, version) is its own schema. Every one in `previous` must still exist in
 *    `current` (a removal is breaking in every mode: stored events keep their version forever), and
 *    its current schema must be compatible with its snapshot schema in the mode's direction(s).
 *    A (type, version) has exactly one earlier schema, the snapshot's, so for this rule a
 *    `_TRANSITIVE` mode gives the same verdict as its plain form.
 * 2. Versions of one type are linked by upcasters, which every Eventloom reader runs: data of
 *    version n is parsed with n's schema and then upcast. So adding version n + 1 (with its
 *    mandatory upcaster) is compatible by construction, and the plain modes do not compare
 *    versions with each other.
 * 3. The `_TRANSITIVE` modes are for readers that do not upcast: external consumers of integration
 *    events, analytics over raw JSON, or a tolerant reader parsing any version with one schema.
 *    They treat versions 1 … N of a type as one schema history, as a schema registry subject does,
 *    and also require each version that is new or changed since the snapshot to be compatible, in
 *    the mode's direction, with every earlier version of the type (and each changed version with
 *    every later one).
 * 4. A new event type is compatible. A changed `kind` is breaking in every mode.
 *
 * Schemas are compared as JSON Schema by {@link compareJsonSchemas}, which assumes a `z.object`
 * writes only the fields it declares and ignores unknown ones when reading.
 *
 * @example
 * const breaking = checkCompatibility(committedSnapshot, registry.snapshot(), 'BACKWARD');
 * for (const b of breaking) console.error(formatBreakingChange(b));
 */
export function checkCompatibility(
  previous: RegistrySnapshot,
  current: RegistrySnapshot,
  mode: CompatibilityMode,
): BreakingChange[] {
  const backward = mode !== CompatibilityMode.forward && mode !== CompatibilityMode.forwardTransitive;
  const forward = mode !== CompatibilityMode.backward && mode !== CompatibilityMode.backwardTransitive;
  const transitive = mode.endsWith('_TRANSITIVE');
  const out: BreakingChange[] = [];

  for (const [type, before] of Object.entries(previous.events)) {
    const after = current.events[type];
    if (after === undefined) {
      for (const version of versionsOf(before)) {
        out.push({
          type,
          version,
          againstVersion: version,
          path: '',
          change: CompatibilityChange.typeRemoved,
          direction: 'both',
          message: `${type} is in the snapshot but not in the registry: its stored events could no longer be read`,
        });
      }
      continue;
    }
    if (after.kind !== before.kind) {
      out.push({
        type,
        version: after.latestVersion,
        againstVersion: before.latestVersion,
        path: '',
        change: CompatibilityChange.kindChanged,
        direction: 'both',
        message: `${type} changed kind from ${before.kind} to ${after.kind}, which changes how it is stored and delivered`,
      });
    }
    for (const version of versionsOf(before)) {
      const was = before.versions[String(version)]!;
      const now = after.versions[String(version)];
      if (now === undefined) {
        out.push({
          type,
          version,
          againstVersion: version,
          path: '',
          change: CompatibilityChange.versionRemoved,
          direction: 'both',
          message: `${type} v${version} is in the snapshot but not in the registry: its stored events could no longer be read`,
        });
        continue;
      }
      if (now.fingerprint === was.fingerprint) continue;
      const at = { type, version, againstVersion: version };
      if (backward) {
        const sides = { reader: 'the current schema', writer: "data written with the snapshot's schema" };
        out.push(...compare(at, 'backward', was.schema, now.schema, sides));
      }
      if (forward) {
        const sides = { reader: "the snapshot's schema", writer: 'data written with the current schema' };
        out.push(...compare(at, 'forward', now.schema, was.schema, sides));
      }
    }
  }

  if (transitive) {
    for (const [type, after] of Object.entries(current.events)) {
      const before = previous.events[type];
      const changed = new Set(
        versionsOf(after).filter(
          (v) => before?.versions[String(v)]?.fingerprint !== after.versions[String(v)]!.fingerprint,
        ),
      );
      if (changed.size === 0) continue;
      for (const newer of versionsOf(after)) {
        for (let older = 1; older < newer; older++) {
          if (!changed.has(newer) && !changed.has(older)) continue;
          const o = after.versions[String(older)]!;
          const n = after.versions[String(newer)]!;
          if (o.fingerprint === n.fingerprint) continue;
          const at = { type, version: newer, againstVersion: older };
          if (backward) {
            out.push(
              ...compare(at, 'backward', o.schema, n.schema, {
                reader: `v${newer}`,
                writer: `v${older} data`,
              }),
            );
          }
          if (forward) {
            out.push(
              ...compare(at, 'forward', n.schema, o.schema, {
                reader: `v${older}`,
                writer: `v${newer} data`,
              }),
            );
          }
        }
      }
    }
  }
  return out.sort(
    (a, b) =>
      compareCodeUnits(a.type, b.type) ||
      a.version - b.version ||
      a.againstVersion - b.againstVersion ||
      compareCodeUnits(a.direction, b.direction) ||
      compareCodeUnits(a.path, b.path),
  );
}

/**
 * One line for a terminal or a log.
 *
 * @example formatBreakingChange(b) // 'todo.added v2 · title · required-field-added (backward): v2 requires field "title", which v1 data does not have'
 */
export function formatBreakingChange(change: BreakingChange): string {
  const where = change.path ? ` · ${change.path}` : '';
  return `${change.type} v${change.version}${where} · ${change.change} (${change.direction}): ${change.message}`;
}

function compare(
  at: Pick<BreakingChange, 'type' | 'version' | 'againstVersion'>,
  direction: 'backward' | 'forward',
  writer: RegistrySnapshot['events'][string]['versions'][string]['schema'],
  reader: RegistrySnapshot['events'][string]['versions'][string]['schema'],
  sides: SchemaSides,
): BreakingChange[] {
  return compareJsonSchemas(writer, reader, sides).map((issue) => ({ ...at, ...issue, direction }));
}

function versionsOf(entry: EventTypeSnapshot): number[] {
  return Object.keys(entry.versions)
    .map(Number)
    .sort((a, b) => a - b);
}
