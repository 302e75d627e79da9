import { ErrorCode } from '@eventloom/protocol';
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { CoreError, CoreErrorCode } from './core-error.ts';
import { defineEvent, type EventData } from './define-event.ts';
import { createRegistry, EventRegistry } from './event-registry.ts';

const v1 = z.object({ id: z.string(), title: z.string(), priority: z.enum(['low', 'high']).optional() });
const v2 = z.object({
  id: z.string(),
  title: z.string(),
  priority: z.int().min(0).max(9),
  done: z.boolean(),
});
const v3 = z.object({
  id: z.string(),
  text: z.string(),
  priority: z.int().min(0).max(9),
  done: z.boolean(),
  tags: z.array(z.string()).default([]),
});

const TodoAdded = defineEvent(
  'todo.added',
  { 1: v1, 2: v2, 3: v3 },
  {
    upcast: {
      1: ({ id, title, priority }) => ({ id, title, priority: priority === 'high' ? 9 : 1, done: false }),
      2: ({ id, title, priority, done }) => ({ id, text: title.trim(), priority, done, tags: [] }),
    },
  },
);
const TodoDone = defineEvent('todo.done', { 1: z.object({ id: z.string() }) });
const registry = createRegistry([TodoAdded, TodoDone]);

const envelope = {
  id: '01936f3e-8b4a-7c3d-9e2f-1a2b3c4d5e6f',
  stream: 'list:1',
  clientId: 'c1',
  clientSeq: 1,
};

describe('EventRegistry.validate', () => {
  it('parses data of the latest version and keeps every other field', () => {
    const event = {
      ...envelope,
      type: 'todo.added',
      version: 3,
      data: { id: 't', text: 'x', priority: 2, done: false },
    };
    const result = registry.validate(event);
    expect(result).toEqual({ ok: true, value: { ...event, data: { ...event.data, tags: [] } } });
  });

  it('upcasts v1 through v2 to v3', () => {
    const result = registry.validate({
      ...envelope,
      type: 'todo.added',
      version: 1,
      data: { id: 't', title: ' milk ', priority: 'high' },
    });
    expect(result).toEqual({
      ok: true,
      value: {
        ...envelope,
        type: 'todo.added',
        version: 3,
        data: { id: 't', text: 'milk', priority: 9, done: false, tags: [] },
      },
    });
    if (result.ok && result.value.type === 'todo.added') {
      expectTypeOf(result.value.data).toEqualTypeOf<EventData<typeof TodoAdded>>();
      expectTypeOf(result.value.version).toEqualTypeOf<3>();
      expectTypeOf(result.value.clientSeq).toEqualTypeOf<number>();
    }
  });

  it('refuses invalid data as `invalid`, with a readable message and the path', () => {
    const result = registry.validate({ type: 'todo.added', version: 1, data: { id: 't', title: 42 } });
    expect(result).toEqual({
      ok: false,
      error: {
        code: ErrorCode.invalid,
        path: 'data.title',
        message: expect.stringMatching(/^todo\.added v1: data\.title: .*string/),
      },
    });
    const many = registry.validate({ type: 'todo.added', version: 2, data: {} });
    expect(!many.ok && many.error.message).toMatch(/\(and 3 more\)/);
    expect(registry.validate({ type: 'todo.done', version: 1, data: null })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.invalid, path: 'data' },
    });
  });

  it('refuses an event whose kind is not the kind its type was defined with', () => {
    expect(registry.validate({ type: 'todo.done', version: 1, kind: 'command', data: { id: 't' } })).toEqual({
      ok: false,
      error: { code: ErrorCode.invalid, path: 'kind', message: 'todo.done is a domain event, not command' },
    });
  });

  it.each([
    ['an unknown type', { type: 'todo.archived', version: 1 }, 'type'],
    ['a version above the latest', { type: 'todo.added', version: 4 }, 'version'],
    ['version 0', { type: 'todo.added', version: 0 }, 'version'],
    ['a fractional version', { type: 'todo.added', version: 1.5 }, 'version'],
    ['an inherited key as type', { type: 'constructor', version: 1 }, 'type'],
  ])('refuses %s as unknown-event-version', (_name, event, path) => {
    for (const result of [
      registry.validate({ ...event, data: {} }),
      registry.upcast({ ...event, data: {} }),
    ]) {
      expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.unknownEventVersion, path } });
    }
  });

  it('reports an upcaster that throws, or produces data the latest schema refuses, as `internal`', () => {
    const Bad = defineEvent(
      'bad',
      { 1: z.object({ n: z.number() }), 2: z.object({ n: z.number().max(10) }) },
      {
        upcast: {
          1: ({ n }) => {
            if (n < 0) throw new Error('negative');
            return { n: n * 100 };
          },
        },
      },
    );
    const bad = createRegistry([Bad]);
    expect(bad.validate({ type: 'bad', version: 1, data: { n: -1 } })).toMatchObject({
      ok: false,
      error: {
        code: ErrorCode.internal,
        message: expect.stringMatching(/upcaster from v1 to v2 threw: negative/),
      },
    });
    expect(bad.validate({ type: 'bad', version: 1, data: { n: 1 } })).toMatchObject({
      ok: false,
      error: {
        code: ErrorCode.internal,
        path: 'data.n',
        message: expect.stringMatching(/upcasting v1 to v2 gives data v2 refuses/),
      },
    });
    expect(bad.upcast({ type: 'bad', version: 1, data: { n: -1 } })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.internal },
    });
  });
});

describe('EventRegistry.upcast', () => {
  it('lifts stored events without parsing them again, and returns latest ones as they are', () => {
    const stored = {
      ...envelope,
      type: 'todo.added',
      version: 2,
      data: { id: 't', title: 'a', priority: 3, done: true },
    };
    expect(registry.upcast(stored)).toEqual({
      ok: true,
      value: { ...stored, version: 3, data: { id: 't', text: 'a', priority: 3, done: true, tags: [] } },
    });
    const latest = { ...envelope, type: 'todo.done', version: 1, data: { id: 't' } };
    const result = registry.upcast(latest);
    expect(result.ok && result.value).toBe(latest);
  });

  it('upcasting v1 → v3 equals v1 → v2 then v2 → v3, for any valid v1 data', () => {
    const v1Data = fc.record(
      { id: fc.string(), title: fc.string(), priority: fc.constantFrom('low' as const, 'high' as const) },
      { requiredKeys: ['id', 'title'] },
    );
    const toV2 = TodoAdded.upcasters.get(1)!;
    fc.assert(
      fc.property(v1Data, (data) => {
        expect(v1.safeParse(data).success).toBe(true);
        const direct = registry.upcast({ type: 'todo.added', version: 1, data });
        const stepwise = registry.upcast({ type: 'todo.added', version: 2, data: toV2(data) });
        expect(direct).toEqual(stepwise);
        // validate goes the same way, and its result is valid v3 data.
        const validated = registry.validate({ type: 'todo.added', version: 1, data });
        expect(validated).toEqual(direct);
        expect(validated.ok && v3.safeParse(validated.value.data).success).toBe(true);
      }),
    );
  });
});

describe('EventRegistry', () => {
  it('answers has, latestVersion, get and definitions', () => {
    expect(registry.has('todo.added')).toBe(true);
    expect(registry.has('todo.added', 3)).toBe(true);
    expect(registry.has('todo.added', 4)).toBe(false);
    expect(registry.has('todo.added', 0)).toBe(false);
    expect(registry.has('nope')).toBe(false);
    expect(registry.latestVersion('todo.added')).toBe(3);
    expect(registry.latestVersion('nope')).toBeUndefined();
    expect(registry.get('todo.done')).toBe(TodoDone);
    expectTypeOf(registry.get('todo.done')).toEqualTypeOf<typeof TodoDone | undefined>();
    expect(registry.definitions).toEqual([TodoAdded, TodoDone]);
  });

  it('registers and merges into new registries, leaving the old one as it was', () => {
    const base = createRegistry([TodoAdded]);
    const more = base.register(TodoDone);
    expect(base.has('todo.done')).toBe(false);
    expect(more.has('todo.done')).toBe(true);
    const Other = defineEvent('list.renamed', { 1: z.object({ name: z.string() }) });
    const merged = more.merge(createRegistry([Other, TodoAdded]));
    expect(merged.definitions.map((d) => d.type)).toEqual(['todo.added', 'todo.done', 'list.renamed']);
    expect(merged).toBeInstanceOf(EventRegistry);
  });

  it('refuses two different definitions of one type', () => {
    const Again = defineEvent('todo.done', { 1: z.object({ id: z.number() }) });
    const error = (() => {
      try {
        registry.register(Again);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CoreError);
    expect(error).toMatchObject({ code: CoreErrorCode.duplicateEventType });
  });

  it('has a snapshot with a stable fingerprint', () => {
    const again = createRegistry([TodoDone, TodoAdded]);
    expect(registry.snapshot()).toBe(registry.snapshot());
    expect(again.fingerprint).toBe(registry.fingerprint);
    expect(registry.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });
});
