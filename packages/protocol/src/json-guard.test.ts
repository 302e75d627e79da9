import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { guardJson, jsonStringBytes } from './json-guard.ts';

const utf8 = new TextEncoder();
const jsonBytes = (v: unknown) => utf8.encode(JSON.stringify(v)).length;

describe('guardJson', () => {
  test('measures exactly what JSON.stringify writes, in UTF-8 bytes', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')),
        (value) => {
          const r = guardJson(value);
          expect(r).toEqual({ ok: true, value: jsonBytes(value) });
        },
      ),
      { numRuns: 500 },
    );
  });

  test('counts escapes, multi-byte characters and lone surrogates like JSON.stringify', () => {
    for (const s of [
      '',
      'plain',
      'quote"back\\slash',
      '\n\t\b\f\r',
      '\u0001\u001f',
      'é',
      '€',
      '😀',
      '\ud800',
      'a\udc00b',
    ]) {
      expect(jsonStringBytes(s)).toBe(jsonBytes(s));
    }
  });

  const bad: Array<[string, () => unknown, string]> = [
    ['undefined', () => undefined, 'invalid'],
    ['a function', () => () => 1, 'invalid'],
    ['a bigint', () => 10n, 'invalid'],
    ['a symbol', () => Symbol('x'), 'invalid'],
    ['NaN', () => ({ n: Number.NaN }), 'invalid'],
    ['Infinity', () => [Infinity], 'invalid'],
    ['a Date', () => ({ at: new Date() }), 'invalid'],
    ['a Map', () => new Map(), 'invalid'],
    ['a class instance', () => ({ x: new (class Point {})() }), 'invalid'],
    ['undefined inside an object', () => ({ a: undefined }), 'invalid'],
    // oxlint-disable-next-line no-sparse-arrays -- the hole is the point
    ['an array hole', () => [1, , 3], 'invalid'],
    ['a __proto__ key from JSON.parse', () => JSON.parse('{"a":{"__proto__":{"polluted":true}}}'), 'invalid'],
    [
      'a cycle',
      () => {
        const o: Record<string, unknown> = {};
        o['self'] = o;
        return o;
      },
      'invalid',
    ],
    ['deep nesting', () => JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)), 'invalid'],
    [
      'a getter that throws',
      () => ({
        get boom() {
          throw new Error('no');
        },
      }),
      'invalid',
    ],
    [
      'a proxy that throws',
      () =>
        new Proxy(
          {},
          {
            ownKeys() {
              throw new Error('trap');
            },
          },
        ),
      'invalid',
    ],
    ['a huge string', () => 'x'.repeat(5 * 1024 * 1024), 'too-large'],
    // oxlint-disable-next-line unicorn/no-new-array -- a length-only array is the point
    ['a huge sparse array', () => new Array(50_000_000), 'too-large'],
  ];
  test.each(bad)('rejects %s with %s', (_name, make, code) => {
    const r = guardJson(make());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  test('reports the path of the offending value', () => {
    const r = guardJson({ a: [1, { b: Number.NaN }] });
    expect(r).toMatchObject({ ok: false, error: { path: 'a.1.b' } });
  });

  test('never pollutes Object.prototype', () => {
    guardJson(JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  test('allows depth up to the limit and not beyond', () => {
    const nest = (n: number): unknown => (n === 0 ? 1 : [nest(n - 1)]);
    expect(guardJson(nest(10), { maxDepth: 10 }).ok).toBe(true);
    expect(guardJson(nest(11), { maxDepth: 10 }).ok).toBe(false);
  });
});
