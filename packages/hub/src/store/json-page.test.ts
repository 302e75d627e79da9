import { beforeEach, describe, expect, it } from 'vitest';
import { dropSpareJsonBuffers, jsonPageOf, PAGE_ROOM, spareJsonBuffer } from './json-page.ts';

const all = { kind: 'all' } as const;
const texts = ['{"stream":"a","n":"ü"}', '{"stream":"b","n":2}'];
/** The size of the buffer the page of `texts` needs. */
const need = Buffer.byteLength(texts.join(',')) + 2 * PAGE_ROOM;
/** The buffer of a page whose buffer needs `size` bytes (one event of that many, less the room). */
const bufferOfPage = (size: number) =>
  jsonPageOf([`"${'x'.repeat(size - 2 * PAGE_ROOM - 2)}"`], ['a'], all, 1, 1).json.buffer;
const MiB = 1024 * 1024;

beforeEach(() => dropSpareJsonBuffers());

describe('jsonPageOf', () => {
  it('encodes the page in a buffer of its own with room on both sides for its framing', () => {
    const { json } = jsonPageOf(texts, ['a', 'b'], all, 2, 2);
    expect(new TextDecoder().decode(json)).toBe(texts.join(','));
    expect(json.byteOffset).toBe(PAGE_ROOM);
    expect(json.buffer.byteLength - json.byteOffset - json.byteLength).toBe(PAGE_ROOM);
  });

  it('reads into a buffer given back when it is large enough, and keeps only a few of them', () => {
    const spare = new ArrayBuffer(need + 64);
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

  it('takes the spare that fits closest, and none more than twice the size needed', () => {
    const loose = new ArrayBuffer(Math.floor(need * 1.9));
    const close = new ArrayBuffer(need + 16);
    const far = new ArrayBuffer(need * 3);
    for (const spare of [loose, far, close]) spareJsonBuffer(spare);
    expect(jsonPageOf(texts, ['a', 'b'], all, 2, 2).json.buffer).toBe(close);
    expect(jsonPageOf(texts, ['a', 'b'], all, 2, 2).json.buffer).toBe(loose);
    expect(jsonPageOf(texts, ['a', 'b'], all, 2, 2).json.buffer).not.toBe(far);
    expect(bufferOfPage(need * 2)).toBe(far);
  });

  it('lets the smallest spares go once it holds its few megabytes, not the one given back', () => {
    const small = Array.from({ length: 4 }, () => new ArrayBuffer(MiB));
    for (const spare of small) spareJsonBuffer(spare);
    const large = new ArrayBuffer(2 * MiB);
    spareJsonBuffer(large);
    // Compared as booleans: a failure's diff of megabyte buffers would take minutes to print.
    expect(bufferOfPage(1.5 * MiB) === large).toBe(true);
    // Two of the small ones were let go for it, two are kept.
    const taken = [bufferOfPage(MiB - 100), bufferOfPage(MiB - 100), bufferOfPage(MiB - 100)];
    expect(taken.filter((buffer) => small.some((spare) => spare === buffer)).length).toBe(2);
  });
});
