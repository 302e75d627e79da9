import type { Socket } from 'socket.io';
import { EncodedPacket } from './json-text.ts';

/**
 * Bytes queued for one socket and not yet handed to the kernel: Engine.IO's write buffer (packets
 * waiting while the transport is busy) plus the WebSocket's own `bufferedAmount`. Counting stops
 * once `atLeast` is reached, so a check against a cap costs little even when the buffer is long.
 */
export function outgoingBytes(socket: Socket, atLeast: number = Infinity): number {
  const conn = socket.conn as unknown as EngineConnection;
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
  const buffer = conn.writeBuffer;
  if (buffer === undefined) return bytes;
  for (let i = 0; i < buffer.length && bytes < atLeast; i++) {
    const data = buffer[i]?.data;
    if (typeof data === 'string') bytes += data.length;
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data) || data instanceof EncodedPacket) {
      bytes += data.byteLength;
    } else bytes += 16;
  }
  return bytes;
}

/** The parts of Engine.IO's socket this module reads (not in its public types). */
interface EngineConnection {
  readonly writeBuffer?: readonly { readonly data?: unknown }[];
  readonly transport?: { readonly socket?: { readonly bufferedAmount?: number } };
}
