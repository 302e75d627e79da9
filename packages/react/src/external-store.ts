/**
 * The external stores the hooks read with `useSyncExternalStore`: each holds the latest value of
 * an RxJS stream, subscribes to it while a component listens and not after, and hands React the
 * same snapshot until the stream emits again. Invariant: `getSnapshot()` changes only on an
 * emission, and every listener is told of each change, so components reading one store in one
 * render always see one value (no tearing).
 */
import type { Observable, Subscription } from 'rxjs';

/** What `useSyncExternalStore` takes: a subscription and the current snapshot. */
export interface ExternalStore<T> {
  readonly subscribe: (onChange: () => void) => () => void;
  readonly getSnapshot: () => T;
}

/**
 * The latest value of `open()`'s stream, `initial` until it emits. A stream that fails makes
 * `getSnapshot` throw its error, so that it reaches the component's error boundary.
 */
export function latestValueStore<T>(open: () => Observable<T>, initial: T): ExternalStore<T> {
  let value = initial;
  return listenedStore<T>(
    (changed, failed) =>
      open().subscribe({
        next: (next) => {
          value = next;
          changed();
        },
        error: failed,
      }),
    () => value,
  );
}

/**
 * Every item `open(after)` emits, in order, as one array. When it is opened again (a component
 * listens after none did), it is opened after the last item's `cursor`, so that the items kept
 * are not read twice. A new array is made only when React asks for the snapshot after a change,
 * so a burst of emissions costs one copy, not one per item.
 */
export function accumulatingStore<T>(
  open: (after: number | undefined) => Observable<T>,
  cursor: (item: T) => number | undefined,
): ExternalStore<readonly T[]> {
  const items: T[] = [];
  let snapshot: readonly T[] = items.slice();
  let dirty = false;
  return listenedStore<readonly T[]>(
    (changed, failed) => {
      const last = items.at(-1);
      return open(last === undefined ? undefined : cursor(last)).subscribe({
        next: (item) => {
          items.push(item);
          dirty = true;
          changed();
        },
        error: failed,
      });
    },
    () => {
      if (dirty) {
        snapshot = items.slice();
        dirty = false;
      }
      return snapshot;
    },
  );
}

/** A store that holds `subscribeSource`'s subscription while at least one listener listens. */
function listenedStore<T>(
  subscribeSource: (changed: () => void, failed: (error: unknown) => void) => Subscription,
  read: () => T,
): ExternalStore<T> {
  const listeners = new Set<() => void>();
  let source: Subscription | undefined;
  let failure: { readonly error: unknown } | undefined;
  const changed = () => {
    for (const listener of listeners) listener();
  };
  return {
    subscribe: (onChange) => {
      listeners.add(onChange);
      if (source === undefined) {
        failure = undefined;
        source = subscribeSource(changed, (error) => {
          failure = { error };
          changed();
        });
      }
      return () => {
        listeners.delete(onChange);
        if (listeners.size === 0 && source !== undefined) {
          source.unsubscribe();
          source = undefined;
        }
      };
    },
    getSnapshot: () => {
      if (failure !== undefined) throw failure.error;
      return read();
    },
  };
}

/** Stores kept per owner (an Eventloom, a sync, a queue) and key, so that components share them. */
export class StoreCache {
  readonly #byOwner = new WeakMap<object, Map<unknown, Map<string, ExternalStore<unknown>>>>();

  /** The store of (`owner`, `identity`, `key`), made by `make` the first time. */
  get<T>(owner: object, identity: unknown, key: string, make: () => ExternalStore<T>): ExternalStore<T> {
    let byIdentity = this.#byOwner.get(owner);
    if (byIdentity === undefined) this.#byOwner.set(owner, (byIdentity = new Map()));
    let byKey = byIdentity.get(identity);
    if (byKey === undefined) byIdentity.set(identity, (byKey = new Map()));
    let store = byKey.get(key) as ExternalStore<T> | undefined;
    if (store === undefined) byKey.set(key, (store = make()));
    return store;
  }
}
