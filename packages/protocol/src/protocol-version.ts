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
 * - 4: the hub records its `unknown-event-version` refusal of a client that speaks 4 (the seq is
 *   used, the events after it go on); such a client holds the event aside in its dead letters
 *   and sends it again, same id and a new seq, at its next `hello`. Older clients still wait on
 *   it (not recorded).
 * - 5: a pushed event at a `clientSeq` the hub holds for another event is refused `seq-used`
 *   (older clients get `invalid`): the client numbers its undecided events past the hub's seq,
 *   same ids and order, and pushes them again.
 * - 6: a `hello` fences the client id's older connections (the store's client epoch): their
 *   pushes are refused unstored, `hub-error` `superseded` closes them (older clients get
 *   `unavailable`), and the welcome's `lastClientSeq` is final for the session.
 */
export const PROTOCOL_VERSION = 6;

/** The oldest protocol version a hub of this release still serves. */
export const MIN_PROTOCOL_VERSION = 1;
