/**
 * The wire protocol version a peer speaks. Bump it on any change a peer of the previous version
 * cannot read; raise {@link MIN_PROTOCOL_VERSION} when the hub drops support for old clients.
 *
 * History:
 * - 1: hello/welcome, push/ack, pull, live events with `prev`, subscribe, notify, hub-error.
 */
export const PROTOCOL_VERSION = 1;

/** The oldest protocol version a hub of this release still serves. */
export const MIN_PROTOCOL_VERSION = 1;
