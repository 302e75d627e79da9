import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  checkCompatibility,
  COMPATIBILITY_MODES,
  formatBreakingChange,
  parseCompatibilityMode,
  type CompatibilityMode,
} from './check-compatibility.ts';
import { CompatibilityChange as C, type CompatibilityChange } from './compatibility-change.ts';
import { defineEvent, type EventDefinition } from './define-event.ts';
import { createRegistry } from './event-registry.ts';
import type { RegistrySnapshot } from './registry-snapshot.ts';

/** A snapshot of one event type `t` with these versions (identity upcasters: only the schemas matter here). */
function snapshotOf(
  versions: readonly z.ZodType[],
  extra: readonly EventDefinition[] = [],
  kind = 'domain',
): RegistrySnapshot {
  const upcast = Object.fromEntries(versions.slice(1).map((_, i) => [i + 1, (d: unknown) => d]));
  const schemas = Object.fromEntries(versions.map((s, i) => [i + 1, s]));
  const def = defineEvent('t', schemas as never, { upcast, kind } as never) as EventDefinition;
  return createRegistry([def, ...extra]).snapshot();
}

const ok = 'ok' as const;
const breaks = 'breaks' as const;
type Verdict = typeof ok | typeof breaks;
type Verdicts = Record<CompatibilityMode, Verdict>;

/** The verdicts of a change that only old readers mind (new reads old; old may not read new). */
const backwardOnly: Verdicts = {
  BACKWARD: ok,
  FORWARD: breaks,
  FULL: breaks,
  BACKWARD_TRANSITIVE: ok,
  FORWARD_TRANSITIVE: breaks,
  FULL_TRANSITIVE: breaks,
};
/** The verdicts of a change that only new readers mind (old reads new; new may not read old). */
const forwardOnly: Verdicts = {
  BACKWARD: breaks,
  FORWARD: ok,
  FULL: breaks,
  BACKWARD_TRANSITIVE: breaks,
  FORWARD_TRANSITIVE: ok,
  FULL_TRANSITIVE: breaks,
};
const both: Verdicts = {
  BACKWARD: ok,
  FORWARD: ok,
  FULL: ok,
  BACKWARD_TRANSITIVE: ok,
  FORWARD_TRANSITIVE: ok,
  FULL_TRANSITIVE: ok,
};
const neither: Verdicts = {
  BACKWARD: breaks,
  FORWARD: breaks,
  FULL: breaks,
  BACKWARD_TRANSITIVE: breaks,
  FORWARD_TRANSITIVE: breaks,
  FULL_TRANSITIVE: breaks,
};

const title = z.string();
const address = z.object({ street: z.string() });

/**
 * [change, schema before, schema after, verdict in each mode, what is reported (change, path)].
 * Each row is run twice: as an edit of v1 in place, and as a new v2 next to an unchanged v1.
 */
const table: readonly (readonly [
  string,
  z.ZodType,
  z.ZodType,
  Verdicts,
  readonly (readonly [CompatibilityChange, string])[],
])[] = [
  ['add an optional field', z.object({ title }), z.object({ title, note: z.string().optional() }), both, []],
  [
    'add a required field',
    z.object({ title }),
    z.object({ title, note: z.string() }),
    forwardOnly,
    [[C.requiredFieldAdded, 'note']],
  ],
  [
    'remove an optional field',
    z.object({ title, note: z.string().optional() }),
    z.object({ title }),
    both,
    [],
  ],
  [
    'remove a required field',
    z.object({ title, note: z.string() }),
    z.object({ title }),
    backwardOnly,
    [[C.requiredFieldAdded, 'note']],
  ],
  [
    'widen an enum',
    z.object({ s: z.enum(['a', 'b']) }),
    z.object({ s: z.enum(['a', 'b', 'c']) }),
    backwardOnly,
    [[C.valueNotAccepted, 's']],
  ],
  [
    'narrow an enum',
    z.object({ s: z.enum(['a', 'b', 'c']) }),
    z.object({ s: z.enum(['a', 'b']) }),
    forwardOnly,
    [[C.valueNotAccepted, 's']],
  ],
  [
    'change a field type',
    z.object({ n: z.string() }),
    z.object({ n: z.number() }),
    neither,
    [[C.typeChanged, 'n']],
  ],
  [
    'rename a field',
    z.object({ title }),
    z.object({ name: z.string() }),
    neither,
    [
      [C.requiredFieldAdded, 'name'],
      [C.requiredFieldAdded, 'title'],
    ],
  ],
  [
    'make an optional field required',
    z.object({ title: title.optional() }),
    z.object({ title }),
    forwardOnly,
    [[C.fieldMadeRequired, 'title']],
  ],
  [
    'make a required field optional',
    z.object({ title }),
    z.object({ title: title.optional() }),
    backwardOnly,
    [[C.fieldMadeRequired, 'title']],
  ],
  [
    'add a nested required field',
    z.object({ address }),
    z.object({ address: address.extend({ zip: z.string() }) }),
    forwardOnly,
    [[C.requiredFieldAdded, 'address.zip']],
  ],
  [
    'change the array item type',
    z.object({ tags: z.array(z.string()) }),
    z.object({ tags: z.array(z.number()) }),
    neither,
    [[C.typeChanged, 'tags[]']],
  ],
  [
    'make a field nullable',
    z.object({ title }),
    z.object({ title: title.nullable() }),
    backwardOnly,
    [[C.nullNotAccepted, 'title']],
  ],
  [
    'make a field non-nullable',
    z.object({ title: title.nullable() }),
    z.object({ title }),
    forwardOnly,
    [[C.nullNotAccepted, 'title']],
  ],
  [
    'widen integer to number',
    z.object({ n: z.int() }),
    z.object({ n: z.number() }),
    backwardOnly,
    [[C.typeChanged, 'n']],
  ],
  [
    'tighten a max length',
    z.object({ title: z.string().max(100) }),
    z.object({ title: z.string().max(10) }),
    forwardOnly,
    [[C.constraintTightened, 'title']],
  ],
  [
    'remove a field from a strict object',
    z.strictObject({ title, note: z.string().optional() }),
    z.strictObject({ title }),
    forwardOnly,
    [[C.fieldNotAllowed, 'note']],
  ],
  [
    'add a union member',
    z.object({ v: z.string() }),
    z.object({ v: z.union([z.string(), z.number()]) }),
    backwardOnly,
    [[C.typeChanged, 'v']],
  ],
  ['add a field with a default', z.object({ title }), z.object({ title, n: z.int().default(0) }), both, []],
  [
    'change a record value type',
    z.object({ labels: z.record(z.string(), z.string()) }),
    z.object({ labels: z.record(z.string(), z.number()) }),
    neither,
    [[C.typeChanged, 'labels.*']],
  ],
  [
    'add a variant to a discriminated union',
    z.discriminatedUnion('k', [z.object({ k: z.literal('a') })]),
    z.discriminatedUnion('k', [
      z.object({ k: z.literal('a') }),
      z.object({ k: z.literal('b'), x: z.number() }),
    ]),
    backwardOnly,
    [[C.valueNotAccepted, 'k']],
  ],
  [
    'change a tuple element type',
    z.object({ p: z.tuple([z.number(), z.number()]) }),
    z.object({ p: z.tuple([z.number(), z.string()]) }),
    neither,
    [[C.typeChanged, 'p[1]']],
  ],
];

const verdict = (previous: RegistrySnapshot, current: RegistrySnapshot, mode: CompatibilityMode): Verdict =>
  checkCompatibility(previous, current, mode).length === 0 ? ok : breaks;

describe('checkCompatibility: a table of schema changes in every mode', () => {
  describe.each(table)('%s', (_name, before, after, expected, reported) => {
    it('edited in place (one version): the verdict of each mode', () => {
      const previous = snapshotOf([before]);
      const current = snapshotOf([after]);
      const got = Object.fromEntries(
        COMPATIBILITY_MODES.map((mode) => [mode, verdict(previous, current, mode)]),
      );
      expect(got).toEqual(expected);
      // FULL reports each direction; the same (change, path) may break both.
      const found = new Set(
        checkCompatibility(previous, current, 'FULL').map((b) => `${b.change} @ ${b.path}`),
      );
      expect([...found].sort()).toEqual(reported.map(([change, path]) => `${change} @ ${path}`).sort());
    });

    it('as a new version beside the old: plain modes trust the upcaster, transitive ones compare', () => {
      const previous = snapshotOf([before]);
      const current = snapshotOf([before, after]);
      for (const mode of COMPATIBILITY_MODES) {
        const want = mode.endsWith('_TRANSITIVE') ? expected[mode] : ok;
        expect([mode, verdict(previous, current, mode)]).toEqual([mode, want]);
      }
      for (const b of checkCompatibility(previous, current, 'FULL_TRANSITIVE')) {
        expect(b).toMatchObject({ type: 't', version: 2, againstVersion: 1 });
      }
    });
  });
});

describe('checkCompatibility', () => {
  const v1 = z.object({ a: z.string() });
  const other = defineEvent('other', { 1: z.object({ x: z.number() }) });

  it('finds nothing when nothing changed', () => {
    const snapshot = snapshotOf([v1, v1.extend({ b: z.number() })], [other]);
    for (const mode of COMPATIBILITY_MODES) expect(checkCompatibility(snapshot, snapshot, mode)).toEqual([]);
  });

  it('accepts a new event type and a new version in every mode but the transitive ones', () => {
    const previous = snapshotOf([v1]);
    const current = snapshotOf([v1, z.object({ renamed: z.string() })], [other]);
    expect(COMPATIBILITY_MODES.filter((mode) => verdict(previous, current, mode) === breaks)).toEqual([
      'BACKWARD_TRANSITIVE',
      'FORWARD_TRANSITIVE',
      'FULL_TRANSITIVE',
    ]);
  });

  it('reports a removed version or event type in every mode', () => {
    const previous = snapshotOf([v1, v1], [other]);
    for (const mode of COMPATIBILITY_MODES) {
      expect(checkCompatibility(previous, snapshotOf([v1], [other]), mode)).toEqual([
        expect.objectContaining({ type: 't', version: 2, change: C.versionRemoved, direction: 'both' }),
      ]);
      expect(checkCompatibility(previous, snapshotOf([v1, v1]), mode)).toEqual([
        expect.objectContaining({ type: 'other', version: 1, change: C.typeRemoved }),
      ]);
    }
  });

  it('reports a changed kind in every mode', () => {
    for (const mode of COMPATIBILITY_MODES) {
      expect(checkCompatibility(snapshotOf([v1]), snapshotOf([v1], [], 'integration'), mode)).toEqual([
        expect.objectContaining({
          change: C.kindChanged,
          message: expect.stringMatching(/from domain to integration/),
        }),
      ]);
    }
  });

  it('transitive modes compare a new version with every earlier one, not only the last', () => {
    const a1 = z.object({ a: z.string() });
    const a2 = z.object({ a: z.string().optional(), b: z.string().optional() });
    const a3 = z.object({ b: z.string().optional() });
    const previous = snapshotOf([a1, a2]);
    const current = snapshotOf([a1, a2, a3]);
    expect(checkCompatibility(previous, current, 'FORWARD')).toEqual([]);
    expect(checkCompatibility(previous, current, 'FORWARD_TRANSITIVE')).toEqual([
      {
        type: 't',
        version: 3,
        againstVersion: 1,
        path: 'a',
        change: C.requiredFieldAdded,
        direction: 'forward',
        message: 'v1 requires field "a", which v3 data does not have',
      },
    ]);
  });

  it('transitive modes compare a version edited in place with the later ones too', () => {
    const previous = snapshotOf([z.object({ a: z.string() }), z.object({ a: z.string() })]);
    const current = snapshotOf([z.object({ a: z.number() }), z.object({ a: z.string() })]);
    const found = checkCompatibility(previous, current, 'BACKWARD_TRANSITIVE');
    expect(found.map((b) => [b.version, b.againstVersion, b.change])).toEqual([
      [1, 1, C.typeChanged],
      [2, 1, C.typeChanged],
    ]);
  });

  it('formats a change as one readable line naming type, version, path and change', () => {
    const [change] = checkCompatibility(
      snapshotOf([v1]),
      snapshotOf([v1.extend({ due: z.string() })]),
      'BACKWARD',
    );
    expect(formatBreakingChange(change!)).toBe(
      't v1 · due · required-field-added (backward): the current schema requires field "due", which data written with the snapshot\'s schema does not have',
    );
  });

  it('reads modes however they are typed', () => {
    expect(parseCompatibilityMode('backward')).toBe('BACKWARD');
    expect(parseCompatibilityMode('full-transitive')).toBe('FULL_TRANSITIVE');
    expect(parseCompatibilityMode(' Forward_Transitive ')).toBe('FORWARD_TRANSITIVE');
    expect(parseCompatibilityMode('sideways')).toBeUndefined();
  });
});
