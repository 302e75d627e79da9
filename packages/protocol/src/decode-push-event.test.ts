import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePushEvent, decodePushEventSlowly, type DecodedPushEvent } from './decode.ts';
import { guardJson } from './json-guard.ts';
import { Limits } from './limits.ts';
import { sampleEnvelope } from './testing/samples.ts';

/** Both decodes of `input`: in one walk, and the usual way. */
const both = (input: unknown, max = Limits.maxEventBytes) =>
  [decodePushEvent(input, max), decodePushEventSlowly(input, max)] as const;

/** Expects the two to agree, the value's key order included; whether it decoded. */
function agree([oneWalk, usual]: readonly [DecodedPushEvent, DecodedPushEvent]): boolean {
  expect(oneWalk).toEqual(usual);
  expect(JSON.stringify(oneWalk)).toBe(JSON.stringify(usual));
  return oneWalk.ok;
}

/** `{"a":{"a":…1}}`, `depth` objects deep. */
const deep = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

// Values for any place of an envelope: valid ones, values near the rules' edges, and what guardJson refuses.
const value = fc.oneof(
  fc.constantFrom<() => unknown>(
    () => undefined,
    () => null,
    () => '',
    () => 'x',
    () => 'a'.repeat(257),
    () => 'é"\\\u0001\ud800',
    () => 0,
    () => 1.5,
    () => -1,
    () => 2 ** 53,
    () => Number.NaN,
    () => Number.POSITIVE_INFINITY,
    () => [],
    () => [undefined],
    () => Object.assign([], { length: 2 }),
    () => ({}),
    () => ({ sub: 's' }),
    () => ({ sub: 's', iss: 'i' }),
    () => ({ sub: 's', iss: undefined }),
    () => Object.assign(Object.create(null) as object, { sub: 's' }),
    () => JSON.parse('{"__proto__":{"sub":"s"}}') as unknown,
    () => Object.setPrototypeOf({ x: 1 }, { y: 2 }) as unknown,
    () => new Date(0),
    () => () => 1,
    () => 1n,
    () => deep(Limits.maxDepth - 2),
    () => deep(Limits.maxDepth + 1),
    () =>
      new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('trap');
          },
        },
      ),
  ),
  fc.jsonValue().map((v) => () => v),
);

// Where it goes: a field of the envelope, of its meta, of its principal, of its data, or a new key.
const place = fc.constantFrom(
  ['id'],
  ['type'],
  ['version'],
  ['kind'],
  ['stream'],
  ['data'],
  ['meta'],
  ['clientId'],
  ['clientSeq'],
  ['hlc'],
  ['expectedVersion'],
  ['extra'],
  ['meta', 'correlationId'],
  ['meta', 'traceparent'],
  ['meta', 'principal'],
  ['meta', 'free'],
  ['meta', 'principal', 'sub'],
  ['meta', 'principal', 'iss'],
  ['data', 'title'],
  ['data', 'tags'],
);

/** A valid envelope, with a free meta key and a principal, changed at a few places. */
const envelope = fc.array(fc.tuple(place, value, fc.boolean()), { maxLength: 3 }).map((changes) => {
  const input = structuredClone({
    ...sampleEnvelope(),
    data: { title: 't', tags: ['a'] },
    meta: { correlationId: 'c', principal: { sub: 's' }, free: [1, 'é'] },
  }) as Record<string, unknown>;
  for (const [path, make, remove] of changes) {
    let parent = input;
    for (const key of path.slice(0, -1)) {
      const next = parent[key];
      if (typeof next !== 'object' || next === null) break;
      parent = next as Record<string, unknown>;
    }
    const key = path[path.length - 1]!;
    if (remove) delete parent[key];
    else parent[key] = make();
  }
  return input;
});

describe('decodePushEvent in one walk', () => {
  it('gives what guardJson, the hand check and zod give, value, bytes and error (property)', () => {
    // Decoded or not, counted: the property must hold on enough of both.
    const decoded = { true: 0, false: 0 };
    fc.assert(
      fc.property(envelope, (input) => void decoded[`${agree(both(input))}`]++),
      { numRuns: 4_000 },
    );
    expect(decoded.true).toBeGreaterThan(200);
    expect(decoded.false).toBeGreaterThan(1_000);
  });

  it('takes an event of exactly the byte limit and refuses one a byte over it (property)', () => {
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 });
    const stream = fc.oneof(text, fc.constantFrom('todos:1', 'a-b_c.d'));
    let taken = 0;
    fc.assert(
      fc.property(stream, text, text, fc.option(fc.nat(), { nil: undefined }), (stream, sub, free, ev) => {
        const overrides = ev === undefined ? {} : { expectedVersion: ev };
        const event = {
          ...sampleEnvelope(overrides),
          stream,
          data: { t: '' },
          meta: { principal: { sub }, [free]: 1.5 },
        };
        const bytes = guardJson(event);
        if (!bytes.ok) return; // `__proto__` as the free key
        const max = bytes.value + 100;
        event.data.t = 'x'.repeat(100);
        const atLimit = decodePushEvent(event, max);
        agree(both(event, max));
        event.data.t = 'x'.repeat(101);
        expect(decodePushEvent(event, max)).toMatchObject({ ok: false, error: { code: 'too-large' } });
        agree(both(event, max));
        if (atLimit.ok) {
          taken++;
          expect(atLimit.bytes).toBe(max);
        }
      }),
      { numRuns: 200 },
    );
    expect(taken).toBeGreaterThan(20);
  });
});
