import { sampleCommitted } from '@eventloom/protocol/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineEvent } from './define-event.ts';
import { defineDecider, isRejection, reject, runDecider, type Rejection } from './decider.ts';
import type { EventMapOf, FoldableEventOf } from './foldable-event.ts';

type SeatEvents = {
  'seat.booked': { seat: string; by: string };
  'seat.released': { seat: string };
};
type SeatCommand = { type: 'book'; seat: string; by: string } | { type: 'release'; seat: string };

const seats = defineDecider<ReadonlyMap<string, string>, SeatCommand, SeatEvents, 'seat-taken' | 'seat-free'>(
  {
    name: 'seats',
    initial: new Map(),
    evolve: (taken, e) => {
      const next = new Map(taken);
      if (e.type === 'seat.booked') next.set(e.data.seat, e.data.by);
      else next.delete(e.data.seat);
      return next;
    },
    decide: (cmd, taken) => {
      switch (cmd.type) {
        case 'book':
          if (taken.has(cmd.seat)) {
            return reject('seat-taken', `seat ${cmd.seat} is sold`, {
              seat: cmd.seat,
              by: taken.get(cmd.seat)!,
            });
          }
          return [{ type: 'seat.booked', data: { seat: cmd.seat, by: cmd.by } }];
        case 'release':
          if (!taken.has(cmd.seat)) return reject('seat-free', `seat ${cmd.seat} is not booked`);
          return [{ type: 'seat.released', data: { seat: cmd.seat } }];
      }
    },
    stream: () => 'show:42',
  },
);

let position = 0;
function booked(seat: string, by: string): FoldableEventOf<SeatEvents> {
  position += 1;
  return { ...sampleCommitted({ position }), type: 'seat.booked', data: { seat, by } };
}
function released(seat: string): FoldableEventOf<SeatEvents> {
  position += 1;
  return { ...sampleCommitted({ position }), type: 'seat.released', data: { seat } };
}

describe('runDecider', () => {
  it('accepts a command with the events it causes, decided on the folded history', () => {
    const result = runDecider(seats, { type: 'book', seat: 'A2', by: 'bob' }, [booked('A1', 'ann')]);
    expect(result).toEqual({
      ok: true,
      events: [{ type: 'seat.booked', data: { seat: 'A2', by: 'bob' } }],
      state: new Map([['A1', 'ann']]),
    });
  });

  it('rejects with a typed rejection value instead of throwing', () => {
    const history = [booked('A1', 'ann'), released('A1'), booked('A1', 'cy')];
    const result = runDecider(seats, { type: 'book', seat: 'A1', by: 'bob' }, history);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expectTypeOf(result.rejection.code).toEqualTypeOf<'seat-taken' | 'seat-free'>();
    expect(result.rejection).toEqual({
      rejected: true,
      code: 'seat-taken',
      message: 'seat A1 is sold',
      details: { seat: 'A1', by: 'cy' },
    });
    expect(runDecider(seats, { type: 'release', seat: 'B7' }, history)).toMatchObject({
      ok: false,
      rejection: { code: 'seat-free' },
    });
  });

  it('starts from a given state (a snapshot) instead of the initial one', () => {
    const snapshot = new Map([['A1', 'ann']]);
    const result = runDecider(seats, { type: 'book', seat: 'A1', by: 'bob' }, [], snapshot);
    expect(result).toMatchObject({ ok: false, rejection: { code: 'seat-taken' } });
    expect(result.state).toBe(snapshot);
  });

  it('may accept with no events (an idempotent command)', () => {
    const idempotent = defineDecider<number, { add: number }>({
      name: 'add',
      initial: 0,
      evolve: (n) => n + 1,
      decide: (cmd) => (cmd.add === 0 ? [] : [{ type: 'added', data: cmd.add }]),
    });
    expect(runDecider(idempotent, { add: 0 }, [])).toEqual({ ok: true, events: [], state: 0 });
  });
});

describe('deciders with event definitions', () => {
  it('may return events made by a definition, typed by its latest version', () => {
    const CardAdded = defineEvent('card.added', { 1: z.object({ id: z.string(), column: z.string() }) });
    type Events = EventMapOf<typeof CardAdded>;
    const column = defineDecider<number, { id: string }, Events, 'column-full'>({
      name: 'column',
      initial: 0,
      evolve: (n, e) => (CardAdded.is(e) ? n + 1 : n),
      decide: (cmd, n) =>
        n >= 2
          ? reject('column-full', 'two cards at most')
          : [CardAdded.create({ id: cmd.id, column: 'todo' })],
    });
    const added = (id: string): FoldableEventOf<Events> => ({
      ...sampleCommitted(),
      type: 'card.added',
      data: { id, column: 'todo' },
    });
    expect(runDecider(column, { id: 'b' }, [added('a')])).toMatchObject({
      ok: true,
      events: [{ type: 'card.added', version: 1, kind: 'domain', data: { id: 'b', column: 'todo' } }],
    });
    expect(runDecider(column, { id: 'c' }, [added('a'), added('b')])).toMatchObject({
      ok: false,
      rejection: { code: 'column-full' },
    });
  });
});

describe('defineDecider', () => {
  it('keeps the definition and refuses one without a name or functions', () => {
    expect(seats.name).toBe('seats');
    expect(seats.stream?.({ type: 'release', seat: 'A1' })).toBe('show:42');
    const bad = { name: 'x', initial: 0, evolve: 1, decide: () => [] } as unknown as Parameters<
      typeof defineDecider
    >[0];
    expect(() => defineDecider(bad)).toThrow(TypeError);
    expect(() => defineDecider({ ...seats, name: '' })).toThrow(TypeError);
  });
});

describe('reject', () => {
  it('builds a rejection without details unless given, and isRejection tells it from events', () => {
    const r: Rejection<'nope'> = reject('nope', 'no');
    expect(r).toEqual({ rejected: true, code: 'nope', message: 'no' });
    expect('details' in r).toBe(false);
    expect(isRejection(r)).toBe(true);
    expect(isRejection([])).toBe(false);
  });
});
