import type { ConfirmedEvent } from './confirmed-event.ts';

/**
 * Where a runner reads confirmed events: the client feeds it from `events$` (see
 * {@link observableFeed}), the hub from its log. A runner reads once per handler and per saga,
 * each from its own checkpoint, and reads again from its checkpoint after an error.
 *
 * @example
 * const feed: EventFeed = {
 *   async *read(after) {
 *     for (;;) {
 *       const page = await log.readAfter(after, 1000); // waits while there is nothing new
 *       if (page.length) after = page[page.length - 1].position;
 *       yield page;
 *     }
 *   },
 * };
 */
export interface EventFeed {
  /**
   * The confirmed events after position `after`, upcast, in position order, in pages: those stored
   * now, then each new one as it is confirmed. A page may repeat events already delivered (they are
   * skipped), and need not be gapless (a feed may leave out events no reaction wants). The runner
   * stops reading by calling `return()` on the iterator; a feed that ends is read to its end and
   * the reaction then stops.
   */
  read(after: number): AsyncIterable<readonly ConfirmedEvent[]>;
}
