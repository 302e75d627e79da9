import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  decodeHello,
  decodeHubError,
  decodeLiveEvents,
  decodeNotify,
  decodePull,
  decodePullResult,
  decodePush,
  decodePushAck,
  decodeSubscribe,
  decodeSubscribeAck,
  decodeWelcome,
} from './decode.ts';
import type { Result } from './result.ts';
import { sampleCommitted, sampleEnvelope, sampleEventId } from './testing/samples.ts';

type Decoder = (input: unknown) => Result<unknown>;
type Case = [name: string, input: unknown, code: string];

/** Bad inputs every decoder must refuse without throwing. */
const hostile: Case[] = [
  ['undefined', undefined, 'invalid'],
  ['null', null, 'invalid'],
  ['a number', 42, 'invalid'],
  ['a string', 'hello', 'invalid'],
  ['an array', [], 'invalid'],
  ['a function', () => 1, 'invalid'],
  ['a __proto__ key', JSON.parse('{"__proto__":{"isAdmin":true}}'), 'invalid'],
  ['deep nesting', JSON.parse('{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}'), 'invalid'],
  ['a huge string', { x: 'x'.repeat(5 * 1024 * 1024) }, 'too-large'],
  [
    'a proxy that throws',
    new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('trap');
        },
      },
    ),
    'invalid',
  ],
];

/** Titles only: Vitest would try to print the (deeply nested) inputs themselves. */
function titles(cases: readonly Case[]): Array<[string, string, number]> {
  return cases.map(([name, , code], i) => [name, code, i]);
}

function expectCode(decode: Decoder, input: unknown, code: string) {
  let result: Result<unknown> | undefined;
  expect(() => (result = decode(input))).not.toThrow();
  expect(result?.ok).toBe(false);
  if (result && !result.ok) expect(result.error.code).toBe(code);
}

const messages: Array<{ name: string; decode: Decoder; valid: unknown[]; bad: Case[] }> = [
  {
    name: 'hello',
    decode: decodeHello,
    valid: [
      { protocol: 1, clientId: 'c1', lastPosition: 0, subscriptions: [], schemaFingerprint: null },
      {
        protocol: 1,
        clientId: 'c_1-x',
        lastPosition: 99,
        subscriptions: ['*', 'board:*', 'list:1'],
        schemaFingerprint: 'abc',
      },
    ],
    bad: [
      [
        'a missing clientId',
        { protocol: 1, lastPosition: 0, subscriptions: [], schemaFingerprint: null },
        'invalid',
      ],
      [
        'an extra key',
        {
          protocol: 1,
          clientId: 'c',
          lastPosition: 0,
          subscriptions: [],
          schemaFingerprint: null,
          admin: true,
        },
        'invalid',
      ],
      [
        'a negative position',
        { protocol: 1, clientId: 'c', lastPosition: -1, subscriptions: [], schemaFingerprint: null },
        'invalid',
      ],
      [
        'a fractional protocol',
        { protocol: 1.5, clientId: 'c', lastPosition: 0, subscriptions: [], schemaFingerprint: null },
        'invalid',
      ],
      [
        'a clientId with spaces',
        { protocol: 1, clientId: 'a b', lastPosition: 0, subscriptions: [], schemaFingerprint: null },
        'invalid',
      ],
      [
        'a wildcard inside a subscription',
        { protocol: 1, clientId: 'c', lastPosition: 0, subscriptions: ['a*b'], schemaFingerprint: null },
        'invalid',
      ],
      [
        'too many subscriptions',
        {
          protocol: 1,
          clientId: 'c',
          lastPosition: 0,
          subscriptions: Array.from({ length: 1001 }, (_, i) => `s${i}`),
          schemaFingerprint: null,
        },
        'too-large',
      ],
      [
        'a string position',
        { protocol: 1, clientId: 'c', lastPosition: '0', subscriptions: [], schemaFingerprint: null },
        'invalid',
      ],
    ],
  },
  {
    name: 'welcome',
    decode: decodeWelcome,
    valid: [
      { protocol: 1, minProtocol: 1, hubId: 'hub-1', head: 0, lastClientSeq: 0 },
      { protocol: 2, minProtocol: 1, hubId: 'hub-1', head: 0, lastClientSeq: 0, schemaFingerprint: 'fp' },
      { protocol: 2, minProtocol: 1, hubId: 'hub-1', head: 0, lastClientSeq: 0, schemaFingerprint: null },
    ],
    bad: [
      ['a missing head', { protocol: 1, minProtocol: 1, hubId: 'h', lastClientSeq: 0 }, 'invalid'],
      [
        'a hub error reply',
        { error: { code: 'protocol-too-old', message: 'upgrade', retryable: false } },
        'protocol-too-old',
      ],
      [
        'an error reply with an unknown code',
        { error: { code: 'nope', message: 'x', retryable: false } },
        'invalid',
      ],
    ],
  },
  {
    name: 'pull',
    decode: decodePull,
    valid: [
      { from: 0, limit: 1 },
      { from: 10, limit: 5000, streams: ['list:*'] },
    ],
    bad: [
      ['a zero limit', { from: 0, limit: 0 }, 'invalid'],
      ['a limit above the maximum', { from: 0, limit: 5001 }, 'invalid'],
      ['a negative from', { from: -5, limit: 10 }, 'invalid'],
      ['a non-array streams', { from: 0, limit: 10, streams: 'list:1' }, 'invalid'],
      ['an extra key', { from: 0, limit: 10, sql: 'DROP TABLE events' }, 'invalid'],
    ],
  },
  {
    name: 'pull result',
    decode: decodePullResult,
    valid: [
      {
        events: [sampleCommitted({ position: 1 }), sampleCommitted({ position: 2 })],
        head: 2,
        until: 2,
        more: false,
      },
    ],
    bad: [
      [
        'an event without a position',
        { events: [sampleEnvelope()], head: 1, until: 1, more: false },
        'invalid',
      ],
      [
        'a hub error reply',
        { error: { code: 'unauthorized', message: 'no', retryable: false } },
        'unauthorized',
      ],
    ],
  },
  {
    name: 'live events',
    decode: decodeLiveEvents,
    valid: [{ events: [sampleCommitted({ position: 7 })], prev: 6 }],
    bad: [
      ['no events', { events: [], prev: 0 }, 'invalid'],
      ['a missing prev', { events: [sampleCommitted()] }, 'invalid'],
      ['a bad recordedAt', { events: [sampleCommitted({ recordedAt: 'yesterday' })], prev: 0 }, 'invalid'],
    ],
  },
  {
    name: 'push ack',
    decode: decodePushAck,
    valid: [
      {
        results: [
          { status: 'ok', id: sampleEventId(), position: 1, streamVersion: 1 },
          { status: 'duplicate', id: sampleEventId(), position: 1 },
          {
            status: 'rejected',
            id: sampleEventId(),
            code: 'wrong-expected-version',
            message: 'moved',
            currentVersion: 3,
          },
          { status: 'rejected', id: '', code: 'invalid', message: 'unreadable' },
        ],
      },
    ],
    bad: [
      ['an unknown status', { results: [{ status: 'maybe', id: sampleEventId() }] }, 'invalid'],
      [
        'a rejection with a non-rejection code',
        { results: [{ status: 'rejected', id: 'x', code: 'slow-consumer', message: '' }] },
        'invalid',
      ],
      [
        'an ok without position',
        { results: [{ status: 'ok', id: sampleEventId(), streamVersion: 1 }] },
        'invalid',
      ],
    ],
  },
  {
    name: 'subscribe',
    decode: decodeSubscribe,
    valid: [{ subscriptions: [] }, { subscriptions: ['*'] }],
    bad: [
      ['a missing list', {}, 'invalid'],
      ['a control character', { subscriptions: ['a\u0000b'] }, 'invalid'],
    ],
  },
  {
    name: 'subscribe ack',
    decode: decodeSubscribeAck,
    valid: [{ subscriptions: ['list:*'], head: 4 }],
    bad: [['a missing head', { subscriptions: [] }, 'invalid']],
  },
  {
    name: 'notify',
    decode: decodeNotify,
    valid: [
      {
        id: sampleEventId(),
        kind: 'notification',
        type: 'presence.joined',
        stream: 'board:1',
        data: { user: 'ann' },
      },
      {
        id: sampleEventId(),
        kind: 'query',
        type: 'board.count',
        stream: 'board:1',
        data: null,
        timeoutMs: 1000,
      },
      {
        id: sampleEventId(),
        kind: 'reply',
        type: 'board.count',
        stream: 'board:1',
        data: 3,
        replyTo: sampleEventId(),
        to: 'c1',
      },
    ],
    bad: [
      ['a domain kind', { id: sampleEventId(), kind: 'domain', type: 't', stream: 's', data: 1 }, 'invalid'],
      [
        'data too large',
        { id: sampleEventId(), kind: 'notification', type: 't', stream: 's', data: 'x'.repeat(200_000) },
        'too-large',
      ],
      [
        'a NaN in data',
        { id: sampleEventId(), kind: 'notification', type: 't', stream: 's', data: Number.NaN },
        'invalid',
      ],
    ],
  },
  {
    name: 'hub error',
    decode: decodeHubError,
    valid: [{ code: 'rate-limited', message: 'slow down', retryable: true }],
    bad: [['an unknown code', { code: 'teapot', message: '', retryable: false }, 'invalid']],
  },
];

describe.each(messages)('$name', ({ decode, valid, bad }) => {
  test.each(valid.map((v, i) => [i, v] as const))('valid sample %i decodes to itself', (_i, input) => {
    expect(decode(input)).toEqual({ ok: true, value: input });
  });
  const cases = [...bad, ...hostile];
  test.each(titles(cases))('refuses %s with %s', (_name, code, i) => {
    expectCode(decode, cases[i]?.[1], code);
  });
});

describe('push', () => {
  test('a valid batch decodes event by event, with exact byte sizes', () => {
    const events = [sampleEnvelope({ clientSeq: 1 }), sampleEnvelope({ clientSeq: 2, expectedVersion: 0 })];
    const r = decodePush({ events });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.events.map((e) => e.ok && e.value)).toEqual(events);
    const bytes = new TextEncoder().encode(JSON.stringify(events[0])).length;
    expect(r.value.events[0]).toMatchObject({ ok: true, bytes });
  });

  const perEvent: Case[] = [
    ['a missing id', { ...sampleEnvelope(), id: undefined }, 'invalid'],
    ['a UUIDv4 id', sampleEnvelope({ id: '3b241101-e2bb-4255-8caf-4136c566a962' }), 'invalid'],
    ['an upper-case id', sampleEnvelope({ id: sampleEventId().toUpperCase() }), 'invalid'],
    ['an extra key', { ...sampleEnvelope(), position: 5 }, 'invalid'],
    ['a notification kind', { ...sampleEnvelope(), kind: 'notification' }, 'invalid'],
    ['version 0', sampleEnvelope({ version: 0 }), 'invalid'],
    ['clientSeq 0', sampleEnvelope({ clientSeq: 0 }), 'invalid'],
    ['a negative expectedVersion', sampleEnvelope({ expectedVersion: -1 }), 'invalid'],
    ['an empty stream', sampleEnvelope({ stream: '' }), 'invalid'],
    ['a stream with a wildcard', sampleEnvelope({ stream: 'list:*' }), 'invalid'],
    ['a type with spaces', sampleEnvelope({ type: 'todo added' }), 'invalid'],
    ['a malformed hlc', sampleEnvelope({ hlc: '12:00' }), 'invalid'],
    ['a malformed traceparent', sampleEnvelope({ meta: { traceparent: 'abc' } }), 'invalid'],
    [
      'a forged principal with extra claims',
      sampleEnvelope({ meta: { principal: { sub: 'a', admin: true } as never } }),
      'invalid',
    ],
    ['a Date in data', { ...sampleEnvelope(), data: { at: new Date() } }, 'invalid'],
    [
      'a __proto__ key in meta',
      { ...sampleEnvelope(), meta: JSON.parse('{"__proto__":{"x":1}}') },
      'invalid',
    ],
    ['an oversized event', sampleEnvelope({ data: { blob: 'x'.repeat(140_000) } }), 'too-large'],
    ['a number', 5, 'invalid'],
  ];
  test.each(titles(perEvent))('rejects only the event with %s, code %s', (_name, code, i) => {
    const bad = perEvent[i]?.[1];
    const good = sampleEnvelope();
    const r = decodePush({ events: [good, bad] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.events[0]?.ok).toBe(true);
    const decoded = r.value.events[1];
    expect(decoded?.ok).toBe(false);
    if (decoded && !decoded.ok) {
      expect(decoded.error.code).toBe(code);
      const id = (bad as { id?: unknown } | null)?.id;
      expect(decoded.id).toBe(typeof id === 'string' ? id : '');
    }
  });

  const whole: Case[] = [
    ['no events', { events: [] }, 'invalid'],
    ['events not an array', { events: {} }, 'invalid'],
    ['an extra key', { events: [sampleEnvelope()], replay: true }, 'invalid'],
    [
      'a batch above the limit',
      { events: Array.from({ length: 1001 }, () => sampleEnvelope()) },
      'too-large',
    ],
    [
      'a batch above the byte limit',
      { events: Array.from({ length: 40 }, () => sampleEnvelope({ data: 'x'.repeat(120_000) })) },
      'too-large',
    ],
    ['an unknown key holding a huge string', { x: 'x'.repeat(5 * 1024 * 1024) }, 'invalid'],
    ...hostile.filter(([name]) => name !== 'a huge string'),
  ];
  test.each(titles(whole))('refuses a whole push with %s, code %s', (_name, code, i) => {
    expectCode(decodePush, whole[i]?.[1], code);
  });

  test('honours lower limits given by the hub', () => {
    const r = decodePush(
      { events: [sampleEnvelope(), sampleEnvelope()] },
      { maxBatchSize: 1, maxEventBytes: 1000, maxMessageBytes: 10_000 },
    );
    expect(r).toMatchObject({ ok: false, error: { code: 'too-large' } });
  });
});

describe('fuzz', () => {
  const decoders = [
    decodeHello,
    decodePush,
    decodePull,
    decodeSubscribe,
    decodeNotify,
    decodeWelcome,
    decodePushAck,
    decodePullResult,
    decodeLiveEvents,
    decodeSubscribeAck,
    decodeHubError,
  ];
  test('no decoder throws on arbitrary input, and none pollutes prototypes', () => {
    const anything = fc.oneof(
      fc.anything({
        withBigInt: true,
        withDate: true,
        withMap: true,
        withSet: true,
        withTypedArray: true,
        withSparseArray: true,
        withNullPrototype: true,
      }),
      fc.jsonValue().map((v) => ({ events: [v] })),
      fc.record({
        events: fc.array(
          fc
            .constant(sampleEnvelope())
            .chain((e) =>
              fc.record(
                Object.fromEntries(
                  Object.entries(e).map(([k, v]) => [k, fc.oneof(fc.constant(v), fc.anything())]),
                ),
              ),
            ),
        ),
      }),
    );
    fc.assert(
      fc.property(anything, (input) => {
        for (const decode of decoders) expect(() => decode(input)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
  });
});
