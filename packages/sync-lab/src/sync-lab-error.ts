import type { HubError } from '@eventloom/protocol';

/** What went wrong in the lab's own machinery, as data: branch on `error.code`. */
export const SyncLabErrorCode = {
  /** The hub process exited, or did not say it listens, before its start timeout. */
  hubStart: 'hub-start',
  /** The hub's port did not become free in time for a restart. */
  portBusy: 'port-busy',
  /** The hub answered a request with an error (see `hubError`). */
  hubReply: 'hub-reply',
  /** The connection closed before the answer came. */
  disconnected: 'disconnected',
  /** No answer within the request's timeout. */
  timeout: 'timeout',
  /** An answer that does not match the protocol's schema. */
  undecodable: 'undecodable',
} as const;

/** One of the values of {@link SyncLabErrorCode}. */
export type SyncLabErrorCode = (typeof SyncLabErrorCode)[keyof typeof SyncLabErrorCode];

/** The one error `@eventloom/sync-lab` throws for failures of the things it drives (hub, sockets). */
export class SyncLabError extends Error {
  override readonly name = 'SyncLabError';
  readonly code: SyncLabErrorCode;
  /** With `hub-reply`: the hub's coded error. */
  readonly hubError: HubError | undefined;

  constructor(
    code: SyncLabErrorCode,
    message: string,
    options?: { readonly cause?: unknown; readonly hubError?: HubError },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hubError = options?.hubError;
  }
}
