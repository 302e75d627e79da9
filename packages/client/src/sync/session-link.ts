import { decodeHubError, MessageName } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import { clientCode, connectError } from './session-errors.ts';
import type { SessionConfig, SessionOutcome } from './session-host.ts';
import type { SyncSocket } from './sync-socket.ts';

/** What the hub sends unasked, for the stages that handle it. */
export interface LinkListeners {
  /** An `events` message (live events): undecoded. */
  readonly live: (payload: unknown) => void;
  /** A `notify` message: undecoded. */
  readonly notify: (payload: unknown) => void;
  /** A failure worth showing: the hub's `error` messages. */
  readonly report: (error: ClientError) => void;
}

/**
 * The connection under a {@link SyncSession}: the socket, requests with their timeouts, timers,
 * and the session's end. Every stage (hello, catch-up, live, push) talks to the hub through it,
 * and any stage may end it; ending it fails the requests waiting and clears the timers.
 */
export class SessionLink {
  readonly #config: SessionConfig;
  readonly #failRequests = new Set<(error: ClientError) => void>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #outcome: Promise<SessionOutcome>;
  #resolveOutcome!: (outcome: SessionOutcome) => void;
  #socket: SyncSocket | undefined;
  #open = true;
  #ready = false;
  #live = false;

  constructor(config: SessionConfig) {
    this.#config = config;
    this.#outcome = new Promise((resolve) => (this.#resolveOutcome = resolve));
  }

  /** Whether the session is still connected (or connecting). */
  get open(): boolean {
    return this.#open;
  }

  /** Whether the hub welcomed the session (and it has not ended since). */
  get ready(): boolean {
    return this.#ready;
  }

  /** How the session ended, once it has. */
  get outcome(): Promise<SessionOutcome> {
    return this.#outcome;
  }

  /** The hub welcomed the session: requests of the later stages may go. */
  welcomed(): void {
    this.#ready = true;
  }

  /** The session caught up once: it counts as having been live. */
  wentLive(): void {
    this.#live = true;
  }

  /** The socket is connected and the session not ended: messages without an ack may go. */
  get connected(): boolean {
    return this.#open && this.#socket !== undefined && this.#socket.connected;
  }

  /** Sends a message that has no ack. */
  emit(name: string, payload: unknown): void {
    this.#socket?.emit(name, payload);
  }

  /**
   * Opens the socket (no reconnection or buffering of Socket.IO's own: each connection is a new
   * session) and resolves once it is connected. A failure to connect ends the session, and then
   * this never resolves.
   */
  async connect(token: string | undefined, listeners: LinkListeners): Promise<void> {
    const io = this.#config.io;
    const socket = this.#config.socket(this.#config.url, {
      // WebSocket first; long polling where a proxy lets no WebSocket through.
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      timeout: this.#config.requestTimeoutMs,
      ...io,
      reconnection: false,
      forceNew: true,
      autoConnect: false,
      ...(token === undefined ? {} : { auth: { ...(isRecord(io.auth) ? io.auth : {}), token } }),
    });
    this.#socket = socket;
    const connected = new Promise<void>((resolve) => {
      socket.on('connect', () => resolve());
    });
    socket.on('connect_error', (error: unknown) => this.finish(connectError(error)));
    socket.on('disconnect', (reason: unknown) =>
      this.finish(new ClientError(ClientErrorCode.connectionFailed, `disconnected: ${String(reason)}`)),
    );
    socket.on(MessageName.events, (payload: unknown) => listeners.live(payload));
    socket.on(MessageName.hubError, (payload: unknown) => {
      const decoded = decodeHubError(payload);
      if (!decoded.ok) return;
      const { code, message } = decoded.value;
      listeners.report(new ClientError(clientCode(code), `hub: ${message}`));
    });
    socket.on(MessageName.notify, (payload: unknown) => listeners.notify(payload));
    socket.connect();
    // socket.io-client does not notice a transport that closes while it opens (it waits for its
    // own timeout): watch the engine where there is one, and bound the wait in any case.
    let opened = false;
    const engine = (
      socket as { io?: { engine?: { once?(event: 'close', fn: (reason: unknown) => void): void } } }
    ).io?.engine;
    engine?.once?.('close', (reason) => {
      // A refusal (connect_error, with the hub's code) closes the engine first: let it speak.
      this.later(0, () => {
        if (!opened) {
          const message = `closed while opening: ${String(reason)}`;
          this.finish(new ClientError(ClientErrorCode.connectionFailed, message));
        }
      });
    });
    this.later(this.#config.requestTimeoutMs, () => {
      if (!opened) {
        const message = `no connection within ${this.#config.requestTimeoutMs} ms`;
        this.finish(new ClientError(ClientErrorCode.timeout, message));
      }
    });
    await connected;
    opened = true;
  }

  /** Ends the session (once): fails the requests waiting, clears the timers, drops the socket. */
  finish(error: ClientError | undefined, fatal = false): void {
    if (!this.#open) return;
    this.#open = false;
    this.#ready = false;
    for (const fail of this.#failRequests) {
      fail(error ?? new ClientError(ClientErrorCode.connectionFailed, 'the session ended'));
    }
    this.#failRequests.clear();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#socket?.disconnect();
    this.#resolveOutcome({ error, fatal, live: this.#live });
  }

  /** Sends a request and resolves with the hub's answer; rejects on timeout (which drops the connection) or disconnect. */
  request(name: string, payload: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const socket = this.#socket;
      if (!this.#open || socket === undefined || !socket.connected) {
        reject(new ClientError(ClientErrorCode.connectionFailed, 'not connected'));
        return;
      }
      const fail = (error: ClientError) => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#failRequests.delete(fail);
        reject(error);
      };
      const timer = setTimeout(() => {
        const error = new ClientError(
          ClientErrorCode.timeout,
          `the hub did not answer ${name} within ${this.#config.requestTimeoutMs} ms`,
        );
        fail(error);
        this.finish(error);
      }, this.#config.requestTimeoutMs);
      this.#timers.add(timer);
      this.#failRequests.add(fail);
      socket.emit(name, payload, (answer: unknown) => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#failRequests.delete(fail);
        resolve(answer);
      });
    });
  }

  /** Runs `fn` after `ms`, unless the session ends first. */
  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }
}

/** The token to connect with: a token function is called for each connection. */
export async function resolveToken(token: SessionConfig['token']): Promise<string | undefined> {
  if (typeof token !== 'function') return token;
  try {
    return await token();
  } catch (cause) {
    throw new ClientError(ClientErrorCode.unauthenticated, 'the token function failed', { cause });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
