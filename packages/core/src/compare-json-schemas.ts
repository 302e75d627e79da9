import { CompatibilityChange } from './compatibility-change.ts';
import {
  arrayShape,
  bound,
  clip,
  describe,
  isMultiple,
  isSingleValue,
  items,
  listValues,
  lowerBound,
  num,
  patterns,
  props,
  sameTypeIn,
  upperBound,
  valueIn,
} from './json-schema-keywords.ts';
import {
  ANNOTATIONS,
  asSchema,
  deepEqual,
  deref,
  normalise,
  strings,
  typeOf,
  type Bag,
  type Branch,
  type JsonSchema,
  type Norm,
} from './json-schema-norm.ts';

export type { JsonSchema } from './json-schema-norm.ts';

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

function idOf(ctx: Ctx, schema: JsonSchema): string {
  if (typeof schema === 'boolean') return String(schema);
  let id = ctx.ids.get(schema);
  if (id === undefined) {
    id = ctx.nextId++;
    ctx.ids.set(schema, id);
  }
  return String(id);
}
