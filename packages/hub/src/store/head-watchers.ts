import type { HeadChange } from './event-store.ts';

/**
 * The watchers of one store's head (`EventStore.watchHead`): adds and removes them, and tells
 * each of every change. A watcher that throws is skipped, never the others: it is the watcher's
 * job to catch its own errors. `onFirst` runs when the first watcher comes (a store may start
 * listening to its database only then).
 */
export class HeadWatchers {
  readonly #listeners = new Set<(change: HeadChange) => void>();
  readonly #onFirst: (() => void) | undefined;

  constructor(onFirst?: () => void) {
    this.#onFirst = onFirst;
  }

  /** Whether anyone watches. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Adds a watcher; returns the function that removes it. */
  add(listener: (change: HeadChange) => void): () => void {
    const wrapped = (change: HeadChange) => listener(change);
    this.#listeners.add(wrapped);
    if (this.#listeners.size === 1) this.#onFirst?.();
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  /** Tells every watcher of a change. */
  emit(change: HeadChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A watcher's own failure; the others still hear of the change.
      }
    }
  }

  /** Forgets every watcher (the store closed). */
  clear(): void {
    this.#listeners.clear();
  }
}
