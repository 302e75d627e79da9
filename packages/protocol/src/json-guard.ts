import { ErrorCode } from './error-codes.ts';
import { Limits } from './limits.ts';
import { err, ok, type ProtocolIssue, type Result } from './result.ts';

/** A value that JSON can hold exactly: what every event's `data` and `meta` must be. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Bounds for {@link guardJson}. */
export interface JsonGuardOptions {
  /** Deepest nesting allowed; the root is depth 0. */
  readonly maxDepth?: number;
  /** Largest UTF-8 JSON size allowed, in bytes. */
  readonly maxBytes?: number;
}

/**
 * Checks that `input` is plain JSON (finite numbers, plain objects and arrays, no `__proto__` keys,
 * no cycles) within the depth and size bounds, and returns its exact `JSON.stringify` size in bytes.
 * Never throws: getters or proxies that throw come back as `invalid`.
 */
export function guardJson(input: unknown, options: JsonGuardOptions = {}): Result<number> {
  const state = jsonTally(options);
  try {
    if (!visit(input, 0, state)) return err(state.issue ?? issue(ErrorCode.invalid, 'not a JSON value', []));
  } catch (cause) {
    return err(issue(ErrorCode.invalid, `unreadable input: ${describe(cause)}`, []));
  }
  return ok(state.bytes);
}

/** UTF-8 byte length of `JSON.stringify(s)` for a string `s`, quotes included. */
export function jsonStringBytes(s: string): number {
  if (PLAIN_ASCII.test(s)) return s.length + 2;
  let bytes = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) bytes += 2;
    else if (c < 0x20) bytes += SHORT_ESCAPES.has(c) ? 2 : 6;
    else if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 6; // a lone surrogate is written as \udxxx
    } else if (c >= 0xdc00 && c <= 0xdfff) bytes += 6;
    else bytes += 3;
  }
  return bytes;
}

/**
 * The running state of a {@link guardJson} walk, for a decoder that walks a message once: it checks
 * the fields it knows itself (adding their JSON bytes to `bytes`) and hands the free values
 * (`data`, free `meta` keys) to {@link guardJsonAt}. It must then check `bytes <= maxBytes`.
 */
export interface GuardState {
  readonly maxDepth: number;
  readonly maxBytes: number;
  bytes: number;
  issue: ProtocolIssue | undefined;
}

/** A fresh {@link GuardState} with no bytes counted. */
export function jsonTally(options: JsonGuardOptions = {}): GuardState {
  return {
    maxDepth: options.maxDepth ?? Limits.maxDepth,
    maxBytes: options.maxBytes ?? Limits.maxMessageBytes,
    bytes: 0,
    issue: undefined,
  };
}

/**
 * {@link guardJson}'s check of `value` found at `depth` (the root is 0), counted into `state`; may
 * throw (a throwing getter or proxy), as it does not catch.
 */
export function guardJsonAt(value: unknown, depth: number, state: GuardState): boolean {
  return visit(value, depth, state);
}

/** Whether an object or array at `depth` is one {@link guardJson} takes: plain, not too deep. */
export function isPlainAt(value: object, depth: number, state: GuardState): boolean {
  if (depth >= state.maxDepth) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return Array.isArray(value) ? proto === Array.prototype : proto === Object.prototype || proto === null;
}

// Printable ASCII without `"` and `\`: one byte each in JSON.
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const SHORT_ESCAPES = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);

function visit(value: unknown, depth: number, state: GuardState): boolean {
  switch (typeof value) {
    case 'string':
      return add(state, jsonStringBytes(value));
    case 'number':
      if (!Number.isFinite(value)) return fail(state, 'numbers must be finite', []);
      return add(state, numberBytes(value));
    case 'boolean':
      return add(state, value ? 4 : 5);
    case 'object':
      break;
    default:
      return fail(state, `${typeof value} is not a JSON value`, []);
  }
  if (value === null) return add(state, 4);
  if (depth >= state.maxDepth) return fail(state, `nested deeper than ${state.maxDepth}`, []);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return fail(state, 'not a plain array', []);
    if (!add(state, 2 + Math.max(0, value.length - 1))) return false;
    for (let i = 0; i < value.length; i++) {
      if (!visit(value[i], depth + 1, state)) return prefix(state, String(i));
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return fail(state, 'not a plain object', []);
  const keys = Object.keys(value);
  if (!add(state, 2 + Math.max(0, keys.length - 1))) return false;
  for (const key of keys) {
    if (key === '__proto__') return fail(state, '`__proto__` is not allowed as a key', [key]);
    if (!add(state, jsonStringBytes(key) + 1, key)) return false;
    if (!visit((value as Record<string, unknown>)[key], depth + 1, state)) return prefix(state, key);
  }
  return true;
}

function add(state: GuardState, bytes: number, key?: string): boolean {
  state.bytes += bytes;
  if (state.bytes <= state.maxBytes) return true;
  state.issue = issue(
    ErrorCode.tooLarge,
    `larger than ${state.maxBytes} bytes`,
    key === undefined ? [] : [key],
  );
  return false;
}

/** Length of `JSON.stringify(n)` for a finite number, without making the string for small integers. */
export function numberBytes(n: number): number {
  if (Number.isInteger(n) && n >= 0 && n < 1e9)
    return n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : String(n).length;
  return String(n).length;
}

function fail(state: GuardState, message: string, path: readonly string[]): false {
  state.issue = issue(ErrorCode.invalid, message, path);
  return false;
}

function prefix(state: GuardState, key: string): false {
  if (state.issue)
    state.issue = { ...state.issue, path: state.issue.path ? `${key}.${state.issue.path}` : key };
  return false;
}

function issue(code: ErrorCode, message: string, path: readonly string[]): ProtocolIssue {
  return { code, message, path: path.join('.') };
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : 'thrown while reading';
}
