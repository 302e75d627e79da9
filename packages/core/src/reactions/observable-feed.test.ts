import { sampleCommitted } from '@eventloom/protocol/testing';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CoreErrorCode } from '../core-error.ts';
import type { FoldableEvent } from '../foldable-event.ts';
import type { ConfirmedEvent } from './confirmed-event.ts';
import { observableFeed } from './observable-feed.ts';

const positions = (result: IteratorResult<readonly ConfirmedEvent[]>) =>
  result.done === true ? undefined : result.value.map((e) => e.position);

describe('observableFeed', () => {
  it('subscribes from the position asked, pages what arrived since the last pull, and unsubscribes on return', async () => {
    const live = new Subject<FoldableEvent>();
    const opened: number[] = [];
    const feed = observableFeed((after) => {
      opened.push(after);
      return live;
    });
    const iterator = feed.read(7)[Symbol.asyncIterator]();
    const first = iterator.next();
    expect(opened).toEqual([7]);
    live.next(sampleCommitted({ position: 8 }));
    expect(positions(await first)).toEqual([8]);
    live.next(sampleCommitted({ position: 9 }));
    live.next(sampleCommitted({ position: 10 }));
    expect(positions(await iterator.next())).toEqual([9, 10]);
    const waiting = iterator.next();
    await iterator.return!();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(live.observed).toBe(false);
  });

  it('ends when the observable completes, after what it buffered', async () => {
    const live = new Subject<readonly FoldableEvent[]>();
    const iterator = observableFeed(() => live)
      .read(0)
      [Symbol.asyncIterator]();
    const pending = iterator.next();
    live.next([sampleCommitted({ position: 1 }), sampleCommitted({ position: 2 })]);
    live.complete();
    expect((await pending).value).toHaveLength(2);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('fails on an event without a position: reactions run on confirmed events only', async () => {
    const live = new Subject<FoldableEvent>();
    const iterator = observableFeed(() => live)
      .read(0)
      [Symbol.asyncIterator]();
    const pending = iterator.next();
    const { position: _, ...unconfirmed } = sampleCommitted();
    live.next(unconfirmed);
    await expect(pending).rejects.toMatchObject({ code: CoreErrorCode.invalid });
  });
});
