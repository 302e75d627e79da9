/**
 * Counts events over a sliding window and tells the rate per second: what `metrics$` reports as
 * pushed and pulled events per second.
 */
export class RateMeter {
  readonly #windowMs: number;
  readonly #now: () => number;
  /** [time, count] in time order, none older than the window. */
  readonly #samples: [number, number][] = [];
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
    this.#samples.push([this.#now(), count]);
  }

  /** Events per second over the window up to now. */
  perSecond(): number {
    const since = this.#now() - this.#windowMs;
    while (this.#samples.length > 0 && this.#samples[0]![0] <= since) this.#samples.shift();
    let sum = 0;
    for (const [, count] of this.#samples) sum += count;
    return (sum * 1000) / this.#windowMs;
  }
}
