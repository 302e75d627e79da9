import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compareJsonSchemas, type JsonSchema } from './compare-json-schemas.ts';
import { CompatibilityChange as C } from './compatibility-change.ts';

const json = (schema: z.ZodType): JsonSchema => z.toJSONSchema(schema, { io: 'input' }) as JsonSchema;
/** The (change, path) pairs found when `reader` reads what `writer` writes. */
const diff = (writer: z.ZodType | JsonSchema, reader: z.ZodType | JsonSchema): string[] =>
  compareJsonSchemas(toJson(writer), toJson(reader)).map((i) => `${i.change} @ ${i.path}`);
const toJson = (s: z.ZodType | JsonSchema): JsonSchema => (s instanceof z.ZodType ? json(s) : s);

describe('compareJsonSchemas', () => {
  it('finds nothing between a schema and itself', () => {
    const schema = z.object({
      a: z.string().min(1).max(5).regex(/^a/),
      b: z.int().min(0),
      c: z.array(z.union([z.literal('x'), z.null()])).max(3),
      d: z.record(z.string(), z.boolean()),
      e: z.tuple([z.string(), z.number()]),
      f: z.discriminatedUnion('k', [z.object({ k: z.literal('a') }), z.object({ k: z.literal('b') })]),
    });
    expect(diff(schema, schema)).toEqual([]);
  });

  it('follows $ref into $defs and through recursion without looping', () => {
    interface Tree {
      value: string;
      children: Tree[];
    }
    const tree: z.ZodType<Tree> = z.object({
      value: z.string(),
      get children() {
        return z.array(tree);
      },
    });
    interface NumTree {
      value: number;
      children: NumTree[];
    }
    const numTree: z.ZodType<NumTree> = z.object({
      value: z.number(),
      get children() {
        return z.array(numTree);
      },
    });
    expect(diff(tree, tree)).toEqual([]);
    expect(diff(tree, numTree)).toEqual([`${C.typeChanged} @ value`]);

    const withDefs = (type: string): JsonSchema => ({
      $defs: { Name: { type } },
      type: 'object',
      properties: { first: { $ref: '#/$defs/Name' } },
      required: ['first'],
    });
    expect(diff(withDefs('string'), withDefs('string'))).toEqual([]);
    expect(diff(withDefs('string'), withDefs('number'))).toEqual([`${C.typeChanged} @ first`]);
  });

  it('reports only the discriminator when a writer variant has no matching reader variant', () => {
    const before = z.discriminatedUnion('k', [
      z.object({ k: z.literal('a'), x: z.string() }),
      z.object({ k: z.literal('b') }),
    ]);
    const after = z.discriminatedUnion('k', [z.object({ k: z.literal('a'), x: z.string() })]);
    expect(diff(before, after)).toEqual([`${C.valueNotAccepted} @ k`]);
  });

  it('compares number bounds, exclusive bounds and steps', () => {
    expect(diff(z.number().min(0), z.number().gt(0))).toEqual([`${C.constraintTightened} @ `]);
    expect(diff(z.number().gt(0), z.number().min(0))).toEqual([]);
    expect(diff(z.number().multipleOf(0.5), z.number().multipleOf(0.25))).toEqual([]);
    expect(diff(z.number().multipleOf(0.25), z.number().multipleOf(0.5))).toEqual([
      `${C.constraintTightened} @ `,
    ]);
    expect(diff(z.int(), z.number().multipleOf(1))).toEqual([]);
  });

  it('checks enum values against typed readers with their constraints', () => {
    expect(diff(z.enum(['ab', 'ac']), z.string().regex(/^a/))).toEqual([]);
    expect(diff(z.enum(['ab', 'bc']), z.string().regex(/^a/))).toEqual([`${C.valueNotAccepted} @ `]);
    expect(diff(z.literal(3), z.int().max(5))).toEqual([]);
    expect(diff(z.literal(3), z.string())).toEqual([`${C.typeChanged} @ `]);
    expect(diff(z.boolean(), z.enum(['yes']))).toEqual([`${C.typeChanged} @ `]);
  });

  it('knows that a loose writer may write any extra key', () => {
    const loose = z.looseObject({ a: z.string() });
    expect(diff(loose, z.object({ a: z.string(), b: z.number().optional() }))).toEqual([
      `${C.schemaNarrowed} @ b`,
    ]);
    expect(diff(z.object({ a: z.string() }), z.object({ a: z.string(), b: z.number().optional() }))).toEqual(
      [],
    );
    expect(diff(loose, z.strictObject({ a: z.string() }))).toEqual([`${C.fieldNotAllowed} @ *`]);
  });

  it('checks record keys', () => {
    expect(diff(z.record(z.string(), z.number()), z.partialRecord(z.enum(['a', 'b']), z.number()))).toEqual([
      `${C.valueNotAccepted} @ {key}`,
    ]);
    expect(diff(z.object({ a: z.number() }), z.partialRecord(z.enum(['a', 'b']), z.number()))).toEqual([]);
    expect(diff(z.object({ c: z.number() }), z.partialRecord(z.enum(['a', 'b']), z.number()))).toEqual([
      `${C.fieldNotAllowed} @ c`,
    ]);
  });

  it('merges allOf and checks every reader conjunct', () => {
    const writer: JsonSchema = { allOf: [{ type: 'string' }, { minLength: 2 }] };
    expect(diff(writer, { type: 'string', minLength: 1 })).toEqual([]);
    expect(diff(writer, { type: 'string', minLength: 3 })).toEqual([`${C.constraintTightened} @ `]);
    expect(
      diff(
        { type: 'string' },
        { allOf: [{ type: 'string' }, { anyOf: [{ maxLength: 3 }, { type: 'number' }] }] },
      ),
    ).toEqual([`${C.constraintTightened} @ `]);
  });

  it('errs on the side of breaking for keywords it does not model', () => {
    expect(diff({ type: 'object' }, { type: 'object', minProperties: 1 })).toEqual([
      `${C.constraintTightened} @ `,
    ]);
    expect(diff({ type: 'object', minProperties: 1 }, { type: 'object', minProperties: 1 })).toEqual([]);
    expect(diff({ type: 'string', description: 'a' }, { type: 'string', description: 'b' })).toEqual([]);
  });

  it('treats true and {} as any value and false and {not: {}} as none', () => {
    expect(diff(true, {})).toEqual([]);
    expect(diff({}, { type: 'string' })).toEqual([`${C.schemaNarrowed} @ `]);
    expect(diff(false, { type: 'string' })).toEqual([]);
    expect(diff({ not: {} }, false)).toEqual([]);
  });

  it('reads a draft-07 items list as a tuple, with additionalItems for the rest', () => {
    const tuple = (type: string, rest?: JsonSchema): JsonSchema => ({
      type: 'array',
      items: [{ type }],
      ...(rest === undefined ? {} : { additionalItems: rest }),
    });
    expect(diff(tuple('string', false), tuple('string', false))).toEqual([]);
    expect(diff(tuple('string', false), tuple('number', false))).toEqual([`${C.typeChanged} @ [0]`]);
    expect(diff(tuple('string'), tuple('string', false))).toEqual([`${C.tupleLengthChanged} @ `]);
    expect(diff(tuple('string', { type: 'string' }), tuple('string', { type: 'number' }))).toEqual([
      `${C.typeChanged} @ []`,
    ]);
  });

  it('reads unevaluatedProperties and unevaluatedItems like their additional* forms', () => {
    const closed = (extra: Record<string, JsonSchema>): JsonSchema => ({
      type: 'object',
      allOf: [{ properties: { a: { type: 'string' }, ...extra } }],
      unevaluatedProperties: false,
    });
    expect(diff(closed({}), closed({}))).toEqual([]);
    // The keyword is the same on both sides; the writer's new field is what the reader refuses.
    expect(diff(closed({ b: { type: 'string' } }), closed({}))).toEqual([`${C.fieldNotAllowed} @ b`]);
    const loose = (type: string): JsonSchema => ({ type: 'object', unevaluatedProperties: { type } });
    expect(diff(loose('string'), loose('number'))).toEqual([`${C.typeChanged} @ *`]);

    const list = (type: string): JsonSchema => ({
      type: 'array',
      prefixItems: [{ type: 'string' }],
      unevaluatedItems: { type },
    });
    expect(diff(list('string'), list('string'))).toEqual([]);
    expect(diff(list('string'), list('number'))).toEqual([`${C.typeChanged} @ []`]);
  });

  it('does not assume an object where properties come without a type', () => {
    const reader: JsonSchema = { properties: { a: { type: 'string' } } };
    expect(diff({ type: 'string' }, reader)).toEqual([]);
    expect(diff({ type: ['object', 'null'], properties: { a: { type: 'string' } } }, reader)).toEqual([]);
    // The other way round, the untyped writer may write a string the typed reader refuses.
    expect(diff(reader, { type: 'object', properties: { a: { type: 'string' } } })).not.toEqual([]);
  });

  it('does not report a writer property that can never appear as removed', () => {
    const writer: JsonSchema = {
      type: 'object',
      properties: { a: { type: 'string' }, gone: false },
      additionalProperties: false,
    };
    const reader: JsonSchema = {
      type: 'object',
      properties: { a: { type: 'string' } },
      additionalProperties: false,
    };
    expect(diff(writer, reader)).toEqual([]);
    expect(diff({ ...writer, properties: { a: { type: 'string' }, gone: {} } }, reader)).toEqual([
      `${C.fieldNotAllowed} @ gone`,
    ]);
  });
});
