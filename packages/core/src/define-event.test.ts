import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { CoreError, CoreErrorCode } from './core-error.ts';
import { defineEvent, type EventData, type NewEventOf } from './define-event.ts';

const v1 = z.object({ id: z.string(), title: z.string() });
const v2 = z.object({ id: z.string(), title: z.string(), done: z.boolean() });
const v3 = z.object({
  id: z.string(),
  text: z.string().min(1),
  done: z.boolean(),
  tags: z.array(z.string()).default([]),
});

const TodoAdded = defineEvent(
  'todo.added',
  { 1: v1, 2: v2, 3: v3 },
  {
    upcast: {
      1: (d) => ({ ...d, done: false }),
      2: (d) => ({ id: d.id, text: d.title, done: d.done, tags: [] }),
    },
  },
);

describe('defineEvent', () => {
  it('describes the type: name, latest version, kind, schemas and upcasters', () => {
    expect(TodoAdded.type).toBe('todo.added');
    expect(TodoAdded.version).toBe(3);
    expect(TodoAdded.kind).toBe('domain');
    expect([...TodoAdded.schemas.keys()]).toEqual([1, 2, 3]);
    expect(TodoAdded.schema).toBe(v3);
    expect([...TodoAdded.upcasters.keys()]).toEqual([1, 2]);
    expectTypeOf(TodoAdded.version).toEqualTypeOf<3>();
    expectTypeOf<EventData<typeof TodoAdded>>().toEqualTypeOf<{
      id: string;
      text: string;
      done: boolean;
      tags: string[];
    }>();
  });

  it('creates events of the latest version, parsed by its schema', () => {
    const draft = TodoAdded.create({ id: 't1', text: 'milk', done: false });
    expect(draft).toEqual({
      type: 'todo.added',
      version: 3,
      kind: 'domain',
      data: { id: 't1', text: 'milk', done: false, tags: [] },
    });
    expect('meta' in draft).toBe(false);
    expectTypeOf(draft).toEqualTypeOf<NewEventOf<typeof TodoAdded>>();
    expectTypeOf(draft.type).toEqualTypeOf<'todo.added'>();
    expectTypeOf(draft.version).toEqualTypeOf<3>();
    expectTypeOf(draft.kind).toEqualTypeOf<'domain'>();

    const withMeta = TodoAdded.create(
      { id: 't1', text: 'x', done: true, tags: ['a'] },
      { meta: { correlationId: 'c1' } },
    );
    expect(withMeta.meta).toEqual({ correlationId: 'c1' });
    // Unknown keys are dropped: what is stored is what the schema declares.
    const stripped = TodoAdded.create({ id: 't1', text: 'x', done: true, extra: 1 } as z.input<typeof v3>);
    expect(stripped.data).not.toHaveProperty('extra');
  });

  it('throws a coded error when created with invalid data', () => {
    const error = catchError(() => TodoAdded.create({ id: 't1', text: '', done: false }));
    expect(error).toBeInstanceOf(CoreError);
    expect(error).toMatchObject({
      code: CoreErrorCode.invalid,
      message: expect.stringContaining('todo.added v3: text:'),
    });
  });

  it('takes a kind, and needs no options for a single version', () => {
    const Invoice = defineEvent(
      'invoice.requested',
      { 1: z.object({ amount: z.number() }) },
      { kind: 'command' },
    );
    expect(Invoice.create({ amount: 3 }).kind).toBe('command');
    expectTypeOf(Invoice.create({ amount: 3 }).kind).toEqualTypeOf<'command'>();
    const Ping = defineEvent('ping', { 1: z.object({}) });
    expect(Ping.create({})).toEqual({ type: 'ping', version: 1, kind: 'domain', data: {} });
    expectTypeOf(Ping.version).toEqualTypeOf<1>();
  });

  it('narrows with is()', () => {
    const event: { type: string; version: number; data: unknown } = {
      type: 'todo.added',
      version: 3,
      data: {},
    };
    expect(TodoAdded.is(event)).toBe(true);
    expect(TodoAdded.is({ type: 'todo.done' })).toBe(false);
    if (TodoAdded.is(event)) expectTypeOf(event.data).toEqualTypeOf<EventData<typeof TodoAdded>>();
  });

  it('rejects a missing or wrongly typed upcaster at compile time', () => {
    const check = (): void => {
      // @ts-expect-error: the upcaster from 1 to 2 is missing
      defineEvent('a.b', { 1: v1, 2: v2 }, { upcast: {} });
      // @ts-expect-error: two versions need options with upcasters
      defineEvent('a.b', { 1: v1, 2: v2 });
      // @ts-expect-error: v1 data is not v2 data
      defineEvent('a.b', { 1: v1, 2: v2 }, { upcast: { 1: (d) => d } });
      // @ts-expect-error: a gap between versions 1 and 3
      defineEvent('a.b', { 1: v1, 3: v3 }, { upcast: {} });
      // @ts-expect-error: versions start at 1
      defineEvent('a.b', { 2: v2 });
    };
    expect(check).toThrow(CoreError);
  });

  // Calls the types forbid, made anyway: what a JavaScript caller or a cast could do.
  const untyped = defineEvent as unknown as (type: string, versions: unknown, options?: unknown) => unknown;
  const same = (d: unknown): unknown => d;
  it.each([
    ['a gap in versions', () => untyped('a.b', { 1: v1, 3: v3 }, { upcast: { 1: same } }), /2 is missing/],
    ['no version 1', () => untyped('a.b', { 2: v2 }), /1 is missing/],
    ['no versions', () => untyped('a.b', {}), /at least version 1/],
    [
      'a missing upcaster',
      () => untyped('a.b', { 1: v1, 2: v2, 3: v3 }, { upcast: { 1: same } }),
      /from version 2 to 3/,
    ],
    ['an upcaster past the latest', () => untyped('a.b', { 1: v1 }, { upcast: { 1: same } }), /upcast\[1\]/],
    [
      'an upcaster that is no function',
      () => untyped('a.b', { 1: v1, 2: v2 }, { upcast: { 1: 'no' } }),
      /from version 1 to 2/,
    ],
    ['a version that is no schema', () => untyped('a.b', { 1: { parse: () => 1 } }), /not a zod schema/],
    ['a bad type name', () => untyped('no spaces', { 1: v1 }), /not a valid event type name/],
    ['an ephemeral kind', () => untyped('a.b', { 1: v1 }, { kind: 'notification' }), /kind must be one of/],
  ])('throws invalid-definition on %s', (_name, define, message) => {
    const error = catchError(define);
    expect(error).toBeInstanceOf(CoreError);
    expect(error).toMatchObject({ code: CoreErrorCode.invalidDefinition });
    expect((error as Error).message).toMatch(message);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
