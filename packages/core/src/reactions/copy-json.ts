import { CoreError, CoreErrorCode } from '../core-error.ts';

/**
 * A deep copy of a JSON value, as storing and reading it back would give: `undefined` object
 * fields are dropped (as `JSON.stringify` drops them). Anything JSON cannot hold exactly — a
 * function, a Map or a class instance, a non-finite number, a cycle — throws a {@link CoreError}
 * with `code` (`invalid-reaction` by default), naming the path.
 */
export function copyJson<T>(value: T, what: string, code: CoreErrorCode = CoreErrorCode.invalidReaction): T {
  return copy(value, what, code, 0) as T;
}

const MAX_DEPTH = 256;

function copy(value: unknown, path: string, code: CoreErrorCode, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      throw new CoreError(code, `${path} is ${value}, which JSON cannot hold`);
    case 'object':
      break;
    default:
      throw new CoreError(code, `${path} is a ${typeof value}, which JSON cannot hold`);
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) throw new CoreError(code, `${path} is nested deeper than ${MAX_DEPTH} (a cycle?)`);
  if (Array.isArray(value)) {
    const out: unknown[] = Array.from({ length: value.length });
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out[i] = item === undefined ? null : copy(item, `${path}[${i}]`, code, depth + 1);
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new CoreError(code, `${path} is not a plain object, which JSON cannot hold`);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item: unknown = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    // defineProperty, so that a `__proto__` key stays data and never becomes the prototype.
    Object.defineProperty(out, key, {
      value: copy(item, `${path}.${key}`, code, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
