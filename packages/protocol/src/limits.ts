/**
 * Limits shared by client and hub, so that a client never builds what the hub will refuse.
 * A hub may be configured lower, never higher than what its clients were built with.
 */
export const Limits = {
  /** Bytes of one event envelope, as UTF-8 JSON. */
  maxEventBytes: 128 * 1024,
  /** Events in one `push` or one live `events` message. */
  maxBatchSize: 1000,
  /** Bytes of one whole message, as UTF-8 JSON; Socket.IO's `maxHttpBufferSize` sits above it. */
  maxMessageBytes: 4 * 1024 * 1024,
  /** Events in one `pull` page. */
  maxPullLimit: 5000,
  /** Streams named in one `hello` or `subscribe`. */
  maxSubscriptions: 1000,
  /** Nesting depth of any JSON value on the wire. */
  maxDepth: 64,
  /** Characters in a stream name. */
  maxStreamLength: 256,
  /** Characters in an event type. */
  maxTypeLength: 128,
  /** Characters in a client id. */
  maxClientIdLength: 128,
  /** Highest schema version an event type may declare. */
  maxEventVersion: 10_000,
} as const;

/** The shape of {@link Limits}, for hubs and clients that lower them. */
export type ProtocolLimits = { readonly [K in keyof typeof Limits]: number };
