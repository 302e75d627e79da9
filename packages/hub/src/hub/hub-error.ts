/** What went wrong inside `@eventloom/hub`, as data: branch on `error.code`, never on the message. */
export const HubErrorCode = {
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

/** One of the values of {@link HubErrorCode}. */
export type HubErrorCode = (typeof HubErrorCode)[keyof typeof HubErrorCode];

/**
 * The one error class of `@eventloom/hub`: what it throws to its host (bad configuration, a failed
 * start, a store that failed), with a `code` and the `cause`. It never crosses the socket: peers
 * get a coded `hub-error` message instead.
 *
 * @example
 * try { await createHub(options) } catch (e) { if (e instanceof HubError && e.code === 'config') … }
 */
export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: HubErrorCode;

  constructor(code: HubErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/**
 * Normalises anything thrown into a {@link HubError}: a `HubError` passes through; anything else
 * gets `code` (default `internal`) and is kept as the `cause`. With code `store`, the message says
 * it came from the event store.
 */
export function toHubError(thrown: unknown, code: HubErrorCode = HubErrorCode.internal): HubError {
  if (thrown instanceof HubError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  const prefix = code === HubErrorCode.store ? 'event store: ' : '';
  return new HubError(code, `${prefix}${message}`, { cause: thrown });
}
