import type { Observable } from 'rxjs';
import type { IndexedDbDeps } from '../dexie-client-store.ts';
import type { Eventloom, EventloomOptions } from '../eventloom.ts';
import type { todoRegistry } from './todo-model.ts';

type TodoDefinition = (typeof todoRegistry.definitions)[number];

/** What describeEventloom hands its groups: how to open a loom, watch a stream, and the storage. */
export interface LoomSuite {
  /** Opens a new loom on a new database (closed after each test). */
  readonly open: (options?: Partial<EventloomOptions<TodoDefinition>>) => Promise<Eventloom<TodoDefinition>>;
  /** Collects what `source` emits until stopped. */
  readonly watch: <T>(source: Observable<T>) => { values: T[]; stop: () => void };
  /** The IndexedDB implementation; undefined: the global one. */
  readonly storage: IndexedDbDeps | undefined;
  /** The looms to close after each test; a test that opens one itself adds it. */
  readonly opened: Eventloom[];
}
