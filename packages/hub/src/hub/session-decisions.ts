import type { Principal } from '@eventloom/protocol';
import type { Logger } from 'pino';
import type { Authorize, HubAction } from './hub-options.ts';

/** Authorization decisions cached per connection, at most. */
const MAX_CACHED_DECISIONS = 10_000;

/**
 * One connection's authorization decisions: the hub's `authorize` hook asked once per action,
 * event kind and stream, and remembered (a pending answer too, so that a burst asks once). A hook
 * that throws or rejects denies, and is asked again next time.
 */
export class SessionDecisions {
  readonly #authorize: Authorize | undefined;
  readonly #principal: Principal;
  readonly #claims: Readonly<Record<string, unknown>>;
  readonly #logger: Logger;
  #decisions: Map<string, boolean | Promise<boolean>> | undefined;

  constructor(
    authorize: Authorize | undefined,
    principal: Principal,
    claims: Readonly<Record<string, unknown>>,
    logger: Logger,
  ) {
    this.#authorize = authorize;
    this.#principal = principal;
    this.#claims = claims;
    this.#logger = logger;
  }

  /** Whether the principal may do `action` to `stream`. */
  allowed(action: HubAction, stream: string, kind?: string): boolean | Promise<boolean> {
    const authorize = this.#authorize;
    if (authorize === undefined) return true;
    const key = `${action}\u0000${kind ?? ''}\u0000${stream}`;
    this.#decisions ??= new Map();
    const cached = this.#decisions.get(key);
    if (cached !== undefined) return cached;
    let decision: boolean | Promise<boolean>;
    try {
      const context = { claims: this.#claims, ...(kind === undefined ? {} : { kind }) };
      const answer = authorize(this.#principal, action, stream, context);
      decision =
        typeof answer === 'boolean'
          ? answer
          : Promise.resolve(answer).then(
              (allowed) => {
                this.#decisions?.set(key, allowed === true);
                return allowed === true;
              },
              (error: unknown) => {
                this.#logger.warn({ err: error, action, stream }, 'authorize threw: denied');
                this.#decisions?.delete(key);
                return false;
              },
            );
    } catch (error) {
      this.#logger.warn({ err: error, action, stream }, 'authorize threw: denied');
      return false;
    }
    if (this.#decisions.size >= MAX_CACHED_DECISIONS) this.#decisions.clear();
    this.#decisions.set(key, decision);
    return decision;
  }

  /** The connection closed: lets the decisions go (a pending one settles into nothing). */
  forget(): void {
    this.#decisions = undefined;
  }
}
