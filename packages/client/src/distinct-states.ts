import type { Observable, Subscriber, Subscription } from 'rxjs';

/**
 * What `changes.pipe(startWith(undefined), map(read), distinctUntilChanged()).subscribe(subscriber)`
 * does, written out: `subscriber` gets the state `read` gives now, then, after each change, the
 * state if it is another one (`!==`) than the last it got. `read` throwing errors `subscriber`
 * and stops; `changes` ending ends it, and `subscriber` closing ends the subscription to `changes`.
 * Returns that subscription, or undefined if `subscriber` closed during the first state (nothing
 * subscribed then).
 *
 * Written out because `projection$` emits through it for every event folded, on the path of each
 * live event: the operators' chain costs four subscribers (`startWith`'s concat among them) per
 * emission, this one call.
 */
export function followStates<S>(
  changes: Observable<void>,
  read: () => S,
  subscriber: Subscriber<S>,
): Subscription | undefined {
  let last: S;
  try {
    last = read();
  } catch (error) {
    subscriber.error(error);
    return undefined;
  }
  subscriber.next(last);
  if (subscriber.closed) return undefined;
  let subscription: Subscription | undefined = undefined;
  subscription = changes.subscribe({
    next: () => {
      let state: S;
      try {
        state = read();
      } catch (error) {
        subscriber.error(error);
        subscription?.unsubscribe();
        return;
      }
      if (state === last) return;
      last = state;
      subscriber.next(state);
    },
    error: (error: unknown) => subscriber.error(error),
    complete: () => subscriber.complete(),
  });
  // Tied to `subscriber`, as `.subscribe(subscriber)` would be: if `changes` emitted as it was
  // subscribed to and `subscriber` closed then, this ends the subscription at once.
  subscriber.add(subscription);
  return subscription;
}
