import {
  BehaviorSubject,
  distinctUntilChanged,
  map,
  Observable,
  startWith,
  Subject,
  type Subscription,
  take,
} from 'rxjs';
import { describe, expect, it } from 'vitest';
import { followStates } from './distinct-states.ts';

/** What a subscriber heard, as a log. */
function record(log: unknown[]) {
  return {
    next: (v: unknown) => log.push(v),
    error: (e: unknown) => log.push(`error ${(e as Error).message}`),
    complete: () => log.push('complete'),
  };
}

/** The same script played on the operators' chain and on followStates: the logs must match. */
function both(
  script: (changes: Subject<void>, state: { value: unknown; fail: boolean }) => void,
  setup: {
    /** The changes to follow: a plain Subject unless given. */
    changes?: () => Subject<void>;
    /** Runs after the first read, before the changes are subscribed to. */
    afterFirstRead?: (state: { value: unknown; fail: boolean }) => void;
  } = {},
) {
  const play = (follow: boolean, limit?: number) => {
    const changes = setup.changes?.() ?? new Subject<void>();
    const state = { value: 0 as unknown, fail: false };
    let reads = 0;
    const read = () => {
      if (state.fail) throw new Error('read failed');
      const value = state.value;
      if (reads++ === 0) setup.afterFirstRead?.(state);
      return value;
    };
    const log: unknown[] = [];
    const states = follow
      ? new Observable<unknown>((subscriber) => {
          // As projection-host's watch does: the teardown is in place before the subscription
          // to the changes is returned, so it may run while there is none yet to end.
          let inner: Subscription | undefined;
          subscriber.add(() => inner?.unsubscribe());
          inner = followStates(changes, read, subscriber);
        })
      : changes.pipe(startWith(undefined), map(read), distinctUntilChanged());
    (limit === undefined ? states : states.pipe(take(limit))).subscribe(record(log));
    script(changes, state);
    return { log, observed: changes.observed };
  };
  return { play };
}

describe('followStates', () => {
  it('emits the state now, then each other state after a change, and ends with the changes', () => {
    const { play } = both((changes, state) => {
      changes.next();
      state.value = 1;
      changes.next();
      changes.next();
      state.value = 0;
      changes.next();
      changes.complete();
    });
    expect(play(true)).toEqual(play(false));
    expect(play(true).log).toEqual([0, 1, 0, 'complete']);
  });

  it('errors when reading throws, and stops listening', () => {
    const { play } = both((changes, state) => {
      state.value = 1;
      changes.next();
      state.fail = true;
      changes.next();
    });
    expect(play(true)).toEqual(play(false));
    expect(play(true)).toEqual({ log: [0, 1, 'error read failed'], observed: false });
  });

  it('forwards an error of the changes', () => {
    const { play } = both((changes) => changes.error(new Error('gone')));
    expect(play(true)).toEqual(play(false));
    expect(play(true).log).toEqual([0, 'error gone']);
  });

  it('does not listen when the subscriber closes on the first state, nor after it closes', () => {
    const { play } = both((changes, state) => {
      state.value = 1;
      changes.next();
      state.value = 2;
      changes.next();
    });
    expect(play(true, 1)).toEqual(play(false, 1));
    expect(play(true, 1)).toEqual({ log: [0, 'complete'], observed: false });
    expect(play(true, 2)).toEqual(play(false, 2));
    expect(play(true, 2)).toEqual({ log: [0, 1, 'complete'], observed: false });
  });

  it('stops listening when the subscriber closes or errors in an emission made on subscribe', () => {
    // A BehaviorSubject emits as it is subscribed to, before followStates holds the subscription.
    const changes = () => new BehaviorSubject<void>(undefined);
    // take(2): the state changed before the subscribe, so its emission gives the second state.
    const closes = both(() => undefined, { changes, afterFirstRead: (state) => (state.value = 1) });
    expect(closes.play(true, 2)).toEqual(closes.play(false, 2));
    expect(closes.play(true, 2)).toEqual({ log: [0, 1, 'complete'], observed: false });

    const errors = both(() => undefined, { changes, afterFirstRead: (state) => (state.fail = true) });
    expect(errors.play(true)).toEqual(errors.play(false));
    expect(errors.play(true)).toEqual({ log: [0, 'error read failed'], observed: false });
  });
});
