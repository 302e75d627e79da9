/**
 * The wire protocol version a peer speaks. Bump it on any change a peer of the previous version
 * cannot read; raise {@link MIN_PROTOCOL_VERSION} when the hub drops support for old clients.
 *
 * History:
 * - 1: hello/welcome, push/ack, pull, live events with `prev`, subscribe, notify, hub-error.
 * - 2: `welcome` carries the hub's `schemaFingerprint`, so a client can warn of a registry that
 *   differs from the hub's (a hub sends it only to clients that speak 2).
 * - 3: `push` may carry `repair: true` (events a restored log lost, sent again); a client sends
 *   it only to a hub that speaks 3.
 */
export const PROTOCOL_VERSION = 3;

/** The oldest protocol version a hub of this release still serves. */
export const MIN_PROTOCOL_VERSION = 1;
