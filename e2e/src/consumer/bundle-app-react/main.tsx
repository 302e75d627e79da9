/**
 * The minimal React app of the bundle-size-react benchmark: the app of bundle-size (one event type,
 * one projection, synced with the hub of its origin), rendered with @eventloom/react's hooks.
 */
import { createEventloom, createSync } from '@eventloom/client';
import { createRegistry, defineEvent, defineProjection } from '@eventloom/core';
import { EventloomProvider, useEventloom, usePending, useProjection, useSyncState } from '@eventloom/react';
import { createRoot } from 'react-dom/client';
import { z } from 'zod';

const TodoAdded = defineEvent('todo.added', { 1: z.object({ id: z.string(), title: z.string() }) });
const registry = createRegistry([TodoAdded]);
const todoCount = defineProjection<number>({
  name: 'todo-count',
  version: 1,
  initial: 0,
  on: { 'todo.added': (n) => n + 1 },
});

function Todos() {
  const loom = useEventloom();
  const count = useProjection(todoCount);
  const state = useSyncState();
  const pending = usePending();
  const add = () => {
    loom?.append('list:1', TodoAdded.create({ id: crypto.randomUUID(), title: 'milk' })).catch(console.error);
  };
  return (
    <p>
      <output>{count}</output> <span>{state}</span> <span>{pending.length} pending</span>
      <button onClick={add}>add</button>
    </p>
  );
}

const loom = await createEventloom({ name: 'todos', registry, projections: [todoCount] });
const sync = createSync(loom, { url: location.origin, subscriptions: ['list:1'] });
createRoot(document.body).render(
  <EventloomProvider loom={loom} sync={sync}>
    <Todos />
  </EventloomProvider>,
);
