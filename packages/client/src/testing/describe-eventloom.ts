import type { Observable } from 'rxjs';
import { afterEach, describe } from 'vitest';
import type { IndexedDbDeps } from '../dexie-client-store.ts';
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
export function describeEventloom(label: string, storage: IndexedDbDeps | undefined): void {
  describe(`Eventloom: ${label}`, () => {
    const opened: Eventloom[] = [];
    let n = 0;

    async function open(options: Partial<EventloomOptions<(typeof todoRegistry.definitions)[number]>> = {}) {
      const loom = await createEventloom({
        name: `loom-${Date.now()}-${++n}`,
        registry: todoRegistry,
        ...(storage ? { storage } : {}),
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

    const suite: LoomSuite = { open, watch, storage, opened };
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
