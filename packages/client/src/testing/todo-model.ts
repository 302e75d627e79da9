import {
  createRegistry,
  defineDecider,
  defineEvent,
  defineProjection,
  reject,
  type EventMapOf,
} from '@eventloom/core';
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { z } from 'zod';
import type { Eventloom } from '../eventloom.ts';
import { syncPortOf } from '../sync-port-access.ts';

/** A to-do was added; version 1 had no tags (upcast to `[]`). */
export const TodoAdded = defineEvent(
  'todo.added',
  {
    1: z.object({ id: z.string().min(1), title: z.string() }),
    2: z.object({ id: z.string().min(1), title: z.string(), tags: z.array(z.string()) }),
  },
  { upcast: { 1: (v1) => ({ ...v1, tags: [] }) } },
);
/** A to-do was done. */
export const TodoDone = defineEvent('todo.done', { 1: z.object({ id: z.string().min(1) }) });
/** Free text, up to 1 MB: big enough to exceed `Limits.maxEventBytes`. */
export const NoteWritten = defineEvent('note.written', { 1: z.object({ text: z.string().max(1_000_000) }) });

/** The registry of the to-do model. */
export const todoRegistry = createRegistry([TodoAdded, TodoDone, NoteWritten]);
/** Event type → data of the to-do model. */
export type TodoEvents = EventMapOf<typeof TodoAdded | typeof TodoDone | typeof NoteWritten>;

/** A to-do as the list shows it. */
export interface Todo {
  readonly title: string;
  readonly done: boolean;
  readonly tags: readonly string[];
}

/** Every to-do by id. */
export const todoList = defineProjection<ReadonlyMap<string, Todo>, TodoEvents>({
  name: 'todo-list',
  version: 1,
  initial: new Map(),
  on: {
    'todo.added': (todos, e) =>
      new Map(todos).set(e.data.id, { title: e.data.title, done: false, tags: e.data.tags }),
    'todo.done': (todos, e) => {
      const todo = todos.get(e.data.id);
      return todo ? new Map(todos).set(e.data.id, { ...todo, done: true }) : todos;
    },
  },
});

/** The number of to-dos added, over all lists. */
export const todoCount = defineProjection<number, TodoEvents>({
  name: 'todo-count',
  version: 1,
  initial: 0,
  on: { 'todo.added': (n) => n + 1 },
});

/** Open to-dos per list (keyed by stream). */
export const openByList = defineProjection<number, TodoEvents>({
  name: 'open-by-list',
  version: 1,
  initial: 0,
  on: { 'todo.added': (n) => n + 1, 'todo.done': (n) => n - 1 },
  key: (e) => e.stream,
});

/** The order events were folded in, as `type:id`: what the rebase property compares. */
export const foldOrder = defineProjection<readonly string[], TodoEvents>({
  name: 'fold-order',
  version: 1,
  initial: [],
  on: {
    'todo.added': (order, e) => [...order, `${e.type}:${e.id}`],
    'todo.done': (order, e) => [...order, `${e.type}:${e.id}`],
  },
});

/** A command on a list of to-dos. */
export type TodoCommand =
  | { readonly type: 'add'; readonly list: string; readonly id: string; readonly title: string }
  | { readonly type: 'complete'; readonly list: string; readonly id: string };

/** The list's invariants: an id is added once, and only an open to-do can be done. */
export const todoDecider = defineDecider<
  ReadonlyMap<string, boolean>,
  TodoCommand,
  TodoEvents,
  'exists' | 'missing' | 'already-done'
>({
  name: 'todos',
  initial: new Map(),
  evolve: (state, e) => {
    if (e.type === 'todo.added') return new Map(state).set(e.data.id, false);
    if (e.type === 'todo.done') return new Map(state).set(e.data.id, true);
    return state;
  },
  decide: (cmd, state) => {
    if (cmd.type === 'add') {
      if (state.has(cmd.id)) return reject('exists', `to-do ${cmd.id} exists`);
      return [{ type: 'todo.added', data: { id: cmd.id, title: cmd.title, tags: [] } }];
    }
    const done = state.get(cmd.id);
    if (done === undefined) return reject('missing', `no to-do ${cmd.id}`);
    if (done) return reject('already-done', `to-do ${cmd.id} is done`);
    return [{ type: 'todo.done', data: { id: cmd.id } }];
  },
  stream: (cmd) => cmd.list,
});

/** An envelope as the hub would commit it: the same event with a position, stream version and time. */
export function confirm(event: EventEnvelope, position: number, streamVersion = position): CommittedEvent {
  return {
    ...event,
    position,
    streamVersion,
    recordedAt: new Date(1_800_000_000_000 + position).toISOString(),
  };
}

/** Plays the hub for an Eventloom without a sync: confirms its outbox in order; returns the head. */
export async function confirmAll(loom: Eventloom): Promise<number> {
  let position = await syncPortOf(loom).lastPosition();
  const rows = await syncPortOf(loom).readOutbox();
  if (rows.length > 0) await syncPortOf(loom).insertConfirmed(rows.map((r) => confirm(r.event, ++position)));
  return position;
}
