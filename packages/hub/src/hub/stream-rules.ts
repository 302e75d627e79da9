import { matchesSubscription, type Principal } from '@eventloom/protocol';
import { HubError, HubErrorCode } from './hub-error.ts';
import type { Authorize, AuthorizeContext, HubAction } from './hub-options.ts';

/** Every action a rule may grant. */
export const HUB_ACTIONS: readonly HubAction[] = ['push', 'pull', 'subscribe', 'notify'];

/**
 * One grant, as data (a JSON rules file): principals whose claims match `when` may do `actions`
 * to the streams of `streams`, for pushes only of the event `kinds` listed.
 *
 * @example
 * { "when": { "role": "member" }, "streams": ["board:{claim:team}:*"], "actions": ["push", "pull", "subscribe"] }
 */
export interface StreamRule {
  /**
   * Claims the token must carry: each equal to the value given, or, for a list claim such as
   * `roles`, holding it. `sub` and `iss` are claims too. Absent or empty: every principal.
   */
  readonly when?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Stream names (`list:1`), prefixes (`board:*`) or `*`. `{sub}`, `{iss}` and `{claim:name}`
   * stand for the principal's values; a value that is missing, not a string, or holds `*`
   * makes the pattern match nothing.
   */
  readonly streams: readonly string[];
  /** What the rule grants: `push`, `pull`, `subscribe`, `notify`; all four when absent. */
  readonly actions?: readonly HubAction[];
  /**
   * The kinds it grants: for `push`, event kinds (default `domain` only: `command` and
   * `integration` must be named); for `notify`, message kinds (default any).
   */
  readonly kinds?: readonly string[];
}

/**
 * An {@link Authorize} from rules stated as data: allowed when any rule grants it; then, if given,
 * `hook` is asked (a module's own decision, for what rules cannot say). Throws a {@link HubError}
 * `config` on a malformed rule.
 *
 * @example
 * createHub({ store, auth, authorize: streamRules([{ streams: ['user:{sub}:*'] }]) });
 */
export function streamRules(rules: readonly StreamRule[], hook?: Authorize): Authorize {
  const checked = rules.map((rule, i) => checkRule(rule, i));
  return (principal, action, stream, context) => {
    for (const rule of checked) if (grants(rule, principal, action, stream, context)) return true;
    return hook === undefined ? false : hook(principal, action, stream, context);
  };
}

/**
 * What `eventloom-hub` allows when it has no rules at all: everything, except pushing `command`
 * and `integration` events (which reactions and relays act on); the server warns loudly.
 */
export const openStreamsExceptCommands: Authorize = (_principal, action, _stream, context) =>
  action !== 'push' || context.kind === undefined || context.kind === 'domain';

/** Reads a rules file's JSON: a list of rules, or `{ "rules": [...] }`. */
export function parseStreamRules(json: unknown): StreamRule[] {
  const list = Array.isArray(json)
    ? json
    : typeof json === 'object' && json !== null && Array.isArray((json as { rules?: unknown }).rules)
      ? (json as { rules: unknown[] }).rules
      : undefined;
  if (list === undefined)
    throw new HubError(HubErrorCode.config, 'rules: expected a list of rules, or { "rules": [...] }');
  return list.map((rule, i) => checkRule(rule as StreamRule, i));
}

interface CheckedRule extends StreamRule {
  readonly actions: readonly HubAction[];
}

function checkRule(rule: StreamRule, i: number): CheckedRule {
  const fail = (why: string): never => {
    throw new HubError(HubErrorCode.config, `rules[${i}]: ${why}`);
  };
  if (typeof rule !== 'object' || rule === null) fail('not an object');
  for (const key of Object.keys(rule)) {
    if (!['when', 'streams', 'actions', 'kinds'].includes(key)) fail(`unknown key "${key}"`);
  }
  if (
    !Array.isArray(rule.streams) ||
    rule.streams.length === 0 ||
    !rule.streams.every((s) => typeof s === 'string' && s !== '')
  ) {
    fail('streams must be a non-empty list of stream names or patterns');
  }
  if (
    rule.actions !== undefined &&
    (!Array.isArray(rule.actions) || !rule.actions.every((a) => HUB_ACTIONS.includes(a)))
  ) {
    fail(`actions must list some of ${HUB_ACTIONS.join(', ')}`);
  }
  if (
    rule.kinds !== undefined &&
    (!Array.isArray(rule.kinds) || !rule.kinds.every((k) => typeof k === 'string'))
  ) {
    fail('kinds must be a list of kinds');
  }
  if (rule.when !== undefined) {
    if (typeof rule.when !== 'object' || rule.when === null || Array.isArray(rule.when))
      fail('when must be an object of claims');
    for (const v of Object.values(rule.when)) {
      if (!['string', 'number', 'boolean'].includes(typeof v))
        fail('when values must be strings, numbers or booleans');
    }
  }
  return { ...rule, actions: rule.actions ?? HUB_ACTIONS };
}

function grants(
  rule: CheckedRule,
  principal: Principal,
  action: HubAction,
  stream: string,
  context: AuthorizeContext,
): boolean {
  if (!rule.actions.includes(action)) return false;
  const claims: Readonly<Record<string, unknown>> = {
    ...context.claims,
    sub: principal.sub,
    iss: principal.iss,
  };
  if (rule.when !== undefined) {
    for (const [name, wanted] of Object.entries(rule.when)) {
      const value = claims[name];
      if (!(value === wanted || (Array.isArray(value) && value.includes(wanted)))) return false;
    }
  }
  if (action === 'push' && !(rule.kinds ?? ['domain']).includes(context.kind ?? 'domain')) return false;
  if (action === 'notify' && rule.kinds !== undefined && !rule.kinds.includes(context.kind ?? ''))
    return false;
  for (const pattern of rule.streams) {
    const concrete = substitute(pattern, claims);
    if (concrete !== undefined && covers(concrete, stream)) return true;
  }
  return false;
}

/** The pattern with the principal's values in place, or undefined when one is missing or unsafe. */
function substitute(pattern: string, claims: Readonly<Record<string, unknown>>): string | undefined {
  let unsafe = false;
  const out = pattern.replace(/\{(sub|iss|claim:[^}]+)\}/g, (_, name: string) => {
    const value = claims[name.startsWith('claim:') ? name.slice(6) : name];
    if (typeof value !== 'string' || value === '' || value.includes('*')) unsafe = true;
    return typeof value === 'string' ? value : '';
  });
  return unsafe ? undefined : out;
}

/** Whether `pattern` (a name, `prefix*` or `*`) covers `stream` (a name, or a `prefix*` a subscription asks for). */
function covers(pattern: string, stream: string): boolean {
  if (!stream.endsWith('*')) return matchesSubscription(stream, [pattern]);
  if (pattern === '*') return true;
  return pattern.endsWith('*') && stream.slice(0, -1).startsWith(pattern.slice(0, -1));
}
