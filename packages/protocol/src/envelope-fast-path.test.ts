import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventEnvelopeSchema, withGuardedInput } from './envelope.ts';
import { fastEnvelope } from './envelope-fast-path.ts';
import { guardJson } from './json-guard.ts';
import { sampleEnvelope } from './testing/samples.ts';

/** What zod makes of guarded input: the reference the fast path must agree with. */
function zod(input: unknown) {
  return withGuardedInput(() => eventEnvelopeSchema.safeParse(input));
}

// Values near every rule's edges, for any field.
const edgy = fc.oneof(
  fc.constantFrom(
    '',
    'x',
    'a'.repeat(128),
    'a'.repeat(129),
    'a'.repeat(256),
    'a'.repeat(257),
    'A.b:c-d_e',
    '1abc',
    'with*star',
    'tab\there',
    '01a21d49-5844-7367-80a6-d833b16c5f5d',
    '01A21D49-5844-7367-80A6-D833B16C5F5D',
    '01a21d49-5844-4367-80a6-d833b16c5f5d',
    '001732700000000-0000000003-c1',
    '1732700000000-3-c1',
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    'domain',
    'command',
    'integration',
    'notification',
    0,
    -0,
    1,
    -1,
    1.5,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    null,
    true,
    [],
    {},
    { sub: 's' },
    { sub: 's', iss: 'i' },
    { sub: '' },
    { sub: 's', extra: 1 },
  ),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.jsonValue(),
);

// Every field of the schema, and one it does not have.
const field = fc.constantFrom(...Object.keys(eventEnvelopeSchema.shape), 'extra');
const metaField = fc.constantFrom(
  'correlationId',
  'causationId',
  'traceparent',
  'principal',
  'free',
  'other',
);

/** A valid envelope with a few fields (or meta fields) set to edgy values, or removed. */
const mutated = fc
  .record({
    expectedVersion: fc.option(fc.nat(), { nil: undefined }),
    changes: fc.array(fc.tuple(field, fc.option(edgy, { nil: undefined })), { maxLength: 3 }),
    metaChanges: fc.array(fc.tuple(metaField, fc.option(edgy, { nil: undefined })), { maxLength: 3 }),
  })
  .map(({ expectedVersion, changes, metaChanges }) => {
    const base: Record<string, unknown> = {
      ...sampleEnvelope(expectedVersion === undefined ? {} : { expectedVersion }),
    };
    const meta: Record<string, unknown> = { ...(base['meta'] as object) };
    for (const [key, value] of changes) {
      if (value === undefined) delete base[key];
      else base[key] = value;
    }
    for (const [key, value] of metaChanges) {
      if (value === undefined) delete meta[key];
      else meta[key] = value;
    }
    if (typeof base['meta'] === 'object' && base['meta'] !== null && !Array.isArray(base['meta'])) {
      base['meta'] = meta;
    }
    return base;
  });

describe('fastEnvelope', () => {
  it('accepts a valid envelope and outputs what zod outputs, key order included', () => {
    const input = {
      ...sampleEnvelope({ expectedVersion: 0 }),
      meta: { free: [1], correlationId: 'c', principal: { iss: 'i', sub: 's' } },
    };
    const parsed = zod(input);
    expect(parsed.success).toBe(true);
    expect(JSON.stringify(fastEnvelope(input))).toBe(JSON.stringify(parsed.data));
  });

  it('never accepts what zod refuses, and agrees with zod on what both accept (property)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(mutated, (input) => {
        if (!guardJson(input).ok) return;
        const fast = fastEnvelope(input);
        const parsed = zod(input);
        if (fast === undefined) return;
        accepted++;
        expect(parsed.success).toBe(true);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data));
      }),
      { numRuns: 5_000 },
    );
    // The property would hold vacuously if nothing passed the fast path.
    expect(accepted).toBeGreaterThan(500);
  });
});
