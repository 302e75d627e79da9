import { compareCodeUnits } from './compare-code-units.ts';

/**
 * Serialises JSON with object keys sorted by UTF-16 code units (as RFC 8785 does), so that equal
 * values always give the same text whatever order their keys were built in. Unlike
 * `JSON.stringify`, integer-like keys (`"10"`, `"2"`) are sorted as strings too. `indent` pretty-
 * prints with that many spaces. Throws a TypeError on what JSON cannot hold (`undefined`, functions,
 * non-finite numbers, cycles) instead of dropping it silently.
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown, indent = 0): string {
  return write(value, indent > 0 ? ' '.repeat(indent) : '', '', new Set());
}

function write(value: unknown, unit: string, outer: string, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`not JSON: ${value}`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`not JSON: ${typeof value}`);
  }
  if (value === null) return 'null';
  if (seen.has(value)) throw new TypeError('not JSON: a cycle');
  seen.add(value);
  const inner = outer + unit;
  const open = unit ? `\n${inner}` : '';
  const close = unit ? `\n${outer}` : '';
  const comma = unit ? `,\n${inner}` : ',';
  let text: string;
  if (Array.isArray(value)) {
    const items = value.map((item: unknown) => write(item, unit, inner, seen));
    text = items.length === 0 ? '[]' : `[${open}${items.join(comma)}${close}]`;
  } else {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort(compareCodeUnits);
    const colon = unit ? ': ' : ':';
    const members = keys.map(
      (key) => `${JSON.stringify(key)}${colon}${write(record[key], unit, inner, seen)}`,
    );
    text = members.length === 0 ? '{}' : `{${open}${members.join(comma)}${close}}`;
  }
  seen.delete(value);
  return text;
}
