import type { CommittedEvent } from '@eventloom/protocol';
import { committedJson } from './committed-json.ts';

/** What {@link RecentCommits.page} answers: as `EventStore.read` for a whole-log page. */
export interface RecentPage {
  readonly events: CommittedEvent[];
  readonly until: number;
  readonly head: number;
  readonly jsonChars: number;
}

/**
 * The last events a store committed, as the texts it wrote, so that reading them back right away
 * (the live feed broadcasts every commit; a client that pulls just behind the head) needs no trip
 * to the database. It holds consecutive positions only, at most `capacity` of them; a batch that
 * does not follow on starts it anew.
 *
 * Invariant: every event held was committed durably (it is added once the append has answered),
 * and is exactly what a read of the database gives for its position.
 */
export class RecentCommits {
  readonly #capacity: number;
  #envelopes: string[] = [];
  #streamVersions: number[] = [];
  #recordedAt: string[] = [];
  /** The position of `#envelopes[0]`. */
  #first = 1;

  constructor(capacity = 4_096) {
    this.#capacity = capacity;
  }

  /** The highest position held; `#first - 1` when empty. */
  get last(): number {
    return this.#first + this.#envelopes.length - 1;
  }

  /** Adds a committed event: the envelope's JSON text (as stored), its commit fields. */
  add(envelope: string, position: number, streamVersion: number, recordedAt: string): void {
    if (position !== this.last + 1) this.#reset(position);
    this.#envelopes.push(envelope);
    this.#streamVersions.push(streamVersion);
    this.#recordedAt.push(recordedAt);
    if (this.#envelopes.length > this.#capacity * 2) {
      const drop = this.#envelopes.length - this.#capacity;
      this.#envelopes = this.#envelopes.slice(drop);
      this.#streamVersions = this.#streamVersions.slice(drop);
      this.#recordedAt = this.#recordedAt.slice(drop);
      this.#first += drop;
    }
  }

  /**
   * The events after `from`, at most `limit`, if this holds `from + 1` (else undefined: read the
   * database). `until` and `head` as `EventStore.read` gives them for a whole-log page, and so is
   * `maxJsonChars`.
   */
  page(from: number, limit: number, maxJsonChars = Infinity): RecentPage | undefined {
    const last = this.last;
    if (this.#envelopes.length === 0 || from < this.#first - 1 || from >= last) return undefined;
    const end = Math.min(last, from + limit);
    const events: CommittedEvent[] = [];
    let jsonChars = 0;
    for (let position = from + 1; position <= end; position++) {
      const i = position - this.#first;
      const text = committedJson(
        this.#envelopes[i]!,
        position,
        this.#streamVersions[i]!,
        this.#recordedAt[i]!,
      );
      if (events.length > 0 && jsonChars + text.length > maxJsonChars) {
        return { events, until: position - 1, head: last, jsonChars };
      }
      jsonChars += text.length;
      events.push(JSON.parse(text) as CommittedEvent);
    }
    return { events, until: end, head: last, jsonChars };
  }

  /** Forgets everything (the log may have changed under it). */
  clear(): void {
    this.#reset(1);
  }

  #reset(first: number): void {
    this.#envelopes = [];
    this.#streamVersions = [];
    this.#recordedAt = [];
    this.#first = first;
  }
}
