/**
 * The ids of the last `size` events a reaction handled, oldest first: the dedupe window stored with
 * each checkpoint. Positions already dedupe an in-order feed; the window also catches an event
 * delivered again under another position. Size 0 turns it off.
 */
export class IdWindow {
  readonly #size: number;
  readonly #ring: string[] = [];
  #head = 0;
  readonly #ids = new Set<string>();

  constructor(size: number, initial: readonly string[] = []) {
    this.#size = size;
    for (const id of initial.slice(-size)) this.add(id);
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    if (this.#size === 0 || this.#ids.has(id)) return;
    if (this.#ring.length < this.#size) {
      this.#ring.push(id);
    } else {
      this.#ids.delete(this.#ring[this.#head]!);
      this.#ring[this.#head] = id;
      this.#head = (this.#head + 1) % this.#size;
    }
    this.#ids.add(id);
  }

  /** Oldest first. */
  toArray(): string[] {
    return this.#ring.length < this.#size
      ? this.#ring.slice()
      : [...this.#ring.slice(this.#head), ...this.#ring.slice(0, this.#head)];
  }
}
