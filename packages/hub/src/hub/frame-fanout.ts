import type { Server, Socket } from 'socket.io';
import { encodeEvent, type JsonText } from './json-text.ts';

/** `WebSocket.OPEN` of the `ws` library. */
const WS_OPEN = 1;

/**
 * Sends message `name` with `arg` to each socket: what Socket.IO would send each, byte for byte and
 * in each socket's order, with its machinery left out where it adds nothing. The packet is encoded
 * once, into its WebSocket frame; a socket on a WebSocket for which Engine.IO holds nothing back
 * gets those very bytes written to its connection, at once: no Engine.IO packet, flush, write
 * callback nor drain per socket (with dozens of subscribers, that machinery cost as much as the
 * writes themselves, and each socket waited for all of it for the sockets before it). Every other
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

/**
 * Writes a message's frame (made for the main namespace) to the socket's WebSocket connection;
 * false, having written nothing, when Engine.IO must send it: the socket is elsewhere or closing,
 * its transport is not a WebSocket, or Engine.IO holds packets for it still (written after them,
 * in order, by Engine.IO). Whatever Engine.IO already gave the WebSocket is in its connection's
 * buffer (or the kernel's) ahead of the frame, which therefore keeps its place; a slow consumer's
 * backlog is counted there as before (`bufferedAmount`, see outgoing-buffer.ts).
 */
function writeFrame(socket: Socket, frame: Buffer): boolean {
  if (!socket.connected || socket.nsp.name !== '/') return false;
  const conn = socket.conn as unknown as EngineConnection;
  if (conn.readyState !== 'open' || conn.writeBuffer.length > 0) return false;
  const { transport } = conn;
  if (transport.name !== 'websocket') return false;
  const ws = transport.socket;
  const sender = ws?._sender;
  // The sender's queue holds frames only while it compresses, which the hub's server never does.
  if (
    ws?.readyState !== WS_OPEN ||
    typeof sender?.sendFrame !== 'function' ||
    (sender._queue?.length ?? 0) > 0
  ) {
    return false;
  }
  // How Engine.IO itself writes a frame made beforehand (`wsPreEncodedFrame`).
  sender.sendFrame([frame]);
  return true;
}

/** The parts of an Engine.IO socket, its WebSocket transport and `ws`'s socket that {@link writeFrame} uses. */
interface EngineConnection {
  readonly readyState: string;
  readonly writeBuffer: readonly unknown[];
  readonly transport: {
    readonly name: string;
    readonly socket?: {
      readonly readyState: number;
      readonly _sender?: { sendFrame?(list: Buffer[]): void; readonly _queue?: readonly unknown[] };
    };
  };
}
