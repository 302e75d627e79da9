/**
 * A sorted list of entries whose deletions are lazy: the owner decides which entries are live
 * (`live`), deletes by making an entry not live and calling {@link SortedKeys.deleted}. Appending
 * in order is O(1), deleting from the front amortised O(1), a range read O(log n + what it
 * skips); dead entries are dropped once they are half the list. The memory backend's ordered
 * keys and index entries, so that draining a large outbox from its front stays linear.
 */
export class SortedKeys<E> {
  #items: E[] = [];
  /** Every item before it is dead. */
  #start = 0;
  /** Dead items at or after `#start`. */
  #dead = 0;
  readonly #compare: (a: E, b: E) => number;
  readonly #live: (e: E) => boolean;

  constructor(compare: (a: E, b: E) => number, live: (e: E) => boolean) {
    this.#compare = compare;
    this.#live = live;
  }

  /** Adds an entry that was not live before it was made live. */
  added(entry: E): void {
    const items = this.#items;
    const n = items.length;
    if (n === this.#start || this.#compare(items[n - 1]!, entry) < 0) {
      items.push(entry);
      return;
    }
    if (this.#start > 0 && this.#compare(entry, items[this.#start]!) < 0) {
      items[--this.#start] = entry;
      return;
    }
    const i = this.#first((e) => this.#compare(e, entry) < 0);
    if (i < n && this.#compare(items[i]!, entry) === 0) this.#dead--;
    else items.splice(i, 0, entry);
  }

  /** Notes that an entry stopped being live. */
  deleted(): void {
    this.#dead++;
    const items = this.#items;
    while (this.#start < items.length && !this.#live(items[this.#start]!)) {
      this.#start++;
      this.#dead--;
    }
    if (this.#dead > 32 && this.#dead * 2 > items.length - this.#start) {
      this.#items = items.slice(this.#start).filter(this.#live);
      this.#start = 0;
      this.#dead = 0;
    }
  }

  /** Forgets every entry. */
  clear(): void {
    this.#items = [];
    this.#start = 0;
    this.#dead = 0;
  }

  /**
   * The live entries between the bounds, in order or reversed, at most `limit`. `below(e)`: e is
   * under the lower bound; `above(e)`: e is over the upper bound (both monotone in the order).
   */
  range(below: (e: E) => boolean, above: (e: E) => boolean, limit: number, reverse: boolean): E[] {
    const items = this.#items;
    const out: E[] = [];
    if (!reverse) {
      for (let i = this.#first(below); i < items.length && out.length < limit; i++) {
        const e = items[i]!;
        if (above(e)) break;
        if (this.#live(e)) out.push(e);
      }
      return out;
    }
    for (let i = this.#first((e) => !above(e)) - 1; i >= this.#start && out.length < limit; i--) {
      const e = items[i]!;
      if (below(e)) break;
      if (this.#live(e)) out.push(e);
    }
    return out;
  }

  /** The first index at or after `#start` where `before` is false (`before` is monotone). */
  #first(before: (e: E) => boolean): number {
    let lo = this.#start;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.#items[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
