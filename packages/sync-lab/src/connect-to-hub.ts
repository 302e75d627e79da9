import {
  MessageName,
  PROTOCOL_VERSION,
  decodeHubError,
  decodePullResult,
  decodePushAck,
  decodeWelcome,
  type CommittedEvent,
  type EventEnvelope,
  type PullResult,
  type PushAck,
  type Result,
  type Welcome,
} from '@eventloom/protocol';
import { io, type Socket } from 'socket.io-client';
import { SyncLabError, SyncLabErrorCode } from './sync-lab-error.ts';

/** Options of {@link connectToHub}. */
export interface HubClientOptions {
  readonly clientId: string;
  /** Live `events` and pull filter (default `['*']`: everything). */
  readonly subscriptions?: readonly string[];
  /** Sent in `hello` (default 0). */
  readonly lastPosition?: number;
  readonly schemaFingerprint?: string | null;
  /** A JWT for a hub that is not `--insecure-dev`. */
  readonly token?: string;
  /** For the connection and for each request (default 10 s). */
  readonly timeoutMs?: number;
}

/** A bare protocol connection to the hub, without a client store: for harnesses and checks. */
export interface HubClient {
  readonly socket: Socket;
  /** The hub's answer to `hello`. */
  readonly welcome: Welcome;
  /** Pushes `events`; resolves with the hub's ack, or throws a {@link SyncLabError}. */
  push(events: readonly EventEnvelope[]): Promise<PushAck>;
  /** Pulls one page after position `from`. */
  pull(from: number, limit?: number): Promise<PullResult>;
  /** Pulls every page after `from` (default 0), in position order. */
  pullAll(from?: number): Promise<CommittedEvent[]>;
  close(): void;
}

/**
 * Connects to the hub over WebSocket (no automatic reconnection) and says `hello`. Requests fail
 * with a {@link SyncLabError}: `hub-reply` when the hub refuses, `disconnected`, `timeout`.
 *
 * @example
 * const client = await connectToHub(hub.url, { clientId: 'probe' });
 * const ack = await client.push([sampleEnvelope({ clientId: 'probe' })]);
 * client.close();
 */
export async function connectToHub(url: string, options: HubClientOptions): Promise<HubClient> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: timeoutMs,
    ...(options.token === undefined ? {} : { auth: { token: options.token } }),
  });
  await new Promise<void>((resolve, reject) => {
    const settle = (failure?: { code: SyncLabErrorCode; reason: string; cause?: unknown }) => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onConnectError);
      socket.off('disconnect', onDisconnect);
      engine.off('close', onEngineClose);
      if (failure === undefined) {
        resolve();
        return;
      }
      socket.close();
      reject(
        new SyncLabError(failure.code, `cannot connect to ${url}: ${failure.reason}`, {
          cause: failure.cause,
        }),
      );
    };
    const onConnect = () => settle();
    const onConnectError = (error: Error) =>
      settle({ code: SyncLabErrorCode.disconnected, reason: error.message, cause: error });
    // A connection cut after the transport opened but before the namespace's CONNECT arrived
    // ends with 'disconnect' and no 'connect_error': without this, the attempt would hang.
    const onDisconnect = (reason: string) =>
      settle({ code: SyncLabErrorCode.disconnected, reason: `disconnected before connecting (${reason})` });
    // Likewise a transport closed after the WebSocket upgrade but before engine.io's open packet:
    // socket.io-client's Manager does not listen for 'close' while opening, and would wait for
    // its `timeout` (the issue the sync engine's connection handling must also live with).
    const engine = socket.io.engine;
    const onEngineClose = (reason: string) =>
      settle({ code: SyncLabErrorCode.disconnected, reason: `transport closed while opening (${reason})` });
    engine.once('close', onEngineClose);
    const timer = setTimeout(
      () => settle({ code: SyncLabErrorCode.timeout, reason: `no connection within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once('connect', onConnect);
    socket.once('connect_error', onConnectError);
    socket.once('disconnect', onDisconnect);
  });
  const subscriptions = [...(options.subscriptions ?? ['*'])];
  try {
    const welcome = await request(socket, MessageName.hello, timeoutMs, decodeWelcome, {
      protocol: PROTOCOL_VERSION,
      clientId: options.clientId,
      lastPosition: options.lastPosition ?? 0,
      subscriptions,
      schemaFingerprint: options.schemaFingerprint ?? null,
    });
    const pull = (from: number, limit = 1000) =>
      request(socket, MessageName.pull, timeoutMs, decodePullResult, { from, limit });
    return {
      socket,
      welcome,
      push: (events) => request(socket, MessageName.push, timeoutMs, decodePushAck, { events }),
      pull,
      async pullAll(from = 0) {
        const events: CommittedEvent[] = [];
        for (let cursor = from; ;) {
          const page = await pull(cursor);
          events.push(...page.events);
          if (!page.more) return events;
          cursor = page.until;
        }
      },
      close: () => {
        socket.close();
      },
    };
  } catch (error) {
    socket.close();
    throw error;
  }
}

/**
 * The hub's whole log, read with `pull` from position 0: the `hub` of a history for
 * `checkHistory`.
 */
export async function readHubLog(
  url: string,
  options: Omit<HubClientOptions, 'clientId' | 'subscriptions'> & { readonly clientId?: string } = {},
): Promise<CommittedEvent[]> {
  const client = await connectToHub(url, { ...options, clientId: options.clientId ?? 'sync-lab-reader' });
  try {
    return await client.pullAll(0);
  } finally {
    client.close();
  }
}

/** Sends a request and decodes its ack; a `{ error }` answer, a disconnect or a timeout throws. */
function request<T>(
  socket: Socket,
  name: string,
  timeoutMs: number,
  decode: (input: unknown) => Result<T>,
  payload: unknown,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onDisconnect = (reason: string) =>
      reject(new SyncLabError(SyncLabErrorCode.disconnected, `${name}: disconnected (${reason})`));
    if (!socket.connected) {
      onDisconnect('not connected');
      return;
    }
    socket.once('disconnect', onDisconnect);
    socket
      .timeout(timeoutMs)
      .emitWithAck(name, payload)
      .then(
        (answer: unknown) => {
          socket.off('disconnect', onDisconnect);
          if (typeof answer === 'object' && answer !== null && 'error' in answer) {
            const hubError = decodeHubError((answer as { error: unknown }).error);
            const message = hubError.ok
              ? `${hubError.value.code}: ${hubError.value.message}`
              : 'an undecodable error';
            reject(
              new SyncLabError(
                SyncLabErrorCode.hubReply,
                `${name}: the hub answered ${message}`,
                hubError.ok ? { hubError: hubError.value } : {},
              ),
            );
            return;
          }
          const decoded = decode(answer);
          if (decoded.ok) resolve(decoded.value);
          else {
            reject(
              new SyncLabError(
                SyncLabErrorCode.undecodable,
                `${name}: undecodable answer (${decoded.error.path}: ${decoded.error.message})`,
              ),
            );
          }
        },
        (error: unknown) => {
          socket.off('disconnect', onDisconnect);
          reject(
            new SyncLabError(SyncLabErrorCode.timeout, `${name}: no answer within ${timeoutMs} ms`, {
              cause: error,
            }),
          );
        },
      );
  });
}
