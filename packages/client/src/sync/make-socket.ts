import { MessageName } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import { connectError, isRecord } from './session-errors.ts';
import type { SessionConfig } from './session-host.ts';
import type { SyncSocket } from './sync-socket.ts';

/** What a session hears from its socket, and how it ends itself or waits. */
export interface SocketListeners {
  /** Ends the session with `error`. */
  finish(error: ClientError): void;
  /** Runs `fn` after `ms`, unless the session ends first. */
  later(ms: number, fn: () => void): void;
  /** A live `events` message arrived. */
  live(payload: unknown): void;
  /** A `hubError` message arrived. */
  hubError(payload: unknown): void;
  /** A `notify` message arrived. */
  notified(payload: unknown): void;
}

/**
 * Makes a session's socket (no reconnection or buffering of Socket.IO's own) and wires its
 * events, without connecting it; `connected` resolves once it connects.
 */
export function makeSocket(
  config: SessionConfig,
  token: string | undefined,
  on: SocketListeners,
): { socket: SyncSocket; connected: Promise<void> } {
  const io = config.io;
  const socket = config.socket(config.url, {
    // WebSocket first; long polling where a proxy lets no WebSocket through.
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    timeout: config.requestTimeoutMs,
    ...io,
    reconnection: false,
    forceNew: true,
    autoConnect: false,
    ...(token === undefined ? {} : { auth: { ...(isRecord(io.auth) ? io.auth : {}), token } }),
  });
  const connected = new Promise<void>((resolve) => {
    socket.on('connect', () => resolve());
  });
  socket.on('connect_error', (error: unknown) => on.finish(connectError(error)));
  socket.on('disconnect', (reason: unknown) =>
    on.finish(new ClientError(ClientErrorCode.connectionFailed, `disconnected: ${String(reason)}`)),
  );
  socket.on(MessageName.events, (payload: unknown) => on.live(payload));
  socket.on(MessageName.hubError, (payload: unknown) => on.hubError(payload));
  socket.on(MessageName.notify, (payload: unknown) => on.notified(payload));
  return { socket, connected };
}

/**
 * Ends the session if a connecting socket does not open: socket.io-client does not notice a
 * transport that closes while it opens (it waits for its own timeout), so this watches the engine
 * where there is one, and bounds the wait in any case. Returns a function to call once it opened.
 */
export function watchOpening(
  socket: SyncSocket,
  timeoutMs: number,
  on: Pick<SocketListeners, 'finish' | 'later'>,
): () => void {
  let opened = false;
  const engine = (
    socket as { io?: { engine?: { once?(event: 'close', fn: (reason: unknown) => void): void } } }
  ).io?.engine;
  engine?.once?.('close', (reason) => {
    // A refusal (connect_error, with the hub's code) closes the engine first: let it speak.
    on.later(0, () => {
      if (!opened) {
        const message = `closed while opening: ${String(reason)}`;
        on.finish(new ClientError(ClientErrorCode.connectionFailed, message));
      }
    });
  });
  on.later(timeoutMs, () => {
    if (!opened) {
      const message = `no connection within ${timeoutMs} ms`;
      on.finish(new ClientError(ClientErrorCode.timeout, message));
    }
  });
  return () => {
    opened = true;
  };
}
