import type { Server } from 'socket.io';

/** A packet as the server's Socket.IO encoder takes it. */
type Packet = Parameters<Server['encoder']['encode']>[0];

/** Socket.IO packet types whose data is a JSON array: EVENT and ACK. */
const EVENT = 2;
const ACK = 3;

/**
 * An argument of a message or an ack given as its JSON text, made elsewhere (a pull's page, read
 * as text off the event loop): the hub's encoder ({@link encodeJsonText}) writes the text into
 * the packet as it is, where an object would be serialised. The peer receives what
 * `JSON.parse(json)` gives, as if that value had been sent.
 */
export class JsonText {
  readonly json: string;

  /** `json` must be one JSON value; nothing checks it. */
  constructor(json: string) {
    this.json = json;
  }
}

/**
 * Makes `io` send {@link JsonText} arguments as their text. Every other packet goes to the
 * encoder as before; a packet with a JsonText among its arguments is written in the same format
 * (type, namespace, ack id, the arguments' JSON array), so a peer's own parser reads it.
 */
export function encodeJsonText(io: Server): void {
  const encoder = io.encoder;
  const encode = encoder.encode.bind(encoder);
  encoder.encode = (packet: Packet) => encodeWithText(packet) ?? encode(packet);
}

/** The packet's one text frame if it holds a JsonText argument; undefined to encode it as usual. */
function encodeWithText(packet: Packet): string[] | undefined {
  const { data } = packet;
  if ((packet.type !== EVENT && packet.type !== ACK) || !Array.isArray(data)) return undefined;
  if (!data.some((arg) => arg instanceof JsonText)) return undefined;
  let head = String(packet.type);
  if (packet.nsp && packet.nsp !== '/') head += `${packet.nsp},`;
  if (packet.id !== undefined && packet.id !== null) head += String(packet.id);
  const args = data.map((arg: unknown) =>
    arg instanceof JsonText ? arg.json : (JSON.stringify(arg) ?? 'null'),
  );
  return [`${head}[${args.join(',')}]`];
}
