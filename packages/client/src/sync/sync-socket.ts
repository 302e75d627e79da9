import { io, type ManagerOptions, type SocketOptions } from 'socket.io-client';

/** socket.io-client's options, as `createSync` passes them through (`io` option). */
export type SocketIoOptions = Partial<ManagerOptions & SocketOptions>;

/**
 * What the sync engine uses of a Socket.IO client socket. `socket.io-client`'s `Socket` is one; a
 * test can wrap it (to drop an ack, or crash between two steps) or bring its own.
 */
export interface SyncSocket {
  readonly connected: boolean;
  connect(): unknown;
  disconnect(): unknown;
  // oxlint-disable-next-line no-explicit-any -- Socket.IO listeners take whatever the peer sent
  on(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
}

/** Makes the socket of one connection attempt; `url` and `options` are what `createSync` was given, completed. */
export type SocketFactory = (url: string, options: SocketIoOptions) => SyncSocket;

/** The default {@link SocketFactory}: `io(url, options)` of socket.io-client. */
export const defaultSocketFactory: SocketFactory = (url, options) =>
  io(url, options) as unknown as SyncSocket;
