import { CompatibilityChange } from './compatibility-change.ts';

/** A JSON Schema document or sub-schema (draft 2020-12 as `z.toJSONSchema` writes it, or draft-07). */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** One reason a reader may refuse what a writer may write, at a path into the data. */
export interface SchemaIncompatibility {
  /** Into the data: `title`, `address.street`, `tags[]` (any item), `pair[0]`, `labels.*` (any extra key). */
  readonly path: string;
  readonly change: CompatibilityChange;
  readonly message: string;
}

/** How messages name the two sides, e.g. `{ reader: 'v2', writer: 'v1 data' }`. */
export interface SchemaSides {
  readonly reader: string;
  readonly writer: string;
}

/**
 * Lists why `reader` may refuse a value that `writer` accepts: empty when every value the writer
 * can produce is accepted by the reader (writer ⊆ reader). Works on the subset of JSON Schema that
 * zod writes: `type`, `enum`/`const`, `anyOf`/`oneOf` (nullable, unions), `allOf`, local `$ref`
 * (recursion), object `properties`/`required`/`additionalProperties`/`unevaluatedProperties`/
 * `propertyNames`, array `items` (a schema, or draft-07's list with `additionalItems`)/`prefixItems`/
 * `unevaluatedItems`/`minItems`/`maxItems`, string and number bounds, `pattern`, `format`.
 * Annotations (`description`, `default`…) are ignored; any other keyword the reader adds or
 * changes is reported, so the check errs on the side of "breaking". A schema without `type` accepts
 * every type its keywords do not constrain (`{ properties: … }` also accepts a string).
 *
 * The content model it assumes: a writer object schema that names neither `additionalProperties`
 * nor `unevaluatedProperties` (zod's `z.object`, which strips unknown keys) is closed: it writes
 * only the properties it declares. A reader without either keyword is open: it reads past
 * undeclared keys. A schema registry's strict JSON Schema check reads such a writer as open (it
 * may hold any key with any value), so there adding an optional field to the reader is breaking;
 * here it is not. Data written by a producer that keeps unknown keys should say so with
 * `additionalProperties`, and then this check is as strict as the registry.
 */
export function compareJsonSchemas(
  writer: JsonSchema,
  reader: JsonSchema,
  sides: SchemaSides = { reader: 'the reader', writer: 'the writer' },
): SchemaIncompatibility[] {
  const ctx: Ctx = {
    sides,
    wRoot: writer,
    rRoot: reader,
    inProgress: new Set(),
    ids: new WeakMap(),
    nextId: 0,
    depth: 0,
  };
  return sub(ctx, writer, reader, '');
}

interface Ctx {
  readonly sides: SchemaSides;
  readonly wRoot: JsonSchema;
  readonly rRoot: JsonSchema;
  /** Pairs (writer node, reader node) being compared: met again through a `$ref`, they are assumed fine. */
  readonly inProgress: Set<string>;
  readonly ids: WeakMap<object, number>;
  nextId: number;
  depth: number;
}

type Bag = { readonly [keyword: string]: unknown };
type TypeName = 'null' | 'boolean' | 'string' | 'number' | 'array' | 'object';

/** A schema as a union of single-type branches. `any` accepts everything; no branches accepts nothing. */
interface Norm {
  readonly any: boolean;
  readonly branches: readonly Branch[];
  /** Extra conditions that could not be merged in (an `allOf` part that is itself a union). */
  readonly also: readonly JsonSchema[];
}

type Branch =
  | { readonly t: 'enum'; readonly values: readonly unknown[] }
  | { readonly t: TypeName; readonly integer: boolean; readonly k: Bag };

const ANNOTATIONS = new Set([
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

const MODELED = new Set([
  'type',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  '$ref',
  'properties',
  'required',
  'additionalProperties',
  'unevaluatedProperties',
  'propertyNames',
  'items',
  'additionalItems',
  'prefixItems',
  'unevaluatedItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
]);

const TYPE_NAMES: readonly TypeName[] = ['null', 'boolean', 'string', 'number', 'array', 'object'];
const MAX_DEPTH = 256;

function sub(ctx: Ctx, w: JsonSchema, r: JsonSchema, path: string): SchemaIncompatibility[] {
  const key = `${idOf(ctx, deref(w, ctx.wRoot))}|${idOf(ctx, deref(r, ctx.rRoot))}`;
  if (ctx.inProgress.has(key) || ctx.depth > MAX_DEPTH) return [];
  ctx.inProgress.add(key);
  ctx.depth++;
  try {
    const W = normalise(w, ctx.wRoot);
    const R = normalise(r, ctx.rRoot);
    const issues: SchemaIncompatibility[] = [];
    for (const extra of R.also) issues.push(...sub(ctx, w, extra, path));
    if (R.any) return issues;
    if (W.any) {
      issues.push({
        path,
        change: CompatibilityChange.schemaNarrowed,
        message: `${ctx.sides.reader} accepts only ${describe(R)} where ${ctx.sides.writer} may have any value`,
      });
      return issues;
    }
    for (const branch of W.branches) issues.push(...branchIn(ctx, branch, R, path));
    return issues;
  } finally {
    ctx.depth--;
    ctx.inProgress.delete(key);
  }
}

function branchIn(ctx: Ctx, wb: Branch, R: Norm, path: string): SchemaIncompatibility[] {
  const { reader, writer } = ctx.sides;
  if (wb.t === 'enum' || wb.t === 'null' || wb.t === 'boolean') {
    const values = wb.t === 'enum' ? wb.values : wb.t === 'null' ? [null] : [true, false];
    const refused = values.filter((value) => !R.branches.some((rb) => valueIn(value, rb)));
    if (refused.length === 0) return [];
    if (wb.t === 'boolean' && refused.length === 2 && !R.branches.some((rb) => rb.t === 'enum')) {
      return [typeChanged(ctx, 'boolean', R, path)];
    }
    const issues: SchemaIncompatibility[] = [];
    const foreign: unknown[] = [];
    for (const value of refused) {
      if (value === null) {
        issues.push({
          path,
          change: CompatibilityChange.nullNotAccepted,
          message: `${reader} does not accept null, which ${writer} may contain`,
        });
      } else if (sameTypeIn(value, R)) {
        issues.push({
          path,
          change: CompatibilityChange.valueNotAccepted,
          message: `${reader} does not accept ${JSON.stringify(value)}, which ${writer} may contain`,
        });
      } else foreign.push(value);
    }
    if (foreign.length > 0) issues.push(typeChanged(ctx, listValues(foreign), R, path));
    return issues;
  }
  const candidates = R.branches.filter((rb) => rb.t === wb.t);
  if (candidates.length === 0) {
    const had = wb.integer ? 'integer' : wb.t;
    const listed = R.branches.flatMap((rb) =>
      rb.t === 'enum' ? rb.values.filter((v) => typeOf(v) === wb.t) : [],
    );
    if (listed.length === 0) return [typeChanged(ctx, had, R, path)];
    return [
      {
        path,
        change: CompatibilityChange.valueNotAccepted,
        message: `${reader} accepts only ${listValues(listed)} where ${writer} may have any ${had}`,
      },
    ];
  }
  let best: SchemaIncompatibility[] | undefined;
  for (const rb of candidates) {
    const issues = compareBranch(ctx, wb, rb as Extract<Branch, { k: Bag }>, path);
    if (issues.length === 0) return issues;
    if (best === undefined || issues.length < best.length) best = issues;
  }
  return best ?? [];
}

function typeChanged(ctx: Ctx, had: string, R: Norm, path: string): SchemaIncompatibility {
  return {
    path,
    change: CompatibilityChange.typeChanged,
    message: `${ctx.sides.reader} expects ${describe(R)} where ${ctx.sides.writer} may have ${had}`,
  };
}

function compareBranch(
  ctx: Ctx,
  wb: Extract<Branch, { k: Bag }>,
  rb: Extract<Branch, { k: Bag }>,
  path: string,
): SchemaIncompatibility[] {
  const issues: SchemaIncompatibility[] = [];
  const { reader, writer } = ctx.sides;
  const w = wb.k;
  const r = rb.k;
  const tightened = (what: string): void => {
    issues.push({ path, change: CompatibilityChange.constraintTightened, message: `${reader} ${what}` });
  };
  switch (wb.t) {
    case 'string': {
      const wMin = num(w['minLength']) ?? 0;
      const rMin = num(r['minLength']) ?? 0;
      if (rMin > wMin) tightened(`requires at least ${rMin} characters where ${writer} may have ${wMin}`);
      const wMax = num(w['maxLength']) ?? Infinity;
      const rMax = num(r['maxLength']) ?? Infinity;
      if (rMax < wMax) tightened(`allows at most ${rMax} characters where ${writer} may have ${wMax}`);
      // A new format usually brings its own pattern (zod writes both): one issue says enough.
      const format = r['format'];
      if (typeof format === 'string' && w['format'] !== format) {
        tightened(`requires the format "${format}", which ${writer} need not match`);
      } else {
        const wPatterns = patterns(w);
        for (const p of patterns(r)) {
          if (!wPatterns.includes(p))
            tightened(`requires the pattern /${clip(p)}/, which ${writer} need not match`);
        }
      }
      break;
    }
    case 'number': {
      if (rb.integer && !wb.integer) {
        issues.push({
          path,
          change: CompatibilityChange.typeChanged,
          message: `${reader} expects an integer where ${writer} may have any number`,
        });
        break;
      }
      const wLow = lowerBound(w);
      const rLow = lowerBound(r);
      if (
        rLow &&
        (!wLow || rLow.value > wLow.value || (rLow.value === wLow.value && rLow.exclusive && !wLow.exclusive))
      ) {
        tightened(`requires ${rLow.exclusive ? '>' : '≥'} ${rLow.value} where ${writer} ${bound(wLow, '>')}`);
      }
      const wHigh = upperBound(w);
      const rHigh = upperBound(r);
      if (
        rHigh &&
        (!wHigh ||
          rHigh.value < wHigh.value ||
          (rHigh.value === wHigh.value && rHigh.exclusive && !wHigh.exclusive))
      ) {
        tightened(
          `requires ${rHigh.exclusive ? '<' : '≤'} ${rHigh.value} where ${writer} ${bound(wHigh, '<')}`,
        );
      }
      const rStep = num(r['multipleOf']);
      if (rStep !== undefined) {
        const wStep = num(w['multipleOf']) ?? (wb.integer ? 1 : undefined);
        if (wStep === undefined || !isMultiple(wStep, rStep)) {
          tightened(
            `requires a multiple of ${rStep} where ${writer} may have ${wStep ? `any multiple of ${wStep}` : 'any number'}`,
          );
        }
      }
      break;
    }
    case 'array':
      issues.push(...compareArrays(ctx, w, r, path));
      break;
    case 'object':
      issues.push(...compareObjects(ctx, w, r, path));
      break;
    default:
      break;
  }
  for (const [keyword, value] of Object.entries(r)) {
    if (MODELED.has(keyword) || ANNOTATIONS.has(keyword)) continue;
    if (!deepEqual(value, w[keyword])) {
      tightened(
        `has \`${keyword}: ${JSON.stringify(value)}\`, which this check cannot compare, so it counts as a change`,
      );
    }
  }
  return issues;
}

function compareArrays(ctx: Ctx, w: Bag, r: Bag, path: string): SchemaIncompatibility[] {
  const { reader, writer } = ctx.sides;
  const issues: SchemaIncompatibility[] = [];
  const wMin = num(w['minItems']) ?? 0;
  const rMin = num(r['minItems']) ?? 0;
  const wMax = num(w['maxItems']) ?? Infinity;
  const rMax = num(r['maxItems']) ?? Infinity;
  const { prefix: wPrefix, rest: wRest } = arrayShape(w);
  const { prefix: rPrefix, rest: rRest } = arrayShape(r);
  const fixed = Math.max(wPrefix.length, rPrefix.length);
  let tooLong = false;
  for (let i = 0; i < fixed && i < wMax; i++) {
    const wi = wPrefix[i] ?? wRest;
    const ri = rPrefix[i] ?? rRest;
    if (wi === false) break;
    if (ri === false) {
      tooLong = true;
      break;
    }
    issues.push(...sub(ctx, wi, ri, `${path}[${i}]`));
  }
  if (!tooLong && wRest !== false && wMax > fixed) {
    if (rRest === false) tooLong = true;
    else issues.push(...sub(ctx, wRest, rRest, `${path}[]`));
  }
  if (tooLong) {
    issues.push({
      path,
      change: CompatibilityChange.tupleLengthChanged,
      message: `${reader} accepts at most ${items(rPrefix.length)} where ${writer} may have more`,
    });
  }
  if (rMin > wMin) {
    issues.push({
      path,
      change: CompatibilityChange.constraintTightened,
      message: `${reader} requires at least ${items(rMin)} where ${writer} may have ${wMin}`,
    });
  }
  if (rMax < wMax && !tooLong) {
    issues.push({
      path,
      change: CompatibilityChange.constraintTightened,
      message: `${reader} allows at most ${items(rMax)} where ${writer} may have ${wMax}`,
    });
  }
  if (r['uniqueItems'] === true && w['uniqueItems'] !== true) {
    issues.push({
      path,
      change: CompatibilityChange.constraintTightened,
      message: `${reader} requires unique items, which ${writer} need not have`,
    });
  }
  return issues;
}

function compareObjects(ctx: Ctx, w: Bag, r: Bag, path: string): SchemaIncompatibility[] {
  const { reader, writer } = ctx.sides;
  const issues: SchemaIncompatibility[] = [];
  const wProps = props(w);
  const rProps = props(r);
  const wRequired = new Set(strings(w['required']));
  const rRequired = new Set(strings(r['required']));
  // undefined: the writer writes only what it declares (zod's default, which strips unknown keys).
  // After `allOf` is merged, every declared property is evaluated, so `unevaluatedProperties`
  // governs the same keys as `additionalProperties` (erring strict where a union part declares more).
  const wExtraRaw = w['additionalProperties'] ?? w['unevaluatedProperties'];
  const rExtraRaw = r['additionalProperties'] ?? r['unevaluatedProperties'];
  const wExtra = wExtraRaw === undefined ? undefined : asSchema(wExtraRaw);
  const rExtra = rExtraRaw === undefined ? true : asSchema(rExtraRaw);
  const at = (name: string): string => (path ? `${path}.${name}` : name);

  // A reader property with a single allowed value is a union discriminator: if the writer's value
  // differs, this reader branch is another variant altogether, and that alone is worth reporting.
  for (const [name, rSchema] of rProps) {
    const wSchema = wProps.get(name);
    if (wSchema === undefined || !isSingleValue(rSchema)) continue;
    const mismatch = sub(ctx, wSchema, rSchema, at(name));
    if (mismatch.length > 0) return mismatch;
  }

  for (const [name, rSchema] of rProps) {
    const wSchema = wProps.get(name);
    if (wSchema !== undefined) {
      issues.push(...sub(ctx, wSchema, rSchema, at(name)));
      if (rRequired.has(name) && !wRequired.has(name)) {
        issues.push({
          path: at(name),
          change: CompatibilityChange.fieldMadeRequired,
          message: `${reader} requires field "${name}", which ${writer} may lack (it is optional there)`,
        });
      }
    } else if (rRequired.has(name)) {
      issues.push({
        path: at(name),
        change: CompatibilityChange.requiredFieldAdded,
        message: `${reader} requires field "${name}", which ${writer} does not have`,
      });
    } else if (wExtra !== undefined && wExtra !== false) {
      // The writer keeps undeclared keys, so it may have written this name with any value it allows.
      issues.push(...sub(ctx, wExtra, rSchema, at(name)));
    }
  }
  for (const name of rRequired) {
    if (!rProps.has(name) && !wRequired.has(name)) {
      issues.push({
        path: at(name),
        change: CompatibilityChange.requiredFieldAdded,
        message: `${reader} requires field "${name}", which ${writer} does not have`,
      });
    }
  }
  for (const [name, wSchema] of wProps) {
    // A writer property whose schema is `false` can never be written: its absence is no change.
    if (rProps.has(name) || wSchema === false) continue;
    if (rExtra === false) {
      issues.push({
        path: at(name),
        change: CompatibilityChange.fieldNotAllowed,
        message: `${reader} rejects field "${name}" (it allows no undeclared fields), which ${writer} may contain`,
      });
    } else if (rExtra !== true) {
      issues.push(...sub(ctx, wSchema, rExtra, at(name)));
    }
  }
  if (wExtra !== undefined && wExtra !== false) {
    if (rExtra === false) {
      issues.push({
        path: at('*'),
        change: CompatibilityChange.fieldNotAllowed,
        message: `${reader} allows no undeclared fields, which ${writer} may contain`,
      });
    } else if (rExtra !== true) {
      issues.push(...sub(ctx, wExtra, rExtra, at('*')));
    }
  }
  const rNames = r['propertyNames'];
  if (rNames !== undefined) {
    const wNames = w['propertyNames'];
    if (wExtra !== undefined && wExtra !== false) {
      issues.push(...sub(ctx, asSchema(wNames ?? { type: 'string' }), asSchema(rNames), at('{key}')));
    } else {
      const R = normalise(asSchema(rNames), ctx.rRoot);
      for (const name of wProps.keys()) {
        if (!R.any && !R.branches.some((rb) => valueIn(name, rb))) {
          issues.push({
            path: at(name),
            change: CompatibilityChange.fieldNotAllowed,
            message: `${reader} does not accept the field name "${name}", which ${writer} may contain`,
          });
        }
      }
    }
  }
  return issues;
}

function normalise(schema: JsonSchema, root: JsonSchema): Norm {
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
function deref(schema: JsonSchema, root: JsonSchema): JsonSchema {
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

function valueIn(value: unknown, rb: Branch): boolean {
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

function sameTypeIn(value: unknown, R: Norm): boolean {
  const t = typeOf(value);
  return R.branches.some((rb) => (rb.t === 'enum' ? rb.values.some((v) => typeOf(v) === t) : rb.t === t));
}

function describe(n: Norm): string {
  if (n.any) return 'any value';
  if (n.branches.length === 0) return 'no value at all';
  const parts = n.branches.map((b) =>
    b.t === 'enum' ? listValues(b.values) : b.t === 'number' && b.integer ? 'integer' : b.t,
  );
  return [...new Set(parts)].join(' | ');
}

function isSingleValue(schema: JsonSchema): boolean {
  if (typeof schema !== 'object') return false;
  return 'const' in schema || (Array.isArray(schema['enum']) && (schema['enum'] as unknown[]).length === 1);
}

function items(n: number): string {
  return n === 1 ? '1 item' : `${n} items`;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function listValues(values: readonly unknown[]): string {
  const shown = values.slice(0, 8).map((v) => JSON.stringify(v));
  return values.length > 8 ? `${shown.join(' | ')} | … (${values.length - 8} more)` : shown.join(' | ');
}

interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

function lowerBound(k: Bag): Bound | undefined {
  const inclusive = num(k['minimum']);
  const exclusive = num(k['exclusiveMinimum']);
  if (exclusive !== undefined && (inclusive === undefined || exclusive >= inclusive))
    return { value: exclusive, exclusive: true };
  return inclusive === undefined ? undefined : { value: inclusive, exclusive: false };
}

function upperBound(k: Bag): Bound | undefined {
  const inclusive = num(k['maximum']);
  const exclusive = num(k['exclusiveMaximum']);
  if (exclusive !== undefined && (inclusive === undefined || exclusive <= inclusive))
    return { value: exclusive, exclusive: true };
  return inclusive === undefined ? undefined : { value: inclusive, exclusive: false };
}

function bound(b: Bound | undefined, strict: '>' | '<'): string {
  if (!b) return 'has no such bound';
  return `allows ${b.exclusive ? strict : strict === '>' ? '≥' : '≤'} ${b.value}`;
}

function isMultiple(value: number, step: number): boolean {
  const q = value / step;
  return Math.abs(q - Math.round(q)) < 1e-9;
}

function patterns(k: Bag): string[] {
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

function props(k: Bag): Map<string, JsonSchema> {
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
function arrayShape(k: Bag): { prefix: JsonSchema[]; rest: JsonSchema } {
  const items = k['items'];
  if (Array.isArray(items)) {
    return { prefix: schemaList(items), rest: asSchema(k['additionalItems'] ?? k['unevaluatedItems']) };
  }
  return { prefix: schemaList(k['prefixItems']), rest: asSchema(items ?? k['unevaluatedItems']) };
}

function schemaList(value: unknown): JsonSchema[] {
  return Array.isArray(value) ? value.map(asSchema) : [];
}

function asSchema(value: unknown): JsonSchema {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Bag;
  return true;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function hasConstraints(bag: Bag): boolean {
  return Object.keys(bag).some((key) => !ANNOTATIONS.has(key));
}

function isNever(bag: Bag): boolean {
  const not = bag['not'];
  return not === true || (typeof not === 'object' && not !== null && !hasConstraints(not as Bag));
}

function typeOf(value: unknown): TypeName | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'boolean' || t === 'string' || t === 'number' || t === 'object' ? t : 'other';
}

function idOf(ctx: Ctx, schema: JsonSchema): string {
  if (typeof schema === 'boolean') return String(schema);
  let id = ctx.ids.get(schema);
  if (id === undefined) {
    id = ctx.nextId++;
    ctx.ids.set(schema, id);
  }
  return String(id);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((key) => Object.hasOwn(b, key) && deepEqual((a as Bag)[key], (b as Bag)[key]));
}
