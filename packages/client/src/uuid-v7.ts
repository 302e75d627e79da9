/** Options of {@link createUuidV7}: injectable clock and randomness, for tests. */
export interface UuidV7Options {
  /** Milliseconds since the epoch; `Date.now` by default. May go backward. */
  readonly now?: () => number;
  /** Fills a byte array with random values; `crypto.getRandomValues` by default. */
  readonly random?: (bytes: Uint8Array<ArrayBuffer>) => void;
}

/**
 * Makes a UUIDv7 generator (RFC 9562) that is strictly monotonic within the generator: 48 bits of
 * Unix milliseconds, then a 12-bit counter (`rand_a`, restarted at a random value below 2048 each
 * new millisecond), then 62 random bits. When the clock stands still or steps back, the previous
 * millisecond is kept and the counter goes on; when the counter overflows, the timestamp moves one
 * millisecond ahead. So ids from one generator sort in the order they were made.
 *
 * @example
 * const nextId = createUuidV7();
 * nextId(); // '0192f1c6-3a9b-7c2e-9f41-6d0a2b8c4e17'
 */
export function createUuidV7(options: UuidV7Options = {}): () => string {
  const now = options.now ?? Date.now;
  const random = options.random ?? ((bytes: Uint8Array<ArrayBuffer>) => void crypto.getRandomValues(bytes));
  let lastMs = -1;
  let counter = 0;
  // Random bytes are drawn in blocks: one getRandomValues call per 512 ids, not one per id.
  const pool = new Uint8Array(4096);
  let poolAt = pool.length;
  const take = (): number => {
    if (poolAt >= pool.length) {
      random(pool);
      poolAt = 0;
    }
    return pool[poolAt++]!;
  };

  return () => {
    const ms = Math.floor(now());
    if (ms > lastMs) {
      lastMs = ms;
      counter = ((take() << 8) | take()) & 0x7ff;
    } else if (++counter > 0xfff) {
      lastMs++;
      counter = ((take() << 8) | take()) & 0x7ff;
    }
    const time = lastMs.toString(16).padStart(12, '0').slice(-12);
    const randA = (0x7000 | counter).toString(16);
    const variant = (0x80 | (take() & 0x3f)).toString(16) + hex2(take());
    let tail = '';
    for (let i = 0; i < 6; i++) tail += hex2(take());
    return `${time.slice(0, 8)}-${time.slice(8)}-${randA}-${variant}-${tail}`;
  };
}

function hex2(byte: number): string {
  return HEX[byte]!;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
