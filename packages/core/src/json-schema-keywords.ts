/**
 * What single keywords of a normalised schema accept (bounds, patterns, properties, array
 * shapes), and how messages name them. Used by `compareJsonSchemas`.
 */
import {
  asSchema,
  deepEqual,
  typeOf,
  type Bag,
  type Branch,
  type JsonSchema,
  type Norm,
} from './json-schema-norm.ts';

/** Whether one value is accepted by a reader branch (the keywords modelled for strings and numbers). */
export function valueIn(value: unknown, rb: Branch): boolean {
  if (rb.t === 'enum') return rb.values.some((v) => deepEqual(v, value));
  const t = typeOf(value);
  if (t !== rb.t) return false;
  if (rb.t === 'number' && rb.integer && !Number.isInteger(value)) return false;
  const k = rb.k;
  if (typeof value === 'string') {
    if (value.length < (num(k['minLength']) ?? 0) || value.length > (num(k['maxLength']) ?? Infinity))
      return false;
    return patterns(k).every((p) => {
      try {
        return new RegExp(p, 'u').test(value);
      } catch {
        return false;
      }
    });
  }
  if (typeof value === 'number') {
    const low = lowerBound(k);
    const high = upperBound(k);
    if (low && (value < low.value || (low.exclusive && value === low.value))) return false;
    if (high && (value > high.value || (high.exclusive && value === high.value))) return false;
    const step = num(k['multipleOf']);
    return step === undefined || isMultiple(value, step);
  }
  return true;
}

/** Whether a reader accepts some value of `value`'s type. */
export function sameTypeIn(value: unknown, R: Norm): boolean {
  const t = typeOf(value);
  return R.branches.some((rb) => (rb.t === 'enum' ? rb.values.some((v) => typeOf(v) === t) : rb.t === t));
}

/** What a normalised schema accepts, for messages. */
export function describe(n: Norm): string {
  if (n.any) return 'any value';
  if (n.branches.length === 0) return 'no value at all';
  const parts = n.branches.map((b) =>
    b.t === 'enum' ? listValues(b.values) : b.t === 'number' && b.integer ? 'integer' : b.t,
  );
  return [...new Set(parts)].join(' | ');
}

/** Whether a schema admits a single value (`const`, or an `enum` of one). */
export function isSingleValue(schema: JsonSchema): boolean {
  if (typeof schema !== 'object') return false;
  return 'const' in schema || (Array.isArray(schema['enum']) && (schema['enum'] as unknown[]).length === 1);
}

/** `1 item`, `3 items`. */
export function items(n: number): string {
  return n === 1 ? '1 item' : `${n} items`;
}

/** Text cut for a message. */
export function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Values for a message, at most 8 of them. */
export function listValues(values: readonly unknown[]): string {
  const shown = values.slice(0, 8).map((v) => JSON.stringify(v));
  return values.length > 8 ? `${shown.join(' | ')} | … (${values.length - 8} more)` : shown.join(' | ');
}

interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

/** A number schema's lower bound: the tighter of `minimum` and `exclusiveMinimum`. */
export function lowerBound(k: Bag): Bound | undefined {
  const inclusive = num(k['minimum']);
  const exclusive = num(k['exclusiveMinimum']);
  if (exclusive !== undefined && (inclusive === undefined || exclusive >= inclusive))
    return { value: exclusive, exclusive: true };
  return inclusive === undefined ? undefined : { value: inclusive, exclusive: false };
}

/** A number schema's upper bound: the tighter of `maximum` and `exclusiveMaximum`. */
export function upperBound(k: Bag): Bound | undefined {
  const inclusive = num(k['maximum']);
  const exclusive = num(k['exclusiveMaximum']);
  if (exclusive !== undefined && (inclusive === undefined || exclusive <= inclusive))
    return { value: exclusive, exclusive: true };
  return inclusive === undefined ? undefined : { value: inclusive, exclusive: false };
}

/** A bound for a message. */
export function bound(b: Bound | undefined, strict: '>' | '<'): string {
  if (!b) return 'has no such bound';
  return `allows ${b.exclusive ? strict : strict === '>' ? '≥' : '≤'} ${b.value}`;
}

/** Whether `value` is a multiple of `step` (within rounding). */
export function isMultiple(value: number, step: number): boolean {
  const q = value / step;
  return Math.abs(q - Math.round(q)) < 1e-9;
}

/** Every `pattern` a string must match (merged `allOf` parts keep theirs). */
export function patterns(k: Bag): string[] {
  const out: string[] = [];
  if (typeof k['pattern'] === 'string') out.push(k['pattern']);
  if (Array.isArray(k['allOf'])) {
    for (const part of k['allOf'] as unknown[]) {
      if (typeof part === 'object' && part !== null && typeof (part as Bag)['pattern'] === 'string') {
        out.push((part as Bag)['pattern'] as string);
      }
    }
  }
  return out;
}

/** The schemas of an object's declared properties. */
export function props(k: Bag): Map<string, JsonSchema> {
  const out = new Map<string, JsonSchema>();
  const raw = k['properties'];
  if (typeof raw === 'object' && raw !== null) {
    for (const [name, schema] of Object.entries(raw)) out.set(name, asSchema(schema));
  }
  return out;
}

/**
 * The fixed items and the schema of every later item. Draft 2020-12 writes `prefixItems` + `items`;
 * draft-07 writes a list in `items` + `additionalItems`. `unevaluatedItems` applies past the
 * prefix when nothing else does.
 */
export function arrayShape(k: Bag): { prefix: JsonSchema[]; rest: JsonSchema } {
  const items = k['items'];
  if (Array.isArray(items)) {
    return { prefix: schemaList(items), rest: asSchema(k['additionalItems'] ?? k['unevaluatedItems']) };
  }
  return { prefix: schemaList(k['prefixItems']), rest: asSchema(items ?? k['unevaluatedItems']) };
}

function schemaList(value: unknown): JsonSchema[] {
  return Array.isArray(value) ? value.map(asSchema) : [];
}

/** A finite number, or undefined. */
export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
