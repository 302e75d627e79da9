/**
 * JSON Schema normalised for comparison: a schema as a union of single-type branches, with local
 * `$ref`s followed and `allOf` parts merged where that is exact ({@link normalise}), and the
 * small readers of keyword values that go with it. Used by `compareJsonSchemas`.
 */
/** A JSON Schema document or sub-schema (draft 2020-12 as `z.toJSONSchema` writes it, or draft-07). */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** A schema object, read keyword by keyword. */
export type Bag = { readonly [keyword: string]: unknown };

/** The JSON types a branch may hold (`integer` is a `number` branch with `integer` set). */
export type TypeName = 'null' | 'boolean' | 'string' | 'number' | 'array' | 'object';

/** A schema as a union of single-type branches. `any` accepts everything; no branches accepts nothing. */
export interface Norm {
  readonly any: boolean;
  readonly branches: readonly Branch[];
  /** Extra conditions that could not be merged in (an `allOf` part that is itself a union). */
  readonly also: readonly JsonSchema[];
}

/** One alternative of a {@link Norm}: a list of values, or one type with the keywords that constrain it. */
export type Branch =
  | { readonly t: 'enum'; readonly values: readonly unknown[] }
  | { readonly t: TypeName; readonly integer: boolean; readonly k: Bag };

/** Keywords that say nothing about which values a schema accepts. */
export const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$comment',
  '$defs',
  'definitions',
  'id',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'contentEncoding',
  'contentMediaType',
]);

const TYPE_NAMES: readonly TypeName[] = ['null', 'boolean', 'string', 'number', 'array', 'object'];

/** `schema` as a union of single-type branches: `$ref`s followed, `allOf` merged where exact, unions flattened. */
export function normalise(schema: JsonSchema, root: JsonSchema): Norm {
  let bag: Bag | boolean = schema;
  for (let hops = 0; typeof bag === 'object' && typeof bag['$ref'] === 'string'; hops++) {
    if (hops > 64) return { any: true, branches: [], also: [] };
    const { $ref, ...siblings } = bag;
    const target = resolveRef($ref as string, root);
    bag = hasConstraints(siblings) ? { allOf: [target, siblings] } : target;
  }
  if (bag === true) return { any: true, branches: [], also: [] };
  if (bag === false) return { any: false, branches: [], also: [] };
  const also: JsonSchema[] = [];
  const merged = mergeAllOf(bag, root, also);
  const union = (merged['anyOf'] ?? merged['oneOf']) as unknown;
  if (Array.isArray(union)) {
    const { anyOf: _a, oneOf: _o, ...rest } = merged;
    const branches: Branch[] = [];
    let any = false;
    for (const part of union as JsonSchema[]) {
      const n = normalise(hasConstraints(rest) ? { allOf: [rest, part] } : part, root);
      any ||= n.any;
      branches.push(...n.branches);
      also.push(...n.also);
    }
    return { any, branches, also };
  }
  if (isNever(merged)) return { any: false, branches: [], also };
  return { ...branchesOf(merged), also };
}

function branchesOf(bag: Bag): { any: boolean; branches: Branch[] } {
  const typeList =
    bag['type'] === undefined ? undefined : strings(Array.isArray(bag['type']) ? bag['type'] : [bag['type']]);
  const accepts = (value: unknown): boolean =>
    typeList === undefined ||
    typeList.some((t) => t === typeOf(value) || (t === 'integer' && Number.isInteger(value)));
  if ('const' in bag)
    return { any: false, branches: accepts(bag['const']) ? [{ t: 'enum', values: [bag['const']] }] : [] };
  if (Array.isArray(bag['enum'])) {
    return { any: false, branches: [{ t: 'enum', values: (bag['enum'] as unknown[]).filter(accepts) }] };
  }
  const types = typeList;
  // Without `type`, keywords constrain only values of their own type (`properties` says nothing
  // about a string), so the schema is one branch per type, each carrying every keyword.
  if (types === undefined) {
    return {
      any: !hasConstraints(bag),
      branches: hasConstraints(bag) ? TYPE_NAMES.map((t) => ({ t, integer: false, k: bag })) : [],
    };
  }
  const branches: Branch[] = [];
  for (const t of new Set(types)) {
    if (t === 'integer') {
      if (!types.includes('number')) branches.push({ t: 'number', integer: true, k: bag });
    } else if ((TYPE_NAMES as readonly string[]).includes(t))
      branches.push({ t: t as TypeName, integer: false, k: bag });
  }
  return { any: false, branches };
}

/** Folds `allOf` parts into one keyword bag where that is exact; unions inside `allOf` go to `also`. */
function mergeAllOf(bag: Bag, root: JsonSchema, also: JsonSchema[]): Bag {
  const parts = bag['allOf'];
  if (!Array.isArray(parts)) return bag;
  const { allOf: _, ...rest } = bag;
  let merged: Record<string, unknown> = { ...rest };
  for (const raw of parts as JsonSchema[]) {
    let part: JsonSchema = raw;
    for (let hops = 0; typeof part === 'object' && typeof part['$ref'] === 'string' && hops < 64; hops++) {
      const { $ref, ...siblings } = part;
      part = hasConstraints(siblings)
        ? { allOf: [resolveRef($ref as string, root), siblings] }
        : resolveRef($ref as string, root);
    }
    if (part === true) continue;
    if (part === false) return { not: {} };
    const flat = mergeAllOf(part, root, also);
    if (flat['anyOf'] !== undefined || flat['oneOf'] !== undefined) {
      also.push(flat);
      continue;
    }
    merged = mergeBags(merged, flat);
  }
  return merged;
}

function mergeBags(a: Record<string, unknown>, b: Bag): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    if (prev === undefined) {
      out[key] = value;
      continue;
    }
    switch (key) {
      case 'pattern':
        out['pattern'] = prev;
        out['allOf'] = [...((out['allOf'] as unknown[] | undefined) ?? []), { pattern: value }];
        break;
      case 'required':
        out[key] = [...new Set([...strings(prev), ...strings(value)])];
        break;
      case 'properties': {
        const props: Record<string, unknown> = { ...(prev as Bag) };
        for (const [name, schema] of Object.entries(value as Bag)) {
          props[name] = props[name] === undefined ? schema : { allOf: [props[name], schema] };
        }
        out[key] = props;
        break;
      }
      case 'minimum':
      case 'exclusiveMinimum':
      case 'minLength':
      case 'minItems':
        out[key] = Math.max(prev as number, value as number);
        break;
      case 'maximum':
      case 'exclusiveMaximum':
      case 'maxLength':
      case 'maxItems':
        out[key] = Math.min(prev as number, value as number);
        break;
      case 'type': {
        const left = strings(Array.isArray(prev) ? prev : [prev]);
        const right = strings(Array.isArray(value) ? value : [value]);
        out[key] = left
          .filter((t) => right.includes(t) || (t === 'integer' && right.includes('number')))
          .concat(right.filter((t) => t === 'integer' && left.includes('number')));
        break;
      }
      default:
        if (!deepEqual(prev, value)) out[key] = value;
    }
  }
  return out;
}

/** Follows bare `$ref`s (no sibling keywords) to the node they name, so that a pair is recognised however it was reached. */
export function deref(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let node = schema;
  for (let hops = 0; hops < 64 && typeof node === 'object' && typeof node['$ref'] === 'string'; hops++) {
    if (Object.keys(node).some((key) => key !== '$ref' && !ANNOTATIONS.has(key))) break;
    node = resolveRef(node['$ref'], root);
  }
  return node;
}

function resolveRef(ref: string, root: JsonSchema): JsonSchema {
  if (ref === '#') return root;
  if (!ref.startsWith('#/') || typeof root !== 'object') return true;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return true;
    node = (node as Bag)[segment];
  }
  return asSchema(node);
}

/** A keyword's value as a schema; anything that is not one counts as `true`. */
export function asSchema(value: unknown): JsonSchema {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Bag;
  return true;
}

/** The strings of a list (anything else left out). */
export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function hasConstraints(bag: Bag): boolean {
  return Object.keys(bag).some((key) => !ANNOTATIONS.has(key));
}

function isNever(bag: Bag): boolean {
  const not = bag['not'];
  return not === true || (typeof not === 'object' && not !== null && !hasConstraints(not as Bag));
}

/** A value's JSON type. */
export function typeOf(value: unknown): TypeName | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'boolean' || t === 'string' || t === 'number' || t === 'object' ? t : 'other';
}

/** Whether two JSON values are equal (key order aside). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((key) => Object.hasOwn(b, key) && deepEqual((a as Bag)[key], (b as Bag)[key]));
}
