/**
 * `EventRegistry.validate` of 100k realistic todo envelopes written at v1 (parse v1 data, upcast
 * v1 → v2 → v3, check the result against v3), against `JSON.parse` of the same envelopes' JSON in
 * the same run: what reading an old event through the registry costs next to merely decoding it.
 */
import { expect, it } from 'vitest';
import { z } from 'zod';
import { reportBench } from '../../../bench/node.ts';
import { bestOf } from '../../../bench/report.ts';
import { defineEvent } from '../src/define-event.ts';
import { createRegistry } from '../src/event-registry.ts';

const EVENTS = 100_000;

const v1 = z.object({
  id: z.string().min(1).max(64),
  listId: z.string().min(1).max(64),
  title: z.string().min(1).max(500),
  priority: z.enum(['low', 'normal', 'high']).optional(),
  createdBy: z.string().max(128),
});
const v2 = z.object({
  id: z.string().min(1).max(64),
  listId: z.string().min(1).max(64),
  title: z.string().min(1).max(500),
  priority: z.int().min(0).max(3),
  createdBy: z.string().max(128),
  due: z.string().nullable(),
});
const v3 = z.object({
  id: z.string().min(1).max(64),
  listId: z.string().min(1).max(64),
  text: z.string().min(1).max(500),
  priority: z.int().min(0).max(3),
  author: z.object({ id: z.string().max(128) }),
  due: z.string().nullable(),
  tags: z.array(z.string().max(32)).max(20),
});

const PRIORITY = { low: 0, normal: 1, high: 3 } as const;

const TodoAdded = defineEvent(
  'todo.added',
  { 1: v1, 2: v2, 3: v3 },
  {
    upcast: {
      1: (d) => ({
        id: d.id,
        listId: d.listId,
        title: d.title,
        priority: PRIORITY[d.priority ?? 'normal'],
        createdBy: d.createdBy,
        due: null,
      }),
      2: (d) => ({
        id: d.id,
        listId: d.listId,
        text: d.title,
        priority: d.priority,
        author: { id: d.createdBy },
        due: d.due,
        tags: [],
      }),
    },
  },
);
const TodoDone = defineEvent('todo.done', { 1: z.object({ id: z.string() }) });
const registry = createRegistry([TodoAdded, TodoDone]);

/** v1 `todo.added` envelopes as a client's outbox holds them, with varied titles and priorities. */
function makeEvents(): Record<string, unknown>[] {
  const priorities = ['low', 'normal', 'high', undefined] as const;
  const events: Record<string, unknown>[] = [];
  for (let i = 1; i <= EVENTS; i++) {
    const priority = priorities[i % 4];
    events.push({
      id: `0190a1b2-c3d4-7e5f-8a6b-${i.toString(16).padStart(12, '0')}`,
      type: 'todo.added',
      version: 1,
      kind: 'domain',
      stream: `list:${i % 50}`,
      data: {
        id: `todo-${i}`,
        listId: `list-${i % 50}`,
        title: `Buy ${i % 7 === 0 ? 'oat milk and bread for the weekend' : 'milk'} #${i}`,
        ...(priority === undefined ? {} : { priority }),
        createdBy: `user-${i % 13}`,
      },
      meta: { correlationId: `corr-${i}` },
      clientId: 'client-a',
      clientSeq: i,
      hlc: `${String(1_732_700_000_000 + i).padStart(15, '0')}-0000000000-client-a`,
    });
  }
  return events;
}

it('validates and upcasts 100k v1 events at least a quarter as fast as JSON.parse reads them', async () => {
  const events = makeEvents();
  const texts = events.map((e) => JSON.stringify(e));
  const first = registry.validate(events[0] as { type: string; version: number; data: unknown });
  expect(first).toMatchObject({
    ok: true,
    value: { version: 3, data: { author: { id: 'user-1' }, tags: [] } },
  });

  let valid = 0;
  let parsed: unknown;
  const validateAll = (): void => {
    valid = 0;
    for (let i = 0; i < events.length; i++) {
      if (registry.validate(events[i] as { type: string; version: number; data: unknown }).ok) valid++;
    }
  };
  const parseAll = (): void => {
    for (let i = 0; i < texts.length; i++) parsed = JSON.parse(texts[i]!);
  };
  // Warm both paths up before measuring, so that both run optimised code.
  for (let i = 0; i < 3; i++) {
    validateAll();
    parseAll();
  }
  const { subjectMs, baselineMs } = await bestOf(15, validateAll, parseAll);
  expect(valid).toBe(EVENTS);
  expect(parsed).toBeDefined();

  const result = await reportBench({
    name: 'core-validate-upcast',
    value: EVENTS / (subjectMs / 1000),
    unit: 'events/s',
    baseline: EVENTS / (baselineMs / 1000),
    target: 0.25,
    better: 'higher',
  });
  expect(result.pass).toBe(true);
});
