import { sampleEnvelope } from '@eventloom/protocol/testing';
import { expect, it } from 'vitest';
import { appendColumnsOf, envelopeAt } from './append-columns.ts';
import { envelopeJson } from './committed-json.ts';

it("hands each event's stored text over in one string, the caller's when given, and keeps them", () => {
  const first = sampleEnvelope({ clientSeq: 1, data: { text: 'lone \ud800 and 🙂' } });
  const second = sampleEnvelope({ clientSeq: 2, stream: 'other', expectedVersion: 3 });
  const given = '{"given":true}';
  const { columns, texts } = appendColumnsOf([
    { event: first },
    { event: second, envelopeJson: given },
    { event: first, rejection: { code: 'invalid', message: 'no' } },
  ]);
  expect(texts).toStrictEqual([envelopeJson(first), given, envelopeJson(first)]);
  expect([0, 1, 2].map((i) => envelopeAt(columns, i))).toStrictEqual(texts);
  expect(columns.envelopes).toBe(texts.join(''));
  expect(columns.streams).toStrictEqual([first.stream, 'other', first.stream]);
  expect(columns.expectedVersions).toStrictEqual([undefined, 3, undefined]);
  expect(columns.rejections).toStrictEqual([undefined, undefined, { code: 'invalid', message: 'no' }]);
});
