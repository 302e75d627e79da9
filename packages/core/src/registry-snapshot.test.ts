import { ErrorCode } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEvent } from './define-event.ts';
import { createRegistry } from './event-registry.ts';
import { fingerprint } from './fingerprint.ts';
import { parseRegistrySnapshot, stringifyRegistrySnapshot } from './registry-snapshot-file.ts';
import type { RegistrySnapshot } from './registry-snapshot.ts';

const v1 = z.object({ title: z.string() });
const v2 = z.object({ title: z.string(), done: z.boolean().default(false) });
const TodoAdded = defineEvent(
  'todo.added',
  { 1: v1, 2: v2 },
  { upcast: { 1: (d) => ({ ...d, done: false }) } },
);
const Invoice = defineEvent('invoice.sent', { 1: z.object({ amount: z.number() }) }, { kind: 'integration' });
const registry = createRegistry([TodoAdded, Invoice]);

describe('EventRegistry.snapshot', () => {
  it("holds zod's own JSON Schema of every (type, version), its fingerprint, and each type's kind", () => {
    const snapshot = registry.snapshot();
    expect(Object.keys(snapshot.events)).toEqual(['invoice.sent', 'todo.added']);
    expect(snapshot.events['invoice.sent']).toMatchObject({ kind: 'integration', latestVersion: 1 });
    const todo = snapshot.events['todo.added']!;
    expect(todo).toMatchObject({ kind: 'domain', latestVersion: 2 });
    expect(todo.versions['2']!.schema).toEqual(z.toJSONSchema(v2, { io: 'input' }));
    expect(todo.versions['1']!.fingerprint).toBe(fingerprint(z.toJSONSchema(v1, { io: 'input' })));
  });

  it('gives the same fingerprints whatever the registration order, and new ones when anything changes', () => {
    const same = createRegistry([Invoice, TodoAdded]).snapshot();
    expect(same).toEqual(registry.snapshot());
    expect(stringifyRegistrySnapshot(same)).toBe(stringifyRegistrySnapshot(registry.snapshot()));

    const longer = defineEvent(
      'invoice.sent',
      { 1: z.object({ amount: z.number().max(10) }) },
      { kind: 'integration' },
    );
    const changed = createRegistry([TodoAdded, longer]).snapshot();
    expect(changed.events['invoice.sent']!.versions['1']!.fingerprint).not.toBe(
      registry.snapshot().events['invoice.sent']!.versions['1']!.fingerprint,
    );
    expect(changed.fingerprint).not.toBe(registry.fingerprint);

    const otherKind = defineEvent(
      'invoice.sent',
      { 1: z.object({ amount: z.number() }) },
      { kind: 'command' },
    );
    expect(createRegistry([TodoAdded, otherKind]).fingerprint).not.toBe(registry.fingerprint);
  });
});

describe('stringifyRegistrySnapshot and parseRegistrySnapshot', () => {
  it('write a sorted, indented file that reads back to the same snapshot', () => {
    const text = stringifyRegistrySnapshot(registry.snapshot());
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "events": {\n    "invoice.sent": {');
    expect(text.indexOf('"events"')).toBeLessThan(text.indexOf('"fingerprint"'));
    expect(parseRegistrySnapshot(JSON.parse(text))).toEqual({ ok: true, value: registry.snapshot() });
  });

  const tamper = (
    edit: (s: { -readonly [K in keyof RegistrySnapshot]: unknown } & Record<string, unknown>) => void,
  ): unknown => {
    const copy = JSON.parse(stringifyRegistrySnapshot(registry.snapshot())) as Record<string, unknown>;
    edit(copy as never);
    return copy;
  };

  it.each([
    ['not an object', () => 'nope', ''],
    ['an unknown format', () => tamper((s) => (s.format = 2)), 'format'],
    ['an unknown key', () => tamper((s) => (s['extra'] = 1)), ''],
    [
      'a schema edited by hand',
      () =>
        tamper((s) => {
          const events = s.events as Record<
            string,
            { versions: Record<string, { schema: Record<string, unknown> }> }
          >;
          events['todo.added']!.versions['1']!.schema['required'] = [];
        }),
      'events.todo.added.versions.1.fingerprint',
    ],
    [
      'a registry fingerprint that does not match',
      () => tamper((s) => (s.fingerprint = '0'.repeat(64))),
      'fingerprint',
    ],
    [
      'a gap in versions',
      () =>
        tamper((s) => {
          const events = s.events as Record<string, { versions: Record<string, unknown> }>;
          delete events['todo.added']!.versions['1'];
        }),
      'events.todo.added.latestVersion',
    ],
  ])('refuse %s as invalid', (_name, input, path) => {
    expect(parseRegistrySnapshot(input())).toMatchObject({
      ok: false,
      error: { code: ErrorCode.invalid, path },
    });
  });
});
