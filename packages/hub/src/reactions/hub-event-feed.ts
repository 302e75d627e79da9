import type { ConfirmedEvent, EventFeed } from '@eventloom/core';
import type { CommittedEvent, Result } from '@eventloom/protocol';
import type { EventStore, StoreReadResult } from '../store/event-store.ts';

/** What {@link hubEventFeed} reads from and wakes on. */
export interface HubEventFeedOptions {
  readonly store: EventStore;
  /** Subscribes to commits (the hub's `onCommit`); returns the unsubscribe. */
  readonly onCommit: (listener: (head: number) => void) => () => void;
  /**
   * Events per page read from the store. Default 500. A reader holds at most two pages
   * (`2 × pageSize` events) while it catches up, and one at the head: see {@link hubEventFeed}.
   */
  readonly pageSize?: number;
  /** Upcasts an event to the latest version of its type (an `EventRegistry`'s `upcast`); none: as stored. */
  readonly upcast?: (event: CommittedEvent) => Result<ConfirmedEvent>;
}

/**
 * An `EventFeed` over the hub's committed log: pages in position order from the store, then a
 * wait until the next commit. Each reader (one per handler and saga) reads on its own. While it
 * catches up (its last page was cut by `pageSize`, before the head that read saw), the next page
 * is read while the reader handles this one.
 *
 * Memory bound: a reader holds at most two pages, `2 × pageSize` events (the page it handles and
 * the one read ahead); a reader at the head (its last page reached the head) holds only the page
 * it handles, and reads the next one when it asks for it.
 *
 * @example const feed = hubEventFeed({ store, onCommit: (l) => hub.onCommit(l) });
 */
export function hubEventFeed(options: HubEventFeedOptions): EventFeed {
  const pageSize = options.pageSize ?? 500;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`pageSize must be an integer ≥ 1, got ${pageSize}`);
  }
  return { read: (after) => new HubPages(options, pageSize, after) };
}

class HubPages implements AsyncIterable<readonly ConfirmedEvent[]>, AsyncIterator<readonly ConfirmedEvent[]> {
  readonly #options: HubEventFeedOptions;
  readonly #pageSize: number;
  #after: number;
  /** The highest head a commit announced (or a read saw). */
  #head = 0;
  #ended = false;
  /** The read of the page after `#after`, started when the last page, a full one, was handed out. */
  #ahead: Promise<StoreReadResult> | undefined;
  #wake: (() => void) | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: HubEventFeedOptions, pageSize: number, after: number) {
    this.#options = options;
    this.#pageSize = pageSize;
    this.#after = after;
  }

  [Symbol.asyncIterator](): AsyncIterator<readonly ConfirmedEvent[]> {
    return this;
  }

  async next(): Promise<IteratorResult<readonly ConfirmedEvent[]>> {
    // Subscribed before the first read, so that no commit falls between a read and the wait.
    this.#unsubscribe ??= this.#options.onCommit((head) => {
      if (head > this.#head) this.#head = head;
      this.#poke();
    });
    for (;;) {
      if (this.#ended) return { done: true, value: undefined };
      const read = this.#ahead ?? this.#read();
      this.#ahead = undefined;
      const page = await read;
      if (page.head > this.#head) this.#head = page.head;
      if (page.until > this.#after) this.#after = page.until;
      if (page.events.length > 0) {
        // Only after a page cut by the limit: at the head, new events come a few at a time, and a
        // read ahead would only double what each live reader holds.
        if (page.until < page.head && !this.#ended) {
          // Its failure, if any, is the next call's (the reader then starts over from its checkpoint).
          this.#ahead = this.#read();
          this.#ahead.catch(() => undefined);
        }
        return { done: false, value: page.events.map((e) => this.#upcast(e)) };
      }
      while (this.#head <= this.#after && !this.#ended) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    }
  }

  async return(): Promise<IteratorResult<readonly ConfirmedEvent[]>> {
    this.#ended = true;
    this.#ahead = undefined;
    this.#unsubscribe?.();
    this.#poke();
    return { done: true, value: undefined };
  }

  #read(): Promise<StoreReadResult> {
    return this.#options.store.read({ from: this.#after, limit: this.#pageSize });
  }

  #upcast(event: CommittedEvent): ConfirmedEvent {
    const upcast = this.#options.upcast;
    if (upcast === undefined) return event;
    const result = upcast(event);
    // An event the registry does not know (any more) reaches the reactions as it was written.
    return result.ok ? result.value : event;
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
