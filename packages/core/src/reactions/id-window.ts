/**
 * The ids of the last `size` events a reaction handled, oldest first: the dedupe window stored with
 * each checkpoint. Positions already dedupe an in-order feed; the window also catches an event
 * delivered again under another position. Size 0 turns it off.
 *
 * Every handled event asks it once and adds once, so neither allocates nor hashes a whole id: the
 * ids sit in a ring with a small fingerprint each, and a table counts the fingerprints in the
 * window. A count of 0 proves an id absent (the common answer); otherwise the ring is searched
 * where the fingerprint matches, so the answer is always exact.
 */
export class IdWindow {
  readonly #size: number;
  readonly #ring: string[] = [];
  /** The fingerprint of the id in each slot of the ring. */
  readonly #prints: Uint32Array;
  #head = 0;
  /** How many ids of the window have each fingerprint. */
  readonly #counts: Uint32Array;
  readonly #mask: number;
  /** The last id fingerprinted, and its fingerprint: `add` follows `has` for the same id. */
  #lastId: string | undefined;
  #lastPrint = 0;

  constructor(size: number, initial: readonly string[] = []) {
    this.#size = size;
    this.#prints = new Uint32Array(size);
    // About 64 buckets per id: a present fingerprint is rarely another id's.
    const buckets = Math.min(1 << 16, Math.max(1 << 8, nextPowerOfTwo(size * 64)));
    this.#counts = new Uint32Array(size === 0 ? 0 : buckets);
    this.#mask = buckets - 1;
    for (const id of initial.slice(-size)) this.add(id);
  }

  has(id: string): boolean {
    if (this.#size === 0) return false;
    const print = this.#print(id);
    return this.#counts[print] !== 0 && this.#find(id, print);
  }

  add(id: string): void {
    if (this.#size === 0) return;
    const print = this.#print(id);
    if (this.#counts[print] !== 0 && this.#find(id, print)) return;
    const ring = this.#ring;
    if (ring.length < this.#size) {
      this.#prints[ring.length] = print;
      ring.push(id);
    } else {
      const head = this.#head;
      this.#counts[this.#prints[head]!]!--;
      ring[head] = id;
      this.#prints[head] = print;
      this.#head = head + 1 === this.#size ? 0 : head + 1;
    }
    this.#counts[print]!++;
  }

  /** Oldest first. */
  toArray(): string[] {
    const ring = this.#ring;
    if (ring.length < this.#size) return ring.slice();
    const ids: string[] = [];
    for (let i = this.#head; i < ring.length; i++) ids.push(ring[i]!);
    for (let i = 0; i < this.#head; i++) ids.push(ring[i]!);
    return ids;
  }

  #print(id: string): number {
    if (id !== this.#lastId) {
      this.#lastId = id;
      this.#lastPrint = fingerprint(id) & this.#mask;
    }
    return this.#lastPrint;
  }

  #find(id: string, print: number): boolean {
    const ring = this.#ring;
    const prints = this.#prints;
    for (let i = 0; i < ring.length; i++) if (prints[i] === print && ring[i] === id) return true;
    return false;
  }
}

/** A cheap hash of an id's length, first and last characters (UUIDv7 ids end in random bits). */
function fingerprint(id: string): number {
  const n = id.length;
  let h = Math.imul(n, 0x9e3779b1);
  for (let i = Math.max(0, n - 12); i < n; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  for (let i = 0; i < 4 && i < n; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n && p < 1 << 30) p <<= 1;
  return p;
}
