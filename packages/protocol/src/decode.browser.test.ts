import { expect, test } from 'vitest';
import { decodePush, decodeWelcome } from './decode.ts';
import { guardJson } from './json-guard.ts';
import { sampleEnvelope } from './testing/samples.ts';

// The protocol runs unchanged in the browser: the same decoders, the same byte counts.
test('decodes in Chromium exactly as in Node', () => {
  const event = sampleEnvelope({ data: { title: 'café ☕ 😀', n: 1.5 } });
  const r = decodePush(JSON.parse(JSON.stringify({ events: [event] })));
  expect(r).toMatchObject({ ok: true, value: { events: [{ ok: true, value: event }] } });
  const bytes = new TextEncoder().encode(JSON.stringify(event)).length;
  expect(guardJson(event)).toEqual({ ok: true, value: bytes });
  expect(
    decodeWelcome({ error: { code: 'protocol-too-new', message: 'x', retryable: false } }),
  ).toMatchObject({
    ok: false,
    error: { code: 'protocol-too-new' },
  });
  expect(guardJson(JSON.parse('{"__proto__":{"polluted":1}}')).ok).toBe(false);
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
});
