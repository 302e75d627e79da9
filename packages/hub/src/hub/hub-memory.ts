/**
 * The memory the hub holds for its peers, across all sockets, against one cap
 * (`limits.maxHubMemoryBytes`): pages read for pulls until they are answered, pushes from their
 * decoding to their ack, events held for a gap, and (sampled) the outgoing buffers of every socket.
 *
 * Invariant: `reserved` is the sum of the reservations not yet released; a reservation is only
 * granted while `reserved + outgoing` stays within the cap, so what the hub takes on for its peers
 * never grows past the cap by more than one sample period of outgoing writes.
 *
 * @example
 * if (!memory.tryReserve(bytes)) return busy();
 * try { … } finally { memory.release(bytes); }
 */
export class HubMemory {
  readonly limit: number;
  #reserved = 0;
  #outgoing = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes reserved (pulls, pushes, held events) plus the last sample of the outgoing buffers. */
  get used(): number {
    return this.#reserved + this.#outgoing;
  }

  /** Bytes reserved and not yet released. */
  get reserved(): number {
    return this.#reserved;
  }

  /** The last sample of the outgoing buffers of all sockets. */
  get outgoing(): number {
    return this.#outgoing;
  }

  /** Reserves `bytes` if they fit under the cap; false (and nothing reserved) otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.#reserved + this.#outgoing + bytes > this.limit) return false;
    this.#reserved += bytes;
    return true;
  }

  /** Gives back what {@link tryReserve} granted. */
  release(bytes: number): void {
    this.#reserved = Math.max(0, this.#reserved - bytes);
  }

  /** Records a fresh sample of the bytes queued for all sockets. */
  sampleOutgoing(bytes: number): void {
    this.#outgoing = bytes;
  }
}
