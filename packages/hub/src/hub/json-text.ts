import type { Server } from 'socket.io';

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

  /** The parts must make one JSON value; nothing checks it. */
  constructor(...parts: (string | Uint8Array)[]) {
    this.parts = parts;
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
  readonly #payload: number;

  constructor(frame: Buffer, payload: number) {
    this.frame = frame;
    this.#payload = payload;
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
      if (conn.transport.name === 'websocket') packet.options.wsPreEncodedFrame = [data.frame];
      else packet.data = data.toString();
    });
  });
}

/** The parts of an Engine.IO socket and its packets that {@link encodeJsonText} uses. */
interface EngineSocket {
  readonly transport: { readonly name: string };
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
  return encodeWithText({ type: EVENT, nsp: '/', data: [name, arg] })![0];
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
  data.forEach((arg: unknown, i) => {
    if (i > 0) parts.push(',');
    if (arg instanceof JsonText) parts.push(...arg.parts);
    else parts.push(JSON.stringify(arg) ?? 'null');
  });
  parts.push(']');
  let length = 0;
  for (const part of parts) length += typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength;
  const header = frameHeaderLength(length);
  // From Node's shared pool when small (an ack, a live message of a few events): a buffer of its
  // own for each frame cost more than encoding it.
  const frame = Buffer.allocUnsafe(header + length);
  writeFrameHeader(frame, length);
  let at = header;
  for (const part of parts) {
    if (typeof part === 'string') at += frame.write(part, at);
    else {
      frame.set(part, at);
      at += part.byteLength;
    }
  }
  return [new EncodedPacket(frame, header)];
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
