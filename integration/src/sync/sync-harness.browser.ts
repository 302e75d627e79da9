/**
 * Test support for the sync tests in Chromium: devices on the page's IndexedDB that sync with the
 * hub the browser project starts in Node (sync-hub.global-setup.node.ts), and waits on observables.
 * Not part of the package.
 */
import { filter, firstValueFrom, timeout, type Observable } from 'rxjs';
import { afterEach, inject } from 'vitest';
import { createEventloom, type Eventloom, type EventloomOptions } from '@eventloom/client';
import { todoRegistry } from '@eventloom/client/testing';
import type { BrowserHubKey } from './sync-hub.global-setup.node.ts';
import { createSync } from '@eventloom/client';
import type { Sync } from '@eventloom/client';

const key: BrowserHubKey = 'eventloomHubUrl';

/** An Eventloom on the page's IndexedDB and its sync with the test hub. */
export interface BrowserDevice {
  readonly loom: Eventloom;
  readonly sync: Sync;
}

/** What {@link browserSyncFixtures} gives a test file. */
export interface BrowserSyncFixtures {
  /**
   * Opens database `name` (tabs that share it share the lead) and syncs it with the test hub,
   * subscribed to `subscriptions` (fast backoff); closed after the test. `noChannel`: the tabs
   * have Web Locks but no BroadcastChannel (they read the store every 50 ms).
   */
  readonly open: (
    name: string,
    subscriptions: readonly string[],
    projections?: EventloomOptions['projections'],
    noChannel?: boolean,
  ) => Promise<BrowserDevice>;
}

/**
 * Devices for the tests of one file, closed after each test (the last opened first). Call it at
 * the top level of the file: it registers the `afterEach` that closes them.
 *
 * @example
 * const { open } = browserSyncFixtures();
 * const a = await open(`sync-a-${stream}`, [stream]);
 */
export function browserSyncFixtures(): BrowserSyncFixtures {
  const url = inject(key);
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  return {
    open: async (name, subscriptions, projections, noChannel = false) => {
      const loom = await createEventloom({
        name,
        registry: todoRegistry,
        ...(projections === undefined ? {} : { projections }),
        ...(noChannel ? { tabs: { BroadcastChannel: null, pollMs: 50 } } : {}),
      });
      const sync = createSync(loom, {
        url,
        subscriptions,
        backoff: { initialMs: 20, maxMs: 500 },
        ...(noChannel ? { tabs: { BroadcastChannel: null } } : {}),
      });
      cleanup.push(
        () => loom.close(),
        () => sync.close(),
      );
      return { loom, sync };
    },
  };
}

/** The first value of `source` that passes `predicate`; fails after 20 s (generous: no timing is asserted). */
export function waitFor<T>(source: Observable<T>, predicate: (value: T) => boolean): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), timeout({ first: 20_000 })));
}
