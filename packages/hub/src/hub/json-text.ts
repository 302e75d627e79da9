import type { Server } from 'socket.io';
import { tcpSocketOf, type EngineConnection } from './engine-connection.ts';

/** A packet as the server's Socket.IO encoder takes it. */
type Packet = Parameters<Server['encoder']['encode']>[0];

/** Socket.IO packet types whose data is a JSON array: EVENT and ACK. */
const EVENT = 2;
const ACK = 3;
/** Engine.IO's `message` packet type, which carries a Socket.IO packet. */
const MESSAGE = '4';

/**
 * An argument of a message or an ack given as its JSON, made elsewhere (a pull's page, read and
 * encoded as UTF-8 off the event loop): `parts` in a row, texts and UTF-8 bytes, make one JSON
 * value. The hub's encoder ({@link encodeJsonText}) writes them into the packet as they are, where
 * an object would be serialised. The peer receives what parsing that JSON gives, as if that value
 * had been sent.
 */
export class JsonText {
  readonly parts: readonly (string | Uint8Array)[];
  /**
   * Set by {@link JsonText.framedAround}: gives its byte part's buffer back once the message is
   * written out (or copied); undefined for a text whose bytes are not its own.
   */
  readonly release: (() => void) | undefined;

  /** The parts must make one JSON value; nothing checks it. */
  constructor(...parts: (string | Uint8Array)[]) {
    this.parts = parts;
    this.release = undefined;
  }

  /**
   * A text of `parts` whose one byte part owns its whole buffer (a pull page's, see
   * `StoreJsonPage.release`): as an ack, the encoder writes the message's frame in that buffer,
   * around the part, when it has room there (no copy of the page), and `release` is called once
   * the frame was written out: after Engine.IO's transport drained the flush that carried it and
   * its TCP socket has no byte of it left queued (or closed); otherwise once it was copied. Nothing may use the
   * part after that. For one message only: it is given back once.
   */
  static framedAround(release: () => void, ...parts: (string | Uint8Array)[]): JsonText {
    const text = new JsonText(...parts);
    (text as { release: (() => void) | undefined }).release = release;
    return text;
  }
}

/**
 * A packet holding a {@link JsonText}, as the hub's encoder gives it to Engine.IO: the whole
 * WebSocket frame of its message, built once in one buffer, which the WebSocket transport writes
 * as it is. Any other transport takes the packet's text ({@link toString}).
 */
export class EncodedPacket {
  /** The WebSocket frame: its header, then Engine.IO's `message` type and the Socket.IO packet. */
  readonly frame: Buffer;
  /**
   * When the frame lies in a buffer lent by a {@link JsonText} (see {@link JsonText.framedAround}):
   * gives it back, once the frame was written out or copied. Called by {@link encodeJsonText}'s hook.
   */
  readonly release: (() => void) | undefined;
  readonly #payload: number;

  constructor(frame: Buffer, payload: number, release?: () => void) {
    this.frame = frame;
    this.#payload = payload;
    this.release = release;
  }

  /** The Socket.IO packet's size in bytes. */
  get byteLength(): number {
    return this.frame.length - this.#payload - 1;
  }

  /** The Socket.IO packet as the default encoder writes it (Engine.IO prefixes its type to it). */
  toString(): string {
    return this.frame.toString('utf8', this.#payload + 1);
  }
}

/**
 * Makes `io` (attached to its server) send {@link JsonText} arguments as their bytes. Every other
 * packet goes to the encoder as before; a packet with a JsonText among its arguments is written in
 * the same format (type, namespace, ack id, the arguments' JSON array), so a peer's own parser
 * reads it, as an {@link EncodedPacket}: on a WebSocket, a frame made without a string of the
 * page, nor its UTF-8 measured or encoded again on the event loop.
 */
export function encodeJsonText(io: Server): void {
  const encoder = io.encoder;
  const encode = encoder.encode.bind(encoder);
  encoder.encode = (packet: Packet) => encodeWithText(packet) ?? encode(packet);
  io.engine.on('connection', (conn: EngineSocket) => {
    conn.on('packetCreate', (packet: EnginePacket) => {
      const { data } = packet;
      if (!(data instanceof EncodedPacket)) return;
      // Taken by the WebSocket transport (Socket.IO's broadcasts use the same option); any other
      // transport writes the packet's data, which must then be its text.
      if (conn.transport.name === 'websocket') {
        packet.options.wsPreEncodedFrame = [data.frame];
        if (data.release !== undefined) afterWritten(conn, data.release);
      } else {
        packet.data = data.toString();
        data.release?.();
      }
    });
  });
}

/**
 * Calls `release` once the packet being created on `conn` was written to its connection: as
 * Engine.IO calls a packet's send callback (`sendPacket`'s, which Socket.IO does not give), after
 * the transport drained the flush that carried it, and then only once the TCP socket under it has
 * written out every byte queued on it (see {@link whenWritten}), so that a callback run early (its
 * queue is matched to drains by position) cannot give back a buffer whose bytes are still queued.
 * A packet never written (the connection closed first), or on a socket not of that shape, never
 * calls it: its buffer is collected as any other.
 */
function afterWritten(conn: EngineSocket, release: () => void): void {
  const tcp = tcpSocketOf(conn);
  // Engine.IO pushes a packet's own callback here right after `packetCreate`: ours goes with it.
  if (tcp !== undefined && Array.isArray(conn.packetsFn))
    conn.packetsFn.push(() => whenWritten(tcp, release));
}

/**
 * Calls `release` once `tcp` holds none of the bytes queued on it now: at once when nothing is
 * queued, else when an empty write queued after them is done (writes complete in order; 'drain'
 * alone is emitted only past the high-water mark), or once the socket closed (nothing it held is
 * written after that). Exported for its test.
 */
export function whenWritten(tcp: TcpSocket, release: () => void): void {
  if (tcp.writableLength === 0 && !tcp.destroyed) {
    release();
    return;
  }
  const onClosed = () => (tcp.closed ? release() : tcp.once('close', release));
  if (tcp.destroyed) {
    onClosed();
    return;
  }
  tcp.write(EMPTY, (error) => (error ? onClosed() : release()));
}

const EMPTY = new Uint8Array(0);

/** The parts of a (TCP or TLS) socket that {@link whenWritten} uses. */
export interface TcpSocket {
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly closed: boolean;
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
  once(event: 'close', listener: () => void): unknown;
}

/** An Engine.IO connection as {@link encodeJsonText} hears of it. */
interface EngineSocket extends EngineConnection {
  on(event: 'packetCreate', listener: (packet: EnginePacket) => void): void;
}

interface EnginePacket {
  data?: unknown;
  readonly options: { wsPreEncodedFrame?: Buffer[] };
}

/**
 * Message `name` with `arg`, on the main namespace, as the hub's encoder gives it (see
 * {@link encodeJsonText}): one frame for every WebSocket it goes to.
 */
export function encodeEvent(name: string, arg: JsonText): EncodedPacket {
  const text = textOf(arg);
  if (text === undefined) return encodeWithText({ type: EVENT, nsp: '/', data: [name, arg] })![0];
  let head = eventHeads.get(name);
  if (head === undefined) eventHeads.set(name, (head = `${MESSAGE}${EVENT}[${JSON.stringify(name)},`));
  return framedText(`${head}${text}]`);
}

/** The start of each message's packet, up to its argument (`42["events",`): made once a name. */
const eventHeads = new Map<string, string>();

/**
 * The ack of request `id` on the main namespace with `arg`, as the hub's encoder gives it: for a
 * text that lends no buffer (see {@link JsonText.framedAround}), whose frame is written at once.
 */
export function encodeAck(id: number, arg: JsonText): EncodedPacket {
  const text = textOf(arg);
  if (text === undefined) return encodeWithText({ type: ACK, nsp: '/', id, data: [arg] })![0];
  return framedText(`${MESSAGE}${ACK}${id}[${text}]`);
}

/**
 * A text that lends no buffer, as one string (the live feed's messages, the acks, all text): its
 * packet is then made as one string, measured and written once, in place of the general encoder's
 * list of parts. Undefined for a text with bytes in it.
 */
function textOf(arg: JsonText): string | undefined {
  const { parts } = arg;
  if (arg.release !== undefined) return undefined;
  if (parts.length === 1) return typeof parts[0] === 'string' ? parts[0] : undefined;
  let text = '';
  for (const part of parts) {
    if (typeof part !== 'string') return undefined;
    text += part;
  }
  return text;
}

/** The WebSocket frame of a packet given as its whole text (Engine.IO's type first). */
function framedText(packet: string): EncodedPacket {
  const length = Buffer.byteLength(packet);
  const header = frameHeaderLength(length);
  // From Node's shared pool when small, as in encodeWithText.
  const frame = Buffer.allocUnsafe(header + length);
  writeFrameHeader(frame, length);
  frame.write(packet, header);
  return new EncodedPacket(frame, header);
}

/** The packet's one encoded form if it holds a JsonText argument; undefined to encode it as usual. */
function encodeWithText(packet: Packet): [EncodedPacket] | undefined {
  const { data } = packet;
  if ((packet.type !== EVENT && packet.type !== ACK) || !Array.isArray(data)) return undefined;
  if (!data.some((arg) => arg instanceof JsonText)) return undefined;
  let head = MESSAGE + String(packet.type);
  if (packet.nsp && packet.nsp !== '/') head += `${packet.nsp},`;
  if (packet.id !== undefined && packet.id !== null) head += String(packet.id);
  const parts: (string | Uint8Array)[] = [`${head}[`];
  let lent: JsonText | undefined;
  data.forEach((arg: unknown, i) => {
    if (i > 0) parts.push(',');
    if (arg instanceof JsonText) {
      parts.push(...arg.parts);
      if (arg.release !== undefined) lent = arg;
    } else parts.push(JSON.stringify(arg) ?? 'null');
  });
  parts.push(']');
  const release = lent?.release;
  // Only an ack goes to one socket alone: a broadcast's frame is written to many.
  const framed = release === undefined || packet.type !== ACK ? undefined : frameAround(parts, release);
  if (framed !== undefined) return [framed];
  let length = 0;
  for (const part of parts) length += typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength;
  const header = frameHeaderLength(length);
  // From Node's shared pool when small (an ack, a live message of a few events): a buffer of its
  // own for each frame cost more than encoding it.
  const frame = Buffer.allocUnsafe(header + length);
  writeFrameHeader(frame, length);
  writeParts(frame, header, parts);
  // The lent bytes are copied: their buffer goes back at once.
  release?.();
  return [new EncodedPacket(frame, header)];
}

/**
 * The frame of `parts`, written in the buffer of its one byte part, around it, when that part is
 * the only one and its buffer has room on both sides (see {@link JsonText.framedAround}): the
 * page's bytes stay where they are and no buffer is made per page (on a catch-up, a new buffer a
 * page held the hub's event loop up for its full collections: V8 counts external memory
 * allocated since the last one against the heap's limit). Undefined when it cannot be.
 */
function frameAround(
  parts: readonly (string | Uint8Array)[],
  release: () => void,
): EncodedPacket | undefined {
  const at = parts.findIndex((part) => typeof part !== 'string');
  const bytes = parts[at];
  if (bytes === undefined || typeof bytes === 'string') return undefined;
  if (parts.findIndex((part, i) => i > at && typeof part !== 'string') >= 0) return undefined;
  const texts = (from: number, to: number) => {
    let n = 0;
    for (let i = from; i < to; i++) n += Buffer.byteLength(parts[i] as string);
    return n;
  };
  const before = texts(0, at);
  const after = texts(at + 1, parts.length);
  const length = before + bytes.byteLength + after;
  const header = frameHeaderLength(length);
  const start = bytes.byteOffset - before - header;
  if (start < 0 || bytes.byteOffset + bytes.byteLength + after > bytes.buffer.byteLength) return undefined;
  const frame = Buffer.from(bytes.buffer, start, header + length);
  writeFrameHeader(frame, length);
  // The byte part is in place already: only the texts around it are written.
  writeParts(frame, header, parts.slice(0, at));
  writeParts(frame, header + before + bytes.byteLength, parts.slice(at + 1));
  return new EncodedPacket(frame, header, release);
}

/** Writes `parts` (texts as UTF-8) one after the other into `frame` from `at`. */
function writeParts(frame: Buffer, at: number, parts: readonly (string | Uint8Array)[]): void {
  for (const part of parts) {
    if (typeof part === 'string') at += frame.write(part, at);
    else {
      frame.set(part, at);
      at += part.byteLength;
    }
  }
}

/** The size of an unmasked WebSocket frame header for a payload of `length` bytes (RFC 6455 §5.2). */
function frameHeaderLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

/** Writes the header of one unmasked, final text frame of `length` bytes at the start of `frame`. */
function writeFrameHeader(frame: Buffer, length: number): void {
  frame[0] = 0x81;
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt16BE(0, 2);
    frame.writeUIntBE(length, 4, 6);
  }
}
