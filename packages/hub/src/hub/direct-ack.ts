import type { Socket } from 'socket.io';
import { writeFrame } from './engine-connection.ts';
import { encodeAck, JsonText } from './json-text.ts';

/** A request's ack callback, as Socket.IO hands it to the socket's listeners. */
export type Ack = (answer: unknown) => void;

/** Marks an ack written already by {@link sendAck}. */
const SENT = -1;
/** The packet id of each ack callback made for a socket given to {@link rememberAckIds}. */
const packetIds = new WeakMap<Ack, number>();

/** The Socket.IO socket classes whose `ack` remembers packet ids ({@link rememberAckIds}). */
const patched = new WeakSet<object>();

/**
 * Makes Socket.IO remember the packet id of each ack callback it makes for a request (its
 * `ack(id)`, not public), so that {@link sendAck} can write the ack itself: for `socket` and every
 * other socket of its class, patched once on the class's prototype. An own `ack` on each socket
 * instead cost every idle connection about 500 bytes of heap (hub-memory: 15.9 → 16.4 kB).
 */
export function rememberAckIds(socket: Socket): void {
  const prototype = Object.getPrototypeOf(socket) as { ack?: (id: number) => Ack } | null;
  if (prototype === null || patched.has(prototype)) return;
  patched.add(prototype);
  const make = prototype.ack;
  if (typeof make !== 'function') return;
  prototype.ack = function ack(this: unknown, id: number): Ack {
    const callback = make.call(this, id);
    packetIds.set(callback, id);
    return callback;
  };
}

/**
 * Acks a request with `answer` as its JSON text ({@link JsonText}: one frame in one buffer, where
 * Socket.IO, Engine.IO and `ws` made two), written straight to the connection's WebSocket when it
 * can be (see `writeFrame`), as the live feed writes its messages; else through Socket.IO (`ack`).
 * The frame is the packet Socket.IO would send, byte for byte; what it saves, per ack, is Socket.IO's
 * packet and Engine.IO's packet, write buffer, flush and drain callbacks. An ack is written once:
 * a second call for the same request does nothing (as with Socket.IO's own callback).
 */
export function sendAck(socket: Socket, ack: Ack, answer: unknown): void {
  const id = packetIds.get(ack);
  if (id === SENT) return;
  const text = answer instanceof JsonText ? answer : new JsonText(JSON.stringify(answer) ?? 'null');
  // A text that lends its buffer is given back once written out: Engine.IO's callbacks tell when.
  if (id !== undefined && text.release === undefined && writeFrame(socket, encodeAck(id, text).frame)) {
    packetIds.set(ack, SENT);
    return;
  }
  // Socket.IO's callback sends once, but a later call here could find the WebSocket writable.
  packetIds.set(ack, SENT);
  ack(text);
}
