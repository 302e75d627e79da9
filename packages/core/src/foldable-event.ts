import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import type { EventData, EventDefinition } from './define-event.ts';

/**
 * An event as projections and deciders read it: the envelope its client wrote, with `data` already
 * upcast to the latest version of its type, plus the hub's commit fields once it is confirmed
 * (`position`, `streamVersion`, `recordedAt` are absent while it is pending in the outbox).
 *
 * @example
 * const lastWriterWins = (state: Title, e: FoldableEvent<'todo.renamed', { title: string }>) =>
 *   e.hlc > state.hlc ? { title: e.data.title, hlc: e.hlc } : state;
 */
export type FoldableEvent<T extends string = string, D = unknown> = Readonly<
  Omit<EventEnvelope, 'type' | 'data'> &
    Partial<Pick<CommittedEvent, 'position' | 'streamVersion' | 'recordedAt'>>
> & {
  readonly type: T;
  readonly data: D;
};

/**
 * Event type name → data type (of the latest version), the shape projections and deciders are
 * typed by (any object type will do, an interface too). This default accepts any type with
 * `unknown` data.
 *
 * @example type TodoEvents = { 'todo.added': { id: string; title: string }; 'todo.done': { id: string } };
 */
export type EventMap = Record<string, unknown>;

/**
 * The {@link EventMap} of a union of event definitions: each type name to its latest data.
 *
 * @example type TodoEvents = EventMapOf<typeof TodoAdded | typeof TodoDone>;
 */
export type EventMapOf<E extends EventDefinition> = { [D in E as D['type']]: EventData<D> };

/** The union of {@link FoldableEvent}s that an {@link EventMap} describes, discriminated by `type`. */
export type FoldableEventOf<M extends object> = {
  [K in keyof M & string]: FoldableEvent<K, M[K]>;
}[keyof M & string];
