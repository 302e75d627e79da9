import { afterEach, describe } from 'vitest';
import type { EventStore } from './event-store.ts';
import type { EventStoreSuiteOptions } from './event-store-contract-fixtures.ts';
import { appendContract } from './event-store-contract-append.ts';
import { fenceContract } from './event-store-contract-fence.ts';
import { lifecycleContract } from './event-store-contract-lifecycle.ts';
import { readContract } from './event-store-contract-read.ts';

export type { EventStoreSuiteOptions } from './event-store-contract-fixtures.ts';

/**
 * The contract every {@link EventStore} keeps, as a vitest suite: run it once per implementation,
 * with a `create` that returns a fresh, empty log each time. The suite closes what it creates.
 *
 * @example
 * describeEventStore('memory', () => createMemoryStore());
 */
export function describeEventStore(
  name: string,
  create: () => Promise<EventStore>,
  options: EventStoreSuiteOptions = {},
): void {
  describe(`EventStore contract: ${name}`, () => {
    const opened: EventStore[] = [];
    const fresh = async (): Promise<EventStore> => {
      const store = await create();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    const context = { fresh, create, opened, options };
    appendContract(context);
    fenceContract(context);
    readContract(context);
    lifecycleContract(context);
  });
}
