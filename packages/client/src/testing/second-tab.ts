/**
 * A second page for the two-tab tests: loaded in an iframe (its own document, module instances,
 * Web Locks client and BroadcastChannel objects), it opens an Eventloom on the database it is
 * told and hands it to the test through `window.eventloomTab`.
 */
import { createEventloom, type Eventloom } from '../eventloom.ts';
import { todoRegistry } from './todo-model.ts';
import { TodoAdded, todoCount } from './todo-model.ts';

/** What the second page offers the test. */
export interface SecondTab {
  open(name: string): Promise<Eventloom>;
  readonly TodoAdded: typeof TodoAdded;
  readonly todoCount: typeof todoCount;
}

const tab: SecondTab = {
  open: (name) => createEventloom({ name, registry: todoRegistry, projections: [todoCount] }),
  TodoAdded,
  todoCount,
};
(window as unknown as { eventloomTab: SecondTab }).eventloomTab = tab;
