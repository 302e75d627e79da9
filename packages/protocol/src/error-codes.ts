/**
 * Every code a peer can send or receive, as data. Rejections of a single pushed event use the
 * subset {@link RejectionCode}; the rest close or refuse a whole message or connection.
 */
export const ErrorCode = {
  /** The input does not match the schema (wrong types, missing or extra keys, bad JSON). */
  invalid: 'invalid',
  /** The hub does not know this (type, version); the event stays pending on the client. */
  unknownEventVersion: 'unknown-event-version',
  /** `expectedVersion` no longer matches the stream; the rejection carries `currentVersion`. */
  wrongExpectedVersion: 'wrong-expected-version',
  /** The principal may not do this to this stream. */
  unauthorized: 'unauthorized',
  /** An event, message or batch is larger than the limits allow. */
  tooLarge: 'too-large',
  /** An id that was already stored with different content. */
  idConflict: 'id-conflict',
  /**
   * The hub holds another event at this `clientSeq` (the device lost an event the hub stored, and
   * gave its seq again); the client numbers its undecided events past the hub's seq and pushes
   * them again. Sent only to clients that speak protocol 5 (older ones get `invalid`).
   */
  seqUsed: 'seq-used',
  /** A `clientSeq` above the next expected one was not filled in time; the client pushes again. */
  sequenceGap: 'sequence-gap',
  /** No valid credentials on the connection. */
  unauthenticated: 'unauthenticated',
  /** The peer speaks a protocol older than the other side still supports. */
  protocolTooOld: 'protocol-too-old',
  /** The peer speaks a protocol newer than the other side knows. */
  protocolTooNew: 'protocol-too-new',
  /** The socket sent faster than its rate limit allows. */
  rateLimited: 'rate-limited',
  /** The socket's outgoing buffer overflowed; it is dropped and catches up by pull. */
  slowConsumer: 'slow-consumer',
  /** A message arrived before `hello` was answered. */
  notReady: 'not-ready',
  /** Something failed inside the hub; nothing was half-written. */
  internal: 'internal',
  /** The hub is shutting down and accepts nothing more. */
  unavailable: 'unavailable',
  /**
   * A later `hello` of the same client id (another connection of this device, on any node) took
   * the client over: this connection's pushes are refused unstored and it is closed. The client
   * says `hello` again. Sent only to clients that speak protocol 6 (older ones get `unavailable`).
   */
  superseded: 'superseded',
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The codes a `push` ack may give for one event. */
export const REJECTION_CODES = [
  ErrorCode.invalid,
  ErrorCode.unknownEventVersion,
  ErrorCode.wrongExpectedVersion,
  ErrorCode.unauthorized,
  ErrorCode.tooLarge,
  ErrorCode.idConflict,
  ErrorCode.sequenceGap,
  ErrorCode.seqUsed,
  ErrorCode.internal,
  ErrorCode.unavailable,
] as const;

/** A code that rejects a single pushed event. */
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** All codes, for exhaustive tables and schemas. Pure, so that bundles which never read it drop it. */
export const ERROR_CODES = /* @__PURE__ */ Object.values(ErrorCode) as readonly ErrorCode[];
