import fc from 'fast-check';
import { expect, test } from 'vitest';
import { decodePush, decodePullResult } from './decode.ts';
import { formatHlc } from './hlc-string.ts';
import { eventEnvelopeSchema, type CommittedEvent, type EventEnvelope } from './envelope.ts';
import { sampleEnvelope } from './testing/samples.ts';

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const uuidV7 = fc
  .tuple(hex(8), hex(4), hex(3), fc.constantFrom('8', '9', 'a', 'b'), hex(3), hex(12))
  .map(([a, b, c, v, d, e]) => `${a}-${b}-7${c}-${v}${d}-${e}`);
/** JSON values without `__proto__` keys, which the guard refuses on purpose (tested in json-guard). */
const json = (maxDepth: number) =>
  fc.jsonValue({ maxDepth }).filter((v) => !JSON.stringify(v).includes('"__proto__"'));
const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/);

const envelope: fc.Arbitrary<EventEnvelope> = fc.record(
  {
    id: uuidV7,
    type: fc.stringMatching(/^[a-z][a-z0-9_.:-]{0,30}$/),
    version: fc.integer({ min: 1, max: 50 }),
    kind: fc.constantFrom('domain', 'command', 'integration'),
    // oxlint-disable-next-line no-control-regex -- control characters are what it refuses
    stream: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /^[^\u0000-\u001f\u007f*]+$/.test(s)),
    data: json(4),
    meta: fc.record({ correlationId: name, causationId: name, extra: json(2) }, { requiredKeys: [] }),
    clientId: name,
    clientSeq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    hlc: fc
      .record({
        wall: fc.integer({ min: 0, max: 2 ** 45 }),
        counter: fc.integer({ min: 0, max: 99_999 }),
        node: name,
      })
      .map(formatHlc),
    expectedVersion: fc.integer({ min: 0, max: 1_000_000 }),
  },
  {
    requiredKeys: ['id', 'type', 'version', 'kind', 'stream', 'data', 'meta', 'clientId', 'clientSeq', 'hlc'],
  },
) as fc.Arbitrary<EventEnvelope>;

test('an envelope survives encode (JSON) and decode unchanged', () => {
  fc.assert(
    fc.property(fc.array(envelope, { minLength: 1, maxLength: 5 }), (events) => {
      const wire: unknown = JSON.parse(JSON.stringify({ events }));
      const r = decodePush(wire);
      expect(r.ok).toBe(true);
      if (r.ok)
        expect(r.value.events.map((e) => (e.ok ? e.value : e.error))).toEqual(
          JSON.parse(JSON.stringify(events)),
        );
    }),
    { numRuns: 300 },
  );
});

test('a committed event survives encode and decode unchanged', () => {
  const committed = fc
    .tuple(
      envelope,
      fc.integer({ min: 1, max: 2 ** 40 }),
      fc.integer({ min: 1, max: 2 ** 30 }),
      fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
    )
    .map(([e, position, streamVersion, at]): CommittedEvent => ({
      ...e,
      position,
      streamVersion,
      recordedAt: at.toISOString(),
    }));
  fc.assert(
    fc.property(fc.array(committed, { maxLength: 5 }), (events) => {
      const page = { events, head: 1, until: 1, more: false };
      const r = decodePullResult(JSON.parse(JSON.stringify(page)));
      expect(r).toEqual({ ok: true, value: JSON.parse(JSON.stringify(page)) });
    }),
    { numRuns: 200 },
  );
});

test('the schemas used directly still refuse values JSON cannot hold', () => {
  const event = { ...sampleEnvelope(), data: { n: Number.NaN } };
  expect(eventEnvelopeSchema.safeParse(event).success).toBe(false);
  expect(eventEnvelopeSchema.safeParse({ ...sampleEnvelope(), meta: { at: new Date() } }).success).toBe(
    false,
  );
  expect(eventEnvelopeSchema.safeParse(sampleEnvelope()).success).toBe(true);
});
