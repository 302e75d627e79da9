import { sampleEnvelope } from '@eventloom/protocol/testing';
import { describe, expect, it } from 'vitest';
import { committedJson, envelopeJson, envelopeJsonSlices } from './committed-json.ts';

const recordedAt = '2026-11-27T10:00:00.000Z';

describe('committedJson', () => {
  it('reads back as the envelope spread with its commit fields', () => {
    const event = sampleEnvelope({
      data: { text: 'quote " back \\ line\n lone \ud800 pair 🙂', n: [1.5, -0, 1e21] },
      meta: { correlationId: 'c-1', principal: { sub: 'user|1' }, '': { nested: [] } },
      expectedVersion: 0,
    });
    const text = committedJson(envelopeJson(event), 7, 3, recordedAt);
    expect(JSON.parse(text)).toStrictEqual(
      JSON.parse(JSON.stringify({ ...event, position: 7, streamVersion: 3, recordedAt })),
    );
  });

  it('leaves out commit fields the envelope object carries, and undefined ones', () => {
    const event = { ...sampleEnvelope(), position: 99, recordedAt: 'then', expectedVersion: undefined };
    const text = committedJson(envelopeJson(event), 1, 1, recordedAt);
    expect(text.match(/"position"/g)).toHaveLength(1);
    expect(JSON.parse(text)).toMatchObject({ position: 1, streamVersion: 1, recordedAt });
    expect(JSON.parse(text)).not.toHaveProperty('expectedVersion');
  });

  it('refuses text that is not a JSON object', () => {
    expect(() => committedJson('null', 1, 1, recordedAt)).toThrow(TypeError);
    expect(JSON.parse(committedJson('{}', 1, 2, recordedAt))).toEqual({
      position: 1,
      streamVersion: 2,
      recordedAt,
    });
  });
});

describe('envelopeJsonSlices', () => {
  it('gives each event its envelopeJson, whatever the characters', () => {
    const events = [
      sampleEnvelope({ clientSeq: 1, data: { text: 'quote " back \\ line\n lone \ud800 🙂' } }),
      sampleEnvelope({ clientSeq: 2, data: {} }),
      sampleEnvelope({ clientSeq: 3, meta: { principal: { sub: 'é' } }, expectedVersion: 0 }),
    ];
    expect(envelopeJsonSlices(events)).toStrictEqual(events.map(envelopeJson));
    expect(envelopeJsonSlices(events.slice(0, 1))).toStrictEqual([envelopeJson(events[0]!)]);
    expect(envelopeJsonSlices([])).toStrictEqual([]);
  });
});
