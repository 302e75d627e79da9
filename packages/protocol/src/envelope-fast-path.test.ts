import fc from 'fast-check';
import type { z } from 'zod';
import { describe, expect, it, vi } from 'vitest';
import { decodeLiveEvents, decodePullResult, decodePushAck, decodeWith } from './decode.ts';
import { committedEventSchema, eventEnvelopeSchema, withGuardedInput } from './envelope.ts';
import { fastCommittedEvent, fastEnvelope } from './envelope-fast-path.ts';
import { guardJson } from './json-guard.ts';
import { Limits } from './limits.ts';
import { liveEventsSchema } from './live-events.ts';
import { pullResultSchema } from './pull-result.ts';
import { pushAckSchema } from './push-ack.ts';
import type { Result } from './result.ts';
import { sampleCommitted, sampleEnvelope, sampleEventId } from './testing/samples.ts';

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
    '2026-11-27T10:00:00.000Z',
    '2026-11-27T10:00:00Z',
    '2026-11-27T10:00Z',
    '2026-11-27T10:00:00.000+01:00',
    '2026-11-27T10:00:00.000',
    '2028-02-29T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-11-27',
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
const committedField = fc.constantFrom(...Object.keys(committedEventSchema.shape), 'extra');
const metaField = fc.constantFrom(
  'correlationId',
  'causationId',
  'traceparent',
  'principal',
  'free',
  'other',
);

/** A valid envelope (or committed event) with a few fields (or meta fields) set to edgy values, or removed. */
const mutatedOf = (committed: boolean) =>
  fc
    .record({
      expectedVersion: fc.option(fc.nat(), { nil: undefined }),
      changes: fc.array(fc.tuple(committed ? committedField : field, fc.option(edgy, { nil: undefined })), {
        maxLength: 3,
      }),
      metaChanges: fc.array(fc.tuple(metaField, fc.option(edgy, { nil: undefined })), { maxLength: 3 }),
    })
    .map(({ expectedVersion, changes, metaChanges }) => {
      const overrides = expectedVersion === undefined ? {} : { expectedVersion };
      const base: Record<string, unknown> = {
        ...(committed ? sampleCommitted(overrides) : sampleEnvelope(overrides)),
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
const mutated = mutatedOf(false);
const mutatedCommitted = mutatedOf(true);

describe.each([
  {
    name: 'fastEnvelope',
    fast: fastEnvelope,
    schema: eventEnvelopeSchema,
    inputs: mutated,
    valid: {
      ...sampleEnvelope({ expectedVersion: 0 }),
      meta: { free: [1], correlationId: 'c', principal: { iss: 'i', sub: 's' } },
    },
  },
  {
    name: 'fastCommittedEvent',
    fast: fastCommittedEvent,
    schema: committedEventSchema,
    inputs: mutatedCommitted,
    valid: { ...sampleCommitted({ expectedVersion: 3 }), meta: { free: 1, principal: { sub: 's' } } },
  },
])('$name', ({ fast, schema, inputs, valid }) => {
  // What zod makes of guarded input: the reference the fast path must agree with.
  const zodOf = (input: unknown) => withGuardedInput(() => schema.safeParse(input));

  it('accepts a valid input and outputs what zod outputs, key order included', () => {
    const parsed = zodOf(valid);
    expect(parsed.success).toBe(true);
    expect(JSON.stringify(fast(valid))).toBe(JSON.stringify(parsed.data));
  });

  it('never accepts what zod refuses, and agrees with zod on what both accept (property)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(inputs, (input) => {
        if (!guardJson(input).ok) return;
        const checked = fast(input);
        if (checked === undefined) return;
        accepted++;
        const parsed = zodOf(input);
        expect(parsed.success).toBe(true);
        expect(JSON.stringify(checked)).toBe(JSON.stringify(parsed.data));
      }),
      { numRuns: 5_000 },
    );
    // The property would hold vacuously if nothing passed the fast path.
    expect(accepted).toBeGreaterThan(500);
  });
});

describe('fastCommittedEvent', () => {
  it('agrees with zod at the edges of the fields the hub adds', () => {
    const edges: Record<string, readonly unknown[]> = {
      position: [0, 1, -1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, '1', null],
      streamVersion: [0, 1, -1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, '1', null],
      recordedAt: [
        '2026-11-27T10:00:00.000Z',
        '2026-11-27T10:00:00Z',
        '2026-11-27T10:00:00.123456Z',
        '2026-11-27T10:00Z',
        '2026-11-27T10:00:00.000+01:00',
        '2026-11-27T10:00:00.000',
        '2028-02-29T00:00:00Z',
        '2026-02-29T00:00:00Z',
        '2026-11-27T24:00:00Z',
        '2026-11-27',
        '',
        0,
      ],
    };
    for (const [key, values] of Object.entries(edges)) {
      for (const value of [...values, undefined]) {
        const input: Record<string, unknown> = { ...sampleCommitted() };
        if (value === undefined) delete input[key];
        else input[key] = value;
        const parsed = withGuardedInput(() => committedEventSchema.safeParse(input));
        const fast = fastCommittedEvent(input);
        expect(fast !== undefined, `${key}: ${JSON.stringify(value)}`).toBe(parsed.success);
        if (fast !== undefined) expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data));
      }
    }
  });
});

/**
 * Decodes `input` (if `guardJson` accepts it) and expects zod's verdict on it, and zod's value when
 * both accept it; whether the decoder accepted it.
 */
function agreesWithSchema(
  decode: (input: unknown) => Result<unknown>,
  schema: z.ZodType,
  input: unknown,
): boolean {
  if (!guardJson(input).ok) return false;
  const decoded = decode(input);
  const parsed = withGuardedInput(() => schema.safeParse(input));
  expect(decoded.ok).toBe(parsed.success);
  if (!decoded.ok) return false;
  expect(JSON.stringify(decoded.value)).toBe(JSON.stringify(parsed.data));
  return true;
}

describe('live events and pull pages checked by hand', () => {
  // Messages around valid ones: the events mutated, the other fields edgy or missing, a key added.
  const message = (keys: readonly string[], minEvents: number) =>
    fc.record({
      events: fc.array(
        fc.oneof(
          mutatedCommitted,
          fc.nat({ max: 1_000 }).map((n) => sampleCommitted({ position: n + 1 })),
        ),
        { minLength: minEvents, maxLength: 3 },
      ),
      fields: fc.array(fc.tuple(fc.constantFrom(...keys, 'extra'), fc.option(edgy, { nil: undefined })), {
        maxLength: 2,
      }),
    });

  it.each([
    ['decodeLiveEvents', decodeLiveEvents, liveEventsSchema, { prev: 0 }, 1],
    ['decodePullResult', decodePullResult, pullResultSchema, { head: 9, until: 7, more: false }, 0],
  ] as const)('%s agrees with its schema (property)', (_, decode, schema, fields, minEvents) => {
    let accepted = 0;
    fc.assert(
      fc.property(message(Object.keys(fields), minEvents), ({ events, fields: changes }) => {
        const input: Record<string, unknown> = { events, ...fields };
        for (const [key, value] of changes) {
          if (value === undefined) delete input[key];
          else input[key] = value;
        }
        if (agreesWithSchema(decode, schema, input)) accepted++;
      }),
      { numRuns: 3_000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('live events on any input, JSON or not', () => {
  // The reference: guardJson, then zod (the decoder's errors, without any hand check).
  const reference = (input: unknown) => decodeWith(liveEventsSchema, input, Limits.maxMessageBytes);
  const expectSameAsReference = (input: unknown): boolean => {
    const decoded = decodeLiveEvents(input);
    const expected = reference(input);
    expect(decoded).toEqual(expected);
    if (decoded.ok && expected.ok) expect(JSON.stringify(decoded.value)).toBe(JSON.stringify(expected.value));
    return decoded.ok;
  };

  class Point {
    x = 1;
  }
  const nest = (depth: number): unknown => (depth === 0 ? 1 : { a: nest(depth - 1) });
  const CYCLE = Symbol('cycle');
  // Values guardJson refuses (and a few it takes), for any place in the message.
  const poison = fc.constantFrom<() => unknown>(
    () => undefined,
    () => () => 1,
    () => Number.NaN,
    () => Number.POSITIVE_INFINITY,
    () => Number.NEGATIVE_INFINITY,
    () => new Point(),
    () => new Date(0),
    () => new Map(),
    () => Symbol('s'),
    () => 1n,
    () => new Uint8Array(2),
    () => [undefined],
    () => Array.from({ length: 2 }),
    () => Object.assign([], { length: 2 }), // holes
    () => Object.create({ inherited: 1 }) as unknown,
    () => Object.assign(Object.create(null) as object, { sub: 's' }),
    () => JSON.parse('{"__proto__":{"sub":"s"}}') as unknown,
    () => nest(Limits.maxDepth + 1),
    () => nest(Limits.maxDepth - 4),
    () => nest(Limits.maxDepth - 3),
    () => 'é"\\\u0001\ud800'.repeat(3),
    () => CYCLE,
  );

  // How a value goes in: in place of what was there, under a new (or known) key, or as the prototype
  // of the object there (a class instance or a non-plain object with every field right).
  const how = fc.constantFrom(
    'replace',
    'reproto',
    'poisoned',
    'iss',
    'sub',
    'correlationId',
    'traceparent',
    'principal',
    'expectedVersion',
    'data',
  );

  // Where: every level of the envelope by name (the last step is the key replaced), or at random.
  const at = (...path: (string | number)[]) => [...path, 0];
  const where = fc.oneof(
    fc.constantFrom(
      at(),
      at('events'),
      at('events', 0),
      at('events', 0, 'meta'),
      at('events', 0, 'meta', 'principal'),
      at('events', 0, 'data'),
      at('events', 0, 'data', 0),
    ),
    fc.array(fc.oneof(fc.nat(), fc.constantFrom('events', 'meta', 'principal', 'data')), {
      minLength: 1,
      maxLength: 7,
    }),
  );

  /** Puts `value` at the place `steps` leads to (a key, or the nth key), as `mode` says. */
  const inject = (root: object, steps: readonly (string | number)[], value: unknown, mode: string): void => {
    let parent = root as Record<string, unknown>;
    for (let i = 0; i < steps.length; i++) {
      const keys = Object.keys(parent);
      const last = i === steps.length - 1;
      if (last && mode === 'reproto') {
        Object.setPrototypeOf(parent, Array.isArray(parent) ? Object.prototype : Point.prototype);
        return;
      }
      const added = mode !== 'replace' && last;
      const step = steps[i]!;
      const nth = typeof step === 'number' ? keys[step % keys.length] : step;
      const key = added ? mode : (nth ?? 'poisoned');
      const next = parent[key];
      if (last || typeof next !== 'object' || next === null) {
        parent[key] = value === CYCLE ? parent : value;
        return;
      }
      parent = next as Record<string, unknown>;
    }
  };

  it('decodeLiveEvents gives what guardJson and zod give, value and error (property)', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            mutatedCommitted,
            fc.nat({ max: 1_000 }).map((n) => sampleCommitted({ position: n + 1 })),
            fc.constantFrom({ sub: 's' }, { sub: 's', iss: 'i' }).map((principal) => ({
              ...sampleCommitted(),
              meta: { correlationId: 'c', principal, free: [1] },
            })),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        fc.option(fc.tuple(where, poison, how), {
          nil: undefined,
        }),
        (events, poisoning) => {
          const input = structuredClone({ events, prev: 0 });
          if (poisoning) inject(input, poisoning[0], poisoning[1](), poisoning[2]);
          if (expectSameAsReference(input)) accepted++;
          else refused++;
        },
      ),
      { numRuns: 4_000 },
    );
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(1_000);
  });

  it('refuses a message one byte over the limit, whatever its fields hold (property)', () => {
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(
        fc.record({
          stream: text,
          correlationId: text,
          free: text,
          sub: text,
          iss: fc.option(fc.string({ unit: 'binary', maxLength: 8 }), { nil: undefined }),
          position: fc.oneof(
            fc.integer({ min: 1, max: 99 }),
            fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          ),
          expectedVersion: fc.option(fc.nat(), { nil: undefined }),
          prev: fc.oneof(fc.nat({ max: 9 }), fc.nat()),
        }),
        ({ stream, correlationId, free, sub, iss, position, expectedVersion, prev }) => {
          const principal = iss === undefined ? { sub } : { sub, iss };
          const overrides = expectedVersion === undefined ? {} : { expectedVersion };
          const event = {
            ...sampleCommitted({ position, ...overrides }),
            stream,
            data: { t: '' },
            meta: { correlationId, principal, [free]: [free, 1.5] },
          };
          const input = { events: [event], prev };
          const bytes = guardJson(input);
          if (!bytes.ok) return; // `__proto__` as the free key
          const small = expectSameAsReference(input);
          const room = Limits.maxMessageBytes - bytes.value;
          event.data.t = 'x'.repeat(room);
          const atLimit = expectSameAsReference(input);
          event.data.t = 'x'.repeat(room + 1);
          const over = expectSameAsReference(input);
          expect(atLimit).toBe(small);
          expect(over).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('push acks checked by hand', () => {
  // Results around valid ones (ok, duplicate, rejected), a few fields edgy, missing or added.
  const result = fc
    .record({
      base: fc.constantFrom<Record<string, unknown>>(
        { status: 'ok', id: sampleEventId(1), position: 5, streamVersion: 2 },
        { status: 'duplicate', id: sampleEventId(2), position: 3 },
        { status: 'rejected', id: sampleEventId(3), code: 'invalid', message: 'no' },
      ),
      changes: fc.array(
        fc.tuple(
          fc.constantFrom('status', 'id', 'position', 'streamVersion', 'code', 'message', 'extra'),
          fc.option(fc.oneof(edgy, fc.constantFrom('ok', 'duplicate', 'rejected')), { nil: undefined }),
        ),
        { maxLength: 2 },
      ),
    })
    .map(({ base, changes }) => {
      const out: Record<string, unknown> = { ...base };
      for (const [key, value] of changes) {
        if (value === undefined) delete out[key];
        else out[key] = value;
      }
      return out;
    });

  it('decodePushAck agrees with its schema (property)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.array(result, { maxLength: 3 }),
        fc.option(fc.tuple(fc.constantFrom('results', 'extra'), edgy), { nil: undefined }),
        (results, change) => {
          const input: Record<string, unknown> = { results };
          if (change) input[change[0]] = change[1];
          if (agreesWithSchema(decodePushAck, pushAckSchema, input)) accepted++;
        },
      ),
      { numRuns: 3_000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it('decodes plain ok and duplicate acks by hand, without the schema; zod only for a rejection', () => {
    const safeParse = vi.spyOn(pushAckSchema, 'safeParse');
    try {
      const plain = {
        results: [
          { status: 'ok', id: sampleEventId(1), position: 5, streamVersion: 2 },
          { status: 'duplicate', id: sampleEventId(2), position: 3 },
        ],
      };
      expect(decodePushAck(plain)).toEqual({ ok: true, value: plain });
      expect(safeParse).not.toHaveBeenCalled();
      const rejected = {
        results: [{ status: 'rejected', id: sampleEventId(3), code: 'invalid', message: 'no' }],
      };
      expect(decodePushAck(rejected)).toEqual({ ok: true, value: rejected });
      expect(safeParse).toHaveBeenCalledTimes(1);
    } finally {
      safeParse.mockRestore();
    }
  });
});
