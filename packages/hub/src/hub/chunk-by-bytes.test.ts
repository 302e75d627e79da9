import { sampleCommitted } from '@eventloom/protocol/testing';
import { describe, expect, it } from 'vitest';
import { chunkByBytes } from './chunk-by-bytes.ts';

const events = Array.from({ length: 10 }, (_, i) =>
  sampleCommitted({ position: i + 1, data: { text: 'é'.repeat(100) } as never }),
);
const bytes = (list: readonly object[]) => Buffer.byteLength(JSON.stringify({ events: list, prev: 0 }));
const chars = events.reduce((n, e) => n + JSON.stringify(e).length, 0);

describe('chunkByBytes', () => {
  it('splits events into runs whose message stays under the bound, in order', () => {
    const max = Math.ceil(bytes(events) / 3);
    const chunks = chunkByBytes(events, max);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.flat()).toEqual(events);
    for (const chunk of chunks) expect(bytes(chunk)).toBeLessThanOrEqual(max);
  });

  it('keeps one chunk without measuring when the store’s JSON length says it fits', () => {
    expect(chunkByBytes(events, 64 + 3 * chars + events.length, chars)).toEqual([events]);
  });

  it('measures when the JSON length does not prove it fits, and never trusts it over the bytes', () => {
    // Three bytes a character would not fit; the real UTF-8 size (2 bytes for é) does.
    const max = bytes(events) + 64;
    expect(max).toBeLessThan(64 + 3 * chars);
    expect(chunkByBytes(events, max, chars)).toEqual([events]);
    expect(chunkByBytes(events, Math.ceil(bytes(events) / 2), chars).length).toBeGreaterThan(1);
  });

  it('measures each event by bytesOf when given, not by serialising it', () => {
    const texts = events.map((e) => ({ position: e.position, json: JSON.stringify(e) }));
    const textBytes = (t: { json: string }) => Buffer.byteLength(t.json);
    const max = Math.ceil(bytes(events) / 3);
    const chunks = chunkByBytes(texts, max, undefined, textBytes);
    expect(chunks.map((c) => c.map((t) => t.position))).toEqual(
      chunkByBytes(events, max).map((c) => c.map((e) => e.position)),
    );
  });

  it('makes no chunk of nothing', () => {
    expect(chunkByBytes([], 1000, 0)).toEqual([]);
  });
});
