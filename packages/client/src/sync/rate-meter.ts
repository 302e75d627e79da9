/**
 * Counts events over a sliding window and tells the rate per second: what `metrics$` reports as
 * pushed and pulled events per second. `metrics$` asks for the rate at every change (several
 * times per event), so a rate costs what left the window since the last one, not the window.
 */
export class RateMeter {
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Times and counts in time order; the ones before `#head` left the window. */
  #times: number[] = [];
  #counts: number[] = [];
  #head = 0;
  /** The sum of the counts from `#head` on. */
  #inWindow = 0;
  #total = 0;

  constructor(windowMs: number, now: () => number) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Everything counted since the start. */
  get total(): number {
    return this.#total;
  }

  add(count: number): void {
    if (count <= 0) return;
    this.#total += count;
    this.#inWindow += count;
    this.#times.push(this.#now());
    this.#counts.push(count);
  }

  /** Events per second over the window up to now. */
  perSecond(): number {
    const since = this.#now() - this.#windowMs;
    const times = this.#times;
    while (this.#head < times.length && times[this.#head]! <= since) {
      this.#inWindow -= this.#counts[this.#head]!;
      this.#head++;
    }
    // Drop what left the window once it is half the arrays, so that they stay bounded.
    if (this.#head > 0 && this.#head * 2 >= times.length) {
      this.#times = times.slice(this.#head);
      this.#counts = this.#counts.slice(this.#head);
      this.#head = 0;
    }
    return (this.#inWindow * 1000) / this.#windowMs;
  }
}
