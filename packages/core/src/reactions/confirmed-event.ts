import type { FoldableEvent } from '../foldable-event.ts';

/**
 * An event the hub has committed, as reactions read it: upcast like a {@link FoldableEvent}, and
 * always with its global `position`. Handlers and sagas react to these only, never to pending ones.
 *
 * @example const onAdded = (e: ConfirmedEvent<'todo.added', { title: string }>) => e.position;
 */
export type ConfirmedEvent<T extends string = string, D = unknown> = FoldableEvent<T, D> & {
  readonly position: number;
};

/** The union of {@link ConfirmedEvent}s that an event map (type → data) describes, discriminated by `type`. */
export type ConfirmedEventOf<M extends object> = {
  [K in keyof M & string]: ConfirmedEvent<K, M[K]>;
}[keyof M & string];
