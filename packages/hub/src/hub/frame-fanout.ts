import type { Server, Socket } from 'socket.io';
import { writeFrame } from './engine-connection.ts';
import { encodeEvent, type JsonText } from './json-text.ts';

/**
 * One message `name` with `arg` for several sockets, given one at a time: what Socket.IO would send
 * each, byte for byte and in each socket's order, with its machinery left out where it adds
 * nothing. The packet is encoded once, into its WebSocket frame; a socket on a WebSocket for which
 * Engine.IO holds nothing back gets those very bytes written to its connection as soon as it is
 * given ({@link to}: the first subscriber's write need not wait for the others to be found), with
 * no Engine.IO packet, flush, write callback nor drain per socket (with 50 subscribers that
 * machinery was about a quarter of the fan-out's CPU, and each socket waited for it for every
 * socket before it). Every other socket (long-polling, upgrading, packets waiting in Engine.IO)
 * gets the message through Socket.IO at {@link end}, all of them in one broadcast (`local`: an
 * adapter never carries it).
 */
export class Broadcast {
  readonly #name: string;
  readonly #arg: JsonText;
  readonly #frame: Buffer;
  #others: Socket[] | undefined;

  constructor(name: string, arg: JsonText) {
    this.#name = name;
    this.#arg = arg;
    this.#frame = encodeEvent(name, arg).frame;
  }

  /** Writes the message to the socket's WebSocket now, or keeps the socket for {@link end}. */
  to(socket: Socket): void {
    if (!writeFrame(socket, this.#frame)) (this.#others ??= []).push(socket);
  }

  /** Sends the message through Socket.IO to every socket {@link to} could not write it to. */
  end(io: Server): void {
    const others = this.#others;
    if (others === undefined) return;
    this.#others = undefined;
    if (others.length === 1) others[0]!.emit(this.#name, this.#arg);
    else io.local.to(others.map((s) => s.id)).emit(this.#name, this.#arg);
  }
}
