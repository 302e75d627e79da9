import type { Socket as NetSocket } from 'node:net';
import type { Socket } from 'socket.io';

/** `WebSocket.OPEN` of the `ws` library. */
const WS_OPEN = 1;

/**
 * The parts of an Engine.IO connection, of its WebSocket transport (`ws`'s socket) and of the TCP
 * socket under it that the hub reaches past Socket.IO: none of them public. Every such reach goes
 * through this file, so that an upgrade of Engine.IO or `ws` is checked in one place.
 */
export interface EngineConnection {
  readonly readyState: string;
  /** Packets Engine.IO holds back (not yet given to the transport). */
  readonly writeBuffer: readonly unknown[];
  readonly transport: {
    readonly name: string;
    /** On WebSocket: `ws`'s socket, its sender, and `_socket`, the TCP socket under it. */
    readonly socket?: {
      readonly readyState: number;
      readonly _socket?: NetSocket;
      readonly _sender?: { sendFrame?(list: Buffer[]): void; readonly _queue?: readonly unknown[] };
      terminate?(): void;
    };
  };
  /** The send callbacks of the packets created since the last flush (Engine.IO's). */
  readonly packetsFn?: (() => void)[];
}

/** The Engine.IO connection under a Socket.IO socket. */
export function engineConnectionOf(socket: Socket): EngineConnection {
  return socket.conn as unknown as EngineConnection;
}

/** The TCP socket under a connection's WebSocket transport; undefined on any other transport. */
export function tcpSocketOf(conn: EngineConnection): NetSocket | undefined {
  if (conn.transport.name !== 'websocket') return undefined;
  const tcp = conn.transport.socket?._socket;
  return typeof tcp?.cork === 'function' ? tcp : undefined;
}

/**
 * Writes a message's WebSocket frame (made for the main namespace) to the socket's connection;
 * false, having written nothing, when Engine.IO must send it: the socket is elsewhere or closing,
 * its transport is not a WebSocket, or Engine.IO holds packets for it still (written after them,
 * in order, by Engine.IO). Whatever Engine.IO already gave the WebSocket is in its connection's
 * buffer (or the kernel's) ahead of the frame, which therefore keeps its place; a slow consumer's
 * backlog is counted there as before (`bufferedAmount`, see outgoing-buffer.ts).
 */
export function writeFrame(socket: Socket, frame: Buffer): boolean {
  if (!socket.connected || socket.nsp.name !== '/') return false;
  const conn = engineConnectionOf(socket);
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
