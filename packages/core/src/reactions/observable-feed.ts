import type { Observable, Subscription } from 'rxjs';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import type { FoldableEvent } from '../foldable-event.ts';
import type { ConfirmedEvent } from './confirmed-event.ts';
import type { EventFeed } from './event-feed.ts';

/**
 * An {@link EventFeed} over an Observable of confirmed events (the client's `events$`): each read
 * subscribes to `open(after)` and yields, on each pull, all the events that arrived since the
 * last one as one page. The subscription ends when the runner stops reading. Events without a
 * `position` (pending ones) are an error: reactions run on confirmed events only.
 *
 * @example const feed = observableFeed((after) => loom.events$({ from: after }));
 */
export function observableFeed(
  open: (after: number) => Observable<FoldableEvent | readonly FoldableEvent[]>,
): EventFeed {
  return { read: (after) => new ObservablePages(open, after) };
}

class ObservablePages
  implements AsyncIterable<readonly ConfirmedEvent[]>, AsyncIterator<readonly ConfirmedEvent[]>
{
  readonly #open: (after: number) => Observable<FoldableEvent | readonly FoldableEvent[]>;
  readonly #after: number;
  #subscription: Subscription | undefined;
  #buffer: ConfirmedEvent[] = [];
  #ended = false;
  #error: unknown = undefined;
  #failed = false;
  #wake: (() => void) | undefined;

  constructor(open: (after: number) => Observable<FoldableEvent | readonly FoldableEvent[]>, after: number) {
    this.#open = open;
    this.#after = after;
  }

  [Symbol.asyncIterator](): AsyncIterator<readonly ConfirmedEvent[]> {
    return this;
  }

  async next(): Promise<IteratorResult<readonly ConfirmedEvent[]>> {
    this.#subscription ??= this.#open(this.#after).subscribe({
      next: (value) => {
        const events = isList(value) ? value : [value];
        for (const event of events) {
          if (typeof event.position !== 'number') {
            this.#fail(
              new CoreError(CoreErrorCode.invalid, `event ${event.id} has no position: not confirmed`),
            );
            return;
          }
          this.#buffer.push(event as ConfirmedEvent);
        }
        this.#poke();
      },
      error: (error: unknown) => this.#fail(error),
      complete: () => {
        this.#ended = true;
        this.#poke();
      },
    });
    while (this.#buffer.length === 0 && !this.#ended && !this.#failed) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    if (this.#buffer.length > 0) {
      const page = this.#buffer;
      this.#buffer = [];
      return { done: false, value: page };
    }
    if (this.#failed) {
      this.#failed = false;
      this.#ended = true;
      throw this.#error;
    }
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<readonly ConfirmedEvent[]>> {
    this.#ended = true;
    this.#buffer = [];
    this.#subscription?.unsubscribe();
    this.#poke();
    return { done: true, value: undefined };
  }

  #fail(error: unknown): void {
    this.#error = error;
    this.#failed = true;
    this.#subscription?.unsubscribe();
    this.#poke();
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function isList(value: FoldableEvent | readonly FoldableEvent[]): value is readonly FoldableEvent[] {
  return Array.isArray(value);
}
