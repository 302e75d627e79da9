/**
 * Splits events into runs whose JSON stays under `maxBytes` (one event alone always fits: the
 * push limits keep each event far smaller than a message). `jsonChars`: what the store says the
 * events' JSON texts measure (or more, for a subset of its page); when three bytes a character
 * fit, nothing is serialised to measure. `bytesOf`: an event's UTF-8 JSON size (by default, by
 * serialising it).
 */
export function chunkByBytes<T>(
  events: readonly T[],
  maxBytes: number,
  jsonChars?: number,
  bytesOf: (event: T) => number = jsonBytes,
): T[][] {
  if (events.length === 0) return [];
  if (jsonChars !== undefined && fitsOneMessage(jsonChars, events.length, maxBytes)) return [[...events]];
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 64;
  for (const event of events) {
    const size = bytesOf(event) + 1;
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 64;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Whether `count` events whose JSON texts measure `jsonChars` (UTF-16 code units) surely fit in one
 * message of `maxBytes`, whatever their characters: three bytes a character at most, a comma each,
 * and the page's framing.
 */
export function fitsOneMessage(jsonChars: number, count: number, maxBytes: number): boolean {
  return fitsOneMessageBytes(3 * jsonChars + count, maxBytes);
}

/**
 * Whether events whose JSON texts, commas between, take `jsonBytes` in UTF-8 fit in one message of
 * `maxBytes` with the page's framing.
 */
export function fitsOneMessageBytes(jsonBytes: number, maxBytes: number): boolean {
  return 64 + jsonBytes <= maxBytes;
}

function jsonBytes(event: unknown): number {
  return Buffer.byteLength(JSON.stringify(event));
}
