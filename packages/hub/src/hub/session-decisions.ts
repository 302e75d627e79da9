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
  /**
   * By scope (the action, with the event kind when one is given), then by stream: a lookup makes no
   * key string per call (the live feed asks once per event and session).
   */
  #decisions: Map<string, Map<string, boolean | Promise<boolean>>> | undefined;
  /** How many decisions {@link #decisions} holds. */
  #cached = 0;

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
    const scope = kind === undefined ? action : `${action}\u0000${kind}`;
    this.#decisions ??= new Map();
    let byStream = this.#decisions.get(scope);
    const cached = byStream?.get(stream);
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
                // In place of the pending answer, unless the decisions were let go since.
                const byScope = this.#decisions?.get(scope);
                if (byScope?.has(stream) === true) byScope.set(stream, allowed === true);
                return allowed === true;
              },
              (error: unknown) => {
                this.#logger.warn({ err: error, action, stream }, 'authorize threw: denied');
                if (this.#decisions?.get(scope)?.delete(stream) === true) this.#cached--;
                return false;
              },
            );
    } catch (error) {
      this.#logger.warn({ err: error, action, stream }, 'authorize threw: denied');
      return false;
    }
    if (this.#cached >= MAX_CACHED_DECISIONS) {
      this.#decisions.clear();
      this.#cached = 0;
      byStream = undefined;
    }
    if (byStream === undefined) this.#decisions.set(scope, (byStream = new Map()));
    byStream.set(stream, decision);
    this.#cached++;
    return decision;
  }

  /** The connection closed: lets the decisions go (a pending one settles into nothing). */
  forget(): void {
    this.#decisions = undefined;
    this.#cached = 0;
  }
}
