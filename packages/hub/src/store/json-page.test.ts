import { describe, expect, it } from 'vitest';
import { jsonPageOf, PAGE_ROOM, spareJsonBuffer } from './json-page.ts';

const all = { kind: 'all' } as const;
const texts = ['{"stream":"a","n":"ü"}', '{"stream":"b","n":2}'];

describe('jsonPageOf', () => {
  it('encodes the page in a buffer of its own with room on both sides for its framing', () => {
    const { json } = jsonPageOf(texts, ['a', 'b'], all, 2, 2);
    expect(new TextDecoder().decode(json)).toBe(texts.join(','));
    expect(json.byteOffset).toBe(PAGE_ROOM);
    expect(json.buffer.byteLength - json.byteOffset - json.byteLength).toBe(PAGE_ROOM);
  });

  it('reads into a buffer given back when it is large enough, and keeps only a few of them', () => {
    const spare = new ArrayBuffer(4096);
    spareJsonBuffer(spare);
    const { json } = jsonPageOf(texts, ['a', 'b'], all, 2, 2);
    expect(json.buffer).toBe(spare);
    expect(new TextDecoder().decode(json)).toBe(texts.join(','));
    // Used once: the next page has a buffer of its own.
    expect(jsonPageOf(texts, ['a', 'b'], all, 2, 2).json.buffer).not.toBe(spare);
    // Too small for the page: not taken.
    const small = new ArrayBuffer(8);
    spareJsonBuffer(small);
    expect(jsonPageOf(texts, ['a', 'b'], all, 2, 2).json.buffer).not.toBe(small);
    // Beyond the few megabytes kept, a buffer is let go.
    const huge = new ArrayBuffer(8 * 1024 * 1024);
    spareJsonBuffer(huge);
    expect(jsonPageOf(texts, ['a', 'b'], all, 2, 2).json.buffer).not.toBe(huge);
  });
});
