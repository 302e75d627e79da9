import type { Observable } from 'rxjs';
import type { ClientStore } from '../client-store.ts';
import type { Eventloom, EventloomOptions } from '../eventloom.ts';
import type { todoRegistry } from './todo-model.ts';

type TodoDefinition = (typeof todoRegistry.definitions)[number];

/** What describeEventloom hands its groups: how to open a loom, watch a stream, and the storage. */
export interface LoomSuite {
  /** Opens a new loom on a new database (closed after each test). */
  readonly open: (options?: Partial<EventloomOptions<TodoDefinition>>) => Promise<Eventloom<TodoDefinition>>;
  /** Collects what `source` emits until stopped. */
  readonly watch: <T>(source: Observable<T>) => { values: T[]; stop: () => void };
  /** The `storage` option of a loom on database `name` (undefined: the global IndexedDB). */
  readonly storageOf: (name: string) => EventloomOptions<TodoDefinition>['storage'];
  /** A store on database `name` of its own, to read or plant rows under a loom. */
  readonly storeOf: (name: string) => ClientStore;
  /** The looms to close after each test; a test that opens one itself adds it. */
  readonly opened: Eventloom[];
}
