import type { Server, Socket } from 'socket.io';
import { writeFrame } from './engine-connection.ts';
import { encodeEvent, type JsonText } from './json-text.ts';

/**
 * Sends message `name` with `arg` to each socket: what Socket.IO would send each, byte for byte and
 * in each socket's order, with its machinery left out where it adds nothing. The packet is encoded
 * once, into its WebSocket frame; a socket on a WebSocket for which Engine.IO holds nothing back
 * gets those very bytes written to its connection, at once: no Engine.IO packet, flush, write
 * callback nor drain per socket (with 50 subscribers that machinery was about a quarter of the
 * fan-out's CPU, and each socket waited for it for every socket before it). Every other
 * socket (long-polling, upgrading, packets waiting in Engine.IO) gets the message through
 * Socket.IO as before, all of them in one broadcast (`local`: an adapter never carries it).
 */
export function emitToSockets(io: Server, sockets: readonly Socket[], name: string, arg: JsonText): void {
  if (sockets.length === 0) return;
  const { frame } = encodeEvent(name, arg);
  let others: Socket[] | undefined;
  for (const socket of sockets) if (!writeFrame(socket, frame)) (others ??= []).push(socket);
  if (others === undefined) return;
  if (others.length === 1) others[0]!.emit(name, arg);
  else io.local.to(others.map((s) => s.id)).emit(name, arg);
}
