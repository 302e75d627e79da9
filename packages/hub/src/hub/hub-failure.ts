/** What went wrong inside `@eventloom/hub`, as data: branch on `failure.code`, never on the message. */
export const HubFailureCode = {
  /** The hub was configured with something it cannot use (no authenticator, a bad key…). */
  config: 'config',
  /** A token could not be verified: missing, expired, wrong key, wrong audience or issuer. */
  unauthenticated: 'unauthenticated',
  /** The hub is closed or closing. */
  closed: 'closed',
  /** The store failed; nothing was acknowledged. */
  store: 'store',
  /** The store cannot be reached now (its server is down or restarting); nothing was acknowledged: retry. */
  unavailable: 'unavailable',
  /** An integration relay could not deliver: a webhook answered non-2xx, timed out or was unreachable. */
  relay: 'relay',
  /** Something unexpected was thrown inside the hub. */
  internal: 'internal',
} as const;

/** One of the values of {@link HubFailureCode}. */
export type HubFailureCode = (typeof HubFailureCode)[keyof typeof HubFailureCode];

/**
 * The error `@eventloom/hub` throws to its host (bad configuration, a failed start). It never
 * crosses the socket: peers get a coded `HubError` message instead.
 *
 * @example
 * try { await createHub(options) } catch (e) { if (e instanceof HubFailure && e.code === 'config') … }
 */
export class HubFailure extends Error {
  override readonly name = 'HubFailure';
  readonly code: HubFailureCode;

  constructor(code: HubFailureCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** Normalises anything thrown into a {@link HubFailure} (code `internal` unless it already is one). */
export function toHubFailure(thrown: unknown): HubFailure {
  if (thrown instanceof HubFailure) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new HubFailure(HubFailureCode.internal, message, { cause: thrown });
}
