/**
 * A second page for the two-tab tests: loaded in an iframe (its own document, module instances,
 * Web Locks client and BroadcastChannel objects), it opens an Eventloom on the database it is
 * told and hands it to the test through `window.eventloomTab`.
 */
import { createEventloom, type Eventloom } from '../eventloom.ts';
import { syncPortOf } from '../sync-port-access.ts';
import type { SyncPort } from '../sync-port.ts';
import { todoRegistry } from './todo-model.ts';
import { TodoAdded, todoCount } from './todo-model.ts';

/** What the second page offers the test. */
export interface SecondTab {
  open(name: string): Promise<Eventloom>;
  /** The sync port of an Eventloom this page opened (its module instance keeps it). */
  syncPortOf(loom: Eventloom): SyncPort;
  readonly TodoAdded: typeof TodoAdded;
  readonly todoCount: typeof todoCount;
}

const tab: SecondTab = {
  open: (name) => createEventloom({ name, registry: todoRegistry, projections: [todoCount] }),
  syncPortOf,
  TodoAdded,
  todoCount,
};
(window as unknown as { eventloomTab: SecondTab }).eventloomTab = tab;
