/**
 * A token bucket: holds up to `capacity` tokens, refilled at `refillPerSecond`; `take(n)` spends n
 * tokens when there are that many. The clock is injectable for tests.
 *
 * @example
 * const bucket = new TokenBucket({ capacity: 100, refillPerSecond: 50 });
 * if (!bucket.take(1)) answer('rate-limited');
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #refillPerMs: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(options: {
    readonly capacity: number;
    readonly refillPerSecond: number;
    readonly now?: () => number;
  }) {
    this.#capacity = options.capacity;
    this.#refillPerMs = options.refillPerSecond / 1000;
    this.#now = options.now ?? Date.now;
    this.#tokens = options.capacity;
    this.#at = this.#now();
  }

  /** Spends `n` tokens if the bucket holds them; false (and nothing spent) otherwise. */
  take(n: number): boolean {
    this.#refill();
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Gives back `n` tokens spent on something that did not happen (never past `capacity`). */
  refund(n: number): void {
    this.#refill();
    this.#tokens = Math.min(this.#capacity, this.#tokens + n);
  }

  /** True when the bucket is full again: forgetting it would change nothing. */
  full(): boolean {
    this.#refill();
    return this.#tokens >= this.#capacity;
  }

  #refill(): void {
    const now = this.#now();
    if (now > this.#at) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#refillPerMs);
      this.#at = now;
    }
  }
}
