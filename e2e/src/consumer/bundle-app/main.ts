/**
 * The minimal browser app of the bundle-size benchmark: an Eventloom with one event type and one
 * projection, synced with the hub of its own origin, showing the count and the sync state.
 */
import { createEventloom, createSync } from '@eventloom/client';
import { createRegistry, defineEvent, defineProjection } from '@eventloom/core';
import { z } from 'zod';

const TodoAdded = defineEvent('todo.added', { 1: z.object({ id: z.string(), title: z.string() }) });
const registry = createRegistry([TodoAdded]);
const todoCount = defineProjection<number>({
  name: 'todo-count',
  version: 1,
  initial: 0,
  on: { 'todo.added': (n) => n + 1 },
});

const loom = await createEventloom({ name: 'todos', registry, projections: [todoCount] });
const sync = createSync(loom, { url: location.origin, subscriptions: ['list:1'] });

const count = document.createElement('output');
const state = document.createElement('span');
const add = document.createElement('button');
add.textContent = 'add';
add.onclick = () => {
  loom.append('list:1', TodoAdded.create({ id: crypto.randomUUID(), title: 'milk' })).catch(console.error);
};
document.body.append(count, state, add);
loom.projection$(todoCount).subscribe((n) => (count.value = String(n)));
sync.syncState$.subscribe((s) => (state.textContent = s));
