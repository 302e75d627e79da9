import type { JsonValue } from '@eventloom/protocol';
import { sampleCommitted } from '@eventloom/protocol/testing';
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineEvent } from './define-event.ts';
import type { EventMapOf, FoldableEvent } from './foldable-event.ts';
import { applyEvent, defineProjection, fold, foldByKey, keyOfEvent, projectionId } from './projection.ts';

type BoardEvents = {
  'card.added': { id: string; title: string; column: string };
  'card.moved': { id: string; to: string };
  'card.removed': { id: string };
};

interface Board {
  readonly columns: Readonly<Record<string, readonly string[]>>;
  readonly cards: number;
}

const emptyBoard: Board = { columns: {}, cards: 0 };

const without = (ids: readonly string[] | undefined, id: string) => (ids ?? []).filter((x) => x !== id);

const board = defineProjection<Board, BoardEvents>({
  name: 'board',
  version: 1,
  initial: emptyBoard,
  on: {
    'card.added': (s, e) => ({
      cards: s.cards + 1,
      columns: { ...s.columns, [e.data.column]: [...(s.columns[e.data.column] ?? []), e.data.id] },
    }),
    'card.moved': (s, e) => {
      const columns: Record<string, readonly string[]> = {};
      for (const [name, ids] of Object.entries(s.columns)) columns[name] = without(ids, e.data.id);
      columns[e.data.to] = [...(columns[e.data.to] ?? []), e.data.id];
      return { ...s, columns };
    },
    'card.removed': (s, e) => {
      const columns: Record<string, readonly string[]> = {};
      for (const [name, ids] of Object.entries(s.columns)) columns[name] = without(ids, e.data.id);
      return { cards: s.cards - 1, columns };
    },
  },
  key: (e) => e.stream,
});

let position = 0;
function event(type: string, data: JsonValue, stream = 'board:1'): FoldableEvent {
  position += 1;
  return sampleCommitted({ type, data, stream, position, streamVersion: position });
}

describe('defineProjection', () => {
  it('names the projection name@version, so that a version bump gets a new id', () => {
    expect(board.id).toBe('board@1');
    expect(projectionId('board', 1)).toBe(board.id);
    const v2 = defineProjection({ name: 'board', version: 2, initial: emptyBoard, on: {} });
    expect(v2.id).toBe('board@2');
    expect(v2.id).not.toBe(board.id);
    expect(board.types).toEqual(['card.added', 'card.moved', 'card.removed']);
  });

  it('refuses a bad name, version or reducer', () => {
    expect(() => defineProjection({ name: '', version: 1, initial: 0, on: {} })).toThrow(TypeError);
    expect(() => defineProjection({ name: 'p', version: 0, initial: 0, on: {} })).toThrow(RangeError);
    expect(() => defineProjection({ name: 'p', version: 1.5, initial: 0, on: {} })).toThrow(RangeError);
    const notAFunction = { 'x.y': 1 } as unknown as Record<string, (s: number) => number>;
    expect(() => defineProjection({ name: 'p', version: 1, initial: 0, on: notAFunction })).toThrow(
      TypeError,
    );
    const badKey = 'stream' as unknown as () => string;
    expect(() => defineProjection({ name: 'p', version: 1, initial: 0, on: {}, key: badKey })).toThrow(
      TypeError,
    );
  });

  it('types data by the event map', () => {
    defineProjection<number, BoardEvents>({
      name: 'typed',
      version: 1,
      initial: 0,
      on: {
        'card.moved': (n, e) => {
          expectTypeOf(e.data).toEqualTypeOf<{ id: string; to: string }>();
          expectTypeOf(e.type).toEqualTypeOf<'card.moved'>();
          expectTypeOf(e.hlc).toEqualTypeOf<string>();
          expectTypeOf(e.position).toEqualTypeOf<number | undefined>();
          return n + 1;
        },
        // @ts-expect-error not an event of the map
        'card.renamed': (n: number) => n,
      },
    });
  });
});

describe('defineProjection with event definitions', () => {
  const TodoAdded = defineEvent(
    'todo.added',
    { 1: z.object({ title: z.string() }), 2: z.object({ title: z.string(), done: z.boolean() }) },
    { upcast: { 1: (v1) => ({ ...v1, done: false }) } },
  );
  const TodoCleared = defineEvent('todo.cleared', { 1: z.object({}) });
  type TodoEvents = EventMapOf<typeof TodoAdded | typeof TodoCleared>;

  it('types data by the latest version of each definition', () => {
    const open = defineProjection<readonly string[], TodoEvents>({
      name: 'open-todos',
      version: 1,
      initial: [],
      on: {
        'todo.added': (titles, e) => {
          expectTypeOf(e.data).toEqualTypeOf<{ title: string; done: boolean }>();
          return e.data.done ? titles : [...titles, e.data.title];
        },
        'todo.cleared': () => [],
      },
    });
    const events = [
      event(TodoAdded.type, { title: 'milk', done: false }),
      event(TodoAdded.type, { title: 'eggs', done: true }),
      event(TodoAdded.type, { title: 'tea', done: false }),
    ];
    expect(fold(open, events)).toEqual(['milk', 'tea']);
    expect(fold(open, [...events, event(TodoCleared.type, {})])).toEqual([]);
  });
});

describe('fold', () => {
  it('folds events in order into the state', () => {
    const state = fold(board, [
      event('card.added', { id: 'a', title: 'A', column: 'todo' }),
      event('card.added', { id: 'b', title: 'B', column: 'todo' }),
      event('card.moved', { id: 'a', to: 'doing' }),
      event('card.added', { id: 'c', title: 'C', column: 'done' }),
      event('card.removed', { id: 'b' }),
    ]);
    expect(state).toEqual({ cards: 2, columns: { todo: [], doing: ['a'], done: ['c'] } });
  });

  it('ignores unknown types, including names of Object.prototype members', () => {
    const events = [
      event('card.added', { id: 'a', title: 'A', column: 'todo' }),
      event('card.archived', { id: 'a' }),
      event('constructor', {}),
      event('toString', {}),
      event('__proto__', {}),
    ];
    expect(fold(board, events)).toEqual({ cards: 1, columns: { todo: ['a'] } });
  });

  it('starts from a snapshot, and folding in two parts equals folding at once', () => {
    const added = [
      event('card.added', { id: 'a', title: 'A', column: 'todo' }),
      event('card.added', { id: 'b', title: 'B', column: 'todo' }),
    ];
    const tail = [event('card.moved', { id: 'b', to: 'done' })];
    const snapshot = fold(board, added);
    expect(fold(board, tail, snapshot)).toEqual(fold(board, [...added, ...tail]));
    expect(fold(board, [])).toBe(emptyBoard);
  });

  it('accepts any iterable, not only arrays', () => {
    function* events() {
      yield event('card.added', { id: 'a', title: 'A', column: 'todo' });
      yield event('card.moved', { id: 'a', to: 'done' });
    }
    expect(fold(board, events())).toEqual({ cards: 1, columns: { todo: [], done: ['a'] } });
  });

  it('does not mutate the states it is given (the reducers are pure)', () => {
    const frozen = Object.freeze({ ...emptyBoard, columns: Object.freeze({ todo: Object.freeze(['x']) }) });
    const next = fold(board, [event('card.added', { id: 'a', title: 'A', column: 'todo' })], frozen);
    expect(next.columns['todo']).toEqual(['x', 'a']);
    expect(frozen.columns.todo).toEqual(['x']);
  });

  it('matches applyEvent step by step (fold is reduce with applyEvent)', () => {
    const types = ['card.added', 'card.moved', 'card.removed', 'card.unknown'] as const;
    const stepArb = fc.record({
      type: fc.constantFrom(...types),
      id: fc.constantFrom('a', 'b', 'c'),
      column: fc.constantFrom('todo', 'doing', 'done'),
    });
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
        const events = steps.map((s) =>
          event(s.type, { id: s.id, title: s.id, column: s.column, to: s.column }),
        );
        const stepped = events.reduce((state, e) => applyEvent(board, state, e), board.initial);
        expect(fold(board, events)).toEqual(stepped);
      }),
    );
  });
});

describe('foldByKey', () => {
  it('keeps one state per key, starting each key from its snapshot or the initial state', () => {
    const events = [
      event('card.added', { id: 'a', title: 'A', column: 'todo' }, 'board:1'),
      event('card.added', { id: 'b', title: 'B', column: 'todo' }, 'board:2'),
      event('card.moved', { id: 'a', to: 'done' }, 'board:1'),
      event('card.archived', { id: 'b' }, 'board:3'),
    ];
    const states = foldByKey(board, events);
    expect([...states.keys()]).toEqual(['board:1', 'board:2']);
    expect(states.get('board:1')).toEqual({ cards: 1, columns: { todo: [], done: ['a'] } });
    expect(states.get('board:2')).toEqual({ cards: 1, columns: { todo: ['b'] } });

    const snapshot = new Map([['board:2', states.get('board:2')!]]);
    const more = foldByKey(
      board,
      [event('card.added', { id: 'c', title: 'C', column: 'todo' }, 'board:2')],
      snapshot,
    );
    expect(more.get('board:2')).toEqual({ cards: 2, columns: { todo: ['b', 'c'] } });
    expect(snapshot.get('board:2')).toEqual({ cards: 1, columns: { todo: ['b'] } });
  });

  it('leaves out events the key function returns undefined for', () => {
    const perColumn = defineProjection<number, BoardEvents>({
      name: 'adds-per-column',
      version: 1,
      initial: 0,
      on: { 'card.added': (n) => n + 1 },
      key: (e) => (e.type === 'card.added' && e.data.column !== 'trash' ? e.data.column : undefined),
    });
    const events = [
      event('card.added', { id: 'a', title: 'A', column: 'todo' }),
      event('card.added', { id: 'b', title: 'B', column: 'trash' }),
      event('card.added', { id: 'c', title: 'C', column: 'todo' }),
      event('card.moved', { id: 'c', to: 'done' }),
    ];
    expect(foldByKey(perColumn, events)).toEqual(new Map([['todo', 2]]));
    expect(keyOfEvent(perColumn, events[0]!)).toBe('todo');
    expect(keyOfEvent(perColumn, events[1]!)).toBeUndefined();
    expect(keyOfEvent(perColumn, events[3]!)).toBeUndefined();
  });

  it('agrees with folding each key on its own', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            stream: fc.constantFrom('board:1', 'board:2', 'board:3'),
            id: fc.constantFrom('a', 'b'),
          }),
        ),
        (steps) => {
          const events = steps.map((s) =>
            event('card.added', { id: s.id, title: s.id, column: 'todo' }, s.stream),
          );
          const states = foldByKey(board, events);
          for (const [key, state] of states) {
            expect(state).toEqual(
              fold(
                board,
                events.filter((e) => e.stream === key),
              ),
            );
          }
          expect(states.size).toBe(new Set(steps.map((s) => s.stream)).size);
        },
      ),
    );
  });

  it('refuses an unkeyed projection', () => {
    const count = defineProjection({
      name: 'count',
      version: 1,
      initial: 0,
      on: { x: (n: number) => n + 1 },
    });
    expect(() => foldByKey(count, [])).toThrow(TypeError);
    expect(keyOfEvent(count, event('x', {}))).toBeUndefined();
  });
});
