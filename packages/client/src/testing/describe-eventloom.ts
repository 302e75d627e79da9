import type { Observable } from 'rxjs';
import { afterEach, describe } from 'vitest';
import type { ClientStore } from '../client-store.ts';
import { DexieClientStore, type IndexedDbDeps } from '../dexie-client-store.ts';
import { createEventloom, type Eventloom, type EventloomOptions } from '../eventloom.ts';
import { todoRegistry } from './todo-model.ts';
import { appendSuite, appendsInFlightSuite, executeSuite } from './eventloom-suite-append.ts';
import type { LoomSuite } from './eventloom-suite-fixtures.ts';
import { persistenceSuite } from './eventloom-suite-persistence.ts';
import { eventsSuite, projectionSuite, rebaseSuite } from './eventloom-suite-projections.ts';
import { syncDecisionsSuite, syncEntrySuite } from './eventloom-suite-sync.ts';

/**
 * The client's behaviour through its public API, run in Node on fake-indexeddb (eventloom.test.ts)
 * and in Chromium on its IndexedDB (eventloom.browser.test.ts). `storage` undefined: the global one.
 */
export function describeEventloom(
  label: string,
  storage: IndexedDbDeps | { readonly store: (name: string) => ClientStore } | undefined,
): void {
  const storeOf = (name: string): ClientStore =>
    storage && 'store' in storage
      ? storage.store(name)
      : new DexieClientStore({ name, ...(storage ? { indexedDB: storage } : {}) });
  const storageOf = (name: string): EventloomOptions<(typeof todoRegistry.definitions)[number]>['storage'] =>
    storage && 'store' in storage ? { store: storage.store(name) } : storage;
  describe(`Eventloom: ${label}`, () => {
    const opened: Eventloom[] = [];
    let n = 0;

    async function open(options: Partial<EventloomOptions<(typeof todoRegistry.definitions)[number]>> = {}) {
      const name = `loom-${Date.now()}-${++n}`;
      const storageOption = storageOf(name);
      const loom = await createEventloom({
        name,
        registry: todoRegistry,
        ...(storageOption ? { storage: storageOption } : {}),
        ...options,
      });
      opened.push(loom);
      return loom;
    }

    function watch<T>(source: Observable<T>): { values: T[]; stop: () => void } {
      const values: T[] = [];
      const sub = source.subscribe((v) => values.push(v));
      return { values, stop: () => sub.unsubscribe() };
    }

    afterEach(async () => {
      for (const loom of opened.splice(0)) await loom.close();
    });

    const suite: LoomSuite = { open, watch, storageOf, storeOf, opened };
    appendSuite(suite);
    appendsInFlightSuite(suite);
    projectionSuite(suite);
    syncEntrySuite(suite);
    syncDecisionsSuite(suite);
    executeSuite(suite);
    eventsSuite(suite);
    persistenceSuite(suite);
    rebaseSuite(suite);
  });
}
